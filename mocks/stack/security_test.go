package stack

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The standalone stack's control API accepts the names it serves and nothing else in
// Host (issue 15 item 4: with --http, any Host was accepted, so a page could rebind
// its own name to the mock): the loopback, the listen address and --hostname names.
func TestServeControlAnswersOnlyItsOwnNames(t *testing.T) {
	t.Parallel()
	run, err := Serve(context.Background(), ServeOptions{EntraAddr: "127.0.0.1:0", VeeamAddr: "127.0.0.1:0", HTTP: true,
		Hostnames: []string{"mock.lab.test"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = run.Shutdown(context.Background()) })
	hc := &http.Client{Timeout: 10 * time.Second}
	for _, base := range []string{run.EntraURL, run.VeeamURL} {
		_, port, _ := net.SplitHostPort(strings.TrimPrefix(base, "http://"))
		for _, c := range []struct {
			host   string
			status int
		}{
			{"127.0.0.1:" + port, 200},
			{"localhost:" + port, 200},
			{"mock.lab.test:" + port, 200},
			{"MOCK.LAB.TEST.:" + port, 200},
			{"evil.example:" + port, 403},
			{"mock.lab.test.evil.example:" + port, 403},
		} {
			req, _ := http.NewRequest(http.MethodPost, base+"/_mock/clock/advance", strings.NewReader(`{"duration":"1s"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Host = c.host
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.status {
				t.Errorf("%s with Host %q: %d %s, want %d", base, c.host, resp.StatusCode, b, c.status)
			}
		}
	}
}
