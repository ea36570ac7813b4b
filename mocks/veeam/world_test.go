package veeam

import (
	"bytes"
	"strings"
	"testing"
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
	for _, rs := range f.RestoreSessions {
		base := "/v8/RestoreSessions/" + rs.ID
		if n := len(e.call("GET", base+"/organization/mailboxes?limit=1000", "", 200)["results"].([]any)); n == 0 {
			t.Errorf("restore session %s shows no mailboxes", rs.ID)
		}
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
	for _, rp := range e.srv.world.list("/v8/RestorePoints") {
		if _, ok := e.srv.world.get("/v8/Jobs/" + rp.obj.str("jobId")); !ok {
			t.Errorf("restore point %s names job %s, which does not exist", rp.id, rp.obj.str("jobId"))
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

	a, b := buildWorld(defaultFixtures()), buildWorld(defaultFixtures())
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
