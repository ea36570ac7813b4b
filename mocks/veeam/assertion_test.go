package veeam

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vbharness/vbharness/mocks/keys"
)

// The seed's step 4 with a valid assertion signs the tenant in: the token names the
// user from the Entra token and reaches GET /v8/Organization.
func TestJWTBearerWithTheSeedsFormSignsTheTenantIn(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	tr := e.login(seedForm(DefaultOrganization, tokenResponseJSON(e.entra.mint(t, entraToken{}))))
	if tr.UserName != "admin@abc.onmicrosoft.com" {
		t.Errorf("userName = %q", tr.UserName)
	}
	w := e.do("GET", "/v8/Organization", "", "", bearer(tr.AccessToken)...)
	if w.Code != 200 || decode[map[string]any](t, w)["name"] != DefaultOrganization {
		t.Errorf("GET /v8/Organization: %d %s", w.Code, w.Body)
	}
}

// Variants a real server accepts: the Graph URI audience, a JSON request body, the
// assertion as a JSON object instead of a string, and any of the seed's Directory and
// User permissions.
func TestJWTBearerAcceptsEquivalentForms(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	for _, tc := range []struct {
		name, ctype, body string
	}{
		{"Graph URI audience", formType, seedForm(DefaultOrganization, tokenResponseJSON(e.entra.mint(t, entraToken{claims: map[string]any{"aud": "https://graph.microsoft.com"}})))},
		{"organization name in another case", formType, seedForm("ABC.onmicrosoft.com", tokenResponseJSON(e.entra.mint(t, entraToken{})))},
		{"least permissions", formType, seedForm(DefaultOrganization, tokenResponseJSON(e.entra.mint(t, entraToken{claims: map[string]any{"scp": "directory.read.all User.Read"}})))},
		{"JSON body with the assertion as a string", jsonType, `{"grant_type":"` + GrantJWTBearer + `","client_id":"abc.onmicrosoft.com","assertion":` + jsonString(tokenResponseJSON(e.entra.mint(t, entraToken{}))) + `,"disable_antiforgery_token":true}`},
		// The document types assertion as a string: the request is off the contract
		// (mocks/contract reports it), though a real server accepts it.
		{"JSON body with the assertion as an object", jsonType, `{"grant_type":"` + GrantJWTBearer + `","client_id":"abc.onmicrosoft.com","assertion":` + tokenResponseJSON(e.entra.mint(t, entraToken{})) + `}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.offContract = strings.Contains(tc.name, "as an object")
			if w := e.do("POST", "/v8/token", tc.ctype, tc.body); w.Code != 200 {
				t.Errorf("%d %s", w.Code, w.Body)
			}
		})
	}
}

func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}

// Every way an assertion can be wrong is refused with 400 invalid_grant (or
// invalid_request for an oversized body) and its own message, and no token is issued.
func TestJWTBearerRefusesEveryBadAssertion(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	now := e.clk.Now()
	fe := e.entra
	valid := func() string { return fe.mint(t, entraToken{}) }
	foreign := keys.Pooled(3)
	pubDER, _ := x509.MarshalPKIXPublicKey(&fe.keys.Active().Private.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	hmacWithPublicKey := signWith(t, map[string]any{"alg": "HS256", "typ": "JWT", "kid": fe.keys.Active().KID},
		map[string]any{"aud": graphAppID, "tid": DefaultOrganizationMSID, "scp": "Directory.AccessAsUser.All User.ReadWrite.All", "exp": now.Add(time.Hour).Unix()},
		func(in []byte) []byte { m := hmac.New(sha256.New, pubPEM); m.Write(in); return m.Sum(nil) })
	unsigned := signWith(t, map[string]any{"alg": "none", "typ": "JWT"},
		map[string]any{"aud": graphAppID, "tid": DefaultOrganizationMSID, "scp": "Directory.AccessAsUser.All User.ReadWrite.All", "exp": now.Add(time.Hour).Unix()}, nil)
	tampered := func() string {
		parts := strings.Split(valid(), ".")
		payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
		payload = []byte(strings.Replace(string(payload), "User.ReadWrite.All", "User.ReadWrite.All Directory.ReadWrite.All", 1))
		return parts[0] + "." + base64.RawURLEncoding.EncodeToString(payload) + "." + parts[2]
	}()
	legacyToken := fe.mint(t, entraToken{claims: map[string]any{"tid": LegacyOrganizationMSID}})
	oversized := seedForm(DefaultOrganization, tokenResponseJSON(valid())) + "&padding=" + strings.Repeat("x", 1<<20)

	for _, tc := range []struct {
		name     string
		clientID string
		body     string // whole form, when set
		access   string // the assertion's access_token, when body and assertion are empty
		raw      string // the assertion as sent, when set
		settings func(*Settings)
		status   int
		code     string
		want     string
	}{
		{name: "bad signature", access: tampered, want: "signature that does not verify"},
		{name: "foreign key", access: fe.mint(t, entraToken{key: foreign}), want: "not among Microsoft Entra ID's signing keys"},
		{name: "foreign key claiming a trusted kid", access: fe.mint(t, entraToken{key: foreign, kid: ptr(fe.keys.Active().KID)}), want: "signature that does not verify"},
		{name: "alg none", access: unsigned, want: `unsigned (alg "none")`},
		{name: "HS256 keyed with the RSA public key", access: hmacWithPublicKey, want: `HMAC key (alg "HS256")`},
		{name: "RS512 is not RS256", access: fe.mint(t, entraToken{alg: "RS512"}), want: `alg "RS512"`},
		{name: "expired", access: fe.mint(t, entraToken{claims: map[string]any{"exp": now.Add(-time.Minute).Unix()}}), want: "expired at 2026-01-05T08:59:00Z"},
		{name: "not yet valid", access: fe.mint(t, entraToken{claims: map[string]any{"nbf": now.Add(time.Hour).Unix()}}), want: "not valid before 2026-01-05T10:00:00Z"},
		{name: "no exp", access: fe.mint(t, entraToken{drop: []string{"exp"}}), want: "has no exp claim"},
		{name: "exp named Exp (claim names are case-sensitive)", access: fe.mint(t, entraToken{drop: []string{"exp"}, claims: map[string]any{"Exp": now.Add(time.Hour).Unix()}}), want: `its claim "Exp" is "exp" in another case`},
		{name: "tid named TID beside no tid", access: fe.mint(t, entraToken{drop: []string{"tid"}, claims: map[string]any{"TID": DefaultOrganizationMSID}}), want: `its claim "TID" is "tid" in another case`},
		{name: "wrong tenant", access: fe.mint(t, entraToken{claims: map[string]any{"tid": LegacyOrganizationMSID}}), want: `issued for tenant "` + LegacyOrganizationMSID + `"`},
		{name: "wrong audience", access: fe.mint(t, entraToken{claims: map[string]any{"aud": "https://outlook.office.com"}}), want: `audience "https://outlook.office.com", not Microsoft Graph`},
		{name: "missing Directory permission", access: fe.mint(t, entraToken{claims: map[string]any{"scp": "openid profile User.ReadWrite.All"}}), want: "lacks a Directory permission"},
		{name: "missing User permission", access: fe.mint(t, entraToken{claims: map[string]any{"scp": "Directory.AccessAsUser.All Mail.Read"}}), want: "lacks a User permission"},
		{name: "no scp at all", access: fe.mint(t, entraToken{drop: []string{"scp"}}), want: "lacks a Directory permission"},
		{name: "unknown organization", clientID: "contoso.onmicrosoft.com", access: valid(), want: `Organization "contoso.onmicrosoft.com" was not found`},
		{name: "organization not using modern auth", clientID: LegacyOrganization, access: legacyToken, want: "was not added with modern app-only authentication"},
		{name: "tenant authentication off", access: valid(), settings: func(s *Settings) { s.TenantAuthentication = false }, want: "Tenant authentication is disabled"},
		{name: "assertion is not JSON", raw: valid(), want: "The assertion is not a JSON object"},
		{name: "assertion JSON without access_token", raw: `{"token_type":"Bearer","refresh_token":"r"}`, want: "The assertion has no access_token"},
		{name: "assertion JSON with an empty access_token", raw: `{"access_token":""}`, want: "The assertion has no access_token"},
		{name: "access_token is not a JWT", raw: `{"access_token":"opaque-token"}`, want: "is not a JWT: it has 1 dot-separated parts"},
		{name: "header is not JSON", raw: `{"access_token":"bm90IGpzb24.e30.c2ln"}`, want: "its header is not base64url-encoded JSON"},
		{name: "oversized body", body: oversized, status: 400, code: "invalid_request", want: "larger than 1 MiB"},
		{name: "kid with a path", access: fe.mint(t, entraToken{kid: ptr("../../../etc/passwd")}), want: `with the character '.'`},
		{name: "kid with a URL", access: fe.mint(t, entraToken{kid: ptr("https://evil.example/keys")}), want: `with the character ':'`},
		{name: "no kid", access: fe.mint(t, entraToken{kid: ptr("")}), want: "has no kid header"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := e
			if tc.settings != nil {
				env = newTestServer(t)
				s := env.srv.Settings()
				tc.settings(&s)
				env.srv.UpdateSettings(s)
			}
			body := tc.body
			if body == "" {
				clientID := tc.clientID
				if clientID == "" {
					clientID = DefaultOrganization
				}
				assertion := tc.raw
				if assertion == "" {
					assertion = tokenResponseJSON(tc.access)
				}
				body = seedForm(clientID, assertion)
			}
			_, before := env.srv.sessions.counts()
			w := env.do("POST", "/v8/token", formType, body)
			status, code := tc.status, tc.code
			if status == 0 {
				status, code = 400, "invalid_grant"
			}
			if w.Code != status {
				t.Fatalf("status %d, want %d: %s", w.Code, status, w.Body)
			}
			got := decode[oauthError](t, w)
			if got.Error != code || !strings.Contains(got.ErrorDescription, tc.want) {
				t.Errorf("error %q: %q, want %s containing %q", got.Error, got.ErrorDescription, code, tc.want)
			}
			if _, after := env.srv.sessions.counts(); after != before {
				t.Errorf("a refused assertion stored %d tokens", after-before)
			}
		})
	}
}

// jku and x5u headers are never followed: a token signed by an attacker's key that
// points at the attacker's JWKS is refused, and the attacker's server sees no request.
func TestJWTBearerIgnoresJKUAndX5U(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	attacker := keys.Pooled(3)
	var hits atomic.Int64
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"keys":[]}`))
	}))
	defer evil.Close()
	tok := e.entra.mint(t, entraToken{key: attacker, header: map[string]any{"jku": evil.URL + "/keys", "x5u": evil.URL + "/cert"}})
	w := e.do("POST", "/v8/token", formType, seedForm(DefaultOrganization, tokenResponseJSON(tok)))
	if w.Code != 400 || !strings.Contains(decode[oauthError](t, w).ErrorDescription, "not among Microsoft Entra ID's signing keys") {
		t.Errorf("attacker token: %d %s", w.Code, w.Body)
	}
	if hits.Load() != 0 {
		t.Errorf("the server fetched the attacker's jku/x5u %d times", hits.Load())
	}
}

// Acceptance 4: after Entra rotates its signing key, an assertion signed by the new key
// is accepted after exactly one JWKS refetch; tokens from the old key need none; unknown
// kids cost at most one refetch per refreshInterval and are then remembered.
func TestEntraKeyRotationNeedsExactlyOneRefetch(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	fe := e.entra
	oldToken := fe.mint(t, entraToken{})
	e.login(seedForm(DefaultOrganization, tokenResponseJSON(oldToken)))
	if c, j := fe.configHits.Load(), fe.jwksHits.Load(); c != 1 || j != 1 {
		t.Fatalf("first login: %d discovery and %d JWKS fetches, want 1 and 1", c, j)
	}
	e.login(seedForm(DefaultOrganization, tokenResponseJSON(fe.mint(t, entraToken{}))))
	if j := fe.jwksHits.Load(); j != 1 {
		t.Fatalf("second login with a cached key fetched the JWKS again (%d fetches)", j)
	}

	fe.keys.Rotate(keys.Pooled(2), e.clk.Now())
	e.login(seedForm(DefaultOrganization, tokenResponseJSON(fe.mint(t, entraToken{}))))
	if j := fe.jwksHits.Load(); j != 2 {
		t.Errorf("after rotation: %d JWKS fetches in all, want exactly one refetch (2)", j)
	}
	e.login(seedForm(DefaultOrganization, tokenResponseJSON(fe.mint(t, entraToken{key: keys.Pooled(0)}))))
	e.login(seedForm(DefaultOrganization, tokenResponseJSON(fe.mint(t, entraToken{}))))
	if c, j := fe.configHits.Load(), fe.jwksHits.Load(); c != 1 || j != 2 {
		t.Errorf("old and new key afterwards: %d discovery and %d JWKS fetches, want 1 and 2", c, j)
	}

	// The rotation's refetch was asked for just now: within refreshInterval, unknown kids
	// cost no fetch and are remembered (Microsoft.IdentityModel's RequestRefresh).
	unknown := tokenResponseJSON(fe.mint(t, entraToken{key: keys.Pooled(3)}))
	for i := range 2 {
		if w := e.do("POST", "/v8/token", formType, seedForm(DefaultOrganization, unknown)); w.Code != 400 {
			t.Fatalf("unknown key attempt %d: %d", i, w.Code)
		}
	}
	if j := fe.jwksHits.Load(); j != 2 {
		t.Errorf("unknown kids right after a refetch: %d JWKS fetches in all, want still 2", j)
	}
	e.clk.Advance(refreshInterval)
	fresh := func(k *keys.Key) string {
		return tokenResponseJSON(fe.mint(t, entraToken{key: k, claims: map[string]any{"exp": e.clk.Now().Add(time.Hour).Unix()}}))
	}
	if w := e.do("POST", "/v8/token", formType, seedForm(DefaultOrganization, fresh(keys.Pooled(4)))); w.Code != 400 {
		t.Fatalf("another unknown key: %d", w.Code)
	}
	if j := fe.jwksHits.Load(); j != 3 {
		t.Errorf("an unknown kid %v later: %d JWKS fetches, want 3 (one refetch)", refreshInterval, j)
	}
	for _, k := range []*keys.Key{keys.Pooled(4), keys.Pooled(3), keys.Pooled(5)} {
		e.do("POST", "/v8/token", formType, seedForm(DefaultOrganization, fresh(k)))
	}
	if j := fe.jwksHits.Load(); j != 3 {
		t.Errorf("more unknown kids within %v of that refetch: %d JWKS fetches, want still 3", refreshInterval, j)
	}
}

// Cached keys are refetched (with discovery) after 12 hours on the clock.
func TestEntraKeysAreRefreshedAfterTwelveHours(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	e.tenantLogin()
	e.clk.Advance(12 * time.Hour)
	e.tenantLogin()
	if c, j := e.entra.configHits.Load(), e.entra.jwksHits.Load(); c != 2 || j != 2 {
		t.Errorf("%d discovery and %d JWKS fetches, want 2 and 2", c, j)
	}
}

// When Entra cannot be reached the refusal says so; once it is back, logins work.
func TestJWTBearerReportsUnreachableEntra(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	e.entra.mu.Lock()
	e.entra.down = true
	e.entra.mu.Unlock()
	w := e.do("POST", "/v8/token", formType, seedForm(DefaultOrganization, tokenResponseJSON(e.entra.mint(t, entraToken{}))))
	if msg := decode[oauthError](t, w).ErrorDescription; w.Code != 400 || !strings.Contains(msg, "could not be fetched") || !strings.Contains(msg, "status 503") {
		t.Errorf("Entra down: %d %q", w.Code, msg)
	}
	e.entra.mu.Lock()
	e.entra.down = false
	e.entra.mu.Unlock()
	e.tenantLogin()
}

// claimsOnly accepts tokens whose signature cannot be verified (real Graph tokens
// carry a header nonce) but still checks every claim; without it the refusal points to
// the setting.
func TestClaimsOnlySkipsTheSignatureButNotTheClaims(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	graphLike := e.entra.mint(t, entraToken{key: keys.Pooled(3), kid: ptr(e.entra.keys.Active().KID), header: map[string]any{"nonce": "5AW1HJy1QYiKerPmIMqUsJpNvALYxVBSlZEvUSn93a8"}})
	w := e.do("POST", "/v8/token", formType, seedForm(DefaultOrganization, tokenResponseJSON(graphLike)))
	if msg := decode[oauthError](t, w).ErrorDescription; w.Code != 400 || !strings.Contains(msg, "claimsOnly") {
		t.Errorf("nonce token without claimsOnly: %d %q", w.Code, msg)
	}
	s := e.srv.Settings()
	s.ClaimsOnly = true
	e.srv.UpdateSettings(s)
	e.login(seedForm(DefaultOrganization, tokenResponseJSON(graphLike)))
	expired := e.entra.mint(t, entraToken{key: keys.Pooled(3), claims: map[string]any{"exp": e.clk.Now().Add(-time.Second).Unix()}})
	if w := e.do("POST", "/v8/token", formType, seedForm(DefaultOrganization, tokenResponseJSON(expired))); w.Code != 400 || !strings.Contains(w.Body.String(), "expired") {
		t.Errorf("expired token with claimsOnly: %d %s", w.Code, w.Body)
	}
	wrongTenant := e.entra.mint(t, entraToken{claims: map[string]any{"tid": LegacyOrganizationMSID}})
	if w := e.do("POST", "/v8/token", formType, seedForm(DefaultOrganization, tokenResponseJSON(wrongTenant))); w.Code != 400 {
		t.Errorf("wrong tenant with claimsOnly: %d", w.Code)
	}
}

// The assertion clock skew widens exp and nbf checks by the given seconds.
func TestAssertionClockSkew(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	late := tokenResponseJSON(e.entra.mint(t, entraToken{claims: map[string]any{"exp": e.clk.Now().Add(-time.Minute).Unix()}}))
	if w := e.do("POST", "/v8/token", formType, seedForm(DefaultOrganization, late)); w.Code != 400 {
		t.Fatalf("expired a minute ago without skew: %d", w.Code)
	}
	s := e.srv.Settings()
	s.AssertionClockSkew = 300
	e.srv.UpdateSettings(s)
	e.login(seedForm(DefaultOrganization, late))
}

// grant_type=operator needs restore operator authentication, then takes the operator's
// raw Entra token for the Restore Portal application; operator tokens have tenant scope.
func TestOperatorGrant(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	userID := "9d2b0c4e-5a1f-4e7b-8c3d-1f0a6b2e4d58"
	form := func(clientID, tok string) string {
		return "grant_type=operator&client_id=" + url.QueryEscape(clientID) + "&assertion=" + url.QueryEscape(tok)
	}
	good := e.entra.mint(t, entraToken{claims: map[string]any{"aud": "api://" + DefaultRestorePortalAppID, "scp": "access_as_user", "appid": DefaultRestorePortalAppID}})
	clientID := userID + "." + DefaultOrganizationMSID
	if w := e.do("POST", "/v8/token", formType, form(clientID, good)); w.Code != 400 || !strings.Contains(w.Body.String(), "operator authentication is disabled") {
		t.Fatalf("operator grant while disabled: %d %s", w.Code, w.Body)
	}
	s := e.srv.Settings()
	s.OperatorAuthentication = true
	e.srv.UpdateSettings(s)
	for _, tc := range []struct{ name, clientID, tok, want string }{
		{"client_id is not userId.tenantId", "abc.onmicrosoft.com", good, "is not <userId>.<tenantId>"},
		{"another user's token", "11111111-2222-4333-8444-555555555555." + DefaultOrganizationMSID, good, "belongs to user"},
		{"a Graph token is not for the portal", clientID, e.entra.mint(t, entraToken{}), "not the Restore Portal application"},
		{"no access_as_user scope", clientID, e.entra.mint(t, entraToken{claims: map[string]any{"aud": DefaultRestorePortalAppID, "scp": "openid"}}), "lacks the access_as_user scope"},
		{"unknown tenant", userID + ".11111111-2222-4333-8444-555555555555", good, "No organization with tenant id"},
		{"issued to another application", clientID, e.entra.mint(t, entraToken{claims: map[string]any{"aud": "api://" + DefaultRestorePortalAppID, "scp": "access_as_user"}}), `issued to application \"04b07795-8ddb-461a-bbee-02f9e1bf7b46\", not the Restore Portal application`},
		{"a v2 token's azp names another application", clientID, e.entra.mint(t, entraToken{claims: map[string]any{"aud": DefaultRestorePortalAppID, "scp": "access_as_user", "azp": "11111111-2222-4333-8444-555555555555"}, drop: []string{"appid"}}), `issued to application \"11111111-2222-4333-8444-555555555555\"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if w := e.do("POST", "/v8/token", formType, form(tc.clientID, tc.tok)); w.Code != 400 || !strings.Contains(w.Body.String(), tc.want) {
				t.Errorf("%d %s, want %q", w.Code, w.Body, tc.want)
			}
		})
	}
	v2 := e.entra.mint(t, entraToken{claims: map[string]any{"aud": DefaultRestorePortalAppID, "scp": "access_as_user", "azp": DefaultRestorePortalAppID}, drop: []string{"appid"}})
	e.login(form(clientID, v2)) // a v2 token names its client in azp
	tr := e.login(form(clientID, good))
	if w := e.do("GET", "/v8/Organization", "", "", bearer(tr.AccessToken)...); w.Code != 200 {
		t.Errorf("operator GET /v8/Organization: %d", w.Code)
	}
	if w := e.do("GET", "/v8/Jobs", "", "", bearer(tr.AccessToken)...); w.Code != 403 {
		t.Errorf("operator GET /v8/Jobs: %d, want 403", w.Code)
	}
	var c map[string]any
	_ = decodeJSONBytes(jwtPart(t, tr.AccessToken, 1), &c)
	if c["credentialType"] != "Operator" {
		t.Errorf("credentialType = %v", c["credentialType"])
	}
}

// Issue 15, item 3: a flood of unknown kids costs at most one JWKS fetch per
// refreshInterval, and while that fetch is on the wire (Entra's JWKS endpoint is held
// here until the end) logins with a known kid are answered: no lock is held during the
// fetch. Before the fix the first login waited for the held fetch and never returned.
func TestUnknownKidsDoNotHoldUpLogins(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	fe := e.entra
	e.login(seedForm(DefaultOrganization, tokenResponseJSON(fe.mint(t, entraToken{}))))
	e.clk.Advance(refreshInterval) // no refetch asked for in the last refreshInterval
	hold := make(chan struct{})
	fe.mu.Lock()
	fe.hold = hold
	fe.mu.Unlock()
	released := false
	release := func() {
		if !released {
			released = true
			close(hold)
		}
	}
	defer release()

	// 8 attackers, each with its own random kids, until the logins are done.
	stop := make(chan struct{})
	var attackers sync.WaitGroup
	var sent atomic.Int64
	for a := range 8 {
		attackers.Add(1)
		go func() {
			defer attackers.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				kid := fmt.Sprintf("attacker%dkid%d", a, i)
				body := seedForm(DefaultOrganization, tokenResponseJSON(fe.mint(t, entraToken{kid: &kid})))
				req := httptest.NewRequest("POST", "https://127.0.0.1:4443/v8/token", strings.NewReader(body))
				req.Header.Set("Content-Type", formType)
				ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
				w := httptest.NewRecorder()
				e.srv.ServeHTTP(w, req.WithContext(ctx)) // an attacker waiting on the held fetch gives up
				cancel()
				sent.Add(1)
			}
		}()
	}
	for sent.Load() < 16 {
		time.Sleep(time.Millisecond)
	}
	logins := make(chan error, 1)
	go func() {
		for range 20 {
			tr := tokenResponseJSON(fe.mint(t, entraToken{}))
			req := httptest.NewRequest("POST", "https://127.0.0.1:4443/v8/token", strings.NewReader(seedForm(DefaultOrganization, tr)))
			req.Header.Set("Content-Type", formType)
			w := httptest.NewRecorder()
			e.srv.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				logins <- fmt.Errorf("login during the attack: %d %s", w.Code, w.Body)
				return
			}
		}
		logins <- nil
	}()
	select {
	case err := <-logins:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(30 * time.Second):
		t.Error("logins with a known kid waited for the JWKS fetch that unknown kids started (none answered in 30 s)")
	}
	close(stop)
	release()
	attackers.Wait()
	if j := fe.jwksHits.Load(); j != 2 {
		t.Errorf("%d attacking requests caused %d JWKS fetches in all, want 2 (the first login's and one refetch)", sent.Load(), j)
	}
}
