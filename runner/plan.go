package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/vbharness/vbharness/engine"
	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/mocks/secret"
)

// Options configure a run. Engine, Files and Target are required.
type Options struct {
	Engine Engine
	// Files are the scenario paths in the engine's file system, usually from Discover.
	Files  []string
	Target *Target
	// Parallel is how many tests run at once; 0 means runtime.NumCPU().
	Parallel int
	// Timeout is the wall-clock limit of a test that sets none itself: 0 means
	// engine.DefaultTimeout, engine.NoTimeout no limit (any other negative value is an
	// error). The runner passes it to the engine, which alone applies a test's own
	// timeout option instead (engine.Deadline). It also bounds the evaluation of each
	// script's top level while the plan is made.
	Timeout time.Duration
	// Filter, if set, selects tests whose name it matches.
	Filter *regexp.Regexp
	// Tags, if any, select tests carrying at least one of them; a tag written "!name"
	// excludes tests carrying name instead.
	Tags []string
	// FailFast stops starting tests after the first failure; the tests not started are
	// reported as skipped.
	FailFast bool
	// Seed is the run seed; every test's seed is TestSeed(Seed, file, name).
	Seed int64
	// Clock measures the run's start and elapsed time; default clock.NewReal().
	Clock clock.Clock
	// Scrubber collects every secret the run obtains; default a new one. Reports pass
	// their text through it.
	Scrubber *secret.Scrubber
	// Observer, if set, hears about tests as they start and finish.
	Observer Observer
	// Prompt is where live sign-in prompts for a person go; may be nil.
	Prompt io.Writer
	// ShowPath, if set, turns a path of the engine's file system into the path results
	// show, so it opens from the user's shell: the CLI names files under the working
	// directory relative to it and others by their absolute path. It is applied to each
	// result's File and to the script paths (*.js) inside its Message and Stack, and
	// returns a path it does not know unchanged. nil shows file-system paths as they are.
	ShowPath func(fsPath string) string
	// Keep, if set, bounds the memory a run's results take, whatever its length: Outcome.
	// Results holds only the results Keep selects, at most KeepMax of them (0: no cap),
	// and Outcome.Omitted tallies the rest. The Observer still hears every result, so
	// report writers stream them (runner/report). nil keeps every result.
	Keep    func(*Result) bool
	KeepMax int
	// MaxMemory is the Go heap, in bytes, the run may use: past it the runner stops the
	// scenario that has run longest, which is reported as errored ("memory limit
	// exceeded"), and the run goes on. 0 means DefaultMaxMemory; negative, no limit.
	MaxMemory int64
	// AbandonGrace is how long a test (or a script's top level) may run past its
	// deadline, or past ctx's end, before the runner abandons its goroutine and reports
	// it as timed out; 0 means AbandonGrace. Only a native call that ignores the
	// runtime's interrupt gets that far.
	AbandonGrace time.Duration
}

// Observer hears about a run's progress. Every test that is run (or fails without
// running) is announced by TestStarted before its TestFinished; skipped tests and
// scripts that failed to load only finish. TestStarted comes as tests start; TestFinished
// comes in plan order (files sorted, tests in registration order), each as soon as the
// test and every test before it have finished. The runner calls the Observer from one
// goroutine at a time, so implementations need no locking of their own.
type Observer interface {
	TestStarted(t *Planned)
	TestFinished(r *Result)
}

// Planned is one test of a plan.
type Planned struct {
	File string
	Info engine.TestInfo
	Seed int64
	// SkipReason, if set, says why the test will not run.
	SkipReason string
	// Err, if set, fails the test without running it (an unknown requirement).
	Err error

	script  *planFile
	loadErr error // set on the entry standing for a script that failed to load
	index   int   // position in the plan before Shard cut it
}

// Plan is the tests a run will report, in order, with the decision for each.
type Plan struct {
	Tests []*Planned
	// Discovered is how many tests the scripts registered before filters and tags.
	Discovered int
	// Files is how many scenario files the plan covers.
	Files int
	// LoadErrors is how many scripts failed to load.
	LoadErrors int
	// Unsharded is how many tests Selected counted before Shard cut the plan to its
	// share; 0 when the plan is not sharded.
	Unsharded int

	opts    Options
	shard   Shard
	planned int       // len(Tests) before Shard
	started time.Time // when NewPlan began: loading the scripts is part of the run
}

// Selected is how many tests passed the filter and the tags (run or skipped).
func (p *Plan) Selected() int { return len(p.Tests) - p.LoadErrors }

// Options returns the options the plan was made with, defaults filled in.
func (p *Plan) Options() Options { return p.opts }

// ErrOptions wraps every error NewPlan returns: the options themselves are wrong.
var ErrOptions = errors.New("invalid run options")

// NewPlan loads every file, collects the tests each registers and decides what to run:
// tests outside the filter or the tags are left out; test.skip, test.only elsewhere and
// requirements the target cannot meet become skips with a reason. A script that fails
// to load becomes a single errored entry (LoadError) and the other scripts still run.
// NewPlan fails only for invalid options.
func NewPlan(ctx context.Context, opts Options) (*Plan, error) {
	if opts.Engine == nil || opts.Target == nil || opts.Target.New == nil {
		return nil, fmt.Errorf("%w: engine and target are required", ErrOptions)
	}
	if opts.Parallel < 0 {
		return nil, fmt.Errorf("%w: parallel must be at least 1, got %d", ErrOptions, opts.Parallel)
	}
	if opts.Parallel == 0 {
		opts.Parallel = runtime.NumCPU()
	}
	if opts.Timeout < 0 && opts.Timeout != engine.NoTimeout {
		return nil, fmt.Errorf("%w: timeout %v: give a duration, 0 for the default (%v) or engine.NoTimeout for none", ErrOptions, opts.Timeout, engine.DefaultTimeout)
	}
	opts.Timeout = engine.Deadline(0, opts.Timeout) // the run's limit: positive, or NoTimeout
	if opts.Clock == nil {
		opts.Clock = clock.NewReal()
	}
	if opts.AbandonGrace <= 0 {
		opts.AbandonGrace = AbandonGrace
	}
	if opts.Scrubber == nil {
		opts.Scrubber = secret.NewScrubber()
	}
	p := &Plan{opts: opts, Files: len(opts.Files), started: opts.Clock.Now()}
	guard := newMemoryGuard(opts.MaxMemory)
	defer guard.stop()
	for _, f := range opts.Files {
		if ctx.Err() != nil {
			break // interrupted: the run will start no test
		}
		s, err := opts.Engine.Load(f)
		var infos []engine.TestInfo
		if err == nil {
			infos, err = collect(ctx, s, f, opts.Timeout, opts.AbandonGrace, guard)
		}
		if err != nil {
			p.Tests = append(p.Tests, &Planned{File: f, Info: engine.TestInfo{Name: LoadErrorName, File: f}, loadErr: err})
			p.LoadErrors++
			if ctx.Err() != nil {
				// Interrupted (Ctrl-C) while listing f's tests: f says so, and the files
				// after it are not loaded (each would fail the same way at once).
				break
			}
			continue
		}
		// The compiled script is not kept: a run of thousands of files would hold every
		// one of them. Execute loads a file again for its first test and lets it go after
		// its last (planFile).
		pf := &planFile{path: f}
		for _, info := range infos {
			p.Discovered++
			if info.File == "" {
				info.File = f
			}
			if !selected(info, opts.Filter, opts.Tags) {
				continue
			}
			p.Tests = append(p.Tests, &Planned{File: f, Info: info, Seed: TestSeed(opts.Seed, f, info.Name), script: pf})
		}
	}
	only := false
	for _, t := range p.Tests {
		if t.loadErr == nil && t.Info.Only {
			only = true
		}
	}
	for _, t := range p.Tests {
		if t.loadErr != nil {
			continue
		}
		switch {
		case t.Info.Skip:
			t.SkipReason = t.Info.SkipReason
			if t.SkipReason == "" {
				t.SkipReason = "test.skip"
			}
		case only && !t.Info.Only:
			t.SkipReason = "another test in this run is marked test.only"
		default:
			t.SkipReason, t.Err = opts.Target.Capabilities().Check(opts.Target.Name, t.Info.Requires)
		}
	}
	return p, nil
}

// planFile is one scenario file of a plan: loaded by the first test that runs from it,
// released when the last of its tests has run, so a run holds only the compiled scripts
// of the files its workers are in.
type planFile struct {
	path string

	mu      sync.Mutex
	pending int // tests of the file that will still run
	script  Script
	err     error
}

// acquire returns the file's script, loading it if no test holds it. When at least
// collectAgainFrom of the file's tests are still to run, it lists the tests of the script
// it loaded (Script.Tests, within ctx and timeout as collect does), which lets each test's
// runtime register only its own test (engine.Script.Run): a file of N tests then costs N
// runs of its top level, not N² registrations. An error there is left to the test's own
// run, which evaluates the top level again and reports it.
func (f *planFile) acquire(ctx context.Context, e Engine, timeout time.Duration) (Script, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.script == nil && f.err == nil {
		f.script, f.err = e.Load(f.path)
		if f.err == nil && f.pending >= collectAgainFrom {
			if timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			_, _ = f.script.Tests(ctx)
		}
	}
	return f.script, f.err
}

// collectAgainFrom is how many tests of a file must be left to run for acquire to list
// them again: listing costs one evaluation of the top level, about what registering only
// its own test saves each of ten tests of a ten-test file (docs/performance.md, issue 16).
const collectAgainFrom = 16

// release lets the script go once the file's last test has run.
func (f *planFile) release() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.pending--; f.pending <= 0 {
		f.script, f.err = nil, nil
	}
}

// collect evaluates a script's top level to list its tests, within the run's timeout
// and memory limit, so a script whose top level never ends (or allocates without end)
// fails to load instead of stopping the whole run.
func collect(ctx context.Context, s Script, file string, timeout, grace time.Duration, guard *memoryGuard) ([]engine.TestInfo, error) {
	parent := ctx
	ctx, release, _ := guard.guard(ctx, file+" (registering its tests)", -1)
	defer release()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, timeout, fmt.Errorf("timed out after %v while registering its tests (--timeout)", timeout))
		defer cancel()
	}
	// As with a test (Plan.run), a top level stuck in a native call is abandoned.
	type collected struct {
		infos []engine.TestInfo
		err   error
	}
	done := make(chan collected, 1)
	go func() {
		infos, err := s.Tests(ctx)
		done <- collected{infos, err}
	}()
	c, stuck, _ := wait(ctx, done, nil, 0, 0, grace)
	why, interrupted := context.Cause(ctx), parent.Err() != nil
	switch {
	case interrupted && context.Cause(parent) == context.Canceled:
		why = errInterruptedWhileListing
	case interrupted:
		why = fmt.Errorf("its top level did not finish: %w", context.Cause(parent))
	}
	if stuck {
		return nil, fmt.Errorf("%v, and did not stop within %v; abandoned (a native call ignored the interrupt)", why, grace)
	}
	var le *engine.LoadError
	if c.err != nil && interrupted && errors.As(c.err, &le) {
		// The engine calls it a cancelled test; say what it was: a file whose tests
		// could not be listed, where the interrupt found its top level.
		named := *le
		named.Message = why.Error()
		if _, at, ok := strings.Cut(le.Message, " (interrupted at "); ok {
			named.Message += " (interrupted at " + at
		}
		return nil, &named
	}
	return c.infos, c.err
}

// errInterruptedWhileListing is why a script failed to load when the run was interrupted
// (Ctrl-C) while its top level ran to list its tests.
var errInterruptedWhileListing = errors.New("its top level did not finish: the run was interrupted (Ctrl-C) while it registered its tests")

func selected(info engine.TestInfo, filter *regexp.Regexp, tags []string) bool {
	if filter != nil && !filter.MatchString(info.Name) {
		return false
	}
	has := func(tag string) bool {
		for _, t := range info.Tags {
			if t == tag {
				return true
			}
		}
		return false
	}
	wanted, matched := false, false
	for _, tag := range tags {
		if ex, ok := strings.CutPrefix(tag, "!"); ok {
			if has(ex) {
				return false
			}
			continue
		}
		wanted = true
		if has(tag) {
			matched = true
		}
	}
	return !wanted || matched
}
