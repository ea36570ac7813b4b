package entra

import (
	"net/url"
	"strings"
	"testing"
)

// Which fields a success carries depends on what was asked, as entra.md §2 says.
func TestTokenResponseFields(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		scope   string
		extra   url.Values
		present []string
		absent  []string
		scope2  string // expected scope echo, if checked
	}{
		{"a refresh token only with offline_access", "User.ReadWrite.All", nil,
			[]string{"access_token", "foci"}, []string{"refresh_token", "id_token", "client_info"}, ""},
		{"an id token with openid", "openid User.ReadWrite.All", nil,
			[]string{"id_token"}, []string{"refresh_token", "client_info"}, ""},
		{"client_info with client_info=1", "User.ReadWrite.All", url.Values{"client_info": {"1"}},
			[]string{"client_info"}, []string{"id_token"}, ""},
		{".default gets the whole set and echoes .default last", "https://graph.microsoft.com/.default offline_access", nil,
			[]string{"refresh_token"}, nil,
			"email openid profile https://graph.microsoft.com/Application.ReadWrite.All https://graph.microsoft.com/AppRoleAssignment.ReadWrite.All https://graph.microsoft.com/AuditLog.Read.All https://graph.microsoft.com/DelegatedPermissionGrant.ReadWrite.All https://graph.microsoft.com/Directory.AccessAsUser.All https://graph.microsoft.com/Group.ReadWrite.All https://graph.microsoft.com/User.Read.All https://graph.microsoft.com/User.ReadWrite.All https://graph.microsoft.com/.default"},
		{"each scope is echoed in the form it was requested", GraphAppID + "/User.Read.All https://graph.microsoft.com/Directory.AccessAsUser.All", nil,
			nil, nil,
			"email openid profile " + GraphAppID + "/Application.ReadWrite.All " + GraphAppID + "/AppRoleAssignment.ReadWrite.All " + GraphAppID + "/AuditLog.Read.All " + GraphAppID + "/DelegatedPermissionGrant.ReadWrite.All https://graph.microsoft.com/Directory.AccessAsUser.All " + GraphAppID + "/Group.ReadWrite.All " + GraphAppID + "/User.Read.All " + GraphAppID + "/User.ReadWrite.All"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t)
			r := ts.tokens(t, c.scope, c.extra)
			for _, k := range c.present {
				if r.JSON[k] == nil {
					t.Errorf("%s missing", k)
				}
			}
			for _, k := range c.absent {
				if r.JSON[k] != nil {
					t.Errorf("%s present", k)
				}
			}
			if strings.Contains(r.str("scope"), "offline_access") {
				t.Errorf("scope echoes offline_access: %q", r.str("scope"))
			}
			if c.scope2 != "" && r.str("scope") != c.scope2 {
				t.Errorf("scope = %q\nwant    %q", r.str("scope"), c.scope2)
			}
		})
	}
}

// Refresh tokens follow Entra's rules: a new one every time with the old still
// valid, scope re-requested or inherited, an id token when openid is asked for, FOCI
// family members redeem each other's, and another tenant's endpoint refuses them.
func TestRefreshBehaviour(t *testing.T) {
	t.Parallel()
	family := testDirectory()
	const office = "d3590ed6-52b3-4102-aeff-aad2292ab01c" // Microsoft Office, a FOCI member
	family.Apps = append(family.Apps, App{ClientID: office, DisplayName: "Microsoft Office", PublicClient: true, FOCI: true, FirstParty: true, PreauthorizedScopes: []string{"openid", "profile", "User.Read"}})
	family.Tenants = append(family.Tenants, Tenant{Domain: "other.onmicrosoft.com", ID: "3b2a1c0d-9e8f-4a7b-8c6d-5e4f3a2b1c0d",
		Users: []User{{UPN: "x@other.onmicrosoft.com", ObjectID: "4c3b2a1d-0e9f-4b8a-9d7c-6e5f4a3b2c1d", DisplayName: "X"}}})
	ts := newTestServer(t, WithDirectory(family))
	rt := ts.tokens(t, "openid "+seedScope, nil).str("refresh_token")
	refresh := func(path string, f url.Values) reply { return ts.post(t, path, f) }

	a := refresh(tokenPath, url.Values{"grant_type": {"refresh_token"}, "client_id": {AzureCLIClientID}, "refresh_token": {rt}})
	b := refresh(tokenPath, url.Values{"grant_type": {"refresh_token"}, "client_id": {AzureCLIClientID}, "refresh_token": {rt}})
	if a.Status != 200 || b.Status != 200 || a.str("refresh_token") == rt || a.str("refresh_token") == b.str("refresh_token") {
		t.Fatalf("repeated refresh with one token: %d/%d, distinct new tokens: %t", a.Status, b.Status, a.str("refresh_token") != b.str("refresh_token"))
	}
	if a.str("id_token") == "" {
		t.Error("a refresh without scope inherits openid and should carry an id token")
	}
	if got := refresh(tokenPath, url.Values{"grant_type": {"refresh_token"}, "client_id": {AzureCLIClientID}, "refresh_token": {a.str("refresh_token")}, "scope": {"User.Read.All"}}); got.Status != 200 || got.str("id_token") != "" || got.str("refresh_token") == "" {
		t.Errorf("refresh with a narrower scope: %d, id token %t", got.Status, got.str("id_token") != "")
	}
	foci := refresh(tokenPath, url.Values{"grant_type": {"refresh_token"}, "client_id": {office}, "refresh_token": {rt}, "scope": {"openid User.Read"}})
	if foci.Status != 200 || unverifiedClaims(t, foci.str("access_token"))["appid"] != office {
		t.Errorf("FOCI member redeeming Azure CLI's token: %d %s", foci.Status, foci.Raw)
	}
	other := refresh("/other.onmicrosoft.com/oauth2/v2.0/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {AzureCLIClientID}, "refresh_token": {rt}})
	if other.Status != 400 || other.str("error") != "invalid_grant" {
		t.Errorf("another tenant's endpoint: %d %s", other.Status, other.Raw)
	}
	common := refresh("/common/oauth2/v2.0/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {AzureCLIClientID}, "refresh_token": {rt}})
	if common.Status != 200 {
		t.Errorf("common endpoint: %d %s", common.Status, common.Raw)
	}
}
