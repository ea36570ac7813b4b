package veeam

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/mocks/keys"
)

// fakeEntra is the smallest Entra a unit test needs: per-tenant OpenID configuration
// and JWKS built from keys.Pooled(0), with a counter of JWKS fetches. The end-to-end
// test uses the real mocks/entra instead.
type fakeEntra struct {
	srv        *httptest.Server
	clk        clock.Clock
	keys       *keys.Set
	jwksHits   atomic.Int64
	configHits atomic.Int64
	mu         sync.Mutex
	down       bool
	hold       chan struct{} // when set, JWKS requests wait until it is closed
	delay      time.Duration // added to every JWKS answer
}

func newFakeEntra(t testing.TB, clk clock.Clock) *fakeEntra {
	t.Helper()
	fe := &fakeEntra{clk: clk, keys: keys.NewSet(keys.Pooled(0), 0, 2)}
	fe.srv = httptest.NewServer(http.HandlerFunc(fe.serve))
	t.Cleanup(fe.srv.Close)
	return fe
}

func (fe *fakeEntra) serve(w http.ResponseWriter, r *http.Request) {
	fe.mu.Lock()
	down, hold, delay := fe.down, fe.hold, fe.delay
	fe.mu.Unlock()
	if down {
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case len(parts) == 4 && parts[1] == "v2.0" && parts[2] == ".well-known" && parts[3] == "openid-configuration":
		fe.configHits.Add(1)
		tid := parts[0]
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{
			"issuer":                 fe.srv.URL + "/" + tid + "/v2.0",
			"token_endpoint":         fe.srv.URL + "/" + tid + "/oauth2/v2.0/token",
			"authorization_endpoint": fe.srv.URL + "/" + tid + "/oauth2/v2.0/authorize",
			"jwks_uri":               fe.srv.URL + "/" + tid + "/discovery/v2.0/keys",
		})
	case len(parts) == 4 && parts[1] == "discovery" && parts[2] == "v2.0" && parts[3] == "keys":
		fe.jwksHits.Add(1)
		if hold != nil {
			<-hold
		}
		time.Sleep(delay)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": fe.keys.JWKS(fe.clk.Now(), "")})
	default:
		http.NotFound(w, r)
	}
}

// entraToken describes a Graph access token to mint; zero fields get the defaults of
// a valid token for the default organization.
type entraToken struct {
	key    *keys.Key
	alg    string
	kid    *string
	header map[string]any
	claims map[string]any
	drop   []string
}

// mint signs an Entra-shaped access token (entra.md §5.1): iat = nbf = now − 300 s,
// exp = now + 3600 s.
func (fe *fakeEntra) mint(t testing.TB, spec entraToken) string {
	t.Helper()
	now := fe.clk.Now()
	key := spec.key
	if key == nil {
		key = fe.keys.Active()
	}
	claims := map[string]any{
		"aud": graphAppID, "iss": "https://sts.windows.net/" + DefaultOrganizationMSID + "/",
		"iat": now.Add(-5 * time.Minute).Unix(), "nbf": now.Add(-5 * time.Minute).Unix(), "exp": now.Add(time.Hour).Unix(),
		"tid": DefaultOrganizationMSID, "oid": "9d2b0c4e-5a1f-4e7b-8c3d-1f0a6b2e4d58",
		"scp": "Directory.AccessAsUser.All email openid profile User.ReadWrite.All", "upn": "admin@abc.onmicrosoft.com",
		"appid": "04b07795-8ddb-461a-bbee-02f9e1bf7b46", "ver": "1.0",
	}
	for k, v := range spec.claims {
		claims[k] = v
	}
	for _, k := range spec.drop {
		delete(claims, k)
	}
	alg := spec.alg
	if alg == "" {
		alg = "RS256"
	}
	kid := key.KID
	if spec.kid != nil {
		kid = *spec.kid
	}
	header := map[string]any{"typ": "JWT", "alg": alg, "kid": kid, "x5t": kid}
	for k, v := range spec.header {
		header[k] = v
	}
	return signWith(t, header, claims, func(input []byte) []byte {
		sum := sha256.Sum256(input)
		sig, err := rsa.SignPKCS1v15(rand.Reader, key.Private, crypto.SHA256, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		return sig
	})
}

func signWith(t testing.TB, header, claims map[string]any, sign func([]byte) []byte) string {
	t.Helper()
	hb, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	input := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb)
	sig := []byte{}
	if sign != nil {
		sig = sign([]byte(input))
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// tokenResponseJSON wraps an access token the way Entra's token endpoint answers, the
// document the seed passes as the assertion.
func tokenResponseJSON(access string) string {
	b, _ := json.Marshal(map[string]any{
		"token_type": "Bearer", "scope": "Directory.AccessAsUser.All User.ReadWrite.All",
		"expires_in": 3599, "ext_expires_in": 3599, "access_token": access, "refresh_token": "1.AUEA-refresh-opaque",
	})
	return string(b)
}

// seedForm is the seed's step-4 body: grant_type, client_id, assertion.
func seedForm(clientID, assertion string) string {
	return "grant_type=" + url.QueryEscape(GrantJWTBearer) + "&client_id=" + url.QueryEscape(clientID) + "&assertion=" + url.QueryEscape(assertion)
}

type testEnv struct {
	t     testing.TB
	srv   *Server
	clk   *clock.Virtual
	entra *fakeEntra
	// bare turns off sending the antiforgery token of testXSRF (the antiforgery tests
	// send what they mean).
	bare bool
	// offContract turns off the contract check of do (CheckExchange) for tests that
	// make the mock answer off the contract on purpose (stubs, faults).
	offContract bool
}

// testXSRF maps each access and refresh token a login answered to its antiforgery token,
// which do sends with it, as a client that keeps the token response's header does. One
// map for every test (tokens are unique), so a token still works on a restarted server.
var testXSRF sync.Map

// newTestServer returns a mock Veeam on a fresh virtual clock, verifying assertions
// against a fake Entra that shares the clock. Requests go straight to the handler.
func newTestServer(t testing.TB, opts ...Option) *testEnv {
	t.Helper()
	clk := clock.NewVirtual(clock.DefaultStart)
	fe := newFakeEntra(t, clk)
	all := append([]Option{WithAuthority(fe.srv.URL), WithHTTPClient(fe.srv.Client())}, opts...)
	return &testEnv{t: t, srv: New(clk, all...), clk: clk, entra: fe}
}

const (
	formType = "application/x-www-form-urlencoded"
	jsonType = "application/json"
)

// do sends one request to the server (from loopback, host 127.0.0.1:4443), checks the
// response against Veeam's OpenAPI document when the route is in it, and returns it.
func (e *testEnv) do(method, path, ctype, body string, hdr ...string) *httptest.ResponseRecorder {
	e.t.Helper()
	req := httptest.NewRequest(method, "https://127.0.0.1:4443"+path, strings.NewReader(body))
	req.RemoteAddr = "127.0.0.1:50000"
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	set := e.srv.Settings()
	if !e.bare && req.Header.Get(set.AntiforgeryHeader) == "" {
		tok, _ := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
		if rt := refreshTokenOf(ctype, body); rt != "" {
			tok = rt
		}
		if x, ok := testXSRF.Load(tok); ok {
			req.Header.Set(set.AntiforgeryHeader, x.(string))
		}
	}
	w := httptest.NewRecorder()
	e.srv.ServeHTTP(w, req)
	if x := w.Header().Get(set.AntiforgeryHeader); x != "" && w.Code == http.StatusOK {
		var tr tokenResponse
		if json.Unmarshal(w.Body.Bytes(), &tr) == nil {
			testXSRF.Store(tr.AccessToken, x)
			testXSRF.Store(tr.RefreshToken, x)
		}
	}
	checkAgainstSpec(e.t, e.srv, method, path, ctype, body, w)
	if CheckExchange != nil && !e.offContract {
		CheckExchange(e.t, "veeam", req, []byte(body), w.Code, w.Header(), w.Body.Bytes())
	}
	return w
}

// refreshTokenOf is the refresh_token field of a token request body, form or JSON.
func refreshTokenOf(ctype, body string) string {
	if ctype == jsonType {
		var f struct {
			RefreshToken string `json:"refresh_token"`
		}
		_ = json.Unmarshal([]byte(body), &f)
		return f.RefreshToken
	}
	if v, err := url.ParseQuery(body); err == nil {
		return v.Get("refresh_token")
	}
	return ""
}

// bearer is a header pair for do.
func bearer(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

// login signs in with form fields and returns the token response, failing the test on
// anything but 200.
func (e *testEnv) login(form string) tokenResponse {
	e.t.Helper()
	w := e.do("POST", "/v8/token", formType, form)
	if w.Code != http.StatusOK {
		e.t.Fatalf("login %q: %d %s", redactForm(form), w.Code, w.Body)
	}
	var tr tokenResponse
	if err := json.Unmarshal(w.Body.Bytes(), &tr); err != nil {
		e.t.Fatal(err)
	}
	return tr
}

func (e *testEnv) adminLogin() tokenResponse {
	e.t.Helper()
	return e.login("grant_type=password&username=Administrator&password=" + url.QueryEscape(DefaultAdminPassword))
}

// bearerOnlyLogin signs the administrator in with disable_antiforgery_token=true, as a
// client that sends only the bearer token (the benchmarks) must.
func (e *testEnv) bearerOnlyLogin() tokenResponse {
	e.t.Helper()
	return e.login("grant_type=password&username=Administrator&disable_antiforgery_token=true&password=" + url.QueryEscape(DefaultAdminPassword))
}

func (e *testEnv) tenantLogin() tokenResponse {
	e.t.Helper()
	return e.login(seedForm(DefaultOrganization, tokenResponseJSON(e.entra.mint(e.t, entraToken{}))))
}

// redactForm keeps secrets out of test failure messages.
func redactForm(form string) string {
	vals, err := url.ParseQuery(form)
	if err != nil {
		return "(unparsable form)"
	}
	for _, k := range []string{"password", "assertion", "refresh_token"} {
		if vals.Has(k) {
			vals.Set(k, "[redacted]")
		}
	}
	return vals.Encode()
}

// decode unmarshals a response body.
func decode[T any](t testing.TB, w *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %T from %q: %v", v, w.Body.String(), err)
	}
	return v
}

func ptr[T any](v T) *T { return &v }

func decodeJSONBytes(b []byte, v any) error { return json.Unmarshal(b, v) }
