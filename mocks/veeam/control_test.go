package veeam

import (
	"fmt"
	"github.com/vbharness/vbharness/mocks/clock"

	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vbharness/vbharness/mocks/journal"
)

// GET /_mock/settings shows the defaults; PUT merges only the fields given and refuses
// bad values or unknown fields without changing anything.
func TestSettingsControlRoutes(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	got := decode[Settings](t, e.do("GET", "/_mock/settings", "", ""))
	if got != DefaultSettings() {
		t.Errorf("defaults = %+v, want %+v", got, DefaultSettings())
	}
	want := DefaultSettings()
	if want.AccessTokenLifetime != 3600 || want.RefreshTokenLifetime != 7200 || !want.TenantAuthentication || want.OperatorAuthentication ||
		want.ErrorStyle != "oauth" || !want.RefreshRotation || want.ClaimsOnly {
		t.Errorf("DefaultSettings() = %+v", want)
	}
	w := e.do("PUT", "/_mock/settings", jsonType, `{"accessTokenLifetime":600,"errorStyle":"veeam"}`)
	got = decode[Settings](t, w)
	want.AccessTokenLifetime, want.ErrorStyle = 600, "veeam"
	if w.Code != 200 || got != want || e.srv.Settings() != want {
		t.Errorf("after PUT: %d %+v, want %+v", w.Code, got, want)
	}
	for _, body := range []string{`{"accessTokenLifetime":0}`, `{"errorStyle":"xml"}`, `{"refreshTokenLifetime":-5}`, `{"tenantAuth":false}`, `{"claimsOnly":"yes"}`, `{"assertionClockSkew":-1}`} {
		if w := e.do("PUT", "/_mock/settings", jsonType, body); w.Code != 400 || !strings.Contains(w.Body.String(), `"error"`) {
			t.Errorf("PUT %s: %d %s", body, w.Code, w.Body)
		}
	}
	if e.srv.Settings() != want {
		t.Errorf("refused PUTs changed the settings: %+v", e.srv.Settings())
	}
	if tr := e.adminLogin(); tr.ExpiresIn != 600 {
		t.Errorf("expires_in after PUT = %d", tr.ExpiresIn)
	}
}

// Turning tenant authentication off over the control API refuses the seed's login
// with its own message; turning it back on restores it.
func TestTenantAuthenticationToggle(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	form := seedForm(DefaultOrganization, tokenResponseJSON(e.entra.mint(t, entraToken{})))
	e.do("PUT", "/_mock/settings", jsonType, `{"tenantAuthentication":false}`)
	if w := e.do("POST", "/v8/token", formType, form); w.Code != 400 || !strings.Contains(w.Body.String(), "Tenant authentication is disabled") {
		t.Errorf("with tenant authentication off: %d %s", w.Code, w.Body)
	}
	e.do("PUT", "/_mock/settings", jsonType, `{"tenantAuthentication":true}`)
	e.login(form)
}

// POST /_mock/organizations adds an organization whose tenants can sign in at once;
// invalid and duplicate organizations are refused; passwords never come back.
func TestAddOrganizationControlRoute(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	const msid = "0c5b3f7e-1d2a-4b6c-8e9f-3a4b5c6d7e8f"
	w := e.do("POST", "/_mock/organizations", jsonType, `{"name":"contoso.onmicrosoft.com","msid":"`+strings.ToUpper(msid)+`","modernAppOnly":true,"isExchangeOnline":true}`)
	if w.Code != 201 {
		t.Fatalf("add: %d %s", w.Code, w.Body)
	}
	added := decode[Organization](t, w)
	if _, ok := parseGUID(added.ID); !ok || added.MSID != msid || added.Type != "Office365" || added.OfficeName != "contoso.onmicrosoft.com" {
		t.Errorf("added = %+v", added)
	}
	tok := e.entra.mint(t, entraToken{claims: map[string]any{"tid": msid}})
	tr := e.login(seedForm("contoso.onmicrosoft.com", tokenResponseJSON(tok)))
	if got := decode[map[string]any](t, e.do("GET", "/v8/Organization", "", "", bearer(tr.AccessToken)...)); got["id"] != added.ID {
		t.Errorf("the new organization's tenant sees %v", got)
	}
	admin := bearer(e.adminLogin().AccessToken)
	if p := decode[page_](t, e.do("GET", "/v8/Organizations", "", "", admin...)); len(p.Results) != 3 {
		t.Errorf("administrator sees %d organizations, want 3", len(p.Results))
	}

	w = e.do("POST", "/_mock/organizations", jsonType, `{"name":"legacy.onmicrosoft.com","account":"admin@legacy.onmicrosoft.com","password":"Legacy-Passw0rd-long"}`)
	if w.Code != 201 || strings.Contains(w.Body.String(), "Legacy-Passw0rd-long") {
		t.Errorf("add with a password: %d %s", w.Code, w.Body)
	}
	e.login("grant_type=password&username=admin@legacy.onmicrosoft.com&password=Legacy-Passw0rd-long")

	for _, tc := range []struct {
		name, body string
		status     int
		contains   string
	}{
		{"duplicate name", `{"name":"ABC.onmicrosoft.com","msid":"1c5b3f7e-1d2a-4b6c-8e9f-3a4b5c6d7e8f"}`, 409, "already exists"},
		{"duplicate msid", `{"name":"other.onmicrosoft.com","msid":"` + msid + `"}`, 409, "already exists"},
		{"modern app-only without msid", `{"name":"x.onmicrosoft.com","modernAppOnly":true}`, 400, "needs its Entra tenant id"},
		{"msid not a GUID", `{"name":"y.onmicrosoft.com","msid":"abc"}`, 400, "is not a GUID"},
		{"no name", `{"msid":"2c5b3f7e-1d2a-4b6c-8e9f-3a4b5c6d7e8f"}`, 400, "needs a name"},
		{"unknown field", `{"name":"z.onmicrosoft.com","tenantId":"x"}`, 400, "unknown field"},
		{"bad region", `{"name":"r.onmicrosoft.com","region":"Mars"}`, 400, "not one of"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if w := e.do("POST", "/_mock/organizations", jsonType, tc.body); w.Code != tc.status || !strings.Contains(w.Body.String(), tc.contains) {
				t.Errorf("%d %s, want %d containing %q", w.Code, w.Body, tc.status, tc.contains)
			}
		})
	}
	list := e.do("GET", "/_mock/organizations", "", "")
	if strings.Contains(list.Body.String(), LegacyOrganizationPassword) || !strings.Contains(list.Body.String(), "[redacted") {
		t.Errorf("GET /_mock/organizations shows passwords: %s", list.Body)
	}
}

// POST /_mock/sessions/revoke revokes one user's sessions, or all with {"all":true};
// a body that names no one is a 400.
func TestRevokeSessionsControlRoute(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	admin1, admin2, tenant := e.adminLogin(), e.adminLogin(), e.tenantLogin()
	w := e.do("POST", "/_mock/sessions/revoke", jsonType, `{"userName":"administrator"}`)
	if w.Code != 200 || decode[map[string]int](t, w)["revoked"] != 2 {
		t.Fatalf("revoke Administrator: %d %s", w.Code, w.Body)
	}
	for _, tok := range []string{admin1.AccessToken, admin2.AccessToken} {
		if w := e.do("GET", "/v8/ServiceInstance", "", "", bearer(tok)...); w.Code != 401 {
			t.Errorf("revoked administrator token: %d", w.Code)
		}
	}
	if w := e.do("GET", "/v8/Organization", "", "", bearer(tenant.AccessToken)...); w.Code != 200 {
		t.Errorf("tenant token after revoking Administrator: %d", w.Code)
	}
	// A body that names no one is refused and revokes nothing (issue 15, item 9).
	for _, body := range []string{`{}`, ``, `{"userName":""}`, `{"all":false}`, `{"all":true,"userName":"x"}`} {
		if w := e.do("POST", "/_mock/sessions/revoke", jsonType, body); w.Code != 400 || !strings.Contains(w.Body.String(), `\"all\":true`) {
			t.Errorf("revoke with %q: %d %s, want 400 naming {\"all\":true}", body, w.Code, w.Body)
		}
	}
	if w := e.do("GET", "/v8/Organization", "", "", bearer(tenant.AccessToken)...); w.Code != 200 {
		t.Errorf("tenant token after refused revokes: %d", w.Code)
	}
	if w := e.do("POST", "/_mock/sessions/revoke", jsonType, `{"all":true}`); decode[map[string]int](t, w)["revoked"] != 1 {
		t.Errorf("revoke all: %s", w.Body)
	}
	if w := e.do("GET", "/v8/Organization", "", "", bearer(tenant.AccessToken)...); w.Code != 401 {
		t.Errorf("tenant token after revoking all: %d", w.Code)
	}
}

// POST /_mock/reset (Control().Reset) drops sessions, organizations added since, setting
// changes, the journal and the faults.
func TestResetRestoresTheInitialState(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	tr := e.adminLogin()
	e.do("PUT", "/_mock/settings", jsonType, `{"tenantAuthentication":false,"accessTokenLifetime":60}`)
	e.do("POST", "/_mock/organizations", jsonType, `{"name":"contoso.onmicrosoft.com"}`)
	e.do("POST", "/v8/Jobs/"+DefaultFixtures().Jobs[0].ID+"/disable", "", "", bearer(tr.AccessToken)...)
	e.do("POST", "/_mock/faults", jsonType, `{"path":"/v8/token","status":503}`)
	if w := e.do("POST", "/_mock/reset", "", ""); w.Code != 200 {
		t.Fatalf("reset: %d", w.Code)
	}
	if e.srv.Settings() != DefaultSettings() {
		t.Errorf("settings after reset: %+v", e.srv.Settings())
	}
	if w := e.do("GET", "/v8/ServiceInstance", "", "", bearer(tr.AccessToken)...); w.Code != 401 {
		t.Errorf("token after reset: %d", w.Code)
	}
	admin := bearer(e.adminLogin().AccessToken) // also proves the fault is gone
	if p := decode[page_](t, e.do("GET", "/v8/Organizations", "", "", admin...)); len(p.Results) != 2 {
		t.Errorf("%d organizations after reset, want 2", len(p.Results))
	}
	if j := decode[map[string]any](t, e.do("GET", "/v8/Jobs/"+DefaultFixtures().Jobs[0].ID, "", "", admin...)); j["isEnabled"] != true {
		t.Errorf("job after reset = %v", j)
	}
	if entries := e.srv.Control().Journal().List(journal.Filter{}); len(entries) != 4 || entries[0].Path != "/v8/ServiceInstance" {
		t.Errorf("journal after reset and four requests: %+v", entries)
	}
}

// With a control token, the control API needs it; the Veeam API does not.
func TestControlTokenGuardsTheControlAPI(t *testing.T) {
	t.Parallel()
	e := newTestServer(t, WithControlToken("ctl-secret-1234567890"))
	if w := e.do("GET", "/_mock/settings", "", ""); w.Code != 401 {
		t.Errorf("without the control token: %d", w.Code)
	}
	if w := e.do("GET", "/_mock/settings", "", "", "Authorization", "Bearer ctl-secret-1234567890"); w.Code != 200 {
		t.Errorf("with the control token: %d", w.Code)
	}
	e.adminLogin()
}

// The journal records token requests with assertions and passwords redacted.
func TestJournalRedactsCredentials(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	access := e.entra.mint(t, entraToken{})
	e.login(seedForm(DefaultOrganization, tokenResponseJSON(access)))
	e.adminLogin()
	entries := e.srv.Control().Journal().List(journal.Filter{Path: "/v8/token"})
	if len(entries) != 2 {
		t.Fatalf("%d journal entries", len(entries))
	}
	for _, en := range entries {
		for k, v := range en.Fields {
			if strings.Contains(v, access[:40]) || strings.Contains(v, DefaultAdminPassword) {
				t.Errorf("journal field %s holds a secret: %q", k, v)
			}
		}
	}
	if entries[0].Fields["grant_type"] != GrantJWTBearer || entries[0].Fields["client_id"] != DefaultOrganization || entries[0].Status != 200 {
		t.Errorf("entry = %+v", entries[0])
	}
}

// The session store stays bounded: expired sessions are purged as tokens are issued,
// and past the maximum the oldest sessions are evicted.
func TestSessionStoreStaysBounded(t *testing.T) {
	t.Parallel()
	e := newTestServer(t, WithMaxSessions(5))
	first := e.adminLogin()
	for range 9 {
		e.adminLogin()
	}
	if n, _ := e.srv.sessions.counts(); n > 6 {
		t.Errorf("%d sessions with a maximum of 5", n)
	}
	if w := e.do("GET", "/v8/ServiceInstance", "", "", bearer(first.AccessToken)...); w.Code != 401 {
		t.Errorf("evicted session's token: %d", w.Code)
	}

	st := newSessionStore(0)
	now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	// 3000 logins, one a second, each session living two minutes: at most 120 are live
	// at once, so the store never holds more than the sweep threshold.
	for i := range 3000 {
		s := &session{key: newGUID(), user: "u"}
		st.add(s, "a"+url.QueryEscape(s.key), "r"+s.key, now.Add(time.Minute), now.Add(2*time.Minute), "", now)
		now = now.Add(time.Second)
		if sessions, tokens := st.counts(); tokens > minSweep || sessions > minSweep {
			t.Fatalf("after %d logins: %d sessions and %d tokens held", i+1, sessions, tokens)
		}
	}
}

// Logins followed by logouts, mixed with evictions, keep the store consistent: the
// creation order holds at most a small multiple of the live sessions, and eviction
// after many revocations drops the oldest live session, not a revoked one.
func TestSessionStoreOrderStaysBoundedUnderLogouts(t *testing.T) {
	t.Parallel()
	st := newSessionStore(10)
	now := clock.DefaultStart
	var live []*session
	for i := range 5000 {
		s := &session{key: newGUID(), user: "u"}
		st.add(s, "a"+s.key, "r"+s.key, now.Add(time.Hour), now.Add(2*time.Hour), "", now)
		if i%3 == 0 {
			live = append(live, s)
		} else if !st.revoke(s.key) {
			t.Fatalf("login %d: the session was not found", i)
		}
		st.mu.RLock()
		order, sessions := len(st.order), len(st.sessions)
		st.mu.RUnlock()
		if sessions > 10 || order > 2*sessions+64+1 {
			t.Fatalf("after %d logins: %d sessions, order of %d", i+1, sessions, order)
		}
	}
	// A login evicts before its own logout, so 9 or 10 sessions remain: the newest.
	n, _ := st.counts()
	if n < 9 {
		t.Fatalf("%d sessions left, want the 9 or 10 newest", n)
	}
	for i, s := range live {
		if _, _, ok := st.access("a"+s.key, now); ok != (i >= len(live)-n) {
			t.Fatalf("session %d of %d (%d kept): token works = %t", i, len(live), n, ok)
		}
	}
}

// Issue 15, item 8: one tenant replaying its assertion cannot sign anyone else out. Past
// its own bound a principal loses its own oldest sessions; past the store's bound the
// principal holding the most does; the administrator's one session stays.
func TestAFloodOfOneLoginEvictsOnlyItsOwnSessions(t *testing.T) {
	t.Parallel()
	e := newTestServer(t, WithMaxSessions(20))
	admin := e.adminLogin()
	assertion := seedForm(DefaultOrganization, tokenResponseJSON(e.entra.mint(t, entraToken{})))
	var tenants []tokenResponse
	for range 60 {
		tenants = append(tenants, e.login(assertion))
	}
	if n, _ := e.srv.sessions.counts(); n > 20 {
		t.Errorf("%d sessions with a maximum of 20", n)
	}
	if w := e.do("GET", "/v8/ServiceInstance", "", "", bearer(admin.AccessToken)...); w.Code != 200 {
		t.Errorf("the administrator's session after 60 tenant logins: %d, want 200", w.Code)
	}
	if w := e.do("GET", "/v8/Organization", "", "", bearer(tenants[0].AccessToken)...); w.Code != 401 {
		t.Errorf("the tenant's oldest session: %d, want 401 (evicted)", w.Code)
	}
	if w := e.do("GET", "/v8/Organization", "", "", bearer(tenants[59].AccessToken)...); w.Code != 200 {
		t.Errorf("the tenant's newest session: %d, want 200", w.Code)
	}

	// The per-principal bound on its own, with room in the store.
	st := newSessionStore(0)
	now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	other := &session{key: newGUID(), user: "Administrator", kind: kindAdmin}
	st.add(other, "a-other", "r-other", now.Add(time.Hour), now.Add(2*time.Hour), "", now)
	for i := range DefaultMaxSessionsPerPrincipal + 10 {
		s := &session{key: newGUID(), user: "abc.onmicrosoft.com", kind: kindTenant, orgID: "org"}
		st.add(s, fmt.Sprintf("a%d", i), fmt.Sprintf("r%d", i), now.Add(time.Hour), now.Add(2*time.Hour), "", now)
	}
	if n, _ := st.counts(); n != DefaultMaxSessionsPerPrincipal+1 {
		t.Errorf("%d sessions, want the tenant's %d and the administrator's one", n, DefaultMaxSessionsPerPrincipal)
	}
	if _, _, ok := st.access("a-other", now); !ok {
		t.Error("the administrator's session was evicted by another principal's logins")
	}
	if _, _, ok := st.access("a0", now); ok {
		t.Error("the tenant's oldest session outlived its principal's bound")
	}
}
