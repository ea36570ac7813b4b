package entra

import (
	"errors"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestDefaultDirectory(t *testing.T) {
	t.Parallel()
	d := DefaultDirectory()
	if len(d.Tenants) != 1 || d.Tenants[0].Domain != DefaultTenant || d.Tenants[0].ID != DefaultTenantID {
		t.Fatalf("tenants = %+v", d.Tenants)
	}
	if u := d.Tenants[0].Users; len(u) != 1 || u[0].UPN != "admin@abc.onmicrosoft.com" || u[0].DisplayName != "MOD Administrator" || !isGUID(u[0].ObjectID) {
		t.Errorf("users = %+v", u)
	}
	if len(d.Apps) != 3 {
		t.Fatalf("apps = %+v", d.Apps)
	}
	if rp := d.Apps[2]; rp.ClientID != RestorePortalApplicationID || !rp.PublicClient || rp.Tenant != "" || rp.FirstParty ||
		strings.Join(rp.ExposedScopes, " ") != OperatorScope || rp.AccessTokenVersion != 0 || rp.hasCredentials() {
		t.Errorf("Restore Portal application = %+v", rp)
	}
	if r := d.Resources; len(r) != 1 || r[0].AppID != ARMAppID || r[0].URIs[0] != ARMResource || strings.Join(r[0].Scopes, " ") != "user_impersonation" {
		t.Errorf("resources = %+v, want Azure Resource Manager", r)
	}
	vb := d.Apps[1]
	if vb.ClientID != DefaultApplicationID || vb.Tenant != DefaultTenant || !vb.PublicClient || len(vb.Certificates) != 1 ||
		vb.Certificates[0].Cert != DefaultAppCertificate().Cert || vb.ClientSecret != "" || !vb.consented() {
		t.Errorf("default application = %+v", vb)
	}
	if p := vb.Permissions; len(p.Graph) != 14 || len(p.Exchange) != 2 || len(p.SharePoint) != 2 || p.Exchange[0] != "full_access_as_app" {
		t.Errorf("default application permissions = %+v (want modern-app-only.md §2's)", p)
	}
	cli := d.Apps[0]
	if cli.ClientID != AzureCLIClientID || !cli.PublicClient || !cli.FOCI || !cli.FirstParty || cli.ClientSecret != "" {
		t.Errorf("Azure CLI app = %+v", cli)
	}
	if got := strings.Join(cli.PreauthorizedScopes, " "); got != "Application.ReadWrite.All AppRoleAssignment.ReadWrite.All AuditLog.Read.All DelegatedPermissionGrant.ReadWrite.All Directory.AccessAsUser.All email Group.ReadWrite.All openid profile User.Read.All User.ReadWrite.All" {
		t.Errorf("preauthorized scopes = %s (want entra.md §8's 2025–2026 set)", got)
	}
	// Each call is a fresh copy.
	d.Apps[0].PreauthorizedScopes[0] = "changed"
	if DefaultDirectory().Apps[0].PreauthorizedScopes[0] == "changed" {
		t.Error("DefaultDirectory shares its slices between calls")
	}
	// The default validates as a config file would.
	if err := (validator{file: "default"}).directory(&d); err != nil {
		t.Errorf("the default directory does not validate: %v", err)
	}
}

func TestLoadDirectoryFiles(t *testing.T) {
	t.Parallel()
	d, err := LoadDirectory("testdata/directory.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Tenants) != 2 || d.Tenants[1].Domain != "fabrikam.onmicrosoft.com" || d.Tenants[0].Users[1].Password != "Pa55w.rd" {
		t.Errorf("tenants = %+v", d.Tenants)
	}
	if d.Tenants[1].Users[0].DisplayName != "admin" {
		t.Errorf("a missing display_name should default to the UPN's local part, got %q", d.Tenants[1].Users[0].DisplayName)
	}
	if len(d.Apps) != 4 || d.Apps[0].ClientID != AzureCLIClientID || d.Apps[1].ClientID != RestorePortalApplicationID ||
		d.Apps[3].ClientSecret != "daemon-secret" || !d.Apps[2].PublicClient {
		t.Errorf("apps = %+v, want Azure CLI, the Restore Portal application (of every tenant) and the file's two apps", d.Apps)
	}
	c, err := LoadConfig("testdata/directory.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Lifetimes.AccessToken != 600*time.Second || c.Lifetimes.Interval != 2*time.Second || c.Lifetimes.DeviceCode != 0 {
		t.Errorf("lifetimes = %+v", c.Lifetimes)
	}

	j, err := LoadDirectory("testdata/directory.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(j.Tenants) != 1 || j.Tenants[0].Users[0].UPN != "adele@contoso.onmicrosoft.com" {
		t.Errorf("json tenants = %+v", j.Tenants)
	}
	if len(j.Apps) != 2 || j.Apps[0].ClientID != AzureCLIClientID || j.Apps[1].ClientID != RestorePortalApplicationID {
		t.Errorf("a file without apps should keep the default apps of every tenant, got %+v", j.Apps)
	}
}

// Config errors name the file, the line and what to fix.
func TestLoadDirectoryErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		file string
		line int
		want string
	}{
		{"testdata/unknown-field.yaml", 7, `unknown key "passwd" in tenants[0].users[0]; did you mean password?`},
		{"testdata/bad-guid.yaml", 8, `object_id "not-a-guid", which is not a GUID`},
		{"testdata/bad-role.yaml", 7, `role "Tenant Boss", which is neither a known role name`},
		{"testdata/bad-default-user.yaml", 7, `default_user "megan@contoso.onmicrosoft.com" is not one of tenant`},
		{"testdata/bad-syntax.yaml", 3, "malformed YAML: found unexpected end of stream while scanning a quoted scalar"},
		{"testdata/bad-syntax.json", 5, "malformed JSON"},
		{"testdata/confidential-without-secret.json", 3, "set public_client: true or add client_secret"},
		{"testdata/wrong-type.yaml", 4, `apps[0].public_client must be true or false, not "maybe"`},
		{"testdata/bad-lifetime.yaml", 2, "lifetimes.access_token is -1"},
		{"testdata/empty.yaml", 0, "the file is empty"},
		{"testdata/directory.toml", 0, "name the file .yaml, .yml or .json"},
		{"testdata/bad-certificate.yaml", 5, "certificate pem: no PEM CERTIFICATE block found"},
		{"testdata/bad-certificate-time.yaml", 6, `certificate end "next year" is not an RFC 3339 time; write it as 2027-01-01T00:00:00Z`},
		{"testdata/unknown-resource.yaml", 6, `unknown key "teams" in apps[0].permissions; known keys: exchange, graph, sharepoint`},
		{"testdata/bad-app-tenant.yaml", 5, `app "8f1e2d3c-4b5a-4c6d-9e8f-7a6b5c4d3e2f": tenant "contoso.onmicrosoft.com" is not a tenant of the directory`},
		{"testdata/bad-resource-uri.yaml", 4, `uri "vault" of resource cfa8b339-82a2-471a-a3c9-0fc0be7a4093 is not an identifier URI`},
		{"testdata/resource-taken.yaml", 6, `uses "https://graph.microsoft.com/", which already names Microsoft Graph`},
		{"testdata/bad-token-version.yaml", 5, "access_token_version is 3; give 1 (v1 tokens, Entra's default) or 2"},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			t.Parallel()
			_, err := LoadDirectory(c.file)
			var ce *ConfigError
			if !errors.As(err, &ce) || !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("err = %v, want a *ConfigError", err)
			}
			if ce.File != c.file || ce.Line != c.line || !strings.Contains(ce.Msg, c.want) {
				t.Errorf("got %q (line %d), want line %d containing %q", err, ce.Line, c.line, c.want)
			}
			if c.line > 0 && !strings.HasPrefix(err.Error(), c.file+":"+strconv.Itoa(c.line)+":"+strconv.Itoa(ce.Col)+": ") {
				t.Errorf("message %q does not start with file:line:col", err)
			}
			if c.line > 0 && ce.Col < 1 {
				t.Errorf("%q has no column", err)
			}
		})
	}
	if _, err := LoadDirectory("testdata/missing.yaml"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// A server built from a config file serves its tenants, users and apps: a
// third-party app gets what it asked for, organizations signs in a user of any
// tenant, and a confidential app gets app-only tokens.
func TestServerWithLoadedDirectory(t *testing.T) {
	t.Parallel()
	c, err := LoadConfig("testdata/directory.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, WithDirectory(c.Directory), WithLifetimes(c.Lifetimes))
	const tool = "0d1e2f3a-4b5c-4d6e-8f7a-8b9c0d1e2f3a"

	dc := ts.post(t, "/contoso.onmicrosoft.com/oauth2/v2.0/devicecode", url.Values{"client_id": {tool}, "scope": {"openid profile User.Read offline_access"}})
	if dc.Status != 200 || dc.JSON["interval"] != float64(2) {
		t.Fatalf("devicecode: %d %s", dc.Status, dc.Raw)
	}
	if _, err := ts.Approve(dc.str("user_code"), ""); err != nil {
		t.Fatal(err)
	}
	tok := ts.post(t, "/contoso.onmicrosoft.com/oauth2/v2.0/token", url.Values{"grant_type": {"device_code"}, "client_id": {tool}, "device_code": {dc.str("device_code")}})
	if tok.Status != 200 {
		t.Fatalf("token: %d %s", tok.Status, tok.Raw)
	}
	if tok.str("scope") != "openid profile User.Read" || tok.JSON["expires_in"] != float64(600) || tok.JSON["foci"] != nil {
		t.Errorf("scope %q, expires_in %v, foci %v", tok.str("scope"), tok.JSON["expires_in"], tok.JSON["foci"])
	}
	claims := unverifiedClaims(t, tok.str("access_token"))
	if claims["scp"] != "openid profile User.Read" || claims["upn"] != "megan@contoso.onmicrosoft.com" || claims["aud"] != GraphAppID {
		t.Errorf("claims scp %v upn %v aud %v (default user should be megan)", claims["scp"], claims["upn"], claims["aud"])
	}

	org := ts.post(t, "/organizations/oauth2/v2.0/devicecode", url.Values{"client_id": {AzureCLIClientID}, "scope": {seedScope}})
	if org.Status != 200 {
		t.Fatalf("organizations devicecode: %d %s", org.Status, org.Raw)
	}
	if _, err := ts.Approve(org.str("user_code"), "admin@fabrikam.onmicrosoft.com"); err != nil {
		t.Fatal(err)
	}
	otok := ts.post(t, "/organizations/oauth2/v2.0/token", url.Values{"grant_type": {"device_code"}, "client_id": {AzureCLIClientID}, "device_code": {org.str("device_code")}})
	if tid := unverifiedClaims(t, otok.str("access_token"))["tid"]; tid != "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b" {
		t.Errorf("organizations sign-in gave tid %v, want fabrikam's", tid)
	}

	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/contoso.onmicrosoft.com/oauth2/v2.0/token",
		strings.NewReader(url.Values{"grant_type": {"client_credentials"}, "scope": {GraphResource + "/.default"}}.Encode()))
	req.Header.Set("Content-Type", formContentType)
	req.SetBasicAuth("5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b", "daemon-secret")
	app := ts.do(t, req)
	if app.Status != 200 || app.JSON["refresh_token"] != nil || app.JSON["scope"] != nil {
		t.Fatalf("client_credentials: %d %s", app.Status, app.Raw)
	}
	ac := ts.verify(t, app.str("access_token"))
	if ac["idtyp"] != "app" || ac["aud"] != GraphResource || ac["appidacr"] != "1" || ac["tid"] != "2c1d9b7e-8f3a-4e21-b5c6-0a9d8e7f6b5c" {
		t.Errorf("app token claims = %v", ac)
	}
	if roles, _ := ac["roles"].([]any); len(roles) != 1 || roles[0] != "User.Read.All" {
		t.Errorf("roles = %v", ac["roles"])
	}
}

// A config file's resources replace Azure Resource Manager, and an app may expose its
// own API with v2 tokens; the server serves both.
func TestLoadResources(t *testing.T) {
	t.Parallel()
	c, err := LoadConfig("testdata/resources.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if r := c.Directory.Resources; len(r) != 1 || r[0].DisplayName != "Azure Key Vault" {
		t.Fatalf("resources = %+v, want the file's Key Vault only", r)
	}
	const portal = "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d"
	ts := newTestServer(t, WithDirectory(c.Directory))
	r := ts.tokensFor(t, portal, "api://"+portal+"/Reports.Read offline_access")
	if r.Status != 200 {
		t.Fatalf("token for the portal's API: %d %s", r.Status, r.Raw)
	}
	if claims := unverifiedClaims(t, r.str("access_token")); claims["aud"] != portal || claims["ver"] != "2.0" || claims["scp"] != "Reports.Read" {
		t.Errorf("portal API token aud/ver/scp = %v/%v/%v", claims["aud"], claims["ver"], claims["scp"])
	}
	for scope, want := range map[string]int{"https://vault.azure.net/user_impersonation": 200, ARMResource + "/user_impersonation": 400} {
		f := url.Values{"grant_type": {"refresh_token"}, "client_id": {portal}, "refresh_token": {r.str("refresh_token")}, "scope": {scope}}
		if got := ts.post(t, tokenPath, f); got.Status != want {
			t.Errorf("refresh for %s: %d %s, want %d", scope, got.Status, got.Raw, want)
		}
	}
}
