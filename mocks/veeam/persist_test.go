package veeam

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vbharness/vbharness/mocks/clock"
)

// memStore is a Store in memory: each Commit applies all of its changes or, when fail is
// set, none. It counts commits so tests can see one per request.
type memStore struct {
	mu      sync.Mutex
	m       map[string][]byte
	commits int
	fail    bool
}

func newMemStore() *memStore { return &memStore{m: map[string][]byte{}} }

func (s *memStore) Each(fn func(k, v []byte) error) error {
	s.mu.Lock()
	keys := slices.Sorted(maps.Keys(s.m))
	m := maps.Clone(s.m)
	s.mu.Unlock()
	for _, k := range keys {
		if err := fn([]byte(k), m[k]); err != nil {
			return err
		}
	}
	return nil
}

func (s *memStore) Commit(changes map[string][]byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail {
		return errors.New("disk full")
	}
	s.commits++
	for k, v := range changes {
		if v == nil {
			delete(s.m, k)
		} else {
			s.m[k] = slices.Clone(v)
		}
	}
	return nil
}

func (s *memStore) Clear() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m = map[string][]byte{}
	return nil
}

func (s *memStore) counts() (records, commits int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m), s.commits
}

// restarted returns a new server started on what st holds, as `vbharness mock
// --state-dir` does after a restart.
func restarted(t *testing.T, st Store, opts ...Option) *testEnv {
	t.Helper()
	saved, err := LoadState(st)
	if err != nil {
		t.Fatalf("LoadState: %v", err)
	}
	return newTestServer(t, append([]Option{WithState(saved)}, opts...)...)
}

// What clients create, change and delete, their sessions and tokens, the mock settings
// and settings objects all come back after a restart: the same lists in the same order,
// the same items, a deleted fixture still deleted, a refresh token from before the restart
// still refreshing (and one spent before it still spent), and a tenant still owning its
// restore session (the mock-only fields of items are kept).
func TestStateSurvivesARestart(t *testing.T) {
	t.Parallel()
	st := newMemStore()
	a := restarted(t, st)
	admin := a.adminLogin()
	tok := bearer(admin.AccessToken)
	for _, name := range []string{"Pool A", "Pool B", "Pool C"} {
		if w := a.do("POST", "/v8/ProxyPools", jsonType, `{"name":"`+name+`","description":"d","proxyIds":[]}`, tok...); w.Code != http.StatusCreated {
			t.Fatalf("create %s: %d %s", name, w.Code, w.Body)
		}
	}
	pools := decode[page_](t, a.do("GET", "/v8/ProxyPools?limit=100", "", "", tok...)).Results
	second := pools[len(pools)-2]["id"].(string)
	if w := a.do("DELETE", "/v8/ProxyPools/"+second, "", "", tok...); w.Code != http.StatusNoContent {
		t.Fatalf("delete: %d", w.Code)
	}
	if w := a.do("PUT", "/v8/ProxyPools/"+pools[len(pools)-3]["id"].(string), jsonType, `{"name":"Pool A2","description":"d","proxyIds":[]}`, tok...); w.Code != http.StatusNoContent {
		t.Fatalf("update: %d %s", w.Code, w.Body)
	}
	jobs := DefaultFixtures().Jobs
	job := jobs[len(jobs)-1].ID // one no copy job copies: deleting that one is refused
	if w := a.do("DELETE", "/v8/Jobs/"+job, "", "", tok...); w.Code != http.StatusNoContent {
		t.Fatalf("delete a fixture job: %d", w.Code)
	}
	if w := a.do("PUT", "/v8/HistorySettings", jsonType, `{"keepAllSessions":false,"keepOnlyLastXWeeks":7}`, tok...); w.Code != http.StatusNoContent {
		t.Fatalf("settings object: %d %s", w.Code, w.Body)
	}
	if w := a.do("PUT", "/_mock/settings", jsonType, `{"accessTokenLifetime":900}`); w.Code != http.StatusOK {
		t.Fatalf("mock settings: %d %s", w.Code, w.Body)
	}
	if w := a.do("POST", "/_mock/organizations", jsonType, `{"name":"kept.onmicrosoft.com","account":"svc@kept.onmicrosoft.com","password":"Kept-Passw0rd"}`); w.Code != http.StatusCreated {
		t.Fatalf("add organization: %d %s", w.Code, w.Body)
	}
	tenant := bearer(a.tenantLogin().AccessToken)
	rs := decode[map[string]any](t, a.do("POST", "/v8/Organization/Explore", jsonType, `{"type":"Vex"}`, tenant...))
	// A refresh before the restart spends the first refresh token.
	refreshed := a.login("grant_type=refresh_token&refresh_token=" + url.QueryEscape(admin.RefreshToken))

	compared := []string{"/v8/ProxyPools?limit=100", "/v8/Jobs?limit=1000", "/v8/Organizations?limit=100", "/v8/HistorySettings",
		"/v8/RestoreSessions?limit=100", "/v8/ProxyPools/" + pools[len(pools)-1]["id"].(string)}
	want := map[string]string{}
	for _, p := range compared {
		want[p] = a.do("GET", p, "", "", bearer(refreshed.AccessToken)...).Body.String()
	}
	wantSettings := a.srv.Settings()

	b := restarted(t, st)
	if w := b.do("GET", "/v8/ProxyPools", "", "", bearer(refreshed.AccessToken)...); w.Code != http.StatusOK {
		t.Fatalf("an access token from before the restart: %d %s", w.Code, w.Body)
	}
	again := b.login("grant_type=refresh_token&refresh_token=" + url.QueryEscape(refreshed.RefreshToken))
	if again.ExpiresIn != 900 {
		t.Errorf("expires_in after the restart = %d, want the saved setting 900", again.ExpiresIn)
	}
	for _, p := range compared {
		if got := b.do("GET", p, "", "", bearer(again.AccessToken)...).Body.String(); got != want[p] {
			t.Errorf("GET %s after the restart:\n%s\nwant\n%s", p, got, want[p])
		}
	}
	if got := b.srv.Settings(); got != wantSettings {
		t.Errorf("settings after the restart = %+v, want %+v", got, wantSettings)
	}
	if w := b.do("GET", "/v8/Jobs/"+job, "", "", bearer(again.AccessToken)...); w.Code != http.StatusNotFound {
		t.Errorf("a fixture job deleted before the restart: %d", w.Code)
	}
	// The organization added with a password keeps it (a tenant logs in with it), and
	// the tenant still owns its restore session.
	if w := b.do("POST", "/v8/token", formType, "grant_type=password&username=svc%40kept.onmicrosoft.com&password=Kept-Passw0rd"); w.Code != http.StatusOK {
		t.Errorf("the saved organization's password: %d %s", w.Code, w.Body)
	}
	tenantB := bearer(b.tenantLogin().AccessToken)
	if w := b.do("GET", "/v8/RestoreSessions/"+rs["id"].(string), "", "", tenantB...); w.Code != http.StatusOK {
		t.Errorf("the tenant's restore session after the restart: %d %s", w.Code, w.Body)
	}
	// New items go after the restored ones.
	if w := b.do("POST", "/v8/ProxyPools", jsonType, `{"name":"Pool D","description":"d","proxyIds":[]}`, bearer(again.AccessToken)...); w.Code != http.StatusCreated {
		t.Fatalf("create after the restart: %d", w.Code)
	}
	// Last, since presenting a spent refresh token revokes its session: one spent before
	// the restart is still spent after it.
	if w := b.do("POST", "/v8/token", formType, "grant_type=refresh_token&refresh_token="+url.QueryEscape(admin.RefreshToken)); w.Code == http.StatusOK || !strings.Contains(w.Body.String(), "used") {
		t.Errorf("a refresh token spent before the restart, after it: %d %s", w.Code, w.Body)
	}
	c := restarted(t, st)
	names := []string{}
	for _, p := range decode[page_](t, c.do("GET", "/v8/ProxyPools?limit=100", "", "", bearer(c.adminLogin().AccessToken)...)).Results {
		names = append(names, p["name"].(string))
	}
	if got := strings.Join(names[len(names)-3:], ","); got != "Pool A2,Pool C,Pool D" {
		t.Errorf("the pools added, in order, after two restarts: %s", got)
	}
}

// Every request that changes state is one commit, written before its answer; a read is
// none. A refresh (spending one token, issuing two) is one commit, as is a bulk add.
func TestEachChangingRequestIsOneCommit(t *testing.T) {
	t.Parallel()
	st := newMemStore()
	e := restarted(t, st)
	admin := e.adminLogin()
	tok := bearer(admin.AccessToken)
	for _, c := range []struct {
		name                string
		method, path, body  string
		commits, minRecords int
		headers             []string
	}{
		{"a read commits nothing", "GET", "/v8/Jobs", "", 0, 0, tok},
		{"a refresh is one commit", "POST", "/v8/token", "grant_type=refresh_token&refresh_token=" + url.QueryEscape(admin.RefreshToken), 1, 0, nil},
		{"a bulk add is one commit", "POST", "/v8/Jobs/" + DefaultFixtures().Jobs[0].ID + "/SelectedItems", userAndGroupOf(DefaultFixtures(), DefaultFixtures().Jobs[0].OrganizationID), 1, 2, tok},
		{"a refused request commits nothing", "POST", "/v8/ProxyPools", `{"name":1}`, 0, 0, tok},
	} {
		recs0, commits0 := st.counts()
		ctype := jsonType
		if c.path == "/v8/token" {
			ctype = formType
		}
		e.do(c.method, c.path, ctype, c.body, c.headers...)
		recs, commits := st.counts()
		if commits-commits0 != c.commits || recs-recs0 < c.minRecords {
			t.Errorf("%s: %d commits and %d records more, want %d commits and at least %d records", c.name, commits-commits0, recs-recs0, c.commits, c.minRecords)
		}
	}
}

// A commit that fails answers 500 in Veeam's shape; the change stays in memory and the
// next commit writes it, so memory and the file agree again.
func TestAFailedCommitIs500AndIsWrittenByTheNext(t *testing.T) {
	t.Parallel()
	st := newMemStore()
	e := restarted(t, st)
	tok := bearer(e.adminLogin().AccessToken)
	st.mu.Lock()
	st.fail = true
	st.mu.Unlock()
	w := e.do("POST", "/v8/ProxyPools", jsonType, `{"name":"Unsaved","description":"d","proxyIds":[]}`, tok...)
	if w.Code != http.StatusInternalServerError || !strings.Contains(w.Body.String(), "could not be saved") {
		t.Fatalf("a failed commit: %d %s", w.Code, w.Body)
	}
	st.mu.Lock()
	st.fail = false
	st.mu.Unlock()
	if w := e.do("POST", "/v8/ProxyPools", jsonType, `{"name":"Saved","description":"d","proxyIds":[]}`, tok...); w.Code != http.StatusCreated {
		t.Fatalf("the next write: %d %s", w.Code, w.Body)
	}
	b := restarted(t, st)
	body := b.do("GET", "/v8/ProxyPools?limit=100", "", "", bearer(b.adminLogin().AccessToken)...).Body.String()
	if !strings.Contains(body, `"Unsaved"`) || !strings.Contains(body, `"Saved"`) {
		t.Errorf("after the restart: %s", body)
	}
}

// Reset clears the file too: a restart after a reset starts from the fixtures.
func TestResetClearsTheSavedState(t *testing.T) {
	t.Parallel()
	st := newMemStore()
	e := restarted(t, st)
	tok := bearer(e.adminLogin().AccessToken)
	e.do("DELETE", "/v8/Jobs/"+DefaultFixtures().Jobs[0].ID, "", "", tok...)
	if recs, _ := st.counts(); recs == 0 {
		t.Fatal("nothing was saved")
	}
	if w := e.do("POST", "/_mock/reset", "", ""); w.Code != http.StatusOK {
		t.Fatalf("reset: %d", w.Code)
	}
	if recs, _ := st.counts(); recs != 0 {
		t.Errorf("%d records after reset, want none", recs)
	}
	b := restarted(t, st)
	if w := b.do("GET", "/v8/Jobs/"+DefaultFixtures().Jobs[0].ID, "", "", bearer(b.adminLogin().AccessToken)...); w.Code != http.StatusOK {
		t.Errorf("the fixture job after reset and restart: %d", w.Code)
	}
	if w := b.do("GET", "/v8/Jobs", "", "", tok...); w.Code != http.StatusUnauthorized {
		t.Errorf("a token from before the reset after the restart: %d", w.Code)
	}
}

// Concurrent writers: every item each of them was answered 201 for is there after a
// restart (run with -race: the stores call the persister under their own locks).
func TestConcurrentWritesAreAllSaved(t *testing.T) {
	t.Parallel()
	st := newMemStore()
	e := restarted(t, st)
	tok := bearer(e.adminLogin().AccessToken)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var ids []string
	for g := range 4 {
		wg.Go(func() {
			for i := range 10 {
				w := e.do("POST", "/v8/ProxyPools", jsonType, fmt.Sprintf(`{"name":"g%d-%d","description":"d","proxyIds":[]}`, g, i), tok...)
				if w.Code == http.StatusCreated {
					mu.Lock()
					ids = append(ids, decode[map[string]any](t, w)["id"].(string))
					mu.Unlock()
				}
				e.do("GET", "/v8/ProxyPools", "", "", tok...)
			}
		})
	}
	wg.Wait()
	b := restarted(t, st)
	btok := bearer(b.adminLogin().AccessToken)
	for _, id := range ids {
		if w := b.do("GET", "/v8/ProxyPools/"+id, "", "", btok...); w.Code != http.StatusOK {
			t.Errorf("pool %s, answered 201, after the restart: %d", id, w.Code)
		}
	}
	if len(ids) != 40 {
		t.Errorf("%d of 40 creates succeeded", len(ids))
	}
}

// A record LoadState cannot read is an error that names it.
func TestLoadStateNamesABadRecord(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, key, val string }{
		{"an item that is not JSON", "w//v8/jobs/x", "{"},
		{"an item whose path is not its key", "w//v8/jobs/x", `{"path":"/v8/Jobs/y","id":"y","object":{}}`},
		{"settings that are not settings", "settings", `[]`},
		{"a key of no known kind", "zz/1", `{}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := newMemStore()
			st.m[c.key] = []byte(c.val)
			_, err := LoadState(st)
			if !errors.Is(err, ErrBadState) || !strings.Contains(err.Error(), c.key) {
				t.Errorf("LoadState = %v, want ErrBadState naming %s", err, c.key)
			}
		})
	}
}

// Reads change nothing: every GET of the document, called validly as the walk calls it,
// leaves nothing to commit on a server with a Store. (handleSaved lets reads run without
// the write lock and without a commit on that promise.)
func TestReadsRecordNothing(t *testing.T) {
	t.Parallel()
	loadSpec(t)
	saved, err := LoadState(newMemStore())
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewVirtual(clock.DefaultStart)
	w := &walker{t: t, clk: clk, srv: New(clk, WithState(saved)), tok: map[callers]string{}}
	w.h = w.srv
	w.signIn()
	if err := w.srv.p.commit(); err != nil {
		t.Fatal(err)
	}
	reads := 0
	for _, rt := range table().order {
		if rt.method != http.MethodGet {
			continue
		}
		reads++
		rec := httptest.NewRecorder()
		w.h.ServeHTTP(rec, w.validRequest(rt))
		if rec.Code != rt.op.Status {
			t.Errorf("GET %s (%s): %d", rt.template, rt.op.ID, rec.Code)
		}
		if w.srv.p.dirty.Load() {
			t.Errorf("GET %s (%s) changed something a state file would keep", rt.template, rt.op.ID)
			_ = w.srv.p.commit()
		}
	}
	if reads < 200 {
		t.Errorf("walked %d reads", reads)
	}
}

// Long-running work goes on across a restart: a job run started before it, halfway when
// the mock stops, ends after it at its own time, with its log entries once each, and the
// job shows the result. The timeline's pending steps are kept as plans.
func TestWorkOnTheClockGoesOnAfterARestart(t *testing.T) {
	t.Parallel()
	st := newMemStore()
	a := restarted(t, st)
	tok := bearer(a.adminLogin().AccessToken)
	job := DefaultFixtures().Jobs[0].ID
	w := a.do("POST", "/v8/Jobs/"+job+"/start", jsonType, `{"full":false}`, tok...)
	if w.Code != http.StatusOK {
		t.Fatalf("start: %d %s", w.Code, w.Body)
	}
	session := decode[map[string]any](t, w)["id"].(string)
	a.clk.Advance(DefaultSessionDuration / 2 * time.Second)
	if got := decode[map[string]any](t, a.do("GET", "/v8/JobSessions/"+session, "", "", tok...)); got["progress"] != 50.0 {
		t.Fatalf("halfway before the restart: %v", got["progress"])
	}

	b := restarted(t, st) // its clock starts where a's did: the rest of the run is still to come
	b.clk.Advance(DefaultSessionDuration / 2 * time.Second)
	if got := decode[map[string]any](t, b.do("GET", "/v8/JobSessions/"+session, "", "", tok...)); got["progress"] != 50.0 || got["status"] != "Running" {
		t.Errorf("halfway after the restart: %v %v", got["progress"], got["status"])
	}
	b.clk.Advance(DefaultSessionDuration * time.Second)
	if got := decode[map[string]any](t, b.do("GET", "/v8/JobSessions/"+session, "", "", tok...)); got["status"] != "Success" {
		t.Errorf("the run after the restart ended %v", got["status"])
	}
	if got := decode[map[string]any](t, b.do("GET", "/v8/Jobs/"+job, "", "", tok...)); got["lastStatus"] != "Success" {
		t.Errorf("the job after its run: %v", got["lastStatus"])
	}
	var msgs []string
	for _, l := range decode[page_](t, b.do("GET", "/v8/JobSessions/"+session+"/LogItems", "", "", tok...)).Results {
		msgs = append(msgs, l["message"].(string))
	}
	if len(msgs) != 3 {
		t.Errorf("log items: %q, want started, halfway and finished once each", msgs)
	}
	// The end, settled by a read, was saved too: a third start finds the job idle.
	c := restarted(t, st)
	c.clk.Advance(2 * DefaultSessionDuration * time.Second)
	if got := decode[map[string]any](t, c.do("GET", "/v8/JobSessions/"+session, "", "", tok...)); got["status"] != "Success" {
		t.Errorf("after a second restart: %v", got["status"])
	}
}

// A changed group item keeps its members (mock-only fields) after a restart. The
// document has no operation that changes a group, so the change is made as an action
// would make it: through the world, committed as one request.
func TestAChangedGroupKeepsItsMembers(t *testing.T) {
	t.Parallel()
	st := newMemStore()
	a := restarted(t, st)
	tok := bearer(a.adminLogin().AccessToken)
	org := DefaultFixtures().Organizations[0].ID
	groups := decode[page_](t, a.do("GET", "/v8/Organizations/"+org+"/Groups", "", "", tok...)).Results
	var group string
	var members int
	for _, g := range groups {
		id := g["id"].(string)
		if n := len(decode[page_](t, a.do("GET", "/v8/Organizations/"+org+"/Groups/"+id+"/Members", "", "", tok...)).Results); n > 0 {
			group, members = id, n
			break
		}
	}
	if group == "" {
		t.Fatal("no fixture group has members")
	}
	err := a.srv.saving(func() error {
		a.srv.change("/v8/Organizations/"+org+"/Groups/"+group, func(o *object) { o.setValue("displayName", "Renamed") })
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	b := restarted(t, st)
	if n := len(decode[page_](t, b.do("GET", "/v8/Organizations/"+org+"/Groups/"+group+"/Members", "", "", tok...)).Results); n != members {
		t.Errorf("members after the restart: %d, want %d", n, members)
	}
}

// A scheduled start saves the job's next "schedule" step in the state file, and a
// restart must read it back: the loader knew only the other kinds of step, so after any
// scheduled start `vbharness mock --state-dir` refused to start again ("the state file is
// damaged: … no step does \"schedule\"") (issue 13 newcomer trial).
func TestAScheduledStartSurvivesARestart(t *testing.T) {
	t.Parallel()
	st := newMemStore()
	a := restarted(t, st)
	job := DefaultFixtures().Jobs[0]
	a.clk.Advance(job.NextRun.Sub(a.clk.Now()) + time.Second)
	if w := a.do("GET", "/v8/Jobs/"+job.ID, "", "", bearer(a.adminLogin().AccessToken)...); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"lastStatus":"Running"`) {
		t.Fatalf("the job did not start at its nextRun: %d %s", w.Code, w.Body)
	}
	saved, err := LoadState(st)
	if err != nil {
		t.Fatalf("LoadState after a scheduled start: %v", err)
	}
	b := newTestServer(t, WithState(saved))
	if w := b.do("GET", "/v8/Jobs/"+job.ID, "", "", bearer(b.adminLogin().AccessToken)...); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"lastStatus":"Running"`) {
		t.Errorf("after the restart the job is %d %s; want it still Running", w.Code, w.Body)
	}
}
