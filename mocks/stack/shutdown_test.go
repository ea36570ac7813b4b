package stack

import (
	"context"
	"crypto/tls"
	"net"
	"net/url"
	"path/filepath"
	"testing"
	"time"
)

// A connection that has not sent a request does not hold Shutdown: net/http waits up to
// 5 s for one, as for a request in flight, and Go's HTTP clients keep such connections as
// spares. One held TestTheCatalogueAgainstARunningMock's 5 s shutdown to its deadline in
// CI ("context deadline exceeded"). Here each server has a bare TCP connection and a TLS
// connection that finished its handshake, neither sending a request, and Shutdown with 3 s
// returns at once; before the fix it ran out the 3 s.
func TestShutdownDoesNotWaitForConnectionsThatSentNothing(t *testing.T) {
	t.Parallel()
	run, err := Serve(context.Background(), ServeOptions{EntraAddr: "127.0.0.1:0", VeeamAddr: "127.0.0.1:0",
		StateDir: filepath.Join(t.TempDir(), "state")})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{run.EntraURL, run.VeeamURL} {
		host := must(url.Parse(u)).Host
		raw, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		tc, err := tls.Dial("tcp", host, &tls.Config{InsecureSkipVerify: true}) // the handshake only
		if err != nil {
			t.Fatal(err)
		}
		defer tc.Close()
	}
	time.Sleep(100 * time.Millisecond) // the servers have accepted them
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	if err := run.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown with two unused connections per server: %v after %s", err, time.Since(start).Round(time.Millisecond))
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
