package cli

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/runner"
	"github.com/vbharness/vbharness/runner/runnertest"
)

// cliRun is the outcome of one in-process invocation.
type cliRun struct {
	code           int
	stdout, stderr string
}

// lastLine is the last line of standard output.
func (r cliRun) lastLine() string {
	lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	return lines[len(lines)-1]
}

// fixture is an in-process vbharness: a working directory, an environment and the
// fake engine and mock target its runs use.
type fixture struct {
	t        *testing.T
	dir      string
	env      map[string]string
	engine   *runnertest.Engine
	target   *runnertest.Target
	terminal bool
	ctx      context.Context
	procs    func(n int) // deps.setProcs; nil leaves the test process's GOMAXPROCS alone
}

func newFixture(t *testing.T, scripts map[string]*runnertest.Script) *fixture {
	t.Helper()
	dir := t.TempDir()
	for p := range scripts {
		write(t, filepath.Join(dir, filepath.FromSlash(p)), "// fake scenario\n")
	}
	return &fixture{t: t, dir: dir, env: map[string]string{"HOME": dir}, engine: &runnertest.Engine{Scripts: scripts},
		target: &runnertest.Target{}, ctx: context.Background()}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) deps() deps {
	return deps{
		newEngine:  func(fs.FS) runner.Engine { return f.engine },
		mockTarget: func(map[string]string) *runner.Target { return f.target.Runner() },
		catalogue:  catalogue(),
		clock:      clock.NewVirtual(time.Time{}),
		terminal:   func(io.Writer) bool { return f.terminal },
		setProcs:   f.procs,
	}
}

func (f *fixture) run(args ...string) cliRun {
	f.t.Helper()
	return f.runWith(f.deps(), args...)
}

// runWith runs vbharness in-process with the given dependencies.
func (f *fixture) runWith(d deps, args ...string) cliRun {
	f.t.Helper()
	var out, errb bytes.Buffer
	a := &app{args: args, stdin: strings.NewReader(""), stdout: &out, stderr: &errb, env: f.env, dir: f.dir, deps: d}
	code := a.main(f.ctx)
	return cliRun{code, out.String(), errb.String()}
}

func (f *fixture) ran() []string {
	var names []string
	for _, c := range f.engine.Calls() {
		names = append(names, c.Test)
	}
	return names
}
