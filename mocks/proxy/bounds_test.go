package proxy_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vbharness/vbharness/mocks/contract"
	"github.com/vbharness/vbharness/mocks/proxy"
)

// inProcess is a proxy whose upstreams answer in-process: Veeam's GET /v8/Jobs without
// its required "results" (one violation each), every other path 404.
func inProcess(t *testing.T, opts ...proxy.Option) *proxy.Proxy {
	t.Helper()
	veeamURL, _ := url.Parse("https://vb365.lab.invalid:4443")
	entraURL, _ := url.Parse("https://login.lab.invalid")
	p := proxy.New(veeamURL, append([]proxy.Option{proxy.WithEntraUpstream(entraURL), proxy.WithChecker(contract.New()),
		proxy.WithTransport(roundTripFunc(func(r *http.Request) *http.Response {
			if r.URL.Path == "/v8/Jobs" {
				return jsonAnswer(200, `{"offset":0,"limit":30}`)
			}
			return jsonAnswer(404, `{"message":"not found","errorCode":"NotFound"}`)
		}))}, opts...)...)
	t.Cleanup(p.Close)
	return p
}

// serve sends one request to the proxy from the loopback and returns its answer.
func serve(p *proxy.Proxy, method, path string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "http://127.0.0.1"+path, nil)
	req.RemoteAddr = "127.0.0.1:40000"
	w := httptest.NewRecorder()
	p.ServeHTTP(w, req)
	return w
}

func summaryReports(t *testing.T, s proxy.Summary) (js, ju string) {
	t.Helper()
	var a, b bytes.Buffer
	if err := s.WriteJSON(&a); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteJUnit(&b); err != nil {
		t.Fatal(err)
	}
	return a.String(), b.String()
}

// A proxy running for hours keeps the newest violations, as the journal keeps its
// newest entries, and every report says how many older ones it dropped.
func TestProxyKeepsTheNewestViolationsAndSaysHowManyItDropped(t *testing.T) {
	t.Parallel()
	p := inProcess(t, proxy.WithLimits(3, proxy.MaxUnknownPaths))
	for range 5 {
		if w := serve(p, "GET", "/v8/Jobs"); w.Code != 200 {
			t.Fatalf("GET /v8/Jobs through the proxy: %d", w.Code)
		}
	}
	p.Settle()
	seqs := func(fs []proxy.Finding) (out []int64) {
		for _, f := range fs {
			out = append(out, f.Seq)
		}
		return out
	}
	if got := seqs(p.Findings()); !slices.Equal(got, []int64{3, 4, 5}) {
		t.Errorf("kept the violations of exchanges %v, want the newest: [3 4 5]", got)
	}
	var answer struct {
		Total      int             `json:"total"`
		Dropped    int             `json:"dropped"`
		Violations []proxy.Finding `json:"violations"`
	}
	w := serve(p, "GET", "/_proxy/violations")
	if err := json.Unmarshal(w.Body.Bytes(), &answer); err != nil {
		t.Fatalf("GET /_proxy/violations: %d %v %s", w.Code, err, w.Body)
	}
	if got := seqs(answer.Violations); answer.Total != 5 || answer.Dropped != 2 || !slices.Equal(got, []int64{3, 4, 5}) {
		t.Errorf("GET /_proxy/violations: total %d, dropped %d, exchanges %v; want 5, 2, [3 4 5]", answer.Total, answer.Dropped, got)
	}
	s := p.Summary("fail")
	if s.Stats.Violations != 5 || s.Stats.ViolationsDropped != 2 || len(s.Violations) != 3 {
		t.Errorf("summary: %+v with %d violations kept; want 5 found, 2 dropped, 3 kept", s.Stats, len(s.Violations))
	}
	js, ju := summaryReports(t, s)
	if !strings.Contains(js, `"violations_dropped": 2`) {
		t.Errorf("the JSON report does not say how many violations were dropped:\n%s", js)
	}
	if !strings.Contains(ju, `<failure message="5 contract violation(s)" type="contract">`) ||
		!strings.Contains(ju, "(and 2 older ones, dropped: the proxy keeps its newest 3 violations)") {
		t.Errorf("the JUnit report does not say how many violations were dropped:\n%s", ju)
	}
}

// Clients hitting many distinct paths outside the v8 document (a scanner, a client
// with a bad base path) fold into one operation per service after MaxUnknownPaths, as
// the mock's metrics fold error codes into "other"; the document's operations are
// still counted one by one, and the reports say how many exchanges were folded.
func TestProxyFoldsUnknownPathsIntoOneOperation(t *testing.T) {
	t.Parallel()
	p := inProcess(t, proxy.WithLimits(proxy.MaxViolations, 3))
	for i := range 5 {
		serve(p, "GET", "/v8/NoSuchThing/"+strconv.Itoa(i)) // Veeam's, not in the document
	}
	for i := range 2 {
		serve(p, "GET", "/tenant"+strconv.Itoa(i)+".onmicrosoft.com/v2.0/.well-known/openid-configuration") // Entra's
	}
	serve(p, "GET", "/v8/Jobs") // a documented operation after the cap
	for i := range 2 {          // Entra's token endpoint after the cap, for two tenants: one operation
		serve(p, "POST", "/tenant"+strconv.Itoa(i)+".onmicrosoft.com/oauth2/v2.0/token")
	}
	p.Close()
	s := p.Summary("warn")
	var names []string
	byName := map[string]proxy.Operation{}
	for _, op := range s.Operations {
		names = append(names, op.Service+" "+op.Name)
		byName[op.Service+" "+op.Name] = op
	}
	want := []string{"veeam (other paths)", "entra (other paths)", "veeam GET /v8/Jobs (Job_Get)", "entra POST /{tenant}/oauth2/v2.0/token (token)",
		"veeam GET /v8/NoSuchThing/0", "veeam GET /v8/NoSuchThing/1", "veeam GET /v8/NoSuchThing/2"}
	for _, n := range want {
		if _, ok := byName[n]; !ok {
			t.Errorf("no operation %q in %q", n, names)
		}
	}
	if len(s.Operations) != len(want) {
		t.Errorf("%d operations %q, want %d: unknown paths past the cap of 3 are folded", len(s.Operations), names, len(want))
	}
	if v, e := byName["veeam (other paths)"].Exchanges, byName["entra (other paths)"].Exchanges; v != 2 || e != 2 {
		t.Errorf("the folded operations count %d Veeam and %d Entra exchanges, want 2 and 2", v, e)
	}
	if s.Stats.ExchangesFolded != 4 || s.Stats.Exchanges != 10 {
		t.Errorf("stats %+v, want 10 exchanges, 4 folded", s.Stats)
	}
	if n := byName["entra POST /{tenant}/oauth2/v2.0/token (token)"].Exchanges; n != 2 {
		t.Errorf("Entra's token endpoint counts %d exchanges, want both tenants' 2", n)
	}
	js, ju := summaryReports(t, s)
	if !strings.Contains(js, `"exchanges_folded": 4`) {
		t.Errorf("the JSON report does not say how many exchanges were folded:\n%s", js)
	}
	if !strings.Contains(ju, `<testcase name="(other paths)" classname="contract.veeam">`) ||
		!strings.Contains(ju, "2 exchanges to paths outside the v8 document, past the first 3 such paths the proxy counts one by one, counted together") {
		t.Errorf("the JUnit report does not say what it folded:\n%s", ju)
	}
}

// A path outside the v8 document is an operation's name as the client sent it: a secret
// in it is scrubbed in every report, whether the proxy learned the secret before that
// exchange or after it.
func TestProxyReportsScrubSecretsInPaths(t *testing.T) {
	t.Parallel()
	const before, after = "Path-Secret-Passw0rd-1", "Path-Secret-Passw0rd-2"
	p := inProcess(t)
	signIn := func(password string) {
		req := httptest.NewRequest("POST", "http://127.0.0.1/v8/token",
			strings.NewReader("grant_type=password&username=Administrator&password="+password))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.RemoteAddr = "127.0.0.1:40000"
		p.ServeHTTP(httptest.NewRecorder(), req)
	}
	signIn(before)
	serve(p, "GET", "/v8/NoSuch/"+before)
	serve(p, "GET", "/v8/NoSuch/"+after)
	serve(p, "GET", "/nosuch-entra/"+after+"/oauth2/v2.0/token")
	signIn(after)
	p.Close()
	js, ju := summaryReports(t, p.Summary("warn"))
	for _, s := range []string{before, after} {
		if strings.Contains(js, s) || strings.Contains(ju, s) {
			t.Errorf("a password the proxy saw (%s) is in the JSON or JUnit report:\n%s", s, js)
		}
	}
	if !strings.Contains(js, "/v8/NoSuch/") {
		t.Errorf("the JSON report lacks the unknown path's operation:\n%s", js)
	}
}

// A client that escapes a letter of the path (/v8/%4Aobs) is checked and counted like
// one that does not: the checker, the summary and the mock route the same way.
func TestProxyChecksEscapedPaths(t *testing.T) {
	t.Parallel()
	p := inProcess(t)
	for _, path := range []string{"/v8/Jobs", "/v8/%4Aobs", "/%76%38/Jobs"} {
		serve(p, "GET", path)
	}
	p.Close()
	s := p.Summary("warn")
	if s.Stats.Violations != 3 || len(s.Operations) != 1 || s.Operations[0].Name != "GET /v8/Jobs (Job_Get)" {
		t.Errorf("violations %d, operations %+v; want 3 violations, all of GET /v8/Jobs (Job_Get)", s.Stats.Violations, s.Operations)
	}
}
