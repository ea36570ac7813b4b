package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// contractStubs break the v8 document in each way acceptance 1 of issue 17 names, one
// operation each (anonymous, so the scenario needs no sign-in).
const contractStubs = `stubs:
  - {id: missing-required, method: GET, path: /v8/Jobs, anonymous: true, status: 200, body: {offset: 0, limit: 30}}
  - {id: wrong-type, method: GET, path: /v8/Jobs/00000000-0000-0000-0000-000000000001, anonymous: true, status: 200, body: {eTag: three}}
  - {id: unknown-enum, method: GET, path: /v8/Jobs/00000000-0000-0000-0000-000000000002, anonymous: true, status: 200, body: {lastStatus: Bogus}}
  - {id: null-non-nullable, method: GET, path: /v8/Jobs/00000000-0000-0000-0000-000000000003, anonymous: true, status: 200, body: {name: null}}
  - {id: wrong-status, method: GET, path: /v8/Jobs/00000000-0000-0000-0000-000000000004, anonymous: true, status: 202, body: {}}
`

// contractScenario calls each stubbed operation; its own assertions hold.
const contractScenario = `const { test, expect } = require("vbharness");
test("each stubbed answer", ({ http, target }) => {
  const v = target.veeam.url;
  expect(http.get(v + "/v8/Jobs")).toHaveStatus(200);
  for (const [n, status] of [[1, 200], [2, 200], [3, 200], [4, 202]]) {
    expect(http.get(v + "/v8/Jobs/00000000-0000-0000-0000-00000000000" + n)).toHaveStatus(status);
  }
});
`

// contractWant is each violation as the console reports it: the operation, the pointer,
// what was expected and what was received.
var contractWant = []string{
	`GET /v8/Jobs (Job_Get) response 200 /results: expected the required property "results"`,
	`GET /v8/Jobs/{jobId} (Job_GetById) response 200 /eTag: expected an integer, received a string "three"`,
	`GET /v8/Jobs/{jobId} (Job_GetById) response 200 /lastStatus: expected one of Stopped, Running, Success, Failed, Warning, NotConfigured, Disconnected, Queued, received "Bogus"`,
	`GET /v8/Jobs/{jobId} (Job_GetById) response 200 /name: expected a string, not null, received null`,
	`GET /v8/Jobs/{jobId} (Job_GetById) response 202 body: expected a status the operation declares (200, default), received 202`,
}

// Acceptance 1 of issue 17, run side: a `vbharness mock` process with stubs that break
// the contract stands in for a lab; `vbharness run --target` it reports each violation
// with its pointer and passes in warn mode, and fails in fail mode (the default on a
// running mock, whose control API answers).
func TestRunReportsContractViolationsOfARunningMock(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	dir := t.TempDir()
	for name, content := range map[string]string{"stubs.yaml": contractStubs, "contract.js": contractScenario} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mock := exec.Command(bin, "mock", "--entra-addr", "127.0.0.1:0", "--veeam-addr", "127.0.0.1:0",
		"--state-dir", filepath.Join(dir, "state"), "--stubs", filepath.Join(dir, "stubs.yaml"), "--print-json")
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	mock.Env = env
	stdout, err := mock.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	mock.Stderr = &stderr
	if err := mock.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = mock.Wait(); close(done) }()
	t.Cleanup(func() { _ = mock.Process.Signal(syscall.SIGKILL); <-done })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	var info struct {
		Entra  string `json:"entra"`
		Veeam  string `json:"veeam"`
		CAFile string `json:"ca_file"`
		Tenant string `json:"tenant"`
	}
	if err != nil || json.Unmarshal([]byte(line), &info) != nil {
		<-done
		t.Fatalf("the mock did not start (exit %v):\n%s", mock.ProcessState, stderr.String())
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	targets := "targets:\n  lab:\n" +
		"    entra: {authority: \"" + info.Entra + "\", tenant: " + info.Tenant + "}\n" +
		"    veeam: {url: \"" + info.Veeam + "\", ca_file: \"" + info.CAFile + "\"}\n" +
		"    control: {}\n"
	if err := os.WriteFile(filepath.Join(dir, "vbharness.yaml"), []byte(targets), 0o644); err != nil {
		t.Fatal(err)
	}

	run := func(args ...string) (string, int) {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"run", "contract.js", "--target", "lab", "--no-color", "--seed", "1"}, args...)...)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		switch {
		case err == nil:
			return string(out), 0
		case errors.As(err, &ee):
			return string(out), ee.ExitCode()
		}
		t.Fatalf("run %v: %v\n%s", args, err, out)
		return "", 0
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		also string
	}{
		{"warn mode reports each violation and passes", []string{"--contract", "warn"}, 0, "contract (warn): 5 violations in 1 test"},
		{"fail mode fails the test", []string{"--contract", "fail"}, 1, "contract (fail): 5 violations in 1 test, 1 test failed by them"},
		{"a running mock defaults to fail", nil, 1, "failed: 1 contract failure"},
	} {
		out, code := run(tc.args...)
		if code != tc.code {
			t.Errorf("%s: exit %d, want %d\n%s", tc.name, code, tc.code, out)
			continue
		}
		for _, want := range append(contractWant, tc.also) {
			if !strings.Contains(out, want) {
				t.Errorf("%s: the output lacks %q\n%s", tc.name, want, out)
			}
		}
	}
	if out, code := run("--contract", "off"); code != 0 || strings.Contains(out, "contract (") || strings.Contains(out, "expected") {
		t.Errorf("off: exit %d, want 0 and no contract report\n%s", code, out)
	}

	t.Run("the proxy in front of it reports the same violations to curl and a Go client", func(t *testing.T) {
		proxyReportsTheViolations(t, bin, dir, env, info.Entra, info.Veeam, info.CAFile, info.Tenant)
	})
}

// proxyReportsTheViolations is acceptance 1 of issue 17, proxy side: `vbharness proxy` in
// front of the contract-breaking mock process; a Go client (net/http) and curl each run
// the seed flow through it (device code, the mock's approval, Entra's token, Veeam's token
// with that answer as the assertion, GET /v8/Organization) unchanged, then read the five
// stubbed answers; the proxy reports each violation, for each client, on standard error
// and at /_proxy/violations, and exits 0 (warn, its default) on SIGINT.
func proxyReportsTheViolations(t *testing.T, bin, dir string, env []string, entra, veeam, caFile, tenant string) {
	cmd := exec.Command(bin, "proxy", "--upstream", veeam, "--entra-upstream", entra, "--ca-file", caFile,
		"--listen", "127.0.0.1:0", "--state-dir", filepath.Join(dir, "proxy-state"))
	cmd.Env = env
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = cmd.Process.Signal(syscall.SIGKILL)
			<-exited
		}
	})
	var proxyURL, proxyCA string
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		l := lines.Text()
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "listening:"); ok {
			proxyURL = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "CA file:"); ok {
			proxyCA = strings.TrimSpace(v)
		}
		if strings.HasPrefix(l, "Press Ctrl-C") {
			break
		}
	}
	if proxyURL == "" || proxyCA == "" {
		t.Fatalf("the proxy did not start:\n%s", stderr.String())
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()

	// The mock's control API, called directly (not through the proxy): approve a user code.
	mockClient := tlsClient(t, caFile)
	approve := func(userCode string) {
		t.Helper()
		resp, err := mockClient.Post(entra+"/_mock/devicecodes/approve", "application/json",
			strings.NewReader(`{"user_code":"`+userCode+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("approve: HTTP %d", resp.StatusCode)
		}
	}
	const cliClient = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
	scope := "Directory.AccessAsUser.All User.ReadWrite.All offline_access"
	stubbed := []string{"/v8/Jobs"}
	for n := 1; n <= 4; n++ {
		stubbed = append(stubbed, "/v8/Jobs/00000000-0000-0000-0000-00000000000"+string(rune('0'+n)))
	}

	// A Go client, keeping cookies as a browser-like client does (the antiforgery cookie).
	c := tlsClient(t, proxyCA)
	c.Jar, _ = cookiejar.New(nil)
	form := func(path string, v url.Values) map[string]any {
		t.Helper()
		resp, err := c.PostForm(proxyURL+path, v)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || resp.StatusCode != 200 {
			t.Fatalf("POST %s through the proxy: HTTP %d, %v", path, resp.StatusCode, err)
		}
		return m
	}
	dc := form("/"+tenant+"/oauth2/v2.0/devicecode", url.Values{"client_id": {cliClient}, "scope": {scope}})
	approve(dc["user_code"].(string))
	tokenResp, err := c.PostForm(proxyURL+"/"+tenant+"/oauth2/v2.0/token", url.Values{
		"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "client_id": {cliClient},
		"device_code": {dc["device_code"].(string)}})
	if err != nil {
		t.Fatal(err)
	}
	assertion, _ := io.ReadAll(tokenResp.Body)
	tokenResp.Body.Close()
	if tokenResp.StatusCode != 200 {
		t.Fatalf("Entra's token through the proxy: HTTP %d %s", tokenResp.StatusCode, assertion)
	}
	veeamToken := form("/v8/token", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"},
		"client_id": {tenant}, "assertion": {string(assertion)}})
	at, _ := veeamToken["access_token"].(string)
	for _, path := range append([]string{"/v8/Organization"}, stubbed...) {
		req, _ := http.NewRequest(http.MethodGet, proxyURL+path, nil)
		req.Header.Set("Authorization", "Bearer "+at)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if path == "/v8/Organization" && resp.StatusCode != 200 {
			t.Fatalf("the Go client's GET /v8/Organization through the proxy: HTTP %d", resp.StatusCode)
		}
	}

	// curl, the same flow.
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl is not installed; the docs test needs it too")
	}
	jar := filepath.Join(dir, "cookies.txt")
	curl := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("curl", append([]string{"-s", "--fail-with-body", "--cacert", proxyCA, "-b", jar, "-c", jar}, args...)...).Output()
		if err != nil {
			t.Fatalf("curl %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	var cdc map[string]any
	if err := json.Unmarshal([]byte(curl(proxyURL+"/"+tenant+"/oauth2/v2.0/devicecode", "-d", "client_id="+cliClient,
		"--data-urlencode", "scope="+scope)), &cdc); err != nil {
		t.Fatal(err)
	}
	approve(cdc["user_code"].(string))
	cassertion := curl(proxyURL+"/"+tenant+"/oauth2/v2.0/token", "-d", "grant_type=urn:ietf:params:oauth:grant-type:device_code",
		"-d", "client_id="+cliClient, "-d", "device_code="+cdc["device_code"].(string))
	var cvt map[string]any
	if err := json.Unmarshal([]byte(curl(proxyURL+"/v8/token", "-d", "grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer",
		"-d", "client_id="+tenant, "--data-urlencode", "assertion="+cassertion)), &cvt); err != nil {
		t.Fatal(err)
	}
	cat, _ := cvt["access_token"].(string)
	if org := curl("-H", "Authorization: Bearer "+cat, proxyURL+"/v8/Organization"); !strings.Contains(org, tenant) {
		t.Fatalf("curl's GET /v8/Organization through the proxy: %s", org)
	}
	for _, path := range stubbed {
		_, _ = exec.Command("curl", "-s", "--cacert", proxyCA, "-b", jar, "-c", jar, "-H", "Authorization: Bearer "+cat, proxyURL+path).Output()
	}

	// Each violation, once per client. Checks run after the answer is sent: wait for them.
	var got struct {
		Total      int `json:"total"`
		Violations []struct {
			Operation, Pointer, Expected, Received string
		} `json:"violations"`
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		resp, err := c.Get(proxyURL + "/_proxy/violations")
		if err != nil {
			t.Fatal(err)
		}
		err = json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got.Total >= 2*len(contractWant) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got.Total != 2*len(contractWant) {
		t.Errorf("/_proxy/violations: %d violations, want %d (each of %d, for both clients): %+v", got.Total, 2*len(contractWant), len(contractWant), got.Violations)
	}
	_ = cmd.Process.Signal(os.Interrupt)
	err = <-exited
	stopped = true
	if err != nil {
		t.Errorf("the proxy (warn mode) exited with %v, want 0\n%s", err, stderr.String())
	}
	printed := stderr.String()
	for _, want := range contractWant {
		if n := strings.Count(printed, "contract: "+want); n != 2 {
			t.Errorf("the proxy printed %q %d times, want twice (once per client)\n%s", want, n, printed)
		}
	}
	for _, secret := range []string{at, cat, string(assertion), cassertion, dc["device_code"].(string), cdc["device_code"].(string)} {
		if secret != "" && strings.Contains(printed, secret) {
			t.Errorf("the proxy printed a secret of the flow\n%s", printed)
		}
	}
}

// tlsClient is an HTTP client that trusts the CA in caFile.
func tlsClient(t *testing.T, caFile string) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("no certificate in %s", caFile)
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}
