package entra

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/vbharness/vbharness/mocks/clock"
)

// FuzzConfigFile feeds LoadConfig arbitrary YAML and JSON directories: it returns a
// config or a *ConfigError (ErrInvalidConfig) naming the file, never panics, and a
// config it accepts makes a server that publishes every tenant's OpenID configuration
// and answers a device-code request in Entra's shape. The committed testdata files are
// the seeds.
func FuzzConfigFile(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*"))
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data, strings.HasSuffix(p, ".json"))
		}
	}
	f.Add([]byte("tenants: []\n"), false)
	f.Add([]byte("lifetimes: {access_token: -1, interval: 99999999999999}\n"), false)
	f.Add([]byte("apps: [{client_id: "+AzureCLIClientID+", public_client: false}]\n"), false)
	f.Add([]byte("a: &a [*a, *a]\ntenants: *a\n"), false)
	f.Add([]byte(`{"tenants":[{"domain":"x.onmicrosoft.com","id":"not-a-guid"}]}`), true)
	f.Add([]byte("\xef\xbb\xbf{}"), true)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, isJSON bool) {
		name := filepath.Join(dir, "directory.yaml")
		if isJSON {
			name = filepath.Join(dir, "directory.json")
		}
		if err := os.WriteFile(name, data, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := LoadConfig(name)
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) || !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), filepath.Base(name)) {
				t.Fatalf("the error is not a ConfigError naming the file: %v", err)
			}
			return
		}
		srv := New(clock.NewVirtual(time.Time{}), WithDirectory(c.Directory), WithLifetimes(c.Lifetimes), WithBaseURL("https://login.mock"))
		for _, tn := range c.Directory.Tenants {
			w := httptest.NewRecorder()
			srv.ServeHTTP(w, httptest.NewRequest("GET", "/"+url.PathEscape(tn.Domain)+"/v2.0/.well-known/openid-configuration", nil))
			if w.Code != http.StatusOK {
				t.Fatalf("openid-configuration of accepted tenant %q: %d %s", tn.Domain, w.Code, w.Body)
			}
		}
		if len(c.Directory.Tenants) > 0 {
			req := httptest.NewRequest("POST", "/"+url.PathEscape(c.Directory.Tenants[0].Domain)+"/oauth2/v2.0/devicecode",
				strings.NewReader(url.Values{"client_id": {AzureCLIClientID}, "scope": {seedScope}}.Encode()))
			req.Header.Set("Content-Type", formContentType)
			w := httptest.NewRecorder()
			srv.ServeHTTP(w, req)
			checkEntraAnswer(t, w)
		}
	})
}

// FuzzDeviceCodeEndpoint feeds POST /{tenant}/oauth2/v2.0/devicecode arbitrary tenants,
// content types and bodies: a 200 device code response or an Entra-shaped 4xx, never a
// panic or a 500.
func FuzzDeviceCodeEndpoint(f *testing.F) {
	srv := New(clock.NewVirtual(time.Time{}), WithDirectory(testDirectory()))
	form := url.Values{"client_id": {AzureCLIClientID}, "scope": {seedScope}}.Encode()
	f.Add(DefaultTenant, formContentType, form)
	f.Add("organizations", formContentType, form)
	f.Add(DefaultTenantID, formContentType+"; charset=utf-8", "client_id="+AzureCLIClientID+"&scope=openid+profile+offline_access")
	f.Add("common", formContentType, "client_id="+AzureCLIClientID+"&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default")
	f.Add(DefaultTenant, formContentType, "client_id=x&client_id=y&scope=User.Read")
	f.Add(DefaultTenant, formContentType, "client_id="+otherPublicID+"&scope=Mail.Read+User.Read")
	f.Add(DefaultTenant, "application/json", `{"client_id":"`+AzureCLIClientID+`"}`)
	f.Add("..%2F..", formContentType, "%zz")
	f.Add("a.b", "", "\xff\xfe")
	f.Fuzz(func(t *testing.T, tenant, contentType, body string) {
		req, err := http.NewRequest("POST", "https://login.mock/"+url.PathEscape(tenant)+"/oauth2/v2.0/devicecode", strings.NewReader(body))
		if err != nil {
			return // not a request a client can send
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		checkEntraAnswer(t, w)
		if w.Code == http.StatusOK {
			var d deviceCodeResponse
			if err := json.Unmarshal(w.Body.Bytes(), &d); err != nil || len(d.UserCode) != UserCodeLength || d.DeviceCode == "" || d.ExpiresIn <= 0 || d.Interval <= 0 {
				t.Fatalf("200 without a usable device code: %s", w.Body)
			}
		}
	})
}

// checkEntraAnswer accepts a 200 JSON answer or a 4xx in Entra's error shape. A path
// with dot segments or doubled slashes ("/./oauth2/…") is redirected to its clean form
// (gorilla/mux), as a client would have sent it.
func checkEntraAnswer(t *testing.T, w *httptest.ResponseRecorder) {
	t.Helper()
	if w.Code == http.StatusMovedPermanently && w.Header().Get("Location") != "" {
		return
	}
	var out map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatalf("%d answer is not JSON: %q", w.Code, w.Body)
	}
	if w.Code == http.StatusOK {
		return
	}
	if w.Code < 400 || w.Code >= 500 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	desc, _ := out["error_description"].(string)
	if code, _ := out["error"].(string); code == "" || !strings.Contains(desc, " Trace ID: ") {
		t.Fatalf("error not in Entra's shape: %s", w.Body)
	}
}

// FuzzClientAssertion feeds the client assertion parser and verifier arbitrary
// strings: each is a verified certificate or one of the assertion errors of
// modern-app-only.md §1.7 with a 400 or 401, never a panic. The seeds are valid RS256
// and PS256 assertions of the default application and near misses.
func FuzzClientAssertion(f *testing.F) {
	good := DefaultAppCertificate()
	now := clock.DefaultStart
	const origin = "https://login.mock"
	claims := jwt.MapClaims{
		"aud": origin + "/" + DefaultTenantID + "/oauth2/v2.0/token", "iss": DefaultApplicationID, "sub": DefaultApplicationID,
		"jti": "5b0f0b8e-8f4d-4c55-9a0e-2d8b1f4e7c31", "nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
	}
	f.Add(signAssertion(f, jwt.SigningMethodRS256, map[string]any{"x5t": x5t(good)}, claims, good.Key))
	f.Add(signAssertion(f, jwt.SigningMethodPS256, map[string]any{"x5t#S256": x5tS256Std(good)}, claims, good.Key))
	f.Add(signAssertion(f, jwt.SigningMethodNone, map[string]any{"x5t": x5t(good)}, claims, jwt.UnsafeAllowNoneSignatureType))
	f.Add(signAssertion(f, jwt.SigningMethodHS256, map[string]any{"x5t": x5t(good)}, jwt.MapClaims{"aud": []any{"a", 1}, "exp": "soon"}, []byte("k")))
	f.Add("eyJhbGciOiJSUzI1NiIsIng1dCI6IiJ9.e30.")
	f.Add("e30.bnVsbA.")
	f.Add("..")
	f.Add("a.b.c.d")
	dir := newDirectory(DefaultDirectory())
	app, _ := dir.app(DefaultApplicationID)
	tenant, _ := dir.tenant(DefaultTenant)
	allowed := map[int]bool{50027: true, 700027: true, 1000502: true, 50048: true, 700021: true, 5002741: true, 700023: true, 700024: true}
	f.Fuzz(func(t *testing.T, raw string) {
		a, e := parseClientAssertion(raw)
		if e == nil {
			var cert *Certificate
			cert, e = verifyAssertion(a, assertionCheck{app: app, tenant: tenant, seg: DefaultTenant, origin: origin, now: now, jtis: newJTICache()})
			if e == nil {
				if cert == nil {
					t.Fatal("verified without a certificate")
				}
				return
			}
		}
		if !allowed[e.aadsts] || (e.status != 400 && e.status != 401) || e.msg == "" {
			t.Fatalf("unexpected error %v (status %d)", e, e.status)
		}
	})
}
