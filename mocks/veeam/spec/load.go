package spec

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
)

//go:embed vb365_rest_v8.openapi.json
var document []byte

// JSON returns the embedded document as published. Callers must not change it.
func JSON() []byte { return document }

// Document is the parsed v8 document: kin-openapi's model of it (T) and the mock's index
// of its operations. It is read-only and safe for concurrent use.
type Document struct {
	// T is the document in kin-openapi's types, built by this package's loader: paths,
	// operations, parameters, bodies, responses and component schemas (descriptions,
	// examples and tags are left out).
	T *openapi3.T
	// Operations are every operation, in the document's order (paths, then get, put,
	// post, delete, patch).
	Operations []*Operation

	byID    map[string]*Operation
	names   []string // component schema names in the document's order
	schemas map[string]*openapi3.SchemaRef
	order   map[*openapi3.Schema][]string // property names in the document's order
	disc    map[*openapi3.Schema]*discriminator
}

// discriminator is a schema's discriminator: the property and value → schema mapping.
type discriminator struct {
	property string
	keys     []string // mapping keys in the document's order
	mapping  map[string]*openapi3.SchemaRef
}

// Operation is one operation of the document.
type Operation struct {
	// ID is the operationId, e.g. "Job_StartAction".
	ID string
	// Method is the upper-case HTTP method.
	Method string
	// Path is the path template as the document spells it, e.g. "/v8/Jobs/{jobId}/start".
	Path string
	// Tag is the operation's first tag (the document's grouping, e.g. "Job").
	Tag string
	// PathParams are the path parameters in the order they appear in Path.
	PathParams []*openapi3.Parameter
	// QueryParams are the query parameters in the document's order.
	QueryParams []*openapi3.Parameter
	// Body is the request body's JSON schema, nil without a JSON body.
	Body *openapi3.SchemaRef
	// BodyRequired is the request body's required flag.
	BodyRequired bool
	// Form reports that the body may also be a form (only POST /v8/token).
	Form bool
	// Status is the documented success status (200, 201 or 204).
	Status int
	// Media is the success media type ("application/json", "application/octet-stream",
	// "*/*"), empty for 204.
	Media string
	// Response is the success body's schema, nil for 204.
	Response *openapi3.SchemaRef
	// Anonymous is the document's x-anonymous: the operation needs no token.
	Anonymous bool
	// Route is the kin-openapi route openapi3filter validates against.
	Route *routers.Route

	queryByName map[string]*openapi3.Parameter // lower-case name → parameter
}

// Load returns the document, parsed on first use and shared by the whole process.
var Load = sync.OnceValues(func() (*Document, error) { return parse(document) })

// Doc is Load for callers that cannot handle an error: the embedded document is a
// constant, and TestLoad proves it parses, so a failure here is a broken build.
func Doc() *Document {
	d, err := Load()
	if err != nil {
		panic("spec: the embedded v8 document does not parse: " + err.Error())
	}
	return d
}

// Operation returns the operation with the given operationId, or nil.
func (d *Document) Operation(id string) *Operation { return d.byID[id] }

// Schema returns the component schema with the given name, or nil.
func (d *Document) Schema(name string) *openapi3.SchemaRef { return d.schemas[name] }

// SchemaNames returns the component schemas' names in the document's order.
func (d *Document) SchemaNames() []string { return slices.Clone(d.names) }

// Properties returns s's property names in the document's order.
func (d *Document) Properties(s *openapi3.Schema) []string { return d.order[s] }

// Query returns the query parameter whose name matches name case-insensitively, as
// ASP.NET binds them, or nil.
func (op *Operation) Query(name string) *openapi3.Parameter {
	return op.queryByName[strings.ToLower(name)]
}

// --- the loader ---

// ordered is a JSON object decoded with its keys in document order.
type ordered[T any] struct {
	keys []string
	vals map[string]T
}

func (o *ordered[T]) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, &o.vals); err != nil {
		return err
	}
	o.keys = objectKeys(b)
	return nil
}

// objectKeys returns the keys of a JSON object in order. b is a valid object:
// encoding/json has checked it before handing it to an Unmarshaler. Only the top level
// is read; nested values are skipped by counting brackets outside strings.
func objectKeys(b []byte) []string {
	var keys []string
	depth := 0
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		case '"':
			start := i
			for i++; b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
			if depth != 1 {
				continue
			}
			j := i + 1 // a key is followed by a colon (after white space)
			for j < len(b) && (b[j] == ' ' || b[j] == '\t' || b[j] == '\n' || b[j] == '\r') {
				j++
			}
			if j < len(b) && b[j] == ':' {
				var k string
				if err := json.Unmarshal(b[start:i+1], &k); err == nil {
					keys = append(keys, k)
				}
			}
		}
	}
	return keys
}

type rawSchema struct {
	Ref                  string                `json:"$ref"`
	Type                 string                `json:"type"`
	Format               string                `json:"format"`
	Enum                 []any                 `json:"enum"`
	Required             []string              `json:"required"`
	Nullable             bool                  `json:"nullable"`
	ReadOnly             bool                  `json:"readOnly"`
	WriteOnly            bool                  `json:"writeOnly"`
	Properties           *ordered[*rawSchema]  `json:"properties"`
	Items                *rawSchema            `json:"items"`
	AdditionalProperties json.RawMessage       `json:"additionalProperties"`
	AllOf                []*rawSchema          `json:"allOf"`
	Discriminator        *rawDiscriminator     `json:"discriminator"`
	Default              any                   `json:"default"`
	Minimum              *float64              `json:"minimum"`
	Maximum              *float64              `json:"maximum"`
	Pattern              string                `json:"pattern"`
	OneOf                []*rawSchema          `json:"oneOf"`
	AnyOf                []*rawSchema          `json:"anyOf"`
	Not                  *rawSchema            `json:"not"`
	MinItems             *uint64               `json:"minItems"`
	MaxLength            *uint64               `json:"maxLength"`
	MinLength            *uint64               `json:"minLength"`
	UniqueItems          bool                  `json:"uniqueItems"`
	MaxItems             *uint64               `json:"maxItems"`
	ExclusiveMinimum     bool                  `json:"exclusiveMinimum"`
	ExclusiveMaximum     bool                  `json:"exclusiveMaximum"`
	MultipleOf           *float64              `json:"multipleOf"`
	Title                string                `json:"title"`
	Deprecated           bool                  `json:"deprecated"`
	XML                  any                   `json:"xml"`
	ExternalDocs         any                   `json:"externalDocs"`
	Examples             any                   `json:"examples"`
	MaxProperties        *uint64               `json:"maxProperties"`
	MinProperties        *uint64               `json:"minProperties"`
	PatternProperties    map[string]*rawSchema `json:"patternProperties"`
}

type rawDiscriminator struct {
	PropertyName string           `json:"propertyName"`
	Mapping      *ordered[string] `json:"mapping"`
}

type rawParameter struct {
	Name     string     `json:"name"`
	In       string     `json:"in"`
	Required bool       `json:"required"`
	Style    string     `json:"style"`
	Explode  *bool      `json:"explode"`
	Schema   *rawSchema `json:"schema"`
}

type rawMedia struct {
	Schema *rawSchema `json:"schema"`
}

type rawBody struct {
	Required bool               `json:"required"`
	Content  *ordered[rawMedia] `json:"content"`
}

type rawResponse struct {
	Content *ordered[rawMedia] `json:"content"`
}

type rawOperation struct {
	Tags        []string               `json:"tags"`
	OperationID string                 `json:"operationId"`
	Parameters  []rawParameter         `json:"parameters"`
	RequestBody *rawBody               `json:"requestBody"`
	Responses   *ordered[rawResponse]  `json:"responses"`
	Anonymous   bool                   `json:"x-anonymous"`
	Security    *[]map[string][]string `json:"security"`
}

type rawDocument struct {
	OpenAPI string `json:"openapi"`
	Info    struct {
		Title   string `json:"title"`
		Version string `json:"version"`
	} `json:"info"`
	Servers []struct {
		URL string `json:"url"`
	} `json:"servers"`
	Paths      ordered[ordered[json.RawMessage]] `json:"paths"`
	Components struct {
		Schemas ordered[*rawSchema] `json:"schemas"`
	} `json:"components"`
}

// methods are the path item keys that are operations, in the order kin-openapi's
// PathItem.Operations lists them.
var methods = []string{"get", "put", "post", "delete", "patch"}

const componentPrefix = "#/components/schemas/"

type builder struct {
	d          *Document
	components map[string]*openapi3.SchemaRef
	raw        map[string]*rawSchema
	leaves     map[string]*openapi3.SchemaRef // inline schemas without structure, shared
}

func parse(data []byte) (*Document, error) {
	var raw rawDocument
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("parse the v8 document: %w", err)
	}
	d := &Document{
		byID:  map[string]*Operation{},
		order: map[*openapi3.Schema][]string{},
		disc:  map[*openapi3.Schema]*discriminator{},
	}
	b := &builder{d: d, components: map[string]*openapi3.SchemaRef{}, raw: map[string]*rawSchema{}, leaves: map[string]*openapi3.SchemaRef{}}
	// Two passes, so references resolve to the one shared value whatever the order.
	for _, name := range raw.Components.Schemas.keys {
		b.components[name] = &openapi3.SchemaRef{Ref: componentPrefix + name, Value: &openapi3.Schema{}}
		b.raw[name] = raw.Components.Schemas.vals[name]
	}
	schemas := make(openapi3.Schemas, len(b.components))
	for _, name := range raw.Components.Schemas.keys {
		ref := b.components[name]
		if err := b.fill(ref.Value, b.raw[name]); err != nil {
			return nil, fmt.Errorf("schema %s: %w", name, err)
		}
		schemas[name] = &openapi3.SchemaRef{Value: ref.Value}
	}
	d.schemas = b.components
	d.names = raw.Components.Schemas.keys
	t := &openapi3.T{
		OpenAPI:    raw.OpenAPI,
		Info:       &openapi3.Info{Title: raw.Info.Title, Version: raw.Info.Version},
		Components: &openapi3.Components{Schemas: schemas},
		Paths:      openapi3.NewPathsWithCapacity(len(raw.Paths.keys)),
		Security:   openapi3.SecurityRequirements{{"Bearer": []string{}}},
	}
	for _, s := range raw.Servers {
		t.Servers = append(t.Servers, &openapi3.Server{URL: s.URL})
	}
	d.T = t
	for _, path := range raw.Paths.keys {
		item := raw.Paths.vals[path]
		pi := &openapi3.PathItem{}
		t.Paths.Set(path, pi)
		for _, m := range methods {
			rawOp, ok := item.vals[m]
			if !ok {
				continue
			}
			var ro rawOperation
			if err := json.Unmarshal(rawOp, &ro); err != nil {
				return nil, fmt.Errorf("%s %s: %w", strings.ToUpper(m), path, err)
			}
			op, err := b.operation(path, strings.ToUpper(m), &ro)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", strings.ToUpper(m), path, err)
			}
			pi.SetOperation(op.Method, op.Route.Operation)
			op.Route = &routers.Route{Spec: t, Path: path, PathItem: pi, Method: op.Method, Operation: op.Route.Operation}
			if _, dup := d.byID[op.ID]; dup {
				return nil, fmt.Errorf("operationId %s appears twice", op.ID)
			}
			d.byID[op.ID] = op
			d.Operations = append(d.Operations, op)
		}
		for k := range item.vals {
			if !slices.Contains(methods, k) {
				return nil, fmt.Errorf("%s: path item field %q is not supported by this loader", path, k)
			}
		}
	}
	return d, nil
}

// ref resolves a schema: a reference to a component, or an inline schema.
func (b *builder) ref(r *rawSchema) (*openapi3.SchemaRef, error) {
	if r == nil {
		return nil, nil
	}
	if r.Ref != "" {
		name, ok := strings.CutPrefix(r.Ref, componentPrefix)
		c := b.components[name]
		if !ok || c == nil {
			return nil, fmt.Errorf("unresolved reference %q", r.Ref)
		}
		return c, nil
	}
	// Thousands of properties are {"type": "string"} or the like: one shared value each
	// keeps the document's model a few megabytes smaller. (Values are read-only.)
	leaf := r.Properties == nil && r.Items == nil && len(r.AdditionalProperties) == 0 && r.AllOf == nil && r.Discriminator == nil
	var key string
	if leaf {
		key = fmt.Sprintf("%s|%s|%v|%v|%t|%t|%t|%v", r.Type, r.Format, r.Enum, r.Required, r.Nullable, r.ReadOnly, r.WriteOnly, r.Default)
		if shared := b.leaves[key]; shared != nil {
			return shared, nil
		}
	}
	s := &openapi3.Schema{}
	if err := b.fill(s, r); err != nil {
		return nil, err
	}
	ref := &openapi3.SchemaRef{Value: s}
	if leaf {
		b.leaves[key] = ref
	}
	return ref, nil
}

// fill sets s from r: the keywords the document uses. Keywords it does not use are
// refused, so a newer document that starts using one fails loudly instead of being
// validated less strictly than kin-openapi's loader would.
func (b *builder) fill(s *openapi3.Schema, r *rawSchema) error {
	switch {
	case r.Minimum != nil || r.Maximum != nil || r.Pattern != "" || r.OneOf != nil || r.AnyOf != nil || r.Not != nil ||
		r.MinItems != nil || r.MaxItems != nil || r.MinLength != nil || r.MaxLength != nil || r.UniqueItems ||
		r.ExclusiveMinimum || r.ExclusiveMaximum || r.MultipleOf != nil || r.MaxProperties != nil ||
		r.MinProperties != nil || r.PatternProperties != nil:
		return fmt.Errorf("uses a schema keyword this loader does not support")
	}
	if r.Type != "" {
		s.Type = &openapi3.Types{r.Type}
	}
	s.Format, s.Enum, s.Required = r.Format, r.Enum, r.Required
	s.Nullable, s.ReadOnly, s.WriteOnly = r.Nullable, r.ReadOnly, r.WriteOnly
	s.Default = r.Default
	if r.Properties != nil {
		s.Properties = make(openapi3.Schemas, len(r.Properties.keys))
		for _, k := range r.Properties.keys {
			p, err := b.ref(r.Properties.vals[k])
			if err != nil {
				return fmt.Errorf("property %s: %w", k, err)
			}
			s.Properties[k] = p
		}
		b.d.order[s] = r.Properties.keys
	}
	var err error
	if s.Items, err = b.ref(r.Items); err != nil {
		return fmt.Errorf("items: %w", err)
	}
	if len(r.AdditionalProperties) > 0 {
		var has bool
		if json.Unmarshal(r.AdditionalProperties, &has) == nil {
			s.AdditionalProperties.Has = &has
		} else {
			var ap rawSchema
			if err := json.Unmarshal(r.AdditionalProperties, &ap); err != nil {
				return fmt.Errorf("additionalProperties: %w", err)
			}
			if s.AdditionalProperties.Schema, err = b.ref(&ap); err != nil {
				return fmt.Errorf("additionalProperties: %w", err)
			}
		}
	}
	for _, a := range r.AllOf {
		ref, err := b.ref(a)
		if err != nil {
			return fmt.Errorf("allOf: %w", err)
		}
		s.AllOf = append(s.AllOf, ref)
	}
	if r.Discriminator != nil {
		dsc := &discriminator{property: r.Discriminator.PropertyName, mapping: map[string]*openapi3.SchemaRef{}}
		if m := r.Discriminator.Mapping; m != nil {
			for _, k := range m.keys {
				target, err := b.ref(&rawSchema{Ref: m.vals[k]})
				if err != nil {
					return fmt.Errorf("discriminator %s: %w", k, err)
				}
				dsc.keys = append(dsc.keys, k)
				dsc.mapping[k] = target
			}
		}
		b.d.disc[s] = dsc
	}
	return nil
}

func (b *builder) operation(path, method string, ro *rawOperation) (*Operation, error) {
	if ro.OperationID == "" {
		return nil, fmt.Errorf("no operationId")
	}
	op := &Operation{ID: ro.OperationID, Method: method, Path: path, Anonymous: ro.Anonymous, queryByName: map[string]*openapi3.Parameter{}}
	if len(ro.Tags) > 0 {
		op.Tag = ro.Tags[0]
	}
	kop := &openapi3.Operation{OperationID: ro.OperationID, Tags: ro.Tags}
	// No security on the kin operation: the mock authenticates before it validates, and
	// openapi3filter would otherwise want an AuthenticationFunc.
	kop.Security = &openapi3.SecurityRequirements{}
	byName := map[string]*openapi3.Parameter{}
	for _, rp := range ro.Parameters {
		schema, err := b.ref(rp.Schema)
		if err != nil {
			return nil, fmt.Errorf("parameter %s: %w", rp.Name, err)
		}
		p := &openapi3.Parameter{Name: rp.Name, In: rp.In, Required: rp.Required, Style: rp.Style, Explode: rp.Explode, Schema: schema}
		kop.Parameters = append(kop.Parameters, &openapi3.ParameterRef{Value: p})
		switch rp.In {
		case openapi3.ParameterInPath:
			byName[rp.Name] = p
		case openapi3.ParameterInQuery:
			op.QueryParams = append(op.QueryParams, p)
			op.queryByName[strings.ToLower(rp.Name)] = p
		default:
			return nil, fmt.Errorf("parameter %s in %s is not supported by this loader", rp.Name, rp.In)
		}
	}
	for _, seg := range strings.Split(path, "/") {
		if name, ok := strings.CutPrefix(seg, "{"); ok {
			name = strings.TrimSuffix(name, "}")
			p := byName[name]
			if p == nil {
				return nil, fmt.Errorf("path parameter {%s} is not declared", name)
			}
			op.PathParams = append(op.PathParams, p)
			delete(byName, name)
		}
	}
	if len(byName) > 0 {
		return nil, fmt.Errorf("declared path parameters not in the template: %v", byName)
	}
	if rb := ro.RequestBody; rb != nil && rb.Content != nil {
		body := &openapi3.RequestBody{Required: rb.Required, Content: openapi3.Content{}}
		for _, ct := range rb.Content.keys {
			schema, err := b.ref(rb.Content.vals[ct].Schema)
			if err != nil {
				return nil, fmt.Errorf("request body %s: %w", ct, err)
			}
			body.Content[ct] = &openapi3.MediaType{Schema: schema}
			switch ct {
			case "application/json":
				op.Body = schema
			case "application/x-www-form-urlencoded":
				op.Form = true
			default:
				return nil, fmt.Errorf("request body media type %s is not supported by this loader", ct)
			}
		}
		op.BodyRequired = rb.Required
		kop.RequestBody = &openapi3.RequestBodyRef{Value: body}
	}
	if ro.Responses == nil {
		return nil, fmt.Errorf("no responses")
	}
	kop.Responses = openapi3.NewResponsesWithCapacity(len(ro.Responses.keys))
	for _, code := range ro.Responses.keys {
		rr := ro.Responses.vals[code]
		resp := &openapi3.Response{Description: ptr("")}
		var media string
		var schema *openapi3.SchemaRef
		if rr.Content != nil {
			resp.Content = openapi3.Content{}
			for _, ct := range rr.Content.keys {
				s, err := b.ref(rr.Content.vals[ct].Schema)
				if err != nil {
					return nil, fmt.Errorf("response %s %s: %w", code, ct, err)
				}
				resp.Content[ct] = &openapi3.MediaType{Schema: s}
				if media == "" {
					media, schema = ct, s
				}
			}
		}
		kop.Responses.Set(code, &openapi3.ResponseRef{Value: resp})
		if code == "default" {
			continue
		}
		status, err := strconv.Atoi(code)
		if err != nil || status < 200 || status > 299 {
			return nil, fmt.Errorf("response %q is not a success status", code)
		}
		if op.Status != 0 {
			return nil, fmt.Errorf("more than one success status (%d, %s)", op.Status, code)
		}
		op.Status, op.Media, op.Response = status, media, schema
	}
	if op.Status == 0 {
		return nil, fmt.Errorf("no success status")
	}
	if op.Status != http.StatusNoContent && op.Response == nil {
		return nil, fmt.Errorf("success status %d without a body schema", op.Status)
	}
	op.Route = &routers.Route{Operation: kop}
	return op, nil
}

func ptr[T any](v T) *T { return &v }
