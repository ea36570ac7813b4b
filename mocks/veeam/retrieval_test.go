package veeam

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Issue 13 item 4: a data retrieval runs on the clock like a job session, and once its
// data is retrieved, explore starts a real restore session over it.
func TestDataRetrievalRunsOnTheClockAndExploresItsData(t *testing.T) {
	t.Parallel()
	e := newActionEnv(t, nil) // sessionDuration 600
	f := DefaultFixtures()
	org, repo := f.Organizations[0], f.Repositories[0]
	start := e.clk.Now()
	point := start.Add(-2 * time.Hour)
	mailbox := fmt.Sprintf(`{"id":%q,"itemType":"Mailbox","repositoryId":%q,"isArchive":false,"email":"adele@abc.example","backedUpOrganizationId":%q}`,
		org.ID, repo.ID, org.MSID)
	body := fmt.Sprintf(`{"name":"mail of last night","organizationId":%q,"repositoryId":%q,"pointInTime":%q,"mailboxes":[%s],"availabilityPeriodDays":3}`,
		org.MSID, repo.ID, wire(point), mailbox)
	r := e.call("POST", "/v8/DataRetrievals", body, 201)
	id, _ := r["id"].(string)
	if r["dataState"] != "Retrieving" || r["lastStatus"] != "Running" || r["type"] != "Exchange" || r["organizationId"] != org.ID ||
		!sameTime(r["startTime"], start) || !sameTime(r["pointInTime"], point) {
		t.Fatalf("new retrieval: %v", r)
	}
	sessions := results(e.call("GET", "/v8/DataRetrievalSessions?dataRetrievalId="+id, "", 200))
	if len(sessions) != 1 || sessions[0]["status"] != "Running" || sessions[0]["type"] != "Retrieve" || sessions[0]["retrievalId"] != id {
		t.Fatalf("its sessions: %v", sessions)
	}
	session := "/v8/DataRetrievalSessions/" + sessions[0]["id"].(string)

	// Not retrieved yet: explore is refused.
	w := e.do("POST", "/v8/DataRetrievals/"+id+"/explore", "", "", e.tok...)
	if w.Code != 400 || !strings.Contains(w.Body.String(), "OperationConflict") {
		t.Fatalf("explore while retrieving = %d %s; want 400 OperationConflict", w.Code, w.Body)
	}

	var seen []string
	for range 2 {
		e.clk.Advance(5 * time.Minute)
		s := e.call("GET", session, "", 200)
		seen = append(seen, fmt.Sprint(s["status"], " ", s["progress"], " ", s["endTime"]))
	}
	end := start.Add(10 * time.Minute)
	if want := "Running 50 <nil> | Success 100 " + wire(end); strings.Join(seen, " | ") != want {
		t.Fatalf("the retrieval session showed %v; want %s", seen, want)
	}
	if log := results(e.call("GET", session+"/LogItems", "", 200)); len(log) != 3 || log[2]["type"] != "Success" {
		t.Fatalf("log items: %v", log)
	}
	r = e.call("GET", "/v8/DataRetrievals/"+id, "", 200)
	if r["dataState"] != "Retrieved" || r["lastStatus"] != "Success" || r["retrievedRestorePointId"] == nil ||
		!sameTime(r["expirationTime"], end.Add(72*time.Hour)) {
		t.Fatalf("retrieved: %v", r)
	}
	rp := e.call("GET", "/v8/RestorePoints/"+r["retrievedRestorePointId"].(string), "", 200)
	if bt := parseTime(rp["backupTime"].(string)); rp["organizationId"] != org.ID || bt == nil || bt.After(point) {
		t.Fatalf("retrieved restore point %v is not the organization's at or before %s", rp, wire(point))
	}

	rs := e.call("POST", "/v8/DataRetrievals/"+id+"/explore", "", 201)
	rsID, _ := rs["id"].(string)
	self := rs["_links"].(map[string]any)["self"].(map[string]any)["href"]
	if rs["type"] != "Vex" || rs["organization"] != org.Name || self != "/v8/RestoreSessions/"+rsID {
		t.Fatalf("explore: %v", rs)
	}
	if mb := results(e.call("GET", "/v8/RestoreSessions/"+rsID+"/organization/mailboxes", "", 200)); len(mb) == 0 {
		t.Fatal("the retrieval's restore session shows no mailboxes")
	}

	// What the retrieval names is listed under it, in the document's shapes.
	mbs := results(e.call("GET", "/v8/DataRetrievals/"+id+"/mailboxes", "", 200))
	if len(mbs) != 1 || mbs[0]["id"] != org.ID || mbs[0]["email"] != "adele@abc.example" || mbs[0]["isArchive"] != false {
		t.Errorf("its mailboxes: %v", mbs)
	}
	for _, list := range []string{"onedrives", "webs", "teams"} {
		if got := results(e.call("GET", "/v8/DataRetrievals/"+id+"/"+list, "", 200)); len(got) != 0 {
			t.Errorf("its %s: %v; it named none", list, got)
		}
	}

	// A new availability period counts from the retrieval: 5 days, then back to 3.
	e.call("PUT", "/v8/DataRetrievals/"+id, `{"name":"mail of last night","availabilityPeriodDays":5}`, 204)
	if r = e.call("GET", "/v8/DataRetrievals/"+id, "", 200); !sameTime(r["expirationTime"], end.Add(5*24*time.Hour)) {
		t.Fatalf("expirationTime after a PUT of 5 days = %v; want %s", r["expirationTime"], wire(end.Add(5*24*time.Hour)))
	}
	e.call("PUT", "/v8/DataRetrievals/"+id, `{"description":"no period given"}`, 204)
	if r = e.call("GET", "/v8/DataRetrievals/"+id, "", 200); !sameTime(r["expirationTime"], end.Add(5*24*time.Hour)) {
		t.Fatalf("a PUT without a period moved expirationTime to %v", r["expirationTime"])
	}
	e.call("PUT", "/v8/DataRetrievals/"+id, `{"availabilityPeriodDays":3}`, 204)

	// Past its expirationTime the data is gone.
	e.clk.Advance(72 * time.Hour)
	e.tok = bearer(e.adminLogin().AccessToken) // the first one expired
	if w := e.do("POST", "/v8/DataRetrievals/"+id+"/explore", "", "", e.tok...); w.Code != 400 {
		t.Fatalf("explore after expiry = %d %s; want 400", w.Code, w.Body)
	}

	// An organization the server does not hold.
	w = e.do("POST", "/v8/DataRetrievals", jsonType, `{"name":"x","organizationId":"no-such-org"}`, e.tok...)
	if w.Code != 404 || !strings.Contains(w.Body.String(), "ResourceNotFound") {
		t.Fatalf("retrieval of an unknown organization = %d %s; want 404", w.Code, w.Body)
	}
}

// A retrieval's …/webs and …/teams list the sites and teams its request named, in the
// document's shapes (validated by the response check of every test server).
func TestDataRetrievalListsTheSitesItNamed(t *testing.T) {
	t.Parallel()
	e := newActionEnv(t, nil)
	f := DefaultFixtures()
	org, repo := f.Organizations[0], f.Repositories[0]
	site := fmt.Sprintf(`{"id":"5f0c7d3e-1111-4a2b-9c3d-000000000001","itemType":"Site","repositoryId":%q,"title":"Marketing","url":"https://abc.sharepoint.com/sites/marketing","backedUpOrganizationId":%q}`, repo.ID, org.MSID)
	r := e.call("POST", "/v8/DataRetrievals", fmt.Sprintf(`{"name":"the marketing site","organizationId":%q,"repositoryId":%q,"sites":[%s]}`, org.MSID, repo.ID, site), 201)
	webs := results(e.call("GET", "/v8/DataRetrievals/"+r["id"].(string)+"/webs", "", 200))
	if len(webs) != 1 || webs[0]["SiteId"] != "5f0c7d3e-1111-4a2b-9c3d-000000000001" || webs[0]["Title"] != "Marketing" || webs[0]["Url"] != "https://abc.sharepoint.com/sites/marketing" {
		t.Errorf("its webs: %v", webs)
	}
	if w := e.do("GET", "/v8/DataRetrievals/0a0a0a0a-0000-4000-8000-00000000000f/webs", "", "", e.tok...); w.Code != 404 {
		t.Errorf("webs of an unknown retrieval = %d %s; want 404", w.Code, w.Body)
	}
}
