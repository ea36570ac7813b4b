package engine

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/dop251/goja"

	"github.com/vbharness/vbharness/mocks/secret"
)

// collect evaluates the top level without a target and returns the registered tests,
// for a file with enough statements of tail.calls to leave out, which one registered
// each test, and the file's test.each calls (with the rows of their function tables).
func (s *Script) collect(ctx context.Context) ([]TestInfo, map[string]int, *eachListing, error) {
	r, err := configure(config{ctx: ctx, loader: s.loader, file: s.path})
	if err != nil {
		return nil, nil, nil, err
	}
	r.reg.tail = s.tail
	if s.tail != nil && len(s.tail.calls) > minLeftOut {
		r.reg.from = map[string]int{}
	}
	stop := context.AfterFunc(ctx, func() { r.vm.Interrupt(errTimedOut) })
	defer stop()
	if err := r.runMain(s.prog); err != nil {
		var res Result
		r.describe(err, &res)
		le := &LoadError{File: s.path, Message: res.Message, Stack: res.Stack, Err: err}
		if f := firstFrame(res.Stack); f.file != "" {
			le.File, le.Line, le.Column = f.file, f.line, f.col
			le.Excerpt = s.loader.excerpt(f)
		}
		return nil, nil, nil, le
	}
	return r.reg.infos(), r.reg.from, &eachListing{sites: r.reg.eachSites, of: r.reg.eachOf}, nil
}

// Run runs one registered test in a fresh runtime and reports its outcome; it never
// panics. Run alone decides the test's wall-clock deadline, Deadline(the test's own
// timeout option, opts.Timeout): its own when it sets one (longer or shorter than the
// run's), else the run-wide default; the top level is evaluated under the run's. ctx may end
// the run sooner. Either way the result is StatusTimedOut within moments: the runtime is
// interrupted and every blocking host call watches ctx.
// A test whose requirements the target does not meet is skipped with the reason.
// Math.random is seeded with opts.Seed, or with a fresh seed when it is 0; the seed used
// is in Result.Seed.
func (s *Script) Run(ctx context.Context, test string, opts RunOptions) (res *Result) {
	res = &Result{Name: test, File: s.path}
	start := wall.Now()
	var r *runtime
	defer func() {
		if p := recover(); p != nil {
			engineFailure(r, p, res)
		}
		if r != nil {
			if res.Status != StatusPassed && res.Status != StatusSkipped {
				res.Excerpt = s.loader.excerpt(firstFrame(res.Stack))
			}
			r.finish(res)
		}
		res.Wall = wall.Now().Sub(start)
	}()
	if opts.Target == nil {
		res.Status, res.Message = StatusErrored, "no target to run against (RunOptions.Target is nil)"
		return res
	}
	if opts.Scrubber == nil {
		opts.Scrubber = secret.NewScrubber()
	}
	seed := opts.Seed
	if seed == 0 {
		seed = rand.Int64()
	}
	res.Seed = seed
	opts.Scrubber.AddCredential(opts.Target.Credentials()...)

	runCtx, cancel := deadline(ctx, Deadline(0, opts.Timeout))
	defer cancel()
	stop := func() bool { return false }
	defer func() { stop() }()
	var virtualStart time.Time
	// begin builds the test's runtime and evaluates the top level: prog, or the whole file
	// when prog is nil.
	begin := func(prog *goja.Program) error {
		stop()
		nr, err := configure(config{ctx: runCtx, loader: s.loader, file: s.path, target: opts.Target, scrub: opts.Scrubber, out: opts.Out, seed: seed, maxMemory: max(opts.MaxMemory, 0), record: opts.Record})
		if err != nil {
			return err
		}
		if r == nil {
			virtualStart = nr.clock.Now()
		}
		r = nr
		vm := r.vm
		stop = context.AfterFunc(runCtx, func() { vm.Interrupt(errTimedOut) })
		if s.collected.Load() {
			r.reg.only, r.reg.tail = vm.ToValue(test), s.tail
			r.reg.eachSites, r.reg.eachOf = s.each.sites, s.each.of
		}
		if prog == nil {
			return r.runMain(s.prog)
		}
		r.reg.alone = s.from[test]
		return r.runMain(prog)
	}
	// A file of many tests leaves the others' statements out when it can
	// (registrationTail.without); should the test then not come from its statement
	// straight into the registry, the whole file runs in a fresh runtime after all.
	var prog *goja.Program
	if s.collected.Load() {
		if i, ok := s.from[test]; ok {
			prog, _ = s.tail.without(i)
		}
	}
	err := begin(prog)
	if r != nil && prog != nil && !r.reg.verified && runCtx.Err() == nil {
		err = begin(nil)
	}
	if r == nil {
		res.Status, res.Message = StatusErrored, err.Error()
		return res
	}
	defer func() { res.Virtual = r.clock.Now().Sub(virtualStart) }()

	if err != nil && !r.reg.stopped(err) {
		r.describe(err, res)
		if res.Status != StatusTimedOut {
			res.Status = StatusErrored
		}
		return res
	}
	def, ok := r.reg.byName[test]
	if !ok {
		res.Status, res.Message = StatusErrored, fmt.Sprintf("%s registers no test named %q", s.path, test)
		return res
	}
	if def.info.Skip {
		res.Status, res.SkipReason = StatusSkipped, def.info.SkipReason
		if res.SkipReason == "" {
			res.SkipReason = "test.skip"
		}
		return res
	}
	switch skip, err := opts.Target.Capabilities().Check(opts.Target.Name, def.info.Requires); {
	case err != nil:
		res.Status, res.Message = StatusErrored, fmt.Sprintf("test %q: %v", test, err)
		return res
	case skip != "":
		res.Status, res.SkipReason = StatusSkipped, skip
		return res
	}
	if def.info.Timeout != 0 {
		// The test's own timeout (or NoTimeout) replaces the run's default, from the
		// test's start.
		stop()
		cancel()
		runCtx, cancel = deadline(ctx, Deadline(def.info.Timeout, opts.Timeout))
		defer cancel()
		r.ctx = runCtx
		vm := r.vm
		stop = context.AfterFunc(runCtx, func() { vm.Interrupt(errTimedOut) })
	}
	r.contract = EffectiveContract(opts.Contract, def.info.Contract)
	if opts.Started != nil {
		opts.Started()
	}
	// What modules undo when the test ends (the stubs it added), however it ends: this
	// runs before the deadline's cancel and before finish collects the console. What
	// it cannot undo is reported (testEndFailed), never left silently.
	defer func() {
		if err := r.testEnded(ctx); err != nil {
			r.testEndFailed(res, err)
		}
	}()
	r.runTest(def, res)
	return res
}

// engineFailure reports a Go panic that escaped the runtime as the test's error: a bug of
// goja's (issue 15: "a direct eval inside a callback panics goja") or of a module, never
// of the script, whose other tests and the run go on. The position is where the runtime
// still was when the panic reached Run: goja unwinds its own call stack to the innermost
// call from Go first, so it can be the caller of the callback that failed, or none.
func engineFailure(r *runtime, p any, res *Result) {
	res.Status, res.Expected, res.Actual = StatusErrored, "", ""
	res.Message = fmt.Sprintf("the JavaScript engine failed (a bug in goja or in vbharness, not in the script; please report it): %v", p)
	res.Stack = ""
	if r == nil {
		return
	}
	func() {
		defer func() { _ = recover() }() // the runtime may be too broken to say
		res.Stack = formatFrames(framesOf(r.vm.CaptureCallStack(0, nil)))
	}()
	if f := firstFrame(res.Stack); f.file != "" {
		res.Message += fmt.Sprintf(" (at %s:%d:%d)", f.file, f.line, f.col)
	} else {
		res.Message += fmt.Sprintf(" (in test %q of %s)", res.Name, res.File)
	}
}

// deadline derives ctx with the limit d (from Deadline; NoTimeout: none).
func deadline(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d > 0 {
		return context.WithTimeoutCause(ctx, d, fmt.Errorf("%w after %v", errTimedOut, d))
	}
	return context.WithCancel(ctx)
}

// runTest runs the beforeEach hooks, the test and the afterEach hooks (which run even
// when the test failed, but not after a timeout).
func (r *runtime) runTest(def *testDef, res *Result) {
	r.phase, r.test = phaseTest, &def.info
	ctxObj := contextObject(r.host, r.exports, def.info)
	call := func(fn goja.Callable) error {
		if err := r.ctx.Err(); err != nil {
			return err
		}
		v, err := fn(goja.Undefined(), ctxObj)
		if err != nil {
			return err
		}
		_, err = r.loop.settle(v)
		return err
	}
	var err error
	for _, h := range r.reg.before {
		if err = call(h); err != nil {
			break
		}
	}
	if err == nil && def.fn != nil {
		err = call(def.fn)
	}
	var hookErrs []error // afterEach errors after the test's own failure
	if r.ctx.Err() == nil {
		for _, h := range r.reg.after {
			if herr := call(h); herr != nil {
				if err == nil {
					err = herr
				} else if r.ctx.Err() == nil {
					hookErrs = append(hookErrs, herr)
				}
			}
		}
	}
	defer func() {
		// The test's failure comes first; what its afterEach hooks threw follows, so
		// a broken cleanup is not hidden by the failure it cleaned up after.
		for _, herr := range hookErrs {
			var hres Result
			r.describe(herr, &hres)
			res.Message += "\n\nafterEach also failed: " + hres.Message
			if f := firstFrame(hres.Stack); f.file != "" {
				res.Message += fmt.Sprintf(" (at %s:%d:%d)", f.file, f.line, f.col)
			}
		}
	}()
	if err == nil && r.ctx.Err() == nil {
		if why := r.loop.pending(); why != "" {
			res.Status, res.Message = StatusErrored, why
			return
		}
		if v, ok := r.loop.firstUnhandled(); ok {
			// A rejection nobody awaited: report it as what it was (an assertion fails
			// the test), saying it went unhandled.
			r.describeThrown(v, nil, res)
			res.Message = "unhandled promise rejection: " + res.Message
			return
		}
	}
	if err == nil && r.ctx.Err() != nil {
		err = r.ctx.Err()
	}
	if err != nil {
		r.describe(err, res)
		return
	}
	res.Status = StatusPassed
}

// describe classifies err into res: a timeout, an assertion failure, or another error,
// with the message and the JS stack.
func (r *host) describe(err error, res *Result) {
	var ex *goja.Exception
	var ie *goja.InterruptedError
	var so *goja.StackOverflowError
	var rj rejection
	interrupted := errors.As(err, &ie)
	// Where the script was: the interrupt's stack, or that of the TimeoutError a host
	// call threw when it saw the context end (the interrupt of a runtime inside a native
	// call has none).
	var stopped []goja.StackFrame
	if ie != nil {
		stopped = ie.Stack()
	} else if errors.As(err, &ex) && r.ctx.Err() != nil {
		stopped = ex.Stack()
	}
	switch {
	case r.ctx.Err() != nil && errors.Is(context.Cause(r.ctx), ErrMemoryLimit):
		// Stopped by the caller's memory watchdog: an error of the test, not a timeout.
		res.Status, res.Message = StatusErrored, context.Cause(r.ctx).Error()
		if stopped != nil {
			res.Stack = formatFrames(framesOf(stopped))
			if f := firstFrame(res.Stack); f.file != "" {
				res.Message += fmt.Sprintf(" (stopped at %s:%d:%d)", f.file, f.line, f.col)
			}
		}
	case r.ctx.Err() != nil || interrupted:
		res.Status = StatusTimedOut
		res.Message = context.Cause(r.ctx).Error()
		if r.ctx.Err() == nil {
			res.Message = errTimedOut.Error()
		} else if errors.Is(r.ctx.Err(), context.Canceled) {
			if context.Cause(r.ctx) == context.Canceled { // no cause given: the run was interrupted
				res.Message = "cancelled: the run was interrupted (Ctrl-C)"
			} else {
				res.Message = "cancelled: " + res.Message
			}
		}
		if stopped != nil {
			res.Stack = formatFrames(framesOf(stopped))
			if f := firstFrame(res.Stack); f.file != "" {
				res.Message += fmt.Sprintf(" (interrupted at %s:%d:%d)", f.file, f.line, f.col)
			}
		}
	case errors.As(err, &so):
		// goja's StackOverflowError cannot be caught by the script; report it as the
		// RangeError a browser would throw.
		res.Status = StatusErrored
		res.Message = fmt.Sprintf("RangeError: Maximum call stack size exceeded (more than %d nested calls; is a function recursing without end?)", MaxCallStackSize)
		res.Stack = formatFrames(framesOf(so.Stack()))
	case errors.As(err, &ex):
		r.describeThrown(ex.Value(), framesOf(ex.Stack()), res)
	case errors.As(err, &rj):
		r.describeThrown(rj.val, nil, res)
	default:
		res.Status, res.Message = StatusErrored, err.Error()
	}
}

// describeThrown reports a thrown JS value. AssertionErrors fail; anything else errors.
func (r *host) describeThrown(v goja.Value, frames []frame, res *Result) {
	defer func() {
		// A thrown Proxy or an object whose getters or toString throw cannot be read;
		// say so instead of failing the engine.
		if p := recover(); p != nil {
			why, _, _ := strings.Cut(fmt.Sprint(p), "\n")
			if len(why) > 200 {
				why = why[:200] + "…"
			}
			res.Status, res.Expected, res.Actual = StatusErrored, "", ""
			res.Message = "thrown: a value that cannot be described (reading it threw " + why + ")"
			res.Stack = formatFrames(frames)
		}
	}()
	res.Status = StatusErrored
	obj, ok := v.(*goja.Object)
	if !ok {
		res.Message = "thrown: " + r.formatCompact(v, 200)
		res.Stack = formatFrames(frames)
		return
	}
	get := func(k string) (out string) {
		// A thrown object may have getters (or be a Proxy) that throw themselves, or a
		// toString that does: read it as far as it lets us, never panic.
		defer func() {
			if recover() != nil {
				out = ""
			}
		}()
		if x := obj.Get(k); x != nil && !goja.IsUndefined(x) && !goja.IsNull(x) {
			return x.String()
		}
		return ""
	}
	name, msg := get("name"), get("message")
	switch {
	case name == "AssertionError":
		res.Status = StatusFailed
		res.Message, res.Expected, res.Actual = msg, get("expected"), get("actual")
	case obj.ClassName() == "Error" || name != "":
		res.Message = r.suggest(name + ": " + msg)
		if name == "" {
			res.Message = msg
		}
	default:
		res.Message = "thrown: " + r.formatCompact(v, 200)
	}
	if len(frames) == 0 {
		frames = parseStack(get("stack"))
	}
	res.Stack = formatFrames(frames)
}

// finish hands res everything the run recorded, and scrubs all of it.
func (r *host) finish(res *Result) {
	res.Console, res.Trace = r.rec.console, r.rec.trace
	r.applyContract(res)
	if r.tl != nil {
		res.Tokens, res.Clock = r.tl.tokens, r.tl.steps
	}
	if res.Console == nil {
		res.Console = []ConsoleLine{}
	}
	*res = res.MapStrings(r.scrub.Scrub)
}

// frame is one user-code stack frame.
type frame struct {
	fn, file  string
	line, col int
}

// framesOf keeps the frames of scenario code: native frames and the engine's own
// JavaScript are dropped, and line-1 columns lose the module wrapper's width.
func framesOf(stack []goja.StackFrame) []frame {
	out := make([]frame, 0, len(stack))
	for i := range stack {
		f := &stack[i]
		name := f.SrcName()
		if name == "<native>" || strings.HasPrefix(name, internalPrefix) {
			continue
		}
		pos := f.Position()
		fn := f.FuncName()
		if fn == "<anonymous>" {
			fn = ""
		}
		out = append(out, frame{fn: fn, file: name, line: pos.Line, col: userColumn(pos.Line, pos.Column)})
	}
	return out
}

// stackLine matches a frame of goja's Error.stack: "at fn (file:line:col(pc))" or
// "at file:line:col(pc)".
var stackLine = regexp.MustCompile(`^\s*at (?:(.*?) \()?([^()]+):(\d+):(\d+)\(\d+\)\)?\s*$`)

// parseStack reads the frames of an Error's stack string (used for errors that arrive
// through a rejected promise, whose throw site is gone).
func parseStack(s string) []frame {
	var out []frame
	for _, line := range strings.Split(s, "\n") {
		m := stackLine.FindStringSubmatch(line)
		if m == nil || strings.HasPrefix(m[2], internalPrefix) {
			continue
		}
		l, _ := strconv.Atoi(m[3])
		c, _ := strconv.Atoi(m[4])
		out = append(out, frame{fn: m[1], file: m[2], line: l, col: userColumn(l, c)})
	}
	return out
}

// maxReportedFrames bounds a reported stack: runaway recursion has thousands of frames,
// and the innermost ones say where it happened.
const maxReportedFrames = 50

func formatFrames(frames []frame) string {
	var b strings.Builder
	for i, f := range frames {
		if i > 0 {
			b.WriteByte('\n')
		}
		if i == maxReportedFrames {
			fmt.Fprintf(&b, "… %d more frames", len(frames)-i)
			break
		}
		if f.fn != "" {
			fmt.Fprintf(&b, "at %s (%s:%d:%d)", f.fn, f.file, f.line, f.col)
		} else {
			fmt.Fprintf(&b, "at %s:%d:%d", f.file, f.line, f.col)
		}
	}
	return b.String()
}

// formattedFrame reads the first frame back from a formatted stack.
var formattedFrame = regexp.MustCompile(`^at (?:.*? \()?([^()]+):(\d+):(\d+)\)?$`)

func firstFrame(stack string) frame {
	line, _, _ := strings.Cut(stack, "\n")
	m := formattedFrame.FindStringSubmatch(line)
	if m == nil {
		return frame{}
	}
	l, _ := strconv.Atoi(m[2])
	c, _ := strconv.Atoi(m[3])
	return frame{file: m[1], line: l, col: c}
}
