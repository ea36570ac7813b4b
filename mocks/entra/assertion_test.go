package entra

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// The client-credentials grant with a certificate client assertion (RFC 7523), checked
// the way modern-app-only.md §1.2 and §1.8 describe Entra's checks.

// otherAppCertificate is a certificate of its own RSA key, registered nowhere: the
// "unknown certificate" and "bad signature" cases sign with it.
var otherAppCertificate = sync.OnceValue(func() AppCertificate {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	c, err := selfSignedCert(k, "not registered", defaultCertNotBefore, defaultCertNotAfter)
	if err != nil {
		panic(err)
	}
	return c
})

// x5t is base64url SHA-1 of the certificate (the RS256 header, as ADFS-style clients
// send it); x5tS256Std is standard base64 SHA-256 with padding, as MSAL for Go sends
// it (modern-app-only.md §1.3).
func x5t(c AppCertificate) string {
	s := sha1.Sum(c.Cert.Raw)
	return base64.RawURLEncoding.EncodeToString(s[:])
}

func x5tS256Std(c AppCertificate) string {
	s := sha256.Sum256(c.Cert.Raw)
	return base64.StdEncoding.EncodeToString(s[:])
}

// signAssertion signs claims with header (alg is set from method) using key.
func signAssertion(t testing.TB, method jwt.SigningMethod, header map[string]any, claims jwt.MapClaims, key any) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	tok.Header = map[string]any{"alg": method.Alg(), "typ": "JWT"}
	for k, v := range header {
		if v == nil {
			delete(tok.Header, k)
		} else {
			tok.Header[k] = v
		}
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign assertion: %v", err)
	}
	return s
}

// assertionClaims are a valid assertion's claims for the default application at now,
// as MSAL for Go sends them: aud = the token endpoint from discovery (tenant GUID),
// exp = now + 10 min, nbf = now, no iat.
func (ts *testServer) assertionClaims(now time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"aud": ts.URL + "/" + DefaultTenantID + "/oauth2/v2.0/token",
		"iss": DefaultApplicationID, "sub": DefaultApplicationID, "jti": newGUID(),
		"nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
	}
}

// ccForm is a client-credentials request for Graph with a certificate assertion.
func ccForm(clientID, assertion string) url.Values {
	return url.Values{
		"grant_type": {grantClientCreds}, "client_id": {clientID}, "scope": {GraphResource + "/.default"},
		"client_assertion_type": {clientAssertionType}, "client_assertion": {assertion},
	}
}

// The RFC 7523 checks (acceptance 3): every case gets Entra's error value, status,
// AADSTS code (in error_codes and the description) and message, or a token where
// Entra accepts what RFC 7523 would allow it to refuse.
func TestClientAssertionChecks(t *testing.T) {
	t.Parallel()
	good, other := DefaultAppCertificate(), otherAppCertificate()
	type ctx = assertionCtx
	cases := []struct {
		name   string
		opts   []Option
		send   func(t *testing.T, c ctx) reply
		status int
		code   string
		aadsts int
		prefix string // start of the description after "AADSTSnnn: "
	}{
		{name: "RS256 with x5t (base64url SHA-1) gets a token", send: func(t *testing.T, c ctx) reply {
			a := signAssertion(t, jwt.SigningMethodRS256, map[string]any{"x5t": x5t(good)}, c.ts.assertionClaims(c.now), good.Key)
			return c.post(t, tokenPath, ccForm(DefaultApplicationID, a))
		}, status: 200},
		{name: "PS256 with x5t#S256 in padded standard base64 (MSAL for Go) gets a token", send: func(t *testing.T, c ctx) reply {
			a := signAssertion(t, jwt.SigningMethodPS256, map[string]any{"x5t#S256": x5tS256Std(good)}, c.ts.assertionClaims(c.now), good.Key)
			return c.post(t, tokenPath, ccForm(DefaultApplicationID, a))
		}, status: 200},
		{name: "aud on the v1 path by domain gets a token", send: func(t *testing.T, c ctx) reply {
			cl := c.ts.assertionClaims(c.now)
			cl["aud"] = c.ts.URL + "/" + DefaultTenant + "/oauth2/token"
			a := signAssertion(t, jwt.SigningMethodRS256, map[string]any{"x5t": x5t(good)}, cl, good.Key)
			return c.post(t, tokenPath, ccForm(DefaultApplicationID, a))
		}, status: 200},
		{name: "exp a day ahead gets a token: Entra places no limit on exp [C]", send: func(t *testing.T, c ctx) reply {
			cl := c.ts.assertionClaims(c.now)
			cl["exp"] = c.now.Add(24 * time.Hour).Unix()
			a := signAssertion(t, jwt.SigningMethodRS256, map[string]any{"x5t": x5t(good)}, cl, good.Key)
			return c.post(t, tokenPath, ccForm(DefaultApplicationID, a))
		}, status: 200},
		{name: "a reused jti gets a token by default: Entra's replay handling is [?]", send: func(t *testing.T, c ctx) reply {
			a := signAssertion(t, jwt.SigningMethodRS256, map[string]any{"x5t": x5t(good)}, c.ts.assertionClaims(c.now), good.Key)
			if r := c.post(t, tokenPath, ccForm(DefaultApplicationID, a)); r.Status != 200 {
				t.Fatalf("first use: %d %s", r.Status, r.Raw)
			}
			return c.post(t, tokenPath, ccForm(DefaultApplicationID, a))
		}, status: 200},
		{name: "a reused jti is invalid_client without AADSTS under the strict setting [U]", opts: []Option{WithAssumptions(Assumptions{AssertionJTIReuse: JTIReuseReject})}, send: func(t *testing.T, c ctx) reply {
			a := signAssertion(t, jwt.SigningMethodRS256, map[string]any{"x5t": x5t(good)}, c.ts.assertionClaims(c.now), good.Key)
			if r := c.post(t, tokenPath, ccForm(DefaultApplicationID, a)); r.Status != 200 {
				t.Fatalf("first use: %d %s", r.Status, r.Raw)
			}
			return c.post(t, tokenPath, ccForm(DefaultApplicationID, a))
		}, status: 401, code: "invalid_client", prefix: "The client assertion's jti '"},
		{name: "a bad signature is AADSTS700027", send: func(t *testing.T, c ctx) reply {
			a := signAssertion(t, jwt.SigningMethodRS256, map[string]any{"x5t": x5t(good)}, c.ts.assertionClaims(c.now), other.Key)
			return c.post(t, tokenPath, ccForm(DefaultApplicationID, a))
		}, status: 401, code: "invalid_client", aadsts: 700027, prefix: "Client assertion contains an invalid signature. [Reason - The provided signature value did not match the expected signature value., Thumbprint of key used by client: '" + good.Credential().thumbprintHex() + "', Found key 'Start=01/01/2025 00:00:00, End=01/01/2035 00:00:00']"},
		{name: "alg none is AADSTS700027", send: func(t *testing.T, c ctx) reply {
			a := signAssertion(t, jwt.SigningMethodNone, map[string]any{"x5t": x5t(good)}, c.ts.assertionClaims(c.now), jwt.UnsafeAllowNoneSignatureType)
			return c.post(t, tokenPath, ccForm(DefaultApplicationID, a))
		}, status: 401, code: "invalid_client", aadsts: 700027, prefix: "Client assertion contains an invalid signature."},
		{name: "HS256 keyed with the public certificate is AADSTS700027", send: func(t *testing.T, c ctx) reply {
			a := signAssertion(t, jwt.SigningMethodHS256, map[string]any{"x5t": x5t(good)}, c.ts.assertionClaims(c.now), good.Cert.Raw)
			return c.post(t, tokenPath, ccForm(DefaultApplicationID, a))
		}, status: 401, code: "invalid_client", aadsts: 700027, prefix: "Client assertion contains an invalid signature."},
		{name: "an unknown certificate is AADSTS700027 key not found", send: func(t *testing.T, c ctx) reply {
			a := signAssertion(t, jwt.SigningMethodRS256, map[string]any{"x5t": x5t(other)}, c.ts.assertionClaims(c.now), other.Key)
			return c.post(t, tokenPath, ccForm(DefaultApplicationID, a))
		}, status: 401, code: "invalid_client", aadsts: 700027, prefix: "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '" + other.Credential().thumbprintHex() + "', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '" + DefaultApplicationID + "'."},
		{name: "a missing x5t is AADSTS50027", send: func(t *testing.T, c ctx) reply {
			a := signAssertion(t, jwt.SigningMethodRS256, map[string]any{"kid": good.Credential().thumbprintHex()}, c.ts.assertionClaims(c.now), good.Key)
			return c.post(t, tokenPath, ccForm(DefaultApplicationID, a))
		}, status: 400, code: "invalid_request", aadsts: 50027, prefix: "Invalid JWT token. No certificate thumbprint specified in token header."},
		{name: "a wrong aud is AADSTS700023", send: func(t *testing.T, c ctx) reply {
			cl := c.ts.assertionClaims(c.now)
			cl["aud"] = "https://login.microsoftonline.com/" + DefaultTenantID + "/oauth2/v2.0/token"
			a := signAssertion(t, jwt.SigningMethodRS256, map[string]any{"x5t": x5t(good)}, cl, good.Key)
			return c.post(t, tokenPath, ccForm(DefaultApplicationID, a))
		}, status: 401, code: "invalid_client", aadsts: 700023, prefix: "Client assertion audience claim does not match Realm issuer."},
		{name: "two audiences are AADSTS5002741", send: func(t *testing.T, c ctx) reply {
			cl := c.ts.assertionClaims(c.now)
			cl["aud"] = []string{cl["aud"].(string), c.ts.URL + "/" + DefaultTenantID + "/v2.0"}
			a := signAssertion(t, jwt.SigningMethodRS256, map[string]any{"x5t": x5t(good)}, cl, good.Key)
			return c.post(t, tokenPath, ccForm(DefaultApplicationID, a))
		}, status: 401, code: "invalid_client", aadsts: 5002741, prefix: "Number of audience values in the provided client credential exceed maximum allowed. 2 audience values provided, maximum allowed is 1."},
		{name: "an expired assertion is AADSTS700024", send: func(t *testing.T, c ctx) reply {
			cl := c.ts.assertionClaims(c.now.Add(-20 * time.Minute))
			a := signAssertion(t, jwt.SigningMethodRS256, map[string]any{"x5t": x5t(good)}, cl, good.Key)
			return c.post(t, tokenPath, ccForm(DefaultApplicationID, a))
		}, status: 401, code: "invalid_client", aadsts: 700024, prefix: "Client assertion is not within its valid time range. Current time: 2026-01-05T09:00:00.0000000Z, assertion valid from 2026-01-05T08:40:00.0000000Z, expiry time of assertion 2026-01-05T08:50:00.0000000Z."},
		{name: "an assertion not yet valid is AADSTS700024", send: func(t *testing.T, c ctx) reply {
			cl := c.ts.assertionClaims(c.now.Add(10 * time.Minute))
			a := signAssertion(t, jwt.SigningMethodRS256, map[string]any{"x5t": x5t(good)}, cl, good.Key)
			return c.post(t, tokenPath, ccForm(DefaultApplicationID, a))
		}, status: 401, code: "invalid_client", aadsts: 700024, prefix: "Client assertion is not within its valid time range."},
		{name: "an assertion without exp is AADSTS700024", send: func(t *testing.T, c ctx) reply {
			cl := c.ts.assertionClaims(c.now)
			delete(cl, "exp")
			delete(cl, "nbf")
			a := signAssertion(t, jwt.SigningMethodRS256, map[string]any{"x5t": x5t(good)}, cl, good.Key)
			return c.post(t, tokenPath, ccForm(DefaultApplicationID, a))
		}, status: 401, code: "invalid_client", aadsts: 700024, prefix: "Client assertion is not within its valid time range. Current time: 2026-01-05T09:00:00.0000000Z, assertion valid from 1970-01-01T00:00:00.0000000Z, expiry time of assertion 1970-01-01T00:00:00.0000000Z."},
		{name: "iss different from sub is AADSTS50048", send: func(t *testing.T, c ctx) reply {
			cl := c.ts.assertionClaims(c.now)
			cl["sub"] = AzureCLIClientID
			a := signAssertion(t, jwt.SigningMethodRS256, map[string]any{"x5t": x5t(good)}, cl, good.Key)
			return c.post(t, tokenPath, ccForm(DefaultApplicationID, a))
		}, status: 401, code: "invalid_client", aadsts: 50048, prefix: "Subject mismatches Issuer claim in the client assertion."},
		{name: "iss and sub naming another client are AADSTS700021", send: func(t *testing.T, c ctx) reply {
			cl := c.ts.assertionClaims(c.now)
			cl["iss"], cl["sub"] = AzureCLIClientID, AzureCLIClientID
			a := signAssertion(t, jwt.SigningMethodRS256, map[string]any{"x5t": x5t(good)}, cl, good.Key)
			return c.post(t, tokenPath, ccForm(DefaultApplicationID, a))
		}, status: 401, code: "invalid_client", aadsts: 700021, prefix: "Client assertion application identifier doesn't match 'client_id' parameter."},
		{name: "a certificate past its end on the clock is AADSTS1000502", send: func(t *testing.T, c ctx) reply {
			if _, err := c.ts.RenewCredentials(DefaultApplicationID, DefaultApplicationKeyID, c.now.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			now := c.ts.Clock.Advance(2 * time.Hour)
			a := signAssertion(t, jwt.SigningMethodRS256, map[string]any{"x5t": x5t(good)}, c.ts.assertionClaims(now), good.Key)
			return c.post(t, tokenPath, ccForm(DefaultApplicationID, a))
		}, status: 401, code: "invalid_client", aadsts: 1000502, prefix: "The provided certificate is not within its specified validity window. [Thumbprint of key used by client: '" + good.Credential().thumbprintHex() + "', Found key 'Start=01/01/2025 00:00:00, End=01/05/2026 10:00:00']"},
		{name: "a token that is not a JWS is AADSTS50027", send: func(t *testing.T, c ctx) reply {
			return c.post(t, tokenPath, ccForm(DefaultApplicationID, "eyJhbGciOiJSUzI1NiJ9.e30"))
		}, status: 400, code: "invalid_request", aadsts: 50027, prefix: "JWT token is invalid or malformed."},
		{name: "another client_assertion_type is AADSTS90011", send: func(t *testing.T, c ctx) reply {
			f := ccForm(DefaultApplicationID, "x.y.z")
			f.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer")
			return c.post(t, tokenPath, f)
		}, status: 400, code: "invalid_request", aadsts: 90011, prefix: "Unexpected client assertion type."},
		{name: "an assertion and a secret together are refused", send: func(t *testing.T, c ctx) reply {
			f := ccForm(DefaultApplicationID, "x.y.z")
			f.Set("client_secret", "s3cret")
			return c.post(t, tokenPath, f)
		}, status: 400, code: "invalid_request", aadsts: 9002313, prefix: "Invalid request. Request is malformed or invalid. Send either"},
		{name: "an unknown application is AADSTS700016", send: func(t *testing.T, c ctx) reply {
			a := signAssertion(t, jwt.SigningMethodRS256, map[string]any{"x5t": x5t(good)}, c.ts.assertionClaims(c.now), good.Key)
			return c.post(t, tokenPath, ccForm("99999999-8888-4777-8666-555555555555", a))
		}, status: 400, code: "unauthorized_client", aadsts: 700016, prefix: "Application with identifier '99999999-8888-4777-8666-555555555555' was not found in the directory '" + DefaultTenantID + "'."},
		{name: "the application at another tenant is AADSTS700016", opts: []Option{WithDirectory(twoTenantDirectory())}, send: func(t *testing.T, c ctx) reply {
			cl := c.ts.assertionClaims(c.now)
			cl["aud"] = c.ts.URL + "/fabrikam.onmicrosoft.com/oauth2/v2.0/token"
			a := signAssertion(t, jwt.SigningMethodRS256, map[string]any{"x5t": x5t(good)}, cl, good.Key)
			return c.post(t, "/fabrikam.onmicrosoft.com/oauth2/v2.0/token", ccForm(DefaultApplicationID, a))
		}, status: 400, code: "unauthorized_client", aadsts: 700016, prefix: "Application with identifier '" + DefaultApplicationID + "' was not found in the directory '9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b'."},
		{name: "a disabled application is AADSTS7000112", send: func(t *testing.T, c ctx) reply {
			if _, err := c.ts.SetEnabled(DefaultApplicationID, false); err != nil {
				t.Fatal(err)
			}
			a := signAssertion(t, jwt.SigningMethodRS256, map[string]any{"x5t": x5t(good)}, c.ts.assertionClaims(c.now), good.Key)
			return c.post(t, tokenPath, ccForm(DefaultApplicationID, a))
		}, status: 400, code: "unauthorized_client", aadsts: 7000112, prefix: "Application '" + DefaultApplicationID + "'(Veeam Backup for Microsoft 365) is disabled."},
		{name: "a public client without credentials sending an assertion is AADSTS700025", send: func(t *testing.T, c ctx) reply {
			return c.post(t, tokenPath, ccForm(AzureCLIClientID, "x.y.z"))
		}, status: 401, code: "invalid_client", aadsts: 700025, prefix: "Client is public so neither 'client_assertion' nor 'client_secret' should be presented."},
		{name: "client_credentials of a public client without a credential is AADSTS7000216", send: func(t *testing.T, c ctx) reply {
			return c.post(t, tokenPath, url.Values{"grant_type": {grantClientCreds}, "client_id": {DefaultApplicationID}, "scope": {GraphResource + "/.default"}})
		}, status: 401, code: "invalid_client", aadsts: 7000216, prefix: "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, c.opts...)
			r := c.send(t, ctx{ts, ts.Clock.Now()})
			if c.status == 200 {
				if r.Status != 200 || r.str("access_token") == "" {
					t.Fatalf("got %d %s, want a token", r.Status, r.Raw)
				}
				return
			}
			checkEntraError(t, ts, r, c.status, c.code, c.aadsts, "")
			desc := r.str("error_description")
			if c.aadsts != 0 {
				desc = strings.TrimPrefix(desc, "AADSTS"+strconv.Itoa(c.aadsts)+": ")
			}
			if !strings.HasPrefix(desc, c.prefix) {
				t.Errorf("description = %q\nwant prefix  %q", desc, c.prefix)
			}
		})
	}
}

// assertionCtx is one case's server and the clock's time when it started.
type assertionCtx struct {
	ts  *testServer
	now time.Time
}

// post sends a token request with the client-request-id checkEntraError expects back.
func (c assertionCtx) post(t *testing.T, path string, form url.Values) reply {
	t.Helper()
	return c.ts.post(t, path, form, "client-request-id", correlation)
}

// twoTenantDirectory is the default directory plus fabrikam.onmicrosoft.com.
func twoTenantDirectory() Directory {
	d := DefaultDirectory()
	d.Tenants = append(d.Tenants, Tenant{
		Domain: "fabrikam.onmicrosoft.com", ID: "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b",
		Users: []User{{UPN: "admin@fabrikam.onmicrosoft.com", ObjectID: "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f", DisplayName: "Fabrikam Admin"}},
	})
	return d
}

// The app-only token (modern-app-only.md §1.5, §1.6): the response has exactly
// token_type, expires_in, ext_expires_in and access_token; the access token verifies
// against the JWKS and carries aud, the service principal as oid and sub, idtyp app,
// appidacr 2 for a certificate, roles = the granted permissions, and no scp.
func TestAppOnlyTokenShape(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	good := DefaultAppCertificate()
	a := signAssertion(t, jwt.SigningMethodPS256, map[string]any{"x5t#S256": x5tS256Std(good)}, ts.assertionClaims(ts.Clock.Now()), good.Key)
	f := ccForm(DefaultApplicationID, a)
	f.Set("scope", GraphResource+"/.default openid profile offline_access") // as MSAL sends it
	f.Set("client_info", "1")
	r := ts.post(t, tokenPath, f)
	if r.Status != 200 {
		t.Fatalf("token: %d %s", r.Status, r.Raw)
	}
	if got := topKeys(t, r.Raw); !reflect.DeepEqual(got, []string{"token_type", "expires_in", "ext_expires_in", "access_token"}) {
		t.Errorf("keys = %v", got)
	}
	if r.JSON["expires_in"] != float64(3599) || r.JSON["ext_expires_in"] != float64(3599) || r.str("token_type") != "Bearer" {
		t.Errorf("body = %s", r.Raw)
	}
	claims := ts.verify(t, r.str("access_token"))
	sp := servicePrincipalID(DefaultApplicationID, DefaultTenantID)
	want := map[string]any{
		"aud": GraphResource, "iss": "https://sts.windows.net/" + DefaultTenantID + "/", "idtyp": "app",
		"appid": DefaultApplicationID, "appidacr": "2", "app_displayname": DefaultApplicationName,
		"oid": sp, "sub": sp, "tid": DefaultTenantID, "ver": "1.0",
	}
	for k, v := range want {
		if claims[k] != v {
			t.Errorf("claim %s = %v, want %v", k, claims[k], v)
		}
	}
	if sp == DefaultApplicationID || !isGUID(sp) {
		t.Errorf("service principal id %q must be a GUID other than the app id", sp)
	}
	if _, has := claims["scp"]; has {
		t.Error("an app-only token has scp")
	}
	if got := stringsOf(claims["roles"]); !reflect.DeepEqual(got, VB365ApplicationPermissions().Graph) {
		t.Errorf("roles = %v, want the granted Graph permissions", got)
	}
	if exp, iat := claims["exp"].(float64), claims["iat"].(float64); exp-iat != 3599+301 {
		t.Errorf("exp - iat = %v", exp-iat)
	}
	info, err := ts.Application(DefaultApplicationID)
	if err != nil || info.ServicePrincipalID != sp {
		t.Errorf("the listing's service principal id = %q (%v), want the token's oid", info.ServicePrincipalID, err)
	}
}

func stringsOf(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, e := range list {
		s, _ := e.(string)
		out = append(out, s)
	}
	return out
}

// The scope names one resource as <resource>/.default; the token's aud and roles
// follow it.
func TestAppOnlyTokenResources(t *testing.T) {
	t.Parallel()
	perms := VB365ApplicationPermissions()
	cases := []struct {
		name   string
		scope  string
		status int
		code   string
		aadsts int
		aud    string
		roles  []string
	}{
		{"Graph by URI", "https://graph.microsoft.com/.default", 200, "", 0, GraphResource, perms.Graph},
		{"Graph by GUID", GraphAppID + "/.default", 200, "", 0, GraphAppID, perms.Graph},
		{"Exchange Online", "https://outlook.office365.com/.default", 200, "", 0, "https://outlook.office365.com", perms.Exchange},
		{"Exchange Online by GUID", ExchangeAppID + "/.default", 200, "", 0, ExchangeAppID, perms.Exchange},
		{"SharePoint Online of the tenant", "https://abc.sharepoint.com/.default", 200, "", 0, "https://abc.sharepoint.com", perms.SharePoint},
		{"OIDC scopes beside .default are ignored", "openid https://graph.microsoft.com/.default profile", 200, "", 0, GraphResource, perms.Graph},
		{"a scope without /.default is AADSTS1002012", "https://graph.microsoft.com/User.Read.All", 400, "invalid_scope", 1002012, "", nil},
		{"openid alone is AADSTS1002012", "openid", 400, "invalid_scope", 1002012, "", nil},
		{"an unknown resource is AADSTS70011", "https://foo.microsoft.com/.default", 400, "invalid_scope", 70011, "", nil},
		{"two resources are AADSTS700022", "https://graph.microsoft.com/.default https://outlook.office365.com/.default", 400, "invalid_scope", 700022, "", nil},
	}
	ts := newTestServer(t)
	good := DefaultAppCertificate()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := signAssertion(t, jwt.SigningMethodRS256, map[string]any{"x5t": x5t(good)}, ts.assertionClaims(ts.Clock.Now()), good.Key)
			f := ccForm(DefaultApplicationID, a)
			f.Set("scope", c.scope)
			r := ts.post(t, tokenPath, f, "client-request-id", correlation)
			if c.status != 200 {
				checkEntraError(t, ts, r, c.status, c.code, c.aadsts, "")
				return
			}
			if r.Status != 200 {
				t.Fatalf("token: %d %s", r.Status, r.Raw)
			}
			claims := ts.verify(t, r.str("access_token"))
			if claims["aud"] != c.aud || !reflect.DeepEqual(stringsOf(claims["roles"]), c.roles) {
				t.Errorf("aud %v roles %v, want %v %v", claims["aud"], claims["roles"], c.aud, c.roles)
			}
		})
	}
}

// A revoked consent leaves the token without roles, as MS-CC documents for an app
// with no granted roles; the "error" setting answers AADSTS501051 instead. Granting
// consent again brings the roles back.
func TestAppOnlyTokenAfterConsentRevoked(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	good := DefaultAppCertificate()
	token := func() reply {
		a := signAssertion(t, jwt.SigningMethodRS256, map[string]any{"x5t": x5t(good)}, ts.assertionClaims(ts.Clock.Now()), good.Key)
		return ts.post(t, tokenPath, ccForm(DefaultApplicationID, a), "client-request-id", correlation)
	}
	if r := ts.control(t, http.MethodPost, "/_mock/applications/"+DefaultApplicationID+"/consent/revoke", nil); r.Status != 200 || r.str("consent") != ConsentRevoked {
		t.Fatalf("revoke: %d %s", r.Status, r.Raw)
	}
	r := token()
	if r.Status != 200 {
		t.Fatalf("token: %d %s", r.Status, r.Raw)
	}
	if _, has := ts.verify(t, r.str("access_token"))["roles"]; has {
		t.Error("a token after revoked consent still has roles")
	}
	if r := ts.control(t, http.MethodPut, "/_mock/settings", map[string]string{"revoked_consent": "error"}); r.Status != 200 {
		t.Fatalf("settings: %d %s", r.Status, r.Raw)
	}
	checkEntraError(t, ts, token(), 400, "invalid_grant", 501051, "")
	if r := ts.control(t, http.MethodPost, "/_mock/applications/"+DefaultApplicationID+"/consent/grant", nil); r.Status != 200 || r.str("consent") != ConsentGranted {
		t.Fatalf("grant: %d %s", r.Status, r.Raw)
	}
	if r := token(); r.Status != 200 || len(stringsOf(ts.verify(t, r.str("access_token"))["roles"])) != 14 {
		t.Errorf("after consent is granted again: %d %s", r.Status, r.Raw)
	}
}
