package engine

import (
	"math"
	"strings"
	"time"

	"github.com/dop251/goja"
)

// testDef is one registered test.
type testDef struct {
	info TestInfo
	fn   goja.Callable // nil for a skipped test registered without a function
}

// registry collects what a script's top level registers.
type registry struct {
	tests  []*testDef
	byName map[string]*testDef
	before []goja.Callable
	after  []goja.Callable
	// only, when set, is the name of the one test a runtime will run (Script.Run, once the
	// file's tests were collected without error): test() calls with any other name return
	// at once, without reading their function or options, so that a file registering N
	// tests costs each test's runtime N cheap calls rather than N registrations. The other
	// tests were checked when they were collected (Script.Tests), duplicates included.
	only goja.Value
	// tail is what the file's top level registers without running code: where the top
	// level may stop once only's test is registered (Script.Run, with only); stop is what
	// stopAfterTarget threw to stop it.
	tail *registrationTail
	stop *goja.Object
	// from, while collecting, maps a test's name to the statement of tail.calls that
	// registered it; nil when the file has too few such statements to leave any out.
	from map[string]int
	// alone is the statement of tail.calls whose test the runtime runs with the others
	// left out (registrationTail.without), -1 when the program is the whole file; verified
	// says the test was registered from that statement straight into this registry, which
	// shows that the statements left out would have done nothing else.
	alone    int
	verified bool
	// eachSites are the file's test.each calls: while listing, as they are made; in a
	// test's runtime, as listing found them (Script.each), which its calls must match in
	// order (eachCalls counts them). eachOf, from listing, says which call and row
	// registered each test (each.go).
	eachSites []eachSite
	eachOf    map[string]eachRef
	eachCalls int
	// testFn, skipFn and onlyFn are this runtime's test, test.skip and test.only.
	testFn, skipFn, onlyFn *goja.Object
}

func newRegistry() *registry { return &registry{byName: map[string]*testDef{}, alone: -1} }

func (g *registry) infos() []TestInfo {
	out := make([]TestInfo, len(g.tests))
	for i, t := range g.tests {
		out[i] = t.info
	}
	return out
}

var testOptionKeys = map[string]bool{"tags": true, "timeout": true, "requires": true, "reason": true, "contract": true}

// registration is `test` (with test.skip, test.only and their each), `beforeEach` and `afterEach`:
// the top level registers tests and hooks into the host's registry.
type registration struct{ *host }

func newTest(h *host) goja.Value {
	r := registration{h}
	g := h.reg
	g.testFn, g.skipFn, g.onlyFn = h.named("test", r.register("test")), h.named("skip", r.register("skip")), h.named("only", r.register("only"))
	// skip and only may be replaced but not redefined (no getter can stand in for them):
	// stopAfterTarget reads them from Go.
	_ = g.testFn.Set("each", h.named("each", r.each("test")))
	_ = g.skipFn.Set("each", h.named("each", r.each("skip")))
	_ = g.onlyFn.Set("each", h.named("each", r.each("only")))
	_ = g.testFn.DefineDataProperty("skip", g.skipFn, goja.FLAG_TRUE, goja.FLAG_FALSE, goja.FLAG_TRUE)
	_ = g.testFn.DefineDataProperty("only", g.onlyFn, goja.FLAG_TRUE, goja.FLAG_FALSE, goja.FLAG_TRUE)
	return g.testFn
}

func newHook(name string) func(h *host) goja.Value {
	return func(h *host) goja.Value { return h.named(name, registration{h}.hook(name)) }
}

func (r registration) hook(name string) func(goja.FunctionCall) goja.Value {
	return func(call goja.FunctionCall) goja.Value {
		if r.phase != phaseTop {
			r.throw("Error", "%s() must be called at the top level of the script", name)
		}
		fn, ok := goja.AssertFunction(call.Argument(0))
		if !ok {
			r.throw("TypeError", "%s(fn) needs a function", name)
		}
		if name == "afterEach" {
			r.reg.after = append(r.reg.after, fn)
		} else {
			r.reg.before = append(r.reg.before, fn)
		}
		return goja.Undefined()
	}
}

func (r registration) register(kind string) func(goja.FunctionCall) goja.Value {
	label := "test"
	if kind != "test" {
		label = "test." + kind
	}
	return func(call goja.FunctionCall) goja.Value {
		r.add(kind, label, call)
		return goja.Undefined()
	}
}

func (r registration) add(kind, label string, call goja.FunctionCall) {
	if r.phase != phaseTop {
		r.throw("Error", "%s() must be called at the top level of the script, not inside a test", label)
	}
	nameV := call.Argument(0)
	if r.reg.only != nil && !nameV.StrictEquals(r.reg.only) {
		return
	}
	r.define(kind, label, nameV, call.Argument(1), call.Argument(2))
	switch {
	case r.reg.from != nil:
		if i, ok := r.callStatement(); ok {
			r.reg.from[nameV.String()] = i
		}
	case r.reg.only != nil:
		if r.reg.alone >= 0 {
			i, ok := r.callStatement()
			if r.reg.verified = ok && i == r.reg.alone; !r.reg.verified {
				return
			}
		}
		r.stopAfterTarget(kind, call)
	}
}

// define checks and registers one test (test, test.skip, test.only, or a row of their
// each): its name, its function and its options. It returns the test's record.
func (r registration) define(kind, label string, nameV, fnV, optV goja.Value) *testDef {
	if !goja.IsString(nameV) || nameV.String() == "" {
		r.throw("TypeError", "%s(name, fn, options): name must be a non-empty string", label)
	}
	name := nameV.String()
	if _, dup := r.reg.byName[name]; dup {
		r.throw("Error", "%s(%q): a test with this name is already registered in %s; test names must be unique per file", label, name, r.file)
	}
	def := &testDef{info: TestInfo{Name: name, File: r.file, Skip: kind == "skip", Only: kind == "only"}}
	def.info.Line, def.info.Column = r.registeredAt()
	if kind == "skip" && goja.IsString(fnV) {
		def.info.SkipReason, fnV, optV = fnV.String(), goja.Undefined(), goja.Undefined()
	}
	if fn, ok := goja.AssertFunction(fnV); ok {
		def.fn = fn
	} else if kind != "skip" || !(goja.IsUndefined(fnV) || goja.IsNull(fnV)) {
		r.throw("TypeError", "%s(%q, fn, options): fn must be a function", label, name)
	}
	if kind == "skip" && goja.IsString(optV) {
		def.info.SkipReason = optV.String()
	} else if !goja.IsUndefined(optV) && !goja.IsNull(optV) {
		r.options(label, name, optV, &def.info)
	}
	r.reg.tests = append(r.reg.tests, def)
	r.reg.byName[name] = def
	return def
}

// registeredAt returns the position in the script's file of the code that called the
// registration function running now (the innermost frame in that file: a helper in a
// required module may make the call), 0, 0 when there is none.
func (r registration) registeredAt() (line, col int) {
	for _, f := range r.vm.CaptureCallStack(0, nil) {
		if f.SrcName() == r.file {
			pos := f.Position()
			return pos.Line, userColumn(pos.Line, pos.Column)
		}
	}
	return 0, 0
}

// callStatement returns the statement of tail.calls that called the registration
// function running now, if one did (directly, or through native functions alone).
func (r registration) callStatement() (int, bool) {
	line, col, ok := r.topLevelCaller()
	if !ok {
		return 0, false
	}
	return r.reg.tail.call(line, col)
}

func (r registration) options(label, name string, v goja.Value, info *TestInfo) {
	obj, ok := v.(*goja.Object)
	if !ok {
		r.throw("TypeError", "%s(%q, fn, options): options must be an object such as {tags: [\"smoke\"], timeout: \"5s\", requires: [\"clock\"]}", label, name)
	}
	for _, k := range obj.Keys() {
		if !testOptionKeys[k] {
			r.throw("TypeError", "%s(%q): unknown option %q (known: tags, timeout, requires, reason, contract)", label, name, k)
		}
	}
	if tv := obj.Get("tags"); tv != nil && !goja.IsUndefined(tv) {
		info.Tags = r.stringList(tv, label+" option tags")
	}
	if tv := obj.Get("timeout"); tv != nil && !goja.IsUndefined(tv) {
		info.Timeout = r.timeout(tv, label+" option timeout")
	}
	if rv := obj.Get("requires"); rv != nil && !goja.IsUndefined(rv) {
		// Unknown names are kept: the test then errors (rather than the whole file failing
		// to load, or the test being skipped in silence), naming the known ones.
		for _, s := range r.stringList(rv, label+" option requires") {
			info.Requires = append(info.Requires, Requirement(s))
		}
	}
	if cv := obj.Get("contract"); cv != nil && !goja.IsUndefined(cv) {
		m, err := ParseContractMode(cv.String())
		if err != nil || !goja.IsString(cv) {
			r.throw("TypeError", "%s(%q): option contract must be \"fail\", \"warn\" or \"off\" (it may loosen the run's --contract, never tighten it), not %s", label, name, cv)
		}
		info.Contract = m
	}
	if rv := obj.Get("reason"); rv != nil && goja.IsString(rv) {
		info.SkipReason = rv.String()
	}
}

// timeout reads a test's timeout option: a duration, 0 for the run's default, or "none"
// (or Infinity) for no deadline at all (NoTimeout).
func (r registration) timeout(v goja.Value, what string) time.Duration {
	if (goja.IsString(v) && strings.EqualFold(strings.TrimSpace(v.String()), "none")) || (goja.IsNumber(v) && math.IsInf(v.ToFloat(), 1)) {
		return NoTimeout
	}
	return r.duration(v, what)
}
