package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// built is the vbharness binary built from this package, once per test process, for the
// tests and benchmarks that exec it.
var built struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// binary returns the path of vbharness built from this package, building it on the first
// call of the test process (one build shared by every test and benchmark).
func binary(tb testing.TB) string {
	tb.Helper()
	built.once.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "vbharness-bin-")
		if built.err != nil {
			return
		}
		built.bin = filepath.Join(built.dir, "vbharness")
		out, err := exec.Command("go", "build", "-o", built.bin, ".").CombinedOutput()
		if err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		tb.Fatal(built.err)
	}
	return built.bin
}

// exitScenarios are the scenario files the exit-status test runs, one per outcome.
var exitScenarios = map[string]string{
	"pass.js": `const { test, expect } = require("vbharness");
test("passes", () => { expect(1).toBe(1); });
`,
	"fail.js": `const { test, expect } = require("vbharness");
test("fails", () => { expect(1).toBe(2); });
`,
	"broken.js": `const { test } = require("vbharness");
test("x", () => {
  let = ;
});
`,
	"spin.js": `const { test } = require("vbharness");
test("spins until interrupted", () => { for (;;) {} });
`,
}

// TestBinaryExitStatus runs the built binary, not cli.Main in process, so main's own
// part is checked: that it exits with the status cli.Main returns, and turns Ctrl-C
// into a cancelled run (130) rather than dying of the signal. The codes are the ones
// README.md and docs/cli.md document.
func TestBinaryExitStatus(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	t.Parallel()
	bin := binary(t)
	dir := t.TempDir()
	for name, src := range exitScenarios {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "NO_COLOR=1", "TERM=dumb"}
	cases := []struct {
		name string
		args []string
		code int
		out  string // in stdout or stderr
	}{
		{"0 when every test passes", []string{"run", "pass.js"}, 0, "1 passed, 0 failed, 0 skipped"},
		{"1 when a test fails", []string{"run", "pass.js", "fail.js"}, 1, "1 passed, 1 failed, 0 skipped"},
		{"2 on a usage error", []string{"run", "--parallel", "-1", "pass.js"}, 2, "--parallel must be 0"},
		{"2 on an unknown flag", []string{"run", "--no-such-flag"}, 2, "no-such-flag"},
		{"3 when a script fails to load", []string{"run", "pass.js", "broken.js"}, 3, "broken.js:3:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(bin, c.args...)
			cmd.Dir, cmd.Env = dir, env
			out, err := cmd.CombinedOutput()
			if code := cmd.ProcessState.ExitCode(); code != c.code {
				t.Errorf("vbharness %s: exit status %d (%v), want %d\n%s", strings.Join(c.args, " "), code, err, c.code, out)
			}
			if !strings.Contains(string(out), c.out) {
				t.Errorf("vbharness %s: output lacks %q:\n%s", strings.Join(c.args, " "), c.out, out)
			}
		})
	}
	t.Run("130 when interrupted", func(t *testing.T) {
		t.Parallel()
		// The header is printed once the plan is made, well after main installed its
		// signal handler, and the spinning test starts after it. A signal can still win
		// that race (the test is then left out, "0 failed"), so a run whose test never
		// started is tried again, waiting twice as long after the header each time (on a
		// loaded machine starting the test's runtime took longer than five tries without
		// a wait): what is checked is a run stopped while its test runs.
		wait := 100 * time.Millisecond
		for attempt := 1; ; attempt++ {
			header, rest, code := interruptRun(t, bin, dir, env, wait)
			if strings.Contains(rest, "0 passed, 0 failed, 0 skipped") && code == 130 && attempt < 6 {
				wait *= 2
				continue
			}
			if code != 130 {
				t.Errorf("exit status %d after SIGINT, want 130\n%s%s", code, header, rest)
			}
			if !strings.Contains(rest, "0 passed, 1 failed, 0 skipped") {
				t.Errorf("output after SIGINT lacks the summary (attempt %d):\n%s%s", attempt, header, rest)
			}
			return
		}
	})
}

// interruptRun starts `vbharness run` on the spinning scenario, sends SIGINT wait after
// the header is out, and returns the header, the rest of the output and the exit status.
func interruptRun(t *testing.T, bin, dir string, env []string, wait time.Duration) (header, rest string, code int) {
	t.Helper()
	cmd := exec.Command(bin, "run", "--timeout", "none", "spin.js")
	cmd.Dir, cmd.Env = dir, env
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(stdout)
	header, err = r.ReadString('\n')
	if err != nil || !strings.HasPrefix(header, "vbharness run: 1 test") {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("first line %q (%v), want the run header", header, err)
	}
	time.Sleep(wait)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(30*time.Second, func() { _ = cmd.Process.Kill() })
	defer timer.Stop()
	b, _ := io.ReadAll(r)
	_ = cmd.Wait()
	return header, string(b), cmd.ProcessState.ExitCode()
}
