package engine

import (
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
}

func newRegistry() *registry { return &registry{byName: map[string]*testDef{}} }

func (g *registry) infos() []TestInfo {
	out := make([]TestInfo, len(g.tests))
	for i, t := range g.tests {
		out[i] = t.info
	}
	return out
}

var validRequirements = map[Requirement]bool{RequireClock: true, RequireControl: true, RequireLive: true}

var testOptionKeys = map[string]bool{"tags": true, "timeout": true, "requires": true, "reason": true}

// testFunc returns the JS `test` function with .skip and .only.
func (r *rt) testFunc() *goja.Object {
	reg := func(kind string) func(goja.FunctionCall) goja.Value {
		return func(call goja.FunctionCall) goja.Value {
			r.register(kind, call)
			return goja.Undefined()
		}
	}
	t := r.vm.ToValue(reg("test")).ToObject(r.vm)
	_ = t.Set("skip", reg("skip"))
	_ = t.Set("only", reg("only"))
	return t
}

func (r *rt) hookFunc(after bool) func(goja.FunctionCall) goja.Value {
	name := "beforeEach"
	if after {
		name = "afterEach"
	}
	return func(call goja.FunctionCall) goja.Value {
		if r.phase != phaseTop {
			r.throw("Error", "%s() must be called at the top level of the script", name)
		}
		fn, ok := goja.AssertFunction(call.Argument(0))
		if !ok {
			r.throw("TypeError", "%s(fn) needs a function", name)
		}
		if after {
			r.reg.after = append(r.reg.after, fn)
		} else {
			r.reg.before = append(r.reg.before, fn)
		}
		return goja.Undefined()
	}
}

func (r *rt) register(kind string, call goja.FunctionCall) {
	label := "test"
	if kind != "test" {
		label = "test." + kind
	}
	if r.phase != phaseTop {
		r.throw("Error", "%s() must be called at the top level of the script, not inside a test", label)
	}
	nameV := call.Argument(0)
	if !goja.IsString(nameV) || nameV.String() == "" {
		r.throw("TypeError", "%s(name, fn, options): name must be a non-empty string", label)
	}
	name := nameV.String()
	if _, dup := r.reg.byName[name]; dup {
		r.throw("Error", "%s(%q): a test with this name is already registered in %s; test names must be unique per file", label, name, r.file)
	}
	def := &testDef{info: TestInfo{Name: name, File: r.file, Skip: kind == "skip", Only: kind == "only"}}
	fnV, optV := call.Argument(1), call.Argument(2)
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
		r.testOptions(label, name, optV, &def.info)
	}
	r.reg.tests = append(r.reg.tests, def)
	r.reg.byName[name] = def
}

func (r *rt) testOptions(label, name string, v goja.Value, info *TestInfo) {
	obj, ok := v.(*goja.Object)
	if !ok {
		r.throw("TypeError", "%s(%q, fn, options): options must be an object such as {tags: [\"smoke\"], timeout: \"5s\", requires: [\"clock\"]}", label, name)
	}
	for _, k := range obj.Keys() {
		if !testOptionKeys[k] {
			r.throw("TypeError", "%s(%q): unknown option %q (known: tags, timeout, requires, reason)", label, name, k)
		}
	}
	if tv := obj.Get("tags"); tv != nil && !goja.IsUndefined(tv) {
		info.Tags = r.stringList(tv, label+" option tags")
	}
	if tv := obj.Get("timeout"); tv != nil && !goja.IsUndefined(tv) {
		info.Timeout = r.duration(tv, label+" option timeout")
	}
	if rv := obj.Get("requires"); rv != nil && !goja.IsUndefined(rv) {
		// Unknown names are kept: the test then errors (rather than the whole file failing
		// to load, or the test being skipped in silence), naming the known ones.
		for _, s := range r.stringList(rv, label+" option requires") {
			info.Requires = append(info.Requires, Requirement(s))
		}
	}
	if rv := obj.Get("reason"); rv != nil && goja.IsString(rv) {
		info.SkipReason = rv.String()
	}
}

// stringList accepts a string or an array of strings.
func (r *rt) stringList(v goja.Value, what string) []string {
	if goja.IsString(v) {
		return []string{v.String()}
	}
	obj, ok := v.(*goja.Object)
	if !ok || obj.ClassName() != "Array" {
		r.throw("TypeError", "%s must be a string or an array of strings", what)
	}
	n := int(obj.Get("length").ToInteger())
	out := make([]string, 0, n)
	for i := 0; i < n; i++ {
		e := obj.Get(itoa(i))
		if !goja.IsString(e) {
			r.throw("TypeError", "%s must be a string or an array of strings", what)
		}
		out = append(out, e.String())
	}
	return out
}

// duration reads a duration: a Go duration string ("61m", "1h30m", "500ms") or a number
// of milliseconds.
func (r *rt) duration(v goja.Value, what string) time.Duration {
	if goja.IsString(v) {
		d, err := time.ParseDuration(strings.TrimSpace(v.String()))
		if err != nil || d < 0 {
			r.throw("TypeError", "%s: %q is not a duration such as \"61m\", \"1h30m\", \"5s\" or \"250ms\" (a number means milliseconds)", what, v.String())
		}
		return d
	}
	if goja.IsNumber(v) {
		ms := v.ToFloat()
		if ms != ms || ms < 0 {
			r.throw("TypeError", "%s: %v is not a non-negative number of milliseconds", what, v)
		}
		return time.Duration(ms * float64(time.Millisecond))
	}
	r.throw("TypeError", "%s must be a duration string such as \"61m\" or a number of milliseconds, not %s", what, r.formatCompact(v, 40))
	return 0
}
