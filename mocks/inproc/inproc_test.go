package inproc

import (
	"context"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"
)

func TestTransportRoutesByHost(t *testing.T) {
	t.Parallel()
	tr := New()
	tr.Handle("Login.Mock", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.RemoteAddr != "127.0.0.1:1" {
			t.Errorf("remote addr %q", r.RemoteAddr)
		}
		w.WriteHeader(http.StatusTeapot)
		_, _ = io.WriteString(w, "hi "+r.URL.Path)
	}))
	c := &http.Client{Transport: tr}
	resp, err := c.Get("https://login.mock/x")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusTeapot || string(b) != "hi /x" {
		t.Fatalf("%d %q", resp.StatusCode, b)
	}
	if _, err := c.Get("https://nobody.mock/"); err == nil {
		t.Fatal("unknown host answered")
	}
}

func TestAbortedHandlers(t *testing.T) {
	t.Parallel()
	tr := New()
	tr.Handle("drop", http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) }))
	tr.Handle("trunc", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", "10")
		_, _ = io.WriteString(w, "12345")
		panic(http.ErrAbortHandler)
	}))
	c := &http.Client{Transport: tr}
	if _, err := c.Get("http://drop/"); !errors.Is(err, ErrConnReset) {
		t.Fatalf("drop: %v", err)
	}
	resp, err := c.Get("http://trunc/")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(resp.Body); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("truncated body read err = %v", err)
	}
}

func TestRoundTripReturnsOnContextEnd(t *testing.T) {
	t.Parallel()
	tr := New()
	tr.Handle("slow", http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://slow/", nil)
	if _, err := (&http.Client{Transport: tr}).Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
}
