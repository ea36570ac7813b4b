package veeam

import (
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vbharness/vbharness/mocks/keys"
)

// TestTokenConfusionIsRefused adds to TestJWTBearerRefusesEveryBadAssertion the forms of
// key and token confusion it does not cover: alg spellings a lax parser folds, keys
// carried in the token itself (x5c, jwk), key ids no Entra key has, and tokens of one
// kind presented as another (Veeam's own token as the assertion, an id token, an Entra
// token or a Veeam refresh token as a bearer). Every one is refused and none stores a
// token.
func TestTokenConfusionIsRefused(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	fe := e.entra
	attacker := keys.Pooled(3)
	trusted := fe.keys.Active().KID
	certB64 := base64.StdEncoding.EncodeToString(attacker.Cert.Raw)
	jwk := attacker.JWK("")
	veeamOwn := e.adminLogin()

	for _, tc := range []struct {
		name   string
		access string
		want   string
	}{
		{"alg None", signWith(t, map[string]any{"alg": "None", "typ": "JWT", "kid": trusted}, validClaims(e), nil), `unsigned (alg "None")`},
		{"alg NONE", signWith(t, map[string]any{"alg": "NONE", "typ": "JWT", "kid": trusted}, validClaims(e), nil), `unsigned (alg "NONE")`},
		{"alg hs512", fe.mint(t, entraToken{alg: "hs512"}), `HMAC key (alg "hs512")`},
		{"alg rs256 in lower case", fe.mint(t, entraToken{alg: "rs256"}), `alg "rs256"`},
		{"alg missing", fe.mint(t, entraToken{header: map[string]any{"alg": nil}}), `alg ""`},
		{"the attacker's certificate in x5c, claiming a trusted kid", fe.mint(t, entraToken{key: attacker, kid: &trusted, header: map[string]any{"x5c": []string{certB64}}}), "signature that does not verify"},
		{"the attacker's key in a jwk header, claiming a trusted kid", fe.mint(t, entraToken{key: attacker, kid: &trusted, header: map[string]any{"jwk": jwk}}), "signature that does not verify"},
		{"the attacker's key, kid of its own", fe.mint(t, entraToken{key: attacker, header: map[string]any{"jwk": jwk, "x5c": []string{certB64}}}), "not among Microsoft Entra ID's signing keys"},
		{"a kid of 129 characters", fe.mint(t, entraToken{kid: ptr(strings.Repeat("k", 129))}), "kid header of 129 characters"},
		{"a kid with a NUL byte", fe.mint(t, entraToken{kid: ptr("abc\x00def")}), `with the character '\x00'`},
		{"a kid with a backslash", fe.mint(t, entraToken{kid: ptr(`..\..\keys`)}), `with the character '.'`},
		{"Veeam's own access token as the assertion", veeamOwn.AccessToken, "not among Microsoft Entra ID's signing keys"},
		// Issue 15, item 9: behind a valid signature.
		{"an unknown crit header (RFC 7515 §4.1.11)", fe.mint(t, entraToken{header: map[string]any{"crit": []string{"exp"}, "exp": 1}}), `crit header (["exp"])`},
		{"an empty crit header", fe.mint(t, entraToken{header: map[string]any{"crit": []string{}}}), "crit header ([])"},
		{"exp as a string", fe.mint(t, entraToken{claims: map[string]any{"exp": strconv.FormatInt(e.clk.Now().Add(time.Hour).Unix(), 10)}}), "its exp claim is \"17"},
		{"nbf as a string", fe.mint(t, entraToken{claims: map[string]any{"nbf": strconv.FormatInt(e.clk.Now().Add(-time.Hour).Unix(), 10)}}), "its nbf claim is \"17"},
		{"iat as an object", fe.mint(t, entraToken{claims: map[string]any{"iat": map[string]any{"n": 1}}}), `its iat claim is {"n":1}`},
		{"an id token (audience: the client, not Graph)", fe.mint(t, entraToken{claims: map[string]any{"aud": "04b07795-8ddb-461a-bbee-02f9e1bf7b46", "ver": "2.0"}}), "not Microsoft Graph"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, before := e.srv.sessions.counts()
			w := e.do("POST", "/v8/token", formType, seedForm(DefaultOrganization, tokenResponseJSON(tc.access)))
			if w.Code != 400 {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			if got := decode[oauthError](t, w); got.Error != oauthInvalidGrant || !strings.Contains(got.ErrorDescription, tc.want) {
				t.Errorf("%s: %q, want invalid_grant containing %q", got.Error, got.ErrorDescription, tc.want)
			}
			if _, after := e.srv.sessions.counts(); after != before {
				t.Errorf("a refused assertion stored %d tokens", after-before)
			}
		})
	}

	// Tokens presented where another kind belongs get Veeam's 401.
	for _, tc := range []struct{ name, bearer string }{
		{"an Entra access token as a Veeam bearer", fe.mint(t, entraToken{})},
		{"a Veeam refresh token as a bearer", veeamOwn.RefreshToken},
		{"an access token with its signature cut off", veeamOwn.AccessToken[:strings.LastIndex(veeamOwn.AccessToken, ".")+1]},
		{"an access token with one more character", veeamOwn.AccessToken + "A"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := e.do("GET", "/v8/ServiceInstance", "", "", bearer(tc.bearer)...)
			if w.Code != 401 || w.Body.Len() != 0 || w.Header().Get("WWW-Authenticate") != "Bearer" {
				t.Errorf("%d %q %v, want an empty 401 with WWW-Authenticate: Bearer", w.Code, w.Body, w.Header())
			}
		})
	}
}

// validClaims are the claims of a valid assertion's access token on e's clock.
func validClaims(e *testEnv) map[string]any {
	now := e.clk.Now()
	return map[string]any{"aud": graphAppID, "tid": DefaultOrganizationMSID, "scp": "Directory.AccessAsUser.All User.ReadWrite.All",
		"upn": "admin@abc.onmicrosoft.com", "nbf": now.Add(-300e9).Unix(), "exp": now.Add(3600e9).Unix()}
}
