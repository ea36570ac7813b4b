package veeam

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/big"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.yaml.in/yaml/v4"

	"github.com/vbharness/vbharness/mocks/configfile"
	"github.com/vbharness/vbharness/mocks/control"
	"github.com/vbharness/vbharness/mocks/secret"
)

// Stubs are WireMock's stub mappings (request matching, a response definition, times)
// on the Veeam mock: a stub answers the requests it matches in place of the mock, with
// the status, headers and body it gives.
//
// The rules, in one place (docs/veeam-mock.md, "Stubs", says why each):
//   - A stub matches a method and a path: a template of the document
//     (/v8/Jobs/{jobId}, any spelling of its variables) or an exact path, both compared
//     case-insensitively as the router compares paths; optionally query parameters (names
//     case-insensitive, as ASP.NET binds them; values exact) and a subset of the JSON
//     body (or of a form's fields).
//   - The newest stub that matches answers; there is no priority field.
//   - It answers `times` times, then stays listed and matches nothing; 0 is for ever.
//   - It answers before the request is validated against the document, before the
//     items its path names are looked up and before any handler, but after
//     authentication and access, which stay real (401, 403) unless the stub says
//     `anonymous`. Fault rules (the pipeline) come before stubs.
//   - `delay` waits on the mock's clock before answering: real time on `vbharness mock`,
//     the virtual clock in-process (where waiting moves the scenario's clock on), at
//     most MaxStubDelay.
//   - Reset returns to the stubs the server started with (WithStubs, `--stubs FILE`),
//     their counters at zero.

// Bounds of a server's stubs.
const (
	// MaxStubs is how many stubs a server holds.
	MaxStubs = 1000
	// MaxStubBytes bounds the bodies (answers and body matches) of a server's stubs
	// together: 16 MiB.
	MaxStubBytes = 16 << 20
	// MaxStubBody bounds one stub's answer, as the request limit bounds what the
	// control API receives: 1 MiB.
	MaxStubBody = 1 << 20
	// MaxStubDelay is the longest delay a stub may wait.
	MaxStubDelay = 30 * time.Second
)

// ErrInvalidStub marks a stub that is refused: by the control API (400), NewStubs and
// LoadStubs.
var ErrInvalidStub = errors.New("invalid stub")

// errStubTaken marks a stub whose id is taken (409 on the control API).
var errStubTaken = errors.New("already exists")

// Stub is one stub: the requests it answers and its answer. Its JSON form is the
// control API's contract (POST /_mock/stubs); a stubs file holds a list of them under
// `stubs:` with the same names (LoadStubs).
type Stub struct {
	// ID names the stub; the server assigns s1, s2, … when it is empty.
	ID string `json:"id,omitempty" yaml:"id"`
	// Method is the request's method (GET, POST, …), required.
	Method string `json:"method" yaml:"method"`
	// Path is a template of the document (/v8/Jobs/{jobId}) or an exact path under /v8/.
	Path string `json:"path" yaml:"path"`
	// Match narrows the requests further: query parameters and the body.
	Match *StubMatch `json:"match,omitempty" yaml:"match"`
	// Status is the answer's status (200 when 0).
	Status int `json:"status,omitempty" yaml:"status"`
	// Headers are the answer's headers.
	Headers map[string]string `json:"headers,omitempty" yaml:"headers"`
	// Body is the answer's body: a JSON string is sent as its text, any other JSON
	// value as JSON.
	Body JSONValue `json:"body,omitempty" yaml:"body"`
	// Times is how many requests it answers; 0 is unlimited.
	Times int `json:"times,omitempty" yaml:"times"`
	// Delay is a Go duration ("2s") to wait on the mock's clock before answering.
	Delay string `json:"delay,omitempty" yaml:"delay"`
	// Anonymous answers callers without a valid token too; otherwise authentication
	// and access are checked as for the operation.
	Anonymous bool `json:"anonymous,omitempty" yaml:"anonymous"`
}

// StubMatch is what a request must also carry for a stub to answer it.
type StubMatch struct {
	// Query holds parameters the query must carry, with these values; names match
	// case-insensitively, values exactly.
	Query map[string]string `json:"query,omitempty" yaml:"query"`
	// Body is a JSON value the request's body must contain: objects match when every
	// property given matches (others may be there too), arrays element by element,
	// other values when equal. A form body matches as an object of strings.
	Body JSONValue `json:"body,omitempty" yaml:"body"`
}

// StubState is a stub as the control API answers it: the stub as the server keeps it
// (method in upper case, status filled in), how many requests it answered, and how many
// more it will (null when unlimited).
type StubState struct {
	Stub
	Hits      int  `json:"hits"`
	Remaining *int `json:"remaining"`
}

// JSONValue is a JSON value kept as its text: a stub's body or body match. In a YAML
// stubs file it is any YAML value that has a JSON form.
type JSONValue []byte

// MarshalJSON implements json.Marshaler.
func (v JSONValue) MarshalJSON() ([]byte, error) {
	if len(v) == 0 {
		return []byte("null"), nil
	}
	return v, nil
}

// UnmarshalJSON implements json.Unmarshaler: the value's text, compacted; null is none.
func (v *JSONValue) UnmarshalJSON(b []byte) error {
	if t := bytes.TrimSpace(b); string(t) == "null" {
		*v = nil
		return nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return err
	}
	*v = buf.Bytes()
	return nil
}

// UnmarshalYAML implements yaml.Unmarshaler: the YAML value in its JSON form.
func (v *JSONValue) UnmarshalYAML(n *yaml.Node) error {
	var x any
	if err := n.Decode(&x); err != nil {
		return err
	}
	if x == nil {
		*v = nil
		return nil
	}
	b, err := json.Marshal(x)
	if err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: this value has no JSON form (%v); write it as JSON would", n.Line, err)}}
	}
	*v = b
	return nil
}

// Stubs is a validated list of stubs, oldest first, for WithStubs. Build it with
// NewStubs or LoadStubs.
type Stubs struct {
	list []*stub
}

// Len returns how many stubs s holds.
func (s Stubs) Len() int { return len(s.list) }

// NewStubs validates stubs (each as POST /_mock/stubs would) into a Stubs. Every problem
// is reported, each wrapping ErrInvalidStub.
func NewStubs(stubs ...Stub) (Stubs, error) {
	out, probs := compileStubs(stubs)
	if len(probs) > 0 {
		errs := make([]error, len(probs))
		for i, p := range probs {
			errs[i] = fmt.Errorf("%w: stubs[%d].%s", ErrInvalidStub, p.index, p.stubProblem.Error())
		}
		return Stubs{}, errors.Join(errs...)
	}
	return out, nil
}

// stubsFile is a stubs file: `stubs:` and the list.
type stubsFile struct {
	Stubs []Stub `yaml:"stubs"`
}

// LoadStubs reads a stubs file, YAML or JSON (`stubs:` and a list of stubs with the
// control API's names), through the strict decoder of every vbharness file: every error
// names the file and the line ("stubs.yaml:7:5: stubs[1].path: …") and wraps
// ErrInvalidStub.
//
// path may be a directory (a recording, mocks/record): every stubs file directly in it
// (*.json, *.yaml, *.yml; names starting with '.' are not) is loaded in name order, as
// if their lists were one, so the last file's stubs are the newest. Ids must differ
// across the files too; errors name the file and the line.
func LoadStubs(path string) (Stubs, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return Stubs{}, fmt.Errorf("load stubs: %w", err)
	}
	if fi.IsDir() {
		return loadStubsDir(path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Stubs{}, fmt.Errorf("load stubs: %w", err)
	}
	return parseStubs(path, data)
}

func parseStubs(name string, data []byte) (Stubs, error) {
	return parseStubFiles([]stubSource{{name: name, data: data}})
}

// IsStubsFile reports whether a directory entry's name is one LoadStubs loads from a
// directory: *.json, *.yaml or *.yml (any case), not hidden.
func IsStubsFile(name string) bool {
	if strings.HasPrefix(name, ".") {
		return false
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".json", ".yaml", ".yml":
		return true
	}
	return false
}

// stubSource is one stubs file: its name as errors show it, and its text.
type stubSource struct {
	name string
	data []byte
}

// loadStubsDir loads every stubs file of dir, in name order.
func loadStubsDir(dir string) (Stubs, error) {
	ents, err := os.ReadDir(dir) // sorted by name
	if err != nil {
		return Stubs{}, fmt.Errorf("load stubs: %w", err)
	}
	var srcs []stubSource
	for _, e := range ents {
		if e.IsDir() || !IsStubsFile(e.Name()) {
			continue
		}
		name := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(name)
		if err != nil {
			return Stubs{}, fmt.Errorf("load stubs: %w", err)
		}
		srcs = append(srcs, stubSource{name: name, data: data})
	}
	if len(srcs) == 0 {
		return Stubs{}, fmt.Errorf("%w: %s holds no stubs files (*.json, *.yaml, *.yml)", ErrInvalidStub, dir)
	}
	return parseStubFiles(srcs)
}

// parseStubFiles decodes and compiles the stubs of files, in order, as one list; a
// problem is reported at its file, line and index within that file.
func parseStubFiles(srcs []stubSource) (Stubs, error) {
	type origin struct {
		src   int
		index int
		doc   *configfile.Doc
	}
	var all []Stub
	var from []origin
	var errs []error
	for i, src := range srcs {
		var f stubsFile
		doc, err := configfile.Decode(src.name, src.data, &f)
		if err != nil {
			errs = append(errs, configfile.WithKind(err, ErrInvalidStub))
			continue
		}
		for j := range f.Stubs {
			from = append(from, origin{src: i, index: j, doc: doc})
		}
		all = append(all, f.Stubs...)
	}
	if len(errs) > 0 {
		return Stubs{}, errors.Join(errs...)
	}
	out, probs := compileStubs(all)
	if len(probs) == 0 {
		return out, nil
	}
	errs = make([]error, len(probs))
	for i, p := range probs {
		if p.index >= len(from) { // a problem of the whole list (too many stubs)
			last := from[len(from)-1]
			errs[i] = &configfile.Error{File: srcs[last.src].name, Msg: p.stubProblem.Error(), Err: ErrInvalidStub}
			continue
		}
		o := from[p.index]
		line, col := o.doc.Pos(append([]any{"stubs", o.index}, p.at...)...)
		errs[i] = &configfile.Error{File: srcs[o.src].name, Line: line, Col: col,
			Msg: fmt.Sprintf("stubs[%d].%s: %s", o.index, p.field, p.msg), Err: ErrInvalidStub}
	}
	return Stubs{}, errors.Join(errs...)
}

type indexedProblem struct {
	index int
	*stubProblem
}

func compileStubs(stubs []Stub) (Stubs, []indexedProblem) {
	var out Stubs
	var probs []indexedProblem
	ids := map[string]bool{}
	total, over := 0, false
	for i, st := range stubs {
		c, p := compileStub(st)
		if p == nil && c.ID != "" && ids[c.ID] {
			p = &stubProblem{field: "id", at: []any{"id"}, msg: fmt.Sprintf("id %q is given to an earlier stub too; give each stub its own", c.ID)}
		}
		if p != nil {
			probs = append(probs, indexedProblem{index: i, stubProblem: p})
			continue
		}
		ids[c.ID] = true
		out.list = append(out.list, c)
		if total += c.size; total > MaxStubBytes && !over {
			over = true
			probs = append(probs, indexedProblem{index: i, stubProblem: &stubProblem{field: "body", at: []any{"body"},
				msg: fmt.Sprintf("the stubs' bodies pass %d MiB here, the most a server keeps", MaxStubBytes>>20)}})
		}
	}
	if len(out.list) > MaxStubs {
		probs = append(probs, indexedProblem{index: MaxStubs, stubProblem: &stubProblem{field: "id", msg: fmt.Sprintf("a server holds at most %d stubs", MaxStubs)}})
	}
	return out, probs
}

// stubProblem is why a stub is refused: the field, where it is in a file (the path
// under the stub, for Doc.Pos), and what is wrong and what to do.
type stubProblem struct {
	field string
	at    []any
	msg   string
}

func (p *stubProblem) Error() string { return p.field + ": " + p.msg }

// stub is a compiled stub: the Stub as kept, what it matches and what it answers. Its
// fields are set once; hits changes under the set's lock.
type stub struct {
	Stub
	leaf   *routeNode        // a template's leaf of the route tree; nil for an exact path
	exact  string            // an exact path, without a trailing slash
	query  map[string]string // lower-case names
	body   any               // the body match, parsed (json.Number numbers); nil for none
	header http.Header
	resp   []byte
	ctype  string
	delay  time.Duration
	size   int // bytes of the bodies, for MaxStubBytes
	hits   int
}

// stubMethods are the methods a stub may match.
var stubMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions}

var (
	stubIDRE  = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	stubVarRE = regexp.MustCompile(`^\{[A-Za-z_][A-Za-z0-9_]*\}$`)
)

// framingHeaders are the headers the server writes itself: a stub setting them could
// break the response's framing.
var framingHeaders = []string{"Content-Length", "Transfer-Encoding", "Connection", "Trailer", "Upgrade"}

// compileStub validates st and compiles it. Nothing is looked up per request that can be
// decided here.
func compileStub(st Stub) (*stub, *stubProblem) {
	bad := func(field string, format string, args ...any) (*stub, *stubProblem) {
		at := []any{}
		for _, part := range strings.Split(field, ".") {
			at = append(at, part)
		}
		return nil, &stubProblem{field: field, at: at, msg: fmt.Sprintf(format, args...)}
	}
	c := &stub{Stub: st}
	if st.ID != "" && !stubIDRE.MatchString(st.ID) {
		return bad("id", "%q is not a stub id: use 1 to 64 letters, digits, '.', '_' or '-', or leave it out to get one", st.ID)
	}
	c.Method = strings.ToUpper(strings.TrimSpace(st.Method))
	switch {
	case c.Method == "":
		return bad("method", "a stub needs the method it answers (%s)", strings.Join(stubMethods, ", "))
	case !slices.Contains(stubMethods, c.Method):
		return bad("method", "%q is not a method a stub answers; use one of %s", st.Method, strings.Join(stubMethods, ", "))
	}

	// The path: a template of the document, or an exact path under /v8/.
	p := st.Path
	switch {
	case p == "":
		return bad("path", "a stub needs the path it answers: a template of the document such as /v8/Jobs/{jobId}, or an exact path")
	case len(p) > 2048:
		return bad("path", "the path is longer than 2048 characters")
	case strings.ContainsAny(p, "?#"):
		return bad("path", "%q holds a query or a fragment; give the path alone, and query parameters in match.query", p)
	case strings.IndexFunc(p, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0:
		return bad("path", "%q holds a space or a control character", p)
	case !strings.HasPrefix(strings.ToLower(p), "/v8/"):
		return bad("path", "%q is not under /v8/: stubs answer the Veeam REST API's paths (the control API and /swagger/ are the mock's own)", p)
	}
	if len(p) > 1 {
		p = strings.TrimRight(p, "/")
	}
	c.Path = p
	if strings.ContainsAny(p, "{}") {
		for _, seg := range strings.Split(p, "/") {
			if strings.ContainsAny(seg, "{}") && !stubVarRE.MatchString(seg) {
				return bad("path", "segment %q of %q is not a template variable: a variable is a whole segment such as {jobId}", seg, p)
			}
		}
		var m match
		if !table().tree.resolve(p, &m) {
			return bad("path", "no operation of the document has the template %s; give a template of the document (GET /swagger/docs/v8 lists them) or an exact path", p)
		}
		leafTemplate := m.leaf.routes[0].template
		if shape(leafTemplate) != shape(p) {
			return bad("path", "no operation of the document has the template %s; did you mean %s?", p, leafTemplate)
		}
		if m.leaf.route(c.Method) == nil {
			return bad("method", "the document has no %s on %s (it has %s); a template stub answers an operation of the document, an exact path any method", c.Method, leafTemplate, m.leaf.allow)
		}
		c.leaf = m.leaf
	} else {
		c.exact = p
	}

	if st.Match != nil {
		if len(st.Match.Query) > 0 {
			c.query = make(map[string]string, len(st.Match.Query))
			for _, k := range slices.Sorted(maps.Keys(st.Match.Query)) {
				switch {
				case k == "":
					return bad("match.query", "a query parameter needs a name")
				case secret.IsField(k):
					return bad("match.query", "matching on %q is not allowed: it is a secret, and the stub's hits would confirm a guess of it", k)
				}
				if _, dup := c.query[strings.ToLower(k)]; dup {
					return bad("match.query", "%q is given twice (names match case-insensitively)", k)
				}
				c.query[strings.ToLower(k)] = st.Match.Query[k]
			}
		}
		if len(st.Match.Body) > 0 {
			dec := json.NewDecoder(bytes.NewReader(st.Match.Body))
			dec.UseNumber()
			if err := dec.Decode(&c.body); err != nil {
				return bad("match.body", "not JSON: %v", err)
			}
			if k := secretKey(c.body); k != "" {
				return bad("match.body", "matching on %q is not allowed: it is a secret, and the stub's hits would confirm a guess of it", k)
			}
			if len(st.Match.Body) > MaxStubBody {
				return bad("match.body", "larger than %d KiB", MaxStubBody>>10)
			}
		}
		if c.query == nil && c.body == nil {
			c.Match = nil
		}
	}

	c.Status = st.Status
	if c.Status == 0 {
		c.Status = http.StatusOK
	}
	if c.Status < 200 || c.Status > 599 {
		return bad("status", "%d is not a status a stub answers with; use 200 to 599 (or leave it out for 200)", st.Status)
	}

	c.header = http.Header{}
	for _, k := range slices.Sorted(maps.Keys(st.Headers)) {
		v := st.Headers[k]
		switch {
		case !validHeaderName(k):
			return bad("headers", "%q is not a header name", k)
		case strings.ContainsAny(v, "\r\n\x00"):
			return bad("headers", "the value of %s holds a line break or NUL", k)
		case slices.ContainsFunc(framingHeaders, func(h string) bool { return strings.EqualFold(h, k) }):
			return bad("headers", "%s is the server's to write; leave it out", http.CanonicalHeaderKey(k))
		}
		c.header.Set(k, v)
	}

	if len(st.Body) > 0 {
		if len(st.Body) > MaxStubBody {
			return bad("body", "larger than %d KiB", MaxStubBody>>10)
		}
		var text string
		if st.Body[0] == '"' && json.Unmarshal(st.Body, &text) == nil {
			c.resp, c.ctype = []byte(text), "text/plain; charset=utf-8"
		} else {
			c.resp, c.ctype = st.Body, "application/json; charset=utf-8"
		}
		if c.Status == http.StatusNoContent || c.Status == http.StatusNotModified {
			return bad("body", "a %d answer has no body; remove the body or use another status", c.Status)
		}
	}
	c.size = len(c.resp) + len(st.Match.bodyBytes())

	if st.Times < 0 {
		return bad("times", "%d: give how many requests the stub answers, or 0 (or nothing) for every request", st.Times)
	}
	if st.Delay != "" {
		d, err := time.ParseDuration(st.Delay)
		if err != nil || d < 0 || d > MaxStubDelay {
			return bad("delay", "%q is not a Go duration from 0 to %s, such as \"1.5s\"", st.Delay, MaxStubDelay)
		}
		c.delay = d
	}
	return c, nil
}

func (m *StubMatch) bodyBytes() []byte {
	if m == nil {
		return nil
	}
	return m.Body
}

// validHeaderName reports whether s is an HTTP token (RFC 9110 §5.1).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r > 0x7e || r <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) {
			return false
		}
	}
	return true
}

// secretKey returns the first secret field name (secret.IsField) in a body pattern, at
// any depth, or "".
func secretKey(v any) string {
	switch x := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if secret.IsField(k) {
				return k
			}
			if s := secretKey(x[k]); s != "" {
				return s
			}
		}
	case []any:
		for _, e := range x {
			if s := secretKey(e); s != "" {
				return s
			}
		}
	}
	return ""
}

// state is the stub as the control API lists it.
func (c *stub) state() StubState {
	out := StubState{Stub: c.Stub, Hits: c.hits}
	out.Stub.Headers = nil
	if len(c.header) > 0 {
		out.Stub.Headers = make(map[string]string, len(c.header))
		for k := range c.header {
			out.Stub.Headers[k] = c.header.Get(k)
		}
	}
	if c.Times > 0 {
		left := max(c.Times-c.hits, 0)
		out.Remaining = &left
	}
	return out
}

// live reports whether the stub still answers. Callers hold the set's lock.
func (c *stub) live() bool { return c.Times == 0 || c.hits < c.Times }

// stubSet holds one server's stubs. Safe for concurrent use; n lets a request without
// stubs to match pay one atomic load.
type stubSet struct {
	mu    sync.Mutex
	list  []*stub // oldest first
	next  int     // the last number given to an id
	bytes int
	n     atomic.Int32
}

// reset replaces the stubs by copies of initial, their counters at zero.
func (s *stubSet) reset(initial []*stub) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.list, s.bytes, s.next = nil, 0, 0
	for _, c := range initial {
		cp := *c
		cp.hits = 0
		s.list = append(s.list, &cp)
		s.bytes += cp.size
	}
	s.number()
	s.n.Store(int32(len(s.list)))
}

// number gives an id to every stub without one. Callers hold the lock.
func (s *stubSet) number() {
	for _, c := range s.list {
		if c.ID == "" {
			c.ID = s.freeID()
		}
	}
}

// freeID returns the next id of the form s<n> that no stub has. Callers hold the lock.
func (s *stubSet) freeID() string {
	for {
		s.next++
		id := "s" + strconv.Itoa(s.next)
		if !slices.ContainsFunc(s.list, func(c *stub) bool { return c.ID == id }) {
			return id
		}
	}
}

// add installs a copy of c as the newest stub.
func (s *stubSet) add(c *stub) (StubState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.list) >= MaxStubs {
		return StubState{}, fmt.Errorf("%w: the server holds %d stubs, the most it keeps; delete some (DELETE /_mock/stubs/{id}) first", ErrInvalidStub, MaxStubs)
	}
	if s.bytes+c.size > MaxStubBytes {
		return StubState{}, fmt.Errorf("%w: the stubs' bodies would pass %d MiB, the most a server keeps; delete some first", ErrInvalidStub, MaxStubBytes>>20)
	}
	cp := *c
	cp.hits = 0
	if cp.ID == "" {
		cp.ID = s.freeID()
	} else if slices.ContainsFunc(s.list, func(o *stub) bool { return o.ID == cp.ID }) {
		return StubState{}, fmt.Errorf("a stub with id %q %w; delete it first or give another id", cp.ID, errStubTaken)
	}
	s.list = append(s.list, &cp)
	s.bytes += cp.size
	s.n.Store(int32(len(s.list)))
	return cp.state(), nil
}

func (s *stubSet) states() []StubState {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]StubState, len(s.list))
	for i, c := range s.list {
		out[i] = c.state()
	}
	return out
}

func (s *stubSet) remove(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.list, func(c *stub) bool { return c.ID == id })
	if i < 0 {
		return false
	}
	s.bytes -= s.list[i].size
	s.list = slices.Delete(s.list, i, i+1)
	s.n.Store(int32(len(s.list)))
	return true
}

func (s *stubSet) clear() { s.reset(nil) }

// stubRequest is what stubs match a request on, each part worked out once.
type stubRequest struct {
	method string
	path   string     // without a trailing slash
	leaf   *routeNode // nil when no template of the document matches the path
	rawQ   string
	query  url.Values
	ctype  string
	raw    []byte
	body   any
	parsed bool
}

func (q *stubRequest) queryValues() url.Values {
	if q.query == nil {
		q.query, _ = url.ParseQuery(q.rawQ)
	}
	return q.query
}

// parsedBody is the request body as a body match sees it: JSON (numbers as
// json.Number), or a form's fields as strings; nil otherwise.
func (q *stubRequest) parsedBody() any {
	if q.parsed {
		return q.body
	}
	q.parsed = true
	if len(bytes.TrimSpace(q.raw)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(q.raw))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) == nil && !dec.More() {
		q.body = v
		return v
	}
	if mt, _, _ := mime.ParseMediaType(q.ctype); mt == "application/x-www-form-urlencoded" {
		if vals, err := url.ParseQuery(string(q.raw)); err == nil {
			m := make(map[string]any, len(vals))
			for k, v := range vals {
				m[k] = v[0]
			}
			q.body = m
		}
	}
	return q.body
}

// matches reports whether c answers q (its counter aside).
func (c *stub) matches(q *stubRequest) bool {
	if c.Method != q.method {
		return false
	}
	if c.leaf != nil {
		if c.leaf != q.leaf {
			return false
		}
	} else if !strings.EqualFold(c.exact, q.path) {
		return false
	}
	for name, want := range c.query {
		found := false
		for k, vs := range q.queryValues() {
			if strings.EqualFold(k, name) && slices.Contains(vs, want) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return c.body == nil || contains(q.parsedBody(), c.body)
}

// find returns the newest live stub that matches q, or nil.
func (s *stubSet) find(q *stubRequest) *stub {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.list) - 1; i >= 0; i-- {
		if c := s.list[i]; c.live() && c.matches(q) {
			return c
		}
	}
	return nil
}

// claim counts an answer of c and reports whether c could still give it (another
// request may have used its last one since find).
func (s *stubSet) claim(c *stub) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !c.live() || !slices.Contains(s.list, c) {
		return false
	}
	c.hits++
	return true
}

// contains reports whether got holds the pattern pat: every property of an object
// pattern, arrays element by element, numbers by value, other values equal.
func contains(got, pat any) bool {
	switch p := pat.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return false
		}
		for k, pv := range p {
			gv, ok := g[k]
			if !ok || !contains(gv, pv) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(p) {
			return false
		}
		for i := range p {
			if !contains(g[i], p[i]) {
				return false
			}
		}
		return true
	case json.Number:
		g, ok := got.(json.Number)
		if !ok {
			return false
		}
		a, okA := new(big.Rat).SetString(string(p))
		b, okB := new(big.Rat).SetString(string(g))
		return okA && okB && a.Cmp(b) == 0
	default: // string, bool, nil
		return got == pat
	}
}

// serveStub answers r with the newest stub that matches it and reports whether one
// did. Authentication and access are the operation's (stubAccess) unless the stub is
// anonymous; a refusal is answered here, as the mock would answer it.
func (s *Server) serveStub(w http.ResponseWriter, r *http.Request) bool {
	q := stubRequest{method: r.Method, path: r.URL.Path, rawQ: r.URL.RawQuery, ctype: r.Header.Get("Content-Type")}
	if len(q.path) > 1 {
		q.path = strings.TrimRight(q.path, "/")
	}
	var m match
	if table().tree.resolve(r.URL.EscapedPath(), &m) {
		q.leaf = m.leaf
	}
	if r.Body != nil && r.Body != http.NoBody {
		b, err := io.ReadAll(r.Body) // bounded: the pipeline has read it already, up to 1 MiB
		if err != nil {
			panic(http.ErrAbortHandler)
		}
		q.raw = b
		r.Body = io.NopCloser(bytes.NewReader(b)) // for the mock, if no stub answers
	}
	for {
		c := s.stubs.find(&q)
		if c == nil {
			return false
		}
		if e := s.stubAccess(r, c, &m, q.leaf); e != nil {
			writeError(w, "", e)
			return true
		}
		if !s.stubs.claim(c) {
			continue // its last answer went to another request: the next stub, if any
		}
		control.MarkStub(w, c.ID)
		if c.delay > 0 {
			if err := s.clk.Sleep(r.Context(), c.delay); err != nil {
				panic(http.ErrAbortHandler) // the client has gone
			}
		}
		h := w.Header()
		for k, v := range c.header {
			h[k] = v
		}
		if len(c.resp) > 0 {
			if h.Get("Content-Type") == "" {
				h.Set("Content-Type", c.ctype)
			}
			h.Set("Content-Length", strconv.Itoa(len(c.resp)))
		}
		w.WriteHeader(c.Status)
		_, _ = w.Write(c.resp)
		return true
	}
}

// stubAccess decides whether the caller may get c's answer: anonymous stubs and the
// document's anonymous operations answer anyone; otherwise the bearer token must be
// valid (401), of a kind the operation is for (403), and a tenant's or operator's own
// restore session where the operation is limited to it (403; a session that does not
// exist is the stub's to answer). A path that is no operation of the document takes
// any valid token.
func (s *Server) stubAccess(r *http.Request, c *stub, m *match, leaf *routeNode) *apiError {
	if c.Anonymous {
		return nil
	}
	var rt *route
	if leaf != nil {
		rt = leaf.route(r.Method)
	}
	if rt != nil && rt.who == 0 {
		return nil
	}
	sess, _, ok := s.sessions.access(bearerToken(r), s.clk.Now()) // a stub does not check antiforgery
	if !ok {
		return errUnauthorized
	}
	if rt == nil {
		return nil
	}
	if !rt.who.has(sess.kind) && !(s.mut.IgnoreTenantScope && rt.who&admins != 0) {
		return refusal(rt.who, sess.kind)
	}
	if rt.own && sess.kind != kindAdmin {
		rq := request{Request: r, route: rt, values: m.values[:m.n], sess: sess}
		id := rq.param("restoreSessionId")
		if it, ok := s.world.get("/v8/RestoreSessions/" + strings.ToLower(id)); ok && !owns(sess, it) {
			return accessDenied("Access denied: restore session %s belongs to another user.", id)
		}
	}
	return nil
}

// --- the server's stub methods ---

// AddStub validates st as POST /_mock/stubs does and adds it as the newest stub. Errors
// wrap ErrInvalidStub; a taken id is refused too. Reset removes it.
func (s *Server) AddStub(st Stub) (StubState, error) {
	c, p := compileStub(st)
	if p != nil {
		return StubState{}, fmt.Errorf("%w: %s", ErrInvalidStub, p.Error())
	}
	return s.stubs.add(c)
}

// Stubs returns the server's stubs, oldest first, with their counters.
func (s *Server) Stubs() []StubState { return s.stubs.states() }

// RemoveStub removes the stub with id and reports whether there was one.
func (s *Server) RemoveStub(id string) bool { return s.stubs.remove(id) }

// ClearStubs removes every stub, the ones the server started with too (until Reset).
func (s *Server) ClearStubs() { s.stubs.clear() }
