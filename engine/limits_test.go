package engine

import (
	"strings"
	"testing"
)

// TestNativeCallsAreBounded is issue 15's items 2 and 9 in the engine: a backtracking
// regular expression, JSON nested 100 000 deep and one huge string or array each throw
// a RangeError the script can catch, instead of running past the test's deadline in Go
// or allocating gigabytes before the memory watchdog looks.
func TestNativeCallsAreBounded(t *testing.T) {
	t.Parallel()
	deep := `function deep(n) { let o = {}; for (let i = 0; i < n; i++) o = { a: o }; return o; }; `
	cases := []struct {
		name, src string
		parts     []string
	}{
		{"a catastrophic regular expression", `/^(?=a)(a+)+$/.test("a".repeat(40) + "b")`,
			[]string{"RangeError", "did not finish within 1s", "catastrophic backtracking"}},
		{"the same through String.prototype.replace", `("a".repeat(40) + "b").replace(/^(?=a)(a+)+$/, "x")`,
			[]string{"RangeError", "did not finish within 1s"}},
		{"JSON.stringify of a 100 000-deep object", deep + `JSON.stringify(deep(100000))`,
			[]string{"RangeError", "JSON.stringify", "more than 1000 levels deep"}},
		{"JSON.stringify with a replacer function", deep + `JSON.stringify(deep(1001), (k, v) => v)`,
			[]string{"RangeError", "more than 1000 levels deep"}},
		{"JSON.stringify with a replacer array", deep + `JSON.stringify(deep(1001), ["a"])`,
			[]string{"RangeError", "more than 1000 levels deep"}},
		{"JSON.parse of 100 000-deep arrays", `JSON.parse("[".repeat(100000) + "]".repeat(100000))`,
			[]string{"RangeError", "JSON.parse", "more than 1000 levels deep"}},
		{"repeat over the memory limit", `"x".repeat(2 ** 28)`,
			[]string{"RangeError", "repeat(268435456) would allocate 256 MiB at once, over the 64 MiB the run may use (--max-memory)"}},
		{"repeat past V8's string length", `"xy".repeat(2 ** 29)`,
			[]string{"RangeError", "Invalid string length"}},
		{"repeat of a non-ASCII string counts two bytes a unit", `"é".repeat(2 ** 25 + 1)`,
			[]string{"RangeError", "would allocate 64 MiB"}},
		{"padStart over the memory limit", `"x".padStart(2 ** 27, "y")`,
			[]string{"RangeError", "padStart(134217728) would allocate 128 MiB"}},
		{"padEnd over the memory limit", `"x".padEnd(2 ** 27)`,
			[]string{"RangeError", "padEnd(134217728)"}},
		{"fill of a huge sparse array", `new Array(2 ** 27).fill(0)`,
			[]string{"RangeError", "fill on an array of length 134217728 would allocate 2048 MiB"}},
		{"join of a huge sparse array", `new Array(2 ** 30).join("ab")`,
			[]string{"RangeError", `join("ab") on an array of length 1073741824`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := scriptOf(t, `const { test } = require("vbharness");
test("t", () => { `+c.src+`; });
test("caught", () => { try { `+c.src+`; } catch (e) { if (e instanceof RangeError) return; throw e; } throw new Error("no RangeError"); });
`)
			res := runMock(t, s, "t", RunOptions{MaxMemory: 64 << 20})
			if res.Status != StatusErrored {
				t.Fatalf("status %s, want errored: %s", res.Status, res.Message)
			}
			mustContain(t, "message", res.Message, c.parts...)
			mustContain(t, "stack", res.Stack, "s.js:2:")
			if res := runMock(t, s, "caught", RunOptions{MaxMemory: 64 << 20}); res.Status != StatusPassed {
				t.Errorf("the script cannot catch it: %s %s", res.Status, res.Message)
			}
		})
	}
}

// TestBoundedBuiltinsKeepTheirMeaning checks the wrapped builtins against what they
// return unwrapped (the values V8 gives), within the limits.
func TestBoundedBuiltinsKeepTheirMeaning(t *testing.T) {
	t.Parallel()
	tr := newTestRuntime(t)
	tr.maxAlloc = 1 << 20
	cases := []struct{ expr, want string }{
		{`JSON.stringify({b: 1, a: [1, {c: undefined, d: () => 1}], e: new Date(0)})`, `{"b":1,"a":[1,{}],"e":"1970-01-01T00:00:00.000Z"}`},
		{`JSON.stringify({b: 1, a: 2, c: {a: 3, b: 4}}, ["a", "c", "a", 1])`, `{"a":2,"c":{"a":3}}`},
		{`JSON.stringify({a: 1, b: "x"}, (k, v) => typeof v === "number" ? v * 2 : v)`, `{"a":2,"b":"x"}`},
		{`JSON.stringify({a: [1]}, null, 2)`, "{\n  \"a\": [\n    1\n  ]\n}"},
		{`JSON.stringify({toJSON() { return {x: 1}; }})`, `{"x":1}`},
		{`JSON.stringify([{a: 1}, {a: 2}], function (k, v) { return k === "a" ? this.a + 10 : v; })`, `[{"a":11},{"a":12}]`},
		{`JSON.stringify("s")`, `"s"`},
		{`String(JSON.stringify(undefined))`, `undefined`},
		{`(() => { let o = {}; for (let i = 0; i < 999; i++) o = {a: o}; return String(JSON.stringify(o).length); })()`, `5996`},
		{`JSON.stringify(JSON.parse('{"a":[1,"[{\\"",{"b":null}]}'))`, `{"a":[1,"[{\"",{"b":null}]}`},
		{`JSON.stringify(JSON.parse('{"a":1,"b":2}', (k, v) => k === "a" ? undefined : v))`, `{"b":2}`},
		{`"ab".repeat(3)`, `ababab`},
		{`"ab".repeat(0) + "|"`, `|`},
		{`"5".padStart(3, "0") + "5".padEnd(3) + "|"`, `0055  |`},
		{`[1, 2, 3].join() + [1, 2].join("-") + [].join("x")`, `1,2,31-2`},
		{`String(new Array(3).fill(7))`, `7,7,7`},
		{`"a-b".replace(/(?<=a)-/, "+") + "x".split(/(?=x)/).length`, `a+b1`},
		{`String(/(a)(?=b)/.exec("ab"))`, `a,a`},
		{`RegExp.prototype.exec.name + RegExp.prototype.exec.length + JSON.stringify.length`, `exec13`},
		{`Object.keys(String.prototype).length + "," + Object.getOwnPropertyDescriptor(Array.prototype, "join").enumerable`, `0,false`},
	}
	for _, c := range cases {
		if got := tr.value(c.expr).String(); got != c.want {
			t.Errorf("%s = %q, want %q", c.expr, got, c.want)
		}
	}
	// The wrappers throw what the originals would.
	for _, src := range []string{`String.prototype.repeat.call(null, 2)`, `"x".repeat(-1)`, `"x".repeat(Infinity)`, `JSON.parse("{")`, `JSON.stringify((() => { const o = {}; o.o = o; return o; })())`} {
		if res := tr.failing(src); !strings.Contains(res.Message, "Error") {
			t.Errorf("%s: %s", src, res.Message)
		}
	}
}

// TestAGoPanicInsideTheEngineIsOneTestsError is issue 15 item 9: a panic in Go under
// the runtime (goja panicked on a direct eval inside a callback) is the test's error,
// with a position, not an "internal" error, and the next test runs.
func TestAGoPanicInsideTheEngineIsOneTestsError(t *testing.T) {
	t.Parallel()
	s := scriptOf(t, `const { test, expect } = require("vbharness");
test("panics", () => { [1].forEach(() => __goPanic()); });
test("panics under a host callback", () => { expect(() => { [1].forEach(() => __goPanic()); }).toThrow(); });
test("passes", () => {});
`)
	for _, name := range []string{"panics", "panics under a host callback"} {
		res := runMock(t, s, name, RunOptions{})
		if res.Status != StatusErrored {
			t.Fatalf("%s: status %s, want errored: %s", name, res.Status, res.Message)
		}
		mustContain(t, name, res.Message, "the JavaScript engine failed (a bug in goja or in vbharness, not in the script", "index out of range")
		if strings.Contains(res.Message, "internal") {
			t.Errorf("%s: %s", name, res.Message)
		}
		t.Logf("%s: %s\n%s", name, res.Message, res.Stack)
	}
	if res := runMock(t, s, "passes", RunOptions{}); res.Status != StatusPassed {
		t.Errorf("the next test: %s %s", res.Status, res.Message)
	}
}
