package entra

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/vbharness/vbharness/mocks/journal"
	"github.com/vbharness/vbharness/mocks/secret"
)

// Real clients get app-only tokens from the mock (acceptance 2). Both stamp their
// assertions with the wall clock, so the mock's virtual clock starts at time.Now().

// MSAL for Go's confidential client with the default application's certificate
// (PS256 with x5t#S256 in standard base64, aud = the discovered token endpoint) gets a
// Graph token whose roles are the granted permissions and which verifies against the
// JWKS; a second call is served from MSAL's cache without a request.
func TestMSALConfidentialClientWithCertificate(t *testing.T) {
	t.Parallel()
	ts := newTestServerAt(t, time.Now())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// The PEM route MSAL documents: CertFromPEM reads the certificate and the PKCS#8 key.
	ac := DefaultAppCertificate()
	certs, key, err := confidential.CertFromPEM(append(ac.CertPEM(), ac.KeyPEM()...), "")
	if err != nil {
		t.Fatalf("CertFromPEM: %v", err)
	}
	cred, err := confidential.NewCredFromCert(certs, key)
	if err != nil {
		t.Fatalf("NewCredFromCert: %v", err)
	}
	spy := &formSpy{next: ts.Client.Transport}
	app, err := confidential.New(ts.URL+"/"+DefaultTenant, DefaultApplicationID, cred,
		confidential.WithInstanceDiscovery(false), confidential.WithHTTPClient(&http.Client{Transport: spy}))
	if err != nil {
		t.Fatalf("confidential.New: %v", err)
	}
	res, err := app.AcquireTokenByCredential(ctx, []string{GraphResource + "/.default"})
	if err != nil {
		t.Fatalf("AcquireTokenByCredential: %v", err)
	}
	claims := ts.verify(t, res.AccessToken)
	if got := stringsOf(claims["roles"]); !reflect.DeepEqual(got, VB365ApplicationPermissions().Graph) {
		t.Errorf("roles = %v, want the granted Graph permissions", got)
	}
	if claims["idtyp"] != "app" || claims["appidacr"] != "2" || claims["aud"] != GraphResource || claims["appid"] != DefaultApplicationID {
		t.Errorf("claims = %v", claims)
	}
	requests := len(ts.requests(tokenPath))
	if _, err := app.AcquireTokenByCredential(ctx, []string{GraphResource + "/.default"}); err != nil {
		t.Fatalf("second AcquireTokenByCredential: %v", err)
	}
	if n := len(ts.requests("/" + DefaultTenantID + "/oauth2/v2.0/token")); n != 1 || len(ts.requests(tokenPath)) != requests {
		t.Errorf("token requests = %d, want 1 (the second call comes from MSAL's cache)", n)
	}

	// MSAL sent what modern-app-only.md §1.3 says it sends: a PS256 assertion naming
	// the certificate by x5t#S256 in padded standard base64, for the discovered token
	// endpoint. The journal shows the fields with the assertion redacted.
	hdr, cl := jwtParts(t, spy.last("client_assertion"))
	if hdr["alg"] != "PS256" || hdr["x5t#S256"] != x5tS256Std(ac) || hdr["kid"] != nil || cl["aud"] != ts.URL+"/"+DefaultTenantID+"/oauth2/v2.0/token" || cl["iat"] != nil {
		t.Errorf("MSAL's assertion: header %v claims %v", hdr, cl)
	}
	e := ts.requests("/" + DefaultTenantID + "/oauth2/v2.0/token")[0]
	if e.Fields["grant_type"] != "client_credentials" || e.Fields["client_info"] != "1" ||
		e.Fields["client_assertion_type"] != clientAssertionType || !strings.HasPrefix(e.Fields["scope"], GraphResource+"/.default") ||
		!strings.HasPrefix(e.Fields["client_assertion"], "[redacted") {
		t.Errorf("journaled fields = %v", e.Fields)
	}
}

// formSpy records the form bodies a client sends, for checks on what it sent.
type formSpy struct {
	next http.RoundTripper
	mu   sync.Mutex
	seen []url.Values
}

func (f *formSpy) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Method == http.MethodPost {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
		if v, err := url.ParseQuery(string(b)); err == nil {
			f.mu.Lock()
			f.seen = append(f.seen, v)
			f.mu.Unlock()
		}
	}
	return f.next.RoundTrip(r)
}

// last returns the last value of field sent.
func (f *formSpy) last(field string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.seen) - 1; i >= 0; i-- {
		if v := f.seen[i].Get(field); v != "" {
			return v
		}
	}
	return ""
}

// jwtParts decodes a JWT's header and claims without verifying it.
func jwtParts(t *testing.T, tok string) (map[string]any, map[string]any) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	var h, c map[string]any
	for i, dst := range []*map[string]any{&h, &c} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil || json.Unmarshal(raw, dst) != nil {
			t.Fatalf("JWT part %d does not decode: %v", i, err)
		}
	}
	return h, c
}

// golang.org/x/oauth2/clientcredentials has no private_key_jwt: the caller signs the
// assertion (here RS256 with x5t, golang-jwt) and passes client_assertion_type and
// client_assertion in EndpointParams, with AuthStyleInParams so client_id goes in the
// body and no Basic header is sent. It gets an Exchange Online token whose roles are
// the granted Exchange permissions.
func TestOAuth2ClientCredentialsWithPrivateKeyJWT(t *testing.T) {
	t.Parallel()
	ts := newTestServerAt(t, time.Now())
	ac := DefaultAppCertificate()
	now := time.Now()
	assertion := signAssertion(t, jwt.SigningMethodRS256, map[string]any{"x5t": x5t(ac)}, jwt.MapClaims{
		"aud": ts.URL + tokenPath, "iss": DefaultApplicationID, "sub": DefaultApplicationID,
		"jti": newGUID(), "nbf": now.Unix(), "iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
	}, ac.Key)
	conf := clientcredentials.Config{
		ClientID: DefaultApplicationID,
		TokenURL: ts.URL + tokenPath,
		Scopes:   []string{"https://outlook.office365.com/.default"},
		EndpointParams: map[string][]string{
			"client_assertion_type": {clientAssertionType},
			"client_assertion":      {assertion},
		},
		AuthStyle: oauth2.AuthStyleInParams,
	}
	ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), oauth2.HTTPClient, ts.Client), 30*time.Second)
	defer cancel()
	tok, err := conf.Token(ctx)
	if err != nil {
		t.Fatalf("clientcredentials Token: %v", err)
	}
	if tok.RefreshToken != "" || tok.TokenType != "Bearer" || time.Until(tok.Expiry) < 59*time.Minute {
		t.Errorf("token = type %q, refresh %v, expiry in %v", tok.TokenType, tok.RefreshToken != "", time.Until(tok.Expiry))
	}
	claims := ts.verify(t, tok.AccessToken)
	if got := stringsOf(claims["roles"]); !reflect.DeepEqual(got, VB365ApplicationPermissions().Exchange) {
		t.Errorf("roles = %v, want the granted Exchange permissions", got)
	}
	if claims["aud"] != "https://outlook.office365.com" || claims["appidacr"] != "2" {
		t.Errorf("claims = %v", claims)
	}

	// With the default AuthStyleAutoDetect, x/oauth2's first try also sends
	// "Authorization: Basic <id>:" (an empty secret) beside the assertion. What Entra does
	// with it is [?] (modern-app-only.md §1.4); the mock authenticates by the assertion.
	auto := conf
	auto.AuthStyle = oauth2.AuthStyleAutoDetect
	auto.EndpointParams = map[string][]string{
		"client_assertion_type": {clientAssertionType},
		"client_assertion": {signAssertion(t, jwt.SigningMethodRS256, map[string]any{"x5t": x5t(ac)}, jwt.MapClaims{
			"aud": ts.URL + tokenPath, "iss": DefaultApplicationID, "sub": DefaultApplicationID,
			"jti": newGUID(), "nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
		}, ac.Key)},
	}
	before := len(ts.requests(tokenPath))
	if _, err := auto.Token(ctx); err != nil {
		t.Fatalf("Token with AuthStyleAutoDetect: %v", err)
	}
	if n := len(ts.requests(tokenPath)) - before; n != 1 {
		t.Errorf("AuthStyleAutoDetect took %d requests, want 1 (the Basic try succeeds)", n)
	}
}

// Every client-credentials request is in the Entra journal with client_assertion and
// client_secret redacted (mocks/secret owns the field list; mocks/control applies it),
// in the journal and in GET /_mock/requests: the assertion, a token, keeps its short
// suffix; the secret, a credential, is redacted whole (issue 12, defect 8).
func TestClientCredentialsJournalRedactsCredentials(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, WithDirectory(testDirectory()))
	ac := DefaultAppCertificate()
	assertion := signAssertion(t, jwt.SigningMethodRS256, map[string]any{"x5t": x5t(ac)}, ts.assertionClaims(ts.Clock.Now()), ac.Key)
	if r := ts.post(t, tokenPath, ccForm(DefaultApplicationID, assertion)); r.Status != 200 {
		t.Fatalf("assertion: %d %s", r.Status, r.Raw)
	}
	secretForm := ccForm(confidentialID, "")
	secretForm.Del("client_assertion")
	secretForm.Del("client_assertion_type")
	secretForm.Set("client_secret", confidentialPW)
	if r := ts.post(t, tokenPath, secretForm); r.Status != 200 {
		t.Fatalf("secret: %d %s", r.Status, r.Raw)
	}
	entries := ts.Control().Journal().List(journal.Filter{Path: tokenPath, Field: "grant_type", Value: "client_credentials"})
	if len(entries) != 2 {
		t.Fatalf("journal has %d client_credentials requests, want 2", len(entries))
	}
	if got := entries[0].Fields["client_assertion"]; got != secret.RedactToken(assertion) {
		t.Errorf("client_assertion journaled as %q", got)
	}
	if got := entries[1].Fields["client_secret"]; got != secret.Redact(confidentialPW) {
		t.Errorf("client_secret journaled as %q", got)
	}
	if entries[0].Fields["client_id"] != DefaultApplicationID || entries[0].Status != 200 {
		t.Errorf("entry = %+v", entries[0])
	}
	r := ts.control(t, http.MethodGet, "/_mock/requests?field=grant_type&value=client_credentials", nil)
	if r.Status != 200 || strings.Contains(string(r.Raw), assertion) || strings.Contains(string(r.Raw), confidentialPW) ||
		strings.Contains(string(r.Raw), strings.Split(assertion, ".")[2]) {
		t.Errorf("GET /_mock/requests exposes a credential: %s", r.Raw)
	}
	var listed struct {
		Requests []journal.Entry `json:"requests"`
	}
	if err := json.Unmarshal(r.Raw, &listed); err != nil || len(listed.Requests) != 2 {
		t.Errorf("listing = %s (%v)", r.Raw, err)
	}
}
