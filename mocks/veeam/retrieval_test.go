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
