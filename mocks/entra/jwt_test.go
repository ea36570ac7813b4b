package entra

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/vbharness/vbharness/mocks/keys"
)

// unverifiedClaims decodes a JWT's payload without checking it.
func unverifiedClaims(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d segments, want 3", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("payload is not unpadded base64url: %v", err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// headerKeys returns a JWT header's keys in order.
func headerKeys(t *testing.T, tok string) []string {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	return topKeys(t, raw)
}

// verifier checks tokens against the JWKS the mock publishes, at the mock clock's now.
func (ts *testServer) verify(t *testing.T, tok string) jwt.MapClaims {
	t.Helper()
	r := ts.get(t, "/common/discovery/v2.0/keys")
	if r.Status != http.StatusOK {
		t.Fatalf("jwks: %d %s", r.Status, r.Raw)
	}
	var set struct {
		Keys []keys.JWK `json:"keys"`
	}
	if err := json.Unmarshal(r.Raw, &set); err != nil {
		t.Fatal(err)
	}
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(tok, claims, func(tk *jwt.Token) (any, error) {
		kid, _ := tk.Header["kid"].(string)
		for _, k := range set.Keys {
			if k.Kid == kid {
				return k.PublicKey()
			}
		}
		return nil, fmt.Errorf("kid %q is not in the published JWKS", kid)
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithTimeFunc(ts.Clock.Now), jwt.WithIssuedAt())
	if err != nil {
		t.Fatalf("token does not verify against the JWKS: %v", err)
	}
	return claims
}

func num(c jwt.MapClaims, k string) int64 {
	f, _ := c[k].(float64)
	return int64(f)
}

// Access and id tokens verify against the published JWKS, carry Entra's claims and
// header order, and exp − iat == expires_in + 301 (3900, as in the capture).
func TestTokensVerifyAgainstJWKS(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	now := ts.Clock.Now()
	r := ts.tokens(t, "openid profile offline_access https://graph.microsoft.com/User.ReadWrite.All", url.Values{"client_info": {"1"}})

	expiresIn := int64(r.JSON["expires_in"].(float64))
	if expiresIn != 3599 || int64(r.JSON["ext_expires_in"].(float64)) != 3599 {
		t.Errorf("expires_in/ext_expires_in = %v/%v, want 3599 seconds", r.JSON["expires_in"], r.JSON["ext_expires_in"])
	}
	at := ts.verify(t, r.str("access_token"))
	if got := num(at, "exp") - num(at, "iat"); got != expiresIn+301 {
		t.Errorf("exp − iat = %d, want expires_in + 301 = %d", got, expiresIn+301)
	}
	if num(at, "iat") != now.Add(-300*time.Second).Unix() || num(at, "nbf") != num(at, "iat") {
		t.Errorf("iat/nbf = %d/%d, want now−300 = %d", num(at, "iat"), num(at, "nbf"), now.Add(-300*time.Second).Unix())
	}
	want := map[string]any{
		"aud": GraphResource, "iss": "https://sts.windows.net/" + DefaultTenantID + "/",
		"tid": DefaultTenantID, "oid": DefaultAdminObjectID, "upn": DefaultAdminUPN,
		"unique_name": DefaultAdminUPN, "name": "MOD Administrator", "appid": AzureCLIClientID,
		"app_displayname": "Microsoft Azure CLI", "appidacr": "0", "idtyp": "user", "ver": "1.0",
		"scp": strings.Join(AzureCLIScopes, " "),
	}
	for k, v := range want {
		if at[k] != v {
			t.Errorf("access token %s = %v, want %v", k, at[k], v)
		}
	}
	if s, _ := at["uti"].(string); s == "" {
		t.Error("access token has no uti")
	}
	if got, want := headerKeys(t, r.str("access_token")), []string{"typ", "nonce", "alg", "x5t", "kid"}; !reflect.DeepEqual(got, want) {
		t.Errorf("access token header keys = %v, want %v", got, want)
	}

	idt := r.str("id_token")
	if strings.Contains(idt, "=") {
		t.Error("id_token segments are padded")
	}
	id := ts.verify(t, idt)
	if id["aud"] != AzureCLIClientID || id["iss"] != ts.URL+"/"+DefaultTenantID+"/v2.0" || id["ver"] != "2.0" ||
		id["preferred_username"] != DefaultAdminUPN || id["oid"] != DefaultAdminObjectID || id["tid"] != DefaultTenantID {
		t.Errorf("id token claims = %v", id)
	}
	if num(id, "exp")-num(id, "iat") != 3900 {
		t.Errorf("id token exp − iat = %d, want 3900", num(id, "exp")-num(id, "iat"))
	}
	if got, want := headerKeys(t, idt), []string{"typ", "alg", "kid"}; !reflect.DeepEqual(got, want) {
		t.Errorf("id token header keys = %v, want %v", got, want)
	}

	ci, err := base64.RawURLEncoding.DecodeString(r.str("client_info"))
	if err != nil {
		t.Fatalf("client_info is not unpadded base64url: %v", err)
	}
	if string(ci) != `{"uid":"`+DefaultAdminObjectID+`","utid":"`+DefaultTenantID+`"}` {
		t.Errorf("client_info = %s", ci)
	}
}

// The audience follows how the Graph scopes were written, and the GraphAudience
// assumption can pin it to the GUID.
func TestGraphAudience(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		opts  []Option
		scope string
		want  string
	}{
		{"bare scopes give the Graph GUID", nil, "User.ReadWrite.All", GraphAppID},
		{"GUID-prefixed scopes give the Graph GUID", nil, GraphAppID + "/User.ReadWrite.All", GraphAppID},
		{"URI-prefixed scopes give the Graph URI", nil, GraphResource + "/User.ReadWrite.All", GraphResource},
		{"the guid assumption pins the GUID", []Option{WithAssumptions(Assumptions{GraphAudience: GraphAudienceGUID})}, GraphResource + "/User.ReadWrite.All", GraphAppID},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, c.opts...)
			r := ts.tokens(t, c.scope, nil)
			if aud := unverifiedClaims(t, r.str("access_token"))["aud"]; aud != c.want {
				t.Errorf("aud = %v, want %v", aud, c.want)
			}
		})
	}
}

// After a key rotation new tokens carry the new kid, and tokens signed with the old
// key still verify while it stays published.
func TestKeyRotationKeepsOldKeyPublished(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	before := ts.tokens(t, seedScope, nil).str("access_token")
	r := ts.control(t, http.MethodPost, "/_mock/keys/rotate", nil)
	if r.Status != http.StatusOK || r.str("kid") == "" {
		t.Fatalf("rotate: %d %s", r.Status, r.Raw)
	}
	after := ts.tokens(t, seedScope, nil).str("access_token")
	ts.verify(t, before)
	ts.verify(t, after)
	h, _ := base64.RawURLEncoding.DecodeString(strings.Split(after, ".")[0])
	if !strings.Contains(string(h), r.str("kid")) {
		t.Errorf("token after rotation is not signed with the new kid %s: %s", r.str("kid"), h)
	}
	if n := len(ts.Keys().JWKS(ts.Clock.Now(), "")); n != 2 {
		t.Errorf("JWKS has %d keys during the overlap, want 2", n)
	}
	ts.Clock.Advance(keys.DefaultOverlap + time.Second)
	if n := len(ts.Keys().JWKS(ts.Clock.Now(), "")); n != 1 {
		t.Errorf("JWKS has %d keys after the overlap, want 1", n)
	}
}
