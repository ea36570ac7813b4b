package veeam

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
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
// it does not share; then it tightens it into the stricter view that responses are
// checked against (see tighten). SPEC8 uses format "uuid", which kin-openapi leaves
// unchecked unless defined; it is defined here so ids are checked too.
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
		if err := tighten(doc); err != nil {
			kin.err = fmt.Errorf("stricter view: %w", err)
			return
		}
		if err := doc.Validate(context.Background()); err != nil {
			kin.err = fmt.Errorf("stricter view: %w", err)
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

// promised lists, per SPEC8 schema, the properties docs/veeam-mock.md promises in every
// response of that schema, which SPEC8 leaves optional (it marks almost nothing required,
// so a body of {} would pass). The stricter view marks them required and, unless listed
// in nullable, not null. Where the promise is written:
//   - RESTExceptionInfo: "Errors are {"message":"…","errorCode":"…","stackTrace":null}";
//     errorCode is null for an unknown path or a 405, so it stays nullable.
//   - OAuthTokenResponse: "The success body has the seed's fields" (userName is the one
//     SPEC8 leaves optional).
//   - RESTHealthReport, RESTRestorePortalSettings, RESTServiceInstance: the Endpoints
//     table gives their bodies.
//   - every resource: "Ids are GUIDs … served in lower case" (id), and the names the
//     Defaults and fixture sections give (organization, job and repository name, proxy
//     host name).
//   - RESTJob: the fixture file's job fields and what job actions set (isEnabled,
//     lastStatus, eTag).
//   - RESTJobSession: "start creates a Running session (Full … otherwise Incremental)",
//     "stop … status Stopped, endTime now", newest first (creationTime), jobId filter.
//   - RESTBackupRepository: the fixture file's repository fields.
//   - RESTRestoreSession: "finished restore sessions started by VBO\Administrator"
//     (initiatedBy, endTime), Explore's Working state (SPEC8 requires the rest).
//   - RESTLoggedInOrganization: the tenant's organization (id, name).
var promised = []struct {
	schema   string
	props    []string
	nullable []string
}{
	{"RESTExceptionInfo", []string{"message", "errorCode", "stackTrace"}, []string{"errorCode", "stackTrace"}},
	{"OAuthTokenResponse", []string{"access_token", "refresh_token", "token_type", "expires_in", "userName", ".issued", ".expires"}, nil},
	{"RESTHealthReport", []string{"status", "entries"}, nil},
	{"RESTRestorePortalSettings", []string{"applicationId", "msalAuthorityUri", "restorePortalUri", "isEnabled"}, nil},
	{"RESTServiceInstance", []string{"installationId", "version"}, nil},
	{"RestOrganizationComposed", []string{"id", "name"}, nil},
	{"RESTLoggedInOrganization", []string{"id", "name"}, nil},
	{"RESTJob", []string{"id", "name", "organizationId", "repositoryId", "isEnabled", "lastStatus", "eTag"}, nil},
	{"RESTJobSession", []string{"id", "jobId", "creationTime", "endTime", "jobSessionConfigType", "status"}, []string{"endTime"}},
	{"RESTBackupRepository", []string{"id", "name", "path", "retentionType", "retentionPeriodType", "retentionFrequencyType", "capacityBytes", "freeSpaceBytes"}, nil},
	{"RESTProxy", []string{"id", "hostName"}, nil},
	{"RESTRestoreSession", []string{"id", "type", "creationTime", "endTime", "state", "result", "initiatedBy"}, []string{"endTime"}},
}

// usedErrorCodes are the errorCode values the mock answers with (errors.go); the
// document's enum must hold them, or the enum check would refuse the mock's own errors.
var usedErrorCodes = []string{codeAccessDenied, codeNotFound, codeValidation, codeOperationConflict}

// tighten turns the loaded document into the stricter view the conformance tests check
// responses against. Only this test binary's copy changes; the embedded copy (package spec) stays the published
// document.
//   - The properties in promised become required (and not null unless allowed), and
//     RESTExceptionInfo.message must not be empty. errorCode keeps the document's own enum
//     (SPEC8 lists the v8 codes, veeam.md §3), checked here to exist.
//   - Every PageOf… requires _links with self ("_links.self is always present").
//   - POST /v8/token's failure answer is RESTExceptionInfo or, the mock's default
//     (errorStyle "oauth", veeam.md §1.4 [R]), {"error","error_description"} with one of
//     the three OAuth codes and nothing else.
func tighten(doc *openapi3.T) error {
	schemas := doc.Components.Schemas
	for _, p := range promised {
		ref := schemas[p.schema]
		if ref == nil || ref.Value == nil {
			return fmt.Errorf("no schema %s", p.schema)
		}
		s := ref.Value
		for _, name := range p.props {
			prop := s.Properties[name]
			if prop == nil || prop.Value == nil {
				return fmt.Errorf("%s has no property %s", p.schema, name)
			}
			if !slices.Contains(s.Required, name) {
				s.Required = append(s.Required, name)
			}
			// A $ref'd property schema is shared with other schemas; leave its nullability.
			if prop.Ref == "" && !slices.Contains(p.nullable, name) {
				prop.Value.Nullable = false
			}
		}
	}
	info := schemas["RESTExceptionInfo"].Value
	info.Properties["message"].Value.MinLength = 1
	enum := info.Properties["errorCode"].Value.Enum
	for _, code := range usedErrorCodes {
		if !slices.Contains(enum, any(code)) {
			return fmt.Errorf("RESTExceptionInfo.errorCode has no enum value %s (enum %v)", code, enum)
		}
	}
	pages := 0
	for name, ref := range schemas {
		if !strings.HasPrefix(name, "PageOf") || ref.Value.Properties["_links"] == nil {
			continue
		}
		dict := *schemas["RESTLinkHALDictionary"].Value // a copy: resources share the original
		dict.Required = []string{"self"}
		ref.Value.Properties["_links"] = openapi3.NewSchemaRef("", &dict)
		ref.Value.Required = append(ref.Value.Required, "_links")
		pages++
	}
	if pages == 0 {
		return fmt.Errorf("no PageOf… schema with _links")
	}
	op := doc.Paths.Value("/v8/token").Post
	if op == nil || op.Responses.Default() == nil {
		return fmt.Errorf("POST /v8/token has no default response")
	}
	oauth := openapi3.NewObjectSchema().
		WithProperty("error", openapi3.NewStringSchema().WithEnum(oauthInvalidRequest, oauthInvalidGrant, oauthUnsupportedGrant)).
		WithProperty("error_description", openapi3.NewStringSchema().WithMinLength(1))
	oauth.Required = []string{"error", "error_description"}
	no := false
	oauth.AdditionalProperties = openapi3.AdditionalProperties{Has: &no}
	tokenErr := &openapi3.Schema{OneOf: openapi3.SchemaRefs{schemas["RESTExceptionInfo"], openapi3.NewSchemaRef("", oauth)}}
	op.Responses.Set("default", &openapi3.ResponseRef{Value: openapi3.NewResponse().
		WithDescription("RESTExceptionInfo, or the OAuth error the mock answers by default").
		WithJSONSchema(tokenErr)})
	return nil
}

// checkAgainstSpec validates one response against the operation SPEC8 declares for
// its route and reports whether a validation ran. It skips what the document cannot
// judge: the control API, unknown routes, 405s for methods the document lacks, and 401s
// with an empty body, which the document does not describe (SPEC8 declares no 401; real
// servers answer with an empty body, veeam.md §3 [R]) — tests assert those directly. A
// 401 with a body (the token endpoint's refusals in errorStyle "veeam") is checked.
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
	if err != nil || isControlPath(u.Path) || (w.Code == http.StatusUnauthorized && w.Body.Len() == 0) {
		return false, nil
	}
	canon, ok := canonicalPath(u.EscapedPath())
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
	// GET …/{someId}: the object answered is the one asked for.
	if method == http.MethodGet && w.Code == http.StatusOK && strings.HasSuffix(route.Path, "}") {
		if err := answersTheObjectAskedFor(route, params, w.Body.Bytes()); err != nil {
			return true, err
		}
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

// The validation is not vacuous: bodies that break the document, or the stricter view of
// it (tighten), are caught, including a token response without .issued (the "*/*"
// response is really checked), errors that are {} or carry an unknown code, resources
// without their id, and a GET by id answering another object.
func TestSpecCheckCatchesBrokenBodies(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	fx := DefaultFixtures()
	job, other, proxy := fx.Jobs[0].ID, fx.Jobs[1].ID, fx.Proxies[0].ID
	jobBody := func(id string) string {
		return `{"id":"` + id + `","name":"j","organizationId":"` + fx.Jobs[0].OrganizationID + `","repositoryId":"` + fx.Jobs[0].RepositoryID +
			`","isEnabled":true,"lastStatus":"Success","eTag":1,"_links":{"self":{"href":"/v8/Jobs/` + id + `"}}}`
	}
	var (
		token        = `{"access_token":"a","refresh_token":"r","token_type":"bearer","expires_in":3600,"userName":"u",".issued":"2026-01-05T09:00:00.0000000Z",".expires":"2026-01-05T10:00:00.0000000Z"}`
		emptyPage    = `{"offset":0,"limit":30,"results":[],"_links":{"self":{"href":"/v8/Jobs?offset=0&limit=30"}}}`
		instance     = `{"installationId":"11111111-2222-4333-8444-555555555555","version":"8.0.5.20"}`
		portal       = `{"applicationId":"5e0c7a2b-9f41-4d86-a3b7-c2e8f1d60a95","msalAuthorityUri":"https://login.mock/organizations","restorePortalUri":"","isEnabled":false}`
		proxyBody    = `{"id":"` + proxy + `","hostName":"vb365proxy01"}`
		notFoundBody = `{"message":"Job with id \"x\" was not found.","errorCode":"ResourceNotFound","stackTrace":null}`
		oauth        = `{"error":"invalid_grant","error_description":"d"}`
	)
	for _, tc := range []struct {
		name, method, path string
		status             int
		good, bad          string // the same response with a good body passes, so the failure is the bad body's
	}{
		{"token response without .issued", "POST", "/v8/token", 200, token, `{"access_token":"a","refresh_token":"r","token_type":"bearer","expires_in":3600,".expires":"2026-01-05T10:00:00.0000000Z","userName":"u"}`},
		{"token response with a string expires_in", "POST", "/v8/token", 200, token, `{"access_token":"a","refresh_token":"r","token_type":"bearer","expires_in":"3600",".issued":"x",".expires":"y","userName":"u"}`},
		{"token response without userName", "POST", "/v8/token", 200, token, `{"access_token":"a","refresh_token":"r","token_type":"bearer","expires_in":3600,".issued":"2026-01-05T09:00:00.0000000Z",".expires":"2026-01-05T10:00:00.0000000Z"}`},
		{"organization of an unknown type", "GET", "/v8/Organizations", 200, emptyPage, `{"offset":0,"limit":30,"results":[{"id":"` + fx.Organizations[0].ID + `","name":"o","type":"Mars"}],"_links":{"self":{"href":"/v8/Organizations"}}}`},
		{"page without limit", "GET", "/v8/Jobs", 200, emptyPage, `{"offset":0,"results":[],"_links":{"self":{"href":"/v8/Jobs"}}}`},
		{"page without _links", "GET", "/v8/Jobs", 200, emptyPage, `{"offset":0,"limit":30,"results":[]}`},
		{"page without _links.self", "GET", "/v8/Jobs", 200, emptyPage, `{"offset":0,"limit":30,"results":[],"_links":{"next":{"href":"/v8/Jobs?offset=30&limit=30"}}}`},
		{"page with a job without id", "GET", "/v8/Jobs", 200, emptyPage, `{"offset":0,"limit":30,"results":[{"name":"j"}],"_links":{"self":{"href":"/v8/Jobs"}}}`},
		{"service instance id that is not a UUID", "GET", "/v8/ServiceInstance", 200, instance, `{"installationId":"not-a-uuid","version":"8.0.5.20"}`},
		{"empty service instance", "GET", "/v8/ServiceInstance", 200, instance, `{}`},
		{"empty restore portal settings", "GET", "/v8/RestorePortalSettings", 200, portal, `{}`},
		{"empty proxy", "GET", "/v8/Proxies/" + proxy, 200, proxyBody, `{}`},
		{"proxy without id", "GET", "/v8/Proxies/" + proxy, 200, proxyBody, `{"hostName":"vb365proxy01"}`},
		{"proxy with a null id", "GET", "/v8/Proxies/" + proxy, 200, proxyBody, `{"id":null,"hostName":"vb365proxy01"}`},
		{"job by id answering another job", "GET", "/v8/Jobs/" + job, 200, jobBody(job), jobBody(other)},
		{"job by id answering its id in upper case", "GET", "/v8/Jobs/" + job, 200, jobBody(job), jobBody(strings.ToUpper(job))},
		{"error {}", "GET", "/v8/Jobs/" + job, 404, notFoundBody, `{}`},
		{"error without message", "GET", "/v8/Jobs/" + job, 404, notFoundBody, `{"errorCode":"ResourceNotFound","stackTrace":null}`},
		{"error with an empty message", "GET", "/v8/Jobs/" + job, 404, notFoundBody, `{"message":"","errorCode":"ResourceNotFound","stackTrace":null}`},
		{"error without errorCode", "GET", "/v8/Jobs/" + job, 404, notFoundBody, `{"message":"m","stackTrace":null}`},
		{"error with an unknown errorCode", "GET", "/v8/Jobs/" + job, 404, notFoundBody, `{"message":"m","errorCode":"NotFound","stackTrace":null}`},
		{"error without stackTrace", "GET", "/v8/Jobs/" + job, 404, notFoundBody, `{"message":"m","errorCode":"ResourceNotFound"}`},
		{"token error {}", "POST", "/v8/token", 400, oauth, `{}`},
		{"token error without a description", "POST", "/v8/token", 400, oauth, `{"error":"invalid_grant"}`},
		{"token error with an unknown OAuth code", "POST", "/v8/token", 400, oauth, `{"error":"access_denied","error_description":"d"}`},
		{"token error with extra fields", "POST", "/v8/token", 400, oauth, `{"error":"invalid_grant","error_description":"d","hint":"h"}`},
		{"token error in Veeam's shape without message", "POST", "/v8/token", 401, `{"message":"m","errorCode":null,"stackTrace":null}`, `{"errorCode":null,"stackTrace":null}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if validated, err := validateResponse(t, e.srv, tc.method, tc.path, "", "", recorded(tc.status, tc.good)); !validated || err != nil {
				t.Fatalf("the good body %s fails (validated %v): %v", tc.good, validated, err)
			}
			validated, err := validateResponse(t, e.srv, tc.method, tc.path, "", "", recorded(tc.status, tc.bad))
			if !validated || err == nil {
				t.Fatalf("%s %s → %d %s passed validation (validated %v)", tc.method, tc.path, tc.status, tc.bad, validated)
			}
			t.Logf("caught: %s", strings.SplitN(err.Error(), "\n", 2)[0])
		})
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
	return fillPath(m.leaf.routes[0].template, m.values[:m.n]), true
}

// keyByOperation names the property that identifies the object of a GET by id whose
// schema has neither a property named like the path's last parameter, nor name for a
// …Name parameter, nor id. RESTAmazonInstanceType has no name: its type ("t3.micro") is
// the instance type's name.
var keyByOperation = map[string]string{
	"EC2Resources_GetInstanceTypeByName": "type",
}

// answersTheObjectAskedFor checks that a GET …/{param} answered the object the path
// names. The property that names it is read from the document: the property named like
// the parameter (subscriptionId, postId, versionId), else name for a …Name parameter
// (resourceGroupName, Name), else id, unless keyByOperation says otherwise. A GUID is
// answered in lower case; other keys match as the mock matches them, ignoring case. A
// version (…/{xId}/Versions/{versionId}) is the versioned object's: its id is xId. Where
// the document answers an array (the EC2 lookups by name), each element must be the
// object asked for, and there must be one.
func answersTheObjectAskedFor(route *routers.Route, params map[string]string, body []byte) error {
	op := route.Operation.OperationID
	tpl := strings.Split(strings.Trim(route.Path, "/"), "/")
	var vars []string
	for _, seg := range tpl {
		if strings.HasPrefix(seg, "{") {
			vars = append(vars, strings.Trim(seg, "{}"))
		}
	}
	param := vars[len(vars)-1]
	resp := route.Operation.Responses.Status(http.StatusOK)
	if resp == nil || resp.Value.Content.Get("application/json") == nil {
		return fmt.Errorf("%s answered 200, which the document does not describe as JSON", op)
	}
	schema := resp.Value.Content.Get("application/json").Schema.Value
	array := schema.Type.Is(openapi3.TypeArray)
	if array {
		schema = schema.Items.Value
	}
	props := propertiesOf(schema)
	key, ok := keyByOperation[op]
	switch {
	case ok:
	case props[param]:
		key = param
	case strings.HasSuffix(strings.ToLower(param), "name"):
		key = "name"
	default:
		key = "id"
	}
	if !props[key] {
		return fmt.Errorf("%s: its schema has no property %s to name the object by; say in keyByOperation which one does", op, key)
	}
	unescaped := func(v string) string { // kin-openapi's router gives the segment as sent: a%2Fb
		if u, err := url.PathUnescape(v); err == nil {
			return u
		}
		return v
	}
	want := map[string]string{key: unescaped(params[param])}
	if n := len(tpl); n >= 4 && strings.EqualFold(tpl[n-2], "Versions") && key != "id" && props["id"] {
		want["id"] = unescaped(params[vars[len(vars)-2]])
	}
	var objs []map[string]json.RawMessage
	if array {
		if err := json.Unmarshal(body, &objs); err != nil || len(objs) == 0 {
			return fmt.Errorf("%s with %s=%s answered no object: %.200s", op, param, params[param], body)
		}
	} else {
		var o map[string]json.RawMessage
		if err := json.Unmarshal(body, &o); err != nil {
			return fmt.Errorf("%s with %s=%s answered no object: %.200s", op, param, params[param], body)
		}
		objs = append(objs, o)
	}
	for _, o := range objs {
		for prop, value := range want {
			if !sameKey(value, o[prop]) {
				got := "none"
				if o[prop] != nil {
					got = string(o[prop])
				}
				return fmt.Errorf("%s with %s=%s answered the object with %s %s", op, param, params[param], prop, got)
			}
		}
	}
	return nil
}

// sameKey reports whether an answered key is the path's value: a GUID in lower case
// ("Ids are GUIDs in any case and are served in lower case"), a number by its digits, any
// other string ignoring case.
func sameKey(value string, got json.RawMessage) bool {
	if got == nil {
		return false
	}
	var n json.Number
	if err := json.Unmarshal(got, &n); err == nil {
		return n.String() == value
	}
	var s string
	if err := json.Unmarshal(got, &s); err != nil {
		return false
	}
	if guidPattern.MatchString(value) {
		return s == strings.ToLower(value)
	}
	return strings.EqualFold(s, value)
}

// guidPattern is a GUID in any case.
var guidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// propertiesOf is the set of a schema's property names, allOf parts included.
func propertiesOf(s *openapi3.Schema) map[string]bool {
	out := map[string]bool{}
	var add func(s *openapi3.Schema)
	add = func(s *openapi3.Schema) {
		for name := range s.Properties {
			out[name] = true
		}
		for _, part := range s.AllOf {
			if part.Value != nil {
				add(part.Value)
			}
		}
	}
	add(s)
	return out
}

// recorded is a recorded JSON response.
func recorded(status int, body string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.WriteString(body)
	return w
}
