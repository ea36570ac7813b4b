package engine

import (
	"fmt"
	"math"
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
}

// installLimits wraps the builtins that can run long or allocate much in one native
// call: RegExp.prototype.exec (through which every other regular expression operation
// goes once it is replaced) and test, JSON.stringify and JSON.parse, String.prototype.repeat, padStart
// and padEnd, Array.prototype.fill and join. Each wrapper converts its arguments once
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
}

// replace sets obj[name] to a native function of that name and length built by wrap
// from the original, with the original's attributes (writable, configurable, not
// enumerable).
func (h *host) replace(obj *goja.Object, name string, length int, wrap func(orig goja.Callable) func(goja.FunctionCall) goja.Value) {
	orig, ok := goja.AssertFunction(obj.Get(name))
	if !ok {
		panic(fmt.Sprintf("engine: %s is not a function", name))
	}
	f := h.named(name, wrap(orig))
	_ = f.DefineDataProperty("length", h.vm.ToValue(length), goja.FLAG_FALSE, goja.FLAG_TRUE, goja.FLAG_FALSE)
	_ = obj.DefineDataProperty(name, f, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
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
		start := wall.Now()
		v := callOrig(orig, c.This, c.Arguments...)
		if (goja.IsNull(v) || !v.ToBoolean()) && wall.Now().Sub(start) >= RegexMatchTimeout {
			h.throw("RangeError", "regular expression %s did not finish within %v (catastrophic backtracking?): vbharness gives up on a match after %v", c.This, RegexMatchTimeout, RegexMatchTimeout)
		}
		return v
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
		track := func(rc goja.FunctionCall) goja.Value {
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

func (h *host) arrayJoin(orig goja.Callable) func(goja.FunctionCall) goja.Value {
	return func(c goja.FunctionCall) goja.Value {
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
