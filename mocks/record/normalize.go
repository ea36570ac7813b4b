package record

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/vbharness/vbharness/mocks/secret"
	"github.com/vbharness/vbharness/mocks/veeam"
)

// rstub is a stub on its way to a file: the stub, its place in the recording, and its
// body decoded (JSON) or as text, until finish encodes it.
type rstub struct {
	veeam.Stub
	seq     int
	isJSON  bool
	jv      any    // the JSON body (json.Number numbers)
	text    string // a body that is not JSON
	hasBody bool
}

// volatile are response headers a recording drops: they differ on every answer (dates,
// ids that correlate one request), describe the connection rather than the answer, or
// the mock writes itself. Secret headers (secret.IsHeader) are dropped too.
var volatile = map[string]bool{
	"date": true, "server": true, "content-length": true, "transfer-encoding": true,
	"connection": true, "keep-alive": true, "set-cookie": true, "trailer": true,
	"upgrade": true, "age": true, "expires": true, "last-modified": true, "etag": true,
	"x-powered-by": true, "x-aspnet-version": true, "x-aspnetmvc-version": true,
	"strict-transport-security": true, "alt-svc": true, "traceparent": true, "tracestate": true,
	"vary": true, "cache-control": true, "pragma": true,
}

// isVolatile reports whether a response header is left out of a recording.
func isVolatile(name string) bool {
	l := strings.ToLower(name)
	return volatile[l] || secret.IsHeader(name) ||
		strings.Contains(l, "request-id") || strings.Contains(l, "correlation") ||
		strings.Contains(l, "trace-id") || strings.HasPrefix(l, "x-vbharness") || strings.HasPrefix(l, "x-mock")
}

// redacted replaces the value of a secret-named field in a recording: the credential
// marker, so that a recording does not change with each run's tokens.
var redacted = secret.Redact("x")

// prepare turns an entry into a stub: secrets out of the path, query, headers and body,
// volatile headers dropped, the body decoded for anonymisation and encoding.
func (r *Recorder) prepare(e entry) rstub {
	st := rstub{seq: e.seq}
	st.Method = e.method
	st.Path = r.scrub.Scrub(e.path)
	st.Status = e.status
	st.ID = fmt.Sprintf("r%04d", e.seq)

	q := map[string]string{}
	seen := map[string]bool{}
	for _, k := range slices.Sorted(maps.Keys(e.query)) {
		l := strings.ToLower(k)
		if k == "" || secret.IsField(k) || seen[l] || len(e.query[k]) == 0 {
			continue
		}
		seen[l] = true
		v := e.query[k][0]
		if r.scrub.Scrub(v) != v {
			continue // a secret: a stub must not match on it, and it must not be written
		}
		q[k] = v
	}
	if len(q) > 0 {
		st.Match = &veeam.StubMatch{Query: q}
	}

	for k, vs := range e.header {
		if isVolatile(k) || len(vs) == 0 {
			continue
		}
		if st.Headers == nil {
			st.Headers = map[string]string{}
		}
		st.Headers[http.CanonicalHeaderKey(k)] = r.scrub.Scrub(vs[0])
	}

	if len(e.body) > 0 {
		st.hasBody = true
		if e.json {
			dec := json.NewDecoder(bytes.NewReader(e.body))
			dec.UseNumber()
			var v any
			if dec.Decode(&v) == nil {
				st.isJSON, st.jv = true, r.redactJSON(v, false)
			}
		}
		if !st.isJSON {
			st.text = r.scrub.Scrub(string(e.body))
		}
	}
	return st
}

// redactJSON replaces the values of secret-named fields, at any depth, by a marker, and
// scrubs every other string.
func (r *Recorder) redactJSON(v any, hide bool) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = r.redactJSON(e, hide || secret.IsField(k))
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = r.redactJSON(e, hide)
		}
		return x
	case string:
		if hide {
			return redacted
		}
		return r.scrub.Scrub(x)
	case nil:
		return nil
	default:
		if hide {
			return redacted
		}
		return x
	}
}

// finish encodes the stub's body: JSON with sorted keys and without HTML escaping (the
// same value gives the same bytes), text as a JSON string. A JSON string body is kept as
// its JSON text, which the mock sends as text, with the recorded Content-Type.
func (st *rstub) finish() {
	st.Body = nil
	if !st.hasBody {
		return
	}
	if st.isJSON {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(st.jv) // a decoded value always encodes
		b := bytes.TrimRight(buf.Bytes(), "\n")
		if _, isString := st.jv.(string); isString {
			b, _ = json.Marshal(string(b))
			if st.Headers["Content-Type"] == "" {
				st.setHeader("Content-Type", "application/json; charset=utf-8")
			}
		}
		st.Body = b
		return
	}
	st.Body, _ = json.Marshal(st.text)
}

func (st *rstub) setHeader(k, v string) {
	if st.Headers == nil {
		st.Headers = map[string]string{}
	}
	st.Headers[k] = v
}

// queryKey is the stub's query match as one string: names lower case, sorted.
func (st *rstub) queryKey() string {
	if st.Match == nil {
		return ""
	}
	var b strings.Builder
	for _, k := range sortedKeys(st.Match.Query) {
		fmt.Fprintf(&b, "%s=%s&", strings.ToLower(k), st.Match.Query[k])
	}
	return b.String()
}

// same reports whether two stubs give the same answer.
func (st *rstub) same(o *rstub) bool {
	return st.Status == o.Status && bytes.Equal(st.Body, o.Body) && maps.Equal(st.Headers, o.Headers)
}

// order decides the stubs' times and the order the mock must load them in, given the
// mock's rule that the newest live stub that matches answers (mocks/veeam/stubs.go):
//
//   - The exchanges of one request (method, path case-insensitively, query) answered the
//     same way in a row become one stub answering that many times (times).
//   - Its answers load last first, so the first answer is the newest: each answers its
//     times and gives way to the next; the last recorded answers for ever (times 0), so
//     a replay that asks more often than the recording did gets the last answer.
//   - Stubs of one method and path load fewer query parameters first: a stub matches a
//     request carrying more parameters than it names, so the more specific stub must be
//     the newer.
//   - Otherwise stubs load in the order their path was first recorded.
func order(stubs []rstub) []veeam.Stub {
	for i := range stubs {
		stubs[i].finish()
	}
	type group struct {
		key           string
		firstPath, nq int
		first         int
		runs          []*rstub
		last          *rstub
	}
	firstPath := map[string]int{}
	groups := map[string]*group{}
	var keys []string
	for i := range stubs {
		st := &stubs[i]
		pk := st.Method + " " + strings.ToLower(st.Path)
		if _, ok := firstPath[pk]; !ok {
			firstPath[pk] = st.seq
		}
		k := pk + "?" + st.queryKey()
		g := groups[k]
		if g == nil {
			nq := 0
			if st.Match != nil {
				nq = len(st.Match.Query)
			}
			g = &group{key: k, firstPath: firstPath[pk], nq: nq, first: st.seq}
			groups[k] = g
			keys = append(keys, k)
		}
		if g.last != nil && g.last.same(st) {
			g.last.Times++
			continue
		}
		st.Times = 1
		g.runs = append(g.runs, st)
		g.last = st
	}
	sort.SliceStable(keys, func(i, j int) bool {
		a, b := groups[keys[i]], groups[keys[j]]
		if a.firstPath != b.firstPath {
			return a.firstPath < b.firstPath
		}
		if a.nq != b.nq {
			return a.nq < b.nq
		}
		return a.first < b.first
	})
	var out []veeam.Stub
	for _, k := range keys {
		g := groups[k]
		g.last.Times = 0
		for i := len(g.runs) - 1; i >= 0; i-- {
			st := g.runs[i]
			out = append(out, st.Stub)
		}
	}
	return out
}

// --- anonymisation ---

// nameFields are the JSON properties (lower case) whose values name a person or an
// organization: display names, user names, user principal names, organization names,
// e-mail addresses.
var nameFields = map[string]bool{
	"name": true, "displayname": true, "username": true, "userprincipalname": true,
	"principalname": true, "organizationname": true, "officename": true, "accountname": true,
	"email": true, "mail": true, "emailaddress": true, "mailaddress": true, "ownername": true,
	"firstname": true, "lastname": true, "tenantname": true, "onmicrosoftname": true,
	"officeorganizationname": true,
}

var (
	guidRE  = regexp.MustCompile(`(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b`)
	emailRE = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+`)
)

// anonymizer replaces ids and names consistently: the same input (case aside), the same
// placeholder, numbered in the order the recording first shows them.
type anonymizer struct {
	guids map[string]string
	names map[string]string
	n     int // names and addresses given so far
}

func newAnonymizer() *anonymizer {
	return &anonymizer{guids: map[string]string{}, names: map[string]string{}}
}

// collect learns every name a name field holds, in the recording's order, so that the
// name is replaced wherever it appears whole (a path segment, a query value), even
// before the body that names it.
func (a *anonymizer) collect(stubs []rstub) {
	for i := range stubs {
		a.collectJSON(stubs[i].jv, false)
	}
}

func (a *anonymizer) collectJSON(v any, named bool) {
	switch x := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			a.collectJSON(x[k], nameFields[strings.ToLower(k)])
		}
	case []any:
		for _, e := range x {
			a.collectJSON(e, named)
		}
	case string:
		if named && x != "" && x != redacted {
			a.name(x)
		}
	}
}

// name returns the placeholder of a name: an address for one with '@', a domain for one
// with a dot and no space (contoso.onmicrosoft.com), else name-NNNN.
func (a *anonymizer) name(s string) string {
	l := strings.ToLower(s)
	if p, ok := a.names[l]; ok {
		return p
	}
	a.n++
	var p string
	switch {
	case strings.Contains(s, "@"):
		p = fmt.Sprintf("user%04d@example.com", a.n)
	case strings.Contains(s, ".") && !strings.Contains(s, " "):
		p = fmt.Sprintf("name%04d.example.com", a.n)
	default:
		p = fmt.Sprintf("name-%04d", a.n)
	}
	a.names[l] = p
	return p
}

// str anonymises one string: a known name whole, then every GUID and e-mail address in it.
func (a *anonymizer) str(s string) string {
	if p, ok := a.names[strings.ToLower(s)]; ok {
		return p
	}
	s = guidRE.ReplaceAllStringFunc(s, a.guid)
	return emailRE.ReplaceAllStringFunc(s, a.name)
}

// guid returns a GUID's placeholder, in the case it was written in; the nil GUID stays.
func (a *anonymizer) guid(g string) string {
	l := strings.ToLower(g)
	if l == "00000000-0000-0000-0000-000000000000" {
		return g
	}
	p, ok := a.guids[l]
	if !ok {
		p = fmt.Sprintf("00000000-0000-4000-8000-%012d", len(a.guids)+1)
		a.guids[l] = p
	}
	if g != l {
		return strings.ToUpper(p)
	}
	return p
}

// apply anonymises a stub's path (segment by segment), query values, headers and body.
func (a *anonymizer) apply(st *rstub) {
	segs := strings.Split(st.Path, "/")
	for i, s := range segs {
		segs[i] = a.str(s)
	}
	st.Path = strings.Join(segs, "/")
	if st.Match != nil {
		for k, v := range st.Match.Query {
			st.Match.Query[k] = a.str(v)
		}
	}
	for k, v := range st.Headers {
		if !strings.EqualFold(k, "Content-Type") {
			st.Headers[k] = a.str(v)
		}
	}
	if st.isJSON {
		st.jv = a.json(st.jv, false)
	} else {
		st.text = a.str(st.text)
	}
}

func (a *anonymizer) json(v any, named bool) any {
	switch x := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			x[k] = a.json(x[k], nameFields[strings.ToLower(k)])
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = a.json(e, named)
		}
		return x
	case string:
		if named && x != "" && x != redacted {
			return a.name(x)
		}
		return a.str(x)
	}
	return v
}
