package veeam

import (
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vbharness/vbharness/mocks/keys"
)

// Missing, malformed, foreign-signed, expired and revoked bearer tokens all get 401 with
// an empty body and WWW-Authenticate: Bearer.
func TestUnauthenticatedRequestsGetAnEmpty401(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	good := e.adminLogin()
	revoked := e.adminLogin()
	e.do("POST", "/v8/token/logout", "", "", bearer(revoked.AccessToken)...)
	// A token with the exact claims of a valid one, signed by another key.
	parts := strings.Split(good.AccessToken, ".")
	foreign, err := signToken(keys.Pooled(3), decodeClaims(t, good.AccessToken))
	if err != nil {
		t.Fatal(err)
	}
	expiring := e.adminLogin()
	for _, tc := range []struct {
		name string
		hdr  []string
		prep func()
	}{
		{name: "no Authorization header"},
		{name: "Basic credentials", hdr: []string{"Authorization", "Basic QWRtaW5pc3RyYXRvcjp4"}},
		{name: "Bearer without a token", hdr: []string{"Authorization", "Bearer "}},
		{name: "malformed token", hdr: bearer("not-a-jwt")},
		{name: "altered signature", hdr: bearer(parts[0] + "." + parts[1] + ".AAAA")},
		{name: "foreign-signed token", hdr: bearer(foreign)},
		{name: "refresh token used as a bearer token", hdr: bearer(good.RefreshToken)},
		{name: "revoked token", hdr: bearer(revoked.AccessToken)},
		{name: "expired token", hdr: bearer(expiring.AccessToken), prep: func() { e.clk.Advance(time.Hour) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.prep != nil {
				tc.prep()
			}
			for _, path := range []string{"/v8/Organizations", "/v8/ServiceInstance", "/v8/Organization", "/v8/RestoreSessions"} {
				w := e.do("GET", path, "", "", tc.hdr...)
				if w.Code != 401 || w.Body.Len() != 0 || w.Header().Get("WWW-Authenticate") != "Bearer" {
					t.Errorf("GET %s: %d %q WWW-Authenticate=%q, want 401, empty body, Bearer", path, w.Code, w.Body, w.Header().Get("WWW-Authenticate"))
				}
			}
		})
	}
}

func decodeClaims(t *testing.T, tok string) tokenClaims {
	t.Helper()
	var c tokenClaims
	if err := decodeJSONBytes(jwtPart(t, tok, 1), &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// The anonymous routes answer without a token; an unknown version's path is 404 even
// without one (Cenvora's version probe, veeam.md §3).
func TestAnonymousRoutes(t *testing.T) {
	t.Parallel()
	e := newTestServer(t, WithAuthority("https://login.mock/"))
	if w := e.do("GET", "/v8/Health", "", ""); w.Code != 200 || decode[map[string]any](t, w)["status"] != "Healthy" {
		t.Errorf("Health: %d %s", w.Code, w.Body)
	}
	w := e.do("GET", "/v8/RestorePortalSettings", "", "")
	rp := decode[map[string]any](t, w)
	if w.Code != 200 || rp["applicationId"] != DefaultRestorePortalAppID || rp["msalAuthorityUri"] != "https://login.mock/organizations" || rp["isEnabled"] != false {
		t.Errorf("RestorePortalSettings: %d %v", w.Code, rp)
	}
	if w := e.do("GET", "/v7/ServiceInstance", "", ""); w.Code != 404 {
		t.Errorf("GET /v7/ServiceInstance: %d, want 404", w.Code)
	}
	if w := e.do("GET", "/v8/ServiceInstance", "", ""); w.Code != 401 {
		t.Errorf("anonymous GET /v8/ServiceInstance: %d, want 401", w.Code)
	}
}

func TestServiceInstanceIsTheSeedsBuild(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	w := e.do("GET", "/v8/ServiceInstance", "", "", bearer(e.adminLogin().AccessToken)...)
	if si := decode[ServiceInstance](t, w); w.Code != 200 || si.Version != "8.0.5.20" || si.InstallationID == "" {
		t.Errorf("%d %+v", w.Code, si)
	}
}

type page_ struct {
	Offset  int                              `json:"offset"`
	Limit   int                              `json:"limit"`
	Results []map[string]any                 `json:"results"`
	Links   map[string]struct{ Href string } `json:"_links"`
}

// Paging as Veeam does it: limit 30 by default, offset, relative /v8/ links with the
// filters repeated, next only while more remain, no total count.
func TestPaging(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	tok := bearer(e.adminLogin().AccessToken)
	get := func(path string) page_ {
		t.Helper()
		w := e.do("GET", path, "", "", tok...)
		if w.Code != 200 {
			t.Fatalf("GET %s: %d %s", path, w.Code, w.Body)
		}
		if strings.Contains(w.Body.String(), "totalCount") {
			t.Errorf("GET %s has a totalCount", path)
		}
		return decode[page_](t, w)
	}
	first := get("/v8/Jobs")
	if first.Offset != 0 || first.Limit != 30 || len(first.Results) != 30 {
		t.Fatalf("first page: offset %d limit %d results %d", first.Offset, first.Limit, len(first.Results))
	}
	if first.Links["self"].Href != "/v8/Jobs?offset=0&limit=30" || first.Links["next"].Href != "/v8/Jobs?offset=30&limit=30" {
		t.Errorf("first page links = %v", first.Links)
	}
	if _, ok := first.Links["prev"]; ok {
		t.Errorf("first page has prev: %v", first.Links)
	}
	second := get(first.Links["next"].Href)
	if len(second.Results) != 15 || second.Links["prev"].Href != "/v8/Jobs?offset=0&limit=30" || second.Links["first"].Href != "/v8/Jobs?offset=0&limit=30" {
		t.Errorf("second page: %d results, links %v", len(second.Results), second.Links)
	}
	if _, ok := second.Links["next"]; ok {
		t.Errorf("last page has next: %v", second.Links)
	}

	// Following next with a small limit visits every job once.
	seen := map[any]bool{}
	for href := "/v8/Jobs?limit=7"; href != ""; {
		p := get(href)
		for _, r := range p.Results {
			if seen[r["id"]] {
				t.Fatalf("job %v twice", r["id"])
			}
			seen[r["id"]] = true
		}
		href = p.Links["next"].Href
	}
	if len(seen) != 45 {
		t.Errorf("followed next links to %d jobs, want 45", len(seen))
	}

	org := first.Results[0]["organizationId"].(string)
	filtered := get("/v8/Jobs?OrganizationId=" + strings.ToUpper(org) + "&limit=10")
	if filtered.Links["next"].Href != "/v8/Jobs?organizationId="+org+"&offset=10&limit=10" {
		t.Errorf("filter not repeated in next: %v", filtered.Links)
	}
	for _, r := range filtered.Results {
		if r["organizationId"] != org {
			t.Errorf("filtered page has a job of %v", r["organizationId"])
		}
	}
	if p := get("/v8/Jobs?limit=10000"); len(p.Results) != 45 || p.Links["next"].Href != "" {
		t.Errorf("limit=10000: %d results, links %v", len(p.Results), p.Links)
	}
	if p := get("/v8/Jobs?offset=500"); len(p.Results) != 0 || p.Results == nil {
		t.Errorf("offset past the end: %v", p.Results)
	}
	if p := get("/v8/JobSessions?limit=5"); len(p.Results) != 5 || p.Links["next"].Href != "/v8/JobSessions?offset=5&limit=5" {
		t.Errorf("job sessions: %d results, links %v", len(p.Results), p.Links)
	}
	for _, path := range []string{"/v8/Organizations", "/v8/BackupRepositories", "/v8/Proxies", "/v8/RestoreSessions"} {
		if p := get(path); len(p.Results) == 0 || p.Links["self"].Href != path+"?offset=0&limit=30" {
			t.Errorf("GET %s: %d results, self %q", path, len(p.Results), p.Links["self"].Href)
		}
	}
}

// Invalid parameters get 400 ParameterValidationFailure; unknown ids get 404
// ResourceNotFound; both in RESTExceptionInfo's exact shape.
func TestErrorShapes(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	tok := bearer(e.adminLogin().AccessToken)
	missing := "00000000-0000-4000-8000-000000000001"
	for _, tc := range []struct {
		name, path string
		status     int
		code       string
		contains   string
	}{
		{"limit 0", "/v8/Jobs?limit=0", 400, "ParameterValidationFailure", "limit"},
		{"limit above 10000", "/v8/Organizations?limit=10001", 400, "ParameterValidationFailure", "from 1 to 10000"},
		{"limit not a number", "/v8/Proxies?limit=ten", 400, "ParameterValidationFailure", "'ten'"},
		{"negative offset", "/v8/JobSessions?offset=-1", 400, "ParameterValidationFailure", "offset"},
		{"filter that is not a GUID", "/v8/Jobs?organizationId=abc", 400, "ParameterValidationFailure", "organizationId"},
		{"unknown job status", "/v8/JobSessions?status=Sleeping", 400, "ParameterValidationFailure", "status"},
		{"bad boolean", "/v8/Organizations?extendedView=yes", 400, "ParameterValidationFailure", "extendedView"},
		{"bad date-time", "/v8/RestoreSessions?startTimeFrom=yesterday", 400, "ParameterValidationFailure", "startTimeFrom"},
		{"id that is not a GUID", "/v8/Jobs/42", 400, "ParameterValidationFailure", "jobId"},
		{"unknown organization", "/v8/Organizations/" + missing, 404, "ResourceNotFound", missing},
		{"unknown job", "/v8/Jobs/" + missing, 404, "ResourceNotFound", "Job with id"},
		{"unknown job session", "/v8/JobSessions/" + missing, 404, "ResourceNotFound", missing},
		{"unknown repository", "/v8/BackupRepositories/" + missing, 404, "ResourceNotFound", missing},
		{"unknown proxy", "/v8/Proxies/" + missing, 404, "ResourceNotFound", missing},
		{"unknown restore session", "/v8/RestoreSessions/" + missing, 404, "ResourceNotFound", missing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := e.do("GET", tc.path, "", "", tok...)
			if w.Code != tc.status {
				t.Fatalf("%d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if got := orderedKeys(t, w.Body.Bytes()); !reflect.DeepEqual(got, []string{"message", "errorCode", "stackTrace"}) {
				t.Errorf("keys = %v", got)
			}
			body := decode[map[string]any](t, w)
			if body["errorCode"] != tc.code || body["stackTrace"] != nil || !strings.Contains(body["message"].(string), tc.contains) {
				t.Errorf("body = %v, want %s mentioning %q", body, tc.code, tc.contains)
			}
		})
	}
	if w := e.do("POST", "/v8/Jobs/"+missing+"/start", "", "", tok...); w.Code != 404 {
		t.Errorf("start unknown job: %d", w.Code)
	}
}

// Tenant tokens reach GET /v8/Organization, POST /v8/Organization/Explore and their
// own restore sessions; everything else is 403 ResourceAccessDenied. Administrators are
// refused the tenant routes the same way.
func TestTenantTokensAreLimitedToTheirOrganization(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	tenant := bearer(e.tenantLogin().AccessToken)
	admin := bearer(e.adminLogin().AccessToken)
	legacy := bearer(e.login("grant_type=password&username=" + LegacyOrganizationAccount + "&password=" + LegacyOrganizationPassword).AccessToken)

	if w := e.do("GET", "/v8/Organization", "", "", tenant...); w.Code != 200 {
		t.Fatalf("tenant GET /v8/Organization: %d", w.Code)
	}
	w := e.do("POST", "/v8/Organization/Explore", jsonType, `{"type":"Vex","showDeleted":true}`, tenant...)
	if w.Code != http.StatusCreated {
		t.Fatalf("explore: %d %s", w.Code, w.Body)
	}
	rs := decode[map[string]any](t, w)
	if rs["state"] != "Working" || rs["organization"] != DefaultOrganization || rs["initiatedBy"] != "admin@abc.onmicrosoft.com" || rs["type"] != "Vex" {
		t.Errorf("restore session = %v", rs)
	}
	id := rs["id"].(string)
	if w := e.do("POST", "/v8/Organization/Explore", jsonType, `{"type":"Nope"}`, tenant...); w.Code != 400 {
		t.Errorf("explore with a bad type: %d", w.Code)
	}
	if w := e.do("POST", "/v8/Organization/Explore", jsonType, `{`, tenant...); w.Code != 400 {
		t.Errorf("explore with bad JSON: %d", w.Code)
	}

	list := decode[page_](t, e.do("GET", "/v8/RestoreSessions", "", "", tenant...))
	if len(list.Results) != 1 || list.Results[0]["id"] != id {
		t.Errorf("tenant sees restore sessions %v, want only its own", list.Results)
	}
	if w := e.do("GET", "/v8/RestoreSessions/"+id, "", "", tenant...); w.Code != 200 {
		t.Errorf("tenant GET own session: %d", w.Code)
	}
	adminSession := DefaultFixtures().RestoreSessions[0].ID
	for _, tc := range []struct {
		name, method, path string
		hdr                []string
	}{
		{"tenant lists organizations", "GET", "/v8/Organizations", tenant},
		{"tenant reads jobs", "GET", "/v8/Jobs", tenant},
		{"tenant reads the service instance", "GET", "/v8/ServiceInstance", tenant},
		{"tenant starts a job", "POST", "/v8/Jobs/" + DefaultFixtures().Jobs[0].ID + "/start", tenant},
		{"tenant reads an administrator's restore session", "GET", "/v8/RestoreSessions/" + adminSession, tenant},
		{"another organization's tenant reads the session", "GET", "/v8/RestoreSessions/" + id, legacy},
		{"another organization's tenant stops the session", "POST", "/v8/RestoreSessions/" + id + "/Stop", legacy},
		{"administrator reads /v8/Organization", "GET", "/v8/Organization", admin},
		{"administrator explores as a tenant", "POST", "/v8/Organization/Explore", admin},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := e.do(tc.method, tc.path, jsonType, "", tc.hdr...)
			if w.Code != 403 || decode[map[string]any](t, w)["errorCode"] != "ResourceAccessDenied" {
				t.Errorf("%d %s, want 403 ResourceAccessDenied", w.Code, w.Body)
			}
		})
	}
	if w := e.do("GET", "/v8/RestoreSessions/"+id, "", "", admin...); w.Code != 200 {
		t.Errorf("administrator reads a tenant's session: %d", w.Code)
	}
	if w := e.do("POST", "/v8/RestoreSessions/"+id+"/Stop", "", "", tenant...); w.Code != 204 {
		t.Errorf("tenant stops own session: %d", w.Code)
	}
	if got := decode[map[string]any](t, e.do("GET", "/v8/RestoreSessions/"+id, "", "", tenant...)); got["state"] != "Stopped" || got["endTime"] == nil {
		t.Errorf("stopped session = %v", got)
	}
}

// A known path with a method the document does not give it is 405 with Allow, before
// authentication.
func TestMethodNotAllowed(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	job := DefaultFixtures().Jobs[0].ID
	for _, tc := range []struct{ method, path, allow string }{
		{"DELETE", "/v8/Organizations", "GET, POST"},
		{"PATCH", "/v8/Organizations/" + DefaultFixtures().Organizations[0].ID, "DELETE, GET, PUT"},
		{"GET", "/v8/token", "POST"},
		{"PUT", "/v8/Token", "POST"},
		{"GET", "/v8/Jobs/" + job + "/start", "POST"},
		{"POST", "/v8/Health", "GET"},
		{"DELETE", "/_mock/settings", "GET, PUT"},
	} {
		w := e.do(tc.method, tc.path, "", "")
		if w.Code != 405 || w.Header().Get("Allow") != tc.allow {
			t.Errorf("%s %s: %d Allow=%q, want 405 Allow=%q", tc.method, tc.path, w.Code, w.Header().Get("Allow"), tc.allow)
		}
	}
}

// Paths match case-insensitively, ids in any case, with or without a trailing slash.
func TestPathsMatchCaseInsensitively(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	tok := bearer(e.adminLogin().AccessToken)
	job := DefaultFixtures().Jobs[3].ID
	for _, path := range []string{"/v8/organizations", "/V8/ORGANIZATIONS/", "/v8/Jobs/" + strings.ToUpper(job), "/v8/jobs/" + job + "/", "/v8/servicEinstance"} {
		if w := e.do("GET", path, "", "", tok...); w.Code != 200 {
			t.Errorf("GET %s: %d", path, w.Code)
		}
	}
	if got := decode[map[string]any](t, e.do("GET", "/v8/JOBS/"+strings.ToUpper(job), "", "", tok...))["id"]; got != job {
		t.Errorf("id = %v, want lower-case %s", got, job)
	}
	if w := e.do("POST", "/V8/TOKEN/LOGOUT", "", "", tok...); w.Code != 204 {
		t.Errorf("POST /V8/TOKEN/LOGOUT: %d", w.Code)
	}
}

// Job actions: start answers 200 with a running session, a second start and a start of
// a disabled job are refused, stop ends the session, enable and disable answer 204.
func TestJobActions(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	e.clk.Advance(90 * time.Minute)
	tok := bearer(e.adminLogin().AccessToken)
	job := DefaultFixtures().Jobs[0].ID
	w := e.do("POST", "/v8/Jobs/"+job+"/start", jsonType, `{"full":true}`, tok...)
	if w.Code != 200 {
		t.Fatalf("start: %d %s", w.Code, w.Body)
	}
	s := decode[map[string]any](t, w)
	if s["status"] != "Running" || s["jobId"] != job || s["jobSessionConfigType"] != "Full" || s["creationTime"] != "2026-01-05T10:30:00Z" || s["endTime"] != nil {
		t.Errorf("session = %v", s)
	}
	sessionID := s["id"].(string)
	if j := decode[map[string]any](t, e.do("GET", "/v8/Jobs/"+job, "", "", tok...)); j["lastStatus"] != "Running" || j["lastRun"] != "2026-01-05T10:30:00Z" {
		t.Errorf("job after start = %v", j)
	}
	if w := e.do("POST", "/v8/Jobs/"+job+"/start", "", "", tok...); w.Code != 400 || decode[map[string]any](t, w)["errorCode"] != "OperationConflict" {
		t.Errorf("second start: %d %s", w.Code, w.Body)
	}
	if p := decode[page_](t, e.do("GET", "/v8/JobSessions?jobId="+job, "", "", tok...)); len(p.Results) != 3 || p.Results[0]["id"] != sessionID {
		t.Errorf("job sessions newest first: %v", p.Results)
	}
	if w := e.do("POST", "/v8/Jobs/"+job+"/stop", "", "", tok...); w.Code != 204 {
		t.Errorf("stop: %d", w.Code)
	}
	if got := decode[map[string]any](t, e.do("GET", "/v8/JobSessions/"+sessionID, "", "", tok...)); got["status"] != "Stopped" || got["endTime"] == nil {
		t.Errorf("stopped session = %v", got)
	}
	if w := e.do("POST", "/v8/Jobs/"+job+"/disable", "", "", tok...); w.Code != 204 {
		t.Errorf("disable: %d", w.Code)
	}
	if w := e.do("POST", "/v8/Jobs/"+job+"/start", "", "", tok...); w.Code != 400 || !strings.Contains(w.Body.String(), "disabled") {
		t.Errorf("start a disabled job: %d %s", w.Code, w.Body)
	}
	if w := e.do("POST", "/v8/Jobs/"+job+"/enable", "", "", tok...); w.Code != 204 {
		t.Errorf("enable: %d", w.Code)
	}
	if w := e.do("POST", "/v8/Jobs/"+job+"/start", "", "", tok...); w.Code != 200 {
		t.Errorf("start after enable: %d", w.Code)
	}
	if w := e.do("POST", "/v8/Jobs/"+job+"/start", jsonType, `{"full":`, tok...); w.Code != 400 {
		t.Errorf("start with bad JSON: %d", w.Code)
	}
}

// Filters narrow lists: organizations by msid with extendedView, jobs by repository,
// job sessions by status, repositories by organization, restore sessions by time.
func TestFilters(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	tok := bearer(e.adminLogin().AccessToken)
	get := func(path string) page_ {
		t.Helper()
		w := e.do("GET", path, "", "", tok...)
		if w.Code != 200 {
			t.Fatalf("GET %s: %d %s", path, w.Code, w.Body)
		}
		return decode[page_](t, w)
	}
	orgs := get("/v8/Organizations?msid=" + LegacyOrganizationMSID + "&extendedView=true")
	if len(orgs.Results) != 1 || orgs.Results[0]["name"] != LegacyOrganization || orgs.Results[0]["isBackedup"] != true {
		t.Errorf("by msid with extendedView: %v", orgs.Results)
	}
	if _, ok := get("/v8/Organizations").Results[0]["isBackedup"]; ok {
		t.Error("isBackedup is served without extendedView")
	}
	if abc := get("/v8/Organizations").Results[0]; abc["exchangeOnlineSettings"].(map[string]any)["useApplicationOnlyAuth"] != true {
		t.Errorf("abc.onmicrosoft.com is not shown as modern app-only: %v", abc)
	}
	repo := DefaultFixtures().Repositories[1].ID
	for _, j := range get("/v8/Jobs?repositoryId=" + repo + "&limit=100").Results {
		if j["repositoryId"] != repo {
			t.Errorf("job of repository %v in a filtered list", j["repositoryId"])
		}
	}
	for _, s := range get("/v8/JobSessions?status=failed&limit=100").Results {
		if s["status"] != "Failed" {
			t.Errorf("session with status %v in a Failed list", s["status"])
		}
	}
	if got := get("/v8/BackupRepositories?organizationId=" + DefaultFixtures().Organizations[1].ID); len(got.Results) != 3 {
		t.Errorf("repositories used by fabrikam: %d", len(got.Results))
	}
	if got := get("/v8/BackupRepositories?longTerm=true"); len(got.Results) != 0 {
		t.Errorf("long-term repositories: %d", len(got.Results))
	}
	if got := get("/v8/RestoreSessions?startTimeFrom=2026-01-04T10:00:00Z&orderBy=CreationTime&orderAsc=true"); len(got.Results) != 2 || got.Results[0]["creationTime"] != "2026-01-04T10:00:00Z" {
		t.Errorf("restore sessions from 10:00 ascending: %v", got.Results)
	}
}

// GET …/{id} answers the object with that id, for every id its collection lists (not
// just the first), equal to the collection's copy of it; an id in upper case finds the
// same object; an unknown id is 404 ResourceNotFound naming it.
func TestGetByIDReturnsTheRequestedObject(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	admin := bearer(e.adminLogin().AccessToken)
	// A restore session of a tenant, so the restore sessions span two initiators.
	if w := e.do("POST", "/v8/Organization/Explore", jsonType, `{"type":"Vex"}`, bearer(e.tenantLogin().AccessToken)...); w.Code != http.StatusCreated {
		t.Fatalf("explore: %d %s", w.Code, w.Body)
	}
	missing := "00000000-0000-4000-8000-0000000000aa"
	for _, collection := range []string{"/v8/Organizations", "/v8/Jobs", "/v8/JobSessions", "/v8/BackupRepositories", "/v8/Proxies", "/v8/RestoreSessions"} {
		t.Run(strings.TrimPrefix(collection, "/v8/"), func(t *testing.T) {
			w := e.do("GET", collection+"?limit=10000", "", "", admin...)
			if w.Code != 200 {
				t.Fatalf("GET %s: %d %s", collection, w.Code, w.Body)
			}
			list := decode[page_](t, w).Results
			if len(list) < 2 {
				t.Fatalf("GET %s lists %d items; the check needs at least two", collection, len(list))
			}
			for i, item := range list {
				id, _ := item["id"].(string)
				if id == "" {
					t.Fatalf("item %d of %s has no id: %v", i, collection, item)
				}
				for _, asked := range []string{id, strings.ToUpper(id)} {
					w := e.do("GET", collection+"/"+asked, "", "", admin...)
					if w.Code != 200 {
						t.Errorf("GET %s/%s: %d %s", collection, asked, w.Code, w.Body)
						continue
					}
					got := decode[map[string]any](t, w)
					if got["id"] != id {
						t.Errorf("GET %s/%s (item %d) answered the object with id %v", collection, asked, i, got["id"])
					} else if !reflect.DeepEqual(got, item) {
						t.Errorf("GET %s/%s differs from the collection's item %d:\n got %v\nlist %v", collection, asked, i, got, item)
					}
				}
			}
			w = e.do("GET", collection+"/"+missing, "", "", admin...)
			if body := decode[map[string]any](t, w); w.Code != 404 || body["errorCode"] != "ResourceNotFound" || !strings.Contains(body["message"].(string), missing) {
				t.Errorf("GET %s/%s (unknown): %d %v, want 404 ResourceNotFound naming the id", collection, missing, w.Code, body)
			}
		})
	}
}

// Page links at several offsets (veeam.md §4.1 [C] names first, prev, self and next with
// offset and limit; the offsets are [I]: the previous window, clamped at 0): self repeats
// the request, next is offset+limit while more remain, first is offset 0 and prev is
// offset−limit (at least 0) past the first page, and the results are that window of the
// whole list.
func TestPagingLinksAtEveryOffset(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	tok := bearer(e.adminLogin().AccessToken)
	get := func(path string) page_ {
		t.Helper()
		w := e.do("GET", path, "", "", tok...)
		if w.Code != 200 {
			t.Fatalf("GET %s: %d %s", path, w.Code, w.Body)
		}
		return decode[page_](t, w)
	}
	ids := func(items []map[string]any) []any {
		out := make([]any, 0, len(items))
		for _, it := range items {
			out = append(out, it["id"])
		}
		return out
	}
	job := DefaultFixtures().Jobs[4].ID
	all := map[string][]any{}
	for _, c := range []string{"/v8/Jobs", "/v8/Organizations", "/v8/JobSessions?jobId=" + job} {
		sep := "?"
		if strings.Contains(c, "?") {
			sep = "&"
		}
		all[c] = ids(get(c + sep + "limit=10000").Results)
	}
	if len(all["/v8/Jobs"]) != 45 || len(all["/v8/Organizations"]) != 2 || len(all["/v8/JobSessions?jobId="+job]) != 2 {
		t.Fatalf("fixture sizes changed: %d jobs, %d organizations, %d sessions of a job", len(all["/v8/Jobs"]), len(all["/v8/Organizations"]), len(all["/v8/JobSessions?jobId="+job]))
	}
	const none = -1
	for _, tc := range []struct {
		collection          string
		offset, limit       int
		results, next, prev int // none: the link is absent
		linkPrefix          string
	}{
		{"/v8/Jobs", 0, 30, 30, 30, none, "/v8/Jobs?"},
		{"/v8/Jobs", 0, 3, 3, 3, none, "/v8/Jobs?"},
		{"/v8/Jobs", 1, 3, 3, 4, 0, "/v8/Jobs?"},
		{"/v8/Jobs", 2, 3, 3, 5, 0, "/v8/Jobs?"},
		{"/v8/Jobs", 3, 3, 3, 6, 0, "/v8/Jobs?"},
		{"/v8/Jobs", 7, 3, 3, 10, 4, "/v8/Jobs?"},
		{"/v8/Jobs", 10, 7, 7, 17, 3, "/v8/Jobs?"},
		{"/v8/Jobs", 30, 30, 15, none, 0, "/v8/Jobs?"},
		{"/v8/Jobs", 35, 10, 10, none, 25, "/v8/Jobs?"},
		{"/v8/Jobs", 42, 3, 3, none, 39, "/v8/Jobs?"},
		{"/v8/Jobs", 44, 1, 1, none, 43, "/v8/Jobs?"},
		{"/v8/Jobs", 41, 5, 4, none, 36, "/v8/Jobs?"},
		{"/v8/Organizations", 1, 1, 1, none, 0, "/v8/Organizations?"},
		{"/v8/Organizations", 0, 1, 1, 1, none, "/v8/Organizations?"},
		{"/v8/JobSessions?jobId=" + job, 1, 1, 1, none, 0, "/v8/JobSessions?jobId=" + job + "&"},
	} {
		sep := "?"
		if strings.Contains(tc.collection, "?") {
			sep = "&"
		}
		path := fmt.Sprintf("%s%soffset=%d&limit=%d", tc.collection, sep, tc.offset, tc.limit)
		t.Run(strings.TrimPrefix(path, "/v8/"), func(t *testing.T) {
			p := get(path)
			at := func(offset int) string { return fmt.Sprintf("%soffset=%d&limit=%d", tc.linkPrefix, offset, tc.limit) }
			if p.Offset != tc.offset || p.Limit != tc.limit || len(p.Results) != tc.results {
				t.Errorf("offset %d limit %d, %d results; want %d %d %d", p.Offset, p.Limit, len(p.Results), tc.offset, tc.limit, tc.results)
			}
			if want := all[tc.collection][tc.offset : tc.offset+tc.results]; !reflect.DeepEqual(ids(p.Results), want) {
				t.Errorf("results %v, want the window %v", ids(p.Results), want)
			}
			first := none
			if tc.offset > 0 {
				first = 0
			}
			for _, l := range []struct {
				name   string
				offset int
			}{{"self", tc.offset}, {"next", tc.next}, {"prev", tc.prev}, {"first", first}} {
				got, ok := p.Links[l.name]
				switch {
				case l.offset == none && ok:
					t.Errorf("_links.%s = %q, want none", l.name, got.Href)
				case l.offset != none && got.Href != at(l.offset):
					t.Errorf("_links.%s = %q, want %q", l.name, got.Href, at(l.offset))
				}
			}
			// Following prev gives the window just before this one.
			if tc.prev != none {
				if back := get(p.Links["prev"].Href); !reflect.DeepEqual(ids(back.Results), all[tc.collection][tc.prev:min(tc.prev+tc.limit, len(all[tc.collection]))]) {
					t.Errorf("prev page holds %v", ids(back.Results))
				}
			}
		})
	}
}

// Issue 19 item 6: the mock serves v8 only. The older versions' paths that real clients
// pin (/v6/token, /v7/Organization/Explore, /v6/Jobs, …) answer 404 with a null
// errorCode, anonymous or with a valid v8 token, so a client's version probe (Cenvora's
// anonymous GET /vN/ServiceInstance: 401 served, 404 not) finds v8 only; the choice is
// documented in docs/veeam-mock.md, "Older API versions".
func TestOlderAPIVersionsAnswer404(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	tok := bearer(e.adminLogin().AccessToken)
	for _, tc := range []struct {
		name, method, path, ctype, body string
		auth                            bool
	}{
		{"the v7 version probe", "GET", "/v7/ServiceInstance", "", "", false},
		{"the v6 version probe", "GET", "/v6/ServiceInstance", "", "", false},
		{"a v6 password login", "POST", "/v6/token", formType, "grant_type=password&username=Administrator&password=x", false},
		{"a v7 login with the antiforgery flag", "POST", "/v7/Token", formType, "grant_type=password&username=Administrator&password=x&disable_antiforgery_token=true", false},
		{"a v6 job list with a v8 token", "GET", "/v6/Jobs", "", "", true},
		{"a v7 organization list with a v8 token", "GET", "/v7/Organizations", "", "", true},
		{"a v7 operator explore with a v8 token", "POST", "/v7/Organization/Explore", jsonType, "{}", true},
	} {
		var hdr []string
		if tc.auth {
			hdr = tok
		}
		w := e.do(tc.method, tc.path, tc.ctype, tc.body, hdr...)
		if w.Code != http.StatusNotFound {
			t.Errorf("%s: %s %s = %d, want 404", tc.name, tc.method, tc.path, w.Code)
			continue
		}
		if b := decode[map[string]any](t, w); b["errorCode"] != nil || b["message"] == "" {
			t.Errorf("%s: body %v, want a message and a null errorCode", tc.name, b)
		}
	}
	if w := e.do("GET", "/v8/ServiceInstance", "", ""); w.Code != http.StatusUnauthorized {
		t.Errorf("the v8 version probe: %d, want 401", w.Code)
	}
}

// Routing reads a path as ASP.NET Core does: escapes decoded before the route is chosen,
// but for %2F, which stays inside its segment. The contract checker and the proxy route
// with the same Match, so a client that escapes a letter is checked like any other.
func TestMatchDecodesEscapesButForTheSlash(t *testing.T) {
	t.Parallel()
	for path, want := range map[string]string{
		"/v8/Jobs":      "Job_Get",
		"/v8/Jobs/":     "Job_Get",
		"/v8/%4Aobs":    "Job_Get",
		"/v8/%4aOBS":    "Job_Get",
		"/%76%38/Jobs":  "Job_Get",
		"/v8/Jobs%2F":   "",
		"/v8%2FJobs":    "",
		"/v8/%4Aobs%":   "",
		"/v8/%ZZJobs":   "",
		"/v8/Jobs/%2F":  "Job_GetById",
		"/v8/Jobs/a%2F": "Job_GetById",
	} {
		op, vars := Match("GET", path)
		got := ""
		if op != nil {
			got = op.ID
		}
		if got != want {
			t.Errorf("Match(GET, %q) = %q (%v), want %q", path, got, vars, want)
		}
	}
}
