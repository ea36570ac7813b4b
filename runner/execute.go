package runner

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vbharness/vbharness/engine"
)

// StoppedReason is the skip reason of tests --fail-fast kept from starting.
const StoppedReason = "not run: --fail-fast stopped the run after a failure"

// Execute runs the plan on Parallel workers and returns the outcome, results in plan
// order. When ctx ends, running tests are cancelled (the engine reports them as timed
// out), tests not yet started are left out, and Interrupted is set; everything that
// finished is in the outcome.
func (p *Plan) Execute(ctx context.Context) *Outcome {
	o := p.opts
	out := &Outcome{
		Target: TargetInfo{
			Name:               o.Target.Name,
			Kind:               o.Target.Kind,
			Description:        o.Target.Description,
			InsecureSkipVerify: o.Target.InsecureSkipVerify,
		},
		Seed:     o.Seed,
		Parallel: o.Parallel,
		Timeout:  o.Timeout,
		Files:    p.Files,
		Started:  p.started, // the run began with loading its scripts (NewPlan)
		Shard:    p.shard,
		Planned:  p.planned,
		Contract: ContractSummary{Mode: o.Contract},
	}
	var (
		obsMu     sync.Mutex
		stopped   atomic.Bool
		exclusive sync.RWMutex // write-held by a test that must run alone on a shared target
	)
	notify := func(f func(Observer)) {
		if o.Observer == nil {
			return
		}
		obsMu.Lock()
		defer obsMu.Unlock()
		f(o.Observer)
	}
	// Tests finish in any order, but the observer hears them in plan order (files sorted,
	// tests as registered), as the console promises: a finished test waits only for the
	// tests before it, so the output still streams. Once announced, a result is kept in
	// the outcome only if Options.Keep selects it; otherwise only its status is counted.
	// The bookkeeping holds only the tests running or waiting for one before them.
	var (
		orderMu   sync.Mutex
		waiting   = map[int]*Result{}  // finished, not yet announced, by position (nil: left out)
		running   = map[int]*Planned{} // started, not finished
		announced int                  // the first position the observer has not heard finish
		closed    bool                 // Execute has returned: late results of abandoned tests are dropped
	)
	announce := func(r *Result) { // under orderMu
		notify(func(ob Observer) { ob.TestFinished(r) })
		out.Contract.add(r)
		switch {
		case o.Keep == nil:
		case !o.Keep(r):
			out.Omitted.add(r.Status)
			if r.LoadError {
				out.Omitted.LoadErrors++
			}
			return
		case o.KeepMax > 0 && len(out.Results) >= o.KeepMax:
			out.Omitted.add(r.Status)
			out.Omitted.Capped++
			if r.LoadError {
				out.Omitted.LoadErrors++
			}
			return
		}
		out.Results = append(out.Results, *r)
	}
	start := func(t *Planned) {
		orderMu.Lock()
		defer orderMu.Unlock()
		running[t.pos] = t
	}
	finish := func(t *Planned, r *Result) { // r nil: the test was left out
		orderMu.Lock()
		defer orderMu.Unlock()
		if closed {
			return
		}
		delete(running, t.pos)
		if r != nil {
			r.PlanIndex = t.index
		}
		waiting[t.pos] = r
		for {
			done, ok := waiting[announced]
			if !ok {
				break
			}
			delete(waiting, announced)
			if done != nil {
				announce(done)
			}
			announced++
		}
	}
	guard := newMemoryGuard(o.MaxMemory)
	defer guard.stop()
	next := make(chan *Planned)
	var wg sync.WaitGroup
	for range min(o.Parallel, max(p.entries, 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range next {
				r := p.work(ctx, t, guard, &stopped, &exclusive, notify, start)
				if t.holds {
					t.script.release()
				}
				if r != nil && r.Failed() && o.FailFast {
					stopped.Store(true)
				}
				if r != nil {
					r = p.show(r)
				}
				finish(t, r)
			}
		}()
	}
	// Each file's tests are made when its turn comes (Plan.list), so the run holds the
	// tests of the files its workers are in, not the whole plan. Once interrupted, the
	// tests not started are left out, but a script that failed to load is still named (it
	// may be the one the interrupt stopped while NewPlan listed its tests).
	pos, interrupted := 0, false
	for _, f := range p.files {
		interrupted = interrupted || ctx.Err() != nil
		if interrupted {
			if f.loadErr != nil && len(f.positions()) > 0 {
				t := f.loadErrorEntry()
				t.pos = pos
				pos++
				finish(t, p.show(loadErrorResult(t)))
			}
			continue
		}
		for _, t := range p.list(ctx, f, guard) {
			t.pos = pos
			pos++
			if ctx.Err() == nil {
				select {
				case next <- t:
					continue
				case <-ctx.Done():
				}
			}
			interrupted = true
			if t.loadErr != nil {
				finish(t, p.show(loadErrorResult(t)))
				continue
			}
			if t.holds {
				t.script.release()
			}
			finish(t, nil)
		}
	}
	close(next)
	workers := make(chan struct{})
	go func() {
		wg.Wait()
		close(workers)
	}()
	select {
	case <-workers:
	case <-ctx.Done():
		// Running tests were cancelled and return within moments, unless one is stuck in
		// a native call that does not watch ctx: run abandons it AbandonGrace after the
		// interrupt (its goroutine runs on until the process exits) and reports it as timed
		// out. This is the backstop, a second later, for a worker that still has not
		// returned, so the run always ends and its reports are written.
		grace := o.AbandonGrace + time.Second
		timer := time.NewTimer(grace) // wall-clock, as every test deadline is
		select {
		case <-workers:
		case <-timer.C:
			orderMu.Lock()
			last := announced - 1
			for i := range waiting {
				last = max(last, i)
			}
			for i := range running {
				last = max(last, i)
			}
			for i := announced; i <= last; i++ {
				if r, ok := waiting[i]; ok {
					if r != nil {
						announce(r)
					}
				} else if t, ok := running[i]; ok {
					r := base(t)
					r.Status = engine.StatusTimedOut
					r.Message = fmt.Sprintf("abandoned: still running %v after the run was interrupted (a native call that does not stop)", grace)
					r.PlanIndex = t.index
					announce(p.show(r))
				}
			}
			clear(waiting)
			clear(running)
			announced = last + 1
			closed = true
			orderMu.Unlock()
		}
		timer.Stop()
	}
	for i := range out.Results {
		if heap := guard.blame(out.Results[i].PlanIndex); heap > 0 {
			out.Results[i].Message += fmt.Sprintf("; abandoned, it still held the heap at %d MiB, over the %d MiB allowed (--max-memory): the memory watchdog blamed it and stopped no other test for it", heap>>20, guard.max()>>20)
		}
	}
	out.Interrupted = ctx.Err() != nil
	out.Stopped = stopped.Load()
	out.Elapsed = o.Clock.Now().Sub(out.Started)
	return out
}

// work runs (or skips, or fails) one test for a worker and returns its result, or nil
// when the run was interrupted before the test started (it is left out).
func (p *Plan) work(ctx context.Context, t *Planned, guard *memoryGuard, stopped *atomic.Bool, exclusive *sync.RWMutex,
	notify func(func(Observer)), start func(*Planned)) *Result {
	o := p.opts
	if ctx.Err() != nil && t.loadErr == nil {
		return nil // interrupted before it started: left out
	}
	switch {
	case t.loadErr != nil:
		return loadErrorResult(t)
	case t.SkipReason != "":
		return skipped(t, t.SkipReason)
	case stopped.Load():
		return skipped(t, StoppedReason)
	case t.Err != nil:
		notify(func(ob Observer) { ob.TestStarted(t) })
		r := base(t)
		r.Status = engine.StatusErrored
		r.Message = t.Err.Error()
		return r
	}
	ex := o.Target.exclusive(t.Info.Requires)
	if ex {
		exclusive.Lock()
	} else {
		exclusive.RLock()
	}
	defer unlock(exclusive, ex)
	if ctx.Err() != nil {
		return nil
	}
	notify(func(ob Observer) { ob.TestStarted(t) })
	start(t)
	return p.run(ctx, t, guard)
}

// scriptPath finds script paths in text (a message, a stack): a run of path characters
// ending in .js after the start, a space, a bracket or a quote.
var scriptPath = regexp.MustCompile("(^|[\\s(\"'`,])((?:[A-Za-z0-9_.@+~-]+/)*[A-Za-z0-9_.@+~-]+\\.js)\\b")

// show rewrites the file-system paths r names with Options.ShowPath.
func (p *Plan) show(r *Result) *Result {
	f := p.opts.ShowPath
	if f == nil {
		return r
	}
	r.File = f(r.File)
	rewrite := func(text string) string {
		return scriptPath.ReplaceAllStringFunc(text, func(m string) string {
			sub := scriptPath.FindStringSubmatch(m)
			return sub[1] + f(sub[2])
		})
	}
	r.Message, r.Stack = rewrite(r.Message), rewrite(r.Stack)
	if r.Excerpt != nil {
		x := *r.Excerpt
		x.File = f(x.File)
		r.Excerpt = &x
	}
	return r
}

func unlock(mu *sync.RWMutex, exclusive bool) {
	if exclusive {
		mu.Unlock()
	} else {
		mu.RUnlock()
	}
}

// AbandonGrace is the default Options.AbandonGrace: how long the runner waits for a test
// past its deadline (or past the run's cancellation, Ctrl-C) before it abandons the
// test's goroutine. The engine interrupts the script at the deadline, but a native call
// that ignores the interrupt (a builtin running in Go) returns only when it is done;
// such a test is reported as timed out, the run goes on, and what the goroutine does
// afterwards is dropped. The grace is longer than anything the engine runs past a
// deadline on purpose: a regular expression match (engine.RegexMatchTimeout) and the
// clean-up of a test's stubs.
const AbandonGrace = 5 * time.Second

// run runs one test on a fresh engine target in a goroutine of its own, and abandons that
// goroutine if it has not returned Options.AbandonGrace after the test's deadline or
// after ctx ended. It never panics.
func (p *Plan) run(ctx context.Context, t *Planned, guard *memoryGuard) *Result {
	o := p.opts
	ctx, release, guarded := guard.guard(ctx, t.Info.File+" › "+t.Info.Name, t.index)
	abandoned := false
	defer func() {
		if !abandoned {
			release()
		}
	}()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	done := make(chan *Result, 1) // buffered: an abandoned goroutine's result is dropped
	start := time.Now()
	started := make(chan struct{})
	var once sync.Once
	go func() {
		done <- p.runTest(ctx, t, guard, func() { once.Do(func() { close(started) }) })
	}()
	limit := testLimit(t.Info.Timeout, o.Timeout)
	r, stuck, cancelled := wait(ctx, done, started, limit, engine.Deadline(t.Info.Timeout, o.Timeout), o.AbandonGrace)
	if !stuck {
		return r
	}
	cause := context.Cause(ctx)
	cancel(errAbandoned)
	// The goroutine runs on until its native call returns, holding what it allocated:
	// the memory guard keeps it, and blames it, until then.
	abandoned = true
	guarded.abandon()
	go func() {
		<-done
		release()
	}()
	r = base(t)
	r.Status = engine.StatusTimedOut
	r.Wall = time.Since(start) // the time the runner waited, not the 0 of no result
	switch {
	case cancelled && errors.Is(cause, engine.ErrMemoryLimit):
		r.Status = engine.StatusErrored
		r.Message = fmt.Sprintf("%v; it did not stop within %v and was abandoned", cause, o.AbandonGrace)
	case cancelled:
		r.Message = fmt.Sprintf("cancelled: the run was interrupted, and the test did not stop within %v; abandoned (a native call ignored the interrupt)", o.AbandonGrace)
	default:
		r.Message = fmt.Sprintf("timed out after %v and did not stop within %v of its timeout; abandoned (a native call ignored the interrupt)", engine.Deadline(t.Info.Timeout, o.Timeout), o.AbandonGrace)
	}
	// Where the script is stuck only its goroutine knows, and reading its runtime from
	// here would race with it: the test's registration is the position there is.
	if t.Info.Line > 0 {
		at := fmt.Sprintf("%s:%d:%d", t.Info.File, t.Info.Line, t.Info.Column)
		r.Message += fmt.Sprintf(" (the test is registered at %s; where it was stuck is not known)", at)
		r.Stack = "at " + at
	}
	return r
}

// errAbandoned ends the context of a test the runner stopped waiting for.
var errAbandoned = errors.New("abandoned by the runner")

// testLimit is the longest a test's Run may take before its deadline has certainly
// passed: the engine evaluates the script's top level under the run's timeout, then
// runs the test under Deadline(its own, the run's), counted from the test's start.
// 0: no limit (NoTimeout somewhere).
func testLimit(own, run time.Duration) time.Duration {
	d := engine.Deadline(own, run)
	if d < 0 || run < 0 {
		return 0
	}
	if own != 0 {
		d += run
	}
	return d
}

// wait returns the result from done, or stuck when none came grace after limit (if
// positive) or after ctx ended (then cancelled is set).
func wait[T any](ctx context.Context, done <-chan T, started <-chan struct{}, limit, own, grace time.Duration) (r T, stuck, cancelled bool) {
	var deadline <-chan time.Time
	if limit > 0 {
		t := time.NewTimer(limit + grace)
		defer t.Stop()
		deadline = t.C
	}
	for {
		select {
		case r = <-done:
			return r, false, false
		case <-deadline:
			return r, true, false
		case <-started:
			// The test's body starts: its own deadline counts from now, so the limit
			// becomes that deadline (not the top level's worst case plus it).
			started = nil
			if limit > 0 && own > 0 {
				t := time.NewTimer(own + grace)
				defer t.Stop()
				deadline = t.C
			}
			continue
		case <-ctx.Done():
		}
		break
	}
	late := time.NewTimer(grace)
	defer late.Stop()
	select {
	case r = <-done:
		return r, false, true
	case <-late.C:
		return r, true, true
	}
}

// runTest runs one test on a fresh engine target. It never panics.
func (p *Plan) runTest(ctx context.Context, t *Planned, guard *memoryGuard, started func()) (r *Result) {
	o := p.opts
	defer func() {
		if v := recover(); v != nil {
			r = base(t)
			r.Status = engine.StatusErrored
			r.Message = fmt.Sprintf("internal error: %v", v)
			r.Stack = string(debug.Stack())
		}
	}()
	target, release, err := o.Target.New(ctx)
	if err != nil {
		r = base(t)
		r.Status = engine.StatusErrored
		r.Message = fmt.Sprintf("cannot prepare target %s: %v", o.Target.Name, err)
		return r
	}
	if release != nil {
		defer release()
	}
	// The run's default goes down as is; the engine alone applies a test's own timeout
	// option instead (engine.Deadline), so the rule lives in one place.
	script, err := t.script.acquire(o.Engine)
	if err != nil {
		r = base(t)
		r.Status = engine.StatusErrored
		r.Message = fmt.Sprintf("cannot load %s again to run its test: %v", t.File, err)
		return r
	}
	// On the mock target each test has its own servers, so the tokens they issue can
	// reach no other test's output: the test's secrets go to a child of the run's
	// scrubber and are forgotten with it, and a run of any length does not keep every
	// token it saw. The engine scrubs the test's result with the child when it ends. A
	// live target's servers are shared: there every secret stays in the run's scrubber.
	scrub := o.Scrubber
	if o.Target.Kind == engine.TargetMock {
		scrub = scrub.Child()
	}
	res := script.Run(ctx, t.Info.Name, engine.RunOptions{
		Target:    target,
		Seed:      t.Seed,
		Timeout:   o.Timeout,
		Contract:  o.Contract,
		Scrubber:  scrub,
		Out:       o.Prompt,
		MaxMemory: guard.max(),
		Started:   started,
		Record:    o.Record,
	})
	r = base(t)
	if res == nil {
		r.Status = engine.StatusErrored
		r.Message = "internal error: the engine returned no result"
		return r
	}
	r.Result = *res
	if r.Name == "" {
		r.Name = t.Info.Name
	}
	if r.File == "" {
		r.File = t.Info.File
	}
	if r.Seed == 0 {
		r.Seed = t.Seed
	}
	if r.Status == "" {
		r.Status = engine.StatusErrored
		r.Message = "internal error: the engine returned a result without a status"
	}
	return r
}

func base(t *Planned) *Result {
	return &Result{
		Result: engine.Result{Name: t.Info.Name, File: t.Info.File, Seed: t.Seed},
		Tags:   t.Info.Tags,
	}
}

func skipped(t *Planned, reason string) *Result {
	r := base(t)
	r.Status = engine.StatusSkipped
	r.SkipReason = reason
	return r
}

func loadErrorResult(t *Planned) *Result {
	r := base(t)
	r.Seed = 0
	r.Status = engine.StatusErrored
	r.Message = t.loadErr.Error()
	var le *engine.LoadError
	if errors.As(t.loadErr, &le) {
		r.Stack = le.Stack
		r.Excerpt = le.Excerpt
	}
	r.LoadError = true
	return r
}
