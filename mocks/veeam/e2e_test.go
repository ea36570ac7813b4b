package veeam

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/mocks/entra"
	"github.com/vbharness/vbharness/mocks/journal"
	"github.com/vbharness/vbharness/mocks/tlsca"
)

// stack is the real mock Entra and the mock Veeam, each over HTTPS with a certificate
// from one local CA, sharing one virtual clock, as `vbharness mock` serves them.
type stack struct {
	clk      *clock.Virtual
	entra    *entra.Server
	veeam    *Server
	entraURL string
	veeamURL string
	client   *http.Client
}

func newStack(t *testing.T) *stack {
	t.Helper()
	ca, err := tlsca.New(time.Now()) // certificates are checked against the wall clock
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Issue(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}
	t.Cleanup(tr.CloseIdleConnections)
	jar, _ := cookiejar.New(nil) // the seed's requests carry no flag: the antiforgery cookie comes back as a browser's would
	st := &stack{clk: clock.NewVirtual(clock.DefaultStart), client: &http.Client{Transport: tr, Jar: jar}}

	serve := func(h func(origin string) http.Handler) string {
		hs := httptest.NewUnstartedServer(nil)
		origin := "https://" + hs.Listener.Addr().String()
		hs.Config.Handler = h(origin)
		hs.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
		hs.StartTLS()
		t.Cleanup(hs.Close)
		return origin
	}
	st.entraURL = serve(func(origin string) http.Handler {
		st.entra = entra.New(st.clk, entra.WithBaseURL(origin))
		return st.entra
	})
	st.veeamURL = serve(func(string) http.Handler {
		st.veeam = New(st.clk, WithAuthority(st.entraURL), WithHTTPClient(st.client))
		return st.veeam
	})
	return st
}

// send makes one request and returns the status, headers and body.
func (st *stack) send(t *testing.T, method, u, ctype, body, tok string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := st.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if CheckExchange != nil {
		service := "veeam"
		if strings.HasPrefix(u, st.entraURL) {
			service = "entra"
		}
		CheckExchange(t, service, req, []byte(body), resp.StatusCode, resp.Header, b)
	}
	return resp.StatusCode, resp.Header, b
}

// CheckExchange, when set (contract_test.go, an external test that can import
// mocks/contract, which imports this package), checks every exchange the end-to-end
// tests make against the contract: the mock and the contract checker must agree.
var CheckExchange func(t testing.TB, service string, req *http.Request, reqBody []byte, status int, header http.Header, body []byte)

// entraLogin runs the seed's steps 1–3 with the seed's exact requests: device code,
// approval through the Entra control API (the user's browser step), token. It returns
// the raw token response, the document the seed passes as the assertion.
func (st *stack) entraLogin(t *testing.T) string {
	t.Helper()
	code, _, body := st.send(t, "POST", st.entraURL+"/abc.onmicrosoft.com/oauth2/v2.0/devicecode", formType,
		"client_id=04b07795-8ddb-461a-bbee-02f9e1bf7b46&scope=Directory.AccessAsUser.All User.ReadWrite.All offline_access", "")
	if code != 200 {
		t.Fatalf("devicecode: %d %s", code, body)
	}
	var dc struct {
		UserCode   string `json:"user_code"`
		DeviceCode string `json:"device_code"`
	}
	if err := json.Unmarshal(body, &dc); err != nil {
		t.Fatal(err)
	}
	if code, _, body := st.send(t, "POST", st.entraURL+"/_mock/devicecodes/approve", jsonType, `{"user_code":"`+dc.UserCode+`"}`, ""); code != 200 {
		t.Fatalf("approve: %d %s", code, body)
	}
	code, _, body = st.send(t, "POST", st.entraURL+"/abc.onmicrosoft.com/oauth2/v2.0/token", formType,
		"grant_type=urn:ietf:params:oauth:grant-type:device_code&client_id=04b07795-8ddb-461a-bbee-02f9e1bf7b46&device_code="+dc.DeviceCode, "")
	if code != 200 {
		t.Fatalf("token: %d %s", code, body)
	}
	return string(body)
}

// seedStep4 is the seed's step-4 body: the whole Entra token response written into the
// form as it is, as the seed document shows it. Characters that a form would change
// (+, &, %) are escaped, so the assertion arrives intact.
func seedStep4(assertion string) string {
	if strings.ContainsAny(assertion, "+&%") {
		assertion = url.QueryEscape(assertion)
	}
	return "grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&client_id=abc.onmicrosoft.com&assertion=" + assertion
}

func (st *stack) veeamLogin(t *testing.T, form string) tokenResponse {
	t.Helper()
	code, _, body := st.send(t, "POST", st.veeamURL+"/v8/token", formType, form, "")
	if code != 200 {
		t.Fatalf("POST /v8/token: %d %s", code, body)
	}
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		t.Fatal(err)
	}
	return tr
}

func (st *stack) jwksFetches() int {
	n := 0
	for _, e := range st.entra.Control().Journal().List(journal.Filter{Method: "GET"}) {
		if strings.HasSuffix(e.Path, "/discovery/v2.0/keys") {
			n++
		}
	}
	return n
}

// Acceptance 1: the seed's flow end to end over HTTPS with its exact requests: device
// code → approve → token → /v8/token jwt-bearer → GET /v8/Organization 200 → the shared
// clock advances 61 minutes → 401 → refresh → 200 → logout → 401. The client keeps
// cookies, so the antiforgery token the token response sets goes with each call and the
// refresh, as the default (enforced) antiforgery requires.
func TestSeedFlowEndToEnd(t *testing.T) {
	t.Parallel()
	st := newStack(t)
	tr := st.veeamLogin(t, seedStep4(st.entraLogin(t)))
	if tr.TokenType != "bearer" || tr.ExpiresIn != 3600 || tr.UserName != entra.DefaultAdminUPN {
		t.Errorf("token response = %+v", tr)
	}
	getOrg := func(tok string) (int, []byte) {
		code, hdr, body := st.send(t, "GET", st.veeamURL+"/v8/Organization", "", "", tok)
		if code == 401 && (len(body) != 0 || hdr.Get("WWW-Authenticate") != "Bearer") {
			t.Errorf("401 with body %q, WWW-Authenticate %q", body, hdr.Get("WWW-Authenticate"))
		}
		return code, body
	}
	code, body := getOrg(tr.AccessToken)
	if code != 200 || !strings.Contains(string(body), `"name":"abc.onmicrosoft.com"`) {
		t.Fatalf("GET /v8/Organization: %d %s", code, body)
	}
	if code, _, body := st.send(t, "POST", st.veeamURL+"/_mock/clock/advance", jsonType, `{"duration":"61m"}`, ""); code != 200 {
		t.Fatalf("advance the clock: %d %s", code, body)
	}
	if code, _ := getOrg(tr.AccessToken); code != 401 {
		t.Fatalf("after 61 minutes: %d, want 401", code)
	}
	next := st.veeamLogin(t, "grant_type=refresh_token&refresh_token="+tr.RefreshToken)
	if code, body := getOrg(next.AccessToken); code != 200 {
		t.Fatalf("after refresh: %d %s", code, body)
	}
	if code, _, body := st.send(t, "POST", st.veeamURL+"/v8/token/logout", "", "", next.AccessToken); code != 204 || len(body) != 0 {
		t.Fatalf("logout: %d %q", code, body)
	}
	if code, _ := getOrg(next.AccessToken); code != 401 {
		t.Fatalf("after logout: %d, want 401", code)
	}
	if st.entra.Control().Clock().Now() != st.veeam.Control().Clock().Now() {
		t.Error("the two mocks read different clocks")
	}
}

// Acceptance 4 end to end: after POST /_mock/keys/rotate on the Entra mock, a token
// signed by the new key is accepted, and Entra's journal shows exactly one JWKS
// refetch by the Veeam mock.
func TestEntraKeyRotationEndToEnd(t *testing.T) {
	t.Parallel()
	st := newStack(t)
	st.veeamLogin(t, seedStep4(st.entraLogin(t)))
	if n := st.jwksFetches(); n != 1 {
		t.Fatalf("first login: %d JWKS fetches, want 1", n)
	}
	code, _, body := st.send(t, "POST", st.entraURL+"/_mock/keys/rotate", "", "", "")
	if code != 200 {
		t.Fatalf("rotate: %d %s", code, body)
	}
	var rotated struct {
		Kid string `json:"kid"`
	}
	_ = json.Unmarshal(body, &rotated)
	assertion := st.entraLogin(t)
	var resp struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.Unmarshal([]byte(assertion), &resp)
	var hdr struct {
		Kid string `json:"kid"`
	}
	_ = json.Unmarshal(jwtPart(t, resp.AccessToken, 0), &hdr)
	if hdr.Kid != rotated.Kid {
		t.Fatalf("Entra signed with kid %q after rotating to %q", hdr.Kid, rotated.Kid)
	}
	st.veeamLogin(t, seedStep4(assertion))
	if n := st.jwksFetches(); n != 2 {
		t.Errorf("after rotation: %d JWKS fetches in Entra's journal, want 2 (exactly one refetch)", n)
	}
	st.veeamLogin(t, seedStep4(st.entraLogin(t)))
	if n := st.jwksFetches(); n != 2 {
		t.Errorf("another login with the new key: %d JWKS fetches, want still 2", n)
	}
}
