package engine

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"path"
	"reflect"
	"strings"
	"time"

	"github.com/dop251/goja"

	"github.com/vbharness/vbharness/engine/flow"
	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/mocks/secret"
)

// wall is the engine's one real clock: it measures Result.Wall and exchange durations,
// never scenario time.
var wall clock.Clock = clock.NewReal()

// phase says what a runtime is doing; host calls that touch the network or the clock are
// allowed only inside a test.
type phase int

const (
	phaseTop  phase = iota // evaluating the top level: registering tests
	phaseTest              // running hooks and a test function
)

// config is what configure needs to build a runtime.
type config struct {
	ctx    context.Context
	loader *Loader // resolves relative requires; nil allows only "vbharness"
	file   string  // the script being run, as stack frames name it
	target *Target // nil while collecting tests
	scrub  *secret.Scrubber
	out    io.Writer // live sign-in prompts
	seed   int64
}

// rt is one scenario runtime: a goja.Runtime and everything its host modules keep. It is
// used by exactly one goroutine, the one that built it; only interrupt may be called
// from elsewhere (context.AfterFunc).
type rt struct {
	vm     *goja.Runtime
	ctx    context.Context
	loader *Loader
	file   string
	target *Target
	clock  clock.Clock
	scrub  *secret.Scrubber
	out    io.Writer
	seed   int64
	phase  phase

	console []ConsoleLine
	trace   []Exchange
	tl      *timeline // nil while collecting tests

	reg      *registry
	modules  map[string]*goja.Object // require cache: path → module object
	timers   []*timer
	timerSeq int64

	unhandled   map[*goja.Promise]goja.Value
	rejectOrder []*goja.Promise // unhandled rejections, oldest first

	errCtors   map[string]goja.Value // AssertionError, EntraError, VeeamError, TimeoutError, RequirementError
	jsonParse  goja.Callable
	jsonString goja.Callable
	respProto  *goja.Object
	matchProto *goja.Object
	symActual  *goja.Symbol
	symNot     *goja.Symbol

	http        *flow.HTTP
	control     *flow.HTTP
	entra       *flow.Entra
	veeam       *flow.Veeam
	deviceCodes map[string]*deviceCodeState
	jwksCache   map[string][]byte

	exports *goja.Object // the vbharness module
}

// errTimedOut is the value a runtime is interrupted with when its context ends.
var errTimedOut = errors.New("timed out")

// MaxCallStackSize is the deepest JavaScript call stack a scenario may build. Deeper
// recursion fails the test as errored with a RangeError ("Maximum call stack size
// exceeded") instead of growing the runtime until the process runs out of memory.
// Scenarios rarely nest more than a few dozen calls. The bound is kept low because
// unwinding recursion that passes through native functions (a callback of forEach, a
// toString) costs time quadratic in the depth: 0.2 s at 2 000 frames, 3 s at 10 000.
const MaxCallStackSize = 2000

// configure builds and configures a runtime: the field-name mapper, the scenario clock as
// time source, the seeded Math.random, require, console capture, timers, the error classes
// and the vbharness module. Script.Tests, Script.Run and the test helper runtime all call
// it; nothing else configures a goja.Runtime.
func configure(cfg config) (*rt, error) {
	if cfg.ctx == nil {
		cfg.ctx = context.Background()
	}
	if cfg.scrub == nil {
		cfg.scrub = secret.NewScrubber()
	}
	if cfg.out == nil {
		cfg.out = io.Discard
	}
	vm := goja.New()
	r := &rt{
		vm: vm, ctx: cfg.ctx, loader: cfg.loader, file: cfg.file, target: cfg.target,
		scrub: cfg.scrub, out: cfg.out, seed: cfg.seed,
		reg: newRegistry(), modules: map[string]*goja.Object{}, unhandled: map[*goja.Promise]goja.Value{},
		deviceCodes: map[string]*deviceCodeState{}, jwksCache: map[string][]byte{},
	}
	switch {
	case cfg.target == nil:
		r.clock = collectClock
	case cfg.target.Clock != nil:
		r.clock = cfg.target.Clock
	case cfg.target.Kind == TargetMock:
		r.clock = clock.NewVirtual(clock.DefaultStart)
	default:
		r.clock = clock.NewReal()
	}
	if cfg.target != nil {
		r.tl = newTimeline(r.clock.Now(), cfg.target)
		r.clock = recordingClock{Clock: r.clock, r: r}
	}
	vm.SetFieldNameMapper(goja.TagFieldNameMapper("json", true))
	vm.SetTimeSource(r.clock.Now)
	rng := rand.New(rand.NewPCG(uint64(cfg.seed), uint64(cfg.seed)^0x9e3779b97f4a7c15))
	vm.SetRandSource(rng.Float64)
	vm.SetPromiseRejectionTracker(r.trackRejection)
	vm.SetMaxCallStackSize(MaxCallStackSize)

	if err := r.installPrelude(); err != nil {
		return nil, err
	}
	r.installConsole()
	r.installTimers()
	r.installHTTP()
	r.exports = r.buildModule()
	return r, nil
}

// collectClock is the clock of a runtime that has no target (collecting tests): Date works
// and is the same on every machine.
var collectClock clock.Clock = clock.NewVirtual(clock.DefaultStart)

// preludeSource defines the engine's error classes. Frames from it are hidden.
const preludeSource = `(function () {
  "use strict";
  function define(name) {
    const E = class extends Error {};
    Object.defineProperty(E.prototype, "name", { value: name, writable: true, configurable: true });
    Object.defineProperty(E, "name", { value: name });
    return E;
  }
  return {
    AssertionError: define("AssertionError"),
    EntraError: define("EntraError"),
    VeeamError: define("VeeamError"),
    TimeoutError: define("TimeoutError"),
    RequirementError: define("RequirementError"),
  };
})()`

var preludeProgram = goja.MustCompile(internalPrefix+"prelude.js", preludeSource, true)

func (r *rt) installPrelude() error {
	v, err := r.vm.RunProgram(preludeProgram)
	if err != nil {
		return fmt.Errorf("engine prelude: %w", err)
	}
	obj := v.ToObject(r.vm)
	r.errCtors = map[string]goja.Value{}
	for _, k := range obj.Keys() {
		r.errCtors[k] = obj.Get(k)
	}
	json := r.vm.Get("JSON").ToObject(r.vm)
	r.jsonParse, _ = goja.AssertFunction(json.Get("parse"))
	r.jsonString, _ = goja.AssertFunction(json.Get("stringify"))
	return nil
}

// newError constructs an instance of one of the prelude's classes (or "Error",
// "TypeError") with message and extra properties.
func (r *rt) newError(class, msg string, props map[string]any) *goja.Object {
	ctor, ok := r.errCtors[class]
	if !ok {
		ctor = r.vm.Get(class)
	}
	obj, err := r.vm.New(ctor, r.vm.ToValue(msg))
	if err != nil {
		panic(err)
	}
	for k, v := range props {
		if v != nil {
			_ = obj.Set(k, v)
		}
	}
	return obj
}

// throw raises a JS exception of class with msg from a host function.
func (r *rt) throw(class, format string, args ...any) {
	panic(r.newError(class, fmt.Sprintf(format, args...), nil))
}

// throwErr raises err as a JS exception: Entra and Veeam protocol errors become EntraError
// and VeeamError with their fields; an ended context interrupts the runtime.
func (r *rt) throwErr(what string, err error) {
	if r.ctx.Err() != nil {
		r.vm.Interrupt(errTimedOut)
		panic(r.newError("TimeoutError", what+": "+context.Cause(r.ctx).Error(), nil))
	}
	var ee *flow.EntraError
	if errors.As(err, &ee) {
		panic(r.entraErrorObject(what, ee))
	}
	var ve *flow.VeeamError
	if errors.As(err, &ve) {
		panic(r.veeamErrorObject(what, ve))
	}
	panic(r.newError("Error", what+": "+err.Error(), nil))
}

func (r *rt) entraErrorObject(what string, ee *flow.EntraError) *goja.Object {
	props := map[string]any{"error": ee.Code, "description": ee.Description}
	if ee.AADSTS != 0 {
		props["aadsts"] = ee.AADSTS
	}
	if ee.Status != 0 {
		props["status"] = ee.Status
	}
	if len(ee.Body) > 0 {
		props["body"] = string(ee.Body)
	}
	return r.newError("EntraError", what+": "+strings.TrimPrefix(ee.Error(), "entra: "), props)
}

func (r *rt) veeamErrorObject(what string, ve *flow.VeeamError) *goja.Object {
	props := map[string]any{"status": ve.Status, "body": string(ve.Body)}
	if ve.ErrorCode != "" {
		props["errorCode"] = ve.ErrorCode
	}
	if ve.OAuthError != "" {
		props["error"] = ve.OAuthError
	}
	if ve.Description != "" {
		props["description"] = ve.Description
	}
	if ve.Message != "" {
		props["veeamMessage"] = ve.Message
	}
	return r.newError("VeeamError", what+": "+strings.TrimPrefix(ve.Error(), "veeam: "), props)
}

// checkCtx turns an ended context into an interrupt plus a TimeoutError, so host code that
// returns after the deadline never lets the script continue.
func (r *rt) checkCtx(what string) {
	if r.ctx.Err() != nil {
		r.throwErr(what, r.ctx.Err())
	}
}

// needTest refuses host calls outside a test: the top level runs once per test and while
// collecting, so side effects there would repeat or run without a target.
func (r *rt) needTest(what string) {
	if r.phase != phaseTest || r.target == nil {
		r.throw("Error", "%s can only be called inside a test or a beforeEach/afterEach hook, not at the top level of %s", what, r.file)
	}
}

// needControl refuses mock-only calls on targets without a control API.
func (r *rt) needControl(what string) *ControlTarget {
	r.needTest(what)
	if r.target.Control == nil {
		r.throw("RequirementError", "%s needs the mock control API, which target %q does not have; declare requires: [\"control\"] on the test so the runner skips it there", what, r.target.Name)
	}
	return r.target.Control
}

func (r *rt) trackRejection(p *goja.Promise, op goja.PromiseRejectionOperation) {
	switch op {
	case goja.PromiseRejectionReject:
		r.unhandled[p] = p.Result()
		r.rejectOrder = append(r.rejectOrder, p)
	case goja.PromiseRejectionHandle:
		delete(r.unhandled, p)
	}
}

// firstUnhandled returns the oldest rejection nobody handled, if any.
func (r *rt) firstUnhandled() (goja.Value, bool) {
	for _, p := range r.rejectOrder {
		if v, ok := r.unhandled[p]; ok {
			return v, true
		}
	}
	return nil, false
}

// ---- console

// maxConsoleValue is how many characters of a non-string value console.* keeps.
const maxConsoleValue = 2000

func (r *rt) installConsole() {
	con := r.vm.NewObject()
	for _, lv := range []struct{ name, level string }{
		{"log", "log"}, {"info", "info"}, {"warn", "warn"}, {"error", "error"}, {"debug", "log"},
	} {
		level := lv.level
		_ = con.Set(lv.name, func(call goja.FunctionCall) goja.Value {
			parts := make([]string, len(call.Arguments))
			for i, a := range call.Arguments {
				if s, ok := a.Export().(string); ok && goja.IsString(a) {
					parts[i] = s
				} else {
					parts[i] = r.formatCompact(a, maxConsoleValue)
				}
			}
			r.console = append(r.console, ConsoleLine{Level: level, Text: strings.Join(parts, " ")})
			return goja.Undefined()
		})
	}
	_ = r.vm.Set("console", con)
}

// ---- timers: an event loop on the scenario clock

type timer struct {
	id       int64
	seq      int64
	due      time.Time
	every    time.Duration // > 0 for setInterval
	fn       goja.Callable
	args     []goja.Value
	canceled bool
}

func (r *rt) installTimers() {
	add := func(repeat bool) func(goja.FunctionCall) goja.Value {
		return func(call goja.FunctionCall) goja.Value {
			fn, ok := goja.AssertFunction(call.Argument(0))
			if !ok {
				r.throw("TypeError", "the first argument of setTimeout/setInterval must be a function")
			}
			ms := call.Argument(1).ToFloat()
			if ms != ms || ms < 0 { // NaN or negative: 0, as browsers do
				ms = 0
			}
			d := time.Duration(ms * float64(time.Millisecond))
			r.timerSeq++
			t := &timer{id: r.timerSeq, seq: r.timerSeq, due: r.clock.Now().Add(d), fn: fn}
			if len(call.Arguments) > 2 {
				t.args = append([]goja.Value(nil), call.Arguments[2:]...)
			}
			if repeat {
				t.every = max(d, time.Millisecond)
			}
			r.timers = append(r.timers, t)
			return r.vm.ToValue(t.id)
		}
	}
	cancel := func(call goja.FunctionCall) goja.Value {
		id := call.Argument(0).ToInteger()
		for _, t := range r.timers {
			if t.id == id {
				t.canceled = true
			}
		}
		return goja.Undefined()
	}
	_ = r.vm.Set("setTimeout", add(false))
	_ = r.vm.Set("setInterval", add(true))
	_ = r.vm.Set("clearTimeout", cancel)
	_ = r.vm.Set("clearInterval", cancel)
}

// nextTimer removes and returns the earliest live timer, or nil.
func (r *rt) nextTimer() *timer {
	best := -1
	live := r.timers[:0]
	for _, t := range r.timers {
		if !t.canceled {
			live = append(live, t)
		}
	}
	r.timers = live
	for i, t := range r.timers {
		if best < 0 || t.due.Before(r.timers[best].due) || (t.due.Equal(r.timers[best].due) && t.seq < r.timers[best].seq) {
			best = i
		}
	}
	if best < 0 {
		return nil
	}
	t := r.timers[best]
	r.timers = append(r.timers[:best], r.timers[best+1:]...)
	return t
}

var promiseType = reflect.TypeOf((*goja.Promise)(nil))

// errNeverSettles reports a test whose promise can never settle.
var errNeverSettles = errors.New("the test's promise never settled: nothing is left to run (no timers pending); is an await missing a resolve?")

// rejection is a promise rejected with a JS value.
type rejection struct{ val goja.Value }

func (rj rejection) Error() string { return "promise rejected" }

// settle runs the event loop until v (if it is a promise) settles: when only timers are
// left, it moves the scenario clock to the next one (a virtual clock jumps; a real clock
// waits, watching ctx) and fires it. A non-promise value is returned as is.
func (r *rt) settle(v goja.Value) (goja.Value, error) {
	obj, ok := v.(*goja.Object)
	if !ok || obj.ExportType() != promiseType {
		return v, nil
	}
	p := obj.Export().(*goja.Promise)
	for p.State() == goja.PromiseStatePending {
		if err := r.ctx.Err(); err != nil {
			return nil, err
		}
		t := r.nextTimer()
		if t == nil {
			return nil, errNeverSettles
		}
		if d := t.due.Sub(r.clock.Now()); d > 0 {
			if err := r.clock.Sleep(r.ctx, d); err != nil {
				return nil, err
			}
		}
		if t.every > 0 {
			r.timerSeq++
			t.seq, t.due = r.timerSeq, t.due.Add(t.every)
			r.timers = append(r.timers, t)
		}
		if _, err := t.fn(goja.Undefined(), t.args...); err != nil {
			return nil, err
		}
	}
	delete(r.unhandled, p)
	if p.State() == goja.PromiseStateRejected {
		return nil, rejection{p.Result()}
	}
	return p.Result(), nil
}

// ---- require

func (r *rt) requireFrom(from string) goja.Value {
	return r.vm.ToValue(func(call goja.FunctionCall) goja.Value {
		spec := call.Argument(0).String()
		return r.require(from, spec)
	})
}

func (r *rt) require(from, spec string) goja.Value {
	if spec == "vbharness" {
		return r.exports
	}
	if !strings.HasPrefix(spec, "./") && !strings.HasPrefix(spec, "../") {
		r.throw("Error", "cannot find module %q (required from %s): only \"vbharness\" and relative paths such as \"./lib/flow.js\" can be required", spec, r.callerPos())
	}
	if r.loader == nil {
		r.throw("Error", "cannot require %q here: this runtime has no scenario directory", spec)
	}
	resolved := path.Join(path.Dir(from), spec)
	candidates := []string{resolved}
	if !strings.HasSuffix(resolved, ".js") {
		candidates = []string{resolved + ".js", resolved + "/index.js", resolved}
	}
	for _, c := range candidates {
		if m, ok := r.modules[c]; ok {
			return m.Get("exports")
		}
	}
	for _, c := range candidates {
		if !fsValid(c) {
			break
		}
		prog, lerr := r.loader.program(c)
		if lerr != nil && errors.Is(lerr.Err, errNotFound) {
			continue
		}
		if lerr != nil {
			panic(r.newError("SyntaxError", lerr.Error(), nil))
		}
		return r.runModule(c, prog).Get("exports")
	}
	r.throw("Error", "cannot find module %q (looked for %s) required from %s", spec, resolved, r.callerPos())
	return nil
}

func fsValid(p string) bool { _, err := cleanPath(p); return err == nil && !strings.HasPrefix(p, "..") }

// callerPos names the JS position that called the current host function.
func (r *rt) callerPos() string {
	for _, f := range r.vm.CaptureCallStack(0, nil) {
		name := f.SrcName()
		if name == "<native>" || strings.HasPrefix(name, internalPrefix) {
			continue
		}
		pos := f.Position()
		return fmt.Sprintf("%s:%d:%d", name, pos.Line, userColumn(pos.Line, pos.Column))
	}
	return r.file
}

// runModule evaluates a compiled module once and caches it (before it runs, so cyclic
// requires see the partial exports, as in Node).
func (r *rt) runModule(p string, prog *goja.Program) *goja.Object {
	module := r.vm.NewObject()
	exports := r.vm.NewObject()
	_ = module.Set("exports", exports)
	_ = module.Set("id", p)
	r.modules[p] = module
	fnv, err := r.vm.RunProgram(prog)
	if err != nil {
		panic(err)
	}
	fn, _ := goja.AssertFunction(fnv)
	if _, err := fn(exports, exports, r.requireFrom(p), module, r.vm.ToValue(p), r.vm.ToValue(path.Dir(p))); err != nil {
		panic(err)
	}
	return module
}

// runMain evaluates the script's top level, registering its tests.
func (r *rt) runMain(prog *goja.Program) error {
	r.phase = phaseTop
	return r.protect(func() { r.runModule(r.file, prog) })
}

// protect runs f, turning the panics of host code (JS exceptions, interrupts) into errors.
func (r *rt) protect(f func()) (err error) {
	defer func() {
		if p := recover(); p != nil {
			if e, ok := p.(error); ok {
				err = e
				return
			}
			if v, ok := p.(goja.Value); ok {
				err = rejection{v}
				return
			}
			panic(p)
		}
	}()
	f()
	return nil
}

// ---- HTTP plumbing shared by the modules

var (
	defaultClient  = &http.Client{}
	insecureClient = &http.Client{Transport: insecureTransport()}
)

func insecureTransport() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // only when the target says so
	return t
}

func (r *rt) httpClient() *http.Client {
	if r.target != nil && r.target.HTTPClient != nil {
		return r.target.HTTPClient
	}
	if r.target != nil && r.target.InsecureSkipVerify {
		return insecureClient
	}
	return defaultClient
}

func (r *rt) installHTTP() {
	r.http = &flow.HTTP{Client: r.httpClient(), Wall: wall, Clock: r.clock, Observe: r.observe, Secret: r.scrub.Add, Redact: r.scrub.Scrub, UserAgent: "vbharness"}
	r.control = &flow.HTTP{Client: r.httpClient(), Secret: r.scrub.Add, Redact: r.scrub.Scrub, UserAgent: "vbharness"}
	var et EntraTarget
	var vt VeeamTarget
	if r.target != nil {
		et, vt = r.target.Entra, r.target.Veeam
	}
	r.entra = &flow.Entra{HTTP: r.http, Clock: r.clock, Authority: et.Authority, Tenant: et.Tenant, ClientID: et.ClientID, Scope: et.Scope}
	r.veeam = &flow.Veeam{HTTP: r.http, Clock: r.clock, URL: vt.URL}
}
