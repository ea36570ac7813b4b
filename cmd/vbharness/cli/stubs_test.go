package cli

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// mockClient returns a client trusting a served mock's CA.
func mockClient(t *testing.T, info mockInfo) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(info.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func call(t *testing.T, c *http.Client, method, url, ctype, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Acceptance 4 of issue 11, from a file: `vbharness mock --stubs FILE` starts with the
// file's stubs; a stub overrides its operation, expires after its times and is
// journaled with its id; reset returns to the file's stubs, counters at zero.
func TestMockStubsFile(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	write(t, filepath.Join(f.dir, "stubs.yaml"), `stubs:
  - id: health-down
    method: GET
    path: /v8/Health
    anonymous: true
    status: 503
    body: {status: Unhealthy}
    times: 1
`)
	info, m := serveMock(t, f, "--stubs", "stubs.yaml")
	c := mockClient(t, info)
	check := func(when string) {
		t.Helper()
		if code, body := call(t, c, "GET", info.Veeam+"/v8/Health", "", ""); code != 503 || body != `{"status":"Unhealthy"}` {
			t.Errorf("%s: first GET /v8/Health: %d %s", when, code, body)
		}
		if code, body := call(t, c, "GET", info.Veeam+"/v8/Health", "", ""); code != 200 || !strings.Contains(body, `"Healthy"`) {
			t.Errorf("%s: after times 1: %d %s", when, code, body)
		}
		_, body := call(t, c, "GET", info.Veeam+"/_mock/requests?path=/v8/Health", "", "")
		var j struct {
			Requests []struct {
				Status int
				Stub   string
			}
		}
		if err := json.Unmarshal([]byte(body), &j); err != nil || len(j.Requests) != 2 ||
			j.Requests[0].Stub != "health-down" || j.Requests[0].Status != 503 || j.Requests[1].Stub != "" {
			t.Errorf("%s: journal %s", when, body)
		}
	}
	check("at start")
	if code, body := call(t, c, "GET", info.Veeam+"/_mock/stubs", "", ""); code != 200 || !strings.Contains(body, `"id":"health-down"`) || !strings.Contains(body, `"hits":1,"remaining":0`) {
		t.Errorf("GET /_mock/stubs: %d %s", code, body)
	}
	if code, body := call(t, c, "POST", info.Veeam+"/_mock/reset", "", ""); code != 200 {
		t.Fatalf("reset: %d %s", code, body)
	}
	check("after reset")
	if r := m.stop(); r.code != 0 || !strings.Contains(r.stderr, "Veeam stubs:     1 from "+filepath.Join(f.dir, "stubs.yaml")) { // the banner: stderr with --print-json
		t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

// A bad stubs file stops the mock before it listens: exit 2, naming the file, the line
// and the field.
func TestMockStubsFileErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	write(t, filepath.Join(f.dir, "stubs.yaml"), "stubs:\n  - method: GET\n    path: /v8/Jobs/{jobId}/explode\n")
	r := f.run("mock", "--http", "--entra-addr", "127.0.0.1:0", "--veeam-addr", "127.0.0.1:0", "--stubs", "stubs.yaml")
	want := filepath.Join(f.dir, "stubs.yaml") + ":3:11: stubs[0].path: no operation of the document has the template /v8/Jobs/{jobId}/explode"
	if r.code != 2 || !strings.Contains(r.stderr, want) {
		t.Errorf("exit %d, stderr %q; want 2 and %q", r.code, r.stderr, want)
	}
	r = f.run("mock", "--http", "--entra-addr", "127.0.0.1:0", "--veeam-addr", "127.0.0.1:0", "--stubs", "missing.yaml")
	if r.code != 2 || !strings.Contains(r.stderr, "load stubs:") {
		t.Errorf("a missing file: exit %d, stderr %q", r.code, r.stderr)
	}
}

// `vbharness mock --stubs DIR` loads every stubs file of the folder in name order (a
// recording); a bad one stops the mock naming the file and the line.
func TestMockStubsDirectory(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	write(t, filepath.Join(f.dir, "rec", "0001-get-v8-health.json"), `{"stubs":[{"id":"r0002","method":"GET","path":"/v8/Health","anonymous":true,"times":1,"body":{"status":"First"}}]}`)
	write(t, filepath.Join(f.dir, "rec", "0002-get-v8-health.json"), `{"stubs":[{"id":"r0001","method":"GET","path":"/v8/Health","anonymous":true,"body":{"status":"Then"}}]}`)
	info, m := serveMock(t, f, "--stubs", "rec")
	c := mockClient(t, info)
	for _, want := range []string{"Then", "Then"} { // the last file's stub is the newest
		if code, body := call(t, c, "GET", info.Veeam+"/v8/Health", "", ""); code != 200 || !strings.Contains(body, want) {
			t.Errorf("GET /v8/Health: %d %s, want %s", code, body, want)
		}
	}
	if r := m.stop(); r.code != 0 || !strings.Contains(r.stderr, "Veeam stubs:     2 from "+filepath.Join(f.dir, "rec")) {
		t.Errorf("exit %d, banner:\n%s", r.code, r.stderr)
	}

	write(t, filepath.Join(f.dir, "bad", "0001-ok.json"), `{"stubs":[{"method":"GET","path":"/v8/Health"}]}`)
	write(t, filepath.Join(f.dir, "bad", "0002-bad.yaml"), "stubs:\n  - method: GET\n    path: /v7/Health\n")
	r := f.run("mock", "--http", "--entra-addr", "127.0.0.1:0", "--veeam-addr", "127.0.0.1:0", "--stubs", "bad")
	want := filepath.Join(f.dir, "bad", "0002-bad.yaml") + ":3:11: stubs[0].path:"
	if r.code != 2 || !strings.Contains(r.stderr, want) {
		t.Errorf("exit %d, stderr %q; want 2 and %q", r.code, r.stderr, want)
	}
}
