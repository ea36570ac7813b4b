package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/dop251/goja"

	"github.com/vbharness/vbharness/engine/flow"
	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/mocks/contract"
	"github.com/vbharness/vbharness/mocks/secret"
)

// phase says what a runtime is doing; host calls that touch the network or the clock are
// allowed only inside a test.
type phase int

const (
	phaseTop  phase = iota // evaluating the top level: registering tests
	phaseTest              // running hooks and a test function
)

// host is what every module of one runtime shares: the VM, the test's context, the
// scenario clock, the run's scrubber, the target and the phase, the test being run, and
// the helpers modules call to read arguments, throw errors, build responses and reach the
// network. Modules keep their own state in their own structs (see modules.go); the host
// keeps only what two or more of them need. It is used by exactly one goroutine, the one
// that built the runtime.
type host struct {
	vm     *goja.Runtime
	ctx    context.Context
	clock  clock.Clock
	scrub  *secret.Scrubber
	target *Target // nil while collecting tests
	phase  phase
	test   *TestInfo // the test being run (its declared requirements); nil at the top level
	file   string    // the script, as stack frames name it
	out    io.Writer // live sign-in prompts

	maxAlloc int64 // the largest single allocation a builtin may make (limits.go); 0: unchecked

	splitting                goja.Value    // the regular expression RegExp.prototype[Symbol.split] is splitting by (limits.go)
	nested                   int           // arrays join, toLocaleString and flat are inside, one in another (limits.go, nestedCall)
	getOwnPropertyDescriptor goja.Callable // Object.getOwnPropertyDescriptor, once needed (limits.go)

	reg     *registry                         // what the top level registers (test, beforeEach, afterEach)
	exports *goja.Object                      // require("vbharness"), for suggestions when a name is misspelt
	http    *flow.HTTP                        // every request a module makes: traced and redacted
	control *flow.HTTP                        // the mock control API: not traced
	rec     recording                         // the test's console lines and exchanges
	tl      *timeline                         // the trace on the scenario clock: tokens, clock steps; nil while collecting tests
	js      jsKit                             // the prelude's error classes, JSON, the response prototype
	ends    []func(ctx context.Context) error // what modules undo when the test ends (atTestEnd)

	record   func(service string, ex *flow.Exchange) // RunOptions.Record; nil: none
	contract ContractMode                            // the test's contract mode (EffectiveContract); "" while it is not known
}

// atTestEnd registers f to run when the test ends, however it ends (passed, failed,
// timed out, interrupted), before its result is collected; ctx is not the test's, which
// may be done, but one with a short deadline of its own. f must not throw: it returns
// what it could not undo, which the test's result reports (testEndFailed).
func (h *host) atTestEnd(f func(ctx context.Context) error) { h.ends = append(h.ends, f) }

// testEnded runs what atTestEnd registered, newest first, and returns what they could
// not undo.
func (h *host) testEnded(parent context.Context) error {
	if len(h.ends) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), testEndTimeout)
	defer cancel()
	var errs []error
	for i := len(h.ends) - 1; i >= 0; i-- {
		if err := h.ends[i](ctx); err != nil {
			errs = append(errs, err)
		}
	}
	h.ends = nil
	return errors.Join(errs...)
}

// testEndFailed reports on res what the test's end could not undo (err, from testEnded).
// It is never silent: a stub left on a shared mock answers the tests that come after, so
// a test that passed (or skipped) is errored with err as its message, as a failing
// t.Cleanup fails a Go test. A test that already failed keeps its own outcome, and err
// goes to its console, which is shown with the failure.
func (h *host) testEndFailed(res *Result, err error) {
	if res.Status == StatusPassed || res.Status == StatusSkipped {
		res.Status, res.Message, res.SkipReason = StatusErrored, err.Error(), ""
		res.Expected, res.Actual, res.Stack = "", "", ""
		return
	}
	for _, e := range strings.Split(err.Error(), "\n") {
		h.rec.console = append(h.rec.console, ConsoleLine{Level: "warn", Text: e})
	}
}

// testEndTimeout bounds what runs when a test ends (atTestEnd).
const testEndTimeout = 5 * time.Second

// recording is what a test leaves behind for its result, unredacted until finish.
type recording struct {
	console    []ConsoleLine
	trace      []Exchange
	violations []contract.Violation // contract.go
}

// jsKit holds JS values every module uses, made once per runtime.
type jsKit struct {
	errCtors   map[string]goja.Value // AssertionError, EntraError, VeeamError, TimeoutError, RequirementError
	jsonParse  goja.Callable
	jsonString goja.Callable
	respProto  *goja.Object // the prototype of every HTTP response object (json())
	symService *goja.Symbol // a response's hidden tag: which service answered ("entra", "veeam" or "")
}

// ---- building JS values from module structs

// member is one property of a module object: a Go method value of type
// func(goja.FunctionCall) goja.Value becomes a JS function named name; any other value
// (a nested object, a string) is set as is.
type member struct {
	name  string
	value any
}

// object returns a plain JS object with the members in order.
func (h *host) object(members ...member) *goja.Object {
	o := h.vm.NewObject()
	for _, m := range members {
		_ = o.Set(m.name, h.value(m.name, m.value))
	}
	return o
}

// function returns a JS function named name that also carries members (as test carries
// skip and only).
func (h *host) function(name string, f func(goja.FunctionCall) goja.Value, members ...member) *goja.Object {
	o := h.named(name, f)
	for _, m := range members {
		_ = o.Set(m.name, h.value(m.name, m.value))
	}
	return o
}

func (h *host) value(name string, v any) any {
	if f, ok := v.(func(goja.FunctionCall) goja.Value); ok {
		return h.named(name, f)
	}
	return v
}

// named wraps f as a JS function whose name is the one scripts call it by, so that
// stacks and console.log show "deviceCode", not a Go symbol.
func (h *host) named(name string, f func(goja.FunctionCall) goja.Value) *goja.Object {
	o := h.vm.ToValue(f).(*goja.Object)
	_ = o.DefineDataProperty("name", h.vm.ToValue(name), goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_TRUE)
	return o
}

// lazy sets o[name] to what build returns, built when a script first reads it: the value
// then replaces the accessor and reads as a plain property. Members most tests never
// touch (mock.entra, mock.veeam, mock.faults: a third of a runtime's set-up) cost nothing
// until they are used. Assigning to the member replaces it too.
func (h *host) lazy(o *goja.Object, name string, build func() goja.Value) {
	set := func(v goja.Value) goja.Value {
		_ = o.DefineDataProperty(name, v, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE)
		return v
	}
	_ = o.DefineAccessorProperty(name,
		h.vm.ToValue(func(goja.FunctionCall) goja.Value { return set(build()) }),
		h.vm.ToValue(func(call goja.FunctionCall) goja.Value { set(call.Argument(0)); return goja.Undefined() }),
		goja.FLAG_TRUE, goja.FLAG_TRUE)
}

// getter defines a read-only accessor property.
func (h *host) getter(o *goja.Object, name string, get func() goja.Value) {
	_ = o.DefineAccessorProperty(name, h.named("get "+name, func(goja.FunctionCall) goja.Value { return get() }),
		nil, goja.FLAG_FALSE, goja.FLAG_TRUE)
}

// ---- errors

// newError constructs an instance of one of the prelude's classes (or "Error",
// "TypeError") with message and extra properties.
func (h *host) newError(class, msg string, props map[string]any) *goja.Object {
	ctor, ok := h.js.errCtors[class]
	if !ok {
		ctor = h.vm.Get(class)
	}
	obj, err := h.vm.New(ctor, h.vm.ToValue(msg))
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
func (h *host) throw(class, format string, args ...any) {
	panic(h.newError(class, fmt.Sprintf(format, args...), nil))
}

// throwErr raises err as a JS exception: Entra and Veeam protocol errors become EntraError
// and VeeamError with their fields; an ended context interrupts the runtime.
func (h *host) throwErr(what string, err error) {
	if h.ctx.Err() != nil {
		h.vm.Interrupt(errTimedOut)
		panic(h.newError("TimeoutError", what+": "+context.Cause(h.ctx).Error(), nil))
	}
	var ee *flow.EntraError
	if errors.As(err, &ee) {
		panic(h.entraError(what, ee))
	}
	var ve *flow.VeeamError
	if errors.As(err, &ve) {
		panic(h.veeamError(what, ve))
	}
	panic(h.newError("Error", what+": "+err.Error(), nil))
}

func (h *host) entraError(what string, ee *flow.EntraError) *goja.Object {
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
	return h.newError("EntraError", what+": "+strings.TrimPrefix(ee.Error(), "entra: "), props)
}

func (h *host) veeamError(what string, ve *flow.VeeamError) *goja.Object {
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
	return h.newError("VeeamError", what+": "+strings.TrimPrefix(ve.Error(), "veeam: "), props)
}

// checkCtx turns an ended context into an interrupt plus a TimeoutError, so host code that
// returns after the deadline never lets the script continue.
func (h *host) checkCtx(what string) {
	if h.ctx.Err() != nil {
		h.throwErr(what, h.ctx.Err())
	}
}

// needTest refuses host calls outside a test: the top level runs once per test and while
// collecting, so side effects there would repeat or run without a target.
func (h *host) needTest(what string) {
	if h.phase != phaseTest || h.target == nil {
		h.throw("Error", "%s can only be called inside a test or a beforeEach/afterEach hook, not at the top level of %s", what, h.file)
	}
}

// needControl refuses mock-only calls on targets without a control API.
func (h *host) needControl(what string) *ControlTarget {
	h.needTest(what)
	if h.target.Control == nil {
		h.throw("RequirementError", "%s needs the mock control API, which target %q does not have; declare requires: [\"control\"] on the test so the runner skips it there", what, h.target.Name)
	}
	return h.target.Control
}

// ---- arguments

// options refuses unknown option keys, so a typo is an error rather than a default.
func (h *host) options(v goja.Value, what string, known ...string) *goja.Object {
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return nil
	}
	obj, ok := v.(*goja.Object)
	if !ok || obj.ClassName() == "Array" {
		h.throw("TypeError", "%s: options must be an object", what)
	}
	for _, k := range obj.Keys() {
		ok := false
		for _, n := range known {
			ok = ok || n == k
		}
		if !ok {
			h.throw("TypeError", "%s: unknown option %q (known: %v)", what, k, known)
		}
	}
	return obj
}

func optString(o *goja.Object, key string) string {
	if o == nil {
		return ""
	}
	if v := o.Get(key); v != nil && !goja.IsUndefined(v) && !goja.IsNull(v) {
		return v.String()
	}
	return ""
}

func optValue(o *goja.Object, key string) goja.Value {
	if o == nil {
		return nil
	}
	if v := o.Get(key); v != nil && !goja.IsUndefined(v) && !goja.IsNull(v) {
		return v
	}
	return nil
}

// stringList accepts a string or an array of strings.
func (h *host) stringList(v goja.Value, what string) []string {
	if goja.IsString(v) {
		return []string{v.String()}
	}
	obj, ok := v.(*goja.Object)
	if !ok || obj.ClassName() != "Array" {
		h.throw("TypeError", "%s must be a string or an array of strings", what)
	}
	n := int(obj.Get("length").ToInteger())
	out := make([]string, 0, n)
	for i := 0; i < n; i++ {
		e := obj.Get(itoa(i))
		if !goja.IsString(e) {
			h.throw("TypeError", "%s must be a string or an array of strings", what)
		}
		out = append(out, e.String())
	}
	return out
}

// duration reads a duration: a Go duration string ("61m", "1h30m", "500ms") or a number
// of milliseconds.
func (h *host) duration(v goja.Value, what string) time.Duration {
	if goja.IsString(v) {
		d, err := time.ParseDuration(strings.TrimSpace(v.String()))
		if err != nil || d < 0 {
			h.throw("TypeError", "%s: %q is not a duration such as \"61m\", \"1h30m\", \"5s\" or \"250ms\" (a number means milliseconds)", what, v.String())
		}
		return d
	}
	if goja.IsNumber(v) {
		ms := v.ToFloat()
		if ms != ms || ms < 0 {
			h.throw("TypeError", "%s: %v is not a non-negative number of milliseconds", what, v)
		}
		return time.Duration(ms * float64(time.Millisecond))
	}
	h.throw("TypeError", "%s must be a duration string such as \"61m\" or a number of milliseconds, not %s", what, h.formatCompact(v, 40))
	return 0
}

// ---- JSON

func (h *host) stringify(v goja.Value) string {
	s, err := h.js.jsonString(goja.Undefined(), v)
	if err != nil {
		panic(err)
	}
	if goja.IsUndefined(s) {
		return ""
	}
	return s.String()
}

// parseJSON parses body with JSON.parse, so objects keep their key order.
func (h *host) parseJSON(body []byte, what string) goja.Value {
	v, err := h.js.jsonParse(goja.Undefined(), h.vm.ToValue(string(body)))
	if err != nil {
		snippet := h.cut(strings.TrimSpace(string(body)), 80)
		if snippet == "" {
			snippet = "(empty body)"
		}
		h.throw("SyntaxError", "%s is not JSON: %s", what, snippet)
	}
	return v
}

// ---- the control API, which entra.signIn, clock.advance and mock share

// controlURL returns the origin of a server's control API.
func (h *host) controlURL(what, server string) string {
	c := h.needControl(what)
	switch server {
	case "entra":
		return strings.TrimRight(c.EntraURL, "/")
	case "veeam":
		return strings.TrimRight(c.VeeamURL, "/")
	}
	h.throw("TypeError", "%s: unknown server %q (use \"entra\" or \"veeam\")", what, server)
	return ""
}

// controlJSON calls the control API of server and returns the parsed answer (undefined
// for 204). Control calls are not traced: they are the test's plumbing, not the flow.
func (h *host) controlJSON(server, method, path string, body any) goja.Value {
	what := "mock control " + method + " " + path + " (" + server + ")"
	base := h.controlURL(what, server)
	var raw []byte
	switch b := body.(type) {
	case nil:
	case goja.Value:
		raw = []byte(h.stringify(b))
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			h.throw("TypeError", "%s: %v", what, err)
		}
	}
	hd := http.Header{}
	hd.Set("Accept", "application/json")
	if raw != nil {
		hd.Set("Content-Type", "application/json")
	}
	if tok := h.target.Control.Token; tok != "" {
		hd.Set("Authorization", "Bearer "+tok)
	}
	resp, err := h.control.Do(h.ctx, flow.Request{Method: method, URL: base + path, Header: hd, Body: raw})
	if err != nil {
		h.throwErr(what, err)
	}
	if resp.Status >= 300 {
		var eb struct {
			Error string `json:"error"`
		}
		msg := strings.TrimSpace(string(resp.Body))
		if json.Unmarshal(resp.Body, &eb) == nil && eb.Error != "" {
			msg = eb.Error
		}
		h.throw("Error", "%s answered HTTP %d: %s", what, resp.Status, msg)
	}
	if resp.Status == http.StatusNoContent || len(resp.Body) == 0 {
		return goja.Undefined()
	}
	return h.parseJSON(resp.Body, what+" answer")
}
