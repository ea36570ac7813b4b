package engine

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dlclark/regexp2/v2"
	"github.com/dop251/goja"
)

// The limits of single native calls. goja checks Runtime.Interrupt between JavaScript
// instructions only, so a timeout cannot stop a builtin that runs for minutes in Go (a
// backtracking regular expression, JSON of a very deep object) or allocates gigabytes
// in one go ("x".repeat(2**30)). These limits keep each such call short and small; what
// still runs past a test's deadline is abandoned by the runner (runner.AbandonGrace).

// RegexMatchTimeout bounds one match of a regular expression that goja runs on its
// backtracking engine (regexp2: patterns with lookaround or backreferences; the rest
// run on Go's linear-time RE2 and need no bound). A match that takes longer throws a
// RangeError. It is process-wide: regexp2 reads it when goja compiles a pattern.
const RegexMatchTimeout = time.Second

// MaxJSONDepth is how deeply JSON.stringify and JSON.parse may nest objects and arrays;
// deeper throws a RangeError. goja's JSON.stringify checks for cycles in time
// quadratic in the depth (26 s at 100 000 levels, a few milliseconds at 1 000).
const MaxJSONDepth = 1000

// MaxStringLength is the longest string String.prototype.repeat, padStart and padEnd
// build, in UTF-16 code units: V8's limit (2**29 - 24). Longer throws a RangeError
// ("Invalid string length"), as in Node.
const MaxStringLength = 1<<29 - 24

// valueSize is the bytes an array element takes in goja (an interface value).
const valueSize = 16

func init() {
	// regexp2's default is no timeout; goja gives no per-pattern knob.
	regexp2.DefaultMatchTimeout = RegexMatchTimeout
	// regexp2 compiles a pattern by recursion (a patch of third_party/goja: the
	// constructor, literals and match(string) all go through it).
	goja.MaxRegexpNesting = MaxSourceNesting
}

// installLimits wraps the builtins that can run long or allocate much in one native
// call: RegExp.prototype.exec (through which every other regular expression operation
// goes once it is replaced) and test, JSON.stringify and JSON.parse, String.prototype.repeat, padStart
// and padEnd, split, Array.prototype.fill, join and concat, Array.from, the ArrayBuffer
// and typed array constructors, and the builtin iterators' next. Each wrapper converts its arguments once
// and hands the primitives to the original, so getters and valueOf run as often as
// without it.
func (h *host) installLimits() {
	global := func(name string) *goja.Object { return h.vm.Get(name).ToObject(h.vm) }
	proto := func(name string) *goja.Object { return global(name).Get("prototype").ToObject(h.vm) }
	h.replace(proto("RegExp"), "exec", 1, h.regexpTimed)
	h.replace(proto("RegExp"), "test", 1, h.regexpTimed) // goja's test does not call exec
	h.replace(global("JSON"), "stringify", 3, h.jsonStringify)
	h.replace(global("JSON"), "parse", 2, h.jsonParse)
	h.replace(proto("String"), "repeat", 1, h.stringRepeat)
	h.replace(proto("String"), "padStart", 2, h.stringPad("padStart"))
	h.replace(proto("String"), "padEnd", 2, h.stringPad("padEnd"))
	h.replace(proto("Array"), "fill", 1, h.arrayFill)
	h.replace(proto("Array"), "join", 1, h.arrayJoin)
	h.replace(proto("Array"), "toLocaleString", 0, h.nestedCall("toLocaleString of arrays"))
	if gen, err := h.vm.RunProgram(generatorProto); err == nil { // yield* resumes the inner generator's next in Go
		g := gen.ToObject(h.vm)
		for _, m := range []string{"next", "return", "throw"} {
			h.replace(g, m, 1, h.nestedCall("yield* of generators"))
		}
	}
	h.replace(proto("Array"), "flat", 0, h.arrayFlat)
	h.replace(proto("Array"), "concat", 1, h.arrayConcat)
	h.replace(global("Array"), "from", 1, h.arrayFrom)
	h.replace(proto("String"), "split", 2, h.stringSplit)
	h.replaceSymbol(proto("RegExp"), goja.SymSplit, "[Symbol.split]", 2, h.regexpSplit)
	h.guardConstructors()
	h.interruptibleIterators()
}

// replace sets obj[name] to a native function of that name and length built by wrap
// from the original, with the original's attributes (writable, configurable, not
// enumerable).
func (h *host) replace(obj *goja.Object, name string, length int, wrap func(orig goja.Callable) func(goja.FunctionCall) goja.Value) {
	f := h.wrapped(obj.Get(name), name, length, wrap)
	_ = obj.DefineDataProperty(name, f, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
}

// replaceSymbol is replace for a symbol-keyed method, shown as name.
func (h *host) replaceSymbol(obj *goja.Object, sym *goja.Symbol, name string, length int, wrap func(orig goja.Callable) func(goja.FunctionCall) goja.Value) {
	f := h.wrapped(obj.GetSymbol(sym), name, length, wrap)
	_ = obj.DefineDataPropertySymbol(sym, f, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
}

// wrapped is the native function wrap builds from the function orig, named name, of the
// given length.
func (h *host) wrapped(orig goja.Value, name string, length int, wrap func(orig goja.Callable) func(goja.FunctionCall) goja.Value) *goja.Object {
	fn, ok := goja.AssertFunction(orig)
	if !ok {
		panic(fmt.Sprintf("engine: %s is not a function", name))
	}
	f := h.named(name, wrap(fn))
	_ = f.DefineDataProperty("length", h.vm.ToValue(length), goja.FLAG_FALSE, goja.FLAG_TRUE, goja.FLAG_FALSE)
	return f
}

// call calls orig and rethrows what it threw.
func callOrig(orig goja.Callable, this goja.Value, args ...goja.Value) goja.Value {
	v, err := orig(this, args...)
	if err != nil {
		panic(err)
	}
	return v
}

// regexpTimed times each match of exec or test: goja turns regexp2's timeout error into
// "no match", so a no match (null, false) that took RegexMatchTimeout is the timeout,
// and is thrown as one.
func (h *host) regexpTimed(orig goja.Callable) func(goja.FunctionCall) goja.Value {
	return func(c goja.FunctionCall) goja.Value {
		h.checkCtx("a regular expression") // split and replace call exec once a match, in Go
		start := wall.Now()
		v := callOrig(orig, c.This, c.Arguments...)
		if (goja.IsNull(v) || !v.ToBoolean()) && wall.Now().Sub(start) >= RegexMatchTimeout {
			re := c.This
			if h.splitting != nil {
				re = h.splitting // not the sticky copy split matches with
			}
			h.throw("RangeError", "regular expression %s did not finish within %v (catastrophic backtracking?): vbharness gives up on a match after %v", re, RegexMatchTimeout, RegexMatchTimeout)
		}
		return v
	}
}

// regexpSplit notes the regular expression a split is for: RegExp.prototype[Symbol.split]
// matches with a copy of it that has the sticky flag (y) added (ECMA-262
// RegExp.prototype[@@split] step 10), and a timeout names the one the script wrote.
func (h *host) regexpSplit(orig goja.Callable) func(goja.FunctionCall) goja.Value {
	return func(c goja.FunctionCall) goja.Value {
		prev := h.splitting
		h.splitting = c.This
		defer func() { h.splitting = prev }()
		return callOrig(orig, c.This, c.Arguments...)
	}
}

// jsonStringify tracks the nesting depth through a replacer of its own, which calls the
// script's replacer function first, or applies its property list (a replacer array).
func (h *host) jsonStringify(orig goja.Callable) func(goja.FunctionCall) goja.Value {
	return func(c goja.FunctionCall) goja.Value {
		value, replacer, space := c.Argument(0), c.Argument(1), c.Argument(2)
		user, _ := goja.AssertFunction(replacer)
		var keys []string // a replacer array's property list
		if obj, ok := replacer.(*goja.Object); ok && user == nil && obj.ClassName() == "Array" {
			keys = h.propertyList(obj)
		}
		var stack []*goja.Object // the objects being serialised, outermost first
		// The output's size so far, at least: what each value adds (its text, its key,
		// a comma, a line and its indentation), in UTF-16 code units, and the bytes goja
		// keeps a unit (1 while the output is ASCII, then 2).
		var units, width float64 = 0, 1
		gap := h.jsonGap(space)
		root := true
		track := func(rc goja.FunctionCall) goja.Value {
			h.checkCtx("JSON.stringify")
			v := rc.Argument(1)
			if user != nil {
				v = callOrig(user, rc.This, rc.Argument(0), v)
			}
			// The holder is the object whose property this is: the objects after it on
			// the stack are done.
			holder, _ := rc.This.(*goja.Object)
			for len(stack) > 0 && stack[len(stack)-1] != holder {
				stack = stack[:len(stack)-1]
			}
			obj, ok := v.(*goja.Object)
			if n := jsonText(v); n > 0 || ok {
				if !root {
					n += 1 + float64(len(stack))*gap
					if holder != nil && holder.ClassName() != "Array" {
						k, w := stringSize(rc.Argument(0).String())
						n += float64(k) + 3
						width = max(width, float64(w))
					}
				}
				if goja.IsString(v) {
					_, w := stringValueSize(v)
					width = max(width, float64(w))
				}
				root = false
				if units += n; units*width > 1<<16 {
					h.allocation("JSON.stringify's output", units*width)
				}
			}
			if _, fn := goja.AssertFunction(v); !ok || fn {
				return v
			}
			if len(stack) >= MaxJSONDepth {
				h.throw("RangeError", "JSON.stringify: the value nests objects and arrays more than %d levels deep", MaxJSONDepth)
			}
			if keys != nil && obj.ClassName() != "Array" {
				cp := h.vm.NewObject()
				for _, k := range keys {
					if x := obj.Get(k); x != nil {
						_ = cp.Set(k, x)
					}
				}
				obj, v = cp, cp
			}
			stack = append(stack, obj)
			return v
		}
		return callOrig(orig, goja.Undefined(), value, h.vm.ToValue(track), space)
	}
}

// jsonText is the length of a primitive's JSON text (2 for an object's brackets), 0 for
// what JSON.stringify leaves out.
func jsonText(v goja.Value) float64 {
	switch {
	case v == nil || goja.IsUndefined(v):
		return 0
	case goja.IsString(v):
		n, _ := stringValueSize(v)
		return float64(n) + 2
	case goja.IsNull(v):
		return 4
	}
	if _, ok := v.(*goja.Object); ok {
		if _, fn := goja.AssertFunction(v); fn {
			return 0
		}
		return 2
	}
	if _, sym := v.Export().(*goja.Symbol); sym {
		return 0
	}
	return float64(len(v.String())) // numbers, booleans
}

// jsonGap is the length of JSON.stringify's indentation per level (ECMA-262 step 6-8:
// a number of spaces, or a string, at most 10).
func (h *host) jsonGap(space goja.Value) float64 {
	if o, ok := space.(*goja.Object); ok {
		switch o.ClassName() {
		case "Number":
			space = o.ToNumber()
		case "String":
			space = o.ToString()
		}
	}
	switch {
	case goja.IsNumber(space):
		return min(10, max(0, math.Trunc(space.ToFloat())))
	case goja.IsString(space):
		n, _ := stringSize(space.String())
		return float64(min(10, n))
	}
	return 0
}

// propertyList is a replacer array's property list (ECMA-262 JSON.stringify step 4.b):
// its strings and numbers, as strings, each once, in order.
func (h *host) propertyList(arr *goja.Object) []string {
	n := arr.Get("length").ToInteger()
	keys := []string{}
	seen := map[string]bool{}
	for i := int64(0); i < n; i++ {
		v := arr.Get(fmt.Sprint(i))
		if v == nil {
			continue
		}
		o, isObj := v.(*goja.Object)
		if !goja.IsString(v) && !goja.IsNumber(v) && (!isObj || (o.ClassName() != "String" && o.ClassName() != "Number")) {
			continue
		}
		if k := v.String(); !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	return keys
}

// jsonParse measures the text's nesting before goja parses it (recursively, in Go).
func (h *host) jsonParse(orig goja.Callable) func(goja.FunctionCall) goja.Value {
	return func(c goja.FunctionCall) goja.Value {
		text := c.Argument(0).ToString()
		if d := jsonDepth(text.String()); d > MaxJSONDepth {
			h.throw("RangeError", "JSON.parse: the text nests objects and arrays more than %d levels deep", MaxJSONDepth)
		}
		return callOrig(orig, goja.Undefined(), text, c.Argument(1))
	}
}

// jsonDepth is the deepest nesting of [ and { in s outside strings. It does not check
// the syntax; the parser does.
func jsonDepth(s string) int {
	depth, deepest, inString := 0, 0, false
	for i := 0; i < len(s); i++ {
		switch b := s[i]; {
		case inString && b == '\\':
			i++
		case b == '"':
			inString = !inString
		case inString:
		case b == '[' || b == '{':
			depth++
			deepest = max(deepest, depth)
		case b == ']' || b == '}':
			depth--
		}
	}
	return deepest
}

// allocation refuses to build n bytes in one call when that is over the run's memory
// limit (--max-memory), which would be reached before the runner's watchdog could stop
// the test.
func (h *host) allocation(what string, n float64) {
	if h.maxAlloc > 0 && n > float64(h.maxAlloc) {
		h.throw("RangeError", "%s would allocate %s at once, over the %d MiB the run may use (--max-memory)", what, mib(n), h.maxAlloc>>20)
	}
}

func mib(n float64) string {
	if n >= 1<<40 {
		return fmt.Sprintf("%.0f GiB", n/(1<<30))
	}
	return fmt.Sprintf("%.0f MiB", n/(1<<20))
}

// stringSize is a string's length in UTF-16 code units and the bytes goja keeps per
// unit: 1 for ASCII, else 2.
func stringSize(s string) (units, width int) {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			n := 0
			for _, r := range s {
				n += utf16Len(r)
			}
			return n, 2
		}
	}
	return len(s), 1
}

// stringValueSize is stringSize of a JavaScript string without converting it to Go's
// UTF-8 (a copy of the whole string): goja keeps ASCII strings as one type, others as
// UTF-16, at 2 bytes a unit (imported Go strings count as 2 too).
func stringValueSize(v goja.Value) (units, width int) {
	s, ok := v.(goja.String)
	if !ok {
		return stringSize(v.String())
	}
	if reflect.TypeOf(v).Name() == "asciiString" {
		return s.Length(), 1
	}
	return s.Length(), 2
}

func utf16Len(r rune) int {
	if r >= 0x10000 {
		return 2
	}
	return 1
}

// stringThis converts this as String.prototype methods do (RequireObjectCoercible,
// ToString), once.
func (h *host) stringThis(this goja.Value, method string) goja.Value {
	if this == nil || goja.IsUndefined(this) || goja.IsNull(this) {
		h.throw("TypeError", "String.prototype.%s called on null or undefined", method)
	}
	return this.ToString()
}

func (h *host) stringRepeat(orig goja.Callable) func(goja.FunctionCall) goja.Value {
	return func(c goja.FunctionCall) goja.Value {
		s := h.stringThis(c.This, "repeat")
		count := c.Argument(0).ToNumber()
		if n := count.ToFloat(); n >= 1 && !math.IsInf(n, 1) {
			units, width := stringSize(s.String())
			total := float64(units) * math.Trunc(n)
			if total > MaxStringLength {
				h.throw("RangeError", "Invalid string length: repeat(%s) would build %.0f characters, more than %d", count, total, MaxStringLength)
			}
			h.allocation(fmt.Sprintf("repeat(%s)", count), total*float64(width))
		}
		return callOrig(orig, s, count)
	}
}

func (h *host) stringPad(name string) func(orig goja.Callable) func(goja.FunctionCall) goja.Value {
	return func(orig goja.Callable) func(goja.FunctionCall) goja.Value {
		return h.pad(name, orig)
	}
}

func (h *host) pad(name string, orig goja.Callable) func(goja.FunctionCall) goja.Value {
	return func(c goja.FunctionCall) goja.Value {
		s := h.stringThis(c.This, name)
		maxLength := c.Argument(0).ToNumber()
		args := []goja.Value{maxLength}
		width := 1
		if f := c.Argument(1); !goja.IsUndefined(f) {
			fill := f.ToString()
			args = append(args, fill)
			if _, w := stringSize(fill.String()); w > width {
				width = w
			}
		}
		units, w := stringSize(s.String())
		width = max(width, w)
		if n := maxLength.ToFloat(); n > float64(units) {
			if n > MaxStringLength {
				h.throw("RangeError", "Invalid string length: %s(%s) would build more than %d characters", name, maxLength, MaxStringLength)
			}
			h.allocation(fmt.Sprintf("%s(%s)", name, maxLength), n*float64(width))
		}
		return callOrig(orig, s, args...)
	}
}

// arrayLength is the length of this when it is an array (reading it runs no getter), or
// -1.
func arrayLength(this goja.Value) float64 {
	if obj, ok := this.(*goja.Object); ok && obj.ClassName() == "Array" {
		return obj.Get("length").ToFloat()
	}
	return -1
}

func (h *host) arrayFill(orig goja.Callable) func(goja.FunctionCall) goja.Value {
	return func(c goja.FunctionCall) goja.Value {
		if n := arrayLength(c.This); n > 0 {
			h.allocation(fmt.Sprintf("fill on an array of length %.0f", n), n*valueSize)
		}
		return callOrig(orig, c.This, c.Arguments...)
	}
}

// generatorProto evaluates to %GeneratorPrototype%, whose next, return and throw a
// yield* calls for the generator it delegates to, in Go.
var generatorProto = goja.MustCompile("generator.js", "Object.getPrototypeOf(Object.getPrototypeOf((function* () {})()))", true)

// MaxArrayNesting is how deeply join (and so toString and String() of an array),
// toLocaleString and flat may go into arrays inside arrays, a yield* into generators
// delegating to generators, and toEqual into values inside values. goja (and toEqual's
// comparison) recurses in Go for each level, where the JavaScript call stack's limit does
// not count, and a Go stack overflow ends the process: String() of an array nested
// 1 000 000 deep did, and a yield* chain 1 000 000 deep (issue 15 re-attacks). Past it,
// the RangeError a JavaScript engine throws for too deep a recursion.
const MaxArrayNesting = MaxCallStackSize

// enterNested counts one more array that join, toLocaleString or flat is inside, and
// throws past MaxArrayNesting; the caller defers leaveNested.
func (h *host) enterNested(what string) {
	if h.nested++; h.nested > MaxArrayNesting {
		h.nested-- // this level has no deferred leave yet; the others' undo theirs as the throw passes
		h.throw("RangeError", "Maximum call stack size exceeded (%s nested more than %d deep)", what, MaxArrayNesting)
	}
}

func (h *host) leaveNested() {
	if h.nested > 0 {
		h.nested--
	}
}

// nestedCall wraps a builtin that recurses into nested arrays (toLocaleString) with the
// nesting count.
func (h *host) nestedCall(name string) func(orig goja.Callable) func(goja.FunctionCall) goja.Value {
	return func(orig goja.Callable) func(goja.FunctionCall) goja.Value {
		return func(c goja.FunctionCall) goja.Value {
			h.enterNested(name)
			defer h.leaveNested()
			return callOrig(orig, c.This, c.Arguments...)
		}
	}
}

// arrayFlat is flat with the nesting count: goja flattens in one recursive Go call, so
// the depth it will reach is measured first (to at most the depth asked for), in a loop.
func (h *host) arrayFlat(orig goja.Callable) func(goja.FunctionCall) goja.Value {
	return func(c goja.FunctionCall) goja.Value {
		depth := 1.0
		if d := c.Argument(0); !goja.IsUndefined(d) {
			depth = d.ToNumber().ToFloat()
		}
		if depth > MaxArrayNesting && arrayDepth(h.vm, c.This, MaxArrayNesting+1) > MaxArrayNesting {
			h.throw("RangeError", "Maximum call stack size exceeded (flat of arrays nested more than %d deep)", MaxArrayNesting)
		}
		return callOrig(orig, c.This, c.Argument(0))
	}
}

// arrayDepth is how deeply v nests arrays in arrays, counted to at most limit, without
// recursion: the deepest chain of arrays through their elements.
func arrayDepth(vm *goja.Runtime, v goja.Value, limit int) int {
	type level struct {
		o    *goja.Object
		next int
		n    int
	}
	o, ok := v.(*goja.Object)
	if !ok || !isArray(o) {
		return 0
	}
	stack := []level{{o: o, n: int(min(arrayLength(o), 1e6))}}
	deepest := 1
	for len(stack) > 0 && deepest < limit {
		top := &stack[len(stack)-1]
		if top.next >= top.n {
			stack = stack[:len(stack)-1]
			continue
		}
		el, ok := top.o.Get(strconv.Itoa(top.next)).(*goja.Object)
		top.next++
		if ok && isArray(el) {
			stack = append(stack, level{o: el, n: int(min(arrayLength(el), 1e6))})
			deepest = max(deepest, len(stack))
		}
	}
	return deepest
}

func (h *host) arrayJoin(orig goja.Callable) func(goja.FunctionCall) goja.Value {
	return func(c goja.FunctionCall) goja.Value {
		h.enterNested("join of arrays")
		defer h.leaveNested()
		n := arrayLength(c.This)
		if n < 0 {
			return callOrig(orig, c.This, c.Arguments...)
		}
		sep := c.Argument(0)
		if !goja.IsUndefined(sep) {
			sep = sep.ToString()
		}
		if n > 1 {
			s := ","
			if !goja.IsUndefined(sep) {
				s = sep.String()
			}
			units, width := stringSize(s)
			// At least the separators; the elements add to it.
			h.allocation(fmt.Sprintf("join(%q) on an array of length %.0f", strings.ToValidUTF8(s, "?"), n), (n-1)*float64(units*width))
		}
		return callOrig(orig, c.This, sep)
	}
}

func (h *host) arrayConcat(orig goja.Callable) func(goja.FunctionCall) goja.Value {
	return func(c goja.FunctionCall) goja.Value {
		// The result has an element for each element of every array, and one for each
		// other argument (objects made spreadable with Symbol.isConcatSpreadable are
		// counted as one).
		n := max(arrayLength(c.This), 1)
		for _, a := range c.Arguments {
			n += max(arrayLength(a), 1)
		}
		if n > 1<<16 {
			h.allocation(fmt.Sprintf("concat building an array of length %.0f", n), n*valueSize)
		}
		return callOrig(orig, c.This, c.Arguments...)
	}
}

// arrayFrom checks the length of what Array.from copies when it is known before the
// copy: an array, a string, or an array-like object with a length data property
// ({length: n}). Other iterables are consumed one next() at a time, which watches the
// test's context (interruptibleIterators, or JavaScript code).
func (h *host) arrayFrom(orig goja.Callable) func(goja.FunctionCall) goja.Value {
	return func(c goja.FunctionCall) goja.Value {
		items := c.Argument(0)
		n := arrayLength(items)
		switch obj, isObj := items.(*goja.Object); {
		case n >= 0:
		case goja.IsString(items):
			n, _ = float64Pair(stringSize(items.String()))
		case isObj && obj.GetSymbol(goja.SymIterator) == nil:
			n = h.dataLength(obj)
		}
		if n > 1<<16 {
			h.allocation(fmt.Sprintf("Array.from of length %.0f", n), n*valueSize)
		}
		return callOrig(orig, c.This, c.Arguments...)
	}
}

func float64Pair(a, b int) (float64, int) { return float64(a), b }

// dataLength is obj's own "length" when it is a data property holding a number, else
// -1: reading it runs no script code, so the builtin reading it again sees the same.
func (h *host) dataLength(obj *goja.Object) float64 {
	if h.getOwnPropertyDescriptor == nil {
		f, _ := goja.AssertFunction(h.vm.Get("Object").ToObject(h.vm).Get("getOwnPropertyDescriptor"))
		h.getOwnPropertyDescriptor = f
	}
	if obj.ClassName() == "Proxy" {
		return -1
	}
	d, err := h.getOwnPropertyDescriptor(goja.Undefined(), obj, h.vm.ToValue("length"))
	if err != nil || goja.IsUndefined(d) {
		return -1
	}
	v := d.ToObject(h.vm).Get("value")
	if v == nil || !goja.IsNumber(v) {
		return -1
	}
	return math.Trunc(v.ToFloat())
}

// stringSplit checks the number of parts before a split by a string separator: each
// part is an array element, so "…".split("") of a string of n characters builds an
// array of n. A separator object (a regular expression) is left to its own
// [Symbol.split], which calls exec once a match (regexpTimed).
func (h *host) stringSplit(orig goja.Callable) func(goja.FunctionCall) goja.Value {
	return func(c goja.FunctionCall) goja.Value {
		sep, limit := c.Argument(0), c.Argument(1)
		if _, isObj := sep.(*goja.Object); isObj || goja.IsUndefined(sep) || goja.IsNull(sep) {
			return callOrig(orig, c.This, c.Arguments...)
		}
		// The order of ECMA-262 String.prototype.split: this, the limit, the separator.
		s := h.stringThis(c.This, "split")
		lim := float64(math.MaxUint32)
		if !goja.IsUndefined(limit) {
			limit = limit.ToNumber()
			lim = float64(uint32(int64(limit.ToFloat())))
			if math.IsNaN(limit.ToFloat()) || math.IsInf(limit.ToFloat(), 0) {
				lim = 0
			}
		}
		sep = sep.ToString()
		str, r := s.String(), sep.String()
		var n float64
		if r == "" {
			units, _ := stringSize(str)
			n = float64(units)
		} else {
			n = float64(strings.Count(str, r) + 1)
		}
		if n = min(n, lim); n > 1<<16 {
			h.allocation(fmt.Sprintf("split(%q) into %.0f parts", strings.ToValidUTF8(truncate(r, 20), "?"), n), n*valueSize)
		}
		return callOrig(orig, s, sep, limit)
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// guardConstructors puts ArrayBuffer and the typed array constructors behind a proxy
// that checks the bytes of a buffer before it is made: new ArrayBuffer(2**31) or new
// Float64Array(2**28) allocate it at once in Go. The proxy is the constructor the
// script sees (the global, and prototype.constructor, so species lookups go through it
// too); everything else reaches the original (its prototype, its static methods,
// instanceof, subclassing).
func (h *host) guardConstructors() {
	hasInstance := h.hasInstance()
	for _, name := range []string{"ArrayBuffer", "Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array", "Uint32Array", "Float32Array", "Float64Array", "BigInt64Array", "BigUint64Array"} {
		ctor, ok := h.vm.Get(name).(*goja.Object)
		if !ok {
			continue
		}
		width := 1.0
		if b := ctor.Get("BYTES_PER_ELEMENT"); b != nil && goja.IsNumber(b) {
			width = b.ToFloat()
		}
		proxy := h.vm.ToValue(h.vm.NewProxy(ctor, &goja.ProxyTrapConfig{
			Construct: func(target *goja.Object, args []goja.Value, newTarget *goja.Object) *goja.Object {
				n := -1.0
				if len(args) > 0 {
					switch a := args[0]; {
					case goja.IsNumber(a) || goja.IsString(a):
						n = a.ToFloat()
					case name == "ArrayBuffer":
					default:
						if obj, ok := a.(*goja.Object); ok {
							if n = arrayLength(obj); n < 0 && obj.ClassName() == "Object" {
								n = h.dataLength(obj)
							}
						}
					}
				}
				if n*width > 1<<16 {
					h.allocation(fmt.Sprintf("new %s(%.0f)", name, n), n*width)
				}
				construct, _ := goja.AssertConstructor(target)
				obj, err := construct(newTarget, args...)
				if err != nil {
					panic(err)
				}
				return obj
			},
		})).(*goja.Object)
		_ = ctor.DefineDataPropertySymbol(goja.SymHasInstance, hasInstance, goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_FALSE)
		if p, ok := ctor.Get("prototype").(*goja.Object); ok {
			_ = p.DefineDataProperty("constructor", proxy, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
		}
		_ = h.vm.GlobalObject().DefineDataProperty(name, proxy, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
	}
}

// interruptibleIterators makes the next() of the builtin iterators (arrays, maps, sets,
// strings, matchAll) check the test's context. Spreading an iterator ([...it],
// f(...it)) and Array.from(it) drain it in one native call that the runtime's interrupt
// does not reach: [...Array(2**30).keys()] ran on past its timeout and past
// --max-memory. With the check, it stops at the deadline or when the memory watchdog
// stops the test.
func (h *host) interruptibleIterators() {
	iterProto := func(v goja.Value) *goja.Object {
		obj := v.ToObject(h.vm)
		f, ok := goja.AssertFunction(obj.GetSymbol(goja.SymIterator))
		if !ok {
			panic("engine: no iterator")
		}
		it, err := f(v)
		if err != nil {
			panic(err)
		}
		return it.ToObject(h.vm).Prototype()
	}
	newOf := func(name string) goja.Value {
		obj, err := h.vm.New(h.vm.Get(name))
		if err != nil {
			panic(err)
		}
		return obj
	}
	matchAll, _ := goja.AssertFunction(h.vm.Get("String").ToObject(h.vm).Get("prototype").ToObject(h.vm).Get("matchAll"))
	ms, err := matchAll(h.vm.ToValue(""), h.vm.ToValue(regexpGlobal(h.vm)))
	if err != nil {
		panic(err)
	}
	for _, proto := range []*goja.Object{iterProto(h.vm.NewArray()), iterProto(newOf("Map")), iterProto(newOf("Set")), iterProto(h.vm.ToValue("")), ms.ToObject(h.vm).Prototype()} {
		h.replace(proto, "next", 0, func(orig goja.Callable) func(goja.FunctionCall) goja.Value {
			return func(c goja.FunctionCall) goja.Value {
				h.checkCtx("an iterator")
				return callOrig(orig, c.This)
			}
		})
	}
}

func regexpGlobal(vm *goja.Runtime) goja.Value {
	v, err := vm.New(vm.Get("RegExp"), vm.ToValue(""), vm.ToValue("g"))
	if err != nil {
		panic(err)
	}
	return v
}

// hasInstance is a Symbol.hasInstance for the constructors replaced by proxies, which
// goja's instanceof does not accept: OrdinaryHasInstance, is this.prototype on v's
// prototype chain?
func (h *host) hasInstance() *goja.Object {
	return h.named("[Symbol.hasInstance]", func(c goja.FunctionCall) goja.Value {
		ctor, ok1 := c.This.(*goja.Object)
		v, ok2 := c.Argument(0).(*goja.Object)
		if !ok1 || !ok2 {
			return h.vm.ToValue(false)
		}
		proto, _ := ctor.Get("prototype").(*goja.Object)
		for p := v.Prototype(); p != nil && proto != nil; p = p.Prototype() {
			if p == proto {
				return h.vm.ToValue(true)
			}
		}
		return h.vm.ToValue(false)
	})
}
