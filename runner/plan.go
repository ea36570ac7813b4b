package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vbharness/vbharness/engine"
	"github.com/vbharness/vbharness/engine/flow"
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
	// script's top level while the plan is made and when the file's turn comes.
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
	// Record, if set, hears every exchange of every test, unredacted
	// (engine.RunOptions.Record): `vbharness run --record DIR`. Tests call it
	// concurrently.
	Record func(service string, ex *flow.Exchange)
	// Contract is the run's contract mode (engine.RunOptions.Contract); "" takes
	// DefaultContract(Target).
	Contract engine.ContractMode
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

// Planned is one test of a plan, made when its file's turn comes in Execute.
type Planned struct {
	File string
	Info engine.TestInfo
	Seed int64
	// SkipReason, if set, says why the test will not run.
	SkipReason string
	// Err, if set, fails the test without running it (an unknown requirement, or a file
	// that could not be loaded again, or registered other tests, when its turn came).
	Err error

	script  *planFile
	loadErr error // set on the entry standing for a script that failed to load
	index   int   // position in the plan before Shard cut it
	pos     int   // position among the entries Execute runs
	holds   bool  // counted in script.pending: the worker releases the script after it
}

// Plan is the tests a run will report, in order, and what is needed to decide each one
// when its file's turn comes. It does not hold the tests themselves: NewPlan evaluates
// every file's top level once to count the tests it registers and keeps, per file, only
// the selected tests' names (for Shard and to check the file again); Execute loads and
// lists each file again when its turn comes and makes its tests then. A plan's memory is
// then a few bytes per test (the names), not its engine.TestInfo, seed and decisions.
type Plan struct {
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
	files   []*planFile
	entries int       // entries the plan reports: selected tests and scripts that failed to load
	planned int       // entries before Shard; 0 when not sharded
	only    bool      // a selected test is marked test.only
	started time.Time // when NewPlan began: loading the scripts is part of the run
}

// Selected is how many tests passed the filter and the tags (run or skipped).
func (p *Plan) Selected() int { return p.entries - p.LoadErrors }

// Options returns the options the plan was made with, defaults filled in.
func (p *Plan) Options() Options { return p.opts }

// Keys returns the entries the plan will report, in order: each selected test's file
// (its path in the engine's file system) and name, and {file, LoadErrorName} for a
// script that failed to load. After Shard, only the shard's.
func (p *Plan) Keys() []TestKey {
	keys := make([]TestKey, 0, p.entries)
	for _, f := range p.files {
		for _, i := range f.positions() {
			keys = append(keys, TestKey{f.path, f.name(i)})
		}
	}
	return keys
}

// ErrOptions wraps every error NewPlan returns: the options themselves are wrong.
var ErrOptions = errors.New("invalid run options")

// NewPlan loads every file and counts the tests it registers that the filter and the
// tags select. A script that fails to load becomes a single errored entry (LoadError)
// and the other scripts still run. What happens to each test is decided when its file's
// turn comes (Execute): test.skip, test.only elsewhere and requirements the target
// cannot meet become skips with a reason. NewPlan fails only for invalid options.
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
	if opts.Contract == "" {
		opts.Contract = DefaultContract(opts.Target)
	} else if _, err := engine.ParseContractMode(string(opts.Contract)); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrOptions, err)
	}
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
	p.files = make([]*planFile, 0, len(opts.Files))
	for _, f := range opts.Files {
		if ctx.Err() != nil {
			break // interrupted: the run will start no test
		}
		pf := &planFile{path: f, offset: p.entries}
		p.files = append(p.files, pf)
		s, err := opts.Engine.Load(f)
		var infos []engine.TestInfo
		if err == nil {
			infos, err = collect(ctx, s, f, opts.Timeout, opts.AbandonGrace, guard)
		}
		if err != nil {
			pf.loadErr = err
			p.entries++
			p.LoadErrors++
			if ctx.Err() != nil {
				// Interrupted (Ctrl-C) while listing f's tests: f says so, and the files
				// after it are not loaded (each would fail the same way at once).
				break
			}
			continue
		}
		// Neither the compiled script nor the tests are kept: a run of thousands of files
		// would hold every one of them. Execute loads a file again when its turn comes
		// and lets it go after its last test (planFile).
		var names nameListBuilder
		for _, info := range infos {
			p.Discovered++
			if !selected(info, opts.Filter, opts.Tags) {
				continue
			}
			names.add(info.Name)
			p.only = p.only || info.Only
		}
		pf.names = names.done()
		p.entries += pf.names.len()
	}
	return p, nil
}

// decide sets what happens to a test listed when its file's turn came: skipped (and
// why), failed without running (t.Err), or run.
func (p *Plan) decide(t *Planned) {
	switch {
	case t.Info.Skip:
		t.SkipReason = t.Info.SkipReason
		if t.SkipReason == "" {
			t.SkipReason = "test.skip"
		}
	case p.only && !t.Info.Only:
		t.SkipReason = "another test in this run is marked test.only"
	default:
		t.SkipReason, t.Err = p.opts.Target.Capabilities().Check(p.opts.Target.Name, t.Info.Requires)
	}
}

// list makes the tests of f that this plan runs, when the file's turn comes: it loads the
// file again and lists its tests (within the run's timeout and memory limit, as
// NewPlan did), selects them as NewPlan did, and decides each. The script is kept for
// the tests that will run (planFile.acquire) and let go after the last of them. A file
// that cannot be loaded again, or that registers other tests than it did for NewPlan,
// fails each of its tests without running it; those tests keep the names NewPlan saw.
// It returns nil when ctx ended while the file was listed: the run was interrupted.
func (p *Plan) list(ctx context.Context, f *planFile, guard *memoryGuard) []*Planned {
	o := p.opts
	positions := f.positions()
	if len(positions) == 0 {
		return nil
	}
	if f.loadErr != nil {
		return []*Planned{f.loadErrorEntry()}
	}
	s, err := o.Engine.Load(f.path)
	var infos []engine.TestInfo
	if err == nil {
		infos, err = collect(ctx, s, f.path, o.Timeout, o.AbandonGrace, guard)
	}
	if ctx.Err() != nil {
		return nil
	}
	if err != nil {
		err = fmt.Errorf("cannot load %s again to run its tests: %w", f.path, err)
	}
	var sel []engine.TestInfo
	if err == nil {
		for _, info := range infos {
			if info.File == "" {
				info.File = f.path
			}
			if selected(info, o.Filter, o.Tags) {
				sel = append(sel, info)
			}
		}
		if !f.names.equal(sel) {
			err = fmt.Errorf("%s registered other tests when it was loaded again to run them (%d selected, %d when the run was planned): "+
				"its top level must register the same tests every time", f.path, len(sel), f.names.len())
		}
	}
	out := make([]*Planned, 0, len(positions))
	pending := 0
	for _, i := range positions {
		t := &Planned{File: f.path, script: f, index: f.offset + int(i)}
		if err != nil {
			t.Info = engine.TestInfo{Name: f.name(i), File: f.path}
			t.Err = err
		} else {
			t.Info = sel[i]
			p.decide(t)
		}
		t.Seed = TestSeed(o.Seed, f.path, t.Info.Name)
		if t.SkipReason == "" && t.Err == nil {
			t.holds = true
			pending++
		}
		out = append(out, t)
	}
	if pending > 0 {
		f.hold(s, pending)
	}
	return out
}

// planFile is one scenario file of a plan: what NewPlan learnt of it, and while its tests
// run, its script, loaded and listed when the file's turn came and released when the
// last of its tests has run, so a run holds only the compiled scripts of the files its
// workers are in.
type planFile struct {
	path    string
	loadErr error    // the file failed to load for NewPlan: one entry
	names   nameList // the selected tests' names, in registration order
	offset  int      // plan index of the file's first entry, before Shard
	keep    []int32  // after Shard: the positions of the entries the shard runs; nil before

	mu      sync.Mutex
	pending int // tests of the file that will still run
	script  Script
}

// loadErrorEntry is the entry of a file that failed to load for NewPlan.
func (f *planFile) loadErrorEntry() *Planned {
	return &Planned{File: f.path, Info: engine.TestInfo{Name: LoadErrorName, File: f.path}, loadErr: f.loadErr, index: f.offset}
}

// size is how many entries the file has in the whole plan.
func (f *planFile) size() int {
	if f.loadErr != nil {
		return 1
	}
	return f.names.len()
}

// name is the name of the file's entry i.
func (f *planFile) name(i int32) string {
	if f.loadErr != nil {
		return LoadErrorName
	}
	return f.names.at(int(i))
}

// positions are the file's entries this plan runs: all of them, or after Shard the
// shard's.
func (f *planFile) positions() []int32 {
	if f.keep != nil {
		return f.keep
	}
	all := make([]int32, f.size())
	for i := range all {
		all[i] = int32(i)
	}
	return all
}

// hold keeps s, whose tests were listed (so each test's runtime registers only its own,
// engine.Script.Run), for the next pending tests.
func (f *planFile) hold(s Script, pending int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.script, f.pending = s, pending
}

// acquire returns the file's script, loading it again if it was let go (a test whose
// runtime outlived the runner's wait for it).
func (f *planFile) acquire(e Engine) (Script, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.script != nil {
		return f.script, nil
	}
	return e.Load(f.path)
}

// release counts one of the file's pending tests done, and lets the script go after the
// last.
func (f *planFile) release() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.pending--; f.pending <= 0 {
		f.script = nil
	}
}

// nameList is a list of strings in one string: a plan keeps its tests' names for Shard
// and to check each file again, about the length of the name per test.
type nameList struct {
	text string
	ends []uint32 // end of each name in text
}

type nameListBuilder struct {
	b    strings.Builder
	ends []uint32
}

func (l *nameListBuilder) add(s string) {
	l.b.WriteString(s)
	l.ends = append(l.ends, uint32(l.b.Len()))
}

func (l *nameListBuilder) done() nameList {
	return nameList{text: l.b.String(), ends: slices.Clip(l.ends)}
}

func (l nameList) len() int { return len(l.ends) }

func (l nameList) at(i int) string {
	start := uint32(0)
	if i > 0 {
		start = l.ends[i-1]
	}
	return l.text[start:l.ends[i]]
}

// equal reports whether infos are the tests the list names, in order.
func (l nameList) equal(infos []engine.TestInfo) bool {
	if len(infos) != l.len() {
		return false
	}
	for i, info := range infos {
		if l.at(i) != info.Name {
			return false
		}
	}
	return true
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
