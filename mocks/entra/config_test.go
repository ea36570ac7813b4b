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
	if len(d.Apps) != 1 {
		t.Fatalf("apps = %+v", d.Apps)
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
	if len(d.Apps) != 3 || d.Apps[0].ClientID != AzureCLIClientID || d.Apps[2].ClientSecret != "daemon-secret" || !d.Apps[1].PublicClient {
		t.Errorf("apps = %+v, want Azure CLI plus the file's two apps", d.Apps)
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
	if len(j.Apps) != 1 || j.Apps[0].ClientID != AzureCLIClientID {
		t.Errorf("a file without apps should keep the default Azure CLI app, got %+v", j.Apps)
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
		{"testdata/bad-default-user.yaml", 7, `default_user "megan@contoso.onmicrosoft.com" is not one of tenant`},
		{"testdata/bad-syntax.yaml", 3, "malformed YAML: found unexpected end of stream while scanning a quoted scalar"},
		{"testdata/bad-syntax.json", 5, "malformed JSON"},
		{"testdata/confidential-without-secret.json", 3, "set public_client: true or add client_secret"},
		{"testdata/wrong-type.yaml", 4, `apps[0].public_client must be true or false, not "maybe"`},
		{"testdata/bad-lifetime.yaml", 2, "lifetimes.access_token is -1"},
		{"testdata/empty.yaml", 0, "the file is empty"},
		{"testdata/directory.toml", 0, "name the file .yaml, .yml or .json"},
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
