package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// servedProxy is a `vbharness proxy` running in-process.
type servedProxy struct {
	url  string
	stop func() cliRun
}

// serveProxy starts `vbharness proxy` on a free port in front of a running mock and
// waits for its banner.
func serveProxy(t *testing.T, f *fixture, info mockInfo, extra ...string) *servedProxy {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &firstLineWriter{first: make(chan string, 1)}
	errw := &firstLineWriter{first: make(chan string, 1)}
	args := append([]string{"proxy", "--upstream", info.Veeam, "--entra-upstream", info.Entra, "--ca-file", info.CAFile,
		"--state-dir", filepath.Join(f.dir, "state"), "--listen", "127.0.0.1:0"}, extra...)
	a := &app{args: args, stdin: strings.NewReader(""), stdout: out, stderr: errw, env: f.env, dir: f.dir, deps: f.deps()}
	done := make(chan int, 1)
	go func() { done <- a.main(ctx) }()
	var once sync.Once
	var result cliRun
	stop := func() cliRun {
		once.Do(func() {
			cancel()
			result = cliRun{<-done, out.String(), errw.String()}
		})
		return result
	}
	t.Cleanup(func() { stop() })
	listening := regexp.MustCompile(`listening: +(https://127\.0\.0\.1:\d+)`)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if m := listening.FindStringSubmatch(out.String()); m != nil && strings.Contains(out.String(), "Press Ctrl-C") {
			return &servedProxy{url: m[1], stop: stop}
		}
		select {
		case code := <-done:
			done <- code
			t.Fatalf("vbharness proxy exited %d before serving:\n%s%s", code, out.String(), errw.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("vbharness proxy printed no banner:\n%s", out.String())
		}
	}
}

func caClient(t *testing.T, caFile string) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// The proxy in front of a running mock with a stub that breaks the contract: the
// client gets the stub's answer, the violation is printed as one line, the reports are
// written on Ctrl-C, secrets are in neither, and fail mode exits 1 (warn mode 0).
func TestProxyCommandReportsAndExitCodes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	info, _ := serveMock(t, f)
	c := caClient(t, info.CAFile)
	stub, _ := http.NewRequest("POST", info.Veeam+"/_mock/stubs", strings.NewReader(`{"method":"GET","path":"/v8/Jobs","body":{"offset":0,"limit":30}}`))
	stub.Header.Set("Content-Type", "application/json")
	if resp, err := c.Do(stub); err != nil || resp.StatusCode != 201 {
		t.Fatalf("stub: %v %v", resp, err)
	}
	for _, mode := range []struct {
		flag, name string // name: the mode as the reports spell it
		code       int
	}{{"fail", "fail", 1}, {"warn", "warn", 0}, {"FAIL", "fail", 1}} { // any case, as run reads it
		dir := filepath.Join(f.dir, mode.flag)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		p := serveProxy(t, f, info, "--contract", mode.flag, "--report", "json="+filepath.Join(dir, "r.json"),
			"--report", "junit="+filepath.Join(dir, "r.xml"), "--record", filepath.Join(dir, "rec"))
		resp, err := c.PostForm(p.url+"/v8/token", url.Values{"grant_type": {"password"}, "username": {info.AdminUser},
			"password": {info.AdminPassword}, "disable_antiforgery_token": {"true"}})
		if err != nil {
			t.Fatal(err)
		}
		var tok struct {
			AccessToken  string `json:"access_token"`
			RefreshToken string `json:"refresh_token"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&tok)
		resp.Body.Close()
		if tok.AccessToken == "" {
			t.Fatalf("%s: no token through the proxy (%d)", mode.name, resp.StatusCode)
		}
		req, _ := http.NewRequest("GET", p.url+"/v8/Jobs", nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err = c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != `{"offset":0,"limit":30}` {
			t.Errorf("%s: the client got %s, want the stub's answer unchanged", mode.name, body)
		}
		r := p.stop()
		if r.code != mode.code {
			t.Errorf("%s mode: exit %d, want %d\n%s", mode.name, r.code, mode.code, r.stderr)
		}
		want := `contract: GET /v8/Jobs (Job_Get) response 200 /results: expected the required property "results"`
		if !strings.Contains(r.stderr, want) {
			t.Errorf("%s: stderr lacks %q:\n%s", mode.name, want, r.stderr)
		}
		if !strings.Contains(r.stderr, "stopped after 2 exchanges (2 Veeam, 0 Entra, 0 unchecked), 1 contract violation\n") ||
			!strings.Contains(r.stderr, "recorded 1 stub in") {
			t.Errorf("%s: stderr lacks the closing lines:\n%s", mode.name, r.stderr)
		}
		js, _ := os.ReadFile(filepath.Join(dir, "r.json"))
		xml, _ := os.ReadFile(filepath.Join(dir, "r.xml"))
		var sum struct {
			Mode  string `json:"mode"`
			Stats struct {
				Exchanges, Violations int
			} `json:"stats"`
		}
		if err := json.Unmarshal(js, &sum); err != nil || sum.Mode != mode.name || sum.Stats.Exchanges != 2 || sum.Stats.Violations != 1 {
			t.Errorf("%s: JSON report %s (%v)", mode.name, js, err)
		}
		failure := strings.Contains(string(xml), `<failure message="1 contract violation(s)" type="contract">`)
		if failure != (mode.name == "fail") || !strings.Contains(string(xml), `<testcase name="GET /v8/Jobs (Job_Get)"`) {
			t.Errorf("%s: JUnit report:\n%s", mode.name, xml)
		}
		recs, _ := filepath.Glob(filepath.Join(dir, "rec", "*"))
		all := r.stdout + r.stderr + string(js) + string(xml)
		for _, p := range recs {
			b, _ := os.ReadFile(p)
			all += string(b)
		}
		for _, s := range []string{tok.AccessToken, tok.RefreshToken, info.AdminPassword} {
			if strings.Contains(all, s) {
				t.Errorf("%s: a secret (%.10s…) is in the output, a report or the recording", mode.name, s)
			}
		}
	}
}

func TestProxyCommandUsageErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"proxy"}, "--upstream is required"},
		{[]string{"proxy", "--upstream", "lab:4443"}, "give an origin such as"},
		{[]string{"proxy", "--upstream", "https://lab:4443", "--contract", "off"}, `--contract "off": give fail or warn`},
		{[]string{"proxy", "--upstream", "https://lab:4443", "--contract", "loud"}, `--contract "loud": give fail or warn`},
		{[]string{"proxy", "--upstream", "https://lab:4443", "--report", "tap=x"}, "give junit=FILE or json=FILE"},
		{[]string{"proxy", "--upstream", "https://lab:4443", "--ca-file", "missing.pem"}, "--ca-file"},
		{[]string{"proxy", "--upstream", "https://lab:4443", "--listen", "0.0.0.0:0"}, "without a control token"},
		{[]string{"proxy", "--upstream", "https://lab:4443", "--anonymize"}, "give --record DIR with it"},
		{[]string{"proxy", "--upstream", "https://lab:4443", "--report", "json=no/such/dir/r.json"}, "--report json=no/such/dir/r.json: open"},
	} {
		r := f.run(c.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, r.code, r.stderr, c.want)
		}
	}
}

// An exchange a stub cannot hold (a path outside /v8/, such as the published document
// a client reads) is left out of the recording with a warning, as `vbharness run
// --record` leaves it out: the recording of the rest is written and announced, and the
// proxy exits 0. It used to fail the whole recording (exit 1, no "recorded" line).
func TestProxyRecordingSkipsWhatAStubCannotHold(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	info, _ := serveMock(t, f)
	c := caClient(t, info.CAFile)
	p := serveProxy(t, f, info, "--record", "rec")
	for _, path := range []string{"/swagger/docs/v8", "/v8/Health"} {
		resp, err := c.Get(p.url + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s through the proxy: %d", path, resp.StatusCode)
		}
	}
	r := p.stop()
	if r.code != 0 {
		t.Errorf("exit %d, want 0\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "recorded 1 stub in rec") || !strings.Contains(r.stderr, "not recorded: GET /swagger/docs/v8: stubs answer /v8/ paths only") {
		t.Errorf("stderr lacks the recording's line and the skipped exchange:\n%s", r.stderr)
	}
	if recs, _ := filepath.Glob(filepath.Join(f.dir, "rec", "*.json")); len(recs) != 1 {
		t.Errorf("recording %v, want the one stub of /v8/Health", recs)
	}
}

// A proxy told to stop while a slow upstream still owes an answer waits its grace,
// then cuts the request off and stops as it would have: a slow lab is not a failed
// listener. It used to exit 1 with "the listener failed: context deadline exceeded",
// in warn mode too.
func TestProxyStopsCleanlyWithARequestStillWaitingForTheUpstream(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	p := serveProxy(t, f, hungUpstream(t, f))
	c := caClient(t, filepath.Join(f.dir, "state", "ca.pem"))
	c.Timeout = 0
	go func() {
		if resp, err := c.Get(p.url + "/v8/Jobs"); err == nil {
			resp.Body.Close()
		}
	}()
	time.Sleep(300 * time.Millisecond) // the request reaches the upstream
	r := p.stop()
	if r.code != 0 || strings.Contains(r.stderr, "listener failed") || !strings.Contains(r.stderr, "cut off") {
		t.Errorf("exit %d, want 0 with a note that a request was cut off:\n%s", r.code, r.stderr)
	}
}

// An upstream that never starts its answer: after --upstream-timeout the client gets the
// proxy's 502 naming the timeout, instead of waiting as long as the upstream does.
func TestProxyAnswers502WhenTheUpstreamTakesTooLong(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	p := serveProxy(t, f, hungUpstream(t, f), "--upstream-timeout", "300ms")
	c := caClient(t, filepath.Join(f.dir, "state", "ca.pem"))
	resp, err := c.Get(p.url + "/v8/Jobs")
	if err != nil {
		t.Fatalf("the client got no answer (its own 10 s timeout?): %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(body), "timeout awaiting response headers") {
		t.Errorf("HTTP %d %s, want 502 naming the timeout", resp.StatusCode, body)
	}
	if r := p.stop(); r.code != 0 {
		t.Errorf("exit %d, want 0:\n%s", r.code, r.stderr)
	}
}

// hungUpstream is an HTTPS upstream that never answers until the test ends (or the
// request is cancelled), as both of the proxy's services.
func hungUpstream(t *testing.T, f *fixture) mockInfo {
	t.Helper()
	release := make(chan struct{})
	hs := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(hs.Close)
	t.Cleanup(func() { close(release) })
	caFile := filepath.Join(f.dir, "upstream-ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: hs.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	return mockInfo{Veeam: hs.URL, Entra: hs.URL, CAFile: caFile}
}
