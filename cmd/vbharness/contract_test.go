package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
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
}
