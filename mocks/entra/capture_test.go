package entra

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// The tokens of one response match the captures: exp − iat is 3900 where expires_in
// is 3599 (entra.md §5.1, the AnAuthenticationLab device-code token: iat 1616729319,
// exp 1616733219; modern-app-only.md §1.6 for app-only tokens: "expires_in 3599 +
// 301"), and the access token and the id token of one response share uti (both
// carry "CDBY-t84gkC-sS7UKvKWAA" in the capture).
func TestTokensMatchTheCapture(t *testing.T) {
	t.Parallel()
	type tokens struct{ access, id string }
	cases := []struct {
		name  string
		get   func(t *testing.T, ts *testServer) tokens
		hasID bool
	}{
		{"a device-code response", func(t *testing.T, ts *testServer) tokens {
			r := ts.tokens(t, "openid profile User.ReadWrite.All offline_access", nil)
			return tokens{r.str("access_token"), r.str("id_token")}
		}, true},
		{"a refresh response", func(t *testing.T, ts *testServer) tokens {
			rt := ts.tokens(t, "openid "+seedScope, nil).str("refresh_token")
			r := ts.post(t, tokenPath, url.Values{"grant_type": {"refresh_token"}, "client_id": {AzureCLIClientID}, "refresh_token": {rt}})
			if r.Status != 200 {
				t.Fatalf("refresh: %d %s", r.Status, r.Raw)
			}
			return tokens{r.str("access_token"), r.str("id_token")}
		}, true},
		{"an app-only response", func(t *testing.T, ts *testServer) tokens {
			good := DefaultAppCertificate()
			a := signAssertion(t, jwt.SigningMethodRS256, map[string]any{"x5t": x5t(good)}, ts.assertionClaims(ts.Clock.Now()), good.Key)
			f := ccForm(DefaultApplicationID, a)
			f.Set("scope", GraphResource+"/.default")
			r := ts.post(t, tokenPath, f)
			if r.Status != 200 {
				t.Fatalf("token: %d %s", r.Status, r.Raw)
			}
			return tokens{access: r.str("access_token")}
		}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t)
			got := c.get(t, ts)
			at := ts.verify(t, got.access)
			if d := num(at, "exp") - num(at, "iat"); d != 3900 {
				t.Errorf("access token exp − iat = %d, want 3900 as in the capture", d)
			}
			if num(at, "iat") != ts.Clock.Now().Add(-clockSkew).Unix() {
				t.Errorf("iat = %d, want now − 300", num(at, "iat"))
			}
			if !c.hasID {
				return
			}
			id := ts.verify(t, got.id)
			if d := num(id, "exp") - num(id, "iat"); d != 3900 {
				t.Errorf("id token exp − iat = %d, want 3900", d)
			}
			if at["uti"] == "" || at["uti"] != id["uti"] {
				t.Errorf("uti: access %v, id %v; the capture's tokens share it", at["uti"], id["uti"])
			}
		})
	}
}

// tokensFor runs a whole device flow for client and returns the token response
// (whatever its status), or the devicecode answer when that fails. Both requests carry
// client-request-id: correlation.
func (ts *testServer) tokensFor(t *testing.T, client, scope string) reply {
	t.Helper()
	r := ts.post(t, dcPath, url.Values{"client_id": {client}, "scope": {scope}}, "client-request-id", correlation)
	if r.Status != http.StatusOK {
		return r
	}
	ts.approve(t, r.str("user_code"))
	return ts.post(t, tokenPath, url.Values{"grant_type": {grantDeviceCodeURN}, "client_id": {client}, "device_code": {r.str("device_code")}},
		"client-request-id", correlation)
}

// A third-party app's scope is echoed in the order it was requested, OIDC scopes
// where they stood, as the capture shows: request "openid profile User.Read email",
// response scope and scp "openid profile User.Read email" (entra.md §2 success, §5.1).
// offline_access is left out wherever it stood.
func TestThirdPartyScopeEchoOrder(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, scope, wantScope, wantScp string
	}{
		{"the capture's request", "openid profile User.Read email", "openid profile User.Read email", "openid profile User.Read email"},
		{"a permission before the OIDC scopes", "User.Read openid profile", "User.Read openid profile", "User.Read openid profile"},
		{"offline_access is dropped where it stood", "openid offline_access User.Read profile", "openid User.Read profile", "openid User.Read profile"},
		{"URI-form permissions keep their prefix", "email https://graph.microsoft.com/User.Read openid", "email https://graph.microsoft.com/User.Read openid", "email User.Read openid"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, WithDirectory(testDirectory()))
			r := ts.tokensFor(t, otherPublicID, c.scope)
			if r.Status != http.StatusOK {
				t.Fatalf("token: %d %s", r.Status, r.Raw)
			}
			if r.str("scope") != c.wantScope {
				t.Errorf("scope = %q, want %q", r.str("scope"), c.wantScope)
			}
			if scp := unverifiedClaims(t, r.str("access_token"))["scp"]; scp != c.wantScp {
				t.Errorf("scp = %q, want %q", scp, c.wantScp)
			}
		})
	}
}

// A CORS preflight (OPTIONS) is answered, not refused: discovery advertises "GET,
// OPTIONS" (entra.md §4.1 [C]) and the token endpoints name "POST, OPTIONS" in
// AADSTS900561 [R], so each answers 200 with those methods, Access-Control-Allow-Origin
// "*" as on the discovery GET, and the requested headers allowed (the preflight
// answer itself is [I]).
func TestCORSPreflight(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	cases := []struct {
		name, path, methods string
	}{
		{"openid configuration", "/" + DefaultTenant + "/v2.0/.well-known/openid-configuration", "GET, OPTIONS"},
		{"JWKS", "/common/discovery/v2.0/keys", "GET, OPTIONS"},
		{"v1 JWKS", "/common/discovery/keys", "GET, OPTIONS"},
		{"instance discovery", "/common/discovery/instance?api-version=1.1", "GET, OPTIONS"},
		{"devicecode", dcPath, "POST, OPTIONS"},
		{"token", tokenPath, "POST, OPTIONS"},
		{"token of an unknown tenant (a preflight carries no tenant check)", "/nowhere.onmicrosoft.com/oauth2/v2.0/token", "POST, OPTIONS"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodOptions, ts.URL+c.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Origin", "https://app.contoso.com")
			req.Header.Set("Access-Control-Request-Method", "POST")
			req.Header.Set("Access-Control-Request-Headers", "content-type,client-request-id")
			r := ts.do(t, req)
			if r.Status != http.StatusOK {
				t.Fatalf("OPTIONS %s: %d %s", c.path, r.Status, r.Raw)
			}
			want := map[string]string{
				"Access-Control-Allow-Origin":  "*",
				"Access-Control-Allow-Methods": c.methods,
				"Access-Control-Allow-Headers": "content-type,client-request-id",
			}
			for k, v := range want {
				if got := r.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if len(r.Raw) != 0 {
				t.Errorf("body = %q, want none", r.Raw)
			}
		})
	}
}
