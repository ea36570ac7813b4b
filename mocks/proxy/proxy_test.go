package proxy_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/mocks/contract"
	"github.com/vbharness/vbharness/mocks/entra"
	"github.com/vbharness/vbharness/mocks/journal"
	"github.com/vbharness/vbharness/mocks/proxy"
	"github.com/vbharness/vbharness/mocks/record"
	"github.com/vbharness/vbharness/mocks/tlsca"
	"github.com/vbharness/vbharness/mocks/veeam"
)

const (
	formType = "application/x-www-form-urlencoded"
	jsonType = "application/json"
	jobID    = "8c3e2a1b-4d5f-4a6b-9c7d-0e1f2a3b4c5d"
	// goodJob is a Job as the v8 document has it; the stubs below break it one way each.
	goodJob = `{"id":"` + jobID + `","name":"Daily","lastStatus":"Success","eTag":3,"isEnabled":true,"_links":{"self":{"href":"/v8/Jobs/` + jobID + `"}}}`
)

// lab is a stand-in for a lab: the mock Entra and the mock Veeam over HTTPS with
// certificates of one CA, and the proxy in front of both, over HTTPS too.
type lab struct {
	entra    *entra.Server
	veeam    *veeam.Server
	entraURL string
	veeamURL string
	proxy    *proxy.Proxy
	proxyURL string
	client   *http.Client // trusts the CA, keeps cookies (antiforgery)
}

func newLab(t testing.TB, opts ...proxy.Option) *lab {
	t.Helper()
	ca, err := tlsca.New(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Issue(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}
	t.Cleanup(tr.CloseIdleConnections)
	jar, _ := cookiejar.New(nil)
	l := &lab{client: &http.Client{Transport: tr, Jar: jar}}
	clk := clock.NewVirtual(clock.DefaultStart)
	serve := func(h func(origin string) http.Handler) string {
		hs := httptest.NewUnstartedServer(nil)
		origin := "https://" + hs.Listener.Addr().String()
		hs.Config.Handler = h(origin)
		hs.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
		hs.StartTLS()
		t.Cleanup(hs.Close)
		return origin
	}
	upstream := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}
	t.Cleanup(upstream.CloseIdleConnections)
	l.entraURL = serve(func(origin string) http.Handler {
		// x/oauth2 waits the polling interval on the wall clock before its first poll.
		l.entra = entra.New(clk, entra.WithBaseURL(origin), entra.WithLifetimes(entra.Lifetimes{Interval: time.Second}))
		return l.entra
	})
	l.veeamURL = serve(func(string) http.Handler {
		l.veeam = veeam.New(clk, veeam.WithAuthority(l.entraURL), veeam.WithHTTPClient(&http.Client{Transport: upstream}))
		return l.veeam
	})
	vu, _ := url.Parse(l.veeamURL)
	eu, _ := url.Parse(l.entraURL)
	l.proxyURL = serve(func(string) http.Handler {
		l.proxy = proxy.New(vu, append([]proxy.Option{proxy.WithEntraUpstream(eu), proxy.WithTransport(upstream),
			proxy.WithChecker(contract.New())}, opts...)...)
		return l.proxy
	})
	t.Cleanup(l.proxy.Close)
	return l
}

func (l *lab) send(t testing.TB, method, u, ctype, body, tok string) (int, http.Header, []byte) {
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
	resp, err := l.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// adminToken signs the Veeam administrator in through the proxy.
func (l *lab) adminToken(t testing.TB) (access, refresh string) {
	t.Helper()
	code, _, body := l.send(t, "POST", l.proxyURL+"/v8/token", formType,
		"grant_type=password&username=Administrator&password="+url.QueryEscape(veeam.DefaultAdminPassword)+"&disable_antiforgery_token=true", "")
	if code != 200 {
		t.Fatalf("POST /v8/token through the proxy: %d %s", code, body)
	}
	var tr struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal(body, &tr); err != nil || tr.AccessToken == "" {
		t.Fatalf("token response %s: %v", body, err)
	}
	return tr.AccessToken, tr.RefreshToken
}

func (l *lab) stub(t *testing.T, path string, status int, body string) {
	t.Helper()
	if _, err := l.veeam.AddStub(veeam.Stub{Method: "GET", Path: path, Status: status, Body: veeam.JSONValue(body)}); err != nil {
		t.Fatal(err)
	}
}

// getJSON reads one of the proxy's JSON routes.
func (l *lab) getJSON(t *testing.T, path string, v any) []byte {
	t.Helper()
	code, _, body := l.send(t, "GET", l.proxyURL+path, "", "", "")
	if code != 200 {
		t.Fatalf("GET %s: %d %s", path, code, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v in %s", path, err, body)
	}
	return body
}

// Acceptance 1, the proxy's part: a lab whose answers break the contract in each way,
// and the proxy reports each, with its pointer, while the client gets the lab's
// answers unchanged.
func TestProxyReportsEachViolation(t *testing.T) {
	t.Parallel()
	var printed []string
	printedCh := make(chan string, 100)
	l := newLab(t, proxy.WithViolationHandler(func(f proxy.Finding) { printedCh <- f.Violation.String() }))
	id := func(n int) string { return strings.Replace(jobID, "0e1f", "0e1"+string(rune('0'+n)), 1) }
	job := func(n int, from, to string) string {
		return strings.Replace(strings.ReplaceAll(goodJob, jobID, id(n)), from, to, 1)
	}
	cases := []struct {
		name, path, template string
		status               int
		body                 string
		pointer, expect      string
	}{
		{"missing required property", "/v8/Jobs", "/v8/Jobs", 200, `{"offset":0,"limit":30}`, "/results", `required property "results"`},
		{"wrong type", "/v8/Jobs/" + id(2), "/v8/Jobs/{jobId}", 200, job(2, `"eTag":3`, `"eTag":"3"`), "/eTag", "an integer"},
		{"unknown enum value", "/v8/Jobs/" + id(3), "/v8/Jobs/{jobId}", 200, job(3, `"Success"`, `"Bogus"`), "/lastStatus", "one of"},
		{"null where non-nullable", "/v8/Jobs/" + id(4), "/v8/Jobs/{jobId}", 200, job(4, `"Daily"`, `null`), "/name", "not null"},
		{"wrong status", "/v8/Jobs/" + id(5), "/v8/Jobs/{jobId}", 202, job(5, "", ""), "", "a status the operation declares"},
	}
	for _, c := range cases {
		l.stub(t, c.path, c.status, c.body)
	}
	access, refresh := l.adminToken(t)
	for _, c := range cases {
		code, _, body := l.send(t, "GET", l.proxyURL+c.path, "", "", access)
		if code != c.status || !bytes.Equal(body, []byte(c.body)) {
			t.Errorf("%s: the client got %d %s, want the lab's %d %s unchanged", c.name, code, body, c.status, c.body)
		}
	}
	l.proxy.Settle()
	var got struct {
		Total      int             `json:"total"`
		Violations []proxy.Finding `json:"violations"`
	}
	vbody := l.getJSON(t, "/_proxy/violations", &got)
	for _, c := range cases {
		found := false
		for _, v := range got.Violations {
			if v.Path == c.template && v.Status == c.status && v.Pointer == c.pointer && strings.Contains(v.Expected, c.expect) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no violation at %q expecting ~%q in\n%s", c.name, c.pointer, c.expect, vbody)
		}
	}
	if got.Total != len(got.Violations) || got.Total < len(cases) {
		t.Errorf("total %d, %d listed, want at least %d", got.Total, len(got.Violations), len(cases))
	}
	for len(printed) < got.Total {
		select {
		case s := <-printedCh:
			printed = append(printed, s)
		case <-time.After(2 * time.Second):
			t.Fatalf("%d violations printed, want %d", len(printed), got.Total)
		}
	}
	for _, s := range printed {
		if strings.Contains(s, "\n") {
			t.Errorf("a violation printed over several lines: %q", s)
		}
	}

	// Every violation's exchange is in the journal, and no secret is anywhere.
	var reqs struct {
		Requests []struct {
			Seq    int64             `json:"seq"`
			Server string            `json:"server"`
			Path   string            `json:"path"`
			Status int               `json:"status"`
			Fields map[string]string `json:"fields"`
		} `json:"requests"`
	}
	rbody := l.getJSON(t, "/_proxy/requests", &reqs)
	if len(reqs.Requests) != len(cases)+1 {
		t.Errorf("journal holds %d requests, want %d:\n%s", len(reqs.Requests), len(cases)+1, rbody)
	}
	if f := reqs.Requests[0].Fields; f["grant_type"] != "password" || f["password"] != "[redacted]" {
		t.Errorf("the token request's fields are journaled as %v", f)
	}
	sum := l.proxy.Summary("fail")
	var js, ju bytes.Buffer
	if err := sum.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	if err := sum.WriteJUnit(&ju); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ju.String(), `<testcase name="GET /v8/Jobs/{jobId} (Job_GetById)" classname="contract.veeam">`) ||
		!strings.Contains(ju.String(), `<failure message="4 contract violation(s)" type="contract">`) ||
		!strings.Contains(ju.String(), `<testcase name="POST /v8/token (token)" classname="contract.veeam"></testcase>`) {
		t.Errorf("JUnit report lacks the operation's failure:\n%s", ju.String())
	}
	for name, text := range map[string]string{"/_proxy/violations": string(vbody), "/_proxy/requests": string(rbody),
		"JSON report": js.String(), "JUnit report": ju.String(), "printed": strings.Join(printed, "\n")} {
		for _, s := range []string{access, refresh, veeam.DefaultAdminPassword, url.QueryEscape(veeam.DefaultAdminPassword)} {
			if strings.Contains(text, s) {
				t.Errorf("%s holds a secret (%.12s…)", name, s)
			}
		}
	}
}

// The seed flow runs through the proxy unchanged with both the authority and the Veeam
// URL pointed at it: device code and token from Entra (routed by path), the assertion
// exchanged at /v8/token, the organization read, a refresh. The proxy finds nothing
// wrong with the mocks, and none of the tokens it saw is in its journal or summary.
func TestSeedFlowThroughProxy(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	// The Entra half with golang.org/x/oauth2's device flow, at the proxy's address.
	conf := &oauth2.Config{
		ClientID: "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
		Scopes:   []string{"Directory.AccessAsUser.All", "User.ReadWrite.All", "offline_access"},
		Endpoint: oauth2.Endpoint{DeviceAuthURL: l.proxyURL + "/abc.onmicrosoft.com/oauth2/v2.0/devicecode",
			TokenURL: l.proxyURL + "/abc.onmicrosoft.com/oauth2/v2.0/token", AuthStyle: oauth2.AuthStyleInParams},
	}
	ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), oauth2.HTTPClient, l.client), 30*time.Second)
	defer cancel()
	da, err := conf.DeviceAuth(ctx)
	if err != nil {
		t.Fatalf("DeviceAuth through the proxy: %v", err)
	}
	dc := struct{ UserCode, DeviceCode string }{da.UserCode, da.DeviceCode}
	// The person approves in a browser, on Entra itself.
	if code, _, body := l.send(t, "POST", l.entraURL+"/_mock/devicecodes/approve", jsonType, `{"user_code":"`+dc.UserCode+`"}`, ""); code != 200 {
		t.Fatalf("approve: %d %s", code, body)
	}
	tok, err := conf.DeviceAccessToken(ctx, da)
	if err != nil {
		t.Fatalf("DeviceAccessToken through the proxy: %v", err)
	}
	// The seed's step 4 sends the Entra token response whole as the assertion.
	entraTok, _ := json.Marshal(map[string]any{"token_type": tok.TokenType, "scope": tok.Extra("scope"), "expires_in": tok.ExpiresIn,
		"access_token": tok.AccessToken, "refresh_token": tok.RefreshToken, "id_token": tok.Extra("id_token")})
	code, _, body := l.send(t, "POST", l.proxyURL+"/v8/token", formType,
		"grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&client_id=abc.onmicrosoft.com&assertion="+url.QueryEscape(string(entraTok)), "")
	if code != 200 {
		t.Fatalf("POST /v8/token jwt-bearer through the proxy: %d %s", code, body)
	}
	var tr struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal(body, &tr); err != nil {
		t.Fatal(err)
	}
	if code, _, body := l.send(t, "GET", l.proxyURL+"/v8/Organization", "", "", tr.AccessToken); code != 200 || !strings.Contains(string(body), `"name":"abc.onmicrosoft.com"`) {
		t.Fatalf("GET /v8/Organization through the proxy: %d %s", code, body)
	}
	code, _, body = l.send(t, "POST", l.proxyURL+"/v8/token", formType, "grant_type=refresh_token&refresh_token="+tr.RefreshToken, "")
	if code != 200 {
		t.Fatalf("refresh through the proxy: %d %s", code, body)
	}
	var next struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.Unmarshal(body, &next)

	l.proxy.Settle()
	sum := l.proxy.Summary("warn")
	if sum.Stats.Exchanges != 5 || sum.Stats.Entra != 2 || sum.Stats.Veeam != 3 {
		t.Errorf("stats %+v, want 5 exchanges: 2 Entra, 3 Veeam", sum.Stats)
	}
	if len(sum.Violations) != 0 {
		t.Errorf("the mocks broke the contract through the proxy: %v", sum.Violations)
	}
	var entraDoc map[string]any
	_ = json.Unmarshal(entraTok, &entraDoc)
	secrets := []string{dc.DeviceCode, dc.UserCode, tr.AccessToken, tr.RefreshToken, next.AccessToken}
	for _, k := range []string{"access_token", "refresh_token", "id_token"} {
		if s, _ := entraDoc[k].(string); s != "" {
			secrets = append(secrets, s)
		}
	}
	var reqs any
	rbody := l.getJSON(t, "/_proxy/requests", &reqs)
	var js, ju bytes.Buffer
	_ = sum.WriteJSON(&js)
	_ = sum.WriteJUnit(&ju)
	for name, text := range map[string]string{"/_proxy/requests": string(rbody), "JSON report": js.String(), "JUnit report": ju.String()} {
		for _, s := range secrets {
			if s == "" {
				t.Fatal("a secret of the flow is empty")
			}
			if strings.Contains(text, s) || strings.Contains(text, url.QueryEscape(s)) {
				t.Errorf("%s holds a secret of the flow (%.12s…)", name, s)
			}
		}
	}
	if !strings.Contains(string(rbody), `"server":"entra"`) || !strings.Contains(string(rbody), `"path":"/abc.onmicrosoft.com/oauth2/v2.0/token"`) {
		t.Errorf("the journal lacks the Entra exchanges:\n%s", rbody)
	}
}

// The proxy's routes follow the mocks' control API: JSON errors, GET only, and no web
// page of another origin.
func TestProxyRoutes(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	for _, c := range []struct {
		method, path string
		header       map[string]string
		status       int
	}{
		{"GET", "/_proxy/nothing", nil, 404},
		{"POST", "/_proxy/violations", nil, 405},
		{"GET", "/_proxy/requests?since=x", nil, 400},
		{"GET", "/_proxy/requests", map[string]string{"Origin": "https://evil.example"}, 403},
	} {
		req, _ := http.NewRequest(c.method, l.proxyURL+c.path, nil)
		for k, v := range c.header {
			req.Header.Set(k, v)
		}
		resp, err := l.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var e struct {
			Error string `json:"error"`
		}
		if resp.StatusCode != c.status || json.Unmarshal(body, &e) != nil || e.Error == "" {
			t.Errorf("%s %s: %d %s, want %d with a JSON error", c.method, c.path, resp.StatusCode, body, c.status)
		}
	}
	// With a control token, the routes want it.
	tl := newLab(t, proxy.WithControlToken("proxy-control-token"))
	code, _, _ := tl.send(t, "GET", tl.proxyURL+"/_proxy/requests", "", "", "")
	if code != 401 {
		t.Errorf("without the control token: %d, want 401", code)
	}
	code, _, _ = tl.send(t, "GET", tl.proxyURL+"/_proxy/requests", "", "", "proxy-control-token")
	if code != 200 {
		t.Errorf("with the control token: %d, want 200", code)
	}
}

// An upstream that cannot be reached gets the client a 502 in the proxy's JSON shape,
// journaled, and nothing checked on the response side.
func TestProxyUpstreamDown(t *testing.T) {
	t.Parallel()
	hs := httptest.NewTLSServer(http.NotFoundHandler())
	u, _ := url.Parse(hs.URL)
	hs.Close()
	p := proxy.New(u, proxy.WithChecker(contract.New()))
	srv := httptest.NewServer(p)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/v8/Jobs")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 502 || !strings.Contains(string(body), `"error":"the upstream did not answer`) {
		t.Errorf("got %d %s, want 502 with a JSON error", resp.StatusCode, body)
	}
	p.Close()
	if es := p.Journal().List(journalAll); len(es) != 1 || es[0].Status != 502 {
		t.Errorf("journal %+v, want one entry with status 502", es)
	}
	if s := p.Summary("fail"); s.Stats.Violations != 0 || s.Stats.Exchanges != 1 {
		t.Errorf("summary %+v, want one exchange and no violation", s.Stats)
	}
}

// A request body over the limit gets 413 and is not forwarded.
func TestProxyRequestBodyLimit(t *testing.T) {
	t.Parallel()
	forwarded := false
	hs := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { forwarded = true }))
	defer hs.Close()
	u, _ := url.Parse(hs.URL)
	p := proxy.New(u)
	srv := httptest.NewServer(p)
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/v8/Jobs", jsonType, bytes.NewReader(make([]byte, proxy.MaxRequestBody+1)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	p.Close()
	if resp.StatusCode != 413 || forwarded {
		t.Errorf("got %d (forwarded %v), want 413, not forwarded", resp.StatusCode, forwarded)
	}
}

var journalAll = journal.Filter{}

// An upstream that breaks off its answer mid-body (a lab's connection reset) is not a
// contract violation: the proxy never saw the body, so the exchange is unchecked, and
// nothing is recorded. Behind a real server the reverse proxy aborts the handler on the
// copy error, which takes another path than a handler called directly.
func TestProxyUpstreamBreaksOffMidBody(t *testing.T) {
	t.Parallel()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", jsonType)
		w.Header().Set("Content-Length", "1000")
		io.WriteString(w, `{"offset":0,"limit":30,"results":[`)
		w.(http.Flusher).Flush()
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	defer hs.Close()
	u, _ := url.Parse(hs.URL)
	p := proxy.New(u, proxy.WithChecker(contract.New()))
	srv := httptest.NewServer(p)
	defer srv.Close()
	if resp, err := http.Get(srv.URL + "/v8/Jobs"); err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	p.Close()
	s := p.Summary("fail")
	if s.Stats.Violations != 0 || len(s.Violations) != 0 {
		t.Errorf("violations %+v, want none: the answer was cut off, not empty", s.Violations)
	}
	if s.Stats.Exchanges != 1 || s.Stats.Unchecked != 1 {
		t.Errorf("stats %+v, want one exchange, unchecked", s.Stats)
	}
}

// The Veeam mock's control API answers loopback callers only (unless the mock has a
// control token), and the proxy reaches its upstream from the loopback: forwarding
// /_mock/ for anyone made a proxy listening off the loopback (with a control token for
// its own routes) a way for any machine to reset the mock, add stubs or approve its
// own device codes. /_mock/ is forwarded to the callers the proxy's own routes answer.
func TestProxyForwardsTheMocksControlAPIOnlyToWhomItsOwnRoutesAnswer(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var forwarded []string
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		forwarded = append(forwarded, r.URL.Path)
		io.WriteString(w, `{"now":"2026-01-01T00:00:00Z","virtual":false}`)
	}))
	defer hs.Close()
	u, _ := url.Parse(hs.URL)
	for _, c := range []struct {
		name, token, remote, path, auth string
		status                          int
	}{
		{"a loopback caller, no token", "", "127.0.0.1:5000", "/_mock/clock", "", 200},
		{"another machine, no token", "", "192.0.2.10:5000", "/_mock/clock", "", 403},
		{"another machine, upper case", "", "192.0.2.10:5000", "/_MOCK/reset", "", 403},
		{"another machine without the token", "tok", "192.0.2.10:5000", "/_mock/reset", "", 401},
		{"another machine with the token", "tok", "192.0.2.10:5000", "/_mock/clock", "Bearer tok", 200},
		{"another machine, a Veeam path", "tok", "192.0.2.10:5000", "/v8/Health", "", 200},
	} {
		mu.Lock()
		forwarded = nil
		mu.Unlock()
		var opts []proxy.Option
		if c.token != "" {
			opts = append(opts, proxy.WithControlToken(c.token))
		}
		p := proxy.New(u, opts...)
		req := httptest.NewRequest("GET", "https://127.0.0.1:4443"+c.path, nil)
		req.RemoteAddr = c.remote
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		w := httptest.NewRecorder()
		p.ServeHTTP(w, req)
		p.Close()
		mu.Lock()
		if w.Code != c.status || (c.status == 200) != (len(forwarded) == 1) {
			t.Errorf("%s: %d %s, forwarded %v; want %d", c.name, w.Code, w.Body, forwarded, c.status)
		}
		mu.Unlock()
	}
}

// recorderOf adapts a record.Recorder to the proxy, as the CLI does.
type recorderOf struct{ *record.Recorder }

func (r recorderOf) Add(ex proxy.Exchange) error { return r.Recorder.Add(record.Exchange(ex)) }

// The recorder learns secrets from every exchange it is handed, Entra's included, and
// records only Veeam's: the proxy handed it Veeam's alone, so a Veeam answer that
// carried an Entra token the client had got through the proxy kept it in the recording
// (the assertion carries Entra's tokens inside a form field, which the recorder does
// not open).
func TestProxyRecordingScrubsEntrasTokens(t *testing.T) {
	t.Parallel()
	const rt = "0.AXYA-entra-refresh-token-that-must-not-be-recorded"
	entraUp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", jsonType)
		io.WriteString(w, `{"token_type":"Bearer","expires_in":3599,"access_token":"eyJ0eXAiOiJKV1QifQ.e30.entra-access","refresh_token":"`+rt+`"}`)
	}))
	defer entraUp.Close()
	veeamUp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", jsonType)
		io.WriteString(w, `{"installationId":"11111111-2222-4333-8444-555555555555","version":"8.0.5.20","note":"`+rt+`"}`)
	}))
	defer veeamUp.Close()
	vu, _ := url.Parse(veeamUp.URL)
	eu, _ := url.Parse(entraUp.URL)
	dir := t.TempDir()
	rec, err := record.New(record.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	p := proxy.New(vu, proxy.WithEntraUpstream(eu), proxy.WithRecorder(recorderOf{rec}))
	srv := httptest.NewServer(p)
	defer srv.Close()
	for _, req := range []struct{ method, path, body string }{
		{"POST", "/abc.onmicrosoft.com/oauth2/v2.0/token", "grant_type=refresh_token&refresh_token=old-entra-refresh-token"},
		{"GET", "/v8/ServiceInstance", ""},
	} {
		r, _ := http.NewRequest(req.method, srv.URL+req.path, strings.NewReader(req.body))
		r.Header.Set("Content-Type", formType)
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	p.Close()
	if n, err := rec.Close(); n != 1 || err != nil {
		t.Fatalf("recorded %d stubs (%v), want the one of /v8/ServiceInstance", n, err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if strings.Contains(string(b), rt) {
			t.Errorf("%s holds Entra's refresh token:\n%s", filepath.Base(f), b)
		}
	}
}

// A client that accepts gzip (curl --compressed, Python's requests, a Go client's
// transport) sends Accept-Encoding through the proxy, and an upstream that compresses
// answers gzip: the proxy checked and recorded the compressed bytes ("invalid JSON:
// invalid character '\x1f'", "a binary body"). It checks and records the decoded answer,
// while the client still gets the upstream's bytes.
func TestProxyDecodesAGzipAnswer(t *testing.T) {
	t.Parallel()
	const instance = `{"installationId":"11111111-2222-4333-8444-555555555555","version":"8.0.5.20"}`
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", jsonType)
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		io.WriteString(zw, instance)
		zw.Close()
	}))
	defer up.Close()
	u, _ := url.Parse(up.URL)
	dir := t.TempDir()
	rec, err := record.New(record.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	p := proxy.New(u, proxy.WithChecker(contract.New()), proxy.WithRecorder(recorderOf{rec}))
	srv := httptest.NewServer(p)
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/v8/ServiceInstance", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" || bytes.Equal(raw, []byte(instance)) {
		t.Errorf("the client got %q encoded %q, want the upstream's gzip bytes", raw, resp.Header.Get("Content-Encoding"))
	}
	p.Close()
	if s := p.Summary("fail"); s.Stats.Violations != 0 || s.Stats.Unchecked != 0 {
		t.Errorf("stats %+v, violations %v: want the decoded answer checked and kept", s.Stats, s.Violations)
	}
	if n, err := rec.Close(); n != 1 || err != nil {
		t.Fatalf("recorded %d stubs (%v), want 1", n, err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	b, _ := os.ReadFile(files[0])
	if !strings.Contains(string(b), `"version": "8.0.5.20"`) || strings.Contains(string(b), "gzip") {
		t.Errorf("recording %s: want the decoded body, without Content-Encoding", b)
	}
}
