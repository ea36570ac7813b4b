package engine

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/dop251/goja"

	"github.com/vbharness/vbharness/mocks/secret"
	"github.com/vbharness/vbharness/mocks/stack"
)

// testRuntime is a scenario runtime for module tests, built by the same configure
// function as Script.Run, already inside a test (host calls allowed).
type testRuntime struct {
	*runtime
	t      testing.TB
	target *Target
	stack  *stack.InProcess
}

type testOption func(*config, *testRuntime)

// withTarget runs against tg instead of a fresh in-process mock stack.
func withTarget(tg *Target) testOption {
	return func(c *config, tr *testRuntime) { c.target, tr.target = tg, tg }
}

// withFiles gives the runtime a scenario directory for relative requires.
func withFiles(files map[string]string) testOption {
	return func(c *config, _ *testRuntime) {
		fsys := fstest.MapFS{}
		for name, src := range files {
			fsys[name] = &fstest.MapFile{Data: []byte(src)}
		}
		c.loader = NewLoader(fsys)
	}
}

func withContext(ctx context.Context) testOption {
	return func(c *config, _ *testRuntime) { c.ctx = ctx }
}

func withSeed(seed int64) testOption {
	return func(c *config, _ *testRuntime) { c.seed = seed }
}

// newTestRuntime returns a runtime on a fresh in-process mock target (unless withTarget
// says otherwise), running a test that declares every requirement.
func newTestRuntime(t testing.TB, opts ...testOption) *testRuntime {
	t.Helper()
	tr := &testRuntime{t: t}
	cfg := config{ctx: context.Background(), file: "snippet.js", scrub: secret.NewScrubber(), seed: 1}
	for _, o := range opts {
		o(&cfg, tr)
	}
	if tr.target == nil {
		tr.target, tr.stack = newMockTarget(t)
		cfg.target = tr.target
	}
	r, err := configure(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.phase = phaseTest
	r.test = &TestInfo{Name: "snippet", File: "snippet.js", Requires: Requirements()} // snippets may call anything
	tr.runtime = r
	return tr
}

// snippetPrelude puts the module's exports in scope on the snippet's first line, so the
// snippet's own line numbers are unchanged. It names every export of the modules table
// but console (the global one is the same object).
var snippetPrelude = func() string {
	var names []string
	for _, n := range exportNames() {
		if n != "console" {
			names = append(names, n)
		}
	}
	return "const { " + strings.Join(names, ", ") + ` } = require("vbharness"); `
}()

// exec runs src as the body of a module named snippet.js.
func (tr *testRuntime) exec(src string) error {
	tr.t.Helper()
	prog, _, lerr := compileModule("snippet.js", snippetPrelude+src)
	if lerr != nil {
		tr.t.Fatalf("snippet does not compile: %v", lerr)
	}
	delete(tr.req.modules, "snippet.js")
	return protect(func() { tr.req.run("snippet.js", prog) })
}

// run runs src and fails the test if it throws.
func (tr *testRuntime) run(src string) {
	tr.t.Helper()
	if err := tr.exec(src); err != nil {
		res := tr.result(err)
		tr.t.Fatalf("snippet failed (%s): %s\n%s\nsnippet:\n%s", res.Status, res.Message, res.Stack, src)
	}
}

// value evaluates a JS expression (after optional statements in setup).
func (tr *testRuntime) value(expr string) goja.Value {
	tr.t.Helper()
	tr.run("module.exports = (" + expr + ");")
	return tr.req.modules["snippet.js"].Get("exports")
}

// result classifies err as Run would and scrubs it.
func (tr *testRuntime) result(err error) *Result {
	res := &Result{}
	tr.describe(err, res)
	tr.finish(res)
	return res
}

// failing runs src, which must throw, and returns the classified result.
func (tr *testRuntime) failing(src string) *Result {
	tr.t.Helper()
	err := tr.exec(src)
	if err == nil {
		tr.t.Fatalf("snippet did not throw:\n%s", src)
	}
	return tr.result(err)
}

// mustContain fails unless s contains every part.
func mustContain(t testing.TB, what, s string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(s, p) {
			t.Errorf("%s does not contain %q:\n%s", what, p, s)
		}
	}
}

// watchdogAfter bounds the tests that rely on a default timeout (RunOptions.Timeout) to
// end a scenario that never ends on its own. Their defaults are under a second and they
// allow 2 s of lateness (timeoutBound); without the watchdog a broken default would hang
// them until go test -timeout fires (40 minutes in CI) and say nothing of what broke.
const watchdogAfter = 5 * time.Second

// errDefaultTimeout is the cause of a watchdog context that fired.
var errDefaultTimeout = errors.New("the default timeout did not end the test")

// watchdog returns the context to pass to Script.Run in those tests: it ends after
// watchdogAfter with errDefaultTimeout. Call checkWatchdog when Run returns.
// (runnertest.Watchdog is the same for the runner and the CLI; the engine's tests
// cannot import it.)
func watchdog(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeoutCause(context.Background(), watchdogAfter, errDefaultTimeout)
	t.Cleanup(cancel)
	return ctx
}

// checkWatchdog fails the test at once if the watchdog ended ctx, saying what broke.
func checkWatchdog(t testing.TB, ctx context.Context, res *Result) {
	t.Helper()
	if errors.Is(context.Cause(ctx), errDefaultTimeout) {
		t.Fatalf("%v: it still ran %v after it started, and the watchdog stopped it (%s %q)", errDefaultTimeout, watchdogAfter, res.Status, res.Message)
	}
}
