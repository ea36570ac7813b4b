package veeam

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// actionEnv is a test server with an administrator's token, for the actions.
type actionEnv struct {
	*testEnv
	tok []string
}

func newActionEnv(t *testing.T, set func(*Settings), opts ...Option) *actionEnv {
	t.Helper()
	e := newTestServer(t, opts...)
	s := e.srv.Settings()
	s.SessionDuration = 600
	s.AccessTokenLifetime = 86400 // the tests move the clock by hours
	if set != nil {
		set(&s)
	}
	e.srv.UpdateSettings(s)
	return &actionEnv{testEnv: e, tok: bearer(e.adminLogin().AccessToken)}
}

// call sends an administrator's request and fails the test on another status.
func (e *actionEnv) call(method, path, body string, want int) map[string]any {
	e.t.Helper()
	ctype := ""
	if body != "" {
		ctype = jsonType
	}
	w := e.do(method, path, ctype, body, e.tok...)
	if w.Code != want {
		e.t.Fatalf("%s %s = %d %s; want %d", method, path, w.Code, w.Body, want)
	}
	var m map[string]any
	if strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
		_ = json.Unmarshal(w.Body.Bytes(), &m)
	}
	return m
}

// field reads a dotted path ("currentSyncState.status") of a decoded object; absent
// for a member that is not there.
func field(m map[string]any, path string) any {
	var v any = m
	for _, k := range strings.Split(path, ".") {
		o, ok := v.(map[string]any)
		if !ok {
			return absent
		}
		if v, ok = o[k]; !ok {
			return absent
		}
	}
	return v
}

const absent = "<absent>"

func firstID(e *actionEnv, list string) string {
	return e.srv.world.list(list)[0].id
}

// Issue 11 item 5: each action has its effect, and the work it starts moves on the
// clock: Running at once, halfway at half the configured duration, its result at the
// end, never before; a client polling sees each transition, and the log items record
// them.
func TestActionsMoveOnTheClock(t *testing.T) {
	t.Parallel()
	type phase struct {
		at   time.Duration // since the action
		want map[string]any
	}
	running := func(pct float64) map[string]any {
		return map[string]any{"status": "Running", "progress": pct, "endTime": nil}
	}
	jobPhases := func(result string) []phase {
		return []phase{{0, running(0)}, {299 * time.Second, running(0)}, {300 * time.Second, running(50)}, {599 * time.Second, running(50)},
			{600 * time.Second, map[string]any{"status": result, "progress": 100.0, "endTime": "2026-01-05T09:10:00Z"}}}
	}
	cases := []struct {
		name   string
		result string
		// start takes the action and returns the path to poll.
		start  func(e *actionEnv) string
		phases []phase
		logs   []string // the log items' types at the end, for job sessions
		// after checks the action's effect on other items once the work ended.
		after func(e *actionEnv)
	}{
		{name: "a backup job runs and succeeds", result: "Success",
			start: func(e *actionEnv) string {
				js := e.call("POST", "/v8/Jobs/"+firstID(e, "/v8/Jobs")+"/start", `{"full":true}`, 200)
				if js["jobType"] != "Backup" || js["jobSessionConfigType"] != "Full" {
					t.Errorf("session %v: want a Full Backup session", js)
				}
				return "/v8/JobSessions/" + js["id"].(string)
			},
			phases: jobPhases("Success"), logs: []string{"Running", "Running", "Success"},
			after: func(e *actionEnv) {
				job := e.call("GET", "/v8/Jobs/"+firstID(e, "/v8/Jobs"), "", 200)
				if job["lastStatus"] != "Success" || job["lastBackup"] != "2026-01-05T09:10:00Z" {
					t.Errorf("job after its run: lastStatus %v, lastBackup %v", job["lastStatus"], job["lastBackup"])
				}
			}},
		{name: "a copy job runs and ends with a warning", result: "Warning",
			start: func(e *actionEnv) string {
				js := e.call("POST", "/v8/CopyJobs/"+firstID(e, "/v8/CopyJobs")+"/start", "", 200)
				if js["jobType"] != "Copy" {
					t.Errorf("session %v: want a Copy session", js)
				}
				return "/v8/JobSessions/" + js["id"].(string)
			},
			phases: jobPhases("Warning"), logs: []string{"Running", "Running", "Warning"},
			after: func(e *actionEnv) {
				if cj := e.call("GET", "/v8/CopyJobs/"+firstID(e, "/v8/CopyJobs"), "", 200); cj["lastStatus"] != "Warning" {
					t.Errorf("copy job lastStatus %v, want Warning", cj["lastStatus"])
				}
			}},
		{name: "a failed run leaves the last backup as it was", result: "Failed",
			start: func(e *actionEnv) string {
				js := e.call("POST", "/v8/Jobs/"+firstID(e, "/v8/Jobs")+"/start", "", 200)
				return "/v8/JobSessions/" + js["id"].(string)
			},
			phases: jobPhases("Failed"), logs: []string{"Running", "Running", "Error"},
			after: func(e *actionEnv) {
				job := e.call("GET", "/v8/Jobs/"+firstID(e, "/v8/Jobs"), "", 200)
				if job["lastStatus"] != "Failed" || job["lastBackup"] == "2026-01-05T09:10:00Z" {
					t.Errorf("job after a failed run: lastStatus %v, lastBackup %v", job["lastStatus"], job["lastBackup"])
				}
			}},
		{name: "a repository synchronizes", result: "Success",
			start: func(e *actionEnv) string {
				rs := e.call("POST", "/v8/BackupRepositories/"+firstID(e, "/v8/BackupRepositories")+"/Sync", "", 200)
				return "/v8/RepositorySynchronizeSessions/" + rs["id"].(string)
			},
			phases: []phase{{0, map[string]any{"state": "Synchronizing", "progressPercent": 0.0}},
				{300 * time.Second, map[string]any{"state": "Synchronizing", "progressPercent": 50.0}},
				{600 * time.Second, map[string]any{"state": "None", "progressPercent": 100.0, "error": absent}}}},
		{name: "a repository synchronisation fails", result: "Failed",
			start: func(e *actionEnv) string {
				rs := e.call("POST", "/v8/BackupRepositories/"+firstID(e, "/v8/BackupRepositories")+"/Sync", "", 200)
				return "/v8/RepositorySynchronizeSessions/" + rs["id"].(string)
			},
			phases: []phase{{599 * time.Second, map[string]any{"state": "Synchronizing"}},
				{600 * time.Second, map[string]any{"state": "Failed", "error": "The backup repository could not be synchronized."}}}},
		{name: "an organization syncs", result: "Success",
			start: func(e *actionEnv) string {
				org := firstID(e, "/v8/Organizations")
				e.call("POST", "/v8/Organizations/"+org+"/Sync", `{"type":"Full"}`, 204)
				return "/v8/Organizations/" + org + "/SyncState"
			},
			phases: []phase{{0, map[string]any{"currentSyncState.status": "Running", "currentSyncState.type": "Full", "lastSyncState": nil}},
				{600 * time.Second, map[string]any{"currentSyncState": absent, "lastSyncState.result": "Success", "lastSyncState.type": "Full",
					"lastSyncState.startTime": "2026-01-05T09:00:00Z", "lastSyncState.endTime": "2026-01-05T09:10:00Z"}}}},
		{name: "an organization sync fails", result: "Failed",
			start: func(e *actionEnv) string {
				org := firstID(e, "/v8/Organizations")
				e.call("POST", "/v8/Organizations/"+org+"/Sync", "", 204)
				return "/v8/Organizations/" + org + "/SyncState"
			},
			phases: []phase{{600 * time.Second, map[string]any{"lastSyncState.result": "Error", "lastSyncState.type": "Incremental"}}}},
		{name: "a proxy enters maintenance", result: "Success",
			start: func(e *actionEnv) string {
				p := firstID(e, "/v8/Proxies")
				e.call("POST", "/v8/Proxies/"+p+"/maintenance/enable", "", 204)
				return "/v8/Proxies/" + p
			},
			phases: []phase{{0, map[string]any{"maintenanceModeState": "Enabling"}}, {599 * time.Second, map[string]any{"maintenanceModeState": "Enabling"}},
				{600 * time.Second, map[string]any{"maintenanceModeState": "Enabled"}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newActionEnv(t, func(s *Settings) { s.SessionResult = c.result })
			start := e.clk.Now()
			path := c.start(e)
			for _, ph := range c.phases {
				e.clk.Advance(start.Add(ph.at).Sub(e.clk.Now()))
				got := e.call("GET", path, "", 200)
				for k, want := range ph.want {
					if g := field(got, k); fmt.Sprint(g) != fmt.Sprint(want) {
						t.Errorf("at +%v, %s = %v; want %v", ph.at, k, g, want)
					}
				}
			}
			if c.logs != nil {
				page := e.call("GET", path+"/LogItems", "", 200)
				var types []string
				for _, r := range page["results"].([]any) {
					types = append(types, r.(map[string]any)["type"].(string))
				}
				if fmt.Sprint(types) != fmt.Sprint(c.logs) {
					t.Errorf("log item types %v; want %v", types, c.logs)
				}
			}
			if c.after != nil {
				c.after(e)
			}
			e.clk.Advance(time.Hour) // nothing moves once the work has ended
			if got, again := e.call("GET", path, "", 200), e.call("GET", path, "", 200); fmt.Sprint(got) != fmt.Sprint(again) {
				t.Errorf("the state changed after the end: %v → %v", got, again)
			}
		})
	}
}

// Stopping work cancels the rest of it: a stopped job session stays Stopped (with a
// Stop log entry) past its planned end, and so does its job; disabling maintenance
// while it is being enabled leaves it Disabled.
func TestStoppedWorkStaysStopped(t *testing.T) {
	t.Parallel()
	e := newActionEnv(t, nil)
	job := firstID(e, "/v8/Jobs")
	js := e.call("POST", "/v8/Jobs/"+job+"/start", "", 200)
	e.call("POST", "/v8/Jobs/"+job+"/start", "", 400) // running already
	e.clk.Advance(100 * time.Second)
	e.call("POST", "/v8/Jobs/"+job+"/stop", "", 204)
	e.clk.Advance(time.Hour)
	got := e.call("GET", "/v8/JobSessions/"+js["id"].(string), "", 200)
	if got["status"] != "Stopped" || got["endTime"] != "2026-01-05T09:01:40Z" {
		t.Errorf("stopped session: status %v, endTime %v", got["status"], got["endTime"])
	}
	if j := e.call("GET", "/v8/Jobs/"+job, "", 200); j["lastStatus"] != "Stopped" {
		t.Errorf("job lastStatus %v, want Stopped", j["lastStatus"])
	}
	logs := e.call("GET", "/v8/JobSessions/"+js["id"].(string)+"/LogItems", "", 200)["results"].([]any)
	if last := logs[len(logs)-1].(map[string]any); last["type"] != "Stop" {
		t.Errorf("last log item %v, want a Stop entry", last)
	}

	p := firstID(e, "/v8/Proxies")
	e.call("POST", "/v8/Proxies/"+p+"/maintenance/enable", "", 204)
	e.call("POST", "/v8/Proxies/"+p+"/maintenance/disable", "", 204)
	e.clk.Advance(time.Hour)
	if px := e.call("GET", "/v8/Proxies/"+p, "", 200); px["maintenanceModeState"] != "Disabled" {
		t.Errorf("maintenanceModeState %v after disabling, want Disabled", px["maintenanceModeState"])
	}

	repo := firstID(e, "/v8/BackupRepositories")
	rs := e.call("POST", "/v8/BackupRepositories/"+repo+"/Sync", "", 200)
	e.call("POST", "/v8/BackupRepositories/"+repo+"/Sync", "", 400) // synchronizing already
	e.call("POST", "/v8/RepositorySynchronizeSessions/"+rs["id"].(string)+"/StopSynchronize", "", 204)
	e.clk.Advance(time.Hour)
	if got := e.call("GET", "/v8/RepositorySynchronizeSessions/"+rs["id"].(string), "", 200); got["state"] != "None" || got["error"] != "The synchronization was stopped." {
		t.Errorf("stopped synchronisation: %v", got)
	}
}

// Copy jobs are enabled and disabled by the same handlers as jobs: isEnabled and eTag
// change, and a disabled copy job cannot start.
func TestCopyJobEnableDisable(t *testing.T) {
	t.Parallel()
	e := newActionEnv(t, nil)
	id := firstID(e, "/v8/CopyJobs")
	before := e.call("GET", "/v8/CopyJobs/"+id, "", 200)
	e.call("POST", "/v8/CopyJobs/"+id+"/disable", "", 204)
	after := e.call("GET", "/v8/CopyJobs/"+id, "", 200)
	if after["isEnabled"] != false || after["eTag"].(float64) != before["eTag"].(float64)+1 {
		t.Errorf("after disable: isEnabled %v, eTag %v (was %v)", after["isEnabled"], after["eTag"], before["eTag"])
	}
	e.call("POST", "/v8/CopyJobs/"+id+"/start", "", 400)
	e.call("POST", "/v8/CopyJobs/"+id+"/enable", "", 204)
	if got := e.call("GET", "/v8/CopyJobs/"+id, "", 200); got["isEnabled"] != true {
		t.Errorf("after enable: isEnabled %v", got["isEnabled"])
	}
}

// Installing a license changes it (a JSON license file sets its fields; any other
// file gives a valid subscription with an id of its own); updating extends it; what is
// not Base64 is refused. usedNumber stays the count of licensed users.
func TestLicenseInstallAndUpdate(t *testing.T) {
	t.Parallel()
	e := newActionEnv(t, nil)
	before := e.call("GET", "/v8/License", "", 200)
	file := base64.StdEncoding.EncodeToString([]byte(`{"licensedTo":"Contoso","totalNumber":5,"type":"Evaluation"}`))
	got := e.call("POST", "/v8/License/Install", `{"licenseFile":"`+file+`"}`, 200)
	if got["licenseID"] == before["licenseID"] || got["licensedTo"] != "Contoso" || got["totalNumber"] != 5.0 || got["type"] != "Evaluation" ||
		got["status"] != "Valid" || got["licenseExpires"] != "2027-01-05T09:00:00Z" || got["usedNumber"] != before["usedNumber"] {
		t.Errorf("installed license %v (was %v)", got, before)
	}
	if again := e.call("GET", "/v8/License", "", 200); fmt.Sprint(again) != fmt.Sprint(got) {
		t.Errorf("GET after install %v; want %v", again, got)
	}
	if up := e.call("POST", "/v8/License/Update", "", 200); up["licenseExpires"] != "2028-01-05T09:00:00Z" {
		t.Errorf("updated license expires %v, want a year later", up["licenseExpires"])
	}
	w := e.do("POST", "/v8/License/Install", jsonType, `{"licenseFile":"not base64!"}`, e.tok...)
	if w.Code != 400 || !strings.Contains(w.Body.String(), "licenseFile") {
		t.Errorf("a file that is not Base64: %d %s", w.Code, w.Body)
	}
}

// A rescan brings an offline proxy back Online with the server's version.
func TestProxyRescan(t *testing.T) {
	t.Parallel()
	f := DefaultFixtures()
	f.Proxies[0].Status, f.Proxies[0].Version = "Offline", "8.0.0.1"
	f.Proxies[1].Status = "Offline"
	e := newActionEnv(t, nil, WithFixtures(f))
	e.call("POST", "/v8/Proxies/"+f.Proxies[0].ID+"/Rescan", "", 204)
	if p := e.call("GET", "/v8/Proxies/"+f.Proxies[0].ID, "", 200); p["status"] != "Online" || p["version"] != DefaultVersion {
		t.Errorf("rescanned proxy: status %v, version %v", p["status"], p["version"])
	}
	e.call("POST", "/v8/Proxies/Rescan", `{}`, 204) // every proxy
	if p := e.call("GET", "/v8/Proxies/"+f.Proxies[1].ID, "", 200); p["status"] != "Online" {
		t.Errorf("proxy after rescanning all: status %v", p["status"])
	}
	e.call("POST", "/v8/Proxies/Rescan", `{"proxies":[{"id":"`+newGUID()+`"}]}`, 404)
}

// Reports list the world: the license overview one row per licensed user, as CSV by
// default; PDF is a document a reader opens (header, cross-reference table, trailer).
func TestReports(t *testing.T) {
	t.Parallel()
	e := newActionEnv(t, nil)
	w := e.do("POST", "/v8/Reports/GenerateLicenseOverview", jsonType, `{"format":"CSV"}`, e.tok...)
	lines := strings.Split(strings.TrimSpace(w.Body.String()), "\r\n")
	if w.Code != 200 || lines[0] != "organizationName,name,licenseState,lastBackupDate" || len(lines)-1 != len(e.srv.world.list("/v8/LicensedUsers")) {
		t.Errorf("license overview: %d, %d lines: %.200s", w.Code, len(lines), w.Body)
	}
	w = e.do("POST", "/v8/Reports/GenerateStorageConsumption", jsonType, `{"format":"PDF"}`, e.tok...)
	b := w.Body.String()
	if w.Code != 200 || !strings.HasPrefix(b, "%PDF-1.4\n") || !strings.Contains(b, "\nxref\n0 6\n") || !strings.HasSuffix(b, "%%EOF\n") ||
		!strings.Contains(b, "(Default Backup Repository,") {
		t.Errorf("storage consumption PDF: %d %.300s", w.Code, b)
	}
	if w.Header().Get("Content-Type") != "application/octet-stream" {
		t.Errorf("Content-Type %q", w.Header().Get("Content-Type"))
	}
	_ = http.StatusOK
}
