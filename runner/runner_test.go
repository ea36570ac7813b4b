package runner_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vbharness/vbharness/engine"
	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/mocks/secret"
	"github.com/vbharness/vbharness/runner"
	"github.com/vbharness/vbharness/runner/runnertest"
)

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// run plans and executes scripts (file → script) on the fake mock target.
func run(t *testing.T, ctx context.Context, scripts map[string]*runnertest.Script, opts runner.Options) (*runner.Outcome, *runnertest.Engine) {
	t.Helper()
	eng := &runnertest.Engine{Scripts: scripts}
	opts.Engine = eng
	if opts.Files == nil {
		for f := range scripts {
			opts.Files = append(opts.Files, f)
		}
		slices.Sort(opts.Files)
	}
	if opts.Target == nil {
		opts.Target = (&runnertest.Target{}).Runner()
	}
	if opts.Clock == nil {
		opts.Clock = clock.NewVirtual(time.Time{})
	}
	if opts.Parallel == 0 {
		opts.Parallel = 4
	}
	p, err := runner.NewPlan(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	return p.Execute(ctx), eng
}

type row struct {
	name, status, reason string
}

func rows(o *runner.Outcome) []row {
	var out []row
	for _, r := range o.Results {
		out = append(out, row{r.Name, string(r.Status), r.SkipReason})
	}
	return out
}

func info(name string, f func(*engine.TestInfo)) runnertest.Test {
	t := runnertest.Pass(name)
	f(&t.Info)
	return t
}

func TestSelection(t *testing.T) {
	t.Parallel()
	scripts := func() map[string]*runnertest.Script {
		return map[string]*runnertest.Script{
			"a.js": {Tests: []runnertest.Test{
				info("login with refresh", func(i *engine.TestInfo) { i.Tags = []string{"smoke", "refresh"} }),
				info("device code expires", func(i *engine.TestInfo) { i.Tags = []string{"slow"} }),
				info("plain", func(*engine.TestInfo) {}),
			}},
			"b.js": {Tests: []runnertest.Test{
				info("logout", func(i *engine.TestInfo) { i.Tags = []string{"smoke"} }),
			}},
		}
	}
	cases := []struct {
		name   string
		filter string
		tags   []string
		want   []string
	}{
		{"no filter selects every test in file order", "", nil, []string{"login with refresh", "device code expires", "plain", "logout"}},
		{"filter matches names by regular expression", "^log", nil, []string{"login with refresh", "logout"}},
		{"a tag selects tests carrying it", "", []string{"smoke"}, []string{"login with refresh", "logout"}},
		{"several tags select tests carrying any of them", "", []string{"slow", "refresh"}, []string{"login with refresh", "device code expires"}},
		{"a tag with ! excludes tests carrying it", "", []string{"!smoke"}, []string{"device code expires", "plain"}},
		{"filter and tags both apply", "out", []string{"smoke"}, []string{"logout"}},
		{"nothing matches", "zzz", nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			opts := runner.Options{Tags: c.tags}
			if c.filter != "" {
				opts.Filter = regexp.MustCompile(c.filter)
			}
			o, _ := run(t, context.Background(), scripts(), opts)
			var got []string
			for _, r := range o.Results {
				got = append(got, r.Name)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("ran %q, want %q", got, c.want)
			}
		})
	}
}

func TestSkips(t *testing.T) {
	t.Parallel()
	mockTarget := (&runnertest.Target{}).Runner()
	lab := &runner.Target{Name: "lab", Kind: engine.TargetLive, New: mockTarget.New}
	labMock := &runner.Target{Name: "labmock", Kind: engine.TargetLive, Control: true, New: mockTarget.New}
	req := func(name string, r ...engine.Requirement) runnertest.Test {
		return info(name, func(i *engine.TestInfo) { i.Requires = r })
	}
	cases := []struct {
		name   string
		target *runner.Target
		tests  []runnertest.Test
		want   []row
	}{
		{"test.skip without a reason", mockTarget,
			[]runnertest.Test{info("s", func(i *engine.TestInfo) { i.Skip = true })},
			[]row{{"s", "skipped", "test.skip"}}},
		{"test.skip with a reason keeps it", mockTarget,
			[]runnertest.Test{info("s", func(i *engine.TestInfo) { i.Skip = true; i.SkipReason = "flaky upstream" })},
			[]row{{"s", "skipped", "flaky upstream"}}},
		{"test.only skips every other test", mockTarget,
			[]runnertest.Test{runnertest.Pass("a"), info("b", func(i *engine.TestInfo) { i.Only = true }), runnertest.Pass("c")},
			[]row{{"a", "skipped", "another test in this run is marked test.only"}, {"b", "passed", ""}, {"c", "skipped", "another test in this run is marked test.only"}}},
		{"a clock test is skipped on a live target without a controllable clock", lab,
			[]runnertest.Test{req("expiry", engine.RequireClock)},
			[]row{{"expiry", "skipped", `requires clock: target "lab" has no controllable clock (only the embedded mocks and a running vbharness mock have one)`}}},
		{"a control test is skipped on a live target without the control API", lab,
			[]runnertest.Test{req("faults", engine.RequireControl)},
			[]row{{"faults", "skipped", `requires control: target "lab" has no mock control API`}}},
		{"a live-only test is skipped on the embedded mocks", mockTarget,
			[]runnertest.Test{req("real entra", engine.RequireLive)},
			[]row{{"real entra", "skipped", `requires live: target "mock" is the embedded mocks`}}},
		{"clock and control tests run against a running vbharness mock", labMock,
			[]runnertest.Test{req("expiry", engine.RequireClock), req("faults", engine.RequireControl), req("live", engine.RequireLive)},
			[]row{{"expiry", "passed", ""}, {"faults", "passed", ""}, {"live", "passed", ""}}},
		{"clock and control tests run on the embedded mocks", mockTarget,
			[]runnertest.Test{req("expiry", engine.RequireClock, engine.RequireControl)},
			[]row{{"expiry", "passed", ""}}},
		{"an unknown requirement errors instead of skipping", mockTarget,
			[]runnertest.Test{req("typo", "clok")},
			[]row{{"typo", "errored", ""}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			o, eng := run(t, context.Background(), map[string]*runnertest.Script{"x.js": {Tests: c.tests}}, runner.Options{Target: c.target})
			if got := rows(o); !slices.Equal(got, c.want) {
				t.Errorf("results = %q, want %q", got, c.want)
			}
			ran := map[string]bool{}
			for _, call := range eng.Calls() {
				ran[call.Test] = true
			}
			for _, w := range c.want {
				if ran[w.name] != (w.status == "passed") {
					t.Errorf("test %q: ran = %v, status %s", w.name, ran[w.name], w.status)
				}
			}
		})
	}
}

func TestUnknownRequirementNamesTheKnownOnes(t *testing.T) {
	t.Parallel()
	o, _ := run(t, context.Background(), map[string]*runnertest.Script{"x.js": {Tests: []runnertest.Test{
		info("typo", func(i *engine.TestInfo) { i.Requires = []engine.Requirement{"clok"} }),
	}}}, runner.Options{})
	if msg := o.Results[0].Message; msg != `unknown requirement "clok" (known: clock, control, live, isolated)` {
		t.Errorf("message = %q", msg)
	}
}

// TestResultsKeepPlanOrder makes later tests finish first: each test waits for the one
// after it, so completion order is the reverse of plan order. Results, and what the
// observer hears, keep plan order.
func TestResultsKeepPlanOrder(t *testing.T) {
	t.Parallel()
	const n = 4
	done := make([]chan struct{}, n+1)
	for i := range done {
		done[i] = make(chan struct{})
	}
	close(done[n])
	var (
		mu        sync.Mutex
		completed []string
	)
	var tests []runnertest.Test
	for i := range n {
		tests = append(tests, runnertest.Test{Info: engine.TestInfo{Name: fmt.Sprint("t", i)},
			Run: func(context.Context, engine.RunOptions) *engine.Result {
				<-done[i+1]
				mu.Lock()
				completed = append(completed, fmt.Sprint("t", i))
				mu.Unlock()
				close(done[i])
				return &engine.Result{Status: engine.StatusPassed}
			}})
	}
	var finished []string
	obs := &recorder{finished: &finished}
	o, _ := run(t, context.Background(), map[string]*runnertest.Script{"x.js": {Tests: tests}}, runner.Options{Parallel: n, Observer: obs})
	want := []string{"t0", "t1", "t2", "t3"}
	var got []string
	for _, r := range o.Results {
		got = append(got, r.Name)
	}
	if !slices.Equal(got, want) {
		t.Errorf("results = %q, want plan order %q", got, want)
	}
	if !slices.Equal(completed, []string{"t3", "t2", "t1", "t0"}) {
		t.Errorf("tests completed in the order %q, want reverse order (the test's premise)", completed)
	}
	if !slices.Equal(finished, want) {
		t.Errorf("observer heard %q finish, want plan order %q", finished, want)
	}
}

type recorder struct {
	started  []string
	finished *[]string
}

func (r *recorder) TestStarted(p *runner.Planned) { r.started = append(r.started, p.Info.Name) }
func (r *recorder) TestFinished(res *runner.Result) {
	*r.finished = append(*r.finished, res.Name)
}

// TestEachTestGetsItsOwnTargetSeedAndTheRunsTimeout: every test gets a fresh target, its
// own seed and the run's default timeout, also a test with a timeout option of its own:
// the engine, not the runner, applies that option (engine/run_test.go tests it).
func TestEachTestGetsItsOwnTargetSeedAndTheRunsTimeout(t *testing.T) {
	t.Parallel()
	tgt := &runnertest.Target{}
	scripts := map[string]*runnertest.Script{
		"a.js": {Tests: []runnertest.Test{runnertest.Pass("one"), info("two", func(i *engine.TestInfo) { i.Timeout = 5 * time.Minute })}},
		"b.js": {Tests: []runnertest.Test{runnertest.Pass("one")}},
	}
	o, eng := run(t, context.Background(), scripts, runner.Options{Target: tgt.Runner(), Seed: 42, Timeout: 7 * time.Second})
	calls := eng.Calls()
	if len(calls) != 3 {
		t.Fatalf("%d runs, want 3", len(calls))
	}
	clocks := map[clock.Clock]bool{}
	names := map[string]bool{}
	for _, c := range calls {
		clocks[c.Opts.Target.Clock] = true
		names[c.Opts.Target.Name] = true
		if want := runner.TestSeed(42, c.File, c.Test); c.Opts.Seed != want {
			t.Errorf("%s/%s seed = %d, want TestSeed(42, …) = %d", c.File, c.Test, c.Opts.Seed, want)
		}
		if c.Opts.Timeout != 7*time.Second {
			t.Errorf("%s/%s timeout = %v, want the run's 7s", c.File, c.Test, c.Opts.Timeout)
		}
		if c.Opts.Scrubber == nil {
			t.Errorf("%s/%s ran without a scrubber", c.File, c.Test)
		}
	}
	if len(clocks) != 3 || len(names) != 3 {
		t.Errorf("3 tests shared targets: %d clocks, %d targets", len(clocks), len(names))
	}
	if made, released := tgt.Counts(); made != 3 || released != 3 {
		t.Errorf("targets made %d, released %d; want 3 and 3", made, released)
	}
	if o.Seed != 42 {
		t.Errorf("outcome seed = %d", o.Seed)
	}
	for _, r := range o.Results {
		if r.Seed != runner.TestSeed(42, r.File, r.Name) {
			t.Errorf("%s: reported seed %d", r.Name, r.Seed)
		}
	}
}

// TestTheRunsTimeoutReachesTheEngineAsIs: the default (0) becomes engine.DefaultTimeout,
// engine.NoTimeout (no limit) goes down as is, and a test's own option never replaces the
// run's in what the runner passes.
func TestTheRunsTimeoutReachesTheEngineAsIs(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		run  time.Duration
		want time.Duration
	}{
		{"the default, 30s as documented", 0, 30 * time.Second},
		{"no limit", engine.NoTimeout, engine.NoTimeout},
		{"a set timeout", 250 * time.Millisecond, 250 * time.Millisecond},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			scripts := map[string]*runnertest.Script{"a.js": {Tests: []runnertest.Test{runnertest.Pass("plain"),
				info("own", func(i *engine.TestInfo) { i.Timeout = 50 * time.Millisecond })}}}
			_, eng := run(t, context.Background(), scripts, runner.Options{Timeout: c.run})
			for _, call := range eng.Calls() {
				if call.Opts.Timeout != c.want {
					t.Errorf("%s: RunOptions.Timeout = %v, want %v", call.Test, call.Opts.Timeout, c.want)
				}
			}
			if n := len(eng.Calls()); n != 2 {
				t.Errorf("%d runs, want 2", n)
			}
		})
	}
}

func TestTestSeed(t *testing.T) {
	t.Parallel()
	a := runner.TestSeed(1, "a.js", "x")
	if a != runner.TestSeed(1, "a.js", "x") {
		t.Error("TestSeed is not deterministic")
	}
	distinct := map[int64]string{}
	for _, k := range []struct {
		run        int64
		file, name string
	}{{1, "a.js", "x"}, {2, "a.js", "x"}, {1, "b.js", "x"}, {1, "a.js", "y"}, {1, "a.jsx", ""}, {1, "a.js", "x\x00"}} {
		s := runner.TestSeed(k.run, k.file, k.name)
		if s < 0 {
			t.Errorf("TestSeed%v = %d, negative", k, s)
		}
		if prev, dup := distinct[s]; dup {
			t.Errorf("TestSeed%v collides with %s", k, prev)
		}
		distinct[s] = fmt.Sprint(k)
	}
}

func TestFailFastSkipsTestsNotStarted(t *testing.T) {
	t.Parallel()
	o, eng := run(t, context.Background(), map[string]*runnertest.Script{"x.js": {Tests: []runnertest.Test{
		runnertest.Pass("a"), runnertest.Fail("b"), runnertest.Pass("c"), runnertest.Pass("d"),
	}}}, runner.Options{Parallel: 1, FailFast: true})
	want := []row{{"a", "passed", ""}, {"b", "failed", ""}, {"c", "skipped", runner.StoppedReason}, {"d", "skipped", runner.StoppedReason}}
	if got := rows(o); !slices.Equal(got, want) {
		t.Errorf("results = %q, want %q", got, want)
	}
	if len(eng.Calls()) != 2 || !o.Stopped || o.ExitCode() != runner.ExitFailed {
		t.Errorf("ran %d tests, stopped %v, exit %d; want 2, true, 1", len(eng.Calls()), o.Stopped, o.ExitCode())
	}
}

func TestWithoutFailFastEveryTestRuns(t *testing.T) {
	t.Parallel()
	o, eng := run(t, context.Background(), map[string]*runnertest.Script{"x.js": {Tests: []runnertest.Test{
		runnertest.Fail("a"), runnertest.Pass("b"), runnertest.Pass("c"),
	}}}, runner.Options{Parallel: 1})
	if len(eng.Calls()) != 3 || o.Stopped {
		t.Errorf("ran %d tests (stopped %v), want 3", len(eng.Calls()), o.Stopped)
	}
}

func TestInterruptKeepsWhatFinished(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan struct{})
	go func() { <-started; cancel() }()
	o, eng := run(t, ctx, map[string]*runnertest.Script{"x.js": {Tests: []runnertest.Test{
		runnertest.Pass("first"), runnertest.WaitForCancel("blocks", started), runnertest.Pass("never"), runnertest.Pass("never2"),
	}}}, runner.Options{Parallel: 1})
	want := []row{{"first", "passed", ""}, {"blocks", "timed out", ""}}
	if got := rows(o); !slices.Equal(got, want) {
		t.Errorf("results = %q, want %q", got, want)
	}
	if !o.Interrupted || o.ExitCode() != runner.ExitInterrupted {
		t.Errorf("interrupted = %v, exit = %d; want true, 130", o.Interrupted, o.ExitCode())
	}
	if len(eng.Calls()) != 2 {
		t.Errorf("%d tests ran after the interrupt, want none", len(eng.Calls())-2)
	}
}

func TestLoadErrorsAreReportedAndTheOtherScriptsRun(t *testing.T) {
	t.Parallel()
	o, _ := run(t, context.Background(), map[string]*runnertest.Script{
		"a.js": {LoadErr: errors.New("a.js:3:7: SyntaxError: Unexpected token")},
		"b.js": {TestsErr: errors.New("b.js:1:1: ReferenceError: tset is not defined")},
		"c.js": {Tests: []runnertest.Test{runnertest.Pass("ok")}},
	}, runner.Options{})
	want := []row{{runner.LoadErrorName, "errored", ""}, {runner.LoadErrorName, "errored", ""}, {"ok", "passed", ""}}
	if got := rows(o); !slices.Equal(got, want) {
		t.Fatalf("results = %q, want %q", got, want)
	}
	if !o.Results[0].LoadError || o.Results[0].File != "a.js" || o.Results[0].Message != "a.js:3:7: SyntaxError: Unexpected token" {
		t.Errorf("load error result = %+v", o.Results[0])
	}
	if o.ExitCode() != runner.ExitLoad {
		t.Errorf("exit = %d, want 3", o.ExitCode())
	}
}

func TestAPanickingOrSilentEngineErrorsTheTest(t *testing.T) {
	t.Parallel()
	o, _ := run(t, context.Background(), map[string]*runnertest.Script{"x.js": {Tests: []runnertest.Test{
		{Info: engine.TestInfo{Name: "panics"}, Run: func(context.Context, engine.RunOptions) *engine.Result { panic("boom") }},
		{Info: engine.TestInfo{Name: "nil"}, Run: func(context.Context, engine.RunOptions) *engine.Result { return nil }},
		runnertest.Pass("after"),
	}}}, runner.Options{Parallel: 1})
	want := []row{{"panics", "errored", ""}, {"nil", "errored", ""}, {"after", "passed", ""}}
	if got := rows(o); !slices.Equal(got, want) {
		t.Fatalf("results = %q, want %q", got, want)
	}
	if !contains(o.Results[0].Message, "boom") {
		t.Errorf("panic message = %q", o.Results[0].Message)
	}
}

func TestATargetThatCannotStartErrorsTheTest(t *testing.T) {
	t.Parallel()
	o, _ := run(t, context.Background(), map[string]*runnertest.Script{"x.js": {Tests: []runnertest.Test{runnertest.Pass("a")}}},
		runner.Options{Target: (&runnertest.Target{Fail: true}).Runner()})
	if r := o.Results[0]; r.Status != engine.StatusErrored || !contains(r.Message, "stack failed to start") {
		t.Errorf("result = %s %q", r.Status, r.Message)
	}
}

// TestExclusiveTestsRunAloneOnASharedTarget checks the invariant under load: a test
// that moves a shared server's clock never overlaps another test.
func TestExclusiveTestsRunAloneOnASharedTarget(t *testing.T) {
	t.Parallel()
	var active, violations atomic.Int32
	body := func(exclusive bool) func(context.Context, engine.RunOptions) *engine.Result {
		return func(context.Context, engine.RunOptions) *engine.Result {
			n := active.Add(1)
			if exclusive && n != 1 {
				violations.Add(1)
			}
			for range 200 {
				if exclusive && active.Load() != 1 {
					violations.Add(1)
				}
				runtime.Gosched()
			}
			active.Add(-1)
			return &engine.Result{Status: engine.StatusPassed}
		}
	}
	var tests []runnertest.Test
	for i := range 60 {
		ex := i%5 == 0
		tt := runnertest.Test{Info: engine.TestInfo{Name: fmt.Sprint("t", i)}, Run: body(ex)}
		if ex {
			tt.Info.Requires = []engine.Requirement{engine.RequireClock}
		}
		tests = append(tests, tt)
	}
	base := (&runnertest.Target{}).Runner()
	shared := &runner.Target{Name: "labmock", Kind: engine.TargetLive, Control: true, New: base.New}
	o, _ := run(t, context.Background(), map[string]*runnertest.Script{"x.js": {Tests: tests}}, runner.Options{Target: shared, Parallel: 4})
	if c := o.Counts(); c.Passed != 60 {
		t.Fatalf("counts = %+v", c)
	}
	if v := violations.Load(); v != 0 {
		t.Errorf("an exclusive test overlapped another test %d times", v)
	}
}

func TestNewPlanRejectsInvalidOptions(t *testing.T) {
	t.Parallel()
	for name, opts := range map[string]runner.Options{
		"no engine":         {Target: (&runnertest.Target{}).Runner()},
		"no target":         {Engine: &runnertest.Engine{}},
		"negative parallel": {Engine: &runnertest.Engine{}, Target: (&runnertest.Target{}).Runner(), Parallel: -1},
		// "none" has one spelling, engine.NoTimeout; other negative values are mistakes.
		"a negative timeout that is not NoTimeout": {Engine: &runnertest.Engine{}, Target: (&runnertest.Target{}).Runner(), Timeout: -5 * time.Second},
	} {
		if _, err := runner.NewPlan(context.Background(), opts); !errors.Is(err, runner.ErrOptions) {
			t.Errorf("%s: error = %v, want ErrOptions", name, err)
		}
	}
}

func TestCountsSummaryAndExitCode(t *testing.T) {
	t.Parallel()
	res := func(s engine.Status) runner.Result { return runner.Result{Result: engine.Result{Status: s}} }
	cases := []struct {
		name    string
		results []runner.Result
		intr    bool
		summary string
		exit    int
	}{
		{"nothing ran", nil, false, "0 passed, 0 failed, 0 skipped", 0},
		{"passed and skipped exit 0", []runner.Result{res("passed"), res("skipped")}, false, "1 passed, 0 failed, 1 skipped", 0},
		{"failed, errored and timed out all count as failed", []runner.Result{res("passed"), res("failed"), res("errored"), res("timed out")}, false, "1 passed, 3 failed, 0 skipped", 1},
		{"a load error wins over a failure", []runner.Result{res("failed"), {Result: engine.Result{Status: "errored"}, LoadError: true}}, false, "0 passed, 2 failed, 0 skipped", 3},
		{"an interrupt wins over everything", []runner.Result{{Result: engine.Result{Status: "errored"}, LoadError: true}}, true, "0 passed, 1 failed, 0 skipped", 130},
	}
	for _, c := range cases {
		o := &runner.Outcome{Results: c.results, Interrupted: c.intr}
		if got := o.Counts().Summary(); got != c.summary {
			t.Errorf("%s: summary = %q, want %q", c.name, got, c.summary)
		}
		if got := o.ExitCode(); got != c.exit {
			t.Errorf("%s: exit = %d, want %d", c.name, got, c.exit)
		}
	}
}

func TestScrubCopiesEveryStringAndLeavesTheOriginal(t *testing.T) {
	t.Parallel()
	const tok = "eyJhbGciOiJSUzI1NiJ9.secret-token-value"
	s := secret.NewScrubber()
	s.Add(tok)
	o := &runner.Outcome{Results: []runner.Result{{Result: engine.Result{
		Name: "n", Message: "got " + tok, Stack: tok, Expected: tok, Actual: tok, SkipReason: tok,
		Console: []engine.ConsoleLine{{Level: "log", Text: tok}},
		Trace: []engine.Exchange{{URL: "https://x/?t=" + tok, RequestHeaders: map[string]string{"Authorization": "Bearer " + tok},
			RequestBody: tok, ResponseHeaders: map[string]string{"X": tok}, ResponseBody: tok, Error: tok}},
	}}}}
	c := o.Scrub(s)
	if got := fmt.Sprintf("%+v", c.Results); contains(got, tok) {
		t.Errorf("scrubbed outcome still holds the token: %s", got)
	}
	if !contains(c.Results[0].Message, secret.RedactToken(tok)) {
		t.Errorf("message = %q, want the redaction marker", c.Results[0].Message)
	}
	if o.Results[0].Console[0].Text != tok || o.Results[0].Trace[0].RequestHeaders["Authorization"] != "Bearer "+tok {
		t.Error("Scrub modified the original outcome")
	}
}

// balance is an Observer that checks every finished test that ran was started first.
type balance struct {
	started  map[string]bool
	problems []string
	finished int
}

func (b *balance) TestStarted(p *runner.Planned) { b.started[p.File+"/"+p.Info.Name] = true }
func (b *balance) TestFinished(r *runner.Result) {
	b.finished++
	ran := r.Status != engine.StatusSkipped && !r.LoadError
	if ran != b.started[r.File+"/"+r.Name] {
		b.problems = append(b.problems, fmt.Sprintf("%s: status %s, started %v", r.Name, r.Status, b.started[r.File+"/"+r.Name]))
	}
}

func TestObserverHearsEveryTestThatRunsStartBeforeItFinishes(t *testing.T) {
	t.Parallel()
	b := &balance{started: map[string]bool{}}
	o, _ := run(t, context.Background(), map[string]*runnertest.Script{
		"a.js": {Tests: []runnertest.Test{runnertest.Pass("p"), runnertest.Fail("f"), requires("typo", "clok"),
			info("s", func(i *engine.TestInfo) { i.Skip = true })}},
		"b.js": {LoadErr: errors.New("b.js:1:1: SyntaxError")},
	}, runner.Options{Observer: b})
	if b.finished != len(o.Results) || len(b.problems) > 0 {
		t.Errorf("finished %d of %d; %q", b.finished, len(o.Results), b.problems)
	}
}

func requires(name string, r ...engine.Requirement) runnertest.Test {
	return info(name, func(i *engine.TestInfo) { i.Requires = r })
}
