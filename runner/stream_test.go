package runner_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vbharness/vbharness/engine"
	"github.com/vbharness/vbharness/runner"
	"github.com/vbharness/vbharness/runner/runnertest"
)

// Issue 16 item 2: a run keeps counters and a bounded set of details. The observer (the
// report files) hears every result, in plan order; the outcome
// holds only the results Keep selects, at most KeepMax, and tallies the rest.
func TestKeepBoundsTheResultsTheOutcomeHolds(t *testing.T) {
	t.Parallel()
	var tests []runnertest.Test
	for i := range 12 {
		if i%3 == 1 {
			tests = append(tests, runnertest.Fail(fmt.Sprintf("t%02d", i)))
		} else {
			tests = append(tests, runnertest.Pass(fmt.Sprintf("t%02d", i)))
		}
	}
	var heard []string
	o, _ := run(t, context.Background(), map[string]*runnertest.Script{
		"a.js": {Tests: tests[:6]},
		"b.js": {Tests: tests[6:]},
		"c.js": {LoadErr: fmt.Errorf("c.js:1:1: SyntaxError: nope")},
	}, runner.Options{
		Observer: observerFunc(func(r *runner.Result) {
			heard = append(heard, r.Name)
		}),
		Keep:    func(r *runner.Result) bool { return r.Failed() },
		KeepMax: 3,
	})
	if len(heard) != 13 {
		t.Fatalf("the observer heard %d results, want all 13: %q", len(heard), heard)
	}
	if !slices.IsSorted(heard[:12]) || heard[12] != runner.LoadErrorName {
		t.Errorf("heard %q, want plan order", heard)
	}
	var kept []string
	for _, r := range o.Results {
		kept = append(kept, r.Name)
	}
	if want := []string{"t01", "t04", "t07"}; !slices.Equal(kept, want) {
		t.Errorf("kept %q, want the first 3 failures %q", kept, want)
	}
	want := runner.Omitted{Counts: runner.Counts{Passed: 8, Failed: 1, Errored: 1}, LoadErrors: 1, Capped: 2}
	if o.Omitted != want {
		t.Errorf("omitted = %+v, want %+v", o.Omitted, want)
	}
	if c := o.Counts(); c != (runner.Counts{Passed: 8, Failed: 4, Errored: 1}) {
		t.Errorf("counts = %+v, want every result counted", c)
	}
	if o.ExitCode() != runner.ExitLoad {
		t.Errorf("exit code %d, want %d: the omitted load error still counts", o.ExitCode(), runner.ExitLoad)
	}
}

// A run loads each file once to list its tests and once more to run them, and lets the
// compiled script go after its last test: it never holds every file of a long run.
func TestEachFileIsLoadedToPlanAndOnceMoreToRun(t *testing.T) {
	t.Parallel()
	scripts := map[string]*runnertest.Script{}
	for f := range 5 {
		scripts[fmt.Sprintf("f%d.js", f)] = &runnertest.Script{Tests: []runnertest.Test{
			runnertest.Pass("one"), runnertest.Pass("two"), runnertest.Pass("three"),
		}}
	}
	eng := &loadCounter{Engine: &runnertest.Engine{Scripts: scripts}, loads: map[string]int{}} // plan_test.go
	files := make([]string, 0, len(scripts))
	for f := range scripts {
		files = append(files, f)
	}
	slices.Sort(files)
	p, err := runner.NewPlan(context.Background(), runner.Options{Engine: eng, Files: files,
		Target: (&runnertest.Target{}).Runner(), Parallel: 2})
	if err != nil {
		t.Fatal(err)
	}
	o := p.Execute(context.Background())
	if c := o.Counts(); c.Passed != 15 {
		t.Fatalf("counts %+v, want 15 passed", c)
	}
	for _, f := range files {
		if n := eng.count(f); n != 2 {
			t.Errorf("%s was loaded %d times, want 2 (plan, run)", f, n)
		}
	}
}

// Issue 15 item 2: a test stuck in a call that does not watch ctx must not keep an
// interrupted run (and its reports) from ending. Past the grace it is abandoned and
// reported as timed out; what finished is kept, what never started is left out.
func TestAnInterruptedRunAbandonsATestThatDoesNotStop(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan struct{})
	stuck := make(chan struct{})
	t.Cleanup(func() { close(stuck) })
	go func() { <-started; cancel() }()
	ignoresCtx := runnertest.Test{Info: engine.TestInfo{Name: "stuck"}, Run: func(context.Context, engine.RunOptions) *engine.Result {
		close(started)
		<-stuck // a native call that never looks at ctx
		return &engine.Result{Status: engine.StatusPassed}
	}}
	var heard []string
	done := make(chan *runner.Outcome)
	go func() {
		o, _ := run(t, ctx, map[string]*runnertest.Script{"x.js": {Tests: []runnertest.Test{
			runnertest.Pass("first"), ignoresCtx, runnertest.Pass("never"),
		}}}, runner.Options{Parallel: 1, AbandonGrace: 50 * time.Millisecond,
			Observer: observerFunc(func(r *runner.Result) { heard = append(heard, r.Name+" "+string(r.Status)) })})
		done <- o
	}()
	var o *runner.Outcome
	select {
	case o = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Execute did not return 10 s after the interrupt")
	}
	want := []row{{"first", "passed", ""}, {"stuck", "timed out", ""}}
	if got := rows(o); !slices.Equal(got, want) {
		t.Errorf("results = %q, want %q", got, want)
	}
	if !strings.Contains(o.Results[1].Message, "abandoned") {
		t.Errorf("the stuck test's message %q does not say it was abandoned", o.Results[1].Message)
	}
	if !slices.Equal(heard, []string{"first passed", "stuck timed out"}) {
		t.Errorf("the observer heard %q", heard)
	}
	if o.ExitCode() != runner.ExitInterrupted {
		t.Errorf("exit code %d, want %d", o.ExitCode(), runner.ExitInterrupted)
	}
}

type observerFunc func(*runner.Result)

func (observerFunc) TestStarted(*runner.Planned)     {}
func (f observerFunc) TestFinished(r *runner.Result) { f(r) }

// A test's own timeout counts from the start of its body (engine.RunOptions.Started), so a
// test stuck in a native call is abandoned its own timeout plus the grace after it
// started, not after the run's whole default on top (issue 15 recheck: a test with
// { timeout: "2s" } under the default 30 s was abandoned after 37 s).
func TestAStuckTestIsAbandonedByItsOwnTimeout(t *testing.T) {
	t.Parallel()
	stuck := make(chan struct{})
	t.Cleanup(func() { close(stuck) })
	own := runnertest.Test{Info: engine.TestInfo{Name: "stuck", Timeout: 100 * time.Millisecond},
		Run: func(_ context.Context, opts engine.RunOptions) *engine.Result {
			opts.Started()
			<-stuck // a native call that never looks at ctx
			return &engine.Result{Status: engine.StatusPassed}
		}}
	done := make(chan *runner.Outcome)
	go func() {
		o, _ := run(t, context.Background(), map[string]*runnertest.Script{"x.js": {Tests: []runnertest.Test{own}}},
			runner.Options{Parallel: 1, Timeout: 10 * time.Minute, AbandonGrace: 100 * time.Millisecond})
		done <- o
	}()
	select {
	case o := <-done:
		if got := rows(o); !slices.Equal(got, []row{{"stuck", "timed out", ""}}) || !strings.Contains(o.Results[0].Message, "abandoned") {
			t.Errorf("results = %q, message %q", got, o.Results[0].Message)
		}
		if w := o.Results[0].Wall; w < 200*time.Millisecond { // its own timeout and the grace, at least
			t.Errorf("the abandoned test's wall time is %v, not the time it ran", w)
		}
	case <-time.After(2 * time.Minute): // the run's default (10 min) would be the bound without Started
		t.Fatal("the stuck test was not abandoned by its own timeout")
	}
}
