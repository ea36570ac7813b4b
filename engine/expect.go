package engine

import (
	"errors"
	"fmt"
	"strings"

	"github.com/dop251/goja"

	"github.com/vbharness/vbharness/engine/flow"
)

// matcherNames lists every matcher, in the order the .d.ts declares them.
var matcherNames = []string{
	"toBe", "toEqual", "toMatch", "toContain", "toHaveProperty", "toHaveLength",
	"toBeGreaterThan", "toBeGreaterThanOrEqual", "toBeLessThan", "toBeLessThanOrEqual",
	"toBeDefined", "toBeUndefined", "toBeNull", "toBeTruthy", "toBeFalsy", "toBeInstanceOf",
	"toThrow", "toHaveStatus", "toHaveEntraError", "toHaveVeeamError",
}

// failure describes a failed matcher. summary is one line; detail (a diff, a body) follows
// it after a blank line.
type failure struct {
	summary  string
	detail   string
	expected string
	actual   string
}

type matcher func(r *expectModule, actual goja.Value, not bool, args []goja.Value) (pass bool, f func() failure)

// matchers maps each matcher name to its implementation.
var matchers = map[string]matcher{
	"toBe": matchBe, "toEqual": matchEqual, "toMatch": matchMatch, "toContain": matchContain,
	"toHaveProperty": matchProperty, "toHaveLength": matchLength,
	"toBeGreaterThan":        compare(">", func(a, b float64) bool { return a > b }),
	"toBeGreaterThanOrEqual": compare(">=", func(a, b float64) bool { return a >= b }),
	"toBeLessThan":           compare("<", func(a, b float64) bool { return a < b }),
	"toBeLessThanOrEqual":    compare("<=", func(a, b float64) bool { return a <= b }),
	"toBeDefined":            simple("to be defined", func(v goja.Value) bool { return v != nil && !goja.IsUndefined(v) }),
	"toBeUndefined":          simple("to be undefined", func(v goja.Value) bool { return v == nil || goja.IsUndefined(v) }),
	"toBeNull":               simple("to be null", func(v goja.Value) bool { return v != nil && goja.IsNull(v) }),
	"toBeTruthy":             simple("to be truthy", func(v goja.Value) bool { return v != nil && v.ToBoolean() }),
	"toBeFalsy":              simple("to be falsy", func(v goja.Value) bool { return v == nil || !v.ToBoolean() }),
	"toBeInstanceOf":         matchInstanceOf,
	"toThrow":                matchThrow,
	"toHaveStatus":           matchStatus,
	"toHaveEntraError":       matchService(serviceEntra),
	"toHaveVeeamError":       matchService(serviceVeeam),
}

// expectModule is `expect`: expect(actual) returns an object holding actual whose
// prototype carries the matchers, made once per runtime; expect() allocates only the
// small object.
type expectModule struct {
	*host
	proto     *goja.Object
	symActual *goja.Symbol
	symNot    *goja.Symbol
}

func newExpect(h *host) goja.Value {
	r := &expectModule{host: h, symActual: goja.NewSymbol("actual"), symNot: goja.NewSymbol("not")}
	r.proto = h.vm.NewObject()
	for _, name := range matcherNames {
		m, name := matchers[name], name
		_ = r.proto.Set(name, h.named(name, func(call goja.FunctionCall) goja.Value {
			this, ok := call.This.(*goja.Object)
			if !ok {
				r.throw("TypeError", "%s must be called on expect(value)", name)
			}
			actual := this.GetSymbol(r.symActual)
			not := this.GetSymbol(r.symNot).ToBoolean()
			pass, f := m(r, orUndefined(actual), not, call.Arguments)
			if pass == not {
				r.fail(name, not, f())
			}
			return goja.Undefined()
		}))
	}
	_ = r.proto.DefineAccessorProperty("not", h.named("get not", func(call goja.FunctionCall) goja.Value {
		this := call.This.ToObject(h.vm)
		return r.newExpectation(this.GetSymbol(r.symActual), !this.GetSymbol(r.symNot).ToBoolean())
	}), nil, goja.FLAG_FALSE, goja.FLAG_FALSE)
	return h.named("expect", func(call goja.FunctionCall) goja.Value {
		return r.newExpectation(call.Argument(0), false)
	})
}

func (r *expectModule) newExpectation(actual goja.Value, not bool) *goja.Object {
	o := r.vm.CreateObject(r.proto)
	_ = o.SetSymbol(r.symActual, orUndefined(actual))
	_ = o.SetSymbol(r.symNot, not)
	return o
}

// fail throws the AssertionError for a failed matcher.
func (r *expectModule) fail(name string, not bool, f failure) {
	msg := f.summary
	if f.detail != "" {
		msg += "\n\n" + f.detail
	}
	m := "expect(received)."
	if not && f.expected != "" {
		// What a negated matcher expected is the opposite, as jest writes it.
		f.expected = "not " + f.expected
	}
	if not {
		m += "not."
	}
	panic(r.newError("AssertionError", msg, map[string]any{
		"matcher": m + name, "expected": f.expected, "actual": f.actual,
	}))
}

func notWord(not bool) string {
	if not {
		return " not"
	}
	return ""
}

func (r *expectModule) short(v goja.Value) string { return r.formatCompact(v, 80) }

func arg(args []goja.Value, i int) goja.Value {
	if i < len(args) {
		return args[i]
	}
	return goja.Undefined()
}

func matchBe(r *expectModule, actual goja.Value, not bool, args []goja.Value) (bool, func() failure) {
	exp := arg(args, 0)
	return actual.SameAs(exp), func() failure {
		f := failure{summary: fmt.Sprintf("toBe: expected %s%s to be %s", r.short(actual), notWord(not), r.short(exp)),
			expected: r.formatPretty(exp), actual: r.formatPretty(actual)}
		if !not && r.deepEqual(exp, actual) {
			f.detail = "The values are equal but not the same object; use toEqual to compare structure."
		} else if !not && strings.Contains(f.expected+f.actual, "\n") {
			f.detail = lineDiff(f.expected, f.actual)
		}
		return f
	}
}

func matchEqual(r *expectModule, actual goja.Value, not bool, args []goja.Value) (bool, func() failure) {
	exp := arg(args, 0)
	return r.deepEqual(exp, actual), func() failure {
		f := failure{expected: r.formatPretty(exp), actual: r.formatPretty(actual)}
		if not {
			f.summary = fmt.Sprintf("toEqual: expected %s not to equal %s", r.short(actual), r.short(exp))
		} else {
			f.summary = "toEqual: received value does not equal the expected value"
			f.detail = lineDiff(f.expected, f.actual)
		}
		return f
	}
}

func matchMatch(r *expectModule, actual goja.Value, not bool, args []goja.Value) (bool, func() failure) {
	pat := arg(args, 0)
	fail := func() failure {
		return failure{summary: fmt.Sprintf("toMatch: expected %s%s to match %s", r.short(actual), notWord(not), r.short(pat)),
			expected: r.formatCompact(pat, 0), actual: r.formatPretty(actual)}
	}
	if !goja.IsString(actual) {
		return not, func() failure {
			f := fail()
			f.summary = "toMatch: received value must be a string, got " + r.short(actual)
			return f
		}
	}
	if po, ok := pat.(*goja.Object); ok && po.ClassName() == "RegExp" {
		test, _ := goja.AssertFunction(po.Get("test"))
		res, err := test(po, actual)
		if err != nil {
			panic(err)
		}
		return res.ToBoolean(), fail
	}
	if !goja.IsString(pat) {
		r.throw("TypeError", "toMatch(pattern): pattern must be a RegExp or a string")
	}
	return strings.Contains(actual.String(), pat.String()), fail
}

func matchContain(r *expectModule, actual goja.Value, not bool, args []goja.Value) (bool, func() failure) {
	item := arg(args, 0)
	fail := func() failure {
		return failure{summary: fmt.Sprintf("toContain: expected %s%s to contain %s", r.short(actual), notWord(not), r.short(item)),
			expected: r.formatPretty(item), actual: r.formatPretty(actual)}
	}
	if goja.IsString(actual) {
		return strings.Contains(actual.String(), item.String()), fail
	}
	if o, ok := actual.(*goja.Object); ok && o.ClassName() == "Array" {
		n := int(o.Get("length").ToInteger())
		for i := 0; i < n; i++ {
			e := orUndefined(o.Get(itoa(i)))
			if e.StrictEquals(item) || (goja.IsNumber(e) && goja.IsNumber(item) && e.ToFloat() != e.ToFloat() && item.ToFloat() != item.ToFloat()) {
				return true, fail
			}
		}
		return false, fail
	}
	return not, func() failure {
		f := fail()
		f.summary = "toContain: received value must be a string or an array, got " + r.short(actual)
		return f
	}
}

// propertyPath splits "a.b.c" (or takes an array of keys).
func (r *expectModule) propertyPath(v goja.Value) []string {
	if goja.IsString(v) {
		return strings.Split(v.String(), ".")
	}
	return r.stringList(v, "toHaveProperty(path)")
}

func matchProperty(r *expectModule, actual goja.Value, not bool, args []goja.Value) (bool, func() failure) {
	keys := r.propertyPath(arg(args, 0))
	withValue := len(args) > 1
	cur := actual
	found := true
	for _, k := range keys {
		o, ok := cur.(*goja.Object)
		if !ok {
			found = false
			break
		}
		next := o.Get(k)
		if next == nil {
			found = false
			break
		}
		cur = next
	}
	pathStr := strings.Join(keys, ".")
	pass := found && (!withValue || r.deepEqual(arg(args, 1), cur))
	return pass, func() failure {
		f := failure{actual: r.formatPretty(actual)}
		switch {
		case !found || !withValue:
			f.summary = fmt.Sprintf("toHaveProperty: expected %s%s to have property %q", r.short(actual), notWord(not), pathStr)
			f.expected = pathStr
		default:
			f.summary = fmt.Sprintf("toHaveProperty: expected property %q%s to equal %s, got %s", pathStr, notWord(not), r.short(arg(args, 1)), r.short(cur))
			f.expected, f.actual = r.formatPretty(arg(args, 1)), r.formatPretty(cur)
			if !not {
				f.detail = lineDiff(f.expected, f.actual)
			}
		}
		return f
	}
}

func matchLength(r *expectModule, actual goja.Value, not bool, args []goja.Value) (bool, func() failure) {
	want := arg(args, 0).ToInteger()
	var got int64 = -1
	if goja.IsString(actual) {
		got = int64(len([]rune(actual.String())))
	} else if o, ok := actual.(*goja.Object); ok {
		if l := o.Get("length"); l != nil && goja.IsNumber(l) {
			got = l.ToInteger()
		}
	}
	return got == want, func() failure {
		f := failure{summary: fmt.Sprintf("toHaveLength: expected length%s %d, got %d", notWord(not), want, got),
			expected: fmt.Sprint(want), actual: fmt.Sprint(got)}
		if got < 0 {
			f.summary = "toHaveLength: received value has no length: " + r.short(actual)
		}
		return f
	}
}

func compare(op string, cmp func(a, b float64) bool) matcher {
	return func(r *expectModule, actual goja.Value, not bool, args []goja.Value) (bool, func() failure) {
		exp := arg(args, 0)
		numeric := func(v goja.Value) bool {
			if goja.IsNumber(v) || goja.IsBigInt(v) {
				return true
			}
			o, ok := v.(*goja.Object)
			return ok && o.ClassName() == "Date"
		}
		if !numeric(actual) || !numeric(exp) {
			return not, func() failure {
				return failure{summary: fmt.Sprintf("expected numbers to compare with %s, got %s and %s", op, r.short(actual), r.short(exp)),
					expected: r.short(exp), actual: r.short(actual)}
			}
		}
		return cmp(actual.ToFloat(), exp.ToFloat()), func() failure {
			return failure{summary: fmt.Sprintf("expected %s%s %s %s", r.short(actual), notWord(not), op, r.short(exp)),
				expected: op + " " + r.short(exp), actual: r.short(actual)}
		}
	}
}

func simple(what string, test func(goja.Value) bool) matcher {
	return func(r *expectModule, actual goja.Value, not bool, _ []goja.Value) (bool, func() failure) {
		return test(actual), func() failure {
			return failure{summary: fmt.Sprintf("expected %s%s %s", r.short(actual), notWord(not), what),
				expected: strings.TrimPrefix(what, "to be "), actual: r.formatPretty(actual)}
		}
	}
}

func matchInstanceOf(r *expectModule, actual goja.Value, not bool, args []goja.Value) (bool, func() failure) {
	ctor, ok := arg(args, 0).(*goja.Object)
	if !ok {
		r.throw("TypeError", "toBeInstanceOf(constructor) needs a class or constructor function")
	}
	pass := false
	if o, ok := actual.(*goja.Object); ok {
		pass = r.vm.InstanceOf(o, ctor)
	}
	return pass, func() failure {
		return failure{summary: fmt.Sprintf("toBeInstanceOf: expected %s%s to be an instance of %s", r.short(actual), notWord(not), ctor.Get("name").String()),
			expected: ctor.Get("name").String(), actual: r.formatPretty(actual)}
	}
}

// callForThrow calls fn and returns what it threw (nil if it returned). An interrupt
// propagates: a timeout is never an assertion result.
func (r *expectModule) callForThrow(fn goja.Callable) (thrown goja.Value, returned goja.Value) {
	ret, err := fn(goja.Undefined())
	if err == nil {
		return nil, ret
	}
	var ex *goja.Exception
	if errors.As(err, &ex) {
		if _, interrupted := err.(*goja.InterruptedError); !interrupted {
			return ex.Value(), nil
		}
	}
	panic(err)
}

func (r *expectModule) errorText(v goja.Value) string {
	if o, ok := v.(*goja.Object); ok {
		if m := o.Get("message"); m != nil && !goja.IsUndefined(m) {
			return m.String()
		}
	}
	return v.String()
}

func matchThrow(r *expectModule, actual goja.Value, not bool, args []goja.Value) (bool, func() failure) {
	fn, ok := goja.AssertFunction(actual)
	if !ok {
		r.throw("TypeError", "toThrow: expect() needs a function to call, e.g. expect(() => entra.pollToken(code)).toThrow()")
	}
	thrown, _ := r.callForThrow(fn)
	exp := arg(args, 0)
	desc := "to throw"
	pass := thrown != nil
	if pass && !goja.IsUndefined(exp) {
		msg := r.errorText(thrown)
		switch e := exp.(type) {
		case *goja.Object:
			if e.ClassName() == "RegExp" {
				test, _ := goja.AssertFunction(e.Get("test"))
				res, err := test(e, r.vm.ToValue(msg))
				if err != nil {
					panic(err)
				}
				pass, desc = res.ToBoolean(), "to throw an error matching "+e.String()
			} else if _, isFn := goja.AssertFunction(e); isFn {
				to, isObj := thrown.(*goja.Object)
				pass, desc = isObj && r.vm.InstanceOf(to, e), "to throw a "+e.Get("name").String()
			}
		default:
			pass, desc = strings.Contains(msg, exp.String()), fmt.Sprintf("to throw an error containing %q", exp.String())
		}
	}
	return pass, func() failure {
		f := failure{summary: fmt.Sprintf("toThrow: expected the function%s %s", notWord(not), desc), expected: desc}
		if thrown == nil {
			f.summary += ", but it did not throw"
			f.actual = "no exception"
		} else {
			f.summary += ", but it threw " + r.short(thrown)
			f.actual = r.formatPretty(thrown)
		}
		return f
	}
}

// maxBodyInMessage is how much of a response body a failed toHaveStatus shows.
const maxBodyInMessage = 2000

func matchStatus(r *expectModule, actual goja.Value, not bool, args []goja.Value) (bool, func() failure) {
	want := arg(args, 0).ToInteger()
	o, ok := actual.(*goja.Object)
	var status goja.Value
	if ok {
		status = o.Get("status")
	}
	if status == nil || !goja.IsNumber(status) {
		return not, func() failure {
			return failure{summary: "toHaveStatus: received value is not an HTTP response (it has no numeric status): " + r.short(actual),
				expected: fmt.Sprint(want), actual: r.short(actual)}
		}
	}
	got := status.ToInteger()
	return got == want, func() failure {
		f := failure{expected: fmt.Sprint(want), actual: fmt.Sprint(got)}
		where := ""
		if m, u := o.Get("method"), o.Get("url"); m != nil && u != nil && !goja.IsUndefined(u) {
			where = " from " + m.String() + " " + u.String()
		}
		f.summary = fmt.Sprintf("toHaveStatus: expected HTTP status%s %d, got %d%s", notWord(not), want, got, where)
		body := ""
		if b := o.Get("body"); b != nil && goja.IsString(b) {
			body = b.String()
		}
		if n := len(body); n > maxBodyInMessage {
			body = r.cut(body, maxBodyInMessage) + fmt.Sprintf(" (%d bytes in all)", n)
		}
		if body == "" {
			body = "(empty body)"
		}
		f.detail = "Response body:\n" + body
		if re := o.Get("refreshError"); re != nil && !goja.IsUndefined(re) {
			f.detail += "\n\nAutomatic refresh failed: " + r.errorText(re)
		}
		return f
	}
}

// The services a protocol error can come from.
const (
	serviceEntra = "entra"
	serviceVeeam = "veeam"
)

// serviceNames are how failures name the services.
var serviceNames = map[string]string{serviceEntra: "Entra", serviceVeeam: "Veeam"}

// protoError is what an Entra or Veeam error looks like, wherever it came from, and
// which service answered.
type protoError struct {
	found       bool
	code        string
	aadsts      int64
	status      int64
	description string
	service     string // serviceEntra or serviceVeeam; set whenever found
	source      string // how the service is known: "a VeeamError", "the response to POST …"
}

func (p protoError) String() string {
	if !p.found {
		return "no error"
	}
	s := p.code
	if p.aadsts != 0 {
		s += fmt.Sprintf(" (AADSTS%d)", p.aadsts)
	}
	if p.status != 0 {
		s += fmt.Sprintf(" [HTTP %d]", p.status)
	}
	return s
}

// protoErrorOf reads a protocol error and the service that answered from: a thrown or
// caught EntraError or VeeamError (its class says the service), a response a module
// returned (tagged with the service it came from: entra.raw.*, veeam.token, a session,
// http.* to the target's Entra or Veeam), a function that throws one of those, or an
// error-shaped object. An object nobody tagged is read by its shape: only Entra sends
// AADSTS codes (error_codes, aadsts, "AADSTS" in the description); any other error shape
// (RESTExceptionInfo, or the bare OAuth {error, error_description} of Veeam's /token) is
// Veeam's.
func (r *expectModule) protoErrorOf(v goja.Value) (protoError, string) {
	if fn, ok := goja.AssertFunction(v); ok {
		thrown, ret := r.callForThrow(fn)
		if thrown == nil {
			return protoError{}, "the function returned " + r.short(ret) + " instead of throwing"
		}
		v = thrown
	}
	o, ok := v.(*goja.Object)
	if !ok {
		return protoError{}, "received " + r.short(v)
	}
	str := func(k string) string {
		if x := o.Get(k); x != nil && goja.IsString(x) {
			return x.String()
		}
		return ""
	}
	num := func(k string) int64 {
		if x := o.Get(k); x != nil && goja.IsNumber(x) {
			return x.ToInteger()
		}
		return 0
	}
	pe := protoError{status: num("status")}
	isResponse := goja.IsNumber(orUndefined(o.Get("status"))) && goja.IsString(orUndefined(o.Get("body")))
	switch {
	case r.isInstance(o, "EntraError"):
		pe.service, pe.source = serviceEntra, "an EntraError"
	case r.isInstance(o, "VeeamError"):
		pe.service, pe.source = serviceVeeam, "a VeeamError"
	case isResponse:
		if svc, ok := o.GetSymbol(r.js.symService).(goja.Value); ok && svc != nil && goja.IsString(svc) {
			pe.service = svc.String()
		}
		pe.source = "the response"
		if m, u := str("method"), str("url"); m != "" && u != "" {
			pe.source += " to " + m + " " + u
		}
	}
	if isResponse && !r.isInstance(o, "EntraError") && !r.isInstance(o, "VeeamError") {
		body := []byte(str("body"))
		ee := flow.ParseEntraError(int(pe.status), body)
		if pe.service == "" && ee != nil && ee.AADSTS != 0 {
			pe.service, pe.source = serviceEntra, "a response shaped like Entra's errors"
		}
		switch {
		case pe.service == serviceEntra && ee != nil:
			pe.found, pe.code, pe.aadsts, pe.description = true, ee.Code, int64(ee.AADSTS), ee.Description
		case pe.service != serviceEntra:
			if ve := flow.ParseVeeamError(int(pe.status), body); ve.Code() != "" {
				if pe.service == "" {
					pe.source = "a response shaped like Veeam's errors (no AADSTS code)"
				}
				pe.found, pe.service, pe.code, pe.description = true, serviceVeeam, ve.Code(), ve.Message+ve.Description
			}
		}
		if !pe.found {
			return pe, fmt.Sprintf("the response (HTTP %d) carries no error code", pe.status)
		}
		return pe, ""
	}
	if str("errorCode") == "" && str("error") == "" {
		return protoError{}, "received " + r.short(v)
	}
	pe.found, pe.aadsts, pe.description = true, num("aadsts"), str("description")
	if pe.aadsts == 0 {
		if codes, ok := o.Get("error_codes").(*goja.Object); ok {
			pe.aadsts = codes.Get("0").ToInteger()
		}
	}
	if pe.service == "" {
		pe.service, pe.source = serviceVeeam, "an object shaped like Veeam's errors (no AADSTS code)"
		if pe.aadsts != 0 || strings.Contains(str("error_description")+pe.description, "AADSTS") {
			pe.service, pe.source = serviceEntra, "an object shaped like Entra's errors"
		}
	}
	pe.code = str("error")
	if pe.service == serviceVeeam && str("errorCode") != "" {
		pe.code = str("errorCode")
	}
	return pe, ""
}

// isInstance reports whether o is an instance of one of the prelude's error classes.
func (r *expectModule) isInstance(o *goja.Object, class string) bool {
	ctor, ok := r.js.errCtors[class].(*goja.Object)
	return ok && r.vm.InstanceOf(o, ctor)
}

// matchService is toHaveEntraError and toHaveVeeamError: the received error must come
// from service and carry code (and, for Entra, the AADSTS number when one is given).
func matchService(service string) matcher {
	name := "toHave" + serviceNames[service] + "Error"
	return func(r *expectModule, actual goja.Value, not bool, args []goja.Value) (bool, func() failure) {
		code := arg(args, 0).String()
		var aadsts int64
		if service == serviceEntra && len(args) > 1 && !goja.IsUndefined(args[1]) {
			aadsts = args[1].ToInteger()
		}
		pe, why := r.protoErrorOf(actual)
		pass := pe.found && pe.service == service && pe.code == code && (aadsts == 0 || pe.aadsts == aadsts)
		want := code
		if aadsts != 0 {
			want += fmt.Sprintf(" (AADSTS%d)", aadsts)
		}
		return pass, func() failure {
			f := failure{expected: want, actual: pe.String()}
			lead := fmt.Sprintf("%s: expected%s %s error %s", name, notWord(not), serviceNames[service], want)
			switch {
			case why != "":
				f.summary = lead + ", but " + why
				f.actual = why // not "no error" when something else was thrown
			case pe.service != service:
				f.summary = fmt.Sprintf("%s, but %s answered: %s (%s)", lead, serviceNames[pe.service], pe, pe.source)
				f.actual = serviceNames[pe.service] + " " + pe.String()
			default:
				f.summary = lead + ", got " + pe.String()
			}
			if pe.description != "" {
				label := "message: "
				if pe.service == serviceEntra {
					label = "error_description: "
				}
				f.detail = label + pe.description
			}
			return f
		}
	}
}
