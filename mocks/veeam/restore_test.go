package veeam

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/mocks/veeam/spec"
)

// results is a page's results, decoded.
func results(m map[string]any) []map[string]any {
	var out []map[string]any
	for _, r := range m["results"].([]any) {
		out = append(out, r.(map[string]any))
	}
	return out
}

// explore starts an administrator's restore session of the default organization with
// body and returns its path.
func (e *actionEnv) explore(body string) string {
	e.t.Helper()
	org := DefaultFixtures().Organizations[0].ID
	return "/v8/RestoreSessions/" + e.call("POST", "/v8/Organizations/"+org+"/explore", body, 201)["id"].(string)
}

// A tenant explores its organization and browses a mailbox with paging and the
// parentId filter; every answer validates against the document (do checks each).
func TestTenantExploresAndBrowsesAMailbox(t *testing.T) {
	t.Parallel()
	e := newActionEnv(t, nil)
	tok := bearer(e.tenantLogin().AccessToken)
	w := e.do("POST", "/v8/Organization/Explore", jsonType, `{"type":"Vex"}`, tok...)
	if w.Code != http.StatusCreated {
		t.Fatalf("explore: %d %s", w.Code, w.Body)
	}
	rs := decode[map[string]any](t, w)
	if rs["state"] != "Working" || rs["type"] != "Vex" || rs["organization"] != DefaultOrganization {
		t.Fatalf("explore answered %v", rs)
	}
	base := "/v8/RestoreSessions/" + rs["id"].(string)
	get := func(path string) map[string]any {
		t.Helper()
		w := e.do("GET", path, "", "", tok...)
		if w.Code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, w.Code, w.Body)
		}
		return decode[map[string]any](t, w)
	}
	page := get(base + "/organization/mailboxes?limit=5")
	if n := len(results(page)); n != 5 || field(page, "_links.next.href") == absent {
		t.Fatalf("first page of 12 mailboxes: %d results, links %v", n, page["_links"])
	}
	all := results(get(base + "/organization/mailboxes?limit=100"))
	if len(all) != 12 || all[0]["email"] != "adele@abc.onmicrosoft.com" {
		t.Fatalf("mailboxes: %d, first %v", len(all), all[0])
	}
	mb := base + "/organization/mailboxes/" + all[0]["id"].(string)
	folders := results(get(mb + "/folders"))
	if len(folders) != 6 || folders[0]["name"] != "Inbox" || folders[0]["category"] != "Inbox" {
		t.Fatalf("folders: %v", folders)
	}
	inbox := results(get(mb + "/items?parentId=" + folders[0]["id"].(string)))
	every := results(get(mb + "/items?limit=100"))
	if len(inbox) != 4 || len(every) <= len(inbox) { // 5 in the Inbox, one deleted before now
		t.Fatalf("Inbox holds %d items of %d", len(inbox), len(every))
	}
	one := get(mb + "/items/" + inbox[0]["id"].(string))
	if one["subject"] != "Quarterly numbers" || one["id"] != inbox[0]["id"] {
		t.Fatalf("item: %v", one)
	}
	if w := e.do("GET", mb+"/items/nosuchitem", "", "", tok...); w.Code != http.StatusNotFound {
		t.Fatalf("an item the session does not show: %d", w.Code)
	}
	// A session of another type shows no mailboxes; a Veod session shows OneDrives.
	if n := len(results(get(base + "/Organization/OneDrives"))); n != 0 {
		t.Errorf("a Vex session shows %d OneDrives", n)
	}
}

// What a session shows follows its options: the point in time hides what was created
// after it, showDeleted shows what was deleted before it, showAllVersions every version.
func TestRestoreSessionContentFollowsItsOptions(t *testing.T) {
	t.Parallel()
	e := newActionEnv(t, nil)
	items := func(session string) []map[string]any {
		mbs := results(e.call("GET", session+"/organization/mailboxes", "", 200))
		return results(e.call("GET", session+"/organization/mailboxes/"+mbs[0]["id"].(string)+"/items?limit=1000", "", 200))
	}
	now := items(e.explore(`{"type":"Vex"}`))
	deleted := items(e.explore(`{"type":"Vex","showDeleted":true}`))
	past := items(e.explore(`{"type":"Vex","dateTime":"` + clock.DefaultStart.Add(-30*time.Hour).Format(time.RFC3339) + `"}`))
	if len(deleted) <= len(now) || len(past) >= len(now) || len(past) == 0 {
		t.Fatalf("items now %d, with deleted %d, 30 hours ago %d", len(now), len(deleted), len(past))
	}
	for _, it := range now {
		if it["received"].(string) > clock.DefaultStart.Format(time.RFC3339) {
			t.Errorf("item %v received after the session's point in time", it)
		}
	}
	cutoff := clock.DefaultStart.Add(-30 * time.Hour).Format(time.RFC3339)
	for _, it := range past {
		if it["received"].(string) > cutoff {
			t.Errorf("item received %v shown in a session of %s", it["received"], cutoff)
		}
	}
	versions := func(body string) int {
		s := e.explore(body)
		od := results(e.call("GET", s+"/Organization/OneDrives", "", 200))[0]["id"].(string)
		docs := results(e.call("GET", s+"/Organization/OneDrives/"+od+"/Documents", "", 200))
		return len(results(e.call("GET", s+"/Organization/OneDrives/"+od+"/Documents/"+docs[0]["id"].(string)+"/Versions", "", 200)))
	}
	if one, all := versions(`{"type":"Veod"}`), versions(`{"type":"Veod","showAllVersions":true}`); one != 1 || all != 3 {
		t.Errorf("versions: %d without showAllVersions, %d with; want 1 and 3", one, all)
	}
}

// A document reads as the version current at the session's point in time, with that
// version's modification time, as its Versions list says (the issue 13 re-trial's D2:
// it said 3.0 before its second version existed); and an item reads the same in every
// session of the same time (D3: its generated fields differed by session).
func TestContentIsTheSameAtTheSameTime(t *testing.T) {
	t.Parallel()
	e := newActionEnv(t, nil)
	doc := func(body string) (map[string]any, []map[string]any) {
		s := e.explore(body)
		od := results(e.call("GET", s+"/Organization/OneDrives", "", 200))[0]["id"].(string)
		base := s + "/Organization/OneDrives/" + od + "/Documents/"
		id := results(e.call("GET", s+"/Organization/OneDrives/"+od+"/Documents", "", 200))[0]["id"].(string)
		return e.call("GET", base+id, "", 200), results(e.call("GET", base+id+"/Versions", "", 200))
	}
	latest, all := doc(`{"type":"Veod","showAllVersions":true}`)
	if len(all) != 3 || latest["version"] != "3.0" || latest["modificationTime"] != all[2]["modificationTime"] {
		t.Fatalf("now: document %v %v, versions %v", latest["version"], latest["modificationTime"], all)
	}
	// Each version is its document's: the same name and authors, a size up to the
	// document's (a placeholder name was generated for them before).
	for _, v := range all {
		if v["name"] != latest["name"] || v["createdBy"] != latest["createdBy"] {
			t.Errorf("version %v: name %v by %v; its document is %v by %v", v["version"], v["name"], v["createdBy"], latest["name"], latest["createdBy"])
		}
	}
	if all[2]["sizeBytes"] != latest["sizeBytes"] || all[0]["sizeBytes"].(float64) >= all[2]["sizeBytes"].(float64) {
		t.Errorf("version sizes %v, %v, %v; the document's %v", all[0]["sizeBytes"], all[1]["sizeBytes"], all[2]["sizeBytes"], latest["sizeBytes"])
	}
	first, _ := time.Parse(time.RFC3339, all[0]["modificationTime"].(string))
	early, versions := doc(`{"type":"Veod","dateTime":"` + first.Add(time.Minute).Format(time.RFC3339) + `"}`)
	if len(versions) != 1 || versions[0]["version"] != "1.0" || early["version"] != "1.0" || early["versionId"] != 1.0 ||
		early["modificationTime"] != all[0]["modificationTime"] {
		t.Errorf("a minute after version 1: document %v (id %v, modified %v), versions %v; want 1.0 of %v",
			early["version"], early["versionId"], early["modificationTime"], versions, all[0]["modificationTime"])
	}
	item := func() string {
		s := e.explore(`{"type":"Vex"}`)
		mb := results(e.call("GET", s+"/organization/mailboxes", "", 200))[0]["id"].(string)
		it := results(e.call("GET", s+"/organization/mailboxes/"+mb+"/items?limit=1", "", 200))[0]
		delete(it, "_links") // its self link names the session
		b, _ := json.Marshal(it)
		return string(b)
	}
	if a, b := item(), item(); a != b {
		t.Errorf("one mail item in two sessions:\n%s\n%s", a, b)
	}
}

// The content is the same in every run and on every server: the same ids, the same
// items, whichever server generates them.
func TestRestoreSessionContentIsDeterministic(t *testing.T) {
	t.Parallel()
	ids := func() string {
		e := newActionEnv(t, nil)
		s := e.explore(`{"type":"Vesp"}`)
		site := results(e.call("GET", s+"/Organization/Sites", "", 200))[0]["id"].(string)
		var b strings.Builder
		for _, list := range []string{"Libraries", "Lists", "Folders", "Documents", "Items"} {
			for _, it := range results(e.call("GET", s+"/Organization/Sites/"+site+"/"+list, "", 200)) {
				b.WriteString(list + ":" + it["id"].(string) + " ")
			}
		}
		return b.String()
	}
	a, b := ids(), ids()
	if a != b || strings.Count(a, ":") < 10 {
		t.Fatalf("two servers show different sites' content:\n%s\n%s", a, b)
	}
}

// Every explore operation of the document starts a session of the organization it
// names; a stopped session's content is refused while the session still answers.
func TestExploreOperationsAndStoppedSessions(t *testing.T) {
	t.Parallel()
	e := newActionEnv(t, nil)
	f := DefaultFixtures()
	job := f.Jobs[len(f.Jobs)-1] // a fabrikam job
	s := e.call("POST", "/v8/Jobs/"+job.ID+"/explore", `{"type":"Veod"}`, 201)
	if s["organization"] != LegacyOrganization || s["type"] != "Veod" {
		t.Errorf("a job's explore: %v", s)
	}
	s = e.call("POST", "/v8/BackupRepositories/"+job.RepositoryID+"/explore?organizationId="+job.OrganizationID, "", 201)
	if s["type"] != "Vex" || s["organization"] != LegacyOrganization {
		t.Errorf("a repository's explore: %v", s)
	}
	base := e.explore(`{"type":"Vet"}`)
	if n := len(results(e.call("GET", base+"/organization/teams", "", 200))); n != 2 {
		t.Fatalf("teams: %d", n)
	}
	e.call("POST", base+"/Stop", "", 204)
	if got := e.call("GET", base, "", 200); got["state"] != "Stopped" || got["endTime"] == nil {
		t.Errorf("stopped session: %v", got)
	}
	w := e.do("GET", base+"/organization/teams", "", "", e.tok...)
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `"errorCode":"OperationConflict"`) {
		t.Errorf("a stopped session's content: %d %s", w.Code, w.Body)
	}
	e.call("GET", base+"/Events", "", 200)
}

// The content cache is bounded: browsing more items than its bound keeps at most that
// many, and what was dropped comes back the same.
func TestRestoreSessionContentCacheIsBounded(t *testing.T) {
	t.Parallel()
	e := newActionEnv(t, nil)
	const bound = 400
	e.srv.world.content.max = bound
	first := ""
	for i := 0; e.srv.world.content.n < bound/2 && i < 40; i++ {
		s := e.explore(`{"type":"Vex"}`)
		for _, mb := range results(e.call("GET", s+"/organization/mailboxes?limit=100", "", 200)) {
			items := results(e.call("GET", s+"/organization/mailboxes/"+mb["id"].(string)+"/items?limit=100", "", 200))
			if first == "" {
				first = s + "/organization/mailboxes/" + mb["id"].(string) + "/items/" + items[0]["id"].(string)
			}
		}
	}
	for range 3 * bound / 300 {
		s := e.explore(`{"type":"Vex"}`)
		for _, mb := range results(e.call("GET", s+"/organization/mailboxes?limit=100", "", 200)) {
			e.call("GET", s+"/organization/mailboxes/"+mb["id"].(string)+"/items?limit=100", "", 200)
		}
		if n := e.srv.world.content.n; n > bound {
			t.Fatalf("the cache holds %d items", n)
		}
	}
	if e.call("GET", first, "", 200)["subject"] != "Quarterly numbers" {
		t.Error("an item dropped from the cache did not come back the same")
	}
}

// body is a valid request body of an operation, generated from the document.
func body(id string) string {
	rt := table().byID[id]
	if rt == nil || rt.op.Body == nil {
		return ""
	}
	return string(spec.Doc().Generate(rt.op.Body, spec.Gen{Seed: "test/" + id, Now: clock.DefaultStart, Request: true}))
}

// A restore appends an event that runs on the clock and is counted by the statistics;
// send, export and save are done at once, the last two with a real file; Stop cancels
// what still runs and the stopped session refuses further actions.
func TestRestoreActionsProgressOnTheClock(t *testing.T) {
	t.Parallel()
	e := newActionEnv(t, nil) // sessionDuration 600 s
	tok := bearer(e.tenantLogin().AccessToken)
	send := func(method, path, id string, want int) *httptest.ResponseRecorder {
		t.Helper()
		b, ctype := body(id), ""
		if strings.HasPrefix(id, "{") {
			b = id
		}
		if b != "" {
			ctype = jsonType
		}
		w := e.do(method, path, ctype, b, tok...)
		if w.Code != want {
			t.Fatalf("%s %s: %d %s", method, path, w.Code, w.Body)
		}
		return w
	}
	rs := decode[map[string]any](t, send("POST", "/v8/Organization/Explore", `{"type":"Vex"}`, 201))
	base := "/v8/RestoreSessions/" + rs["id"].(string)
	mbs := results(decode[map[string]any](t, send("GET", base+"/organization/mailboxes", "", 200)))
	mb := base + "/organization/mailboxes/" + mbs[0]["id"].(string)
	item := results(decode[map[string]any](t, send("GET", mb+"/items", "", 200)))[0]
	async := decode[map[string]any](t, send("POST", mb+"/items/"+item["id"].(string)+"/restore", "ExchangeItem_RestoreItemAction", 200))
	if async["sessionId"] != rs["id"] {
		t.Errorf("restore answered %v", async)
	}
	events := func() []map[string]any {
		return results(decode[map[string]any](t, send("GET", base+"/Events", "", 200)))
	}
	ev := events()
	if len(ev) != 1 || ev[0]["status"] != "Running" || ev[0]["type"] != "Restore" || ev[0]["itemName"] != item["subject"] {
		t.Fatalf("events after a restore: %v", ev)
	}
	e.clk.Advance(599 * time.Second)
	if ev := events(); ev[0]["status"] != "Running" {
		t.Errorf("at 599 s the restore is %v", ev[0]["status"])
	}
	e.clk.Advance(time.Second)
	ev = events()
	if ev[0]["status"] != "Success" || ev[0]["duration"] != "00:10:00" || ev[0]["endTime"] == nil {
		t.Errorf("at 600 s: %v", ev[0])
	}
	// Export to PST, save as MSG, save OneDrive-like content as ZIP, send.
	w := send("POST", mb+"/items/"+item["id"].(string)+"/exportToPst", "ExchangeItem_ExportItemToPstAction", 200)
	if !bytes.HasPrefix(w.Body.Bytes(), []byte("!BDN")) || !strings.Contains(w.Header().Get("Content-Disposition"), `.pst"`) {
		t.Errorf("exportToPst: %q, %q", w.Body.Bytes()[:8], w.Header().Get("Content-Disposition"))
	}
	w = send("POST", mb+"/items/"+item["id"].(string)+"/save", "ExchangeItem_SaveItemAction", 200)
	if !bytes.HasPrefix(w.Body.Bytes(), []byte{0xD0, 0xCF, 0x11, 0xE0}) || !strings.Contains(w.Header().Get("Content-Disposition"), `.msg"`) {
		t.Errorf("save: %q, %q", w.Body.Bytes()[:8], w.Header().Get("Content-Disposition"))
	}
	w = send("POST", mb+"/items/Save", `{"items":[{"id":"`+item["id"].(string)+`"}]}`, 200)
	if zr, err := zip.NewReader(bytes.NewReader(w.Body.Bytes()), int64(w.Body.Len())); err != nil || len(zr.File) != 1 {
		t.Errorf("saving items gives no ZIP: %v", err)
	} else if m := zr.File[0].Modified; m.Year() < 2020 {
		t.Errorf("the ZIP's entry is dated %v (a zero DOS date reads as month 0); want the mock clock's time", m)
	}
	send("POST", mb+"/items/"+item["id"].(string)+"/sendToDefaultAddress", "ExchangeItem_SendItemToDefaultAddressAction", 204)
	st := decode[map[string]any](t, send("GET", base+"/Statistics", "", 200))
	if st["totalItemsCount"] != 5.0 || st["restoredItemsCount"] != 5.0 {
		t.Errorf("statistics after five done: %v", st)
	}
	// A restore still running when the session stops is cancelled.
	send("POST", mb+"/restore", "ExchangeMailbox_RestoreMailboxAction", 200)
	send("POST", base+"/Stop", "", 204)
	ev = events()
	if last := ev[len(ev)-1]; last["status"] != "Cancelled" {
		t.Errorf("the running restore after Stop: %v", last)
	}
	st = decode[map[string]any](t, send("GET", base+"/Statistics", "", 200))
	if st["skippedItemsCount"] != 1.0 {
		t.Errorf("statistics after Stop: %v", st)
	}
	send("POST", mb+"/restore", "ExchangeMailbox_RestoreMailboxAction", 400)
	e.clk.Advance(time.Hour)
	if last := events()[len(ev)-1]; last["status"] != "Cancelled" {
		t.Errorf("a cancelled restore went on: %v", last)
	}
}

// mintFor records a session of kind for user of org and returns its bearer header.
func (e *actionEnv) mintFor(kind principalKind, user, org string) []string {
	tok := "test-" + newGUID()
	now := e.clk.Now()
	sess := &session{key: newGUID(), user: user, kind: kind, orgID: org, credentialType: credOperator}
	e.srv.sessions.add(sess, tok, tok+"-refresh", now.Add(time.Hour), now.Add(2*time.Hour), "", now)
	return bearer(tok)
}

// A restore operator sees what its RBAC role's scope allows and nothing else: roles
// are managed through the document's RbacRoles operations; an operator without a role,
// or asking for an object outside its scope, gets 403 ResourceAccessDenied; operators
// and tenants see only their own restore sessions.
func TestOperatorsStayWithinTheirRBACScope(t *testing.T) {
	t.Parallel()
	e := newActionEnv(t, nil)
	f := DefaultFixtures()
	org := f.Organizations[0].ID
	var abc []User
	for _, u := range f.Users {
		if u.OrganizationID == org {
			abc = append(abc, u)
		}
	}
	diego, adele, grady := abc[2], abc[0], abc[3]
	user := func(u User) string {
		return `{"type":"User","user":{"id":"` + u.ID + `","displayName":"` + u.DisplayName + `","name":"` + u.Name + `","type":"User"}}`
	}
	site := `{"type":"Site","site":{"id":"` + f.Sites[0].ID + `","url":"` + f.Sites[0].URL + `","title":"` + f.Sites[0].Name + `","isCloud":true,"isPersonal":false}}`
	role := e.call("POST", "/v8/Organizations/"+org+"/RbacRoles", `{"name":"Diego's own","roleType":"SpecificObjects",
		"operators":[`+user(diego)+`],"selectedItems":[`+user(diego)+`,`+site+`]}`, 201)
	listed := false
	for _, r := range e.callArray("GET", "/v8/Organizations/"+org+"/RbacRoles") {
		listed = listed || r["id"] == role["id"]
	}
	if !listed || len(e.callArray("GET", "/v8/RbacRoles/"+role["id"].(string)+"/operators")) != 1 {
		t.Fatalf("the new role %v is not listed with its operator", role)
	}
	op := e.mintFor(kindOperator, diego.Name, org)
	call := func(tok []string, method, path, body string, want int) map[string]any {
		t.Helper()
		ctype := ""
		if body != "" {
			ctype = jsonType
		}
		w := e.do(method, path, ctype, body, tok...)
		if w.Code != want {
			t.Fatalf("%s %s: %d %s, want %d", method, path, w.Code, w.Body, want)
		}
		if w.Code == http.StatusForbidden && !strings.Contains(w.Body.String(), `"ResourceAccessDenied"`) {
			t.Errorf("403 without ResourceAccessDenied: %s", w.Body)
		}
		m := map[string]any{}
		_ = decodeJSONBytes(w.Body.Bytes(), &m)
		return m
	}
	s := "/v8/RestoreSessions/" + call(op, "POST", "/v8/Organization/Explore", `{"type":"Vex"}`, 201)["id"].(string)
	mbs := results(call(op, "GET", s+"/organization/mailboxes", "", 200))
	if len(mbs) != 1 || mbs[0]["email"] != diego.Name {
		t.Errorf("the operator's session shows mailboxes %v, want Diego's alone", mbs)
	}
	// Actions on the whole list check what their body names, against the same scope: an
	// operator cannot restore a mailbox its session does not show (the newcomer's D1:
	// both answered 200 and queued a restore), and nobody can restore one that does not
	// exist.
	full := "/v8/RestoreSessions/" + e.call("POST", "/v8/Organizations/"+org+"/explore", `{"type":"Vex"}`, 201)["id"].(string)
	idOf := func(list []map[string]any, field, value string) string {
		for _, m := range list {
			if m[field] == value {
				return m["id"].(string)
			}
		}
		t.Fatalf("no %s %q in %v", field, value, list)
		return ""
	}
	all := results(e.call("GET", full+"/organization/mailboxes?limit=100", "", 200))
	adeleBox, diegoBox := idOf(all, "email", adele.Name), idOf(all, "email", diego.Name)
	restore := s + "/organization/mailboxes/restore"
	call(op, "POST", restore, `{"mailboxes":[{"id":"`+adeleBox+`"}]}`, 403)
	call(op, "POST", restore, `{"mailboxes":[{"id":"`+diegoBox+`"},{"id":"`+adeleBox+`"}]}`, 403)
	call(op, "POST", restore, `{"mailboxes":[{"id":"00000000-0000-0000-0000-000000000001"}]}`, 404)
	e.call("POST", full+"/organization/mailboxes/restore", `{"mailboxes":[{"id":"00000000-0000-0000-0000-000000000001"}]}`, 404)
	call(op, "POST", restore, `{"mailboxes":[{"id":"`+diegoBox+`"}]}`, 200)
	if evs := results(call(op, "GET", s+"/Events", "", 200)); len(evs) != 1 {
		t.Errorf("%d restore events after one allowed restore and four refused: %v", len(evs), evs)
	}
	s2 := "/v8/RestoreSessions/" + call(op, "POST", "/v8/Organization/Explore", `{"type":"Vesp"}`, 201)["id"].(string)
	if sites := results(call(op, "GET", s2+"/Organization/Sites", "", 200)); len(sites) != 1 || sites[0]["id"] != f.Sites[0].ID {
		t.Errorf("the operator's session shows sites %v", sites)
	}
	call(op, "POST", "/v8/Organization/OperatorExplore", `{"type":"Vex","scope":`+user(adele)+`}`, 403)
	s3 := "/v8/RestoreSessions/" + call(op, "POST", "/v8/Organization/OperatorExplore",
		`{"type":"Veod","reason":"ticket 42","scope":`+user(diego)+`}`, 201)["id"].(string)
	if ods := results(call(op, "GET", s3+"/Organization/OneDrives", "", 200)); len(ods) != 1 {
		t.Errorf("OperatorExplore of Diego shows %d OneDrives", len(ods))
	}
	call(e.mintFor(kindOperator, grady.Name, org), "POST", "/v8/Organization/Explore", `{"type":"Vex"}`, 403)
	// Own sessions only: the operator lists its three; a tenant cannot open them, nor the
	// operator a tenant's.
	if n := len(results(call(op, "GET", "/v8/RestoreSessions", "", 200))); n != 3 {
		t.Errorf("the operator lists %d restore sessions, want its 3", n)
	}
	tenant := bearer(e.tenantLogin().AccessToken)
	call(tenant, "GET", s+"/organization/mailboxes", "", 403)
	ts := "/v8/RestoreSessions/" + call(tenant, "POST", "/v8/Organization/Explore", `{"type":"Vex"}`, 201)["id"].(string)
	call(op, "GET", ts, "", 403)
	other := e.mintFor(kindTenant, "admin@fabrikam.onmicrosoft.com", f.Organizations[1].ID)
	call(other, "GET", ts+"/organization/mailboxes", "", 403)
	call(other, "GET", "/v8/Organizations", "", 403)
	if rs := call(other, "GET", "/v8/RestoreSessions", "", 200); len(results(rs)) != 0 {
		t.Errorf("fabrikam's tenant sees %v", rs)
	}
}

// callArray sends an administrator's GET that answers a plain array.
func (e *actionEnv) callArray(method, path string) []map[string]any {
	e.t.Helper()
	w := e.do(method, path, "", "", e.tok...)
	if w.Code != http.StatusOK {
		e.t.Fatalf("%s %s = %d %s", method, path, w.Code, w.Body)
	}
	return decode[[]map[string]any](e.t, w)
}

// The document's search operations scan the session's content for the query.
func TestSearchesFindTheSessionsContent(t *testing.T) {
	t.Parallel()
	e := newActionEnv(t, nil)
	count := func(path, body string) int {
		t.Helper()
		m := e.call("POST", path, body, 200)
		return len(results(m))
	}
	vex := e.explore(`{"type":"Vex"}`)
	mbs := results(e.call("GET", vex+"/organization/mailboxes", "", 200))
	mb := vex + "/organization/mailboxes/" + mbs[0]["id"].(string)
	inbox := results(e.call("GET", mb+"/folders", "", 200))[0]["id"].(string)
	for _, c := range []struct {
		path, body string
		want       int
	}{
		{mb + "/search", `{"query":"quarterly"}`, 2}, // Inbox and Sent Items
		{mb + "/folders/" + inbox + "/search", `{"query":""}`, 4},
		{vex + "/organization/mailboxes/search", `{"query":"QUARTERLY"}`, 2 * len(mbs)},
		{vex + "/organization/searchExchange", `{"query":"no such subject"}`, 0},
	} {
		if n := count(c.path, c.body); n != c.want {
			t.Errorf("POST %s %s: %d matches, want %d", c.path, c.body, n, c.want)
		}
	}
	veod := e.explore(`{"type":"Veod"}`)
	ods := results(e.call("GET", veod+"/Organization/OneDrives", "", 200))
	if n := count(veod+"/Organization/OneDrives/search", `{"query":"budget"}`); n != len(ods) {
		t.Errorf("OneDrives search for budget: %d, want one per OneDrive (%d)", n, len(ods))
	}
	vet := e.explore(`{"type":"Vet"}`)
	if n := count(vet+"/organization/searchTeams", `{"type":"Posts","query":"welcome"}`); n != 4 {
		t.Errorf("teams search for the welcome posts: %d, want 4 (two teams of two channels)", n)
	}
	team := results(e.call("GET", vet+"/organization/teams", "", 200))[0]["id"].(string)
	ch := results(e.call("GET", vet+"/organization/teams/"+team+"/channels", "", 200))[0]["id"].(string)
	if n := count(vet+"/organization/teams/"+team+"/channels/"+ch+"/tabs/search", `{"query":"wiki"}`); n != 1 {
		t.Errorf("tabs search: %d", n)
	}
}

// Restores sent at once to one session each get their own event: without a state file
// requests are not serialised, and two could take the same order (and so the same id),
// one event overwriting the other (40 parallel restores listed 39 events; issue 13
// newcomer trial).
func TestConcurrentRestoresEachGetAnEvent(t *testing.T) {
	t.Parallel()
	e := newActionEnv(t, nil)
	tok := bearer(e.tenantLogin().AccessToken)
	rs := decode[map[string]any](t, e.do("POST", "/v8/Organization/Explore", jsonType, `{"type":"Vex"}`, tok...))
	base := "/v8/RestoreSessions/" + rs["id"].(string)
	mb := base + "/organization/mailboxes/" + results(decode[map[string]any](t, e.do("GET", base+"/organization/mailboxes", "", "", tok...)))[0]["id"].(string)
	item := results(decode[map[string]any](t, e.do("GET", mb+"/items", "", "", tok...)))[0]["id"].(string)
	const n = 40
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if w := e.do("POST", mb+"/items/"+item+"/restore", jsonType, body("ExchangeItem_RestoreItemAction"), tok...); w.Code != 200 {
				t.Errorf("restore: %d %s", w.Code, w.Body)
			}
		}()
	}
	wg.Wait()
	if got := len(results(decode[map[string]any](t, e.do("GET", base+"/Events?limit=1000", "", "", tok...)))); got != n {
		t.Errorf("%d parallel restores left %d events", n, got)
	}
}
