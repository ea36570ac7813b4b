package veeam

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vbharness/vbharness/mocks/keys"
)

// orderedKeys returns an object's top-level keys in wire order.
func orderedKeys(t testing.TB, raw []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %s", raw)
	}
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// jwtPart decodes one segment of a JWT.
func jwtPart(t *testing.T, tok string, i int) []byte {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var sevenDigits = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$`)

// The success body has exactly the seed's fields in the seed's order, bearer type,
// 3600 s, and .issued/.expires in UTC with seven fractional digits whose difference is
// expires_in.
func TestTokenSuccessBodyHasTheSeedsShape(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	e.clk.Advance(918863200 * time.Nanosecond) // the seed's .9188632 fraction
	for _, tc := range []struct{ name, ctype, body string }{
		{"form body", formType, "grant_type=password&username=Administrator&password=" + url.QueryEscape(DefaultAdminPassword)},
		{"JSON body", jsonType, `{"grant_type":"password","username":"Administrator","password":"` + DefaultAdminPassword + `","disable_antiforgery_token":true}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := e.do("POST", "/v8/token", tc.ctype, tc.body)
			if w.Code != http.StatusOK {
				t.Fatalf("%d %s", w.Code, w.Body)
			}
			want := []string{"access_token", "refresh_token", "token_type", "expires_in", "userName", ".issued", ".expires"}
			if got := orderedKeys(t, w.Body.Bytes()); !reflect.DeepEqual(got, want) {
				t.Errorf("keys = %v, want %v", got, want)
			}
			tr := decode[tokenResponse](t, w)
			if tr.TokenType != "bearer" || tr.ExpiresIn != 3600 || tr.UserName != "Administrator" {
				t.Errorf("token_type/expires_in/userName = %q/%d/%q", tr.TokenType, tr.ExpiresIn, tr.UserName)
			}
			if !sevenDigits.MatchString(tr.Issued) || !sevenDigits.MatchString(tr.Expires) {
				t.Errorf(".issued %q / .expires %q are not UTC with seven fractional digits", tr.Issued, tr.Expires)
			}
			if tr.Issued != "2026-01-05T09:00:00.9188632Z" {
				t.Errorf(".issued = %q, want the clock's now", tr.Issued)
			}
			issued, _ := time.Parse(time.RFC3339Nano, tr.Issued)
			expires, _ := time.Parse(time.RFC3339Nano, tr.Expires)
			if got := expires.Sub(issued); got != time.Duration(tr.ExpiresIn)*time.Second {
				t.Errorf(".expires − .issued = %v, want expires_in %d s", got, tr.ExpiresIn)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type = %q", ct)
			}
		})
	}
}

// Issued tokens decode to the seed's header (alg, kid, typ) and claim names in the
// seed's order; the pair shares one jti; exp matches .expires; the refresh token
// outlives the access token by 3600 s; iss is the request host without its port; the
// signature verifies with the signing key's public half.
func TestIssuedTokensDecodeToTheSeedsHeaderAndClaims(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	tr := e.adminLogin()
	thumb := keys.Pooled(1).Thumbprint
	if !regexp.MustCompile(`^[0-9A-F]{40}$`).MatchString(thumb) {
		t.Fatalf("thumbprint %q is not 40 upper-case hex characters", thumb)
	}
	claims := map[string]map[string]any{}
	for name, tok := range map[string]string{"Access": tr.AccessToken, "Refresh": tr.RefreshToken} {
		hdr := jwtPart(t, tok, 0)
		if got, want := orderedKeys(t, hdr), []string{"alg", "kid", "typ"}; !reflect.DeepEqual(got, want) {
			t.Errorf("%s header keys = %v, want %v", name, got, want)
		}
		var h map[string]string
		_ = json.Unmarshal(hdr, &h)
		if h["alg"] != "RS256" || h["kid"] != thumb || h["typ"] != "JWT" {
			t.Errorf("%s header = %v, want RS256/%s/JWT", name, h, thumb)
		}
		payload := jwtPart(t, tok, 1)
		want := []string{"tokenType", "jti", NameClaim, "credentialKey", "credentialType", "antiforgery", "exp", "iss"}
		if got := orderedKeys(t, payload); !reflect.DeepEqual(got, want) {
			t.Errorf("%s claim names = %v, want %v", name, got, want)
		}
		var c map[string]any
		_ = json.Unmarshal(payload, &c)
		claims[name] = c
		parts := strings.Split(tok, ".")
		sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
		if err := rsa.VerifyPKCS1v15(&keys.Pooled(1).Private.PublicKey, crypto.SHA256, sum[:], jwtPart(t, tok, 2)); err != nil {
			t.Errorf("%s signature: %v", name, err)
		}
	}
	a, r := claims["Access"], claims["Refresh"]
	if a["tokenType"] != "Access" || r["tokenType"] != "Refresh" {
		t.Errorf("tokenType = %v/%v", a["tokenType"], r["tokenType"])
	}
	if a["jti"] != r["jti"] || a["credentialKey"] != r["credentialKey"] {
		t.Errorf("jti %v/%v or credentialKey %v/%v differ within the pair", a["jti"], r["jti"], a["credentialKey"], r["credentialKey"])
	}
	if a[NameClaim] != "Administrator" || a["credentialType"] != "UsernamePassword" || a["antiforgery"] != "True" || a["iss"] != "127.0.0.1" {
		t.Errorf("access claims = %v", a)
	}
	expires, _ := time.Parse(time.RFC3339Nano, tr.Expires)
	if int64(a["exp"].(float64)) != expires.Unix() {
		t.Errorf("access exp %v != .expires %s", a["exp"], tr.Expires)
	}
	if d := r["exp"].(float64) - a["exp"].(float64); d != 3600 {
		t.Errorf("refresh exp − access exp = %v, want 3600", d)
	}
}

// disable_antiforgery_token is recorded in the antiforgery claim, and a refresh keeps
// it unless the refresh request says otherwise.
func TestAntiforgeryClaimRecordsDisableAntiforgeryToken(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	claim := func(tok string) any {
		var c map[string]any
		_ = json.Unmarshal(jwtPart(t, tok, 1), &c)
		return c["antiforgery"]
	}
	base := "grant_type=password&username=Administrator&password=" + url.QueryEscape(DefaultAdminPassword)
	for _, tc := range []struct {
		name, extra string
		want        string
	}{
		{"absent keeps the default", "", "True"},
		{"true disables it", "&disable_antiforgery_token=true", "False"},
		{"false keeps it", "&disable_antiforgery_token=false", "True"},
		{"empty is ignored", "&disable_antiforgery_token=", "True"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := e.login(base + tc.extra)
			if got := claim(tr.AccessToken); got != tc.want {
				t.Errorf("antiforgery = %v, want %s", got, tc.want)
			}
			next := e.login("grant_type=refresh_token&refresh_token=" + tr.RefreshToken)
			if got := claim(next.AccessToken); got != tc.want {
				t.Errorf("after refresh antiforgery = %v, want %s (inherited)", got, tc.want)
			}
		})
	}
	tr := e.login(base)
	if got := claim(e.login("grant_type=refresh_token&disable_antiforgery_token=True&refresh_token=" + tr.RefreshToken).AccessToken); got != "False" {
		t.Errorf("refresh with disable_antiforgery_token=True: antiforgery = %v, want False", got)
	}
	if w := e.do("POST", "/v8/token", formType, base+"&disable_antiforgery_token=maybe"); w.Code != 400 || !strings.Contains(w.Body.String(), "disable_antiforgery_token must be true or false") {
		t.Errorf("bad disable_antiforgery_token: %d %s", w.Code, w.Body)
	}
}

func TestIssuerIsTheRequestHostUnlessConfigured(t *testing.T) {
	t.Parallel()
	iss := func(e *testEnv, host string) any {
		req := "grant_type=password&username=Administrator&password=" + url.QueryEscape(DefaultAdminPassword)
		r, _ := http.NewRequest("POST", "https://"+host+"/v8/token", strings.NewReader(req))
		r.Header.Set("Content-Type", formType)
		r.RemoteAddr = "127.0.0.1:1"
		w := &recorder{h: http.Header{}}
		e.srv.ServeHTTP(w, r)
		var tr tokenResponse
		if err := json.Unmarshal(w.body.Bytes(), &tr); err != nil {
			t.Fatalf("%d %s", w.code, w.body.String())
		}
		var c map[string]any
		_ = json.Unmarshal(jwtPart(t, tr.AccessToken, 1), &c)
		return c["iss"]
	}
	e := newTestServer(t)
	for host, want := range map[string]string{"vb365.tech.local:4443": "vb365.tech.local", "[::1]:4443": "::1", "veeam.mock": "veeam.mock"} {
		if got := iss(e, host); got != want {
			t.Errorf("host %s: iss = %v, want %s", host, got, want)
		}
	}
	if got := iss(newTestServer(t, WithIssuer("abc.tech.local")), "127.0.0.1:4443"); got != "abc.tech.local" {
		t.Errorf("WithIssuer: iss = %v", got)
	}
}

type recorder struct {
	h    http.Header
	code int
	body bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.h }
func (r *recorder) WriteHeader(c int)           { r.code = c }
func (r *recorder) Write(p []byte) (int, error) { return r.body.Write(p) }

// Every grant and refusal of the password grant and the request checks, with their
// status and OAuth error code in the default style.
func TestTokenRequests(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	pw := url.QueryEscape(DefaultAdminPassword)
	for _, tc := range []struct {
		name, path, ctype, body string
		status                  int
		errCode, user, contains string
	}{
		{"admin signs in", "/v8/token", formType, "grant_type=password&username=Administrator&password=" + pw, 200, "", "Administrator", ""},
		{"admin name matches case-insensitively with a domain", "/v8/token", formType, `grant_type=password&username=VBO%5Cadministrator&password=` + pw, 200, "", "Administrator", ""},
		{"capital-T path works", "/v8/Token", formType, "grant_type=password&username=Administrator&password=" + pw, 200, "", "Administrator", ""},
		{"extra empty fields are harmless", "/v8/token", formType, "grant_type=password&username=Administrator&password=" + pw + "&refresh_token=&client_id=&assertion=&integration_token=", 200, "", "Administrator", ""},
		{"JSON body works", "/v8/token", jsonType, `{"grant_type":"password","username":"Administrator","password":"` + DefaultAdminPassword + `"}`, 200, "", "Administrator", ""},
		{"tenant account of a basic-auth organization signs in", "/v8/token", formType, "grant_type=password&username=" + LegacyOrganizationAccount + "&password=" + url.QueryEscape(LegacyOrganizationPassword), 200, "", LegacyOrganizationAccount, ""},
		{"wrong admin password is refused", "/v8/token", formType, "grant_type=password&username=Administrator&password=nope", 400, "invalid_grant", "", msgBadCredentials},
		{"unknown user is refused", "/v8/token", formType, "grant_type=password&username=someone&password=x", 400, "invalid_grant", "", msgBadCredentials},
		{"modern app-only organization account has no password login", "/v8/token", formType, "grant_type=password&username=admin@abc.onmicrosoft.com&password=x", 400, "invalid_grant", "", msgBadCredentials},
		{"missing password is a bad request", "/v8/token", formType, "grant_type=password&username=Administrator", 400, "invalid_request", "", "needs username and password"},
		{"missing grant_type", "/v8/token", formType, "username=Administrator&password=" + pw, 400, "unsupported_grant_type", "", "grant_type is required"},
		{"unknown grant_type", "/v8/token", formType, "grant_type=client_credentials", 400, "unsupported_grant_type", "", `"client_credentials" is not supported`},
		{"v7 integration grant is gone in v8", "/v8/token", formType, "grant_type=integration&integration_token=x", 400, "unsupported_grant_type", "", "not supported"},
		{"body that is neither form nor JSON", "/v8/token", "text/plain", "grant_type=password", 400, "invalid_request", "", "neither a form"},
		{"JSON that is not an object", "/v8/token", jsonType, `["grant_type"]`, 400, "invalid_request", "", "neither a form"},
		{"refresh without a token", "/v8/token", formType, "grant_type=refresh_token", 400, "invalid_request", "", "needs refresh_token"},
		{"refresh with garbage", "/v8/token", formType, "grant_type=refresh_token&refresh_token=abc", 400, "invalid_grant", "", "invalid or has been revoked"},
		{"jwt-bearer without assertion", "/v8/token", formType, "grant_type=" + url.QueryEscape(GrantJWTBearer) + "&client_id=abc.onmicrosoft.com", 400, "invalid_request", "", "needs client_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := e.do("POST", tc.path, tc.ctype, tc.body)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if tc.status == 200 {
				if tr := decode[tokenResponse](t, w); tr.UserName != tc.user {
					t.Errorf("userName = %q, want %q", tr.UserName, tc.user)
				}
				return
			}
			if got := orderedKeys(t, w.Body.Bytes()); !reflect.DeepEqual(got, []string{"error", "error_description"}) {
				t.Errorf("error keys = %v", got)
			}
			body := decode[oauthError](t, w)
			if body.Error != tc.errCode || !strings.Contains(body.ErrorDescription, tc.contains) {
				t.Errorf("error = %+v, want %s containing %q", body, tc.errCode, tc.contains)
			}
		})
	}
}

// With tenant authentication off, a tenant's password login fails exactly like a
// wrong password (veeam.md §4.4 [R]); administrators are not affected.
func TestTenantPasswordLoginNeedsTenantAuthentication(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	s := e.srv.Settings()
	s.TenantAuthentication = false
	e.srv.UpdateSettings(s)
	w := e.do("POST", "/v8/token", formType, "grant_type=password&username="+LegacyOrganizationAccount+"&password="+url.QueryEscape(LegacyOrganizationPassword))
	if w.Code != 400 || decode[oauthError](t, w).ErrorDescription != msgBadCredentials {
		t.Errorf("tenant login with tenant authentication off: %d %s", w.Code, w.Body)
	}
	e.adminLogin()
}

// A refresh returns a new pair in the same session; the used refresh token is spent
// unless rotation is off; a refresh token past its own expiry is refused; an access
// token is not a refresh token.
func TestRefreshToken(t *testing.T) {
	t.Parallel()
	refresh := func(e *testEnv, tok string) (int, string) {
		w := e.do("POST", "/v8/token", formType, "grant_type=refresh_token&refresh_token="+url.QueryEscape(tok))
		if w.Code == 200 {
			return 200, ""
		}
		return w.Code, decode[oauthError](t, w).ErrorDescription
	}
	t.Run("new pair and the old refresh token is spent", func(t *testing.T) {
		e := newTestServer(t)
		first := e.adminLogin()
		second := e.login("grant_type=refresh_token&refresh_token=" + first.RefreshToken)
		if second.AccessToken == first.AccessToken || second.RefreshToken == first.RefreshToken {
			t.Fatal("refresh returned the same tokens")
		}
		var c1, c2 map[string]any
		_ = json.Unmarshal(jwtPart(t, first.AccessToken, 1), &c1)
		_ = json.Unmarshal(jwtPart(t, second.AccessToken, 1), &c2)
		if c1["credentialKey"] != c2["credentialKey"] || c1["jti"] == c2["jti"] {
			t.Errorf("refresh should keep credentialKey and change jti: %v %v", c1, c2)
		}
		if w := e.do("GET", "/v8/ServiceInstance", "", "", bearer(second.AccessToken)...); w.Code != 200 {
			t.Errorf("new access token: %d", w.Code)
		}
		// Issue 15, item 9 (RFC 9700 §4.14.2) [A]: the spent token presented again revokes
		// the whole sign-in, the pair it was exchanged for included.
		if code, msg := refresh(e, first.RefreshToken); code != 400 || !strings.Contains(msg, "already been used") || !strings.Contains(msg, "Every token of this sign-in has been revoked") {
			t.Errorf("reused refresh token: %d %q", code, msg)
		}
		if w := e.do("GET", "/v8/ServiceInstance", "", "", bearer(second.AccessToken)...); w.Code != 401 {
			t.Errorf("the access token issued by the spent refresh token, after its reuse: %d, want 401", w.Code)
		}
		if code, msg := refresh(e, second.RefreshToken); code != 400 || !strings.Contains(msg, "revoked") {
			t.Errorf("the refresh token issued by the spent one, after its reuse: %d %q", code, msg)
		}
	})
	t.Run("revokeOnRefreshReuse off refuses the reuse only", func(t *testing.T) {
		e := newTestServer(t)
		s := e.srv.Settings()
		s.RevokeOnRefreshReuse = false
		e.srv.UpdateSettings(s)
		first := e.adminLogin()
		second := e.login("grant_type=refresh_token&refresh_token=" + first.RefreshToken)
		if code, msg := refresh(e, first.RefreshToken); code != 400 || !strings.Contains(msg, "already been used") || strings.Contains(msg, "revoked") {
			t.Errorf("reused refresh token: %d %q", code, msg)
		}
		if w := e.do("GET", "/v8/ServiceInstance", "", "", bearer(second.AccessToken)...); w.Code != 200 {
			t.Errorf("new access token after a refused reuse: %d", w.Code)
		}
	})
	t.Run("rotation off lets a refresh token be reused", func(t *testing.T) {
		e := newTestServer(t)
		s := e.srv.Settings()
		s.RefreshRotation = false
		e.srv.UpdateSettings(s)
		first := e.adminLogin()
		for range 2 {
			if code, msg := refresh(e, first.RefreshToken); code != 200 {
				t.Fatalf("refresh: %d %q", code, msg)
			}
		}
	})
	t.Run("refresh past its own expiry is refused", func(t *testing.T) {
		e := newTestServer(t)
		first := e.adminLogin()
		e.clk.Advance(2*time.Hour - time.Second)
		second := e.login("grant_type=refresh_token&refresh_token=" + first.RefreshToken)
		e.clk.Advance(2 * time.Hour)
		if code, msg := refresh(e, second.RefreshToken); code != 400 || !strings.Contains(msg, "expired") {
			t.Errorf("expired refresh token: %d %q", code, msg)
		}
	})
	t.Run("an access token is not a refresh token", func(t *testing.T) {
		e := newTestServer(t)
		first := e.adminLogin()
		if code, msg := refresh(e, first.AccessToken); code != 400 || !strings.Contains(msg, "access token, not a refresh token") {
			t.Errorf("access token as refresh token: %d %q", code, msg)
		}
	})
	t.Run("a tenant session cannot refresh once tenant authentication is off", func(t *testing.T) {
		e := newTestServer(t)
		tt := e.tenantLogin()
		s := e.srv.Settings()
		s.TenantAuthentication = false
		e.srv.UpdateSettings(s)
		if code, msg := refresh(e, tt.RefreshToken); code != 400 || !strings.Contains(msg, "Tenant authentication is disabled") {
			t.Errorf("tenant refresh: %d %q", code, msg)
		}
	})
	t.Run("lifetimes follow the settings", func(t *testing.T) {
		e := newTestServer(t, WithSettings(Settings{AccessTokenLifetime: 60, RefreshTokenLifetime: 120, TenantAuthentication: true, RefreshRotation: true}))
		tr := e.adminLogin()
		if tr.ExpiresIn != 60 {
			t.Errorf("expires_in = %d, want 60", tr.ExpiresIn)
		}
		e.clk.Advance(61 * time.Second)
		if w := e.do("GET", "/v8/ServiceInstance", "", "", bearer(tr.AccessToken)...); w.Code != 401 {
			t.Errorf("after 61 s: %d, want 401", w.Code)
		}
		if code, _ := refresh(e, tr.RefreshToken); code != 200 {
			t.Errorf("refresh within 120 s: %d", code)
		}
	})
}

// The "veeam" error style answers with RESTExceptionInfo: 401 for refused credentials,
// 400 for malformed requests; the default "oauth" style answers 400 with
// {error, error_description}.
func TestTokenErrorStyles(t *testing.T) {
	t.Parallel()
	e := newTestServer(t, WithSettings(Settings{ErrorStyle: ErrorStyleVeeam, TenantAuthentication: true}))
	for _, tc := range []struct {
		name, body string
		status     int
		code       any
	}{
		{"refused credentials are 401", "grant_type=password&username=Administrator&password=wrong", 401, nil},
		{"a malformed request is 400", "grant_type=nope", 400, "ParameterValidationFailure"},
		{"a bad refresh token is 401", "grant_type=refresh_token&refresh_token=x", 401, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := e.do("POST", "/v8/token", formType, tc.body)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d", w.Code, tc.status)
			}
			if got := orderedKeys(t, w.Body.Bytes()); !reflect.DeepEqual(got, []string{"message", "errorCode", "stackTrace"}) {
				t.Errorf("keys = %v", got)
			}
			body := decode[map[string]any](t, w)
			if body["errorCode"] != tc.code || body["stackTrace"] != nil || body["message"] == "" {
				t.Errorf("body = %v", body)
			}
		})
	}
}

// Logout answers 204 and revokes the session's access and refresh tokens; other
// sessions keep working.
func TestLogoutRevokesTheSession(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	mine, other := e.adminLogin(), e.adminLogin()
	w := e.do("POST", "/v8/token/logout", "", "", bearer(mine.AccessToken)...)
	if w.Code != http.StatusNoContent || w.Body.Len() != 0 {
		t.Fatalf("logout: %d %q", w.Code, w.Body)
	}
	if w := e.do("GET", "/v8/ServiceInstance", "", "", bearer(mine.AccessToken)...); w.Code != 401 {
		t.Errorf("access token after logout: %d", w.Code)
	}
	if w := e.do("POST", "/v8/token", formType, "grant_type=refresh_token&refresh_token="+mine.RefreshToken); w.Code != 400 {
		t.Errorf("refresh token after logout: %d", w.Code)
	}
	if w := e.do("GET", "/v8/ServiceInstance", "", "", bearer(other.AccessToken)...); w.Code != 200 {
		t.Errorf("other session after logout: %d", w.Code)
	}
	if w := e.do("POST", "/v8/token/logout", "", ""); w.Code != 401 || w.Body.Len() != 0 {
		t.Errorf("logout without a token: %d %q", w.Code, w.Body)
	}
	// A refreshed session is one session: logging out with the new access token revokes
	// the whole chain.
	first := e.adminLogin()
	second := e.login("grant_type=refresh_token&refresh_token=" + first.RefreshToken)
	e.do("POST", "/v8/token/logout", "", "", bearer(second.AccessToken)...)
	if w := e.do("GET", "/v8/ServiceInstance", "", "", bearer(first.AccessToken)...); w.Code != 401 {
		t.Errorf("first access token of a logged-out chain: %d", w.Code)
	}
}

// A token request without a body, as a real client sends one, is told what to send.
func TestTokenRequestWithoutABody(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	req, _ := http.NewRequest("POST", "https://127.0.0.1:4443/v8/token", http.NoBody)
	req.Header.Set("Content-Type", formType)
	req.RemoteAddr = "127.0.0.1:1"
	w := &recorder{h: http.Header{}}
	e.srv.ServeHTTP(w, req)
	var oe oauthError
	if err := json.Unmarshal(w.body.Bytes(), &oe); err != nil || w.code != 400 || oe.Error != "invalid_request" || !strings.Contains(oe.ErrorDescription, "has no body") {
		t.Errorf("%d %s", w.code, w.body.String())
	}
}
