package contract

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/vbharness/vbharness/mocks/secret"
	"github.com/vbharness/vbharness/mocks/veeam"
	"github.com/vbharness/vbharness/mocks/veeam/spec"
)

// The services an Exchange can belong to.
const (
	// ServiceVeeam is Veeam's REST API, checked against the v8 document.
	ServiceVeeam = "veeam"
	// ServiceEntra is Entra ID's token and device-code endpoints, checked against the
	// shapes docs/entra-mock.md documents.
	ServiceEntra = "entra"
)

// The sides of an exchange a Violation is on.
const (
	// SideRequest is what the client sent.
	SideRequest = "request"
	// SideResponse is what the server answered.
	SideResponse = "response"
)

// Exchange is one request and its answer as a client saw them (bodies whole, not
// redacted: the checker redacts what it reports).
type Exchange struct {
	// Service is ServiceVeeam or ServiceEntra; any other value is not checked.
	Service string
	// Method is the request's method.
	Method string
	// URL is the request's URL as sent: path and query. nil: nothing is checked.
	URL *url.URL
	// RequestHeader are the request's headers (Content-Type is read).
	RequestHeader http.Header
	// RequestBody is the request's body.
	RequestBody []byte
	// Status is the response's status; 0 means no answer (a transport error), and then
	// nothing is checked on the response side.
	Status int
	// ResponseHeader are the response's headers (Content-Type is read).
	ResponseHeader http.Header
	// ResponseBody is the response's body.
	ResponseBody []byte
}

// Violation is one way an exchange breaks the published contract.
type Violation struct {
	// Service is ServiceVeeam or ServiceEntra.
	Service string `json:"service"`
	// Side is SideRequest or SideResponse.
	Side string `json:"side"`
	// Operation is the v8 document's operationId ("" when no operation matches, and on the
	// Entra side the endpoint: "token", "devicecode").
	Operation string `json:"operation,omitempty"`
	// Method is the request's method.
	Method string `json:"method"`
	// Path is the document's path template when known (/v8/Jobs/{jobId}), else the URL path.
	Path string `json:"path"`
	// Status is the response status (response side).
	Status int `json:"status,omitempty"`
	// Pointer is the RFC 6901 JSON pointer of the offending value in the body ("" = the
	// body as a whole). A query or path parameter is named as "?name" or "{name}".
	Pointer string `json:"pointer"`
	// Expected says what the contract asks for.
	Expected string `json:"expected"`
	// Received says what came: the value as JSON, clipped to about 80 characters, never a
	// secret's value (a redaction marker stands in for it).
	Received string `json:"received"`
}

// String is the violation on one line:
//
//	GET /v8/Jobs/{jobId} (Job_Get) response 200 /lastStatus: expected one of Running, Success, received "Bogus"
func (v Violation) String() string {
	var b strings.Builder
	b.WriteString(v.Method)
	b.WriteByte(' ')
	b.WriteString(v.Path)
	if v.Operation != "" {
		b.WriteString(" (" + v.Operation + ")")
	}
	b.WriteByte(' ')
	b.WriteString(v.Side)
	if v.Side == SideResponse && v.Status != 0 {
		b.WriteString(" " + strconv.Itoa(v.Status))
	}
	b.WriteByte(' ')
	if v.Pointer == "" {
		b.WriteString("body")
	} else {
		b.WriteString(v.Pointer)
	}
	b.WriteString(": expected ")
	b.WriteString(v.Expected)
	b.WriteString(", received ")
	b.WriteString(v.Received)
	return oneLine(b.String())
}

// oneLine escapes the control characters of s as Go quotes them (\n, \r, \x1b): a
// violation names the path a client sent, and the proxy prints each as one line.
func oneLine(s string) string {
	if strings.IndexFunc(s, unicode.IsControl) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Checker validates exchanges against the v8 OpenAPI document embedded in
// mocks/veeam/spec (Veeam) and the shapes docs/entra-mock.md documents (Entra). It is
// read-only after New and safe for concurrent use.
type Checker struct {
	doc *spec.Document
	// exception is the document's RESTExceptionInfo; strictException its stricter view.
	exception       *openapi3.Schema
	strictException *openapi3.SchemaRef
	// tokenError is POST /v8/token's error: the stricter RESTExceptionInfo or the OAuth
	// shape.
	tokenError *openapi3.SchemaRef
}

// New returns a Checker. The document is parsed once per process (spec.Doc).
func New() *Checker {
	d := spec.Doc()
	c := &Checker{doc: d}
	c.exception = d.Schema("RESTExceptionInfo").Value
	strict := *c.exception // a copy: the document is shared and read-only
	strict.Required = []string{"message", "errorCode"}
	strict.Properties = make(openapi3.Schemas, len(c.exception.Properties))
	for k, v := range c.exception.Properties {
		strict.Properties[k] = v
	}
	msg := *c.exception.Properties["message"].Value
	msg.MinLength = 1
	strict.Properties["message"] = openapi3.NewSchemaRef("", &msg)
	c.strictException = openapi3.NewSchemaRef("#/components/schemas/RESTExceptionInfo", &strict)

	oauth := openapi3.NewObjectSchema().
		WithProperty("error", openapi3.NewStringSchema().WithMinLength(1)).
		WithProperty("error_description", openapi3.NewStringSchema())
	oauth.Required = []string{"error"}
	c.tokenError = openapi3.NewSchemaRef("", &openapi3.Schema{OneOf: openapi3.SchemaRefs{c.strictException, openapi3.NewSchemaRef("", oauth)}})
	return c
}

// Check returns the ways ex breaks the contract, in the order found (request side
// first); nil when it keeps it or is not checked (an unknown service, no URL, a path
// that is none of the service's operations).
func (c *Checker) Check(ex Exchange) []Violation {
	if ex.URL == nil {
		return nil
	}
	switch ex.Service {
	case ServiceVeeam:
		return c.checkVeeam(ex)
	case ServiceEntra:
		return c.checkEntra(ex)
	}
	return nil
}

// checkVeeam checks an exchange with the Veeam server.
func (c *Checker) checkVeeam(ex Exchange) []Violation {
	path := ex.URL.EscapedPath()
	op, vars := veeam.Match(ex.Method, path)
	if op == nil {
		return nil
	}
	base := Violation{Service: ServiceVeeam, Operation: op.ID, Method: ex.Method, Path: op.Path}
	var out []Violation
	if !(ex.Status >= 400 && ex.Status < 500) {
		if v, ok := c.checkVeeamRequest(op, vars, ex, base); ok {
			out = append(out, v)
		}
	}
	if ex.Status == 0 {
		return out
	}
	base.Side, base.Status = SideResponse, ex.Status
	out = append(out, c.checkVeeamResponse(op, ex, base)...)
	if len(ex.ResponseBody) > 0 && isV8(path) && isJSON(ex.ResponseHeader) {
		out = append(out, v7Links(ex.ResponseBody, base)...)
	}
	return out
}

// checkVeeamRequest validates the request as the mock does.
func (c *Checker) checkVeeamRequest(op *spec.Operation, vars map[string]string, ex Exchange, base Violation) (Violation, bool) {
	h := ex.RequestHeader
	if h == nil {
		h = http.Header{}
	}
	r := &http.Request{Method: ex.Method, URL: ex.URL, Header: h, Host: ex.URL.Host}
	var query url.Values
	if ex.URL.RawQuery != "" {
		query = op.NormalizeQuery(ex.URL.Query())
	}
	err := op.ValidateRequest(r, vars, query, ex.RequestBody)
	if err == nil {
		return Violation{}, false
	}
	v := base
	v.Side = SideRequest
	var re *spec.RequestError
	if !errors.As(err, &re) {
		v.Expected, v.Received = "a request the document allows", clip(err.Error())
		return v, true
	}
	switch re.In {
	case "query":
		v.Pointer = "?" + re.Name
	case "path":
		v.Pointer = "{" + re.Name + "}"
	default:
		v.Pointer = re.Name
	}
	v.Expected = expectedFromMessage(re.Message)
	v.Received = receivedAt(ex.RequestBody, re.In, re.Name, ex.URL, vars)
	return v, true
}

// expectedFromMessage keeps what a spec.RequestError message says is expected: the
// part after "is expected"'s subject, or the whole message.
func expectedFromMessage(msg string) string {
	msg = strings.TrimSuffix(msg, ".")
	if i := strings.Index(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	msg = strings.TrimSuffix(msg, " is expected")
	if i := strings.Index(msg, " is expected, not "); i >= 0 {
		msg = msg[:i]
	}
	return msg
}

// receivedAt shows the value a request error is about.
func receivedAt(body []byte, in, name string, u *url.URL, vars map[string]string) string {
	switch in {
	case "query":
		for k, vals := range u.Query() {
			if strings.EqualFold(k, name) && len(vals) > 0 {
				return show(name, vals[0])
			}
		}
		return "nothing"
	case "path":
		return show(name, vars[name])
	}
	if len(body) == 0 {
		return "an empty body"
	}
	val, ok := lookup(body, name)
	if name == "" && !ok {
		return fmt.Sprintf("a %d-byte body that is not JSON", len(body)) // never the raw bytes: a form may hold a password
	}
	if !ok {
		return "nothing"
	}
	return showJSON(lastSegment(name), val)
}

// checkVeeamResponse checks the status and the body.
func (c *Checker) checkVeeamResponse(op *spec.Operation, ex Exchange, base Violation) []Violation {
	responses := op.Route.Operation.Responses
	resp := responses.Status(ex.Status)
	if resp == nil && ex.Status >= 400 {
		resp = responses.Default()
	}
	if resp == nil || resp.Value == nil {
		v := base
		v.Expected = "a status the operation declares (" + declared(responses) + ")"
		v.Received = strconv.Itoa(ex.Status)
		return []Violation{v}
	}
	body := ex.ResponseBody
	if ex.Status == http.StatusUnauthorized && len(body) == 0 {
		return nil // real servers answer a rejected token with an empty body (veeam.md §3)
	}
	if len(resp.Value.Content) == 0 || ex.Status == http.StatusNoContent {
		if len(body) != 0 {
			v := base
			v.Expected, v.Received = "no body", fmt.Sprintf("a %d-byte body", len(body))
			return []Violation{v}
		}
		return nil
	}
	if len(bytes.TrimSpace(body)) == 0 {
		v := base
		v.Expected, v.Received = "a body ("+describeContent(resp.Value.Content)+")", "an empty body"
		return []Violation{v}
	}
	ct := ""
	if ex.ResponseHeader != nil {
		ct = ex.ResponseHeader.Get("Content-Type")
	}
	mt, _, _ := mime.ParseMediaType(ct)
	media := resp.Value.Content.Get(mt)
	if media == nil {
		v := base
		v.Pointer = ""
		var types []string
		for k := range resp.Value.Content {
			types = append(types, k)
		}
		slices.Sort(types)
		v.Expected = "Content-Type " + strings.Join(types, " or ")
		v.Received = clip(strconv.Quote(ct))
		return []Violation{v}
	}
	if mt == "application/octet-stream" || !isJSONMedia(mt) && mt != "" {
		return nil // a binary answer: its media type is what can be checked
	}
	schema := media.Schema
	if schema == nil {
		return nil
	}
	if schema.Value == c.exception {
		schema = c.strictException
		if op.ID == tokenOperation {
			schema = c.tokenError
		}
	}
	return validate(schema, body, base)
}

// describeContent says what a response's declared content is: the JSON schema in words,
// or the media types.
func describeContent(c openapi3.Content) string {
	if m := c.Get("application/json"); m != nil && m.Schema != nil {
		return spec.Describe(m.Schema)
	}
	var types []string
	for k := range c {
		types = append(types, k)
	}
	slices.Sort(types)
	return strings.Join(types, " or ")
}

// tokenOperation is POST /v8/token's operationId.
const tokenOperation = "token"

// declared lists an operation's declared statuses.
func declared(r *openapi3.Responses) string {
	var keys []string
	for k := range r.Map() {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return strings.Join(keys, ", ")
}

// validate checks body, JSON, against schema and reports every violation.
func validate(schema *openapi3.SchemaRef, body []byte, base Violation) []Violation {
	if len(bytes.TrimSpace(body)) == 0 {
		v := base
		v.Expected, v.Received = "a JSON body ("+spec.Describe(schema)+")", "an empty body"
		return []Violation{v}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var val any
	if err := dec.Decode(&val); err != nil {
		v := base
		v.Expected, v.Received = "a JSON body ("+spec.Describe(schema)+")", "invalid JSON: "+clip(err.Error())
		return []Violation{v}
	}
	err := schema.Value.VisitJSON(val, visitOptions...)
	if err == nil {
		return nil
	}
	var out []Violation
	seen := map[string]bool{}
	for _, se := range schemaErrors(err) {
		v := fromSchemaError(se, base)
		key := v.Pointer + "\x00" + v.Expected
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, v)
	}
	return out
}

// visitOptions validate a response value: every error (MultiError), read-only properties
// allowed, uuid checked as the mock checks it (a GUID).
var visitOptions = []openapi3.SchemaValidationOption{
	openapi3.VisitAsResponse(),
	openapi3.MultiErrors(),
	openapi3.WithStringFormatValidator("uuid", openapi3.NewCallbackValidator(func(s string) error {
		if !spec.IsGUID(s) {
			return errors.New("not a GUID")
		}
		return nil
	})),
}

// schemaErrors flattens kin-openapi's error tree into its schema errors. A oneOf that
// no branch satisfies is reported as one error of the oneOf itself.
func schemaErrors(err error) []*openapi3.SchemaError {
	var me openapi3.MultiError
	if errors.As(err, &me) {
		var out []*openapi3.SchemaError
		for _, e := range me {
			out = append(out, schemaErrors(e)...)
		}
		return out
	}
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		return []*openapi3.SchemaError{se}
	}
	return nil
}

// fromSchemaError turns one schema error into a violation.
func fromSchemaError(se *openapi3.SchemaError, base Violation) Violation {
	v := base
	path := se.JSONPointer()
	v.Pointer = pointer(path)
	name := ""
	if len(path) > 0 {
		name = path[len(path)-1]
	}
	s := se.Schema
	switch se.SchemaField {
	case "required":
		var prop *openapi3.Schema
		if s != nil && s.Properties[name] != nil {
			prop = s.Properties[name].Value
		}
		v.Expected = "the required property " + strconv.Quote(name) + " (" + describe(prop) + ")"
		v.Received = "nothing"
	case "nullable":
		v.Expected = describe(s) + ", not null"
		v.Received = "null"
	case "enum":
		v.Expected = describe(s)
		v.Received = showJSON(name, se.Value)
	case "type":
		v.Expected = describe(s)
		v.Received = kindOf(se.Value) + " " + showJSON(name, se.Value)
	case "oneOf", "anyOf":
		v.Expected = "one of the body's documented shapes"
		v.Received = showJSON(name, se.Value)
	default:
		v.Expected = describe(s)
		if se.Reason != "" {
			v.Expected += " (" + se.Reason + ")"
		}
		v.Received = showJSON(name, se.Value)
	}
	return v
}

// describe says what a schema expects (spec.Describe's words).
func describe(s *openapi3.Schema) string {
	if s == nil {
		return "a value"
	}
	return spec.Describe(openapi3.NewSchemaRef("", s))
}

// kindOf names a JSON value's kind.
func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return "a number"
}

// pointer writes an RFC 6901 pointer.
func pointer(path []string) string {
	if len(path) == 0 {
		return ""
	}
	var b strings.Builder
	for _, p := range path {
		b.WriteByte('/')
		b.WriteString(strings.ReplaceAll(strings.ReplaceAll(p, "~", "~0"), "/", "~1"))
	}
	return b.String()
}

// lastSegment is a pointer's last reference token, unescaped.
func lastSegment(ptr string) string {
	i := strings.LastIndexByte(ptr, '/')
	s := ptr[i+1:]
	return strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
}

// lookup finds the value at ptr in a JSON body.
func lookup(body []byte, ptr string) (any, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return nil, false
	}
	if ptr == "" {
		return v, true
	}
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[tok]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// v7Links finds _links hrefs of a /v8/ answer that point at /v7/.
func v7Links(body []byte, base Violation) []Violation {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return nil
	}
	var out []Violation
	var walk func(v any, path []string, inLinks bool)
	walk = func(v any, path []string, inLinks bool) {
		switch x := v.(type) {
		case map[string]any:
			for _, k := range sortedKeys(x) {
				p := append(path[:len(path):len(path)], k)
				if inLinks && k == "href" {
					if s, ok := x[k].(string); ok && strings.Contains(strings.ToLower(s), "/v7/") {
						vi := base
						vi.Pointer = pointer(p)
						vi.Expected = "a /v8/ link on a /v8/ answer"
						vi.Received = showJSON("href", s)
						out = append(out, vi)
					}
					continue
				}
				walk(x[k], p, inLinks || k == "_links")
			}
		case []any:
			for i, e := range x {
				walk(e, append(path[:len(path):len(path)], strconv.Itoa(i)), inLinks)
			}
		}
	}
	walk(v, nil, false)
	return out
}

// isV8 reports whether a request path is under /v8/.
func isV8(path string) bool {
	return len(path) >= 4 && strings.EqualFold(path[:4], "/v8/")
}

// isJSON reports whether headers say the body is JSON (or say nothing).
func isJSON(h http.Header) bool {
	if h == nil || h.Get("Content-Type") == "" {
		return true
	}
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	return isJSONMedia(mt)
}

// isJSONMedia reports whether a media type is JSON.
func isJSONMedia(mt string) bool {
	return mt == "application/json" || strings.HasSuffix(mt, "+json") || mt == "text/json"
}

// maxReceived is how many characters of a received value a violation shows.
const maxReceived = 80

// clip shortens s to maxReceived characters (whole runes), marking the cut.
func clip(s string) string {
	if utf8.RuneCountInString(s) <= maxReceived {
		return s
	}
	n := 0
	for i := range s {
		if n == maxReceived {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// redacted stands in for a secret's value in Received.
var redacted = secret.Redact("x")

// show presents a plain (non-JSON) value received under name.
func show(name, s string) string {
	if secret.FieldKind(name) != 0 || looksLikeToken(s) {
		return redacted
	}
	return clip(strconv.Quote(s))
}

// showJSON presents a JSON value received under name: JSON, clipped, a secret redacted
// (a string under a secret name or that looks like a token, and any composite value
// under a secret name).
func showJSON(name string, v any) string {
	if secret.FieldKind(name) != 0 {
		return redacted
	}
	if s, ok := v.(string); ok && looksLikeToken(s) {
		return redacted
	}
	b, err := json.Marshal(v)
	if err != nil {
		return clip(fmt.Sprint(v))
	}
	if hasToken(v) {
		return redacted
	}
	return clip(string(b))
}

// hasToken reports whether a composite value holds a secret-named property or a token.
func hasToken(v any) bool {
	switch x := v.(type) {
	case string:
		return looksLikeToken(x)
	case map[string]any:
		for k, e := range x {
			if secret.FieldKind(k) != 0 || hasToken(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if hasToken(e) {
				return true
			}
		}
	}
	return false
}

// looksLikeToken reports whether s looks like a token: a JWT (three base64url parts, the
// first starting "eyJ") or a long opaque string (32 or more base64url, '.', '+', '/' or
// '=' characters with letters and digits, and not a GUID). A value Received would show
// is never one a token-shaped string: false positives only hide an ordinary value.
func looksLikeToken(s string) bool {
	if strings.HasPrefix(s, "eyJ") && strings.Count(s, ".") >= 2 {
		return true
	}
	if len(s) < 32 || spec.IsGUID(s) || strings.HasPrefix(s, "/") {
		return false // a GUID or a path, not a token
	}
	var letters, digits bool
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
			letters = true
		case '0' <= c && c <= '9':
			digits = true
		case c == '-', c == '_', c == '.', c == '+', c == '/', c == '=':
		default:
			return false
		}
	}
	return letters && digits
}

// sortedKeys returns an object's keys in order, so violations come in a stable order.
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
