package veeam

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vbharness/vbharness/mocks/control"
	"github.com/vbharness/vbharness/mocks/veeam/spec"
)

// request is what a handler gets: the HTTP request, its route and path variables, the
// caller's session, the request's one clock reading, the query as the document spells
// it and the body.
type request struct {
	*http.Request
	server *Server
	route  *route
	values []string  // the path's variables, in the template's order
	sess   *session  // nil for anonymous operations
	now    time.Time // read once per request
	query  url.Values
	body   []byte
}

// param returns a path variable by name ("" if the template has none of that name).
func (rq *request) param(name string) string {
	for i, p := range rq.route.params {
		if p == name && i < len(rq.values) {
			return rq.values[i]
		}
	}
	return ""
}

// canonicalPath is the request's path as the document spells it, for links.
func (rq *request) canonicalPath() string { return fillPath(rq.route.template, rq.values) }

// serve is the server's handler behind the pipeline (journal, faults): the control API
// under /_mock/, then the stubs (stubs.go), everything else by the document's routes.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if isControlPath(r.URL.Path) {
		s.serveControl(w, r)
		return
	}
	if s.stubs.n.Load() > 0 && s.serveStub(w, r) {
		return
	}
	var m match
	rt := s.resolve(table().tree, w, r, &m)
	if rt == nil {
		return
	}
	control.SetRoute(r, rt.template) // the metrics' route label: the template, never the raw path
	// One clock reading per request, at .NET's resolution (100 ns ticks), so every time
	// the mock writes has at most seven fractional digits, as a real server's.
	now := s.clk.Now().Truncate(100 * time.Nanosecond)
	rq := &request{Request: r, server: s, route: rt, values: m.values[:m.n], now: now}
	var status int
	var body any
	var e *apiError
	if s.p == nil {
		s.timeline.settle(s, now) // long-running work due by now shows it first
		status, body, e = s.handle(rq)
	} else {
		status, body, e = s.handleSaved(rq) // the same, with the changes committed
	}
	s.write(w, rq, status, body, e)
}

// handle runs one request through the table's decision, in the order a real server
// checks: authentication (401), access (403), the request against the document (400),
// the items the path names (404), then the handler. Unknown paths and methods were
// answered before (404, 405), so a v7 path is 404 even without a token (veeam.md §3).
func (s *Server) handle(rq *request) (int, any, *apiError) {
	rt := rq.route
	if rt.who != 0 {
		sess, xsrf, ok := s.sessions.access(bearerToken(rq.Request), rq.now)
		if !ok {
			return 0, nil, errUnauthorized
		}
		if xsrf != "" {
			if set := s.settings.get(); set.Antiforgery == AntiforgeryEnforce && !antiforgeryPresented(rq.Request, set, xsrf) {
				return 0, nil, antiforgeryMissing(set, "access token")
			}
		}
		rq.sess = sess
		if !rt.who.has(sess.kind) && !(s.mut.IgnoreTenantScope && rt.who&admins != 0) {
			return 0, nil, refusal(rt.who, sess.kind)
		}
	}
	if rq.Body != nil && rq.Body != http.NoBody {
		b, err := io.ReadAll(rq.Body) // bounded: the pipeline has read it already, up to 1 MiB
		if err != nil {
			return 0, nil, badParam("The request body could not be read.")
		}
		rq.body = b
	}
	if rt.op == nil || rt.oauth {
		return rt.handle(s, rq)
	}
	if rq.URL.RawQuery != "" {
		rq.query = rt.op.NormalizeQuery(rq.URL.Query())
	}
	if rt.mustValidate(rq) {
		vars := make(map[string]string, len(rq.values))
		for i, v := range rq.values {
			vars[rt.params[i]] = v
		}
		if err := rt.op.ValidateRequest(rq.Request, vars, rq.query, rq.body); err != nil {
			return 0, nil, badParam("%s", err.Error())
		}
	}
	for _, a := range rt.ancestors {
		if _, ok := s.world.get(fillPath(a.c.item, rq.values[:a.vars])); !ok {
			return 0, nil, a.c.notFound(rq.values[a.vars-1])
		}
	}
	if rt.own && rq.sess.kind != kindAdmin && !s.mut.IgnoreRestoreSessionOwner {
		if e := s.ownsRestoreSession(rq); e != nil {
			return 0, nil, e
		}
	}
	if rt.mounted {
		if e := s.mountedSession(rq); e != nil {
			return 0, nil, e
		}
	}
	return rt.handle(s, rq)
}

// mustValidate reports whether the request has anything to check: an operation without
// path variables, required query parameters or a body, called without a query or a
// body, is valid as it is (the hot path of GET /v8/Organizations).
func (o *operation) mustValidate(rq *request) bool {
	if len(rq.values) > 0 || rq.query != nil || len(rq.body) > 0 || o.op.Body != nil {
		return true
	}
	for _, p := range o.op.QueryParams {
		if p.Required {
			return true
		}
	}
	return false
}

// refusal is the 403 for a valid token of the wrong kind (veeam.md §4.4 [I]): it says
// who the operation is for, what the caller is, and what a caller of that kind may
// call, all read from the one table (operations.go).
func refusal(who callers, k principalKind) *apiError {
	return accessDenied("Access denied: this operation is for %s, and this token is %s. %s", who, kindName(k), reachOf(k))
}

// String names a set of callers in words: "administrators", "tenant users and restore
// operators".
func (c callers) String() string {
	var names []string
	for _, n := range []struct {
		c    callers
		name string
	}{{admins, "administrators"}, {tenants, "tenant users"}, {operators, "restore operators"}} {
		if c&n.c != 0 {
			names = append(names, n.name)
		}
	}
	switch len(names) {
	case 0:
		return "anyone"
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// kindName is the possessive a refusal calls a token by.
func kindName(k principalKind) string {
	switch k {
	case kindAdmin:
		return "an administrator's"
	case kindTenant:
		return "a tenant user's"
	}
	return "a restore operator's"
}

// reachOf says what a caller of kind k may call, from the table: for administrators,
// the paths they may not call; for tenants and operators, the paths they may (their own
// restore sessions' subtree summed up, logout left out: every token may log out).
var reachOf = func() func(principalKind) string {
	var once sync.Once
	var text map[principalKind]string
	return func(k principalKind) string {
		once.Do(func() {
			text = map[principalKind]string{}
			for _, kind := range []principalKind{kindAdmin, kindTenant, kindOperator} {
				var paths []string
				for _, rt := range table().order {
					if rt.who == 0 || rt.own || rt.op.ID == "logout" || rt.who.has(kind) == (kind == kindAdmin) {
						continue
					}
					if !slices.Contains(paths, rt.template) {
						paths = append(paths, rt.template)
					}
				}
				if kind == kindAdmin {
					text[kind] = "An administrator may call every operation except " + strings.Join(paths, ", ") + "."
					continue
				}
				text[kind] = "A " + strings.TrimSuffix(strings.TrimPrefix(kindName(kind), "a "), "'s") + " may call only " + strings.Join(paths, ", ") + " and the operations of its own restore sessions."
			}
		})
		return text[k]
	}
}()

// bearerToken returns the token of an `Authorization: Bearer` header ("" if none).
func bearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "Bearer ") {
		return ""
	}
	return strings.TrimSpace(h[7:])
}

// binary is a response body in a media type other than JSON; a name makes it an
// attachment of that file name (Content-Disposition).
type binary struct {
	media string
	data  []byte
	name  string
}

// headered is a body that sets headers of its own (the token endpoint's).
type headered interface {
	setHeaders(h http.Header)
}

// write is the one writer of every answer of the API: an error in the service's shape
// (writeError), no body (204 and the like), a binary body, or JSON.
func (s *Server) write(w http.ResponseWriter, rq *request, status int, body any, e *apiError) {
	if e != nil {
		style := ""
		if rq.route.oauth {
			style = s.settings.get().ErrorStyle
		}
		writeError(w, style, e)
		return
	}
	h := w.Header()
	if hb, ok := body.(headered); ok {
		hb.setHeaders(h)
	}
	if set := s.settings.get(); set.hasQuirks() && !rq.route.oauth {
		body = withQuirks(set.quirks(), body)
	}
	switch b := body.(type) {
	case nil:
		w.WriteHeader(status)
	case binary:
		h.Set("Content-Type", b.media)
		h.Set("Content-Length", strconv.Itoa(len(b.data)))
		if b.name != "" {
			h.Set("Content-Disposition", `attachment; filename="`+b.name+`"`)
		}
		w.WriteHeader(status)
		_, _ = w.Write(b.data)
	case rawJSON:
		h.Set("Content-Type", "application/json; charset=utf-8")
		h.Set("Content-Length", strconv.Itoa(len(b)))
		w.WriteHeader(status)
		_, _ = w.Write(b)
	case pooledJSON:
		defer release(b.buf)
		h.Set("Content-Type", "application/json; charset=utf-8")
		h.Set("Content-Length", strconv.Itoa(b.buf.Len()))
		w.WriteHeader(status)
		_, _ = w.Write(b.buf.Bytes())
	default:
		writeJSON(w, status, b)
	}
}

// bufPool recycles encoding buffers; responses are small, so a pooled buffer rarely
// grows.
var bufPool = sync.Pool{New: func() any { return bytes.NewBuffer(make([]byte, 0, 4096)) }}

// encode writes v as JSON into a pooled buffer, without HTML escaping, so hrefs keep a
// plain "&" and messages their "<" and ">", as .NET writes them. The caller returns the
// buffer with release.
func encode(v any) (*bytes.Buffer, error) {
	buf := bufPool.Get().(*bytes.Buffer)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		release(buf)
		return nil, err
	}
	buf.Truncate(buf.Len() - 1) // Encode's trailing newline
	return buf, nil
}

func release(buf *bytes.Buffer) {
	if buf.Cap() <= 64<<10 {
		buf.Reset()
		bufPool.Put(buf)
	}
}

// marshal is encode for callers that keep the bytes.
func marshal(v any) ([]byte, error) {
	buf, err := encode(v)
	if err != nil {
		return nil, err
	}
	defer release(buf)
	return bytes.Clone(buf.Bytes()), nil
}

// writeJSON writes a success body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	buf, err := encode(v)
	if err != nil {
		writeError(w, "", &apiError{Status: http.StatusInternalServerError, Message: "The response could not be encoded."})
		return
	}
	defer release(buf)
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// swaggerPath is where the mock serves the document. Real servers serve Swagger UI at
// /swagger/ui/index/index.html and served the v5 document at /swagger/docs/v5
// (veeam.md §5 [C]); /swagger/docs/v8 follows that pattern and is assumed [I].
const swaggerPath = "/swagger/docs/v8"

// swagger is GET /swagger/docs/v8 (anonymous): the embedded document, byte for byte.
func (s *Server) swagger(*request) (int, any, *apiError) {
	return http.StatusOK, rawJSON(spec.JSON()), nil
}

// isControlPath reports whether p is under the control API.
func isControlPath(p string) bool {
	return p == control.Prefix || strings.HasPrefix(p, control.Prefix+"/")
}
