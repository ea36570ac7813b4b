package veeam

import (
	"net/http"
	"strings"
	"testing"
)

// collection.render keeps each item's rendering (issue 11's GET rate). A kept rendering
// must never answer a request it was not made for: not after the item changed, not for
// the other variant of a view (extendedView), and not for another self-link query. The
// requests alternate, so a cache that ignored any of the three would serve the first
// answer to the second request.
func TestKeptRenderingsFollowChangesAndRequests(t *testing.T) {
	t.Parallel()
	e := newActionEnv(t, nil)

	// The view's variants, alternating, twice each.
	backedUp := func(query string) (n int) {
		for _, r := range field(e.call("GET", "/v8/Organizations"+query, "", 200), "results").([]any) {
			if _, ok := r.(map[string]any)["isBackedup"]; ok {
				n++
			}
		}
		return n
	}
	for range 2 {
		if n := backedUp(""); n != 0 {
			t.Errorf("without extendedView: %d organizations show isBackedup", n)
		}
		if n := backedUp("?extendedView=true"); n == 0 {
			t.Error("with extendedView=true: no organization shows isBackedup")
		}
	}

	// A change: the list and the item show the new name at once, after both were
	// rendered (and kept) with the old one.
	created := e.call("POST", "/v8/ProxyPools", `{"name":"Render A","description":"d","proxyIds":[]}`, 201)
	id := created["id"].(string)
	name := func() (inList, byID any) {
		for _, r := range field(e.call("GET", "/v8/ProxyPools?limit=1000", "", 200), "results").([]any) {
			if m := r.(map[string]any); m["id"] == id {
				inList = m["name"]
			}
		}
		return inList, e.call("GET", "/v8/ProxyPools/"+id, "", 200)["name"]
	}
	if l, g := name(); l != "Render A" || g != "Render A" {
		t.Fatalf("before the change: list %v, by id %v", l, g)
	}
	if w := e.do("PUT", "/v8/ProxyPools/"+id, jsonType, `{"name":"Render B","description":"d","proxyIds":[]}`, e.tok...); w.Code != http.StatusNoContent {
		t.Fatalf("PUT: %d %s", w.Code, w.Body)
	}
	if l, g := name(); l != "Render B" || g != "Render B" {
		t.Errorf("after the change: list %v, by id %v; want Render B in both", l, g)
	}

	// Another self-link query: the same folder listed under two accounts' queries links
	// each with its own accountId.
	accounts := e.srv.world.list("/v8/Accounts")
	if len(accounts) < 2 {
		t.Fatalf("the default world has %d accounts; the test needs two", len(accounts))
	}
	list := "/v8/S3Resources/buckets/bucket-1/folders"
	for range 2 {
		for _, a := range accounts[:2] {
			acct := a.id
			folders := e.callArray("GET", list+"?accountId="+acct+"&RegionType=Global")
			if len(folders) == 0 {
				t.Fatalf("no folders listed for account %s", acct)
			}
			for _, f := range folders {
				if self, _ := field(f, "_links.self.href").(string); !strings.Contains(self, "accountId="+acct) {
					t.Errorf("folders listed for account %s: self link %q", acct, self)
				}
			}
		}
	}
}
