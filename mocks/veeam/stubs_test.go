package veeam

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vbharness/vbharness/mocks/journal"
)

// send is do without the check against the document: a stub answers what it was told
// to, which the document need not allow.
func (e *testEnv) send(method, path, ctype, body string, hdr ...string) *httptest.ResponseRecorder {
	e.t.Helper()
	req := httptest.NewRequest(method, "https://127.0.0.1:4443"+path, strings.NewReader(body))
	req.RemoteAddr = "127.0.0.1:50000"
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	e.srv.ServeHTTP(w, req)
	return w
}

// addStub posts a stub to the control API and returns it as the server keeps it.
func (e *testEnv) addStub(body string) StubState {
	e.t.Helper()
	w := e.send("POST", "/_mock/stubs", jsonType, body)
	if w.Code != http.StatusCreated {
		e.t.Fatalf("POST /_mock/stubs %s: %d %s", body, w.Code, w.Body)
	}
	return decode[StubState](e.t, w)
}

func (e *testEnv) stubs() []StubState {
	e.t.Helper()
	return decode[struct{ Stubs []StubState }](e.t, e.send("GET", "/_mock/stubs", "", "")).Stubs
}

func stubEntries(j *journal.Journal, path string) []journal.Entry {
	return j.List(journal.Filter{Path: path})
}

// Acceptance 4 of issue 11, from the control API: a stub overrides an operation,
// expires after its times, is journaled with its id, and reset clears it.
func TestStubControlAPIOverridesExpiresJournalsResets(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	tok := bearer(e.adminLogin().AccessToken)
	job := DefaultFixtures().Jobs[0].ID
	path := "/v8/Jobs/" + job

	st := e.addStub(`{"method":"get","path":"/v8/jobs/{id}","status":503,"headers":{"Retry-After":"7"},
		"body":{"message":"The service is busy.","errorCode":"ServiceUnavailable"},"times":2}`)
	if st.ID != "s1" || st.Method != "GET" || st.Status != 503 || st.Hits != 0 || st.Remaining == nil || *st.Remaining != 2 {
		t.Fatalf("added %+v", st)
	}
	for i := range 2 {
		w := e.send("GET", path, "", "", tok...)
		if w.Code != 503 || w.Header().Get("Retry-After") != "7" || w.Header().Get("Content-Type") != "application/json; charset=utf-8" ||
			w.Body.String() != `{"message":"The service is busy.","errorCode":"ServiceUnavailable"}` {
			t.Fatalf("answer %d: %d %v %s", i+1, w.Code, w.Header(), w.Body)
		}
	}
	if w := e.do("GET", path, "", "", tok...); w.Code != 200 || decode[map[string]any](t, w)["id"] != job {
		t.Fatalf("after times 2 the mock answers again: %d %s", w.Code, w.Body)
	}
	list := e.stubs()
	if len(list) != 1 || list[0].Hits != 2 || list[0].Remaining == nil || *list[0].Remaining != 0 {
		t.Errorf("listed after expiry: %+v", list)
	}

	entries := stubEntries(e.srv.Control().Journal(), path)
	if len(entries) != 3 {
		t.Fatalf("journal holds %d entries for %s, want 3", len(entries), path)
	}
	for i, want := range []struct {
		status int
		stub   string
	}{{503, "s1"}, {503, "s1"}, {200, ""}} {
		if entries[i].Status != want.status || entries[i].Stub != want.stub {
			t.Errorf("entry %d: status %d stub %q, want %d %q", i, entries[i].Status, entries[i].Stub, want.status, want.stub)
		}
	}

	// Unlimited, then reset.
	e.addStub(`{"method":"GET","path":"` + path + `","status":418,"body":"short and stout"}`)
	for range 3 {
		if w := e.send("GET", path, "", "", tok...); w.Code != 418 || w.Body.String() != "short and stout" ||
			w.Header().Get("Content-Type") != "text/plain; charset=utf-8" {
			t.Fatalf("unlimited stub: %d %v %q", w.Code, w.Header(), w.Body)
		}
	}
	if w := e.send("POST", "/_mock/reset", "", ""); w.Code != 200 {
		t.Fatalf("reset: %d %s", w.Code, w.Body)
	}
	if list := e.stubs(); len(list) != 0 {
		t.Errorf("after reset: %+v", list)
	}
	tok = bearer(e.adminLogin().AccessToken) // reset ended the session too
	if w := e.do("GET", path, "", "", tok...); w.Code != 200 {
		t.Errorf("after reset: %d %s", w.Code, w.Body)
	}
}

// DELETE /_mock/stubs/{id} removes one stub, DELETE /_mock/stubs all; ids are assigned
// in order and never reused while their stub is there.
func TestStubControlAPIRemove(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	e.addStub(`{"method":"GET","path":"/v8/Health","status":500,"anonymous":true}`)
	e.addStub(`{"id":"s3","method":"GET","path":"/v8/Health","status":501,"anonymous":true}`)
	if st := e.addStub(`{"method":"GET","path":"/v8/Health","status":502,"anonymous":true}`); st.ID != "s2" {
		t.Errorf("third stub's id = %q, want s2", st.ID)
	}
	if st := e.addStub(`{"method":"GET","path":"/v8/Health","status":503,"anonymous":true}`); st.ID != "s4" {
		t.Errorf("fourth stub's id = %q, want s4 (s3 is taken)", st.ID)
	}
	if w := e.send("POST", "/_mock/stubs", jsonType, `{"id":"s3","method":"GET","path":"/v8/Health"}`); w.Code != 409 || !strings.Contains(w.Body.String(), `"error"`) {
		t.Errorf("a taken id: %d %s", w.Code, w.Body)
	}
	if w := e.send("GET", "/v8/Health", "", ""); w.Code != 503 {
		t.Errorf("newest stub should answer: %d", w.Code)
	}
	if w := e.send("DELETE", "/_mock/stubs/s4", "", ""); w.Code != 204 {
		t.Errorf("DELETE s4: %d %s", w.Code, w.Body)
	}
	if w := e.send("GET", "/v8/Health", "", ""); w.Code != 502 {
		t.Errorf("after removing the newest, the next newest answers: %d", w.Code)
	}
	if w := e.send("DELETE", "/_mock/stubs/s4", "", ""); w.Code != 404 || !strings.Contains(w.Body.String(), `no stub with id \"s4\"`) {
		t.Errorf("DELETE s4 again: %d %s", w.Code, w.Body)
	}
	if w := e.send("DELETE", "/_mock/stubs", "", ""); w.Code != 204 {
		t.Errorf("DELETE all: %d %s", w.Code, w.Body)
	}
	if len(e.stubs()) != 0 {
		t.Error("stubs left after DELETE /_mock/stubs")
	}
	if w := e.do("GET", "/v8/Health", "", ""); w.Code != 200 {
		t.Errorf("without stubs: %d", w.Code)
	}
	if w := e.send("PUT", "/_mock/stubs", jsonType, `{}`); w.Code != 405 || w.Header().Get("Allow") != "DELETE, GET, POST" {
		t.Errorf("PUT /_mock/stubs: %d Allow %q", w.Code, w.Header().Get("Allow"))
	}
}

// Authentication and access stay real: a stub answers only callers the operation
// would answer, unless it says anonymous.
func TestStubAuthentication(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	admin := bearer(e.adminLogin().AccessToken)
	tenant := bearer(e.tenantLogin().AccessToken)
	e.addStub(`{"method":"GET","path":"/v8/Jobs","status":200,"body":{"offset":0,"limit":30,"results":[],"_links":{"self":{"href":"/v8/Jobs"}}}}`)
	e.addStub(`{"method":"GET","path":"/v8/Organizations","status":299,"anonymous":true}`)
	e.addStub(`{"method":"GET","path":"/v8/NotInTheDocument","status":200,"body":{"ok":true}}`)
	e.addStub(`{"method":"POST","path":"/v8/token","status":429,"headers":{"Retry-After":"1"},"body":{"error":"slow_down"},"times":1}`)
	for _, tc := range []struct {
		name, method, path string
		hdr                []string
		status             int
	}{
		{"no token gets 401", "GET", "/v8/Jobs", nil, 401},
		{"a bad token gets 401", "GET", "/v8/Jobs", bearer("not-a-token"), 401},
		{"a tenant gets 403 on an administrator's operation", "GET", "/v8/Jobs", tenant, 403},
		{"the administrator gets the stub", "GET", "/v8/Jobs", admin, 200},
		{"an anonymous stub answers without a token", "GET", "/v8/Organizations", nil, 299},
		{"an anonymous stub answers a tenant", "GET", "/v8/Organizations", tenant, 299},
		{"a path outside the document needs a valid token", "GET", "/v8/NotInTheDocument", nil, 401},
		{"a path outside the document answers any valid token", "GET", "/v8/notinthedocument/", tenant, 200},
		{"an anonymous operation's stub needs no token", "POST", "/v8/token", nil, 429},
		{"after its one answer the token endpoint is real", "POST", "/v8/token", nil, 400},
		{"a path outside the document without a stub is 404", "GET", "/v8/AlsoNotThere", admin, 404},
	} {
		w := e.send(tc.method, tc.path, formType, "", tc.hdr...)
		if w.Code != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.name, w.Code, w.Body, tc.status)
		}
	}
	entries := stubEntries(e.srv.Control().Journal(), "/v8/Jobs")
	for _, en := range entries {
		if (en.Stub != "") != (en.Status == 200) {
			t.Errorf("journal: %d answer marked stub %q; only answers the stub gave are marked", en.Status, en.Stub)
		}
	}
	if got := e.stubs()[0].Hits; got != 1 {
		t.Errorf("refused requests counted as hits: %d, want 1", got)
	}
}

// What a stub matches: method, template or exact path (case and trailing slash aside),
// query parameters and a subset of the body; the newest stub that matches answers.
func TestStubMatching(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	// Requests no stub matches reach the real handlers, which check antiforgery.
	admin := bearer(e.login("grant_type=password&username=Administrator&disable_antiforgery_token=true&password=" + url.QueryEscape(DefaultAdminPassword)).AccessToken)
	jobs := DefaultFixtures().Jobs
	e.addStub(`{"id":"template","method":"GET","path":"/v8/Jobs/{jobId}","status":201}`)
	e.addStub(`{"id":"exact","method":"GET","path":"/v8/Jobs/` + strings.ToUpper(jobs[1].ID) + `/","status":202}`)
	e.addStub(`{"id":"query","method":"GET","path":"/v8/Jobs","match":{"query":{"organizationId":"` + jobs[0].OrganizationID + `","limit":"5"}},"status":203}`)
	e.addStub(`{"id":"body","method":"POST","path":"/v8/Jobs/{jobId}/start","match":{"body":{"full":true}},"status":206}`)
	e.addStub(`{"id":"nested","method":"PUT","path":"/v8/Jobs/{jobId}","match":{"body":{"schedulePolicy":{"type":"Daily"},"n":[1,{"a":2.0}]}},"status":207}`)
	e.addStub(`{"id":"form","method":"POST","path":"/v8/token","match":{"body":{"grant_type":"password","username":"Administrator"}},"status":208,"anonymous":true}`)
	for _, tc := range []struct {
		name, method, path, ctype, body string
		status                          int
	}{
		{"a template matches any id", "GET", "/v8/Jobs/" + jobs[2].ID, "", "", 201},
		{"a template matches ids the world lacks", "GET", "/v8/jobs/00000000-0000-4000-8000-000000000000", "", "", 201},
		{"a template matches values that are not GUIDs (no validation)", "GET", "/v8/Jobs/not-a-guid", "", "", 201},
		{"an exact path matches in any case, with a trailing slash", "GET", "/V8/JOBS/" + jobs[1].ID + "/", "", "", 202},
		{"newest wins: the exact stub is newer than the template", "GET", "/v8/Jobs/" + strings.ToUpper(jobs[1].ID), "", "", 202},
		{"another method is not matched", "DELETE", "/v8/Jobs/" + jobs[2].ID, "", "", 204},
		{"query names match in any case, values exactly", "GET", "/v8/Jobs?OrganizationId=" + jobs[0].OrganizationID + "&limit=5&offset=0", "", "", 203},
		{"a missing query parameter is no match", "GET", "/v8/Jobs?organizationId=" + jobs[0].OrganizationID, "", "", 200},
		{"a different value is no match", "GET", "/v8/Jobs?organizationId=" + jobs[0].OrganizationID + "&limit=6", "", "", 200},
		{"a body subset matches", "POST", "/v8/Jobs/" + jobs[3].ID + "/start", jsonType, `{"full":true,"extra":1}`, 206},
		{"a body without the property is no match", "POST", "/v8/Jobs/" + jobs[4].ID + "/start", jsonType, `{}`, 200},
		{"a nested subset matches, numbers by value", "PUT", "/v8/Jobs/" + jobs[5].ID, jsonType, `{"schedulePolicy":{"type":"Daily","dailyTime":"22:00:00"},"n":[1.0,{"a":2,"b":3}]}`, 207},
		{"arrays match element by element", "PUT", "/v8/Jobs/" + jobs[5].ID, jsonType, `{"schedulePolicy":{"type":"Daily"},"n":[{"a":2},1]}`, 204},
		{"a form body matches as fields", "POST", "/v8/token", formType, "grant_type=password&username=Administrator&password=x", 208},
		{"a form body with another value is no match", "POST", "/v8/token", formType, "grant_type=password&username=Other&password=x", 400},
	} {
		w := e.send(tc.method, tc.path, tc.ctype, tc.body, admin...)
		if w.Code != tc.status {
			t.Errorf("%s: %s %s → %d %s, want %d", tc.name, tc.method, tc.path, w.Code, w.Body, tc.status)
		}
	}
}

// A stub's delay waits on the mock's clock: in-process, the virtual clock moves on by
// it, as if the server had taken that long.
func TestStubDelayOnTheMockClock(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	e.addStub(`{"method":"GET","path":"/v8/Health","delay":"12s","status":200,"body":{"status":"Slow"},"anonymous":true}`)
	before := e.clk.Now()
	w := e.send("GET", "/v8/Health", "", "")
	if w.Code != 200 || !strings.Contains(w.Body.String(), "Slow") {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if got := e.clk.Now().Sub(before); got != 12*time.Second {
		t.Errorf("the clock moved %s, want 12s", got)
	}
}

// Every way to get a stub wrong gets a 400 in the control API's shape that names the
// field and says what to do, and adds nothing.
func TestStubBadInput(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	big := `"` + strings.Repeat("x", MaxStubBody) + `"`
	for _, tc := range []struct {
		name, body, contains string
	}{
		{"no method", `{"path":"/v8/Jobs"}`, "method: a stub needs the method"},
		{"unknown method", `{"method":"FETCH","path":"/v8/Jobs"}`, `method: "FETCH" is not a method`},
		{"no path", `{"method":"GET"}`, "path: a stub needs the path"},
		{"a path outside /v8", `{"method":"GET","path":"/v7/Jobs"}`, "is not under /v8/"},
		{"the control API", `{"method":"GET","path":"/_mock/health"}`, "is not under /v8/"},
		{"a relative path", `{"method":"GET","path":"v8/Jobs"}`, "is not under /v8/"},
		{"a query in the path", `{"method":"GET","path":"/v8/Jobs?limit=1"}`, "query parameters in match.query"},
		{"a space in the path", `{"method":"GET","path":"/v8/Jo bs"}`, "a space or a control character"},
		{"a template of no operation", `{"method":"GET","path":"/v8/Nothing/{id}"}`, "no operation of the document has the template /v8/Nothing/{id}"},
		{"a template with a literal where the document has a variable", `{"method":"GET","path":"/v8/Jobs/{jobId}/SelectedItems/{x}/{y}"}`, "no operation of the document has the template"},
		{"a variable that is part of a segment", `{"method":"GET","path":"/v8/Jobs/x{jobId}"}`, "is not a template variable"},
		{"a method the template lacks", `{"method":"PATCH","path":"/v8/jobs/{id}/start"}`, "the document has no PATCH on /v8/Jobs/{jobId}/start (it has POST)"},
		{"status below 200", `{"method":"GET","path":"/v8/Jobs","status":101}`, "status: 101 is not a status"},
		{"status above 599", `{"method":"GET","path":"/v8/Jobs","status":600}`, "status: 600"},
		{"negative status", `{"method":"GET","path":"/v8/Jobs","status":-1}`, "status: -1"},
		{"a body on 204", `{"method":"GET","path":"/v8/Jobs","status":204,"body":{}}`, "a 204 answer has no body"},
		{"negative times", `{"method":"GET","path":"/v8/Jobs","times":-1}`, "times: -1"},
		{"times not a number", `{"method":"GET","path":"/v8/Jobs","times":"twice"}`, "bad control request body"},
		{"a bad delay", `{"method":"GET","path":"/v8/Jobs","delay":"soon"}`, `delay: "soon" is not a Go duration`},
		{"a negative delay", `{"method":"GET","path":"/v8/Jobs","delay":"-1s"}`, "delay:"},
		{"a delay past the bound", `{"method":"GET","path":"/v8/Jobs","delay":"31s"}`, "from 0 to 30s"},
		{"a bad header name", `{"method":"GET","path":"/v8/Jobs","headers":{"Bad Name":"x"}}`, `"Bad Name" is not a header name`},
		{"a header value with a line break", `{"method":"GET","path":"/v8/Jobs","headers":{"X-A":"1\r\nSet-Cookie: a=b"}}`, "line break"},
		{"a framing header", `{"method":"GET","path":"/v8/Jobs","headers":{"content-length":"5"}}`, "Content-Length is the server's to write"},
		{"a match on a secret query parameter", `{"method":"GET","path":"/v8/Jobs","match":{"query":{"access_token":"x"}}}`, `matching on "access_token" is not allowed`},
		{"a match on a secret body field", `{"method":"POST","path":"/v8/token","match":{"body":{"grant_type":"password","password":"guess"}}}`, `matching on "password" is not allowed`},
		{"a nested secret body field", `{"method":"POST","path":"/v8/Jobs","match":{"body":{"a":[{"refresh_token":"x"}]}}}`, `matching on "refresh_token"`},
		{"an empty query name", `{"method":"GET","path":"/v8/Jobs","match":{"query":{"":"x"}}}`, "needs a name"},
		{"the same query name twice", `{"method":"GET","path":"/v8/Jobs","match":{"query":{"limit":"1","Limit":"2"}}}`, "given twice"},
		{"a bad id", `{"id":"a b","method":"GET","path":"/v8/Jobs"}`, `"a b" is not a stub id`},
		{"an unknown field", `{"method":"GET","path":"/v8/Jobs","respone":{}}`, "unknown field"},
		{"a misspelt field", `{"method":"GET","path":"/v8/Jobs","Status":500}`, "did you mean status"},
		{"a field given twice", `{"method":"GET","method":"POST","path":"/v8/Jobs"}`, "bad control request body"},
		{"not JSON", `{"method":`, "bad control request body"},
		{"a body over the bound", `{"method":"GET","path":"/v8/Jobs","body":` + big + `}`, "larger than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := e.send("POST", "/_mock/stubs", jsonType, tc.body)
			if w.Code != 400 && !(tc.name == "a body over the bound" && w.Code == 413) {
				t.Fatalf("%d %s, want 400", w.Code, w.Body)
			}
			var body struct{ Error string }
			if err := decodeJSONBytes(w.Body.Bytes(), &body); err != nil || !strings.Contains(body.Error, tc.contains) {
				t.Errorf("%s, want an error containing %q", w.Body, tc.contains)
			}
		})
	}
	if len(e.stubs()) != 0 {
		t.Errorf("refused stubs were added: %+v", e.stubs())
	}
	for _, tc := range []struct{ name, ctype string }{{"a form", formType}, {"no type", ""}} {
		if w := e.send("POST", "/_mock/stubs", tc.ctype, `{"method":"GET","path":"/v8/Jobs"}`); w.Code != 415 {
			t.Errorf("%s: %d %s, want 415", tc.name, w.Code, w.Body)
		}
	}
}

// A server holds at most MaxStubs stubs.
func TestStubLimit(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	for i := range MaxStubs {
		if _, err := e.srv.AddStub(Stub{Method: "GET", Path: "/v8/Jobs", Status: 200 + i%300}); err != nil {
			t.Fatalf("stub %d: %v", i, err)
		}
	}
	w := e.send("POST", "/_mock/stubs", jsonType, `{"method":"GET","path":"/v8/Jobs"}`)
	if w.Code != 400 || !strings.Contains(w.Body.String(), "the most it keeps") {
		t.Errorf("stub %d: %d %s", MaxStubs+1, w.Code, w.Body)
	}
}

// Acceptance 4, from a file: the stubs of a file (WithStubs, `vbharness mock --stubs`)
// answer from the start, expire, are journaled, and reset brings them back with their
// counters at zero, even after DELETE /_mock/stubs.
func TestStubsFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "stubs.yaml")
	if err := os.WriteFile(p, []byte(`stubs:
  - id: busy-token
    method: POST
    path: /v8/token
    status: 503
    headers: {Retry-After: 2}
    body: {message: Busy, errorCode: null}
    times: 1
  - method: GET
    path: /v8/Health
    anonymous: true
    body:
      status: Degraded
      entries: {NatsServer: {status: Unhealthy}}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := LoadStubs(p)
	if err != nil {
		t.Fatal(err)
	}
	if st.Len() != 2 {
		t.Fatalf("loaded %d stubs", st.Len())
	}
	e := newTestServer(t, WithStubs(st))
	check := func(when string) {
		t.Helper()
		if w := e.send("POST", "/v8/token", formType, "grant_type=password"); w.Code != 503 || w.Header().Get("Retry-After") != "2" ||
			w.Body.String() != `{"errorCode":null,"message":"Busy"}` {
			t.Errorf("%s: token: %d %v %s", when, w.Code, w.Header(), w.Body)
		}
		if w := e.send("POST", "/v8/token", formType, "grant_type=password"); w.Code != 400 {
			t.Errorf("%s: token after times 1: %d %s", when, w.Code, w.Body)
		}
		if w := e.send("GET", "/v8/Health", "", ""); w.Code != 200 || w.Body.String() != `{"entries":{"NatsServer":{"status":"Unhealthy"}},"status":"Degraded"}` {
			t.Errorf("%s: health: %d %s", when, w.Code, w.Body)
		}
		en := stubEntries(e.srv.Control().Journal(), "/v8/")
		if len(en) != 3 || en[0].Stub != "busy-token" || en[1].Stub != "" || en[2].Stub != "s1" {
			t.Errorf("%s: journal %+v", when, en)
		}
	}
	check("at start")
	if list := e.stubs(); len(list) != 2 || list[0].Hits != 1 || *list[0].Remaining != 0 || list[1].Hits != 1 || list[1].Remaining != nil {
		t.Errorf("listed: %+v", list)
	}
	e.send("DELETE", "/_mock/stubs", "", "")
	if w := e.do("GET", "/v8/Health", "", ""); w.Code != 200 || !strings.Contains(w.Body.String(), "Healthy") {
		t.Errorf("after DELETE /_mock/stubs: %d %s", w.Code, w.Body)
	}
	e.send("POST", "/_mock/reset", "", "")
	check("after reset")
}

// A stubs file's errors name the file, the line and the field, and wrap ErrInvalidStub.
func TestStubsFileErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, file, content, want string }{
		{"an unknown key", "s.yaml", "stubs:\n  - method: GET\n    path: /v8/Jobs\n    stauts: 500\n", `s.yaml:4:5: unknown key "stauts" in stubs[0]; did you mean status?`},
		{"a bad path", "s.yaml", "stubs:\n  - method: GET\n    path: /v8/Jobs\n  - method: GET\n    path: /v7/Jobs\n", `s.yaml:5:11: stubs[1].path: "/v7/Jobs" is not under /v8/`},
		{"a method the template lacks", "s.yaml", "stubs:\n  - method: PATCH\n    path: /v8/Jobs/{jobId}/start\n", "s.yaml:2:13: stubs[0].method: the document has no PATCH on /v8/Jobs/{jobId}/start (it has POST)"},
		{"a match on a secret", "s.yaml", "stubs:\n  - method: POST\n    path: /v8/token\n    match:\n      body: {password: x}\n", `s.yaml:5:13: stubs[0].match.body: matching on "password" is not allowed`},
		{"the same id twice", "s.yaml", "stubs:\n  - {id: a, method: GET, path: /v8/Jobs}\n  - {id: a, method: GET, path: /v8/Jobs}\n", `s.yaml:3:10: stubs[1].id: id "a" is given to an earlier stub too`},
		{"negative times in JSON", "s.json", `{"stubs":[{"method":"GET","path":"/v8/Jobs",` + "\n" + `"times":-2}]}`, "s.json:2:9: stubs[0].times: -2"},
		{"a list at the top", "s.yaml", "- method: GET\n", "s.yaml:1:1:"},
		{"an empty file", "s.yaml", "", "s.yaml: the file is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseStubs(tc.file, []byte(tc.content))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrInvalidStub) {
				t.Errorf("err = %v, want one containing %q that wraps ErrInvalidStub", err, tc.want)
			}
		})
	}
}

// Stubs answer before the request is validated against the document: a stub answers a
// body the document would refuse.
func TestStubBeforeValidation(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	admin := bearer(e.adminLogin().AccessToken)
	if w := e.do("POST", "/v8/Jobs", jsonType, `{"name":5}`, admin...); w.Code != 400 {
		t.Fatalf("without a stub: %d %s", w.Code, w.Body)
	}
	e.addStub(`{"method":"POST","path":"/v8/Jobs","status":201,"body":{"id":"11111111-2222-4333-8444-555555555555"}}`)
	if w := e.send("POST", "/v8/Jobs", jsonType, `{"name":5}`, admin...); w.Code != 201 {
		t.Errorf("with a stub: %d %s", w.Code, w.Body)
	}
}

// A stub with times n answers exactly n of many concurrent requests.
func TestStubTimesUnderConcurrency(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	e.addStub(`{"method":"GET","path":"/v8/Health","status":503,"times":5,"anonymous":true}`)
	const n = 40
	codes := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			req := httptest.NewRequest("GET", "https://127.0.0.1:4443/v8/Health", nil)
			w := httptest.NewRecorder()
			e.srv.ServeHTTP(w, req)
			codes <- w.Code
		})
	}
	wg.Wait()
	close(codes)
	stubbed := 0
	for c := range codes {
		if c == 503 {
			stubbed++
		}
	}
	if stubbed != 5 {
		t.Errorf("%d of %d requests got the stub, want 5", stubbed, n)
	}
	if list := e.stubs(); list[0].Hits != 5 {
		t.Errorf("hits = %d, want 5", list[0].Hits)
	}
}

// FuzzStubsRoute posts any body to POST /_mock/stubs. The answer is 201 with the stub
// as kept, or an error in the control API's shape; never a 5xx. An added stub is
// listed, answers a request to its own path with its own status (when it needs nothing
// more than its path), and can be deleted; the server keeps working.
func FuzzStubsRoute(f *testing.F) {
	for _, s := range []string{
		`{"method":"GET","path":"/v8/Jobs/{jobId}","status":503,"times":2}`,
		`{"method":"get","path":"/v8/health/","body":"plain","anonymous":true}`,
		`{"method":"POST","path":"/v8/token","match":{"body":{"grant_type":"password"}},"status":429,"headers":{"Retry-After":"1"},"anonymous":true}`,
		`{"method":"GET","path":"/v8/Jobs","match":{"query":{"limit":"5"}},"body":{"a":[1,2,{"b":null}]},"delay":"1s"}`,
		`{"id":"x.y-z","method":"DELETE","path":"/v8/Anything/At/All","status":204,"anonymous":true}`,
		`{"method":"GET","path":"/v8/Jobs/{","status":200}`,
		`{"method":"GET","path":"/v8/%zz","status":599,"anonymous":true}`,
		`{"method":"GET","path":"/v8/Jobs","headers":{"X":"\u0000"}}`,
		`{"method":"GET","path":"/v8/Jobs","body":1e999}`,
		`{"method":"GET","path":"/v8/Jobs","match":{"body":"\ud800"}}`,
		`[]`, `null`, `{"stubs":[]}`, "\xff",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		e := newTestServer(t)
		w := e.send("POST", "/_mock/stubs", jsonType, body)
		switch {
		case w.Code >= 500:
			t.Fatalf("%q: %d %s", body, w.Code, w.Body)
		case w.Code != http.StatusCreated:
			var eb struct{ Error string }
			if decodeJSONBytes(w.Body.Bytes(), &eb) != nil || eb.Error == "" {
				t.Fatalf("%q: %d without an error in the control API's shape: %s", body, w.Code, w.Body)
			}
			if len(e.srv.Stubs()) != 0 {
				t.Fatalf("%q: refused (%d) but added", body, w.Code)
			}
			return
		}
		st := decode[StubState](t, w)
		if list := e.srv.Stubs(); len(list) != 1 || list[0].ID != st.ID {
			t.Fatalf("%q: added %+v, listed %+v", body, st, list)
		}
		if st.Anonymous && st.Match == nil {
			path := st.Path
			for _, seg := range strings.Split(path, "/") {
				if strings.HasPrefix(seg, "{") {
					path = strings.Replace(path, seg, "x", 1)
				}
			}
			req, err := http.NewRequest(st.Method, "https://127.0.0.1:4443"+path, nil)
			if err == nil && req.URL.Path == path {
				req.RemoteAddr = "127.0.0.1:50000"
				rec := httptest.NewRecorder()
				e.srv.ServeHTTP(rec, req)
				if rec.Code != st.Status {
					t.Fatalf("%q: %s %s answered %d %s, want the stub's %d", body, st.Method, path, rec.Code, rec.Body, st.Status)
				}
			}
		}
		if w := e.send("DELETE", "/_mock/stubs/"+url.PathEscape(st.ID), "", ""); w.Code != http.StatusNoContent {
			t.Fatalf("%q: DELETE %s: %d %s", body, st.ID, w.Code, w.Body)
		}
		if w := e.send("GET", "/v8/Health", "", ""); w.Code != http.StatusOK {
			t.Fatalf("%q: Health after: %d", body, w.Code)
		}
	})
}

// NewStubs holds stubs given in Go to the same rules, and to the server's bounds
// together.
func TestNewStubsBounds(t *testing.T) {
	t.Parallel()
	body := JSONValue(`"` + strings.Repeat("x", MaxStubBody-2) + `"`)
	var many []Stub
	for range MaxStubBytes/MaxStubBody + 1 {
		many = append(many, Stub{Method: "GET", Path: "/v8/Jobs", Body: body})
	}
	if _, err := NewStubs(many...); err == nil || !errors.Is(err, ErrInvalidStub) || !strings.Contains(err.Error(), "stubs[16].body: the stubs' bodies pass 16 MiB") {
		t.Errorf("err = %v", err)
	}
	if _, err := NewStubs(Stub{Method: "GET", Path: "/v8/Jobs"}, Stub{Method: "TRACE", Path: "/v8/Jobs"}); err == nil || !strings.Contains(err.Error(), `stubs[1].method: "TRACE"`) {
		t.Errorf("err = %v", err)
	}
	st, err := NewStubs(Stub{Method: "GET", Path: "/v8/Jobs"})
	if err != nil || st.Len() != 1 {
		t.Errorf("%d, %v", st.Len(), err)
	}
}

// A directory of stubs files loads in name order, as one list (the last file's stubs
// the newest); other files are left alone, and an error names the file and the line.
func TestStubsDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("0002-second.json", `{"stubs":[{"id":"second","method":"GET","path":"/v8/Health","anonymous":true,"body":{"status":"Second"}}]}`)
	write("0001-first.yaml", "stubs:\n  - {id: first, method: GET, path: /v8/Health, anonymous: true, body: {status: First}, times: 1}\n")
	write("README.txt", "not a stubs file")
	write(".hidden.json", "not JSON")
	st, err := LoadStubs(dir)
	if err != nil {
		t.Fatal(err)
	}
	e := newTestServer(t, WithStubs(st))
	if list := e.stubs(); len(list) != 2 || list[0].ID != "first" || list[1].ID != "second" {
		t.Fatalf("loaded %+v", list)
	}
	if w := e.send("GET", "/v8/Health", "", ""); !strings.Contains(w.Body.String(), "Second") {
		t.Errorf("the newest stub is the last file's: %s", w.Body)
	}

	write("0003-bad.yaml", "stubs:\n  - id: first\n    method: GET\n    path: /v8/Health\n")
	_, err = LoadStubs(dir)
	if !errors.Is(err, ErrInvalidStub) || !strings.Contains(err.Error(), filepath.Join(dir, "0003-bad.yaml")+":2:") || !strings.Contains(err.Error(), "earlier stub") {
		t.Errorf("a taken id in another file: %v", err)
	}
	empty := t.TempDir()
	if _, err := LoadStubs(empty); !errors.Is(err, ErrInvalidStub) || !strings.Contains(err.Error(), "holds no stubs files") {
		t.Errorf("an empty directory: %v", err)
	}
}
