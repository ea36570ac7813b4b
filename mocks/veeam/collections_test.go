package veeam

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A declared collection, here proxy pools (generated from the document, no fixtures),
// is stateful: created items are listed and fetched by id with _links.self, PUT merges
// the fields that fit and increments eTag, DELETE removes, and an unknown id is 404.
func TestCollectionLifecycle(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	tok := bearer(e.adminLogin().AccessToken)
	before := decode[page_](t, e.do("GET", "/v8/ProxyPools", "", "", tok...))
	if len(before.Results) != seedPerParent {
		t.Fatalf("seeded proxy pools: %d, want %d", len(before.Results), seedPerParent)
	}
	w := e.do("POST", "/v8/ProxyPools", jsonType, `{"name":"Pool A","description":"first","proxyIds":[]}`, tok...)
	if w.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	created := decode[map[string]any](t, w)
	id, _ := created["id"].(string)
	self := created["_links"].(map[string]any)["self"].(map[string]any)["href"]
	if id == "" || created["name"] != "Pool A" || self != "/v8/ProxyPools/"+id {
		t.Fatalf("created %v", created)
	}
	if got := decode[map[string]any](t, e.do("GET", "/v8/ProxyPools/"+strings.ToUpper(id), "", "", tok...)); got["name"] != "Pool A" || got["id"] != id {
		t.Errorf("GET by id: %v", got)
	}
	after := decode[page_](t, e.do("GET", "/v8/ProxyPools", "", "", tok...))
	if len(after.Results) != len(before.Results)+1 || after.Results[len(after.Results)-1]["id"] != id {
		t.Errorf("list after create: %v", after.Results)
	}
	etag := func() float64 {
		v, _ := decode[map[string]any](t, e.do("GET", "/v8/ProxyPools/"+id, "", "", tok...))["eTag"].(float64)
		return v
	}
	e0 := etag()
	if w := e.do("PUT", "/v8/ProxyPools/"+id, jsonType, `{"name":"Pool B","description":"first","proxyIds":[],"id":"`+newGUID()+`"}`, tok...); w.Code != http.StatusNoContent {
		t.Fatalf("PUT: %d %s", w.Code, w.Body)
	}
	got := decode[map[string]any](t, e.do("GET", "/v8/ProxyPools/"+id, "", "", tok...))
	if got["name"] != "Pool B" || got["id"] != id || got["description"] != "first" {
		t.Errorf("after PUT: %v", got)
	}
	if e0 != 0 && etag() != e0+1 {
		t.Errorf("eTag %v → %v, want +1", e0, etag())
	}
	if w := e.do("DELETE", "/v8/ProxyPools/"+id, "", "", tok...); w.Code != http.StatusNoContent {
		t.Fatalf("DELETE: %d", w.Code)
	}
	for _, m := range []string{"GET", "PUT", "DELETE"} {
		if w := e.do(m, "/v8/ProxyPools/"+id, jsonType, `{"name":"x","description":"x","proxyIds":[]}`, tok...); w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), "Proxy pool with id") {
			t.Errorf("%s after DELETE: %d %s", m, w.Code, w.Body)
		}
	}
	if got := decode[page_](t, e.do("GET", "/v8/ProxyPools", "", "", tok...)); len(got.Results) != len(before.Results) {
		t.Errorf("list after DELETE: %d items", len(got.Results))
	}
	// Reset brings the seeded world back; other servers never saw the changes.
	e.srv.Reset()
	if got := decode[page_](t, e.do("GET", "/v8/ProxyPools", "", "", bearer(e.adminLogin().AccessToken)...)); len(got.Results) != seedPerParent {
		t.Errorf("after Reset: %d", len(got.Results))
	}
}

// Two servers share the default world but not their changes.
func TestServersDoNotShareChanges(t *testing.T) {
	t.Parallel()
	a, b := newTestServer(t), newTestServer(t)
	ta, tb := bearer(a.adminLogin().AccessToken), bearer(b.adminLogin().AccessToken)
	jobs := DefaultFixtures().Jobs
	job := jobs[len(jobs)-1].ID // one no copy job copies: deleting that one is refused
	if w := a.do("DELETE", "/v8/Jobs/"+job, "", "", ta...); w.Code != http.StatusNoContent {
		t.Fatalf("DELETE: %d", w.Code)
	}
	if w := a.do("GET", "/v8/Jobs/"+job, "", "", ta...); w.Code != http.StatusNotFound {
		t.Errorf("a: %d", w.Code)
	}
	if w := b.do("GET", "/v8/Jobs/"+job, "", "", tb...); w.Code != http.StatusOK {
		t.Errorf("b sees a's delete: %d", w.Code)
	}
}

// Nested collections list their parent's items only, name the parent in the links'
// paths, and 404 under a parent that does not exist.
func TestNestedCollections(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	tok := bearer(e.adminLogin().AccessToken)
	org := DefaultFixtures().Organizations[0].ID
	type setPage struct {
		page_
		SetID string `json:"setId"`
	}
	users := decode[setPage](t, e.do("GET", "/v8/Organizations/"+org+"/Users?limit=1", "", "", tok...))
	if len(users.Results) != 1 || users.Links["next"].Href != "/v8/Organizations/"+org+"/Users?setId="+users.SetID+"&offset=1&limit=1" {
		t.Fatalf("users: %v %v", users.Results, users.Links)
	}
	u := users.Results[0]
	if u["organizationId"] != nil && u["organizationId"] != org {
		t.Errorf("user of another organization: %v", u)
	}
	uid := u["id"].(string)
	if w := e.do("GET", "/v8/Organizations/"+org+"/Users/"+uid+"/OneDrives", "", "", tok...); w.Code != 200 {
		t.Errorf("a user's OneDrives: %d", w.Code)
	}
	missing := "00000000-0000-4000-8000-0000000000aa"
	for _, path := range []string{"/v8/Organizations/" + missing + "/Users", "/v8/Organizations/" + org + "/Users/" + missing, "/v8/Organizations/" + missing + "/Users/" + uid + "/OneDrives"} {
		if w := e.do("GET", path, "", "", tok...); w.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d", path, w.Code)
		}
	}
	// A list that takes setId answers one and repeats it.
	if users.SetID == "" || !strings.Contains(users.Links["next"].Href, "setId="+users.SetID) {
		t.Errorf("no setId: %+v", users)
	}
	again := decode[setPage](t, e.do("GET", "/v8/Organizations/"+org+"/Users?setId="+strings.ToUpper(users.SetID), "", "", tok...))
	if again.SetID != users.SetID || !strings.Contains(again.Links["self"].Href, "setId="+users.SetID) {
		t.Errorf("setId not kept: %q, links %v", again.SetID, again.Links)
	}
}

// userAndGroupOf is a bulk add of two selected items: a user and a group of
// organization org's directory (the server refuses items that name nobody).
func userAndGroupOf(f Fixtures, org string) string {
	var user User
	var group Group
	for _, u := range f.Users {
		if u.OrganizationID == org {
			user = u
		}
	}
	for _, g := range f.Groups {
		if g.OrganizationID == org {
			group = g
		}
	}
	return fmt.Sprintf(`[{"type":"User","user":{"id":%q}},{"type":"Group","group":{"id":%q}}]`, user.ID, group.ID)
}

// Bulk operations: POST of an array adds each element, DELETE of a list with ids
// removes those, without a body all of them.
func TestBulkAddAndRemove(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	tok := bearer(e.adminLogin().AccessToken)
	path := "/v8/Jobs/" + DefaultFixtures().Jobs[0].ID + "/SelectedItems"
	n := len(decode[page_](t, e.do("GET", path, "", "", tok...)).Results)
	two := userAndGroupOf(DefaultFixtures(), DefaultFixtures().Jobs[0].OrganizationID)
	if w := e.do("POST", path, jsonType, two, tok...); w.Code != http.StatusNoContent {
		t.Fatalf("bulk add: %d %s", w.Code, w.Body)
	}
	items := decode[page_](t, e.do("GET", path, "", "", tok...)).Results
	if len(items) != n+2 {
		t.Fatalf("after bulk add: %d items, want %d", len(items), n+2)
	}
	if w := e.do("DELETE", path, jsonType, `["`+items[0]["id"].(string)+`"]`, tok...); w.Code != http.StatusNoContent {
		t.Fatalf("bulk remove: %d %s", w.Code, w.Body)
	}
	if got := len(decode[page_](t, e.do("GET", path, "", "", tok...)).Results); got != n+1 {
		t.Errorf("after removing one: %d", got)
	}
	e.do("DELETE", path, "", "", tok...)
	if got := len(decode[page_](t, e.do("GET", path, "", "", tok...)).Results); got != 0 {
		t.Errorf("after removing all: %d", got)
	}
}

// A settings object answers the last PUT (the fields that fit), and DELETE restores it.
func TestSettingsObjects(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	tok := bearer(e.adminLogin().AccessToken)
	first := e.do("GET", "/v8/HistorySettings", "", "", tok...).Body.String()
	if again := e.do("GET", "/v8/HistorySettings", "", "", tok...).Body.String(); again != first {
		t.Errorf("two GETs differ:\n%s\n%s", first, again)
	}
	var body map[string]any
	_ = json.Unmarshal([]byte(first), &body)
	for k, v := range body {
		if b, ok := v.(bool); ok {
			body[k] = !b
			raw, _ := json.Marshal(map[string]any{k: !b})
			if w := e.do("PUT", "/v8/HistorySettings", jsonType, string(raw), tok...); w.Code != http.StatusNoContent {
				t.Fatalf("PUT: %d %s", w.Code, w.Body)
			}
			if got := decode[map[string]any](t, e.do("GET", "/v8/HistorySettings", "", "", tok...)); got[k] != !b {
				t.Errorf("%s after PUT: %v", k, got[k])
			}
			break
		}
	}
	org := DefaultFixtures().Organizations[0].ID
	path := "/v8/Organizations/" + org + "/RetentionExclusion"
	def := e.do("GET", path, "", "", tok...).Body.String()
	e.do("PUT", path, jsonType, `{"noSuchField":1}`, tok...)
	if w := e.do("DELETE", path, "", "", tok...); w.Code != http.StatusNoContent {
		t.Fatalf("DELETE: %d", w.Code)
	}
	if got := e.do("GET", path, "", "", tok...).Body.String(); got != def {
		t.Errorf("after DELETE:\n%s\nwant\n%s", got, def)
	}
}

// Generated answers are the same for the same request at the same clock reading, and
// generated pages follow the paging rules.
func TestGeneratedAnswers(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	tok := bearer(e.adminLogin().AccessToken)
	a := e.do("GET", "/v8/License", "", "", tok...).Body.String()
	if b := e.do("GET", "/v8/License", "", "", tok...).Body.String(); a != b {
		t.Errorf("License differs:\n%s\n%s", a, b)
	}
	org := DefaultFixtures().Organizations[0].ID
	p := decode[page_](t, e.do("GET", "/v8/Organizations/"+org+"/usedRepositories?limit=2", "", "", tok...))
	if len(p.Results) != 2 || p.Links["next"].Href != "/v8/Organizations/"+org+"/usedRepositories?offset=2&limit=2" {
		t.Errorf("generated page: %d results, links %v", len(p.Results), p.Links)
	}
	last := decode[page_](t, e.do("GET", p.Links["next"].Href, "", "", tok...))
	if len(last.Results) != generatedPageSize-2 || last.Links["next"].Href != "" || last.Links["prev"].Href == "" {
		t.Errorf("last generated page: %d results, links %v", len(last.Results), last.Links)
	}
	w := e.do("POST", "/v8/Reports/GenerateLicenseOverview", jsonType, `{}`, tok...)
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/octet-stream" || w.Body.Len() == 0 {
		t.Errorf("binary answer: %d %s %q", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
}

// Creates, updates, deletes and lists on one server from many goroutines keep the world
// consistent (run under -race): every created item is listed once, deleted ones never.
func TestConcurrentChanges(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	tok := bearer(e.adminLogin().AccessToken)
	const workers, each = 4, 10
	ids := make(chan string, workers*each)
	done := make(chan struct{})
	for g := range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range each { // pool names are unique (collection.unique)
				w := e.do("POST", "/v8/ProxyPools", jsonType, fmt.Sprintf(`{"name":"p%d-%d","description":"d","proxyIds":[]}`, g, i), tok...)
				id, _ := decode[map[string]any](t, w)["id"].(string)
				e.do("PUT", "/v8/ProxyPools/"+id, jsonType, fmt.Sprintf(`{"name":"q%d-%d","description":"d","proxyIds":[]}`, g, i), tok...)
				e.do("GET", "/v8/ProxyPools?limit=5", "", "", tok...)
				ids <- id
			}
		}()
	}
	for range workers {
		<-done
	}
	close(ids)
	var all []string
	for id := range ids {
		all = append(all, id)
	}
	for _, id := range all[:len(all)/2] {
		e.do("DELETE", "/v8/ProxyPools/"+id, "", "", tok...)
	}
	seen := map[string]int{}
	for _, it := range decode[page_](t, e.do("GET", "/v8/ProxyPools?limit=1000", "", "", tok...)).Results {
		seen[it["id"].(string)]++
	}
	for i, id := range all {
		want := 1
		if i < len(all)/2 {
			want = 0
		}
		if seen[id] != want {
			t.Errorf("proxy pool %s listed %d times, want %d", id, seen[id], want)
		}
	}
}

// Job sessions are listed newest first by time, not by the text of their times: as
// text, "09:00:01Z" sorts after "09:00:01.5Z".
func TestJobSessionsNewestFirst(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	tok := bearer(e.adminLogin().AccessToken)
	start := func(job string) string {
		w := e.do("POST", "/v8/Jobs/"+job+"/start", "", "", tok...)
		if w.Code != 200 {
			t.Fatalf("start: %d %s", w.Code, w.Body)
		}
		return decode[map[string]any](t, w)["id"].(string)
	}
	e.clk.Advance(time.Second)
	start(DefaultFixtures().Jobs[1].ID) // 09:00:01Z
	e.clk.Advance(500 * time.Millisecond)
	newest := start(DefaultFixtures().Jobs[2].ID) // 09:00:01.5Z
	if first := decode[page_](t, e.do("GET", "/v8/JobSessions?limit=2", "", "", tok...)).Results[0]; first["id"] != newest {
		t.Errorf("newest session %v (%v), want %v", first["id"], first["creationTime"], newest)
	}
}
