// Package control owns what every mock server has in common around its own routes:
// the request pipeline (panic recovery, the body-size limit, the journal, fault
// injection) and the control API under /_mock/ (health, clock, requests, faults, reset,
// metrics), with the probes /_mock/live and /_mock/ready, which answer anyone.
//
// Each mock mounts its protocol routes on a gorilla/mux router, calls Mount to add the
// common control routes (and gets the /_mock subrouter back for its own), and serves
// Wrap(router). The control API answers loopback callers only, unless a control token is
// configured; then every caller must send `Authorization: Bearer <token>`.
//
// A web page must not be able to drive the control API through the user's browser, so
// every control request must also name the mock itself in Host (localhost, a loopback
// address, or a name given to AllowHosts: DNS rebinding sends the attacker's name), must
// carry no Origin but the mock's own, and every call that changes state (POST, PUT,
// PATCH) with a body must be application/json, which a browser sends cross-site only
// after a CORS preflight that the control API never answers (a bodiless POST, as curl
// sends for reset, needs the type only when a browser sent it).
package control

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gorilla/mux"

	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/mocks/configfile"
	"github.com/vbharness/vbharness/mocks/faults"
	"github.com/vbharness/vbharness/mocks/journal"
	"github.com/vbharness/vbharness/mocks/secret"
)

// Prefix is where the control API lives on every mock server.
const Prefix = "/_mock"

// DefaultMaxBody is the largest request body a mock reads (1 MiB); larger ones get 413.
const DefaultMaxBody = 1 << 20

// Options configure a Control. Only Clock is required.
type Options struct {
	Server   string // name recorded in journal entries: "entra" or "veeam"
	Clock    clock.Clock
	Journal  *journal.Journal                             // default: journal.New(0)
	Faults   *faults.Set                                  // default: faults.NewSet()
	Token    string                                       // control token; empty means loopback callers only
	MaxBody  int64                                        // default DefaultMaxBody
	Reset    func()                                       // server state reset, called by POST /_mock/reset
	TooLarge func(w http.ResponseWriter, r *http.Request) // 413 in the service's shape
	Internal func(w http.ResponseWriter, r *http.Request) // 500 in the service's shape
}

// Control is one server's pipeline and common control API.
type Control struct {
	o        Options
	hosts    atomic.Pointer[map[string]bool] // AllowHosts names, lower-case; IPs in net.IP.String form
	inflight *inflight                       // requests not yet journaled (Settle)
	observe  atomic.Pointer[func(Observation)]
	metrics  atomic.Pointer[http.Handler]
	stopping atomic.Bool // SetStopping: /_mock/ready answers 503
}

// Observation is what the pipeline tells an observer (SetObserver) about one request to
// the service's own routes, when its answer has been written. Control requests are not
// observed.
type Observation struct {
	Server string // "entra" or "veeam"
	Method string // as the client sent it
	// Route is the template of the route that served the request ("/{tenant}/oauth2/v2.0/token",
	// "/v8/Jobs/{jobId}"), set by the server through SetRoute; "" when no route matched.
	Route   string
	Status  int // 0 when the handler aborted the connection
	Latency time.Duration
	// GrantType is the request's grant_type form field, "" when it has none.
	GrantType string
	// ErrorBody is the start (up to 4 KiB) of the body of an answer with status 400 or
	// more, where the service's error code is.
	ErrorBody []byte
}

// SetObserver makes every request to the service's routes reported to f once answered,
// from the request's goroutine (f must be safe for concurrent use). The standalone
// mock's metrics are built on it; in-process stacks leave it unset and pay nothing.
func (c *Control) SetObserver(f func(Observation)) { c.observe.Store(&f) }

// SetMetrics sets the handler of GET /_mock/metrics (404 until set).
func (c *Control) SetMetrics(h http.Handler) { c.metrics.Store(&h) }

// SetStopping marks the server as shutting down: /_mock/ready answers 503 from then on,
// so a load balancer stops sending it requests while those in flight finish.
func (c *Control) SetStopping() { c.stopping.Store(true) }

type routeKey struct{}

// routeHolder receives the route template a server's router matched (SetRoute).
type routeHolder struct{ template string }

// SetRoute records the template of the route serving r, for the observer's Route; the
// servers call it once they have matched a route. It does nothing when no observer is
// set.
func SetRoute(r *http.Request, template string) {
	if h, ok := r.Context().Value(routeKey{}).(*routeHolder); ok {
		h.template = template
	}
}

// New returns a Control with defaults filled in.
func New(o Options) *Control {
	if o.Journal == nil {
		o.Journal = journal.New(0)
	}
	if o.Faults == nil {
		o.Faults = faults.NewSet()
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.TooLarge == nil {
		o.TooLarge = func(w http.ResponseWriter, _ *http.Request) {
			WriteError(w, http.StatusRequestEntityTooLarge, "request body is larger than the limit")
		}
	}
	if o.Internal == nil {
		o.Internal = func(w http.ResponseWriter, _ *http.Request) {
			WriteError(w, http.StatusInternalServerError, "internal error")
		}
	}
	return &Control{o: o, inflight: newInflight()}
}

// AllowHosts adds names or IP addresses that the control API accepts in the Host
// header besides localhost and the loopback addresses, which it always accepts: the
// names the server is really reached by (the standalone stack's --hostname names and
// listen address, the in-process stack's origins). Safe to call while serving.
func (c *Control) AllowHosts(hosts ...string) {
	for {
		old := c.hosts.Load()
		next := map[string]bool{}
		if old != nil {
			for h := range *old {
				next[h] = true
			}
		}
		for _, h := range hosts {
			if h = normalHost(h); h != "" {
				next[h] = true
			}
		}
		if c.hosts.CompareAndSwap(old, &next) {
			return
		}
	}
}

// normalHost is a host name or address as Host comparisons use it: lower-case, without
// a trailing dot or IPv6 brackets, IP addresses in their canonical form.
func normalHost(h string) string {
	h = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	if ip := net.ParseIP(h); ip != nil {
		return ip.String()
	}
	return h
}

// ownHost reports whether host (a Host header: name or address, with or without a
// port) names this server.
func (c *Control) ownHost(host string) bool {
	name, _ := splitHostPort(host)
	name = normalHost(name)
	if name == "localhost" {
		return true
	}
	if ip := net.ParseIP(name); ip != nil && ip.IsLoopback() {
		return true
	}
	m := c.hosts.Load()
	return m != nil && (*m)[name]
}

// splitHostPort splits "host:port", "[v6]:port", "host" or "[v6]"; port is "" when
// absent.
func splitHostPort(hp string) (host, port string) {
	if h, p, err := net.SplitHostPort(hp); err == nil {
		return h, p
	}
	return hp, ""
}

// sameOrigin reports whether an Origin header value is the origin r was sent to: the
// same host and port (ports defaulted by scheme). Another page on the same host but
// another port is another origin.
func sameOrigin(origin string, r *http.Request) bool {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return false
	}
	defPort := func(scheme string) string {
		if scheme == "https" {
			return "443"
		}
		return "80"
	}
	oh, op := splitHostPort(u.Host)
	if op == "" {
		op = defPort(u.Scheme)
	}
	rh, rp := splitHostPort(r.Host)
	if rp == "" {
		scheme := "http"
		if r.TLS != nil || r.URL.Scheme == "https" {
			scheme = "https"
		}
		rp = defPort(scheme)
	}
	return normalHost(oh) == normalHost(rh) && op == rp
}

// needsJSON reports whether a control request with this method must be
// application/json: the methods that change state. DELETE is left out: a browser never
// sends it cross-site without a preflight, and it has no body. A POST without a body
// (reset, keys/rotate, as `curl -X POST` sends it) needs no type unless a browser sent
// it, which fromBrowser tells.
func needsJSON(method string) bool {
	return method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch
}

// fromBrowser reports whether a browser sent r on behalf of a page: browsers send Origin
// with every cross-site POST, and Sec-Fetch-Site (other than "none", a URL the user typed)
// with every request.
func fromBrowser(r *http.Request) bool {
	if len(r.Header.Values("Origin")) > 0 {
		return true
	}
	site := r.Header.Get("Sec-Fetch-Site")
	return site != "" && site != "none"
}

// Journal returns the server's journal.
func (c *Control) Journal() *journal.Journal { return c.o.Journal }

// Settle waits until every request the pipeline began serving before the call has its
// journal entry, for at most 2 s (a request a fault delays can take longer), and
// reports whether all had. The journal routes settle before they read or clear, so a
// client that reads the journal after an answer finds that answer's entry.
func (c *Control) Settle() bool { return c.inflight.settle(settleWait) }

// Faults returns the server's fault rules.
func (c *Control) Faults() *faults.Set { return c.o.Faults }

// Clock returns the stack clock.
func (c *Control) Clock() clock.Clock { return c.o.Clock }

// SetReset replaces the reset callback (a stack resets both of its servers).
func (c *Control) SetReset(f func()) { c.o.Reset = f }

// Reset clears the journal and the faults and calls the server's reset.
func (c *Control) Reset() {
	c.Settle()
	c.o.Journal.Clear()
	c.o.Faults.Clear()
	if c.o.Reset != nil {
		c.o.Reset()
	}
}

type fieldsKey struct{}

// Fields returns the request's form or top-level JSON fields as the pipeline parsed them
// (unredacted), or nil.
func Fields(r *http.Request) map[string]string {
	f, _ := r.Context().Value(fieldsKey{}).(map[string]string)
	return f
}

// Wrap returns h behind the pipeline: recovery, the body limit, journaling and faults.
// Requests to the control API are neither journaled nor faulted.
func (c *Control) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		// The server's Date is its own clock, the mock's: net/http would write the wall
		// clock's, and a client comparing it with a token's exp would see two times.
		w.Header().Set("Date", c.o.Clock.Now().UTC().Format(http.TimeFormat))
		sw := &statusWriter{ResponseWriter: w}
		isControl := strings.HasPrefix(r.URL.Path, Prefix+"/") || r.URL.Path == Prefix
		var entry journal.Entry
		if observe := c.observe.Load(); observe != nil && !isControl {
			route := &routeHolder{}
			r = r.WithContext(context.WithValue(r.Context(), routeKey{}, route))
			sw.capture = true
			defer func() {
				status := sw.status
				if rec := recover(); rec != nil {
					status = 0
					defer panic(rec) // the journal's deferred call, below, runs first
				}
				(*observe)(Observation{Server: c.o.Server, Method: r.Method, Route: route.template, Status: status,
					Latency: time.Since(start), GrantType: Fields(r)["grant_type"], ErrorBody: sw.body})
			}()
		}
		if !isControl {
			entry = journal.Entry{Server: c.o.Server, Time: c.o.Clock.Now(), Method: r.Method, Path: r.URL.Path}
			sw.journaled = true
			recorded := c.inflight.begin()
			defer func() {
				rec := recover()
				if rec != nil && rec != http.ErrAbortHandler {
					c.o.Internal(sw, r)
					rec = nil
				}
				entry.Status = sw.status
				if rec == http.ErrAbortHandler {
					entry.Status = 0
				}
				entry.LatencyMS = float64(time.Since(start).Microseconds()) / 1000
				entry.Stub = sw.stub
				c.o.Journal.Record(entry)
				recorded()
				if rec != nil {
					panic(rec)
				}
			}()
		}
		if r.Body != nil && r.Body != http.NoBody {
			body, err := io.ReadAll(io.LimitReader(r.Body, c.o.MaxBody+1))
			if err != nil {
				panic(http.ErrAbortHandler)
			}
			if int64(len(body)) > c.o.MaxBody {
				c.o.TooLarge(sw, r)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			if fields := ParseFields(r.Header.Get("Content-Type"), body); fields != nil {
				r = r.WithContext(context.WithValue(r.Context(), fieldsKey{}, fields))
				if !isControl {
					entry.Fields = redactFields(fields)
				}
			}
		}
		if !isControl {
			if rule, delay, ok := c.o.Faults.Match(r.Method, r.URL.Path, Fields(r)); ok {
				entry.Fault = rule.ID
				if faults.Apply(sw, r, c.o.Clock, rule, delay, h) {
					return
				}
			}
		}
		h.ServeHTTP(sw, r)
	})
}

// ParseFields reads a form or JSON object body into name → value (first value wins;
// JSON non-strings are rendered as JSON). It returns nil for other bodies.
func ParseFields(contentType string, body []byte) map[string]string {
	mt, _, _ := mime.ParseMediaType(contentType)
	switch mt {
	case "application/x-www-form-urlencoded":
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return nil
		}
		out := make(map[string]string, len(vals))
		for k, v := range vals {
			out[k] = v[0]
		}
		return out
	case "application/json":
		var obj map[string]json.RawMessage
		if json.Unmarshal(body, &obj) != nil {
			return nil
		}
		out := make(map[string]string, len(obj))
		for k, raw := range obj {
			var s string
			if json.Unmarshal(raw, &s) == nil {
				out[k] = s
			} else {
				out[k] = string(raw)
			}
		}
		return out
	}
	return nil
}

func redactFields(f map[string]string) map[string]string {
	out := make(map[string]string, len(f))
	for k, v := range f {
		out[k] = secret.RedactField(k, v)
		if out[k] == v && len(v) > 0 && (v[0] == '{' || v[0] == '[') {
			out[k] = redactNested(v) // a JSON object or array: its secret members
		}
	}
	return out
}

// redactNested redacts the secret members (secret.FieldKind) of a JSON object or array
// at any depth, as the journal shows a field whose value is one (Veeam's
// exchangeOnlineSettings.applicationCertificatePassword). It returns v unchanged when
// nothing is secret, and "[redacted]" when v cannot be read, rather than risk a secret.
func redactNested(v string) string {
	var x any
	d := json.NewDecoder(strings.NewReader(v))
	d.UseNumber()
	if d.Decode(&x) != nil {
		return "[redacted: unreadable JSON]"
	}
	changed := false
	var walk func(x any) any
	walk = func(x any) any {
		switch t := x.(type) {
		case map[string]any:
			for k, m := range t {
				if kind := secret.FieldKind(k); kind != 0 {
					s, ok := m.(string)
					if !ok {
						b, _ := json.Marshal(m)
						s = string(b)
					}
					t[k], changed = secret.RedactAs(kind, s), true
					continue
				}
				t[k] = walk(m)
			}
		case []any:
			for i, m := range t {
				t[i] = walk(m)
			}
		}
		return x
	}
	x = walk(x)
	if !changed {
		return v
	}
	b, err := json.Marshal(x)
	if err != nil {
		return "[redacted: unreadable JSON]"
	}
	return string(b)
}

type statusWriter struct {
	http.ResponseWriter
	status    int
	journaled bool   // false for control requests
	stub      string // MarkStub's id, copied into the journal entry
	capture   bool   // keep the start of an error answer's body (an observer is set)
	body      []byte // up to maxErrorBody bytes of it
}

// MarkStub records in the journal entry of the request w answers that the stub with id
// answered it (journal.Entry.Stub). w is the ResponseWriter the pipeline handed the
// server's handler; through any other writer (a control request's, a truncate fault's
// buffer) it does nothing. The id rides on the writer, which the pipeline allocates
// anyway, so journaling costs no allocation more than it did.
func MarkStub(w http.ResponseWriter, id string) {
	if sw, ok := w.(*statusWriter); ok && sw.journaled {
		sw.stub = id
	}
}

// maxErrorBody is how much of an error answer an observer sees: the error code is near
// the start of every error body the mocks write.
const maxErrorBody = 4 << 10

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(p []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	if s.capture && s.status >= 400 && len(s.body) < maxErrorBody {
		s.body = append(s.body, p[:min(len(p), maxErrorBody-len(s.body))]...)
	}
	return s.ResponseWriter.Write(p)
}

func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Mount adds the common control routes to r and returns the /_mock subrouter, guarded by
// the loopback/token check, for the server's own control routes.
func (c *Control) Mount(r *mux.Router) *mux.Router {
	return Mount(r, func(*http.Request) *Control { return c })
}

// Mount adds the common control routes to r, each answering for the Control that of
// returns for the request, and returns the /_mock subrouter, guarded by that Control's
// loopback/token check. A router built this way once per process serves every server
// of a kind (of reads the server from the request's context): compiling gorilla/mux's
// route regexps per server was most of the cost of a mock stack.
func Mount(r *mux.Router, of func(*http.Request) *Control) *mux.Router {
	// The probes answer anyone, with no token and whatever the Host: a kubelet or a load
	// balancer calls them by the pod's address, and they tell nothing but that the
	// server answers (live) and is not shutting down (ready).
	r.HandleFunc(Prefix+"/live", func(w http.ResponseWriter, _ *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]string{"status": "live"})
	}).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc(Prefix+"/ready", func(w http.ResponseWriter, r *http.Request) {
		if of(r).stopping.Load() {
			WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "stopping"})
			return
		}
		WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	}).Methods(http.MethodGet, http.MethodHead)
	sub := r.PathPrefix(Prefix).Subrouter()
	sub.Use(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if of(r).allowed(w, r) {
				next.ServeHTTP(w, r)
			}
		})
	})
	// on adapts a method of the request's Control to a handler.
	on := func(f func(*Control, http.ResponseWriter, *http.Request)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { f(of(r), w, r) }
	}
	sub.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}).Methods(http.MethodGet)
	// Metrics are control data (what clients did, which tokens were issued): they need
	// the control token like every other control route.
	sub.HandleFunc("/metrics", on(func(c *Control, w http.ResponseWriter, r *http.Request) {
		h := c.metrics.Load()
		if h == nil {
			WriteError(w, http.StatusNotFound, "metrics are served by a standalone mock (vbharness mock) only")
			return
		}
		(*h).ServeHTTP(w, r)
	})).Methods(http.MethodGet)
	sub.HandleFunc("/clock", on((*Control).getClock)).Methods(http.MethodGet)
	sub.HandleFunc("/clock/advance", on((*Control).advanceClock)).Methods(http.MethodPost)
	sub.HandleFunc("/requests", on((*Control).listRequests)).Methods(http.MethodGet)
	sub.HandleFunc("/requests", on(func(c *Control, w http.ResponseWriter, _ *http.Request) {
		c.Settle()
		c.o.Journal.Clear()
		w.WriteHeader(http.StatusNoContent)
	})).Methods(http.MethodDelete)
	sub.HandleFunc("/faults", on(func(c *Control, w http.ResponseWriter, _ *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]any{"faults": c.o.Faults.List()})
	})).Methods(http.MethodGet)
	sub.HandleFunc("/faults", on((*Control).addFault)).Methods(http.MethodPost)
	sub.HandleFunc("/faults", on(func(c *Control, w http.ResponseWriter, _ *http.Request) {
		c.o.Faults.Clear()
		w.WriteHeader(http.StatusNoContent)
	})).Methods(http.MethodDelete)
	sub.HandleFunc("/faults/{id}", on(func(c *Control, w http.ResponseWriter, r *http.Request) {
		if !c.o.Faults.Remove(mux.Vars(r)["id"]) {
			WriteError(w, http.StatusNotFound, "no fault with id "+strconv.Quote(mux.Vars(r)["id"]))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})).Methods(http.MethodDelete)
	sub.HandleFunc("/reset", on(func(c *Control, w http.ResponseWriter, _ *http.Request) {
		c.Reset()
		WriteJSON(w, http.StatusOK, map[string]string{"status": "reset"})
	})).Methods(http.MethodPost)
	return sub
}

// allowed applies the control API's guard to r: the Host must be the mock's own, no
// other origin, JSON for a state change, the control token or a loopback caller. It
// answers the refusal itself and reports false.
func (c *Control) allowed(w http.ResponseWriter, r *http.Request) bool {
	if !c.ownHost(r.Host) {
		WriteError(w, http.StatusForbidden, fmt.Sprintf("the control API answers only requests addressed to the mock itself "+
			"(localhost, a loopback address or a name given with --hostname), not Host %q; if that name is really the mock's, "+
			"start it with --hostname", r.Host))
		return false
	}
	if origins := r.Header.Values("Origin"); len(origins) > 0 && (len(origins) > 1 || !sameOrigin(origins[0], r)) {
		WriteError(w, http.StatusForbidden, fmt.Sprintf("the control API refuses calls made by web pages of other origins "+
			"(Origin %q); call it from a script, a test or curl", strings.Join(origins, ", ")))
		return false
	}
	if needsJSON(r.Method) && (r.ContentLength != 0 || fromBrowser(r)) {
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
			WriteError(w, http.StatusUnsupportedMediaType, fmt.Sprintf("a control call that changes state must send "+
				"Content-Type: application/json, not %q: a web page cannot send that to another site without the "+
				"browser asking first", r.Header.Get("Content-Type")))
			return false
		}
	}
	if c.o.Token != "" {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(c.o.Token)) != 1 {
			WriteError(w, http.StatusUnauthorized, "the control API needs Authorization: Bearer <control token>")
			return false
		}
	} else if !IsLoopback(r.RemoteAddr) {
		WriteError(w, http.StatusForbidden, "the control API answers loopback callers only; start the mock with --control-token to allow others")
		return false
	}
	return true
}

// AllowedMethods returns, for the Allow header of a 405, the methods router serves at
// r's path ("GET, HEAD, POST"), found by matching the path with each method. It costs a
// few route matches, so it is for the 405 path only.
func AllowedMethods(router *mux.Router, r *http.Request) string {
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions} {
		probe := *r
		probe.Method = m
		var match mux.RouteMatch
		if router.Match(&probe, &match) && match.MatchErr == nil {
			allowed = append(allowed, m)
		}
	}
	return strings.Join(allowed, ", ")
}

// IsLoopback reports whether a RemoteAddr is on the loopback interface.
func IsLoopback(remoteAddr string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (c *Control) getClock(w http.ResponseWriter, _ *http.Request) {
	WriteJSON(w, http.StatusOK, ClockState{Now: c.o.Clock.Now().Format(time.RFC3339Nano), Virtual: c.o.Clock.IsVirtual()})
}

// ClockState is the body of GET /_mock/clock and POST /_mock/clock/advance.
type ClockState struct {
	Now     string `json:"now"`
	Virtual bool   `json:"virtual"`
}

func (c *Control) advanceClock(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Duration string `json:"duration"`
	}
	if !DecodeJSON(w, r, &body) {
		return
	}
	d, err := time.ParseDuration(body.Duration)
	if err != nil || d < 0 {
		WriteError(w, http.StatusBadRequest, fmt.Sprintf("duration %q is not a non-negative Go duration such as \"61m\" (at most \"2562047h\")", body.Duration))
		return
	}
	now, err := c.o.Clock.TryAdvance(d)
	if err != nil {
		WriteError(w, http.StatusBadRequest, err.Error()+"; restart the mock for a fresh clock (on a new --state-dir, if it keeps its state)")
		return
	}
	WriteJSON(w, http.StatusOK, ClockState{Now: now.Format(time.RFC3339Nano), Virtual: c.o.Clock.IsVirtual()})
}

func (c *Control) listRequests(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := journal.Filter{Method: q.Get("method"), Path: q.Get("path"), Field: q.Get("field"), Value: q.Get("value")}
	if s := q.Get("since"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			WriteError(w, http.StatusBadRequest, "since must be a sequence number")
			return
		}
		f.Since = n
	}
	c.Settle()
	WriteJSON(w, http.StatusOK, map[string]any{"requests": c.o.Journal.List(f)})
}

func (c *Control) addFault(w http.ResponseWriter, r *http.Request) {
	var rule faults.Rule
	if !DecodeJSON(w, r, &rule) {
		return
	}
	added, err := c.o.Faults.Add(rule)
	if err != nil {
		WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	WriteJSON(w, http.StatusCreated, added)
}

// WriteJSON writes v as JSON with status. <, > and & are written as they are: the
// bodies are for programs and people at a terminal, never HTML.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	var b []byte
	if err := enc.Encode(v); err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"encode response"}`)
	} else {
		b = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// WriteError writes the control API's error shape: {"error":"<message>"}.
func WriteError(w http.ResponseWriter, status int, msg string) {
	WriteJSON(w, status, map[string]string{"error": msg})
}

// ErrBadBody marks a control request body that could not be decoded.
var ErrBadBody = errors.New("bad control request body")

// DecodeJSON decodes a control request body into v (unknown fields refused, an empty body
// allowed), writing a 400 and returning false on failure.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(r.Body) // bounded: the pipeline has already read it, up to MaxBody
	if err != nil {
		WriteError(w, http.StatusBadRequest, fmt.Sprintf("%v: %v", ErrBadBody, err))
		return false
	}
	// encoding/json would quietly turn invalid UTF-8 into U+FFFD, storing names nobody
	// sent; JSON must be UTF-8 (RFC 8259 §8.1).
	if !utf8.Valid(body) {
		WriteError(w, http.StatusBadRequest, fmt.Sprintf("%v: it is not valid UTF-8", ErrBadBody))
		return false
	}
	// encoding/json matches names regardless of case ("accessTokenLifeTime" would set
	// accessTokenLifetime); every field must be spelt as documented, and a near miss is
	// named.
	if e := configfile.CheckJSON(body, v); e != nil {
		WriteError(w, http.StatusBadRequest, fmt.Sprintf("%v: %s; %s", ErrBadBody, e.Msg, e.Fix))
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		WriteError(w, http.StatusBadRequest, fmt.Sprintf("%v: %v", ErrBadBody, err))
		return false
	}
	return true
}
