package veeam

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/gorilla/mux"

	"github.com/vbharness/vbharness/mocks/control"
	"github.com/vbharness/vbharness/mocks/veeam/spec"
)

// routeNode is one segment of a route tree. Routing is case-insensitive (clients call
// both /v8/token and /v8/Token, veeam.md §1.1): literal segments compare with
// strings.EqualFold, and literals that differ only in case share a node (the document
// spells the same segment /organization/ under some restore session paths and
// /Organization/ under others). A variable segment matches any non-empty segment; a
// literal wins over a variable, with backtracking. A trailing slash is ignored. No
// regular expression and no allocation when the path has no variables.
type routeNode struct {
	canon  string       // the literal as first registered
	lits   []*routeNode // literal children
	param  *routeNode   // a {variable} child
	routes []*route     // the routes ending here, sorted by method
	allow  string       // their methods, for the Allow header of a 405
}

// route is one method at a leaf: an operation of the document (op set), a control route
// (served by the control router after the path is rewritten to its canonical spelling),
// or the document itself (/swagger/docs/v8).
type route struct {
	method   string
	template string   // the canonical template, e.g. "/v8/Jobs/{jobId}"
	params   []string // the template's variables, in order
	*operation
}

// add registers a route under its template.
func (n *routeNode) add(rt *route) {
	rt.template = strings.TrimRight(rt.template, "/")
	for _, seg := range strings.Split(strings.TrimPrefix(rt.template, "/"), "/") {
		if name, ok := strings.CutPrefix(seg, "{"); ok {
			rt.params = append(rt.params, strings.TrimSuffix(name, "}"))
			if n.param == nil {
				n.param = &routeNode{}
			}
			n = n.param
			continue
		}
		var next *routeNode
		for _, c := range n.lits {
			if strings.EqualFold(c.canon, seg) {
				next = c
			}
		}
		if next == nil {
			next = &routeNode{canon: seg}
			n.lits = append(n.lits, next)
		}
		n = next
	}
	n.routes = append(n.routes, rt)
	slices.SortFunc(n.routes, func(a, b *route) int { return strings.Compare(a.method, b.method) })
	methods := make([]string, len(n.routes))
	for i, r := range n.routes {
		methods[i] = r.method
	}
	n.allow = strings.Join(methods, ", ")
}

// route returns the route for method at this leaf, or nil.
func (n *routeNode) route(method string) *route {
	for _, r := range n.routes {
		if r.method == method {
			return r
		}
	}
	return nil
}

// maxParams bounds the variables of one template (the document's deepest has 5).
const maxParams = 8

// match is a resolved path: its leaf and the values of its variables, in order.
type match struct {
	leaf   *routeNode
	values [maxParams]string
	n      int
}

// resolve matches path, as it is on the wire (URL.EscapedPath, so an encoded "/" in a
// name stays in its segment), a trailing slash dropped, and reports whether a leaf
// matched. The variables' values are unescaped.
func (n *routeNode) resolve(path string, m *match) bool {
	if len(path) > 1 && path[len(path)-1] == '/' {
		path = path[:len(path)-1]
	}
	if !strings.HasPrefix(path, "/") {
		return false
	}
	m.n = 0
	m.leaf = n.lookup(path[1:], m)
	return m.leaf != nil
}

func (n *routeNode) lookup(rest string, m *match) *routeNode {
	if rest == "" {
		if n.routes != nil {
			return n
		}
		return nil
	}
	seg, tail, _ := strings.Cut(rest, "/")
	lit := seg
	if strings.IndexByte(seg, '%') >= 0 {
		// ASP.NET Core decodes a path's escapes before routing, but for %2F: /v8/%4Aobs is
		// /v8/Jobs, and /v8/Jobs%2F names no route.
		if v, err := url.PathUnescape(seg); err == nil && !strings.Contains(v, "/") {
			lit = v
		}
	}
	for _, c := range n.lits {
		if strings.EqualFold(c.canon, lit) {
			if leaf := c.lookup(tail, m); leaf != nil {
				return leaf
			}
		}
	}
	if n.param != nil && seg != "" && m.n < maxParams {
		if v, err := url.PathUnescape(seg); err == nil {
			seg = v // a%2Fb is the name a/b; no allocation without a '%'
		}
		m.values[m.n] = seg
		m.n++
		if leaf := n.param.lookup(tail, m); leaf != nil {
			return leaf
		}
		m.n--
	}
	return nil
}

// fillPath writes a template with values for its variables, each percent-encoded as a
// path segment (RFC 3986 §3.3): the canonical spelling of a request path, an item's key
// and its self link. A folder named "a/b" is …/folders/a%2Fb; GUIDs are unchanged.
func fillPath(template string, values []string) string {
	var buf [maxParams]string
	esc := buf[:0]
	for _, v := range values {
		esc = append(esc, url.PathEscape(v)) // v itself, without allocating, when nothing needs escaping
	}
	return fillTemplate(template, esc)
}

// fillTemplate writes a template with values for its variables, as they are.
func fillTemplate(template string, values []string) string {
	if !strings.Contains(template, "{") {
		return template
	}
	var b strings.Builder
	b.Grow(len(template) + 40*len(values))
	i := 0
	for {
		open := strings.IndexByte(template, '{')
		if open < 0 {
			b.WriteString(template)
			return b.String()
		}
		end := strings.IndexByte(template[open:], '}')
		b.WriteString(template[:open])
		if i < len(values) {
			b.WriteString(values[i])
		}
		i++
		template = template[open+end+1:]
	}
}

// controlTree builds the tree of the control router's routes (the /_mock/ API), which
// routes by itself once the path is canonical; the tree gives it case-insensitive paths
// and 405s with Allow (gorilla/mux v1.8.1 loses method mismatches inside subrouters and
// answers 404).
func controlTree(r *mux.Router) *routeNode {
	root := &routeNode{}
	_ = r.Walk(func(rt *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := rt.GetPathTemplate()
		if err != nil {
			return nil
		}
		methods, err := rt.GetMethods()
		if err != nil {
			return nil
		}
		for _, m := range methods {
			root.add(&route{method: m, template: tpl})
		}
		return nil
	})
	return root
}

// serveControl rewrites a control path to its canonical spelling and hands it to the
// control router, or answers 404/405 itself. The journal, recorded earlier in the
// pipeline, keeps nothing of control requests.
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	router, tree := controlRoutes()
	var m match
	rt := s.resolve(tree, w, r, &m)
	if rt == nil {
		return
	}
	if canon := fillTemplate(rt.template, m.values[:m.n]); canon != r.URL.Path {
		u := *r.URL
		u.Path, u.RawPath = canon, ""
		r = r.WithContext(r.Context()) // shallow copy; the caller's request is not changed
		r.URL = &u
	}
	router.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), serverKey{}, s)))
}

// serverKey is the context key under which a control request carries its Server.
type serverKey struct{}

// self is the Server a control request is for (serveControl put it in the context).
func self(r *http.Request) *Server { return r.Context().Value(serverKey{}).(*Server) }

// controlRoutes is the control API's router and its route tree, built once per process:
// its handlers find their Server with self, and gorilla/mux's route regexps are
// compiled once instead of once per server.
var controlRoutes = sync.OnceValues(func() (*mux.Router, *routeNode) {
	r := mux.NewRouter()
	sub := control.Mount(r, func(req *http.Request) *control.Control { return self(req).ctl })
	mountControlAPI(sub)
	notFound := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { self(req).notFound(w, req) })
	for _, rt := range []*mux.Router{r, sub} { // mux subrouters do not inherit it
		rt.NotFoundHandler = notFound
	}
	return r, controlTree(r)
})

// resolve finds the route of r in tree, or answers 404 (unknown path) or 405 (a method
// the path lacks, with Allow) and returns nil.
func (s *Server) resolve(tree *routeNode, w http.ResponseWriter, r *http.Request, m *match) *route {
	if !tree.resolve(r.URL.EscapedPath(), m) {
		s.notFound(w, r)
		return nil
	}
	rt := m.leaf.route(r.Method)
	if rt == nil {
		s.methodNotAllowed(w, r, m.leaf.allow)
	}
	return rt
}

// Match returns the document's operation that answers method on path, routed as the mock
// routes (case-insensitive literals, a literal before a variable, a trailing slash
// ignored), and the path's variables by the template's names; nil when no operation of
// the document matches (the control API, /swagger/docs/v8, an unknown path or method).
// path is as on the wire (URL.EscapedPath). The contract checker (mocks/contract) and the
// mock share this one router, so both agree on which operation a request is.
func Match(method, path string) (*spec.Operation, map[string]string) {
	var m match
	if !table().tree.resolve(path, &m) {
		return nil, nil
	}
	rt := m.leaf.route(method)
	if rt == nil || rt.operation == nil || rt.op == nil {
		return nil, nil
	}
	vars := make(map[string]string, m.n)
	for i, v := range m.values[:m.n] {
		vars[rt.params[i]] = v
	}
	return rt.op, vars
}
