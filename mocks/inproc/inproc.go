// Package inproc owns an http.RoundTripper that serves requests straight from
// http.Handlers in the same process, keyed by host. In-process scenario stacks use it so
// a test's Entra and Veeam mocks need no sockets, ports or TLS handshakes, while clients
// still speak plain net/http.
//
// A handler that aborts (panics with http.ErrAbortHandler, as the drop and truncate faults
// do) surfaces as a connection error, or as a body that ends with io.ErrUnexpectedEOF
// when part of it was written. Each request runs on its own goroutine and the round trip
// returns as soon as the request's context ends.
package inproc

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// Transport routes requests to handlers by host (host[:port], lower case).
type Transport struct {
	mu    sync.RWMutex
	hosts map[string]http.Handler
}

// New returns an empty transport.
func New() *Transport { return &Transport{hosts: map[string]http.Handler{}} }

// Handle serves host (as it appears in URLs, e.g. "login.mock" or "veeam.mock:4443") with h.
func (t *Transport) Handle(host string, h http.Handler) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.hosts[strings.ToLower(host)] = h
}

// ErrConnReset is returned for a request whose handler dropped the connection.
var ErrConnReset = fmt.Errorf("inproc: connection reset by peer")

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.mu.RLock()
	h, ok := t.hosts[strings.ToLower(req.URL.Host)]
	t.mu.RUnlock()
	if !ok {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("inproc: no mock serves host %q", req.URL.Host)
	}
	sreq := req.Clone(req.Context())
	sreq.RemoteAddr = "127.0.0.1:1"
	sreq.RequestURI = req.URL.RequestURI()
	sreq.Host = req.URL.Host
	if sreq.Body == nil {
		sreq.Body = http.NoBody
	}
	rec := &recorder{header: http.Header{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					rec.aborted = true
					return
				}
				rec.aborted = true
				rec.panicked = fmt.Sprint(p)
			}
		}()
		h.ServeHTTP(rec, sreq)
	}()
	select {
	case <-done:
	case <-req.Context().Done():
		return nil, req.Context().Err()
	}
	if rec.panicked != "" {
		return nil, fmt.Errorf("inproc: handler panicked: %s", rec.panicked)
	}
	if rec.aborted && !rec.wrote {
		return nil, ErrConnReset
	}
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	var body io.ReadCloser = io.NopCloser(bytes.NewReader(rec.body.Bytes()))
	length := int64(rec.body.Len())
	if rec.aborted {
		body = io.NopCloser(io.MultiReader(bytes.NewReader(rec.body.Bytes()), errReader{}))
		if cl, err := strconv.ParseInt(rec.header.Get("Content-Length"), 10, 64); err == nil {
			length = cl
		} else {
			length = -1
		}
	}
	return &http.Response{
		Status:        strconv.Itoa(status) + " " + http.StatusText(status),
		StatusCode:    status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        rec.header,
		Body:          body,
		ContentLength: length,
		Request:       req,
	}, nil
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

type recorder struct {
	header   http.Header
	status   int
	body     bytes.Buffer
	wrote    bool
	aborted  bool
	panicked string
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
		r.wrote = true
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.WriteHeader(http.StatusOK)
	}
	return r.body.Write(p)
}

func (r *recorder) Flush() {}
