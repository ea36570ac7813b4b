package spec

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
)

// guidFormat checks format "uuid" as ASP.NET binds a Guid in its usual form: 32
// hexadecimal digits in groups of 8-4-4-4-12, any case, any version. (kin-openapi leaves
// "uuid" unchecked unless told how.)
var guidFormat = openapi3.NewCallbackValidator(func(s string) error {
	if !IsGUID(s) {
		return errors.New("not a GUID")
	}
	return nil
})

// IsGUID reports whether s is a GUID in the hyphenated 8-4-4-4-12 form, any case.
func IsGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// filterOptions are shared by every validation (read-only):
//   - readOnly properties in a request are ignored, not refused: clients send back what
//     they read (an object with its id and _links), and ASP.NET ignores what it does not
//     bind;
//   - defaults are not written into the request;
//   - "uuid" is checked with guidFormat.
var filterOptions = &openapi3filter.Options{
	ExcludeReadOnlyValidations: true,
	SkipSettingDefaults:        true,
	SchemaValidationOptions:    []openapi3.SchemaValidationOption{openapi3.WithStringFormatValidator("uuid", guidFormat)},
}

// RequestError is a request that does not match the document. Its message names the
// parameter, or the body property as a JSON pointer, and says what was expected.
type RequestError struct {
	// In is "path", "query" or "body".
	In string
	// Name is the parameter's name, or the JSON pointer of the body property ("" for the
	// body as a whole).
	Name string
	// Message is the whole message, for RESTExceptionInfo.message.
	Message string
}

func (e *RequestError) Error() string { return e.Message }

// NormalizeQuery returns the query with parameter names spelled as the document spells
// them, enumerated values in the document's case and booleans in lower case: ASP.NET
// binds all three case-insensitively (a v8 PRTG script sends JobId=, veeam.md §6).
// Unknown parameters are kept as sent. It returns q itself when nothing changes.
func (op *Operation) NormalizeQuery(q url.Values) url.Values {
	var out url.Values
	for name, vals := range q {
		p := op.Query(name)
		if p == nil {
			continue
		}
		s := schemaOf(p.Schema)
		same := p.Name == name
		for _, v := range vals {
			same = same && canonicalValue(s, v) == v
		}
		if same {
			continue
		}
		if out == nil {
			out = make(url.Values, len(q))
			for k, v := range q {
				out[k] = slices.Clone(v)
			}
		}
		delete(out, name)
		for _, v := range vals {
			out[p.Name] = append(out[p.Name], canonicalValue(s, v))
		}
	}
	if out == nil {
		return q
	}
	return out
}

func canonicalValue(s *openapi3.Schema, v string) string {
	if s == nil {
		return v
	}
	if s.Type.Is(openapi3.TypeBoolean) {
		switch {
		case strings.EqualFold(v, "true"):
			return "true"
		case strings.EqualFold(v, "false"):
			return "false"
		}
		return v
	}
	for _, e := range s.Enum {
		if es, ok := e.(string); ok && strings.EqualFold(es, v) {
			return es
		}
	}
	return v
}

func schemaOf(r *openapi3.SchemaRef) *openapi3.Schema {
	if r == nil {
		return nil
	}
	return r.Value
}

// ValidateRequest checks a request against the operation: path parameters (by name, as
// the route extracted them), the query (already normalised, see NormalizeQuery) and the
// body. It returns nil or a *RequestError.
//
// An empty body where the document requires one passes when the body schema is an object
// without required properties: ASP.NET binds such a body to an object with default
// values, so `POST /v8/Jobs/{id}/start` with no body starts an incremental run. A
// non-empty body without a Content-Type is read as JSON.
func (op *Operation) ValidateRequest(r *http.Request, path map[string]string, query url.Values, body []byte) error {
	req := *r // shallow: openapi3filter reads the body and the headers
	req.GetBody = nil
	if len(body) == 0 {
		req.Body, req.ContentLength = http.NoBody, 0
	} else {
		req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		if r.Header.Get("Content-Type") == "" {
			req.Header = r.Header.Clone()
			req.Header.Set("Content-Type", "application/json")
		}
	}
	if op.Body != nil && len(body) > 0 && isJSONMedia(req.Header.Get("Content-Type")) {
		if at := trailingData(body); at >= 0 {
			return &RequestError{In: "body", Message: fmt.Sprintf("The request body is not one JSON value: more data follows the first value at offset %d; send a single JSON value.", at)}
		}
	}
	opts := filterOptions
	if len(body) == 0 && op.BodyRequired && bindsEmpty(op.Body) {
		opts = filterOptionsNoBody
	}
	in := &openapi3filter.RequestValidationInput{Request: &req, PathParams: path, QueryParams: query, Route: op.Route, Options: opts}
	err := openapi3filter.ValidateRequest(context.Background(), in)
	if err == nil {
		return nil
	}
	return op.describe(err, body)
}

// isJSONMedia reports whether a Content-Type names JSON (application/json, …+json).
func isJSONMedia(ct string) bool {
	mt, _, _ := mime.ParseMediaType(ct)
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// trailingData returns the offset of what follows the body's first JSON value
// (`{"a":1}{"a":2}`, `{"a":1} x`), or -1 when the body is one value or not JSON at all
// (which the validator reports as such). openapi3filter decodes the first value and
// ignores the rest, and so would the server, storing half of what the client meant;
// ASP.NET's JSON input formatter refuses such a body. json.Valid is the cheap common
// path: only an invalid body is decoded again.
func trailingData(body []byte) int {
	if json.Valid(body) {
		return -1
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var first json.RawMessage
	if dec.Decode(&first) != nil {
		return -1
	}
	off := int(dec.InputOffset())
	rest := body[off:]
	return off + len(rest) - len(bytes.TrimLeft(rest, " \t\r\n"))
}

var filterOptionsNoBody = func() *openapi3filter.Options {
	o := *filterOptions
	o.ExcludeRequestBody = true
	return &o
}()

// bindsEmpty reports whether an empty body can stand for s: an object with no required
// properties.
func bindsEmpty(s *openapi3.SchemaRef) bool {
	if s == nil || s.Value == nil {
		return false
	}
	v := s.Value
	return (v.Type == nil || v.Type.Is(openapi3.TypeObject)) && len(v.Required) == 0
}

// describe turns an openapi3filter error into a RequestError.
func (op *Operation) describe(err error, body []byte) *RequestError {
	var re *openapi3filter.RequestError
	if !errors.As(err, &re) {
		return &RequestError{In: "body", Message: "The request is not valid for " + op.ID + ": " + err.Error() + "."}
	}
	if p := re.Parameter; p != nil {
		what := "parameter"
		if p.In == openapi3.ParameterInQuery {
			what = "query parameter"
		}
		expected := Describe(p.Schema)
		if errors.Is(re.Err, openapi3filter.ErrInvalidRequired) {
			return &RequestError{In: p.In, Name: p.Name, Message: fmt.Sprintf("The %s %s is required: %s is expected.", what, p.Name, expected)}
		}
		if errors.Is(re.Err, openapi3filter.ErrInvalidEmptyValue) { // limit= : given, but empty
			return &RequestError{In: p.In, Name: p.Name, Message: fmt.Sprintf("The value '' is not valid for %s: %s is expected.", p.Name, expected)}
		}
		value := ""
		var se *openapi3.SchemaError
		var pe *openapi3filter.ParseError
		switch {
		case errors.As(re.Err, &se):
			value = fmt.Sprint(se.Value)
			if se.Schema != nil {
				expected = describeSchema(se.Schema)
			}
		case errors.As(re.Err, &pe):
			value = fmt.Sprint(pe.Value)
		}
		return &RequestError{In: p.In, Name: p.Name, Message: fmt.Sprintf("The value '%s' is not valid for %s: %s is expected.", value, p.Name, expected)}
	}
	expected := Describe(op.Body)
	if errors.Is(re.Err, openapi3filter.ErrInvalidRequired) {
		return &RequestError{In: "body", Message: fmt.Sprintf("The request body is required: %s is expected.", expected)}
	}
	if strings.Contains(re.Reason, "Content-Type") {
		ct, _, _ := mime.ParseMediaType(re.Input.Request.Header.Get("Content-Type"))
		return &RequestError{In: "body", Message: fmt.Sprintf("The request body's Content-Type is %q; send application/json.", ct)}
	}
	var se *openapi3.SchemaError
	if errors.As(re.Err, &se) {
		ptr := "/" + strings.Join(se.JSONPointer(), "/")
		switch se.SchemaField {
		case "required":
			if missing := missingProperty(se); missing != "" {
				return &RequestError{In: "body", Name: ptr, Message: fmt.Sprintf("The request body is not valid at %s: the property is required (%s).", ptr, describeSchema(propertySchema(se.Schema, missing)))}
			}
		case "nullable":
			return &RequestError{In: "body", Name: ptr, Message: fmt.Sprintf("The request body is not valid at %s: %s is expected, not null.", ptr, describeSchema(se.Schema))}
		}
		return &RequestError{In: "body", Name: ptr, Message: fmt.Sprintf("The request body is not valid at %s: %s is expected, not %s.", ptr, describeSchema(se.Schema), describeValue(se.Value))}
	}
	var pe *openapi3filter.ParseError
	if errors.As(re.Err, &pe) {
		return &RequestError{In: "body", Message: fmt.Sprintf("The request body is not valid JSON: %s.", pe.Error())}
	}
	return &RequestError{In: "body", Message: fmt.Sprintf("The request body is not valid: %s.", re.Error())}
}

// missingProperty finds the first required property the failing object lacks.
func missingProperty(se *openapi3.SchemaError) string {
	obj, _ := se.Value.(map[string]any)
	if se.Schema == nil {
		return ""
	}
	for _, name := range se.Schema.Required {
		if _, ok := obj[name]; !ok {
			return name
		}
	}
	return ""
}

func propertySchema(s *openapi3.Schema, name string) *openapi3.Schema {
	if s == nil {
		return nil
	}
	if p := s.Properties[name]; p != nil {
		return p.Value
	}
	return nil
}

// Describe says in words what a schema expects, for error messages: "a GUID such as
// 6f1c2a9e-3b7d-4c55-9a0e-2d8b1f4e7c31", "one of Backup, Copy", "an integer".
func Describe(s *openapi3.SchemaRef) string {
	if s == nil {
		return "a value"
	}
	d := describeSchema(s.Value)
	if name, ok := strings.CutPrefix(s.Ref, componentPrefix); ok && isObjectish(s.Value) {
		d += " (" + name + ")"
	}
	return d
}

func isObjectish(s *openapi3.Schema) bool {
	return s != nil && (s.Type.Is(openapi3.TypeObject) || s.Type.Is(openapi3.TypeArray) || len(s.Properties) > 0)
}

func describeSchema(s *openapi3.Schema) string {
	if s == nil {
		return "a value"
	}
	if len(s.Enum) > 0 {
		vals := make([]string, len(s.Enum))
		for i, e := range s.Enum {
			vals[i] = fmt.Sprint(e)
		}
		return "one of " + strings.Join(vals, ", ")
	}
	switch {
	case s.Type.Is(openapi3.TypeString):
		switch s.Format {
		case "uuid":
			return "a GUID such as 6f1c2a9e-3b7d-4c55-9a0e-2d8b1f4e7c31"
		case "date-time":
			return "an ISO 8601 date-time such as 2026-01-05T09:00:00Z"
		case "byte":
			return "base64 data"
		}
		return "a string"
	case s.Type.Is(openapi3.TypeInteger):
		if s.Format == "int32" {
			return "a 32-bit integer"
		}
		return "an integer"
	case s.Type.Is(openapi3.TypeNumber):
		return "a number"
	case s.Type.Is(openapi3.TypeBoolean):
		return "true or false"
	case s.Type.Is(openapi3.TypeArray):
		if s.Items != nil && s.Items.Value != nil {
			return "an array of " + strings.TrimPrefix(strings.TrimPrefix(describeSchema(s.Items.Value), "a "), "an ")
		}
		return "an array"
	}
	if len(s.Required) > 0 {
		return "an object with " + strings.Join(s.Required, ", ")
	}
	return "an object"
}

// describeValue names a JSON value's kind without repeating it (it may be a secret).
func describeValue(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "this string"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return "a number"
}

// ValidateResponse checks an answer to the operation against the document: the status
// is the documented success status or an error status, and the body matches the schema
// of that status (RESTExceptionInfo for errors). Two answers are checked for their shape
// instead, as the document cannot describe them:
//   - 401 has an empty body (veeam.md §3: real servers answer a rejected token with an
//     empty body; the document declares no 401);
//   - a binary answer (application/octet-stream) is checked for its media type only: the
//     document gives it the schema {"type": "object"}, which no byte stream satisfies.
func (op *Operation) ValidateResponse(status int, header http.Header, body []byte) error {
	switch {
	case status == http.StatusUnauthorized:
		if len(body) != 0 {
			return fmt.Errorf("%s: a 401 has a body (%d bytes); real servers send none", op.ID, len(body))
		}
		return nil
	case status < 400 && status != op.Status:
		return fmt.Errorf("%s: status %d, but the document says %d", op.ID, status, op.Status)
	case status == http.StatusNoContent:
		if len(body) != 0 {
			return fmt.Errorf("%s: a 204 with a %d-byte body", op.ID, len(body))
		}
		return nil
	case status < 400 && op.Media == "application/octet-stream":
		if mt, _, _ := mime.ParseMediaType(header.Get("Content-Type")); mt != op.Media {
			return fmt.Errorf("%s: Content-Type %q, want %s", op.ID, header.Get("Content-Type"), op.Media)
		}
		return nil
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: &http.Request{Method: op.Method}, Route: op.Route},
		Status:                 status,
		Header:                 header,
		Options:                responseOptions,
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return fmt.Errorf("%s: %d does not match the document: %w", op.ID, status, err)
	}
	return nil
}

var responseOptions = &openapi3filter.Options{
	IncludeResponseStatus:   true,
	MultiError:              true,
	SchemaValidationOptions: filterOptions.SchemaValidationOptions,
}

// Fits reports whether raw, a JSON value, validates against s: as a response value, or
// as a request value when request is set.
func Fits(s *openapi3.SchemaRef, raw []byte, request bool) error {
	if s == nil || s.Value == nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return err
	}
	opts := append([]openapi3.SchemaValidationOption{openapi3.VisitAsResponse()}, filterOptions.SchemaValidationOptions...)
	if request {
		opts[0] = openapi3.VisitAsRequest()
		opts = append(opts, openapi3.DisableReadOnlyValidation())
	}
	return s.Value.VisitJSON(v, opts...)
}
