package stack

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vbharness/vbharness/mocks/entra"
	"github.com/vbharness/vbharness/mocks/journal"
)

// floodValue is the size of the non-secret field each flood request carries: just under
// the 1 MiB body limit, as in issue 15's attack.
const floodValue = 1000 << 10

// journalFlood sends, with four clients at once, veeamN refused POST /v8/token requests
// whose username is floodValue bytes, and entraN refused token requests whose client_id
// is, to a running stack. Every answer must be a refusal (4xx, not 413): the bodies are
// read, parsed and journaled.
func journalFlood(t testing.TB, run *Running, hc *http.Client, veeamN, entraN int) {
	t.Helper()
	big := strings.Repeat("a", floodValue)
	veeamBody := url.Values{"grant_type": {"password"}, "username": {big}, "password": {"not-the-password"}}.Encode()
	entraBody := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "client_id": {big},
		"device_code": {"not-a-device-code"}}.Encode()
	type job struct{ url, body string }
	jobs := make(chan job)
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for range 4 {
		wg.Go(func() {
			for j := range jobs {
				resp, err := hc.Post(j.url, "application/x-www-form-urlencoded", strings.NewReader(j.body))
				if err != nil {
					t.Error(err)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mu.Lock()
				statuses[resp.StatusCode]++
				mu.Unlock()
			}
		})
	}
	for i := range veeamN + entraN {
		if i < veeamN {
			jobs <- job{run.VeeamURL + "/v8/token", veeamBody}
		} else {
			jobs <- job{run.EntraURL + "/" + entra.DefaultTenant + "/oauth2/v2.0/token", entraBody}
		}
	}
	close(jobs)
	wg.Wait()
	for st, n := range statuses {
		if st < 400 || st >= 500 || st == http.StatusRequestEntityTooLarge {
			t.Errorf("%d flood requests answered %d; want refusals of bodies that were read", n, st)
		}
	}
}

// serveForFlood starts a standalone stack over HTTPS on free ports and returns it with
// a client that trusts its CA.
func serveForFlood(t *testing.T, o ServeOptions) (*Running, *http.Client) {
	t.Helper()
	o.EntraAddr, o.VeeamAddr, o.StateDir = "127.0.0.1:0", "127.0.0.1:0", filepath.Join(t.TempDir(), "state")
	run, err := Serve(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = run.Shutdown(context.Background()) })
	pem, err := os.ReadFile(run.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, MaxIdleConnsPerHost: 4}
	t.Cleanup(tr.CloseIdleConnections)
	return run, &http.Client{Transport: tr, Timeout: time.Minute}
}

// floodRetainedLimit bounds what the stack may keep after the flood. The journals keep
// each entry's values cut to journal.MaxValueBytes, so 500 entries hold about 1.5 MB; the
// rest of the allowance is the TLS connections and the runtime's own noise. Without the
// bound the journals kept every 1000 KiB value: 500 MB.
const floodRetainedLimit = 16 << 20

// Issue 15 item 1: the journal kept non-secret values whole (up to 1 MiB each, 10 000
// entries per server), so 400 refused POST /v8/token with a 1000 KiB username raised
// the mock's RSS from 18 to 575 MiB, 100 more to Entra to 869 MiB, and clearing the
// journal did not give it back. The same flood, at the same size (a tenth under -race),
// against a standalone stack: the heap the stack keeps afterwards (measured in this process with
// runtime.ReadMemStats after a GC, so the race detector's shadow memory and the
// runtime's timing in returning pages to the OS do not blur it) stays under
// floodRetainedLimit, each long value is cut with a marker, and clearing the journals
// gives the memory back.
func TestJournalFloodKeepsMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 500 MB over loopback HTTPS; skipped with -short")
	}
	run, hc := serveForFlood(t, ServeOptions{})
	// A warm-up request each, so both connections and lazily built state exist before
	// the baseline.
	journalFlood(t, run, hc, 1, 1)
	veeamN, entraN := 400, 100
	if raceEnabled {
		veeamN, entraN = 40, 10 // still 50 MB, three times the bound, had the journal kept it
	}
	before := heapAfterGC()
	start := time.Now()
	journalFlood(t, run, hc, veeamN, entraN)
	took := time.Since(start)
	after := heapAfterGC()
	retained := int64(after) - int64(before)
	t.Logf("flood of %d × 1000 KiB in %v: heap after GC %.1f → %.1f MiB (%+.1f MiB retained)",
		veeamN+entraN, took.Round(time.Millisecond), mib(before), mib(after), float64(retained)/(1<<20))
	if retained > floodRetainedLimit {
		t.Errorf("the stack kept %.1f MiB after the flood, over the bound of %d MiB", float64(retained)/(1<<20), floodRetainedLimit>>20)
	}
	for _, j := range []struct {
		name, field string
		j           *journal.Journal
	}{{"veeam", "username", run.Veeam.Control().Journal()}, {"entra", "client_id", run.Entra.Control().Journal()}} {
		entries := j.j.List(journal.Filter{Method: "POST"})
		if len(entries) == 0 {
			t.Fatalf("%s journaled none of the flood", j.name)
		}
		last := entries[len(entries)-1].Fields[j.field]
		if len(last) > 2<<10 || !strings.HasSuffix(last, "…[truncated 999 KiB]") {
			t.Errorf("%s journaled %s as %d bytes ending %q; want it cut with a marker", j.name, j.field, len(last), last[max(0, len(last)-40):])
		}
	}
	for _, base := range []string{run.EntraURL, run.VeeamURL} {
		req, _ := http.NewRequest(http.MethodDelete, base+"/_mock/requests", nil)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if cleared := heapAfterGC(); int64(cleared)-int64(before) > 4<<20 {
		t.Errorf("after clearing the journals the heap is %.1f MiB, %.1f MiB over its size before the flood", mib(cleared), mib(cleared)-mib(before))
	}
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }

// ServeOptions.JournalBytes bounds both servers' journals (vbharness mock --journal-mib).
func TestServeBoundsTheJournalsAsTold(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ set, want int64 }{{0, journal.DefaultMaxBytes}, {1 << 20, 1 << 20}} {
		run, err := Serve(context.Background(), ServeOptions{EntraAddr: "127.0.0.1:0", VeeamAddr: "127.0.0.1:0", HTTP: true, JournalBytes: c.set})
		if err != nil {
			t.Fatal(err)
		}
		if e, v := run.Entra.Control().Journal().MaxBytes(), run.Veeam.Control().Journal().MaxBytes(); e != c.want || v != c.want {
			t.Errorf("JournalBytes %d: journals keep %d and %d bytes, want %d", c.set, e, v, c.want)
		}
		_ = run.Shutdown(context.Background())
	}
}
