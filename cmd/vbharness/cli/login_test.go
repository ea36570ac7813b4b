package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runningMock is a `vbharness mock` started in-process on free ports, with a targets
// file naming it "localmock".
type runningMock struct {
	info               mockInfo
	entraURL, veeamURL string
	client             *http.Client
}

// startMock runs `vbharness mock` (HTTPS, a fresh state folder, a 1 s polling interval)
// until the test ends, and writes a targets file for it into f's folder.
func startMock(t *testing.T, f *fixture) *runningMock {
	t.Helper()
	info, _ := serveMock(t, f, "--config", writeEntraConfig(t, f))
	m := &runningMock{info: info, entraURL: info.Entra, veeamURL: info.Veeam}
	pem, err := os.ReadFile(info.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("the mock's CA file holds no certificate")
	}
	m.client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	write(t, filepath.Join(f.dir, "vbharness.yaml"), fmt.Sprintf(`targets:
  localmock:
    entra: { authority: %q, tenant: %s }
    veeam: { url: %q, ca_file: %q }
    control: {}
`, info.Entra, info.Tenant, info.Veeam, info.CAFile))
	return m
}

// writeEntraConfig writes a mock Entra config whose device codes ask for a 1 s polling
// interval, so a login in a test waits one second rather than five.
func writeEntraConfig(t *testing.T, f *fixture) string {
	t.Helper()
	p := filepath.Join(f.dir, "entra.yaml")
	write(t, p, "lifetimes:\n  interval: 1\n")
	return p
}

// control calls the mock's control API.
func (m *runningMock) control(t *testing.T, path, body string) {
	t.Helper()
	resp, err := m.client.Post(m.entraURL+"/_mock/"+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("control %s: %d %s", path, resp.StatusCode, b)
	}
}

// organization calls GET /v8/Organization with tok and returns the status.
func (m *runningMock) organization(t *testing.T, tok string) int {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, m.veeamURL+"/v8/Organization", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := m.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func readSaved(t *testing.T, path string) *savedToken {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("token file mode = %v, want 0600", st.Mode().Perm())
	}
	all, err := readTokens(path)
	if err != nil {
		t.Fatal(err)
	}
	s := all.Targets["localmock"]
	if s == nil || s.AccessToken == "" || s.RefreshToken == "" {
		t.Fatalf("no tokens saved for localmock: %+v", all)
	}
	return s
}

func mustNotContain(t *testing.T, what, out string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(out, s) {
			t.Errorf("%s holds a secret (…%s):\n%s", what, s[max(0, len(s)-6):], out)
		}
	}
}

// TestLoginAndTokenAgainstARunningMock is issue 5's acceptance 5: login against a
// running mock saves the tokens with mode 0600 and prints none of them; token prints
// the saved access token, and a fresh one after the mock's clock passes its expiry.
func TestLoginAndTokenAgainstARunningMock(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	m := startMock(t, f)
	m.control(t, "devicecodes/auto-approve", `{"after_polls":0}`)

	login := f.run("login", "--target", "localmock")
	if login.code != 0 {
		t.Fatalf("login exit %d\nstdout:\n%s\nstderr:\n%s", login.code, login.stdout, login.stderr)
	}
	t.Logf("login stderr:\n%s\nlogin stdout:\n%s", login.stderr, login.stdout)
	path := filepath.Join(f.dir, ".config", "vbharness", "tokens.json") // HOME is f.dir
	saved := readSaved(t, path)
	for _, want := range []string{"To sign in, use a web browser to open the page", "the code expires in 15m0s"} {
		if !strings.Contains(login.stderr, want) {
			t.Errorf("login stderr lacks %q:\n%s", want, login.stderr)
		}
	}
	for _, want := range []string{"Signed in to Veeam Backup for Microsoft 365 at " + m.veeamURL, "organization:  abc.onmicrosoft.com", "token file:    " + path} {
		if !strings.Contains(login.stdout, want) {
			t.Errorf("login stdout lacks %q:\n%s", want, login.stdout)
		}
	}
	mustNotContain(t, "login output", login.stdout+login.stderr, saved.AccessToken, saved.RefreshToken)
	if m.organization(t, saved.AccessToken) != http.StatusOK {
		t.Fatal("the saved access token does not work")
	}

	tok := f.run("token", "--target", "localmock")
	if tok.code != 0 || tok.stdout != saved.AccessToken+"\n" || tok.stderr != "" {
		t.Fatalf("token: exit %d, stdout %q, stderr %q; want the saved access token alone", tok.code, tok.stdout, tok.stderr)
	}

	m.control(t, "clock/advance", `{"duration":"61m"}`)
	if m.organization(t, saved.AccessToken) != http.StatusUnauthorized {
		t.Fatal("the access token still works an hour later; the test's premise is wrong")
	}
	tok = f.run("token", "--target", "localmock")
	if tok.code != 0 {
		t.Fatalf("token after expiry: exit %d\n%s", tok.code, tok.stderr)
	}
	fresh := strings.TrimSuffix(tok.stdout, "\n")
	if fresh == saved.AccessToken || strings.Contains(fresh, "\n") {
		t.Fatalf("token after expiry printed %q, want one new token", tok.stdout)
	}
	if !strings.Contains(tok.stderr, "refreshed the access token of target localmock") {
		t.Errorf("stderr = %q", tok.stderr)
	}
	if m.organization(t, fresh) != http.StatusOK {
		t.Error("the refreshed access token does not work")
	}
	again := readSaved(t, path)
	if again.AccessToken != fresh {
		t.Error("the refreshed token was not saved")
	}
	mustNotContain(t, "token stderr", tok.stderr, saved.AccessToken, saved.RefreshToken, again.RefreshToken, fresh)
}

func TestTokenSaysWhenANewLoginIsNeeded(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	m := startMock(t, f)
	path := filepath.Join(f.dir, "tokens.json")

	r := f.run("token", "--target", "localmock", "--token-file", "tokens.json")
	if r.code != 1 || !strings.Contains(r.stderr, "a new login is needed: there are no saved tokens for target localmock in "+path+"; run `vbharness login --target localmock --token-file tokens.json` to sign in") {
		t.Errorf("no tokens: exit %d, stderr %q", r.code, r.stderr)
	}

	garbage := "not-a-refresh-token-0123456789"
	all := &savedTokens{Targets: map[string]*savedToken{"localmock": {VeeamURL: m.veeamURL, AccessToken: "expired-access-token-9876",
		RefreshToken: garbage, ExpiresAt: time.Now().Add(-time.Hour)}}}
	if err := writeTokens(path, all); err != nil {
		t.Fatal(err)
	}
	r = f.run("token", "--target", "localmock", "--token-file", "tokens.json")
	if r.code != 1 || !strings.Contains(r.stderr, "a new login is needed: Veeam refused the saved refresh token") || r.stdout != "" {
		t.Errorf("refused refresh: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	mustNotContain(t, "stderr", r.stderr, garbage)

	all.Targets["localmock"].VeeamURL = "https://elsewhere.example:4443"
	if err := writeTokens(path, all); err != nil {
		t.Fatal(err)
	}
	r = f.run("token", "--target", "localmock", "--token-file", "tokens.json")
	if r.code != 1 || !strings.Contains(r.stderr, "were issued by https://elsewhere.example:4443, but the target now points at "+m.veeamURL) {
		t.Errorf("other server: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestLoginReportsADeclinedSignIn(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	m := startMock(t, f)
	done := make(chan cliRun)
	go func() { done <- f.run("login", "--target", "localmock", "--token-file", "tokens.json") }()
	// Decline the code once login has asked for it.
	var code string
	for code == "" {
		resp, err := m.client.Get(m.entraURL + "/_mock/devicecodes")
		if err != nil {
			t.Fatal(err)
		}
		var list struct {
			DeviceCodes []struct {
				UserCode string `json:"user_code"`
			} `json:"devicecodes"`
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		_ = json.Unmarshal(b, &list)
		if len(list.DeviceCodes) > 0 {
			code = list.DeviceCodes[0].UserCode
		} else if bytes.Contains(b, []byte("devicecodes")) {
			time.Sleep(10 * time.Millisecond) // login has not asked yet
		} else {
			t.Fatalf("unexpected /_mock/devicecodes answer: %s", b)
		}
	}
	m.control(t, "devicecodes/deny", fmt.Sprintf(`{"user_code":%q}`, code))
	r := <-done
	if r.code != 1 || !strings.Contains(r.stderr, "vbharness: sign-in: the sign-in was declined; run `vbharness login --target localmock --token-file tokens.json` to try again") {
		t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "tokens.json")); err == nil {
		t.Error("a declined login wrote a token file")
	}
}

// TestHintsRepeatTheFlagsGiven is issue 12 defect 13: after `login --token-file F` the
// hint said `vbharness token --target NAME`, which reads the default token file and
// fails. Every hint repeats --config and --token-file as given (quoted for the shell), and
// following the hint works.
func TestHintsRepeatTheFlagsGiven(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	m := startMock(t, f)
	conf, err := os.ReadFile(filepath.Join(f.dir, "vbharness.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(f.dir, "conf", "targets.yaml"), string(conf))
	if err := os.Remove(filepath.Join(f.dir, "vbharness.yaml")); err != nil {
		t.Fatal(err)
	}
	flags := []string{"--target", "localmock", "--config", "conf/targets.yaml", "--token-file", "my tokens.json"}
	const want = "vbharness token --target localmock --config conf/targets.yaml --token-file 'my tokens.json'"

	r := f.run(append([]string{"token"}, flags...)...)
	if r.code != 1 || !strings.Contains(r.stderr, "run `vbharness login --target localmock --config conf/targets.yaml --token-file 'my tokens.json'` to sign in") {
		t.Errorf("token before login: exit %d, stderr %q", r.code, r.stderr)
	}
	m.control(t, "devicecodes/auto-approve", `{"after_polls":0}`)
	login := f.run(append([]string{"login"}, flags...)...)
	if login.code != 0 || !strings.Contains(login.stdout, "Run `"+want+"` to print the access token.") {
		t.Fatalf("login: exit %d, stdout:\n%s\nstderr:\n%s\nwant the hint %q", login.code, login.stdout, login.stderr, want)
	}
	tok := f.run(append([]string{"token"}, flags...)...) // what the hint says
	if tok.code != 0 || tok.stdout == "" {
		t.Errorf("following the hint: exit %d, stderr %q", tok.code, tok.stderr)
	}
}
