package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/vbharness/vbharness/mocks/keys"
)

// firstLineWriter collects output and hands over its first line as soon as it is written.
type firstLineWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	first chan string
	sent  bool
}

func (w *firstLineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if line, _, ok := strings.Cut(w.buf.String(), "\n"); ok && !w.sent {
		w.sent = true
		w.first <- line
	}
	return len(p), nil
}

func (w *firstLineWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// servedMock is a `vbharness mock` running in-process.
type servedMock struct {
	stdout *firstLineWriter
	stderr *firstLineWriter
	stop   func() cliRun // interrupts the mock (as Ctrl-C does) and waits for it
}

// serveMock starts `vbharness mock --print-json` on free ports with a fresh state folder
// and returns its JSON line. The mock stops when the test ends, if stop was not called.
func serveMock(t *testing.T, f *fixture, extra ...string) (mockInfo, *servedMock) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &firstLineWriter{first: make(chan string, 1)}
	errw := &firstLineWriter{first: make(chan string, 1)}
	args := append([]string{"mock", "--entra-addr", "127.0.0.1:0", "--veeam-addr", "127.0.0.1:0",
		"--state-dir", filepath.Join(f.dir, "state"), "--print-json"}, extra...)
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
	var line string
	select {
	case line = <-out.first:
	case code := <-done:
		done <- code
		t.Fatalf("vbharness mock exited %d before serving:\n%s", code, errw.String())
	}
	var info mockInfo
	if err := json.Unmarshal([]byte(line), &info); err != nil {
		t.Fatalf("--print-json line %q: %v", line, err)
	}
	return info, &servedMock{stdout: out, stderr: errw, stop: stop}
}

func TestMockPrintsOneJSONLineThenItsDetailsAndStopsCleanly(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	info, m := serveMock(t, f, "--admin-password", "Lab-Passw0rd-42", "--hostname", "mock.lab.test")
	if !strings.HasPrefix(info.Entra, "https://127.0.0.1:") || !strings.HasPrefix(info.Veeam, "https://127.0.0.1:") {
		t.Errorf("URLs = %q, %q; want HTTPS on the loopback with the chosen ports", info.Entra, info.Veeam)
	}
	if info.CAFile != filepath.Join(f.dir, "state", "ca.pem") {
		t.Errorf("ca_file = %q, want it in the state folder", info.CAFile)
	}
	if _, err := os.Stat(info.CAFile); err != nil {
		t.Error(err)
	}
	want := mockInfo{Entra: info.Entra, Veeam: info.Veeam, CAFile: info.CAFile, Tenant: "abc.onmicrosoft.com",
		ClientID: "04b07795-8ddb-461a-bbee-02f9e1bf7b46", AdminUser: "Administrator", AdminPassword: "Lab-Passw0rd-42"}
	if info != want {
		t.Errorf("JSON line = %+v, want %+v", info, want)
	}
	r := m.stop()
	if r.code != 0 {
		t.Errorf("exit %d after Ctrl-C, want 0\n%s", r.code, r.stderr)
	}
	// Standard output is the JSON line alone, so `jq` can read it whole; the banner goes
	// to standard error.
	if line, _ := json.Marshal(want); r.stdout != string(line)+"\n" {
		t.Errorf("stdout = %q, want the JSON line alone", r.stdout)
	}
	for _, s := range []string{"Entra ID:        " + info.Entra, "Veeam REST API:  " + info.Veeam, "CA file:         " + info.CAFile,
		"state:           " + filepath.Join(f.dir, "state", "state.db") + " (kept across restarts; POST /_mock/reset clears it)",
		"tenant:          abc.onmicrosoft.com", "users:           admin@abc.onmicrosoft.com", "Veeam admin:     Administrator / Lab-Passw0rd-42"} {
		if !strings.Contains(r.stderr, s) {
			t.Errorf("the banner on stderr lacks %q:\n%s", s, r.stderr)
		}
	}
	if !strings.HasSuffix(r.stderr, "vbharness mock: stopped\n") {
		t.Errorf("stderr = %q", r.stderr)
	}
}

func TestMockOnABusyAddressIsAUsageError(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	info, _ := serveMock(t, f)
	host := strings.TrimPrefix(info.Entra, "https://")
	r := f.run("mock", "--entra-addr", host, "--veeam-addr", "127.0.0.1:0", "--state-dir", filepath.Join(f.dir, "state2"))
	if r.code != 2 || !strings.Contains(r.stderr, "vbharness: cannot start the mock: entra mock: listen on "+host) {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}

// The default state folder keeps the CA only: a plain `vbharness mock` starts from its
// fixtures every time, and only a --state-dir given keeps state (state.db).
func TestMockStateFolderDefaultsToTheUserConfigFolder(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	info, m := serveMock(t, f, "--state-dir", "")
	if want := filepath.Join(f.dir, ".config", "vbharness", "mock", "ca.pem"); info.CAFile != want {
		t.Errorf("ca_file = %q, want %q", info.CAFile, want)
	}
	r := m.stop()
	if _, err := os.Stat(filepath.Join(f.dir, ".config", "vbharness", "mock", "state.db")); !os.IsNotExist(err) {
		t.Errorf("the default state folder holds a state file (%v)", err)
	}
	if !strings.Contains(r.stderr, "CA file:") || strings.Contains(r.stderr, "state:") {
		t.Errorf("the banner names a state file, or is not on stderr:\n%s", r.stderr)
	}
}

// A state folder that cannot be used stops the mock before it serves, with exit code 2
// and the state file's error: here, a second mock on a folder the first one holds.
func TestMockOnAStateFolderInUseIsAUsageError(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	serveMock(t, f)
	r := f.run("mock", "--entra-addr", "127.0.0.1:0", "--veeam-addr", "127.0.0.1:0", "--state-dir", filepath.Join(f.dir, "state"))
	want := "vbharness: cannot start the mock: the state file is in use: " + filepath.Join(f.dir, "state", "state.db") + " is held by another process"
	if r.code != 2 || !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "give this one another --state-dir") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestRunTheCatalogueAgainstARunningMock runs the bundled catalogue with the real engine
// against a `vbharness mock` over HTTPS: the clock-dependent scenario runs (not skipped)
// through the control API. This is the in-process form of issue 5's acceptance 4.
func TestRunAgainstARunningMock(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	startMock(t, f)
	a := f.deps()
	a.newEngine = defaultDeps().newEngine
	// The whole catalogue against a running mock is scripts' TestTheCatalogueAgainstARunningMock;
	// here one test that needs the control API shows the CLI wires a live target with it.
	r := f.runWith(a, "run", "--target", "localmock", "--filter", "^modern app-only login with refresh$")
	if r.code != 0 || !strings.Contains(r.stdout, "PASS    scripts/modern_auth_login.js › modern app-only login with refresh") ||
		strings.Contains(r.stdout, "SKIP") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "on target localmock (live: Entra https://127.0.0.1:") || !strings.Contains(r.stdout, "and control API)") {
		t.Errorf("header:\n%s", r.stdout)
	}
}

// A served mock runs with one P more than the signature slots (keys.ServingProcs), unless
// GOMAXPROCS is in the environment.
func TestMockSetsGOMAXPROCSForServing(t *testing.T) {
	t.Parallel()
	for _, env := range []string{"", "1", "abc", "0"} { // the runtime ignores abc and 0
		f := newFixture(t, nil)
		var mu sync.Mutex
		var got []int
		f.procs = func(n int) { mu.Lock(); defer mu.Unlock(); got = append(got, n) }
		if env != "" {
			f.env["GOMAXPROCS"] = env
		}
		taken := env == "1"
		_, m := serveMock(t, f, "--http")
		m.stop()
		mu.Lock()
		switch {
		case !taken && !slices.Equal(got, []int{keys.ServingProcs()}):
			t.Errorf("GOMAXPROCS=%q: set %v, want [%d]", env, got, keys.ServingProcs())
		case taken && len(got) != 0:
			t.Errorf("with GOMAXPROCS=%s in the environment: set %v, want it left alone", env, got)
		}
		mu.Unlock()
	}
}

// --journal-mib bounds the journals; nonsense is a usage error before anything starts.
func TestMockJournalLimitIsChecked(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	for _, v := range []string{"0", "-5", "1048577"} {
		r := f.run("mock", "--entra-addr", "127.0.0.1:0", "--veeam-addr", "127.0.0.1:0", "--http", "--journal-mib", v)
		if r.code != 2 || !strings.Contains(r.stderr, "--journal-mib "+v+": give a number of MiB from 1 to") {
			t.Errorf("--journal-mib %s: exit %d, stderr %q", v, r.code, r.stderr)
		}
	}
	serveMock(t, f, "--journal-mib", "8")
}

// controlStatus calls GET /_mock/health on a served mock with an optional bearer token.
func controlStatus(t *testing.T, info mockInfo, token string) int {
	t.Helper()
	pem, err := os.ReadFile(info.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequest(http.MethodGet, info.Veeam+"/_mock/health", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Issue 15 item 9: --control-token and --admin-password could only be flags, which any
// user of the machine sees in `ps`. They can come from the environment
// (VBHARNESS_CONTROL_TOKEN, VBHARNESS_MOCK_ADMIN_PASSWORD) or from a file
// (--control-token-file, --admin-password-file; one trailing newline is dropped).
func TestMockSecretsFromEnvironmentAndFiles(t *testing.T) {
	t.Parallel()
	t.Run("environment", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, nil)
		f.env["VBHARNESS_CONTROL_TOKEN"] = "ctl-from-env-0123456789"
		f.env["VBHARNESS_MOCK_ADMIN_PASSWORD"] = "Env-Passw0rd-42"
		info, m := serveMock(t, f)
		if got := controlStatus(t, info, ""); got != http.StatusUnauthorized {
			t.Errorf("without the token from the environment: %d, want 401", got)
		}
		if got := controlStatus(t, info, "ctl-from-env-0123456789"); got != http.StatusOK {
			t.Errorf("with it: %d", got)
		}
		if info.AdminPassword != "Env-Passw0rd-42" {
			t.Errorf("admin password %q", info.AdminPassword)
		}
		if r := m.stop(); !strings.Contains(r.stderr, "control API:") || strings.Contains(r.stdout+r.stderr, "ctl-from-env") {
			t.Errorf("the banner shows the control token, or is not on stderr:\n%s%s", r.stdout, r.stderr)
		}
	})
	t.Run("files", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, nil)
		f.env["VBHARNESS_CONTROL_TOKEN"] = "the-file-wins-over-this"
		write(t, filepath.Join(f.dir, "ctl.txt"), "ctl-from-file-0123456789\n")
		write(t, filepath.Join(f.dir, "pw.txt"), "File-Passw0rd-42\r\n")
		info, _ := serveMock(t, f, "--control-token-file", "ctl.txt", "--admin-password-file", "pw.txt")
		if got := controlStatus(t, info, "ctl-from-file-0123456789"); got != http.StatusOK {
			t.Errorf("with the token from the file: %d", got)
		}
		if got := controlStatus(t, info, "the-file-wins-over-this"); got != http.StatusUnauthorized {
			t.Errorf("with the environment's token: %d, want 401", got)
		}
		if info.AdminPassword != "File-Passw0rd-42" {
			t.Errorf("admin password %q", info.AdminPassword)
		}
	})
	t.Run("mistakes", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, nil)
		write(t, filepath.Join(f.dir, "empty.txt"), "\n")
		write(t, filepath.Join(f.dir, "two.txt"), "a\nb\n")
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"--control-token", "x", "--control-token-file", "empty.txt"}, "give --control-token or --control-token-file, not both"},
			{[]string{"--admin-password", "x", "--admin-password-file", "empty.txt"}, "give --admin-password or --admin-password-file, not both"},
			{[]string{"--control-token-file", "empty.txt"}, "--control-token-file " + filepath.Join(f.dir, "empty.txt") + " is empty"},
			{[]string{"--admin-password-file", "two.txt"}, "holds more than one line"},
			{[]string{"--control-token-file", "missing.txt"}, "--control-token-file"},
		} {
			r := f.run(append([]string{"mock", "--http", "--entra-addr", "127.0.0.1:0", "--veeam-addr", "127.0.0.1:0"}, c.args...)...)
			if r.code != 2 || !strings.Contains(r.stderr, c.want) {
				t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, r.code, r.stderr, c.want)
			}
		}
	})
}
