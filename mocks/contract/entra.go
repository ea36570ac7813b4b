package contract

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// The Entra endpoints the checker knows, by the operation name a violation carries.
const (
	entraToken      = "token"
	entraDeviceCode = "devicecode"
	entraError      = "error"
)

// entraField is one field of an Entra body as docs/entra-mock.md documents it (Token
// success, Device code, Errors).
type entraField struct {
	name     string
	schema   func() *openapi3.Schema
	required bool
}

var (
	str     = openapi3.NewStringSchema
	integer = openapi3.NewIntegerSchema
	ints    = func() *openapi3.Schema { return openapi3.NewArraySchema().WithItems(openapi3.NewIntegerSchema()) }
	bearer  = func() *openapi3.Schema { return openapi3.NewStringSchema().WithEnum("Bearer") }
)

// entraFields is the one table of the Entra bodies checked. Token responses: a client
// credentials token carries no scope (docs/entra-mock.md, "App-only tokens"), and
// refresh_token is required only when the token request's scope asks for offline_access
// (checked in checkEntra). Errors carry the fields Entra's one error writer always writes;
// error_uri and suberror are optional.
var entraFields = map[string][]entraField{
	entraToken: {
		{"token_type", bearer, true},
		{"scope", str, false},
		{"expires_in", integer, true},
		{"ext_expires_in", integer, false},
		{"access_token", str, true},
		{"refresh_token", str, false},
		{"foci", str, false},
		{"id_token", str, false},
		{"client_info", str, false},
	},
	entraDeviceCode: {
		{"user_code", str, true},
		{"device_code", str, true},
		{"verification_uri", str, true},
		{"expires_in", integer, true},
		{"interval", integer, true},
		{"message", str, true},
	},
	entraError: {
		{"error", str, true},
		{"error_description", str, true},
		{"error_codes", ints, true},
		{"timestamp", str, true},
		{"trace_id", str, true},
		{"correlation_id", str, true},
		{"error_uri", str, false},
		{"suberror", str, false},
	},
}

// entraSchema builds the schema of one body of entraFields, with extra required fields.
func entraSchema(body string, alsoRequired ...string) *openapi3.SchemaRef {
	s := openapi3.NewObjectSchema()
	for _, f := range entraFields[body] {
		s.WithProperty(f.name, f.schema())
		if f.required {
			s.Required = append(s.Required, f.name)
		}
	}
	s.Required = append(s.Required, alsoRequired...)
	return openapi3.NewSchemaRef("", s)
}

// entraEndpoint names the Entra endpoint a path is, or "".
func entraEndpoint(path string) string {
	p := strings.ToLower(strings.TrimRight(path, "/"))
	switch {
	case strings.HasSuffix(p, "/oauth2/v2.0/token"):
		return entraToken
	case strings.HasSuffix(p, "/oauth2/v2.0/devicecode"):
		return entraDeviceCode
	}
	return ""
}

// checkEntra checks the answer of Entra's token and device-code endpoints; other Entra
// paths (discovery, keys, the mock's control API) and the requests are not checked.
func (c *Checker) checkEntra(ex Exchange) []Violation {
	endpoint := entraEndpoint(ex.URL.Path)
	if endpoint == "" || ex.Status == 0 {
		return nil
	}
	base := Violation{Service: ServiceEntra, Side: SideResponse, Operation: endpoint, Method: ex.Method, Path: ex.URL.Path, Status: ex.Status}
	var schema *openapi3.SchemaRef
	switch {
	case ex.Status >= 400:
		schema = entraSchema(entraError)
	case ex.Status == 200 && endpoint == entraToken:
		var extra []string
		form, _ := url.ParseQuery(string(ex.RequestBody))
		for _, s := range strings.Fields(form.Get("scope")) {
			if s == "offline_access" {
				extra = append(extra, "refresh_token")
			}
		}
		schema = entraSchema(entraToken, extra...)
	case ex.Status == 200:
		schema = entraSchema(entraDeviceCode)
	default:
		v := base
		v.Expected, v.Received = "200 or an error status", strconv.Itoa(ex.Status)
		return []Violation{v}
	}
	return validate(schema, ex.ResponseBody, base)
}
