package entra

import (
	"net/http"
	"net/url"
	"reflect"
	"testing"
)

// A refresh token from a Graph sign-in is redeemed for another resource of the
// directory, as Azure CLI and MSAL use one sign-in for many resources (entra.md §3:
// refresh tokens are bound to user and client, not to a resource). Azure Resource
// Manager is served by default; a resource the directory does not have keeps
// AADSTS500011. The ARM answer follows a captured Azure CLI response (darkcodi/
// AzureTokenApi README [R]): scope lists the resource's permissions, then .default, and
// no OIDC scope; the token is v1 with aud the resource as requested.
func TestRefreshTokenForAnotherResource(t *testing.T) {
	t.Parallel()
	vault := Resource{URIs: []string{"https://vault.azure.net"}, AppID: "cfa8b339-82a2-471a-a3c9-0fc0be7a4093", DisplayName: "Azure Key Vault", Scopes: []string{"user_impersonation"}}
	withoutARM := DefaultDirectory()
	withoutARM.Resources = nil
	withVault := DefaultDirectory()
	withVault.Resources = []Resource{vault}
	const arm = "https://management.core.windows.net//user_impersonation"
	cases := []struct {
		name   string
		dir    *Directory
		scope  string
		status int
		aud    string // success: the access token's aud
		scp    string
		echo   string // success: the response's scope
		code   string // failure: error
		aadsts int
	}{
		{name: "ARM, as Azure CLI asks for it", scope: arm + " openid profile offline_access", status: 200,
			aud: ARMResource, scp: "user_impersonation", echo: arm},
		{name: "ARM by its other URI", scope: "https://management.azure.com//user_impersonation offline_access", status: 200,
			aud: "https://management.azure.com/", scp: "user_impersonation", echo: "https://management.azure.com//user_impersonation"},
		{name: "ARM by its application id", scope: ARMAppID + "/user_impersonation", status: 200,
			aud: ARMAppID, scp: "user_impersonation", echo: ARMAppID + "/user_impersonation"},
		{name: "ARM .default lists the permissions, then .default", scope: "https://management.core.windows.net//.default openid", status: 200,
			aud: ARMResource, scp: "user_impersonation", echo: arm + " https://management.core.windows.net//.default"},
		{name: "a resource not in the set keeps AADSTS500011", scope: "https://vault.azure.net/user_impersonation", status: 400,
			code: "invalid_resource", aadsts: 500011},
		{name: "a directory without resources refuses ARM with AADSTS500011", dir: &withoutARM, scope: arm, status: 400,
			code: "invalid_resource", aadsts: 500011},
		{name: "a configured resource is served", dir: &withVault, scope: "https://vault.azure.net/user_impersonation", status: 200,
			aud: "https://vault.azure.net", scp: "user_impersonation", echo: "https://vault.azure.net/user_impersonation"},
		{name: "a configured set replaces ARM", dir: &withVault, scope: arm, status: 400,
			code: "invalid_resource", aadsts: 500011},
		{name: "scopes of two resources are AADSTS28000", scope: "User.Read.All " + arm, status: 400,
			code: "invalid_scope", aadsts: 28000},
		{name: "a permission the resource does not expose is AADSTS650053", scope: "https://management.core.windows.net//Foo.Read", status: 400,
			code: "invalid_request", aadsts: 650053},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var opts []Option
			if c.dir != nil {
				opts = append(opts, WithDirectory(*c.dir))
			}
			ts := newTestServer(t, opts...)
			rt := ts.tokens(t, "openid "+seedScope, nil).str("refresh_token")
			r := ts.post(t, tokenPath, url.Values{"grant_type": {"refresh_token"}, "client_id": {AzureCLIClientID}, "refresh_token": {rt}, "scope": {c.scope}},
				"client-request-id", correlation)
			if c.status != 200 {
				checkEntraError(t, ts, r, c.status, c.code, c.aadsts, "")
				return
			}
			if r.Status != 200 {
				t.Fatalf("refresh: %d %s", r.Status, r.Raw)
			}
			if r.str("scope") != c.echo {
				t.Errorf("scope = %q, want %q", r.str("scope"), c.echo)
			}
			if r.str("refresh_token") == "" || r.str("foci") != "1" {
				t.Errorf("refresh_token %t, foci %q", r.str("refresh_token") != "", r.str("foci"))
			}
			at := ts.verify(t, r.str("access_token"))
			want := map[string]any{"aud": c.aud, "scp": c.scp, "iss": "https://sts.windows.net/" + DefaultTenantID + "/",
				"ver": "1.0", "appid": AzureCLIClientID, "oid": DefaultAdminObjectID, "upn": DefaultAdminUPN}
			for k, v := range want {
				if at[k] != v {
					t.Errorf("%s = %v, want %v", k, at[k], v)
				}
			}
			if got := headerKeys(t, r.str("access_token")); !reflect.DeepEqual(got, []string{"typ", "alg", "x5t", "kid"}) {
				t.Errorf("header keys = %v, want no nonce (only Graph tokens carry one)", got)
			}
		})
	}
}

// The Restore Portal application signs a restore operator in by device code for its
// own API (veeam.md §1.2: scope "api://<appId>/access_as_user openid profile
// offline_access", modern-app-only.md §3.3: the portal's id as the public client). The
// access token is v1 with aud api://<appId> and scp access_as_user; an id token and a
// refresh token come with it. With access_token_version 2 the token is v2 and its aud
// the application id.
func TestRestorePortalOperatorToken(t *testing.T) {
	t.Parallel()
	v2 := DefaultDirectory()
	for i := range v2.Apps {
		if v2.Apps[i].ClientID == RestorePortalApplicationID {
			v2.Apps[i].AccessTokenVersion = 2
		}
	}
	api := "api://" + RestorePortalApplicationID
	cases := []struct {
		name   string
		dir    *Directory
		client string
		scope  string
		status int
		want   map[string]any
		echo   string
		header []string
		code   string
		aadsts int
	}{
		{name: "the operator's sign-in gets a v1 token for the portal's API", client: RestorePortalApplicationID,
			scope: api + "/access_as_user openid profile offline_access", status: 200, echo: api + "/access_as_user",
			want: map[string]any{"aud": api, "scp": OperatorScope, "ver": "1.0", "appid": RestorePortalApplicationID,
				"iss": "https://sts.windows.net/" + DefaultTenantID + "/", "tid": DefaultTenantID, "oid": DefaultAdminObjectID, "upn": DefaultAdminUPN},
			header: []string{"typ", "alg", "x5t", "kid"}},
		{name: "the API named by its application id", client: RestorePortalApplicationID,
			scope: RestorePortalApplicationID + "/access_as_user offline_access", status: 200, echo: RestorePortalApplicationID + "/access_as_user",
			want: map[string]any{"aud": RestorePortalApplicationID, "scp": OperatorScope, "ver": "1.0"}, header: []string{"typ", "alg", "x5t", "kid"}},
		{name: "with access_token_version 2 the token is v2 for the application id", dir: &v2, client: RestorePortalApplicationID,
			scope: api + "/access_as_user openid profile offline_access", status: 200, echo: api + "/access_as_user",
			want: map[string]any{"aud": RestorePortalApplicationID, "scp": OperatorScope, "ver": "2.0", "azp": RestorePortalApplicationID,
				"azpacr": "0", "preferred_username": DefaultAdminUPN, "oid": DefaultAdminObjectID, "tid": DefaultTenantID},
			header: []string{"typ", "alg", "kid"}},
		{name: "a scope the portal does not expose is AADSTS650053", client: RestorePortalApplicationID,
			scope: api + "/Files.Read", status: 400, code: "invalid_request", aadsts: 650053},
		{name: "Azure CLI is not preauthorized for the portal's API (AADSTS65002)", client: AzureCLIClientID,
			scope: api + "/access_as_user", status: 400, code: "invalid_request", aadsts: 65002},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var opts []Option
			if c.dir != nil {
				opts = append(opts, WithDirectory(*c.dir))
			}
			ts := newTestServer(t, opts...)
			r := ts.tokensFor(t, c.client, c.scope)
			if c.status != 200 {
				checkEntraError(t, ts, r, c.status, c.code, c.aadsts, "")
				return
			}
			if r.Status != http.StatusOK {
				t.Fatalf("token: %d %s", r.Status, r.Raw)
			}
			if r.str("scope") != c.echo {
				t.Errorf("scope = %q, want %q", r.str("scope"), c.echo)
			}
			at := ts.verify(t, r.str("access_token"))
			for k, v := range c.want {
				if at[k] != v {
					t.Errorf("%s = %v, want %v", k, at[k], v)
				}
			}
			if got := headerKeys(t, r.str("access_token")); !reflect.DeepEqual(got, c.header) {
				t.Errorf("header keys = %v, want %v", got, c.header)
			}
			if r.str("refresh_token") == "" {
				t.Error("no refresh token for offline_access")
			}
		})
	}
}
