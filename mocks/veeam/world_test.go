package veeam

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vbharness/vbharness/mocks/clock"
)

// Issue 11 item 4: the default world is coherent. Every organization has users,
// groups whose members are its users, sites, teams with channels and tabs (in its
// restore sessions), mailboxes and OneDrives; the license, the licensed users and the
// organizations' licensing information count the same users; restore points name
// jobs of the world; and two builds give the same items with the same ids.
func TestDefaultWorldIsCoherent(t *testing.T) {
	t.Parallel()
	e := newActionEnv(t, nil)
	f := DefaultFixtures()
	licensed := 0
	for _, o := range f.Organizations {
		users := e.call("GET", "/v8/Organizations/"+o.ID+"/Users?limit=1000", "", 200)["results"].([]any)
		if len(users) == 0 {
			t.Fatalf("%s has no users", o.Name)
		}
		for _, u := range users {
			if u.(map[string]any)["type"] == "User" {
				licensed++
			}
		}
		for _, list := range []string{"Groups", "Sites", "Teams"} {
			if n := len(e.call("GET", "/v8/Organizations/"+o.ID+"/"+list, "", 200)["results"].([]any)); n == 0 {
				t.Errorf("%s has no %s", o.Name, list)
			}
		}
		for _, g := range e.call("GET", "/v8/Organizations/"+o.ID+"/Groups", "", 200)["results"].([]any) {
			gid := g.(map[string]any)["id"].(string)
			members := e.call("GET", "/v8/Organizations/"+o.ID+"/Groups/"+gid+"/Members", "", 200)["results"].([]any)
			if len(members) == 0 {
				t.Errorf("group %s of %s has no members", gid, o.Name)
			}
			for _, m := range members {
				href := m.(map[string]any)["_links"].(map[string]any)["user"].(map[string]any)["href"].(string)
				if u := e.call("GET", href, "", 200); u["name"] != m.(map[string]any)["login"] {
					t.Errorf("member %v is not the user %v", m, u)
				}
			}
		}
		uid := users[0].(map[string]any)["id"].(string)
		if od := e.call("GET", "/v8/Organizations/"+o.ID+"/Users/"+uid+"/OneDrives", "", 200)["results"].([]any); len(od) != 1 {
			t.Errorf("user %s of %s has %d OneDrives, want 1", uid, o.Name, len(od))
		}
		info := e.call("GET", "/v8/Organizations/"+o.ID+"/LicensingInformation", "", 200)
		byList := len(e.call("GET", "/v8/LicensedUsers?limit=1000&organizationId="+o.ID, "", 200)["results"].([]any))
		if info["licensedUsers"].(float64) != float64(byList) || byList == 0 {
			t.Errorf("%s: LicensingInformation says %v licensed users, /v8/LicensedUsers lists %d", o.Name, info["licensedUsers"], byList)
		}
		if used := e.call("GET", "/v8/Organizations/"+o.ID+"/usedRepositories", "", 200)["results"].([]any); len(used) == 0 {
			t.Errorf("%s uses no repository", o.Name)
		}
	}
	lic := e.call("GET", "/v8/License", "", 200)
	all := len(e.call("GET", "/v8/LicensedUsers?limit=1000", "", 200)["results"].([]any))
	if lic["usedNumber"].(float64) != float64(all) || all != licensed {
		t.Errorf("License.usedNumber %v, /v8/LicensedUsers %d, organization users of type User %d: they must agree", lic["usedNumber"], all, licensed)
	}
	usage := e.call("GET", "/v8/licensing/statistic/usage", "", 200)["platformTypes"].([]any)[0].(map[string]any)["organizations"].([]any)
	sum := 0.0
	for _, o := range usage {
		sum += o.(map[string]any)["usedObjectsCount"].(float64)
	}
	if sum != float64(all) {
		t.Errorf("license statistics count %v users, /v8/LicensedUsers %d", sum, all)
	}
	for _, o := range f.Organizations {
		explore := func(typ string) string {
			return "/v8/RestoreSessions/" + e.call("POST", "/v8/Organizations/"+o.ID+"/explore", `{"type":"`+typ+`"}`, 201)["id"].(string)
		}
		users := 0
		for _, u := range f.Users {
			if u.OrganizationID == o.ID {
				users++
			}
		}
		if n := len(e.call("GET", explore("Vex")+"/organization/mailboxes?limit=1000", "", 200)["results"].([]any)); n != users {
			t.Errorf("a restore session of %s shows %d mailboxes, want %d", o.Name, n, users)
		}
		base := explore("Vet")
		for _, team := range e.call("GET", base+"/organization/teams", "", 200)["results"].([]any) {
			tid := team.(map[string]any)["id"].(string)
			for _, ch := range e.call("GET", base+"/organization/teams/"+tid+"/channels", "", 200)["results"].([]any) {
				cid := ch.(map[string]any)["id"].(string)
				if tabs := e.call("GET", base+"/organization/teams/"+tid+"/channels/"+cid+"/tabs", "", 200)["results"].([]any); len(tabs) != 2 {
					t.Errorf("channel %s has %d tabs, want 2", cid, len(tabs))
				}
			}
		}
	}
	for _, r := range e.srv.world.list("/v8/RbacRoles") {
		ops := e.srv.world.list("/v8/RbacRoles/" + r.id + "/operators")
		if len(ops) == 0 {
			t.Errorf("RBAC role %s has no operators", r.id)
		}
		for _, op := range ops {
			if _, ok := e.srv.world.get("/v8/Organizations/" + r.obj.str("organizationId") + "/Users/" + op.id); !ok {
				t.Errorf("operator %s of role %s is no user of its organization", op.id, r.id)
			}
		}
	}

	a, b := buildWorld(defaultFixtures(), clock.DefaultStart), buildWorld(defaultFixtures(), clock.DefaultStart)
	if len(a.items) != len(b.items) {
		t.Fatalf("two builds: %d and %d items", len(a.items), len(b.items))
	}
	for k, it := range a.items {
		if other := b.items[k]; other == nil || !bytes.Equal(it.raw, other.raw) {
			t.Errorf("%s differs between two builds", k)
		}
	}
	if !strings.Contains(string(a.singletons["/v8/license"]), f.License.LicenseID) {
		t.Errorf("the license singleton lacks the fixtures' license id")
	}
}

// Issue 19 item 5: a server on a clock that starts elsewhere than clock.DefaultStart (a
// running mock on the real clock) sees the default world moved with it, every time by
// the same whole seconds, so the jobs ran last night; a server on the default virtual
// clock (the embedded target) keeps the pinned dates; fixtures a caller gives keep theirs.
func TestDefaultWorldMovesWithTheMocksStart(t *testing.T) {
	t.Parallel()
	job := DefaultFixtures().Jobs[0]
	pinned := job.LastRun.UTC()
	get := func(s *Server, path string) map[string]any {
		t.Helper()
		it, ok := s.world.get(path)
		if !ok {
			t.Fatalf("%s is not in the world", path)
		}
		var m map[string]any
		if err := json.Unmarshal(it.raw, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	lastRun := func(s *Server) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339Nano, get(s, "/v8/Jobs/"+job.ID)["lastRun"].(string))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	real := clock.NewReal()
	start := real.Now()
	for _, tc := range []struct {
		name string
		srv  *Server
		want time.Time
	}{
		{"the embedded target's virtual clock keeps the pinned dates", New(clock.NewVirtual(clock.DefaultStart)), pinned},
		{"a running mock on the real clock moves them to its start", New(real), pinned.Add(start.Sub(clock.DefaultStart).Truncate(time.Second))},
		{"a virtual clock started a year later moves them a year", New(clock.NewVirtual(clock.DefaultStart.AddDate(1, 0, 0))), pinned.Add(clock.DefaultStart.AddDate(1, 0, 0).Sub(clock.DefaultStart))},
		{"fixtures a caller gives keep their own times", New(real, WithFixtures(DefaultFixtures())), pinned},
	} {
		// The real clock moved between start and New: by as long as building the servers
		// took (seconds on a loaded machine under -race), plus the truncation.
		if got := lastRun(tc.srv); got.Sub(tc.want).Abs() > 2*time.Second+real.Now().Sub(start) {
			t.Errorf("%s: job lastRun %s, want %s", tc.name, got, tc.want)
		}
	}
	// On the real clock the world keeps its shape around now: the last run is hours
	// ago, the next one ahead, and the generated collections are timed on the start too.
	s := New(real)
	now := real.Now()
	if lr := lastRun(s); lr.After(now) || now.Sub(lr) > 36*time.Hour {
		t.Errorf("on the real clock job lastRun %s is not within a day and a half before %s", lr, now)
	}
	next, _ := time.Parse(time.RFC3339Nano, get(s, "/v8/Jobs/"+job.ID)["nextRun"].(string))
	if !next.After(now) {
		t.Errorf("on the real clock job nextRun %s is not after %s", next, now)
	}
	if d := s.world.generatedAt().Sub(now); d > 0 || d < -time.Minute {
		t.Errorf("the world was generated on %s, want the start %s", s.world.generatedAt(), now)
	}
	// The shared default world is untouched by a moved copy.
	if got := *defaultFixtures().Jobs[0].LastRun; !got.Equal(pinned) {
		t.Errorf("the shared fixtures moved: lastRun %s, want %s", got, pinned)
	}
}

// Issue 19 item 5: every time the mock writes has at most seven fractional digits, as
// a .NET server writes them: the token's .issued, a started job's session, a stopped
// one's end, a new item's generated times, read on a real clock whose readings carry
// nanoseconds.
func TestTimesHaveAtMostSevenFractionalDigits(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	// newTestServer's clock is virtual; the mock's real-clock readings carry
	// nanoseconds, which is what the check needs.
	srv := New(clock.NewReal())
	e.srv = srv
	tok := bearer(e.adminLogin().AccessToken)
	var bodies []string
	add := func(method, path, body string) {
		t.Helper()
		ctype := ""
		if body != "" {
			ctype = jsonType
		}
		w := e.do(method, path, ctype, body, tok...)
		if w.Code >= 300 {
			t.Fatalf("%s %s = %d %s", method, path, w.Code, w.Body)
		}
		bodies = append(bodies, w.Body.String())
	}
	job := srv.world.list("/v8/Jobs")[0].id
	add("POST", "/v8/Jobs/"+job+"/start", "")
	add("POST", "/v8/Jobs/"+job+"/stop", "")
	add("GET", "/v8/JobSessions?jobId="+job+"&limit=1", "")
	add("GET", "/v8/Jobs/"+job, "")
	add("GET", "/v8/ServiceInstance", "")
	timeRE := regexp.MustCompile(`"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)"`)
	n := 0
	for _, b := range bodies {
		for _, m := range timeRE.FindAllStringSubmatch(b, -1) {
			n++
			if len(m[1]) > 8 { // the dot and seven digits
				t.Errorf("time %s has %d fractional digits, want at most 7", m[0], len(m[1])-1)
			}
		}
	}
	if n < 5 {
		t.Errorf("found %d times in the answers; the check saw too little", n)
	}
}
