package control

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/vbharness/vbharness/mocks/clock"
)

// TestJournalReadWaitsForAnswersAlreadySent: a client that has read a whole answer and
// then reads the journal finds that answer's entry, although net/http sent the answer
// before the handler returned and the pipeline recorded it.
func TestJournalReadWaitsForAnswersAlreadySent(t *testing.T) {
	t.Parallel()
	c := New(Options{Server: "test", Clock: clock.NewVirtual(clock.DefaultStart)})
	release := make(chan struct{})
	r := mux.NewRouter()
	body := strings.Repeat("x", 64<<10) // larger than net/http's write buffer
	r.HandleFunc("/big", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = io.WriteString(w, body)
		w.(http.Flusher).Flush()
		<-release // the answer is on the wire; the entry is not recorded yet
	})
	c.Mount(r)
	srv := httptest.NewServer(c.Wrap(r))
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/big")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || len(got) != len(body) {
		t.Fatalf("read %d bytes (%v), want the whole answer", len(got), err)
	}
	listed := make(chan []map[string]any, 1)
	go func() {
		// Another connection, as curl or a second client would use: on the answer's own
		// keep-alive connection the server reads the next request only after the handler.
		other := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := other.Get(srv.URL + "/_mock/requests")
		if err != nil {
			t.Error(err)
			listed <- nil
			return
		}
		defer resp.Body.Close()
		var out struct {
			Requests []map[string]any `json:"requests"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Error(err)
		}
		listed <- out.Requests
	}()
	time.Sleep(100 * time.Millisecond) // the journal read is under way (or already answered)
	close(release)
	entries := <-listed
	if len(entries) != 1 || entries[0]["path"] != "/big" {
		t.Fatalf("journal read after the answer lists %v, want the /big request", entries)
	}
}

// TestSettleIsBounded: a request that does not finish (a fault's long delay) holds a
// journal read up for at most its bound, and settle says it gave up; once the request is
// recorded, settle returns.
func TestSettleIsBounded(t *testing.T) {
	t.Parallel()
	f := newInflight()
	done := f.begin()
	start := time.Now()
	if f.settle(50 * time.Millisecond) {
		t.Fatal("settle reported every request recorded while one was still being served")
	}
	if waited := time.Since(start); waited < 50*time.Millisecond {
		t.Fatalf("settle gave up after %v, before its bound", waited)
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		done()
	}()
	if !f.settle(time.Minute) {
		t.Fatal("settle gave up although the request finished")
	}
}
