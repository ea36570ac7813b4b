package veeam

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/mocks/entra"
	"github.com/vbharness/vbharness/mocks/inproc"
	"github.com/vbharness/vbharness/mocks/journal"
	"software.sslmate.com/src/go-pkcs12"
)

// testApps is mocks/stack's adapter (apps.go) again: a test of package veeam cannot
// import mocks/stack, which imports it.
type testApps struct{ e *entra.Server }

func (a testApps) cert(name string, c *x509.Certificate) (*x509.Certificate, error) {
	if c != nil {
		return c, nil
	}
	now := a.e.Clock().Now()
	ac, err := entra.GenerateAppCertificate(name, now, now.Add(365*24*time.Hour))
	return ac.Cert, err
}

func (a testApps) RegisterApplication(tenant, name string, c *x509.Certificate) (string, *x509.Certificate, error) {
	c, err := a.cert(name, c)
	if err != nil {
		return "", nil, err
	}
	info, err := a.e.RegisterApplication(entra.App{DisplayName: name, Tenant: tenant, PublicClient: true,
		Certificates: []entra.Certificate{{Cert: c}}, Permissions: entra.VB365ApplicationPermissions()})
	return info.AppID, c, err
}

func (a testApps) ConfigureApplication(tenant, appID string, c *x509.Certificate) (*x509.Certificate, error) {
	c, err := a.cert("configured", c)
	if err != nil {
		return nil, err
	}
	_, err = a.e.ConfigureApplication(tenant, appID, entra.Certificate{Cert: c}, entra.VB365ApplicationPermissions())
	if errors.Is(err, entra.ErrUnknownApplication) {
		err = fmt.Errorf("%w: %w", ErrNoApplication, err)
	}
	return c, err
}

// The second tenant of the tests' Entra directory: an organization the Veeam mock's
// world does not hold yet, with its Global Administrator.
const (
	contoso      = "contoso.onmicrosoft.com"
	contosoID    = "2c1d9b7e-8f3a-4e21-b5c6-0a9d8e7f6b5c"
	contosoAdmin = "megan@contoso.onmicrosoft.com"
)

// testDirectory is the default directory plus contoso, whose users are its Global
// Administrator and Adele, who is not one.
func testDirectory() entra.Directory {
	dir := entra.DefaultDirectory()
	dir.Tenants = append(dir.Tenants, entra.Tenant{Domain: contoso, ID: contosoID, Users: []entra.User{
		{UPN: contosoAdmin, ObjectID: "1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b", DisplayName: "Megan Bowen", Roles: []string{"Global Administrator"}},
		{UPN: "adele@contoso.onmicrosoft.com", ObjectID: "3b4c5d6e-7f80-4912-8a3b-4c5d6e7f8091", DisplayName: "Adele Vance"},
	}})
	return dir
}

// withEntra are the options that connect a server to a fresh Entra mock on clk through
// an in-memory transport, as an in-process stack does; the Entra mock is returned.
func withEntra(clk clock.Clock, opts ...entra.Option) ([]Option, *entra.Server) {
	e := entra.New(clk, append([]entra.Option{entra.WithBaseURL("https://login.mock"), entra.WithDirectory(testDirectory())}, opts...)...)
	tr := inproc.New()
	tr.Handle("login.mock", e)
	return []Option{WithAuthority("https://login.mock"), WithHTTPClient(&http.Client{Transport: tr}), WithEntraApplications(testApps{e})}, e
}

// walkEntras is each walker's Entra mock, by its server.
var walkEntras sync.Map

// newWalkServer is a walker's server, connected to an Entra mock of its own (walkEntras).
func newWalkServer(clk clock.Clock) *Server {
	opts, e := withEntra(clk)
	s := New(clk, opts...)
	walkEntras.Store(s, e)
	return s
}

func init() {
	// The device-code operations' walk bodies: codes the walker's Entra mock knows.
	semanticBodies["Organization_OrganizationDeviceCode"] = func(*walker, *route) string { return `{"targetRegion":"Worldwide"}` }
	semanticBodies["AzureServiceAccounts_GetDeviceCode"] = func(*walker, *route) string {
		return `{"azureTenantId":"` + entra.DefaultTenantID + `"}`
	}
	semanticBodies["RestoreSession_DeviceCodeAction"] = func(*walker, *route) string { return `{"targetRegion":"Worldwide"}` }
	semanticBodies["Organization_CheckDeviceCode"] = func(w *walker, _ *route) string {
		return `{"userCode":"` + w.deviceCode(false) + `"}`
	}
	semanticBodies["Organization_Add"] = func(w *walker, _ *route) string {
		return `{"type":"Office365","region":"Worldwide","isExchangeOnline":true,"isSharePointOnline":true,"userCode":"` + w.deviceCode(true) +
			`","newApplicationName":"walk app","exchangeOnlineSettings":{"useApplicationOnlyAuth":true},"sharePointOnlineSettings":{"useApplicationOnlyAuth":true}}`
	}
}

// deviceCode gets a device code from the walker's server, approved by the default
// administrator if asked.
func (w *walker) deviceCode(approve bool) string {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "https://127.0.0.1:4443/v8/DeviceCode", strings.NewReader(`{}`))
	req.Header.Set("Content-Type", jsonType)
	req.Header.Set("Authorization", "Bearer "+w.tok[admins])
	w.srv.ServeHTTP(rec, req)
	var dc deviceCodeResponse
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &dc) != nil {
		w.t.Fatalf("walk: POST /v8/DeviceCode: %d %s", rec.Code, rec.Body)
	}
	if approve {
		e, _ := walkEntras.Load(w.srv)
		if _, err := e.(*entra.Server).Approve(dc.UserCode, contosoAdmin); err != nil {
			w.t.Fatal(err)
		}
	}
	return dc.UserCode
}

// signedInCode puts in a restore action's generated body (its userCode names no
// sign-in) a user code the walker's server issued for the restore session sid and the
// organization's default user signed in with, so every restore operation that takes a
// userCode is walked with one it accepts. Other bodies are returned as they are.
func (w *walker) signedInCode(sid, body string) string {
	o, err := parseObject([]byte(body))
	if err != nil || o.get("userCode") == nil {
		return body
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "https://127.0.0.1:4443/v8/RestoreSessions/"+sid+"/organization/restoreDeviceCode", strings.NewReader(`{}`))
	req.Header.Set("Content-Type", jsonType)
	req.Header.Set("Authorization", "Bearer "+w.tok[admins])
	w.srv.ServeHTTP(rec, req)
	var dc deviceCodeResponse
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &dc) != nil {
		w.t.Fatalf("walk: restoreDeviceCode of %s: %d %s", sid, rec.Code, rec.Body)
	}
	e, _ := walkEntras.Load(w.srv)
	if _, err := e.(*entra.Server).Approve(dc.UserCode, ""); err != nil {
		w.t.Fatal(err)
	}
	o.setValue("userCode", dc.UserCode)
	return string(o.bytes())
}

// dcServer is a Veeam mock connected to an Entra mock, on a virtual clock.
type dcServer struct {
	t     *testing.T
	clk   *clock.Virtual
	veeam *Server
	entra *entra.Server
	tok   string
}

func newDCServer(t *testing.T, opts ...entra.Option) *dcServer {
	t.Helper()
	clk := clock.NewVirtual(clock.DefaultStart)
	vopts, e := withEntra(clk, opts...)
	d := &dcServer{t: t, clk: clk, entra: e, veeam: New(clk, vopts...)}
	st, body := d.call(http.MethodPost, "/v8/token", "grant_type=password&username=Administrator&password="+DefaultAdminPassword+"&disable_antiforgery_token=true")
	d.tok, _ = body["access_token"].(string)
	if st != http.StatusOK || d.tok == "" {
		t.Fatalf("login: %d %v", st, body)
	}
	return d
}

// call sends a request (a JSON body, or a form for /v8/token) and checks the answer
// against the document.
func (d *dcServer) call(method, path, body string) (int, map[string]any) {
	d.t.Helper()
	req := httptest.NewRequest(method, "https://127.0.0.1:4443"+path, strings.NewReader(body))
	req.RemoteAddr = "127.0.0.1:50000"
	ctype := jsonType
	if path == "/v8/token" {
		ctype = formType
	} else {
		req.Header.Set("Authorization", "Bearer "+d.tok)
	}
	if body != "" {
		req.Header.Set("Content-Type", ctype)
	}
	rec := httptest.NewRecorder()
	d.veeam.ServeHTTP(rec, req)
	if ok, err := validateResponse(d.t, d.veeam, method, path, ctype, body, rec); err != nil || !ok {
		d.t.Errorf("%s %s: %d %s does not validate against the document: %v", method, path, rec.Code, rec.Body, err)
	}
	var m map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &m)
	return rec.Code, m
}

// deviceCode asks the Veeam mock for a device code.
func (d *dcServer) deviceCode() string {
	d.t.Helper()
	st, dc := d.call(http.MethodPost, "/v8/DeviceCode", `{"targetRegion":"Worldwide"}`)
	code, _ := dc["userCode"].(string)
	if st != http.StatusOK || code == "" {
		d.t.Fatalf("POST /v8/DeviceCode: %d %v", st, dc)
	}
	return code
}

func (d *dcServer) check(code string) (int, map[string]any) {
	return d.call(http.MethodPost, "/v8/DeviceCode/check", `{"userCode":"`+code+`"}`)
}

const newAppBody = `{"type":"Office365","region":"Worldwide","isExchangeOnline":true,"isSharePointOnline":true,"userCode":"%s","newApplicationName":"VB365 app",` +
	`"exchangeOnlineSettings":{"useApplicationOnlyAuth":true},"sharePointOnlineSettings":{"useApplicationOnlyAuth":true}}`

// The Veeam mock's device code is the Entra mock's: the user code it answers is the one
// Entra issued (the device code stays on the server), DeviceCode/check follows Entra's
// state of it (pending, then approved), and an organization added with it and
// newApplicationName is listed with an application the Entra directory now holds, with
// its certificate and VB365's permissions. Entra's journal has the server's device
// code request and token polls, redacted.
func TestAddOrganizationWithNewApplication(t *testing.T) {
	t.Parallel()
	d := newDCServer(t)
	st, dc := d.call(http.MethodPost, "/v8/DeviceCode", `{}`)
	code, _ := dc["userCode"].(string)
	if st != http.StatusOK || dc["verificationUrl"] != "https://login.mock/devicelogin" || dc["expiresIn"] != float64(900) ||
		!strings.Contains(dc["message"].(string), code) || dc["deviceCode"] != nil {
		t.Fatalf("POST /v8/DeviceCode: %d %v", st, dc)
	}
	codes := d.entra.DeviceCodes()
	if len(codes) != 1 || codes[0].UserCode != code || codes[0].ClientID != DefaultDeviceCodeClientID {
		t.Fatalf("Entra's device codes: %+v, want the one the Veeam mock answered, for %s", codes, DefaultDeviceCodeClientID)
	}
	if st, b := d.check(code); st != http.StatusOK || b["authenticated"] != false {
		t.Fatalf("check while pending: %d %v", st, b)
	}
	if _, err := d.entra.Approve(code, contosoAdmin); err != nil {
		t.Fatal(err)
	}
	d.clk.Advance(5 * time.Second)
	if st, b := d.check(code); st != http.StatusOK || b["authenticated"] != true {
		t.Fatalf("check once approved: %d %v", st, b)
	}
	if st, b := d.check(strings.ToLower(code)); st != http.StatusOK || b["authenticated"] != true {
		t.Errorf("check again, in lower case: %d %v", st, b)
	}

	st, org := d.call(http.MethodPost, "/v8/Organizations", fmt.Sprintf(newAppBody, code))
	if st != http.StatusCreated {
		t.Fatalf("POST /v8/Organizations: %d %v", st, org)
	}
	exo, _ := org["exchangeOnlineSettings"].(map[string]any)
	appID, _ := exo["applicationId"].(string)
	if org["name"] != contoso || org["msid"] != contosoID || appID == "" || exo["useApplicationOnlyAuth"] != true ||
		org["userCode"] != nil || exo["applicationCertificate"] != nil || len(exo["applicationCertificateThumbprint"].(string)) != 40 {
		t.Fatalf("the organization: %v", org)
	}
	app, err := d.entra.Application(appID)
	if err != nil {
		t.Fatalf("the application %s is not in the Entra directory: %v", appID, err)
	}
	if app.DisplayName != "VB365 app" || app.Tenant != contoso || len(app.Credentials) != 1 ||
		app.Credentials[0].Thumbprint != exo["applicationCertificateThumbprint"] || app.Consent != entra.ConsentGranted ||
		!slices.Contains(app.Permissions.Exchange, "full_access_as_app") || !slices.Contains(app.Permissions.SharePoint, "Sites.FullControl.All") ||
		!slices.Contains(app.Permissions.Graph, "Directory.Read.All") {
		t.Errorf("the registered application: %+v", app)
	}
	_, list := d.call(http.MethodGet, "/v8/Organizations?limit=100", "")
	found := false
	for _, o := range list["results"].([]any) {
		o := o.(map[string]any)
		if s, _ := o["exchangeOnlineSettings"].(map[string]any); s != nil && s["applicationId"] == appID {
			found = o["name"] == contoso
		}
	}
	if !found {
		t.Errorf("GET /v8/Organizations does not list the organization with application %s: %v", appID, list)
	}
	again := d.deviceCode()
	if _, err := d.entra.Approve(again, contosoAdmin); err != nil {
		t.Fatal(err)
	}
	if st, b := d.call(http.MethodPost, "/v8/Organizations", fmt.Sprintf(newAppBody, again)); st != http.StatusBadRequest ||
		b["errorCode"] != "OperationConflict" || !strings.Contains(b["message"].(string), "is already added") {
		t.Errorf("the same tenant again: %d %v, want 400 OperationConflict", st, b)
	}
	if st, b := d.check(code); st != http.StatusBadRequest {
		t.Errorf("the user code after it added an organization: %d %v, want 400 (one sign-in, one organization)", st, b)
	}

	var paths []string
	for _, e := range d.entra.Control().Journal().List(journal.Filter{}) {
		paths = append(paths, e.Method+" "+e.Path+" "+e.Fields["client_id"]+" "+fmt.Sprint(e.Status))
		for k, v := range e.Fields {
			if (k == "device_code" || k == "user_code") && !strings.Contains(v, "redacted") {
				t.Errorf("the Entra journal holds %s unredacted: %q", k, v)
			}
		}
	}
	want := []string{
		"POST /organizations/oauth2/v2.0/devicecode " + DefaultDeviceCodeClientID + " 200",
		"POST /organizations/oauth2/v2.0/token " + DefaultDeviceCodeClientID + " 400",
		"POST /organizations/oauth2/v2.0/token " + DefaultDeviceCodeClientID + " 200",
		"POST /organizations/oauth2/v2.0/devicecode " + DefaultDeviceCodeClientID + " 200", // the same tenant again
		"POST /organizations/oauth2/v2.0/token " + DefaultDeviceCodeClientID + " 200",
	}
	if !slices.Equal(paths, want) {
		t.Errorf("the Entra journal:\n%s\nwant\n%s", strings.Join(paths, "\n"), strings.Join(want, "\n"))
	}
}

// A sign-in that is not an administrator's, not complete, declined or expired, and a
// code the server never issued, each get 400 RESTExceptionInfo, and no organization or
// application is added.
func TestAddOrganizationRefusals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		setup func(d *dcServer) string // returns the user code to add with
		want  string
	}{
		{"a code the server never issued", func(*dcServer) string { return "NOTACODE1" }, `The device code "NOTACODE1" is unknown`},
		{"a sign-in not yet completed", func(d *dcServer) string { return d.deviceCode() }, "is not complete: open https://login.mock/devicelogin"},
		{"a sign-in by a user who is not a Global Administrator", func(d *dcServer) string {
			c := d.deviceCode()
			if _, err := d.entra.Approve(c, "adele@contoso.onmicrosoft.com"); err != nil {
				d.t.Fatal(err)
			}
			return c
		}, "The account adele@contoso.onmicrosoft.com that signed in with the device code"},
		{"a declined sign-in", func(d *dcServer) string {
			c := d.deviceCode()
			if _, err := d.entra.Deny(c); err != nil {
				d.t.Fatal(err)
			}
			return c
		}, "was declined. Microsoft Entra ID: AADSTS65004"},
		{"an expired code", func(d *dcServer) string {
			c := d.deviceCode()
			d.clk.Advance(16 * time.Minute)
			return c
		}, "has expired: request a new one. Microsoft Entra ID: AADSTS70020"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := newDCServer(t)
			apps := len(d.entra.Applications())
			_, before := d.call(http.MethodGet, "/v8/Organizations", "")
			code := tc.setup(d)
			st, b := d.call(http.MethodPost, "/v8/Organizations", fmt.Sprintf(newAppBody, code))
			msg, _ := b["message"].(string)
			if st != http.StatusBadRequest || b["errorCode"] != "ParameterValidationFailure" || !strings.Contains(msg, tc.want) {
				t.Errorf("POST /v8/Organizations: %d %v, want 400 saying %q", st, b, tc.want)
			}
			_, after := d.call(http.MethodGet, "/v8/Organizations", "")
			if len(after["results"].([]any)) != len(before["results"].([]any)) || len(d.entra.Applications()) != apps {
				t.Errorf("a refused add changed the organizations or the applications")
			}
		})
	}
}

// DeviceCode/check answers false while Entra says pending, true once approved, and the
// expired or declined code's error in Veeam's shape; it never polls Entra faster than
// Entra's interval.
func TestCheckDeviceCodeFollowsEntra(t *testing.T) {
	t.Parallel()
	d := newDCServer(t)
	code := d.deviceCode()
	for range 3 {
		if st, b := d.check(code); st != http.StatusOK || b["authenticated"] != false {
			t.Fatalf("check while pending: %d %v", st, b)
		}
	}
	polls := len(d.entra.Control().Journal().List(journal.Filter{Path: "/organizations/oauth2/v2.0/token"}))
	if polls != 1 {
		t.Errorf("three checks within Entra's interval polled Entra %d times, want 1", polls)
	}
	if _, err := d.entra.Approve(code, ""); err != nil {
		t.Fatal(err)
	}
	if _, b := d.check(code); b["authenticated"] != false {
		t.Errorf("a check within the interval after approval: %v, want the last answer (false)", b)
	}
	d.clk.Advance(5 * time.Second)
	if _, b := d.check(code); b["authenticated"] != true {
		t.Errorf("a check after the interval: %v, want true", b)
	}

	declined := d.deviceCode()
	if _, err := d.entra.Deny(declined); err != nil {
		t.Fatal(err)
	}
	if st, b := d.check(declined); st != http.StatusBadRequest || !strings.Contains(b["message"].(string), "declined") {
		t.Errorf("check of a declined code: %d %v", st, b)
	}
	expired := d.deviceCode()
	d.clk.Advance(16 * time.Minute)
	if st, b := d.check(expired); st != http.StatusBadRequest || !strings.Contains(b["message"].(string), "expired") {
		t.Errorf("check of an expired code: %d %v", st, b)
	}
}

// An existing application: with configureApplication and a sign-in, the server
// registers the given certificate on it and grants VB365's permissions; without a
// sign-in (a prepared application), it takes applicationId and the certificate as they
// are. An application the tenant does not have is refused.
func TestAddOrganizationWithExistingApplication(t *testing.T) {
	t.Parallel()
	d := newDCServer(t)
	info, err := d.entra.RegisterApplication(entra.App{DisplayName: "prepared", Tenant: contoso, PublicClient: true})
	if err != nil {
		t.Fatal(err)
	}
	now := d.clk.Now()
	ac, err := entra.GenerateAppCertificate("mine", now, now.Add(time.Hour*24*30))
	if err != nil {
		t.Fatal(err)
	}
	certB64 := base64.StdEncoding.EncodeToString(ac.Cert.Raw)
	pemB64 := base64.StdEncoding.EncodeToString(append(ac.CertPEM(), ac.KeyPEM()...))

	notFound := d.deviceCode() // for an application the tenant does not have, below
	if _, err := d.entra.Approve(notFound, contosoAdmin); err != nil {
		t.Fatal(err)
	}
	st, b := d.call(http.MethodPost, "/v8/Organizations", `{"type":"Office365","userCode":"`+notFound+`","configureApplication":true,`+
		`"exchangeOnlineSettings":{"useApplicationOnlyAuth":true,"applicationId":"0f0e0d0c-0b0a-4909-8807-060504030201","applicationCertificate":"`+certB64+`"}}`)
	if msg, _ := b["message"].(string); st != http.StatusBadRequest || !strings.Contains(msg, "The Microsoft Entra application 0f0e0d0c-0b0a-4909-8807-060504030201 was not found") {
		t.Errorf("an application the tenant does not have: %d %v", st, b)
	}

	code := d.deviceCode()
	if _, err := d.entra.Approve(code, contosoAdmin); err != nil {
		t.Fatal(err)
	}
	st, org := d.call(http.MethodPost, "/v8/Organizations", `{"type":"Office365","isExchangeOnline":true,"userCode":"`+code+`","configureApplication":true,`+
		`"exchangeOnlineSettings":{"useApplicationOnlyAuth":true,"applicationId":"`+info.AppID+`","applicationCertificate":"`+pemB64+`","applicationCertificatePassword":"pfx-pass"}}`)
	exo, _ := org["exchangeOnlineSettings"].(map[string]any)
	if st != http.StatusCreated || exo["applicationId"] != info.AppID || exo["applicationCertificatePassword"] != nil {
		t.Fatalf("configure an existing application: %d %v", st, org)
	}
	app, _ := d.entra.Application(info.AppID)
	if len(app.Credentials) != 1 || app.Credentials[0].Thumbprint != exo["applicationCertificateThumbprint"] || !slices.Contains(app.Permissions.Exchange, "full_access_as_app") {
		t.Errorf("the configured application: %+v", app)
	}

	st, org = d.call(http.MethodPost, "/v8/Organizations", `{"type":"Office365","name":"prepared.onmicrosoft.com","isExchangeOnline":true,`+
		`"exchangeOnlineSettings":{"useApplicationOnlyAuth":true,"account":"admin@prepared.onmicrosoft.com","applicationId":"`+info.AppID+`","applicationCertificate":"`+certB64+`"}}`)
	exo, _ = org["exchangeOnlineSettings"].(map[string]any)
	if st != http.StatusCreated || exo["applicationId"] != info.AppID || org["name"] != "prepared.onmicrosoft.com" || exo["applicationCertificateThumbprint"] != app.Credentials[0].Thumbprint {
		t.Errorf("a prepared application: %d %v", st, org)
	}

	// What a real client sends: the Base64 of a PFX file's bytes and its password
	// (modern-app-only.md §4.3 [C]); it was refused before.
	pfx, err := pkcs12.Modern.Encode(ac.Key, ac.Cert, nil, "pfx-pass")
	if err != nil {
		t.Fatal(err)
	}
	pfxB64 := base64.StdEncoding.EncodeToString(pfx)
	st, org = d.call(http.MethodPost, "/v8/Organizations", `{"type":"Office365","name":"pfx.onmicrosoft.com","isExchangeOnline":true,`+
		`"exchangeOnlineSettings":{"useApplicationOnlyAuth":true,"account":"admin@pfx.onmicrosoft.com","applicationId":"`+info.AppID+`","applicationCertificate":"`+pfxB64+`","applicationCertificatePassword":"pfx-pass"}}`)
	exo, _ = org["exchangeOnlineSettings"].(map[string]any)
	if st != http.StatusCreated || exo["applicationCertificateThumbprint"] != app.Credentials[0].Thumbprint {
		t.Errorf("a PFX file and its password: %d %v", st, org)
	}

	for _, tc := range []struct{ name, body, want string }{
		{"a certificate the server cannot read", `{"type":"Office365","name":"y.onmicrosoft.com",` +
			`"exchangeOnlineSettings":{"useApplicationOnlyAuth":true,"applicationId":"` + info.AppID + `","applicationCertificate":"MIIKpfx="}}`,
			"applicationCertificate is not a certificate the server can read"},
		{"a PFX file with the wrong password", `{"type":"Office365","name":"w.onmicrosoft.com",` +
			`"exchangeOnlineSettings":{"useApplicationOnlyAuth":true,"applicationId":"` + info.AppID + `","applicationCertificate":"` + pfxB64 + `","applicationCertificatePassword":"nope"}}`,
			"The password of the certificate in applicationCertificate is incorrect"},
		{"a new application without a sign-in", `{"type":"Office365","newApplicationName":"n","exchangeOnlineSettings":{"useApplicationOnlyAuth":true}}`,
			"A userCode is required"},
		{"a user code without modern app-only authentication", `{"type":"Office365","name":"z.onmicrosoft.com","userCode":"` + notFound + `"}`,
			"are for modern app-only authentication"},
	} {
		st, b := d.call(http.MethodPost, "/v8/Organizations", tc.body)
		if msg, _ := b["message"].(string); st != http.StatusBadRequest || !strings.Contains(msg, tc.want) {
			t.Errorf("%s: %d %v, want 400 saying %q", tc.name, st, b, tc.want)
		}
	}
}

// The other device-code operations ask the Entra mock too: an organization's at its
// tenant, the Azure service account's in RESTDeviceCodeInfo's shape, and a restore
// session's for the organization's application.
func TestOtherDeviceCodeOperations(t *testing.T) {
	t.Parallel()
	d := newDCServer(t)
	org := DefaultFixtures().Organizations[0]
	st, dc := d.call(http.MethodPost, "/v8/Organizations/"+org.ID+"/DeviceCode", "")
	if st != http.StatusOK || dc["userCode"] == nil {
		t.Fatalf("organization device code: %d %v", st, dc)
	}
	st, az := d.call(http.MethodPost, "/v8/AzureServiceAccounts/DeviceCode", `{"azureTenantId":"`+entra.DefaultTenantID+`"}`)
	if st != http.StatusOK || az["verificationUri"] != "https://login.mock/devicelogin" || az["expiresOnUtc"] != d.clk.Now().Add(15*time.Minute).UTC().Format(netTime) {
		t.Fatalf("Azure device code: %d %v", st, az)
	}
	st, rs := d.call(http.MethodPost, "/v8/Organizations/"+org.ID+"/explore", `{"type":"Vex"}`)
	if st != http.StatusCreated {
		t.Fatalf("explore: %d %v", st, rs)
	}
	st, rdc := d.call(http.MethodPost, "/v8/RestoreSessions/"+rs["id"].(string)+"/organization/restoreDeviceCode", `{}`)
	if st != http.StatusOK {
		t.Fatalf("restore device code: %d %v", st, rdc)
	}
	byCode := map[string]entra.DeviceCodeInfo{}
	for _, c := range d.entra.DeviceCodes() {
		byCode[c.UserCode] = c
	}
	if c := byCode[dc["userCode"].(string)]; c.ClientID != DefaultDeviceCodeClientID || c.Tenant != entra.DefaultTenant {
		t.Errorf("the organization's code at Entra: %+v", c)
	}
	if c := byCode[rdc["userCode"].(string)]; c.ClientID != org.ApplicationID {
		t.Errorf("the restore code at Entra: %+v, want client %s (the organization's application)", c, org.ApplicationID)
	}
	if st, b := d.call(http.MethodPost, "/v8/DeviceCode", `{"targetRegion":"Germany"}`); st != http.StatusBadRequest || !strings.Contains(b["message"].(string), "closed") {
		t.Errorf("Germany: %d %v", st, b)
	}
}
