package entra

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// A config file's applications: tenant, certificates with their validity, permissions
// per resource, consent and the disabled flag; the default application stays while
// its tenant does.
func TestLoadApplications(t *testing.T) {
	t.Parallel()
	c, err := LoadConfig("testdata/applications.yaml")
	if err != nil {
		t.Fatal(err)
	}
	d := c.Directory
	if len(d.Apps) != 5 || d.Apps[1].ClientID != DefaultApplicationID || d.Apps[2].ClientID != RestorePortalApplicationID {
		t.Fatalf("apps = %+v, want Azure CLI, the default application, the Restore Portal application and the file's two", d.Apps)
	}
	backup, reporter := d.Apps[3], d.Apps[4]
	if backup.Tenant != DefaultTenant || len(backup.Certificates) != 1 || backup.consented() ||
		strings.Join(backup.Permissions.Graph, " ") != "Directory.Read.All Sites.Read.All" ||
		backup.Permissions.Exchange[0] != "full_access_as_app" || backup.Permissions.SharePoint[0] != "Sites.FullControl.All" {
		t.Errorf("Contoso Backup = %+v", backup)
	}
	cert := backup.Certificates[0]
	if cert.KeyID != "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d" || cert.Cert.Subject.CommonName != "Contoso Backup" ||
		!cert.start().Equal(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)) || !cert.end().Equal(time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("certificate = key %s, %s to %s", cert.KeyID, cert.start(), cert.end())
	}
	if !reporter.Disabled || reporter.ClientSecret != "reporter-secret" || reporter.Tenant != DefaultTenantID {
		t.Errorf("Contoso Reporter = %+v", reporter)
	}

	// A file that replaces the tenants drops the default application with its tenant.
	other, err := LoadConfig("testdata/directory.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range other.Directory.Apps {
		if a.ClientID == DefaultApplicationID {
			t.Error("the default application outlived its tenant")
		}
	}

	// The server lists them with the state of each credential on its clock.
	ts := newTestServer(t, WithDirectory(d))
	info, err := ts.Application("8f1e2d3c-4b5a-4c6d-9e8f-7a6b5c4d3e2f")
	if err != nil {
		t.Fatal(err)
	}
	if info.Consent != ConsentRevoked || info.Tenant != DefaultTenant || len(info.Credentials) != 1 || info.Credentials[0].State != CredentialValid ||
		info.Credentials[0].End != "2026-06-30T00:00:00Z" || info.ServicePrincipalID != servicePrincipalID(info.AppID, DefaultTenantID) {
		t.Errorf("info = %+v", info)
	}
	ts.Clock.Advance(200 * 24 * time.Hour)
	if info, _ := ts.Application("8f1e2d3c-4b5a-4c6d-9e8f-7a6b5c4d3e2f"); info.Credentials[0].State != CredentialExpired {
		t.Errorf("past its end the credential is %s, want expired", info.Credentials[0].State)
	}
}

// GET /_mock/applications lists every app with its credentials (thumbprints and
// validity, never a secret or a key), permissions, consent and state.
func TestControlListsApplications(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, WithDirectory(testDirectory()))
	r := ts.control(t, http.MethodGet, "/_mock/applications", nil)
	if r.Status != 200 {
		t.Fatalf("list: %d %s", r.Status, r.Raw)
	}
	if strings.Contains(string(r.Raw), confidentialPW) || strings.Contains(string(r.Raw), "PRIVATE KEY") {
		t.Fatalf("the listing exposes a credential: %s", r.Raw)
	}
	apps, _ := r.JSON["applications"].([]any)
	if len(apps) != 5 {
		t.Fatalf("applications = %s", r.Raw)
	}
	vb := apps[1].(map[string]any)
	creds := vb["credentials"].([]any)
	cred := creds[0].(map[string]any)
	c := DefaultAppCertificate().Credential()
	if vb["app_id"] != DefaultApplicationID || vb["tenant"] != DefaultTenant || vb["consent"] != ConsentGranted || vb["enabled"] != true ||
		vb["public_client"] != true || len(creds) != 1 {
		t.Errorf("default application = %v", vb)
	}
	if cred["key_id"] != DefaultApplicationKeyID || cred["type"] != CredentialCertificate || cred["thumbprint"] != c.thumbprintHex() ||
		cred["x5t"] != x5t(DefaultAppCertificate()) || cred["start"] != "2025-01-01T00:00:00Z" || cred["end"] != "2035-01-01T00:00:00Z" ||
		cred["state"] != CredentialValid || cred["subject"] != "CN="+DefaultApplicationName {
		t.Errorf("certificate credential = %v", cred)
	}
	perms := vb["permissions"].(map[string]any)
	if len(perms["graph"].([]any)) != 14 || len(perms["exchange"].([]any)) != 2 || len(perms["sharepoint"].([]any)) != 2 {
		t.Errorf("permissions = %v", perms)
	}
	secretCred := apps[3].(map[string]any)["credentials"].([]any)[0].(map[string]any)
	if secretCred["type"] != CredentialSecret || secretCred["key_id"] != secretKeyID(confidentialID) || secretCred["state"] != CredentialValid || secretCred["end"] != nil {
		t.Errorf("secret credential = %v", secretCred)
	}
	one := ts.control(t, http.MethodGet, "/_mock/applications/"+strings.ToUpper(DefaultApplicationID), nil)
	if one.Status != 200 || one.str("app_id") != DefaultApplicationID {
		t.Errorf("get one: %d %s", one.Status, one.Raw)
	}
}

// An application added through the control API, with a certificate (PEM) and a
// secret, gets app-only tokens with both; the answer never shows the secret.
func TestControlAddsApplication(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ac, err := GenerateAppCertificate("Contoso Backup", ts.Clock.Now().Add(-time.Hour), ts.Clock.Now().Add(365*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	body := map[string]any{
		"display_name": "Contoso Backup", "tenant": DefaultTenant,
		"permissions":   map[string]any{"graph": []string{"Sites.Read.All"}, "sharepoint": []string{"Sites.FullControl.All"}},
		"certificates":  []map[string]any{{"pem": string(ac.CertPEM())}},
		"client_secret": "added-secret-value",
	}
	r := ts.control(t, http.MethodPost, "/_mock/applications", body)
	if r.Status != http.StatusCreated || !isGUID(r.str("app_id")) {
		t.Fatalf("add: %d %s", r.Status, r.Raw)
	}
	appID := r.str("app_id")
	if strings.Contains(string(r.Raw), "added-secret-value") {
		t.Errorf("the answer shows the secret: %s", r.Raw)
	}
	if e := ts.requests("/_mock/"); len(e) != 0 {
		t.Errorf("control requests are not journaled, got %+v", e)
	}

	cl := ts.assertionClaims(ts.Clock.Now())
	cl["iss"], cl["sub"] = appID, appID
	a := signAssertion(t, jwt.SigningMethodRS256, map[string]any{"x5t": x5t(ac)}, cl, ac.Key)
	f := ccForm(appID, a)
	f.Set("scope", "https://abc.sharepoint.com/.default")
	tok := ts.post(t, tokenPath, f)
	if tok.Status != 200 {
		t.Fatalf("certificate token: %d %s", tok.Status, tok.Raw)
	}
	if roles := stringsOf(ts.verify(t, tok.str("access_token"))["roles"]); len(roles) != 1 || roles[0] != "Sites.FullControl.All" {
		t.Errorf("roles = %v", roles)
	}
	sec := ts.post(t, tokenPath, url.Values{"grant_type": {grantClientCreds}, "client_id": {appID}, "client_secret": {"added-secret-value"}, "scope": {GraphResource + "/.default"}})
	if sec.Status != 200 || ts.verify(t, sec.str("access_token"))["appidacr"] != "1" {
		t.Fatalf("secret token: %d %s", sec.Status, sec.Raw)
	}

	for _, c := range []struct {
		name   string
		body   any
		status int
		want   string
	}{
		{"a taken id is 409", map[string]any{"app_id": appID, "display_name": "x", "client_secret": "s"}, 409, "already exists"},
		{"a missing display name is 400", map[string]any{"client_secret": "s"}, 400, "no display_name"},
		{"an unknown tenant is 400", map[string]any{"display_name": "x", "client_secret": "s", "tenant": "nope.onmicrosoft.com"}, 400, "not a tenant of the directory"},
		{"a confidential app without credential is 400", map[string]any{"display_name": "x"}, 400, "has no credential"},
		{"a bad certificate is 400", map[string]any{"display_name": "x", "certificates": []map[string]any{{"pem": "x"}}}, 400, "no PEM CERTIFICATE block"},
		{"an unknown field is 400", map[string]any{"display_name": "x", "roles": []string{"a"}}, 400, "unknown field"},
	} {
		if r := ts.control(t, http.MethodPost, "/_mock/applications", c.body); r.Status != c.status || !strings.Contains(r.str("error"), c.want) {
			t.Errorf("%s: got %d %s", c.name, r.Status, r.Raw)
		}
	}
}

// Credentials through the control API: add a certificate, expire it (AADSTS1000502),
// renew it, remove it (AADSTS700027); expire a secret (AADSTS7000222). Unknown
// applications and key ids are 404.
func TestControlManagesCredentials(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, WithDirectory(testDirectory()))
	base := "/_mock/applications/" + DefaultApplicationID
	good := DefaultAppCertificate()
	token := func() reply {
		a := signAssertion(t, jwt.SigningMethodRS256, map[string]any{"x5t": x5t(good)}, ts.assertionClaims(ts.Clock.Now()), good.Key)
		return ts.post(t, tokenPath, ccForm(DefaultApplicationID, a), "client-request-id", correlation)
	}
	if r := token(); r.Status != 200 {
		t.Fatalf("token: %d %s", r.Status, r.Raw)
	}

	r := ts.control(t, http.MethodPost, base+"/credentials/expire", map[string]string{"key_id": DefaultApplicationKeyID})
	if r.Status != 200 || !strings.Contains(string(r.Raw), `"state":"expired"`) {
		t.Fatalf("expire: %d %s", r.Status, r.Raw)
	}
	checkEntraError(t, ts, token(), 401, "invalid_client", 1000502, "")

	r = ts.control(t, http.MethodPost, base+"/credentials/renew", map[string]string{"for": "8760h"})
	if r.Status != 200 || !strings.Contains(string(r.Raw), `"end":"2027-01-05T09:00:00Z"`) {
		t.Fatalf("renew: %d %s", r.Status, r.Raw)
	}
	if r := token(); r.Status != 200 {
		t.Fatalf("token after renewal: %d %s", r.Status, r.Raw)
	}

	other := otherAppCertificate()
	r = ts.control(t, http.MethodPost, base+"/certificates", map[string]string{"pem": string(other.CertPEM()), "end": "2026-02-01T00:00:00Z"})
	if r.Status != http.StatusCreated || r.str("state") != CredentialValid || r.str("end") != "2026-02-01T00:00:00Z" || !isGUID(r.str("key_id")) {
		t.Fatalf("add certificate: %d %s", r.Status, r.Raw)
	}
	added := r.str("key_id")
	if r := ts.control(t, http.MethodPost, base+"/certificates", map[string]string{"pem": string(other.CertPEM())}); r.Status != 400 || !strings.Contains(r.str("error"), "registered twice") {
		t.Errorf("the same certificate twice: %d %s", r.Status, r.Raw)
	}

	if r := ts.control(t, http.MethodDelete, base+"/credentials/"+DefaultApplicationKeyID, nil); r.Status != 200 || strings.Contains(string(r.Raw), DefaultApplicationKeyID) {
		t.Fatalf("remove: %d %s", r.Status, r.Raw)
	}
	checkEntraError(t, ts, token(), 401, "invalid_client", 700027, "")
	info, _ := ts.Application(DefaultApplicationID)
	if len(info.Credentials) != 1 || info.Credentials[0].KeyID != added {
		t.Errorf("credentials after removal = %+v", info.Credentials)
	}

	// The secret of a confidential app expires through the same route.
	secretForm := url.Values{"grant_type": {grantClientCreds}, "client_id": {confidentialID}, "client_secret": {confidentialPW}, "scope": {GraphResource + "/.default"}}
	if r := ts.control(t, http.MethodPost, "/_mock/applications/"+confidentialID+"/credentials/expire", nil); r.Status != 200 {
		t.Fatalf("expire secret: %d %s", r.Status, r.Raw)
	}
	checkEntraError(t, ts, ts.post(t, tokenPath, secretForm, "client-request-id", correlation), 401, "invalid_client", 7000222, "")

	for _, c := range []struct {
		method, path string
		body         any
		status       int
	}{
		{http.MethodPost, "/_mock/applications/11111111-0000-4000-8000-000000000000/credentials/expire", nil, 404},
		{http.MethodGet, "/_mock/applications/nope", nil, 404},
		{http.MethodDelete, base + "/credentials/11111111-0000-4000-8000-000000000000", nil, 404},
		{http.MethodPost, base + "/credentials/expire", map[string]string{"key_id": "11111111-0000-4000-8000-000000000000"}, 404},
		{http.MethodPost, base + "/credentials/renew", map[string]string{}, 400},
		{http.MethodPost, base + "/credentials/renew", map[string]string{"for": "-1h"}, 400},
		{http.MethodPost, base + "/credentials/renew", map[string]string{"for": "1h", "end": "2027-01-01T00:00:00Z"}, 400},
		{http.MethodPost, base + "/certificates", map[string]string{"pem": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}, 400},
		{http.MethodPost, base + "/no/such/route", nil, 404},
	} {
		if r := ts.control(t, c.method, c.path, c.body); r.Status != c.status || r.str("error") == "" {
			t.Errorf("%s %s: %d %s, want %d with an error", c.method, c.path, r.Status, r.Raw, c.status)
		}
	}
	if r := ts.control(t, http.MethodPut, "/_mock/applications", nil); r.Status != 405 || r.Header.Get("Allow") != "GET, POST" {
		t.Errorf("PUT /_mock/applications: %d Allow %q", r.Status, r.Header.Get("Allow"))
	}
	if r := ts.control(t, http.MethodGet, base+"/credentials/expire", nil); r.Status != 405 || r.Header.Get("Allow") != "POST" {
		t.Errorf("GET expire: %d Allow %q", r.Status, r.Header.Get("Allow"))
	}

	// Reset restores the applications the server started with.
	if r := ts.control(t, http.MethodPost, "/_mock/reset", nil); r.Status != 200 {
		t.Fatalf("reset: %d %s", r.Status, r.Raw)
	}
	if r := token(); r.Status != 200 {
		t.Errorf("token after reset: %d %s", r.Status, r.Raw)
	}
}

// Moving the clock past a certificate's end (its notAfter, or the end it was given)
// expires it; disable and enable switch AADSTS7000112.
func TestApplicationCredentialExpiresOnTheClock(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	now := ts.Clock.Now()
	ac, err := GenerateAppCertificate("short-lived", now.Add(-time.Hour), now.Add(30*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	info, err := ts.RegisterApplication(App{
		DisplayName: "Nightly backup", Tenant: DefaultTenant,
		Certificates: []Certificate{ac.Credential()}, Permissions: VB365ApplicationPermissions(),
	})
	if err != nil {
		t.Fatal(err)
	}
	token := func() reply {
		cl := ts.assertionClaims(ts.Clock.Now())
		cl["iss"], cl["sub"] = info.AppID, info.AppID
		a := signAssertion(t, jwt.SigningMethodPS256, map[string]any{"x5t#S256": x5tS256Std(ac)}, cl, ac.Key)
		return ts.post(t, tokenPath, ccForm(info.AppID, a), "client-request-id", correlation)
	}
	if r := token(); r.Status != 200 {
		t.Fatalf("day 0: %d %s", r.Status, r.Raw)
	}
	ts.Clock.Advance(29 * 24 * time.Hour)
	if r := token(); r.Status != 200 {
		t.Fatalf("day 29: %d %s", r.Status, r.Raw)
	}
	ts.Clock.Advance(24 * time.Hour)
	checkEntraError(t, ts, token(), 401, "invalid_client", 1000502, "")
	if got, _ := ts.Application(info.AppID); got.Credentials[0].State != CredentialExpired {
		t.Errorf("state = %s", got.Credentials[0].State)
	}
	if _, err := ts.RenewCredentials(info.AppID, "", ts.Clock.Now().Add(365*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if r := token(); r.Status != 200 {
		t.Fatalf("after renewal: %d %s", r.Status, r.Raw)
	}

	if r := ts.control(t, http.MethodPost, "/_mock/applications/"+info.AppID+"/disable", nil); r.Status != 200 || r.JSON["enabled"] != false {
		t.Fatalf("disable: %d %s", r.Status, r.Raw)
	}
	checkEntraError(t, ts, token(), 400, "unauthorized_client", 7000112, "")
	if r := ts.control(t, http.MethodPost, "/_mock/applications/"+info.AppID+"/enable", nil); r.Status != 200 || r.JSON["enabled"] != true {
		t.Fatalf("enable: %d %s", r.Status, r.Raw)
	}
	if r := token(); r.Status != 200 {
		t.Errorf("after enable: %d %s", r.Status, r.Raw)
	}
}

// The Go API's errors wrap the sentinels the control API maps.
func TestApplicationAPIErrors(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	if _, err := ts.Application("nope"); !errors.Is(err, ErrUnknownApplication) {
		t.Errorf("Application: %v", err)
	}
	if _, err := ts.ExpireCredentials(AzureCLIClientID, ""); !errors.Is(err, ErrUnknownCredential) {
		t.Errorf("ExpireCredentials of an app without credentials: %v", err)
	}
	if _, err := ts.RegisterApplication(App{ClientID: DefaultApplicationID, DisplayName: "x", ClientSecret: "s"}); !errors.Is(err, ErrApplicationExists) {
		t.Errorf("RegisterApplication with a taken id: %v", err)
	}
	if _, err := ts.RegisterApplication(App{DisplayName: "x", Certificates: []Certificate{{}}}); !errors.Is(err, ErrInvalidApplication) {
		t.Errorf("RegisterApplication with an empty certificate: %v", err)
	}
	if _, err := ts.RenewCredentials(DefaultApplicationID, "", time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)); !errors.Is(err, ErrInvalidApplication) {
		t.Errorf("RenewCredentials to before the start: %v", err)
	}
	if err := ts.RemoveCredential(DefaultApplicationID, "x"); !errors.Is(err, ErrUnknownCredential) {
		t.Errorf("RemoveCredential: %v", err)
	}
	// A failed change leaves the directory as it was.
	if info, _ := ts.Application(DefaultApplicationID); info.Credentials[0].End != "2035-01-01T00:00:00Z" {
		t.Errorf("a refused renewal changed the credential: %+v", info.Credentials[0])
	}
}
