package veeam

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// specPath is Veeam's published v8 OpenAPI document (testdata/README.md says where it
// comes from). Tests never read it from anywhere else.
const specPath = "testdata/vb365_rest_v8.openapi.json"

var spec struct {
	once   sync.Once
	doc    *openapi3.T
	router routers.Router
	err    error
}

// loadSpec loads and validates the document once per test binary. SPEC8 uses format
// "uuid", which kin-openapi leaves unchecked unless defined; it is defined here so ids
// are checked too.
func loadSpec(t *testing.T) routers.Router {
	t.Helper()
	spec.once.Do(func() {
		openapi3.DefineStringFormatValidator("uuid", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForUUIDOfRFC9562))
		doc, err := openapi3.NewLoader().LoadFromFile(specPath)
		if err != nil {
			spec.err = err
			return
		}
		if err := doc.Validate(context.Background()); err != nil {
			spec.err = err
			return
		}
		spec.doc = doc
		spec.router, spec.err = gorillamux.NewRouter(doc) // servers: https://127.0.0.1:4443
	})
	if spec.err != nil {
		t.Fatalf("load %s: %v", specPath, spec.err)
	}
	return spec.router
}

// checkAgainstSpec validates one response against the operation SPEC8 declares for
// its route and reports whether a validation ran. It skips what the document cannot
// judge: the control API, unknown routes, 405s for methods the document lacks, and 401s,
// whose empty body the document does not describe (SPEC8 declares no 401; real servers
// answer with an empty body, veeam.md §3 [R]) — tests assert those directly.
//
// The token endpoint's 200 is declared "*/*"; kin-openapi's Content.Get falls back to
// that entry and decodes the body by its actual Content-Type (application/json), so
// OAuthTokenResponse is checked in full.
func checkAgainstSpec(t *testing.T, s *Server, method, target, ctype, body string, w *httptest.ResponseRecorder) bool {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil || isControlPath(u.Path) || w.Code == http.StatusUnauthorized {
		return false
	}
	canon, leaf := s.routes.resolve(u.Path)
	if leaf == nil {
		return false
	}
	router := loadSpec(t)
	req := httptest.NewRequest(method, "https://127.0.0.1:4443"+canon+"?"+u.RawQuery, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	route, params, err := router.FindRoute(req)
	if err != nil {
		if w.Code != http.StatusMethodNotAllowed {
			t.Errorf("%s %s is served but not in %s: %v", method, canon, specPath, err)
		}
		return false
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 w.Code,
		Header:                 w.Header(),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(w.Body.Bytes())
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s → %d does not match %s: %v\nbody: %s", method, target, w.Code, route.Operation.OperationID, err, w.Body)
	}
	return true
}
