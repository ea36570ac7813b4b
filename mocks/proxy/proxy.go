package proxy

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/mocks/control"
	"github.com/vbharness/vbharness/mocks/journal"
	"github.com/vbharness/vbharness/mocks/secret"
	"github.com/vbharness/vbharness/mocks/veeam"
	"github.com/vbharness/vbharness/mocks/veeam/spec"
)

// Body limits (see the package comment).
const (
	// MaxRequestBody is the largest request body the proxy forwards: the mocks' own
	// limit (control.DefaultMaxBody, 1 MiB); a larger one gets 413.
	MaxRequestBody = control.DefaultMaxBody
	// MaxCheckedBody is the longest response body the proxy keeps a copy of for the
	// check; a longer one is forwarded whole, unchecked.
	MaxCheckedBody = 16 << 20
	// MaxViolations is how many violations the proxy keeps: the newest, as the mocks'
	// journal keeps its newest entries, so that a proxy running for hours still shows
	// what the last exchanges broke. Older ones are dropped, and counted
	// (Stats.ViolationsDropped); every one is counted in Stats.Violations and printed.
	MaxViolations = 10000
	// MaxUnknownPaths is how many distinct paths outside the v8 document (Entra's
	// included) the summary counts one by one; the exchanges to any other such path are
	// counted together under OtherPaths (Stats.ExchangesFolded), as the mock's metrics
	// fold error codes into "other" after 100. The v8 document's operations (487) are
	// always counted one by one: clients hitting many unknown paths never push them out.
	MaxUnknownPaths = 100
)

// OtherPaths is the summary's operation, one per service, for the exchanges to paths
// outside the v8 document past MaxUnknownPaths.
const OtherPaths = "(other paths)"

// Prefix is where the proxy's own routes live; requests under it are never forwarded.
const Prefix = "/_proxy"

// Finding is a violation the proxy found, with the sequence number of the exchange's
// journal entry (GET /_proxy/requests). Its strings are scrubbed of every secret the
// proxy has seen.
type Finding struct {
	Seq int64 `json:"seq"`
	Violation
}

// Proxy is the validation proxy's handler. Build it with New; it is safe for
// concurrent use.
type Proxy struct {
	veeam, entra *url.URL
	rp           *httputil.ReverseProxy
	checker      Checker
	recorder     Recorder
	journal      *journal.Journal
	scrub        *secret.Scrubber
	token        string
	clock        clock.Clock
	logger       *slog.Logger
	onViolation  func(Finding)

	pending atomic.Int64 // exchanges whose check and journal entry are not done yet
	queue   chan job
	stopped chan struct{} // closed when the worker has drained the queue
	qmu     sync.RWMutex  // guards closed against sends on a closed queue
	closed  bool

	mu        sync.Mutex
	findings  []kept // a ring of the newest maxFindings violations, oldest at fstart
	fstart    int
	stats     Stats
	ops       map[string]*Operation // by name; the OtherPaths buckets by service too
	unknown   int                   // names in ops outside the v8 document
	recordErr error                 // the first error the recorder returned

	maxFindings, maxUnknown int // MaxViolations, MaxUnknownPaths; smaller in tests
}

// kept is a violation the proxy keeps, with the operation it is counted under.
type kept struct {
	Finding
	op *Operation
}

// Option configures a Proxy.
type Option func(*Proxy)

// WithEntraUpstream sends the requests whose path is not Veeam's to u (an origin such
// as https://login.microsoftonline.com) instead of the Veeam upstream.
func WithEntraUpstream(u *url.URL) Option { return func(p *Proxy) { p.entra = u } }

// WithTransport sets how the proxy reaches its upstreams (default
// http.DefaultTransport): the CLI passes one that trusts --ca-file.
func WithTransport(rt http.RoundTripper) Option { return func(p *Proxy) { p.rp.Transport = rt } }

// WithChecker sets the contract checker (default: none, nothing is checked).
func WithChecker(c Checker) Option { return func(p *Proxy) { p.checker = c } }

// WithRecorder hands every exchange to r (default: none): Veeam's to record, Entra's so
// that r learns their secrets too.
func WithRecorder(r Recorder) Option { return func(p *Proxy) { p.recorder = r } }

// WithControlToken makes /_proxy/ answer callers that send `Authorization: Bearer tok`
// from anywhere (default: loopback callers only, without a token).
func WithControlToken(tok string) Option { return func(p *Proxy) { p.token = tok } }

// WithJournal sets the journal (default journal.New(0)).
func WithJournal(j *journal.Journal) Option { return func(p *Proxy) { p.journal = j } }

// WithClock sets the clock journal entries are stamped with (default the real clock).
func WithClock(c clock.Clock) Option { return func(p *Proxy) { p.clock = c } }

// WithLogger sets where upstream failures and recorder errors are logged (default
// discarded).
func WithLogger(l *slog.Logger) Option { return func(p *Proxy) { p.logger = l } }

// WithViolationHandler calls f with each violation found, from the goroutine that
// checked the exchange (f must be safe for concurrent use): the CLI prints each as one
// line.
func WithViolationHandler(f func(Finding)) Option { return func(p *Proxy) { p.onViolation = f } }

// New returns a proxy forwarding to the Veeam upstream veeam (an origin, such as
// https://lab:4443; a path in it prefixes every forwarded path).
func New(veeam *url.URL, opts ...Option) *Proxy {
	p := &Proxy{veeam: veeam, ops: map[string]*Operation{}, scrub: secret.NewScrubber(),
		maxFindings: MaxViolations, maxUnknown: MaxUnknownPaths}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(p.upstream(pr.In.URL.Path)) // Host becomes the upstream's
		},
		ModifyResponse: p.captureResponse,
		ErrorHandler:   p.upstreamError,
		ErrorLog:       nil,
	}
	for _, o := range opts {
		o(p)
	}
	if p.journal == nil {
		p.journal = journal.New(0)
	}
	if p.clock == nil {
		p.clock = clock.NewReal()
	}
	if p.logger == nil {
		p.logger = slog.New(slog.DiscardHandler)
	}
	p.rp.ErrorLog = slog.NewLogLogger(p.logger.Handler(), slog.LevelWarn)
	p.queue, p.stopped = make(chan job, QueueLength), make(chan struct{})
	go p.work()
	return p
}

// veeamPrefixes are the paths that are Veeam's (lower case): its API versions, the
// published document and the health probe, and the Veeam mock's control API.
var veeamPrefixes = []string{"/v8/", "/v7/", "/v6/", "/swagger", "/health", control.Prefix + "/"}

// isVeeam reports whether a request path belongs to the Veeam server.
func isVeeam(path string) bool {
	l := strings.ToLower(path)
	for _, pre := range veeamPrefixes {
		if strings.HasPrefix(l, pre) || l+"/" == pre {
			return true
		}
	}
	return false
}

// service returns the service a path is routed to.
func (p *Proxy) service(path string) string {
	if p.entra != nil && !isVeeam(path) {
		return ServiceEntra
	}
	return ServiceVeeam
}

func (p *Proxy) upstream(path string) *url.URL {
	if p.service(path) == ServiceEntra {
		return p.entra
	}
	return p.veeam
}

// exchangeKey carries an exchange's state from ServeHTTP to the reverse proxy's hooks.
type exchangeKey struct{}

// state is one exchange in flight.
type state struct {
	ex       Exchange
	body     *capture // the response body's copy; nil until the upstream answered
	failed   bool     // the upstream could not be reached: the client got 502
	status   int      // what the client got
	tooLarge bool
	encoded  bool // the answer's Content-Encoding could not be undone: unchecked, not recorded
}

// ServeHTTP forwards r to its upstream and, once the answer is written, checks,
// journals and records the exchange.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if l := strings.ToLower(r.URL.Path); l == Prefix || strings.HasPrefix(l, Prefix+"/") {
		p.serveControl(w, r)
		return
	} else if l == control.Prefix || strings.HasPrefix(l, control.Prefix+"/") {
		// A mock upstream's control API answers loopback callers, and the proxy calls it
		// from the loopback: forward it only to the callers the proxy's own routes answer,
		// or a proxy listening off the loopback would open it to every machine.
		if !p.allowed(w, r, "the mock's control API (/_mock/) through the proxy") {
			return
		}
	}
	start := time.Now()
	now := p.clock.Now()
	st := &state{ex: Exchange{Service: p.service(r.URL.Path), Method: r.Method, URL: cloneURL(r.URL), RequestHeader: r.Header.Clone()}}
	if r.Body != nil && r.Body != http.NoBody {
		body, err := io.ReadAll(io.LimitReader(r.Body, MaxRequestBody+1))
		if err != nil {
			writeError(w, http.StatusBadRequest, "the request body could not be read: "+err.Error())
			return
		}
		if len(body) > MaxRequestBody {
			st.tooLarge = true
			writeError(w, http.StatusRequestEntityTooLarge, "the request body is larger than the proxy's limit of 1 MiB")
			p.finish(st, now, http.StatusRequestEntityTooLarge, time.Since(start))
			return
		}
		st.ex.RequestBody = body
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
	}
	sw := &statusWriter{ResponseWriter: w}
	defer func() {
		// The reverse proxy aborts the handler (http.ErrAbortHandler) when the answer
		// cannot be copied to the client: the exchange still counts, as the client's
		// status 0.
		if rec := recover(); rec != nil {
			st.failed = true
			p.finish(st, now, 0, time.Since(start))
			panic(rec)
		}
	}()
	p.rp.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), exchangeKey{}, st)))
	p.finish(st, now, sw.status, time.Since(start))
}

// finish hands an exchange to the worker, which checks, journals and records it off
// the request's goroutine, one exchange at a time in the order their answers ended (so
// journal sequence numbers follow that order, and the checks take at most one CPU).
// The queue holds QueueLength exchanges; past that, requests wait for the worker.
func (p *Proxy) finish(st *state, now time.Time, status int, latency time.Duration) {
	st.status = status
	if st.body != nil && !st.failed {
		st.ex.ResponseBody = st.body.bytes()
	}
	j := job{st, now, latency}
	p.pending.Add(1)
	p.qmu.RLock()
	defer p.qmu.RUnlock()
	if p.closed {
		p.process(j) // after Close: nobody serves, but a straggler still counts
		p.pending.Add(-1)
		return
	}
	p.queue <- j
}

// decode undoes the answer's Content-Encoding for the check, the journal and the
// recording (the client got the upstream's bytes): a client that accepts gzip asks an
// upstream that compresses for it through the proxy. gzip is decoded, up to
// MaxCheckedBody; any other encoding, or a body that does not decode, leaves the
// exchange unchecked and unrecorded.
func (st *state) decode() {
	ce := strings.TrimSpace(strings.ToLower(st.ex.ResponseHeader.Get("Content-Encoding")))
	if ce == "" || ce == "identity" || st.ex.ResponseBody == nil {
		return
	}
	var plain []byte
	if ce == "gzip" || ce == "x-gzip" {
		if zr, err := gzip.NewReader(bytes.NewReader(st.ex.ResponseBody)); err == nil {
			b, err := io.ReadAll(io.LimitReader(zr, MaxCheckedBody+1))
			if err == nil && len(b) <= MaxCheckedBody {
				plain = b
			}
		}
	}
	if plain == nil {
		st.encoded, st.ex.ResponseBody = true, nil
		return
	}
	h := st.ex.ResponseHeader.Clone()
	h.Del("Content-Encoding")
	h.Del("Content-Length")
	st.ex.ResponseHeader, st.ex.ResponseBody = h, plain
}

// QueueLength is how many answered exchanges wait for the worker before requests wait.
const QueueLength = 1024

// job is an answered exchange waiting for the worker.
type job struct {
	st      *state
	now     time.Time
	latency time.Duration
}

func (p *Proxy) work() {
	defer close(p.stopped)
	for j := range p.queue {
		p.process(j)
		p.pending.Add(-1)
	}
}

// cloneURL copies a request's URL for the exchange, without user info (a server's
// request URL has none, but a handler called directly may pass one).
func cloneURL(u *url.URL) *url.URL {
	c := *u
	c.User = nil
	return &c
}

// captureResponse is the reverse proxy's ModifyResponse: it notes the upstream's
// answer and tees its body into a bounded copy as it streams to the client.
func (p *Proxy) captureResponse(resp *http.Response) error {
	st, _ := resp.Request.Context().Value(exchangeKey{}).(*state)
	if st == nil {
		return nil
	}
	st.ex.Status = resp.StatusCode
	st.ex.ResponseHeader = resp.Header.Clone()
	st.body = &capture{rc: resp.Body, eof: resp.Body == http.NoBody || resp.ContentLength == 0}
	resp.Body = st.body
	return nil
}

// upstreamError answers 502 when the upstream cannot be reached or fails mid-answer.
func (p *Proxy) upstreamError(w http.ResponseWriter, r *http.Request, err error) {
	if st, _ := r.Context().Value(exchangeKey{}).(*state); st != nil {
		st.failed = true
		st.ex.Status = 0
	}
	if errors.Is(err, context.Canceled) {
		w.WriteHeader(499) // the client went away; nobody reads this
		return
	}
	// The transport's error names the URL, query included, which may carry a secret the
	// worker has not learned yet: keep only the cause.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	p.logger.Warn("proxy: upstream failed", "method", r.Method, "path", p.scrub.Scrub(r.URL.Path), "err", p.scrub.Scrub(err.Error()))
	writeError(w, http.StatusBadGateway, "the upstream did not answer: "+p.scrub.Scrub(err.Error()))
}

// capture is a response body that keeps a copy of up to MaxCheckedBody bytes of what
// is read through it.
type capture struct {
	rc   io.ReadCloser
	mu   sync.Mutex
	buf  bytes.Buffer
	over bool
	eof  bool // the whole body was read
	err  bool // a read failed before EOF: the copy is partial
}

func (c *capture) Read(b []byte) (int, error) {
	n, err := c.rc.Read(b)
	c.mu.Lock()
	if !c.over {
		if c.buf.Len()+n > MaxCheckedBody {
			c.over = true
			c.buf = bytes.Buffer{}
		} else {
			c.buf.Write(b[:n])
		}
	}
	switch {
	case err == io.EOF:
		c.eof = true
	case err != nil:
		c.err = true
	}
	c.mu.Unlock()
	return n, err
}

func (c *capture) Close() error { return c.rc.Close() }

// bytes returns the copy, or nil when it is incomplete.
func (c *capture) bytes() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.over || c.err || !c.eof {
		return nil
	}
	return c.buf.Bytes()
}

func (c *capture) complete() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.over && !c.err && c.eof
}

// statusWriter notes the status the client got.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Flush lets the reverse proxy stream (text/event-stream, answers of unknown length).
func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// process learns the exchange's secrets, checks it, journals it and records it.
func (p *Proxy) process(j job) {
	st, now, latency := j.st, j.now, j.latency
	st.decode() // on the worker: the answer has gone to the client
	ex := st.ex
	p.learn(ex)
	// An answer whose body broke off (the upstream's connection failed mid-body, or the
	// client went away) is unchecked: its copy is partial, and a check would call it empty.
	checked := p.checker != nil && !st.tooLarge && !st.encoded && !strings.HasPrefix(strings.ToLower(ex.URL.Path), control.Prefix+"/") &&
		(st.body == nil || st.body.complete())
	var vs []Violation
	if checked {
		vs = p.checker.Check(ex)
	}
	entry := p.journal.Record(journal.Entry{Server: ex.Service, Time: now, Method: ex.Method,
		Path: p.scrub.Scrub(ex.URL.Path), Fields: p.fields(ex), Status: st.status,
		LatencyMS: float64(latency.Microseconds()) / 1000})
	found := make([]Finding, len(vs))
	for i, v := range vs {
		v.Path = p.scrub.Scrub(v.Path)
		v.Received = p.scrub.Scrub(v.Received)
		v.Expected = p.scrub.Scrub(v.Expected)
		v.Pointer = p.scrub.Scrub(v.Pointer)
		found[i] = Finding{Seq: entry.Seq, Violation: v}
	}
	p.count(ex, checked, found)
	for _, f := range found {
		if p.onViolation != nil {
			p.onViolation(f)
		}
	}
	// The recorder gets Entra's exchanges too: it records Veeam's alone, but learns the
	// secrets of every exchange (Entra's tokens, codes) to scrub them from the recording.
	recordable := ex.Status != 0 && !st.encoded && !strings.HasPrefix(strings.ToLower(ex.URL.Path), control.Prefix+"/") &&
		(st.body == nil || st.body.complete())
	if p.recorder != nil && (ex.Service != ServiceVeeam || recordable) {
		if err := p.recorder.Add(ex); err != nil {
			p.mu.Lock()
			first := p.recordErr == nil
			if first {
				p.recordErr = err
			}
			p.mu.Unlock()
			if first {
				p.logger.Warn("proxy: recording failed", "err", p.scrub.Scrub(err.Error()))
			}
		}
	}
}

// fields returns the request's form or JSON fields as the journal shows them: secret
// ones redacted (secret.RedactField), every value scrubbed of the secrets seen so far.
func (p *Proxy) fields(ex Exchange) map[string]string {
	f := control.ParseFields(ex.RequestHeader.Get("Content-Type"), ex.RequestBody)
	if f == nil {
		return nil
	}
	out := make(map[string]string, len(f))
	for k, v := range f {
		out[k] = p.scrub.Scrub(secret.RedactField(k, v))
	}
	return out
}

// learn teaches the scrubber every secret the exchange carries, both ways, inside JSON
// documents sent as strings too, as the seed's assertion is (secret.Scrubber.LearnExchange).
func (p *Proxy) learn(ex Exchange) {
	p.scrub.LearnExchange(ex.URL.Query(), ex.RequestHeader, ex.ResponseHeader, ex.RequestBody, ex.ResponseBody)
}

// count adds an exchange and its findings to the statistics.
func (p *Proxy) count(ex Exchange, checked bool, found []Finding) {
	name, documented := operationName(ex)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stats.Exchanges++
	if ex.Service == ServiceEntra {
		p.stats.Entra++
	} else {
		p.stats.Veeam++
	}
	if !checked {
		p.stats.Unchecked++
	}
	p.stats.Violations += len(found)
	op := p.ops[name]
	if op == nil && !documented && p.unknown >= p.maxUnknown {
		p.stats.ExchangesFolded++
		name = ex.Service + " " + OtherPaths
		op = p.ops[name]
		if op == nil {
			op = &Operation{Name: OtherPaths, Service: ex.Service}
			p.ops[name] = op
		}
	}
	if op == nil {
		op = &Operation{Name: name, Service: ex.Service}
		p.ops[name] = op
		if !documented {
			p.unknown++
		}
	}
	op.Exchanges++
	op.Violations += len(found)
	for _, f := range found {
		if len(p.findings) < p.maxFindings {
			p.findings = append(p.findings, kept{f, op})
			continue
		}
		// Full: the newest replaces the oldest, as in the journal's ring.
		p.findings[p.fstart] = kept{f, op}
		p.fstart = (p.fstart + 1) % len(p.findings)
		p.stats.ViolationsDropped++
	}
}

// kept returns a copy of the violations kept, oldest first. Callers hold p.mu, and
// pass the copy to rescrub once they have let it go.
func (p *Proxy) kept() []kept {
	return append(slices.Clone(p.findings[p.fstart:]), p.findings[:p.fstart]...)
}

// rescrub scrubs the texts of ks again with every secret seen so far: a violation's
// path is the path the client sent, and a secret in it (a password, a token) may have
// been learned only after that exchange. It returns ks.
func (p *Proxy) rescrub(ks []kept) []kept {
	for i := range ks {
		v := &ks[i].Violation
		v.Path, v.Received, v.Expected, v.Pointer = p.scrub.Scrub(v.Path), p.scrub.Scrub(v.Received), p.scrub.Scrub(v.Expected), p.scrub.Scrub(v.Pointer)
	}
	return ks
}

// operationName names an exchange's operation in the summary, and says whether it is
// one of the v8 document's (or one of Entra's endpoints that the checker knows): for a Veeam operation of the document, its method, path
// template and operationId ("GET /v8/Jobs/{jobId} (Job_Get)", as veeam.Match routes
// it); otherwise its method (up to 32 bytes) and path (up to 200) with every GUID
// segment written {id}, so the calls of one operation on different items count
// together.
func operationName(ex Exchange) (string, bool) {
	if ex.Service == ServiceVeeam {
		if op, _ := veeam.Match(ex.Method, ex.URL.EscapedPath()); op != nil { // as the checker and the mock route it
			return op.Method + " " + op.Path + " (" + op.ID + ")", true
		}
	}
	if ex.Service == ServiceEntra {
		// The two endpoints the checker knows (mocks/contract/entra.go), one operation
		// whatever the tenant, and never folded: a scanner's paths must not push the
		// token endpoint into (other paths).
		p := strings.ToLower(strings.TrimRight(ex.URL.Path, "/"))
		for _, e := range [...]struct{ suffix, name string }{{"/oauth2/v2.0/token", "token"}, {"/oauth2/v2.0/devicecode", "devicecode"}} {
			if strings.HasSuffix(p, e.suffix) && len(ex.Method) <= 32 {
				return ex.Method + " /{tenant}" + e.suffix + " (" + e.name + ")", true
			}
		}
	}
	method := ex.Method
	if len(method) > 32 {
		method = method[:32] + "…"
	}
	segs := strings.Split(ex.URL.Path, "/")
	for i, s := range segs {
		if spec.IsGUID(s) {
			segs[i] = "{id}"
		}
	}
	path := strings.Join(segs, "/")
	if len(path) > 200 {
		path = path[:200] + "…"
	}
	return method + " " + path, false
}

// Settle waits until every exchange answered before the call is checked and
// journaled, for at most 2 s, and reports whether all were.
func (p *Proxy) Settle() bool {
	deadline := time.Now().Add(2 * time.Second)
	for p.pending.Load() > 0 {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}

// Close waits for every exchange's check, journal entry and recording and stops the
// worker; call it once the server has stopped taking requests, before reading the
// summary for a report. Exchanges that end after it are processed on their own
// goroutine. Calling it again does nothing.
func (p *Proxy) Close() {
	p.qmu.Lock()
	if !p.closed {
		p.closed = true
		close(p.queue)
	}
	p.qmu.Unlock()
	<-p.stopped
}

// Journal returns the proxy's journal.
func (p *Proxy) Journal() *journal.Journal { return p.journal }

// Findings returns the violations kept so far (the newest MaxViolations), oldest first.
func (p *Proxy) Findings() []Finding {
	p.mu.Lock()
	ks := p.kept()
	p.mu.Unlock()
	return findingsOf(p.rescrub(ks))
}

func findingsOf(ks []kept) []Finding {
	out := make([]Finding, len(ks))
	for i, k := range ks {
		out[i] = k.Finding
	}
	return out
}

// RecordError returns the first error the recorder returned, or nil.
func (p *Proxy) RecordError() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.recordErr
}

// writeError writes the proxy's own error shape: {"error": msg}, as the mocks' control
// API writes its errors.
func writeError(w http.ResponseWriter, status int, msg string) {
	control.WriteError(w, status, msg)
}
