package runner_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/vbharness/vbharness/engine"
	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/runner"
	"github.com/vbharness/vbharness/runner/runnertest"
)

// TestRealEngineScenarios runs the .js fixtures in testdata/scenarios through the real
// engine on a target without servers, and checks what the runner makes of each kind of
// outcome.
func TestRealEngineScenarios(t *testing.T) {
	t.Parallel()
	fsys := os.DirFS("testdata")
	files, err := runner.Discover(fsys, "scenarios")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"scenarios/basics.js", "scenarios/syntax_error.js", "scenarios/throws_at_top.js"}
	if !slices.Equal(files, want) {
		t.Fatalf("discovered %q, want %q (lib/ is helpers)", files, want)
	}
	p, err := runner.NewPlan(context.Background(), runner.Options{
		Engine: runner.NewEngine(fsys), Files: files, Target: (&runnertest.Target{}).Runner(),
		Parallel: 4, Seed: 7, Clock: clock.NewVirtual(time.Time{}),
	})
	if err != nil {
		t.Fatal(err)
	}
	o := p.Execute(context.Background())
	got := map[string]runner.Result{}
	var order []string
	for _, r := range o.Results {
		got[r.File+" › "+r.Name] = r
		order = append(order, r.Name)
	}
	wantOrder := []string{"passes with a helper module", "fails with a diff", "sleeps an hour of virtual time", "throws a TypeError",
		"spins until its timeout", "is skipped with a reason", "needs a live target", runner.LoadErrorName, runner.LoadErrorName}
	if !slices.Equal(order, wantOrder) {
		t.Fatalf("results in order %q, want %q", order, wantOrder)
	}
	check := func(key string, status engine.Status, f func(r runner.Result) bool) {
		t.Helper()
		r, ok := got[key]
		if !ok {
			t.Errorf("no result for %s", key)
			return
		}
		if r.Status != status || (f != nil && !f(r)) {
			t.Errorf("%s: %s %q\nexpected %q actual %q\nstack %q\nskip %q console %v virtual %v",
				key, r.Status, r.Message, r.Expected, r.Actual, r.Stack, r.SkipReason, r.Console, r.Virtual)
		}
	}
	b := "scenarios/basics.js › "
	check(b+"passes with a helper module", engine.StatusPassed, func(r runner.Result) bool {
		return len(r.Console) == 1 && r.Console[0].Text == "double(21) = 42" && slices.Equal(r.Tags, []string{"smoke"}) &&
			r.Seed == runner.TestSeed(7, "scenarios/basics.js", r.Name)
	})
	check(b+"fails with a diff", engine.StatusFailed, func(r runner.Result) bool {
		return strings.Contains(r.Expected, "200") && strings.Contains(r.Actual, "401") &&
			strings.Contains(r.Stack, "scenarios/basics.js:12:") && len(r.Console) == 1 && r.Console[0].Level == "warn"
	})
	check(b+"sleeps an hour of virtual time", engine.StatusPassed, func(r runner.Result) bool { return r.Virtual == time.Hour })
	check(b+"throws a TypeError", engine.StatusErrored, func(r runner.Result) bool {
		return strings.Contains(r.Message, "TypeError") && strings.Contains(r.Stack, "scenarios/basics.js:21:")
	})
	check(b+"spins until its timeout", engine.StatusTimedOut, func(r runner.Result) bool {
		return strings.HasPrefix(r.Message, "timed out after 50ms") // its own option, not the run's 30 s
	})
	check(b+"is skipped with a reason", engine.StatusSkipped, func(r runner.Result) bool { return r.SkipReason == "waiting for Veeam 8.1" })
	check(b+"needs a live target", engine.StatusSkipped, func(r runner.Result) bool {
		return r.SkipReason == `requires live: target "mock" is the embedded mocks`
	})
	check("scenarios/syntax_error.js › "+runner.LoadErrorName, engine.StatusErrored, func(r runner.Result) bool {
		return r.LoadError && strings.HasPrefix(r.Message, "scenarios/syntax_error.js:4:")
	})
	check("scenarios/throws_at_top.js › "+runner.LoadErrorName, engine.StatusErrored, func(r runner.Result) bool {
		return r.LoadError && strings.Contains(r.Message, "top-level failure") && strings.Contains(r.Stack, "scenarios/throws_at_top.js:4:")
	})
	if o.ExitCode() != runner.ExitLoad {
		t.Errorf("exit = %d, want 3", o.ExitCode())
	}
}

// TestTheRunsTimeoutEndsATestThatSetsNone runs testdata/timeouts through the real engine
// with a 300ms --timeout: the test without a timeout of its own ends at the run's
// default, which the runner passes down, and the test with one at its own. It runs under
// a watchdog, so a default that never fires fails it in seconds, saying so.
func TestTheRunsTimeoutEndsATestThatSetsNone(t *testing.T) {
	t.Parallel()
	ctx := runnertest.Watchdog(t, context.Background(), 5*time.Second)
	fsys := os.DirFS("testdata")
	p, err := runner.NewPlan(ctx, runner.Options{
		Engine: runner.NewEngine(fsys), Files: []string{"timeouts/spin.js"}, Target: runner.MockTarget(nil),
		Parallel: 2, Seed: 7, Timeout: 300 * time.Millisecond, Clock: clock.NewVirtual(time.Time{}),
	})
	if err != nil {
		t.Fatal(err)
	}
	o := p.Execute(ctx)
	runnertest.CheckWatchdog(t, ctx, "a run of two tests that spin with a 300ms --timeout")
	want := map[string]string{
		"spins with no timeout of its own": "timed out after 300ms",
		"spins past its own timeout":       "timed out after 50ms",
	}
	if len(o.Results) != len(want) {
		t.Fatalf("%d results, want %d", len(o.Results), len(want))
	}
	for _, r := range o.Results {
		if r.Status != engine.StatusTimedOut || !strings.HasPrefix(r.Message, want[r.Name]) {
			t.Errorf("%s: %s %q, want timed out %q", r.Name, r.Status, r.Message, want[r.Name])
		}
	}
}

// TestAScriptInterruptedWhileListingItsTestsIsNamed interrupts the run (Ctrl-C) while a
// script's top level loops: the run named no file and said "0 tests in 1 file" (issue 15
// attack, D5). The script is a load error that says what happened and where; the files
// after it are not loaded, and the run is interrupted.
func TestAScriptInterruptedWhileListingItsTestsIsNamed(t *testing.T) {
	t.Parallel()
	const head = "const { test } = require(\"vbharness\");\n"
	fsys := fstest.MapFS{
		"a_loop.js": {Data: []byte(head + "// line 2\nfor (;;) {}\ntest(\"never registered\", () => {});\n")},
		"b.js":      {Data: []byte(head + "test(\"passes\", () => {});\n")},
	}
	wd := runnertest.Watchdog(t, context.Background(), 20*time.Second)
	ctx, cancel := context.WithCancel(wd)
	defer cancel()
	time.AfterFunc(200*time.Millisecond, cancel) // Ctrl-C: the CLI's context ends without a cause
	p, err := runner.NewPlan(ctx, runner.Options{
		Engine: runner.NewEngine(fsys), Files: []string{"a_loop.js", "b.js"}, Target: runner.MockTarget(nil),
		Parallel: 2, Seed: 7, Timeout: 10 * time.Second, Clock: clock.NewVirtual(time.Time{}),
	})
	if err != nil {
		t.Fatal(err)
	}
	o := p.Execute(ctx)
	runnertest.CheckWatchdog(t, wd, "a run interrupted while a_loop.js registers its tests")
	const want = "a_loop.js:3:1: its top level did not finish: the run was interrupted (Ctrl-C) while it registered its tests (interrupted at a_loop.js:3:1)"
	if len(o.Results) != 1 || !o.Results[0].LoadError || o.Results[0].File != "a_loop.js" || o.Results[0].Message != want {
		t.Fatalf("results %+v\nwant one load error of a_loop.js: %q", o.Results, want)
	}
	if o.Results[0].Excerpt == nil {
		t.Error("the load error has no excerpt of the line the interrupt found")
	}
	if code := o.ExitCode(); !o.Interrupted || code != runner.ExitInterrupted {
		t.Errorf("interrupted %v, exit code %d; want an interrupted run, %d", o.Interrupted, code, runner.ExitInterrupted)
	}
}

// listingEngine counts how often the scripts it loads list their tests.
type listingEngine struct {
	runner.Engine
	mu    sync.Mutex
	tests map[string]int // file → Tests calls
}

func (e *listingEngine) Load(path string) (runner.Script, error) {
	s, err := e.Engine.Load(path)
	if err != nil {
		return nil, err
	}
	return listingScript{s, e, path}, nil
}

type listingScript struct {
	runner.Script
	e    *listingEngine
	path string
}

func (s listingScript) Tests(ctx context.Context) ([]engine.TestInfo, error) {
	s.e.mu.Lock()
	s.e.tests[s.path]++
	s.e.mu.Unlock()
	return s.Script.Tests(ctx)
}

// TestEachFileIsListedAgainWhenItsTurnComes: NewPlan lists every file to count its tests
// and keeps only their names; Execute loads each file again when its turn comes and lists
// it once more, which makes its tests and lets each test's runtime register only its own
// (engine.Script.Run). Exactly twice, whatever the number of tests.
func TestEachFileIsListedAgainWhenItsTurnComes(t *testing.T) {
	t.Parallel()
	file := func(n int) []byte {
		var b strings.Builder
		b.WriteString("const { test, expect } = require(\"vbharness\");\nconst seen = [];\n")
		for i := range n {
			fmt.Fprintf(&b, "test(\"t%d\", ({ test }) => { expect(test.name).toBe(\"t%d\"); expect(seen.length).toBe(%d); });\nseen.push(%d);\n", i, i, n, i)
		}
		return []byte(b.String())
	}
	fsys := fstest.MapFS{"many.js": {Data: file(40)}, "few.js": {Data: file(3)}}
	e := &listingEngine{Engine: runner.NewEngine(fsys), tests: map[string]int{}}
	p, err := runner.NewPlan(context.Background(), runner.Options{
		Engine: e, Files: []string{"few.js", "many.js"}, Target: runner.MockTarget(nil), Parallel: 2, Seed: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	o := p.Execute(context.Background())
	if c := o.Counts(); c.Passed != 43 {
		t.Fatalf("%+v, want 43 passed", c)
	}
	if e.tests["many.js"] != 2 || e.tests["few.js"] != 2 {
		t.Errorf("Tests calls %v, want 2 for each file (plan, then once loaded again)", e.tests)
	}
}

// concurrentEngine holds every test's Run until two of them are running at once (or
// ten seconds passed), so a run whose tests never overlap fails.
type concurrentEngine struct {
	runner.Engine
	mu       sync.Mutex
	running  int
	overlap  chan struct{}
	overlaps bool
}

func (e *concurrentEngine) Load(path string) (runner.Script, error) {
	s, err := e.Engine.Load(path)
	if err != nil {
		return nil, err
	}
	return concurrentScript{s, e}, nil
}

type concurrentScript struct {
	runner.Script
	e *concurrentEngine
}

func (s concurrentScript) Run(ctx context.Context, test string, opts engine.RunOptions) *engine.Result {
	e := s.e
	e.mu.Lock()
	e.running++
	if e.running == 2 && !e.overlaps {
		e.overlaps = true
		close(e.overlap)
	}
	e.mu.Unlock()
	select {
	case <-e.overlap:
	case <-time.After(10 * time.Second):
	}
	defer func() {
		e.mu.Lock()
		e.running--
		e.mu.Unlock()
	}()
	return s.Script.Run(ctx, test, opts)
}

// TestEachTestsRunInParallelWithTheirNames: the tests test.each registers are tests like
// any other for the runner: run in parallel, selected by tag, reported by their
// formatted names, each with its own row (an array table and a function table).
func TestEachTestsRunInParallelWithTheirNames(t *testing.T) {
	t.Parallel()
	src := `const { test, expect } = require("vbharness");
test.each([["a", 1], ["b", 2], ["c", 3]])("array %s is %i", (name, n, { test }) => {
  expect(test.name).toBe("array " + name + " is " + n);
  console.log(name, n);
}, { tags: ["array"] });
test.each(() => ["x", "y", "z"].map((name, i) => ({ name, n: i + 1 })))("fn $name is $n", ({ name, n }, { test }) => {
  expect(test.name).toBe("fn " + name + " is " + n);
  console.log(name, n);
}, { tags: ["fn"] });
`
	for _, c := range []struct {
		tags []string
		want []string
	}{
		{nil, []string{"array a is 1", "array b is 2", "array c is 3", "fn x is 1", "fn y is 2", "fn z is 3"}},
		{[]string{"fn"}, []string{"fn x is 1", "fn y is 2", "fn z is 3"}},
	} {
		e := &concurrentEngine{Engine: runner.NewEngine(fstest.MapFS{"each.js": {Data: []byte(src)}}), overlap: make(chan struct{})}
		p, err := runner.NewPlan(context.Background(), runner.Options{
			Engine: e, Files: []string{"each.js"}, Target: runner.MockTarget(nil), Parallel: 2, Seed: 1, Tags: c.tags,
		})
		if err != nil {
			t.Fatal(err)
		}
		o := p.Execute(context.Background())
		var got []string
		for _, r := range o.Results {
			got = append(got, r.Name)
			if r.Status != engine.StatusPassed || len(r.Console) != 1 || !strings.HasSuffix(r.Name, strings.ReplaceAll(r.Console[0].Text, " ", " is ")) {
				t.Errorf("%s: %s %q, console %v", r.Name, r.Status, r.Message, r.Console)
			}
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("tags %q: results %q, want %q", c.tags, got, c.want)
		}
		if !e.overlaps {
			t.Errorf("tags %q: no two tests ran at once with --parallel 2", c.tags)
		}
	}
}
