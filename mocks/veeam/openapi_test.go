package veeam

import (
	"context"
	"fmt"
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

	"github.com/vbharness/vbharness/mocks/veeam/spec"
)

// specPath names Veeam's published v8 OpenAPI document in messages: the copy embedded in
// package spec (spec/README.md says where it comes from). Tests never read it from
// anywhere else.
const specPath = "spec/vb365_rest_v8.openapi.json"

var kin struct {
	once   sync.Once
	doc    *openapi3.T
	router routers.Router
	err    error
}

// loadSpec loads and validates the document once per test binary with kin-openapi's own
// loader, independently of package spec's, so the mock's answers are judged by a reader
// it does not share. SPEC8 uses format "uuid", which kin-openapi leaves unchecked unless
// defined; it is defined here so ids are checked too.
func loadSpec(t testing.TB) routers.Router {
	t.Helper()
	kin.once.Do(func() {
		openapi3.DefineStringFormatValidator("uuid", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForUUIDOfRFC9562))
		doc, err := openapi3.NewLoader().LoadFromData(spec.JSON())
		if err != nil {
			kin.err = err
			return
		}
		if err := doc.Validate(context.Background()); err != nil {
			kin.err = err
			return
		}
		kin.doc = doc
		kin.router, kin.err = gorillamux.NewRouter(doc) // servers: https://127.0.0.1:4443
	})
	if kin.err != nil {
		t.Fatalf("load %s: %v", specPath, kin.err)
	}
	return kin.router
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
func checkAgainstSpec(t testing.TB, s *Server, method, target, ctype, body string, w *httptest.ResponseRecorder) bool {
	t.Helper()
	validated, err := validateResponse(t, s, method, target, ctype, body, w)
	if err != nil {
		t.Errorf("%s %s → %d: %v\nbody: %s", method, target, w.Code, err, w.Body)
	}
	return validated
}

// validateResponse is checkAgainstSpec's check, returning the error instead.
func validateResponse(t testing.TB, s *Server, method, target, ctype, body string, w *httptest.ResponseRecorder) (bool, error) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil || isControlPath(u.Path) || w.Code == http.StatusUnauthorized {
		return false, nil
	}
	canon, ok := canonicalPath(u.Path)
	if !ok {
		return false, nil
	}
	router := loadSpec(t)
	req := httptest.NewRequest(method, "https://127.0.0.1:4443"+canon+"?"+u.RawQuery, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	route, params, err := router.FindRoute(req)
	if err != nil {
		if w.Code == http.StatusMethodNotAllowed {
			return false, nil
		}
		return false, fmt.Errorf("%s %s is served but not in %s: %w", method, canon, specPath, err)
	}
	if resp := route.Operation.Responses.Status(w.Code); resp != nil && resp.Value.Content["application/octet-stream"] != nil {
		// A binary answer: the document gives it the schema {"type": "object"}, which no
		// byte stream satisfies; its media type is what can be checked.
		if ct := w.Header().Get("Content-Type"); ct != "application/octet-stream" {
			return true, fmt.Errorf("%s: Content-Type %q, want application/octet-stream", route.Operation.OperationID, ct)
		}
		return true, nil
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 w.Code,
		Header:                 w.Header(),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(w.Body.Bytes())
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return true, fmt.Errorf("does not match %s: %w", route.Operation.OperationID, err)
	}
	return true, nil
}

// Acceptance 2: every route the mock serves answers, in success and in error, with
// bodies that validate against Veeam's published v8 document. Each case must actually
// be validated (not skipped); 401s, which the document does not describe, are checked
// for their empty body instead.
func TestEveryResponseValidatesAgainstVeeamsOpenAPI(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	admin := e.adminLogin()
	tenant := e.tenantLogin()
	job := DefaultFixtures().Jobs[1].ID
	missing := "00000000-0000-4000-8000-000000000009"
	explore := e.do("POST", "/v8/Organization/Explore", jsonType, `{"type":"Veod"}`, bearer(tenant.AccessToken)...)
	ownSession := decode[map[string]any](t, explore)["id"].(string)
	type req struct {
		method, path, ctype, body string
		tok                       string
		status                    int
	}
	a, tn := admin.AccessToken, tenant.AccessToken
	pw := url.QueryEscape(DefaultAdminPassword)
	cases := []req{
		{"POST", "/v8/token", formType, "grant_type=password&username=Administrator&password=" + pw, "", 200},
		{"POST", "/v8/token", jsonType, `{"grant_type":"refresh_token","refresh_token":"` + e.adminLogin().RefreshToken + `"}`, "", 200},
		{"POST", "/v8/token", formType, seedForm(DefaultOrganization, tokenResponseJSON(e.entra.mint(t, entraToken{}))), "", 200},
		{"POST", "/v8/token", formType, "grant_type=password&username=Administrator&password=x", "", 400},
		{"POST", "/v8/token", formType, "grant_type=nope", "", 400},
		{"GET", "/v8/Health", "", "", "", 200},
		{"GET", "/v8/RestorePortalSettings", "", "", "", 200},
		{"GET", "/v8/ServiceInstance", "", "", a, 200},
		{"GET", "/v8/ServiceInstance", "", "", tn, 403},
		{"GET", "/v8/Organizations", "", "", a, 200},
		{"GET", "/v8/Organizations?extendedView=true&limit=1", "", "", a, 200},
		{"GET", "/v8/Organizations?limit=0", "", "", a, 400},
		{"GET", "/v8/Organizations/" + DefaultFixtures().Organizations[0].ID + "?extendedView=true", "", "", a, 200},
		{"GET", "/v8/Organizations/" + missing, "", "", a, 404},
		{"GET", "/v8/Jobs", "", "", a, 200},
		{"GET", "/v8/Jobs?offset=30", "", "", a, 200},
		{"GET", "/v8/Jobs/" + job, "", "", a, 200},
		{"GET", "/v8/Jobs/" + missing, "", "", a, 404},
		{"POST", "/v8/Jobs/" + job + "/start", jsonType, `{"full":false}`, a, 200},
		{"POST", "/v8/Jobs/" + job + "/start", jsonType, `{}`, a, 400},
		{"POST", "/v8/Jobs/" + job + "/stop", "", "", a, 204},
		{"POST", "/v8/Jobs/" + job + "/disable", "", "", a, 204},
		{"POST", "/v8/Jobs/" + job + "/enable", "", "", a, 204},
		{"GET", "/v8/JobSessions", "", "", a, 200},
		{"GET", "/v8/JobSessions?jobId=" + job + "&limit=2", "", "", a, 200},
		{"GET", "/v8/JobSessions/" + DefaultFixtures().JobSessions[0].ID, "", "", a, 200},
		{"GET", "/v8/BackupRepositories", "", "", a, 200},
		{"GET", "/v8/BackupRepositories/" + DefaultFixtures().Repositories[0].ID, "", "", a, 200},
		{"GET", "/v8/Proxies", "", "", a, 200},
		{"GET", "/v8/Proxies/" + DefaultFixtures().Proxies[0].ID, "", "", a, 200},
		{"GET", "/v8/RestoreSessions", "", "", a, 200},
		{"GET", "/v8/RestoreSessions", "", "", tn, 200},
		{"GET", "/v8/RestoreSessions/" + ownSession, "", "", tn, 200},
		{"GET", "/v8/RestoreSessions/" + DefaultFixtures().RestoreSessions[0].ID, "", "", tn, 403},
		{"POST", "/v8/RestoreSessions/" + ownSession + "/Stop", "", "", tn, 204},
		{"GET", "/v8/Organization", "", "", tn, 200},
		{"GET", "/v8/Organization", "", "", a, 403},
		{"POST", "/v8/Organization/Explore", jsonType, `{"type":"Vet"}`, tn, 201},
		{"POST", "/v8/Organization/Explore", jsonType, `{"type":"Nope"}`, tn, 400},
		{"DELETE", "/v8/Organizations/" + missing, "", "", a, 404},
		{"POST", "/v8/token/logout", "", "", a, 204},
	}
	for _, c := range cases {
		var hdr []string
		if c.tok != "" {
			hdr = bearer(c.tok)
		}
		w := e.do(c.method, c.path, c.ctype, c.body, hdr...)
		if w.Code != c.status {
			t.Errorf("%s %s: %d, want %d: %s", c.method, c.path, w.Code, c.status, w.Body)
			continue
		}
		if !checkAgainstSpec(t, e.srv, c.method, c.path, c.ctype, c.body, w) {
			t.Errorf("%s %s → %d was not validated against the document", c.method, c.path, w.Code)
		}
	}
	if w := e.do("GET", "/v8/Organizations", "", "", bearer(a)...); w.Code != 401 || w.Body.Len() != 0 {
		t.Errorf("after logout: %d %q", w.Code, w.Body)
	}
}

// The seed's exact step-4 request is a valid request for the token operation.
func TestTheSeedsTokenRequestMatchesVeeamsOpenAPI(t *testing.T) {
	t.Parallel()
	router := loadSpec(t)
	body := `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&client_id=abc.onmicrosoft.com&assertion={"token_type":"Bearer","scope":"...","expires_in":3599,"ext_expires_in":3599,"access_token":"<access_token>","refresh_token":"<refresh_token>"}`
	req := httptest.NewRequest("POST", "https://127.0.0.1:4443/v8/token", strings.NewReader(body))
	req.Header.Set("Content-Type", formType)
	route, params, err := router.FindRoute(req)
	if err != nil {
		t.Fatal(err)
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		t.Errorf("the seed's request: %v", err)
	}
}

// The validation is not vacuous: bodies that break the document are caught, including
// a token response without .issued (the "*/*" response is really checked).
func TestSpecCheckCatchesBrokenBodies(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	for _, tc := range []struct{ method, path, body string }{
		{"POST", "/v8/token", `{"access_token":"a","refresh_token":"r","token_type":"bearer","expires_in":3600,".expires":"2026-01-05T10:00:00.0000000Z"}`},
		{"POST", "/v8/token", `{"access_token":"a","refresh_token":"r","token_type":"bearer","expires_in":"3600",".issued":"x",".expires":"y"}`},
		{"GET", "/v8/Organizations", `{"offset":0,"limit":30,"results":[{"type":"Mars"}]}`},
		{"GET", "/v8/Jobs", `{"offset":0,"results":[]}`},
		{"GET", "/v8/ServiceInstance", `{"installationId":"not-a-uuid","version":"8.0.5.20"}`},
	} {
		w := httptest.NewRecorder()
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(200)
		w.WriteString(tc.body)
		validated, err := validateResponse(t, e.srv, tc.method, tc.path, "", "", w)
		if !validated || err == nil {
			t.Errorf("%s %s with %s passed validation (validated %v)", tc.method, tc.path, tc.body, validated)
		}
	}
}

// canonicalPath is a path of the document spelled as the document spells it (the mock
// routes case-insensitively; kin-openapi's router does not), or false for paths outside
// the document.
func canonicalPath(path string) (string, bool) {
	var m match
	if !table().tree.resolve(path, &m) || m.leaf.routes[0].op == nil {
		return "", false
	}
	return fillTemplate(m.leaf.routes[0].template, m.values[:m.n]), true
}
