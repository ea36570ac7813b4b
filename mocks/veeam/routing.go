package veeam

import (
	"net/http"
	"slices"
	"strings"

	"github.com/gorilla/mux"
)

// routeNode is one segment of the route table, built once from the mux routes. It
// makes routing case-insensitive (clients call both /v8/token and /v8/Token, veeam.md
// §1.1) and answers 405 with the methods a path allows: request paths are rewritten to
// the canonical spelling before mux sees them, with no regexp and no allocation when the
// spelling is already canonical.
type routeNode struct {
	canon   string       // the literal segment as registered
	lits    []*routeNode // literal children, compared with strings.EqualFold
	param   *routeNode   // a {variable} child
	methods []string     // set when a route ends here
}

// buildRouteTree walks the router's routes. Routes without methods (path prefixes) are
// skipped.
func buildRouteTree(r *mux.Router) *routeNode {
	root := &routeNode{}
	_ = r.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := route.GetPathTemplate()
		if err != nil {
			return nil
		}
		methods, err := route.GetMethods()
		if err != nil {
			return nil
		}
		n := root
		for _, seg := range strings.Split(strings.Trim(tpl, "/"), "/") {
			n = n.child(seg)
		}
		for _, m := range methods {
			if !slices.Contains(n.methods, m) {
				n.methods = append(n.methods, m)
			}
		}
		slices.Sort(n.methods)
		return nil
	})
	return root
}

func (n *routeNode) child(seg string) *routeNode {
	if strings.HasPrefix(seg, "{") {
		if n.param == nil {
			n.param = &routeNode{}
		}
		return n.param
	}
	for _, c := range n.lits {
		if c.canon == seg {
			return c
		}
	}
	c := &routeNode{canon: seg}
	n.lits = append(n.lits, c)
	return c
}

// lookup matches the rest of a path (no leading slash), preferring literals and
// backtracking to variables. exact reports that every literal was already spelled
// canonically.
func (n *routeNode) lookup(rest string) (leaf *routeNode, exact bool) {
	if rest == "" {
		if n.methods != nil {
			return n, true
		}
		return nil, false
	}
	seg, tail, _ := strings.Cut(rest, "/")
	for _, c := range n.lits {
		if strings.EqualFold(c.canon, seg) {
			if leaf, ex := c.lookup(tail); leaf != nil {
				return leaf, ex && c.canon == seg
			}
		}
	}
	if n.param != nil && seg != "" {
		return n.param.lookup(tail)
	}
	return nil, false
}

// write appends the canonical spelling of rest (which lookup matched) to b.
func (n *routeNode) write(rest string, b *strings.Builder) bool {
	if rest == "" {
		return n.methods != nil
	}
	seg, tail, _ := strings.Cut(rest, "/")
	l := b.Len()
	for _, c := range n.lits {
		if strings.EqualFold(c.canon, seg) {
			b.WriteByte('/')
			b.WriteString(c.canon)
			if c.write(tail, b) {
				return true
			}
			resetTo(b, l)
		}
	}
	if n.param != nil && seg != "" {
		b.WriteByte('/')
		b.WriteString(seg)
		if n.param.write(tail, b) {
			return true
		}
		resetTo(b, l)
	}
	return false
}

func resetTo(b *strings.Builder, l int) {
	s := b.String()[:l]
	b.Reset()
	b.WriteString(s)
}

// resolve returns the canonical spelling of path and its route, or ("", nil) when no
// route matches. A trailing slash is dropped.
func (n *routeNode) resolve(path string) (string, *routeNode) {
	trimmed := path
	if len(trimmed) > 1 && strings.HasSuffix(trimmed, "/") {
		trimmed = trimmed[:len(trimmed)-1]
	}
	if !strings.HasPrefix(trimmed, "/") {
		return "", nil
	}
	leaf, exact := n.lookup(trimmed[1:])
	if leaf == nil {
		return "", nil
	}
	if exact {
		return trimmed, leaf
	}
	var b strings.Builder
	b.Grow(len(trimmed))
	n.write(trimmed[1:], &b)
	return b.String(), leaf
}

// canonicalize rewrites the request path to the registered spelling before mux routes
// it, and answers 405 itself for a known path with a method no route serves there
// (gorilla/mux v1.8.1 loses method mismatches inside subrouters and answers 404). The
// journal, recorded earlier in the pipeline, keeps the path as sent.
func (s *Server) canonicalize(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		canon, leaf := s.routes.resolve(r.URL.Path)
		if leaf != nil && !slices.Contains(leaf.methods, r.Method) {
			s.methodNotAllowed(w, r, leaf)
			return
		}
		if leaf != nil && canon != r.URL.Path {
			u := *r.URL
			u.Path, u.RawPath = canon, ""
			r = r.WithContext(r.Context()) // shallow copy; the caller's request is not changed
			r.URL = &u
		}
		next.ServeHTTP(w, r)
	})
}
