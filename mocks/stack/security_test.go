package stack

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
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

// Issue 15 item 9: the state folder's modes were not checked, so a key readable by
// others was kept silently. The stack warns about a folder others may write and a key
// others may read, and says how to fix them.
func TestServeWarnsAboutALaxStateFolder(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("Unix modes")
	}
	dir := filepath.Join(t.TempDir(), "state")
	run, err := Serve(context.Background(), ServeOptions{EntraAddr: "127.0.0.1:0", VeeamAddr: "127.0.0.1:0", StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	_ = run.Shutdown(context.Background())
	if err := os.Chmod(dir, 0o775); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, "ca-key.pem"), 0o644); err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	run, err = Serve(context.Background(), ServeOptions{EntraAddr: "127.0.0.1:0", VeeamAddr: "127.0.0.1:0", StateDir: dir, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	_ = run.Shutdown(context.Background())
	for _, want := range []string{"level=WARN", dir, "0775", "ca-key.pem", "0644", "chmod"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the warnings lack %q:\n%s", want, logs.String())
		}
	}
}

// Issue 15 item 9: net/http's ErrorLog wrote at Debug through the mock's Warn-level
// handler, so TLS handshake failures and panics in handlers never reached stderr. A
// client that does not trust the CA now shows up in the log.
func TestServeLogsTLSErrors(t *testing.T) {
	t.Parallel()
	var logs lockedBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	run, err := Serve(context.Background(), ServeOptions{EntraAddr: "127.0.0.1:0", VeeamAddr: "127.0.0.1:0",
		StateDir: filepath.Join(t.TempDir(), "state"), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = run.Shutdown(context.Background()) }()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(run.VeeamURL + "/_mock/health") // system roots: no
	if err == nil {
		resp.Body.Close()
		t.Fatal("a client without the CA connected")
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "TLS handshake error") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if s := logs.String(); !strings.Contains(s, "level=WARN") || !strings.Contains(s, "TLS handshake error") {
		t.Errorf("the failed handshake is not in the log: %q", s)
	}
}
