package engine

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestNestingErrorFindsWhatWouldOverflowTheParser(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat("(", 2000) + "1" + strings.Repeat(")", 2000)
	for _, c := range []struct {
		name, src string
		bad       bool
		line, col int
	}{
		{"a scenario", "const { test } = require(\"vbharness\");\ntest(\"t\", () => { if ((a || b) && !c) { f([1, 2, {x: -1}]); } });\n", false, 0, 0},
		{"nested parentheses", "const x =\n" + deep + ";\n", true, 2, MaxSourceNesting + 1},
		{"nested arrays", "x = " + strings.Repeat("[", 5000) + strings.Repeat("]", 5000), true, 1, 5 + MaxSourceNesting},
		{"chained unary minus", "x = " + strings.Repeat("-", 3000) + "1", true, 1, 4 + MaxSourceNesting}, // "=" counts too
		{"a long binary chain", "x = " + strings.Repeat("1+", MaxSourceChain+10) + "1", true, 1, 0},
		{"brackets in a string", "x = \"" + strings.Repeat("(", 5000) + "\";", false, 0, 0},
		{"brackets in a template", "x = `" + strings.Repeat("[", 5000) + "`;", false, 0, 0},
		{"brackets in comments", "// " + strings.Repeat("(", 5000) + "\n/* " + strings.Repeat("{", 5000) + " */ x = 1;", false, 0, 0},
		{"many separate expressions", strings.Repeat("a = b + c;\n", 200_000), false, 0, 0},
		{"deep but within the limit", strings.Repeat("(", MaxSourceNesting) + "1" + strings.Repeat(")", MaxSourceNesting), false, 0, 0},
	} {
		line, col, msg, bad := nestingError(c.src)
		if bad != c.bad {
			t.Errorf("%s: bad = %v (%s), want %v", c.name, bad, msg, c.bad)
			continue
		}
		if bad && (line != c.line || (c.col != 0 && col != c.col)) {
			t.Errorf("%s: at %d:%d, want %d:%d (%s)", c.name, line, col, c.line, c.col, msg)
		}
	}
}

// A scenario file nested past the limit is a load error with its position, not the end
// of the process: goja's parser recursed once per level until Go's stack overflowed.
func TestADeeplyNestedFileIsALoadError(t *testing.T) {
	t.Parallel()
	src := "const { test } = require(\"vbharness\");\nconst x = " + strings.Repeat("(", 1_000_000) + "1" + strings.Repeat(")", 1_000_000) + ";\n"
	l := NewLoader(fstest.MapFS{"deep.js": {Data: []byte(src)}})
	_, err := l.Load("deep.js")
	le, ok := err.(*LoadError)
	if !ok {
		t.Fatalf("Load = %v, want a *LoadError", err)
	}
	if le.Line != 2 || !strings.Contains(le.Message, "nest deeper than") {
		t.Errorf("LoadError at line %d: %s", le.Line, le.Message)
	}
}

// TestNewFunctionChecksItsSource is issue 15's D1 attack for new Function: its source
// went to goja's parser unchecked, and one nested 1 000 000 levels overflowed Go's stack
// (a fatal error, the end of the run). It is refused with a SyntaxError the script can
// catch; Function keeps its meaning otherwise.
func TestNewFunctionChecksItsSource(t *testing.T) {
	t.Parallel()
	tr := newTestRuntime(t)
	for _, src := range []string{
		`new Function("return " + "(".repeat(1000000) + "1" + ")".repeat(1000000))`,
		`Function("a", "return " + "[".repeat(5000) + "]".repeat(5000))`,
		`(function () {}).constructor("return " + "-".repeat(3000) + "1")`,
	} {
		res := tr.failing(src)
		mustContain(t, src[:30], res.Message, "SyntaxError: new Function: the source is too deeply nested", "goja's parser would overflow")
	}
	cases := []struct{ expr, want string }{
		{`new Function("a", "b", "return a + b")(2, 3)`, `5`},
		{`Function("return typeof this")()`, `object`},
		{`[(() => {}) instanceof Function, Function.prototype.constructor === Function, typeof Function, Function.name, Function.length].join()`, `true,true,function,Function,1`},
		{`(() => { const x = 1; return new Function("return typeof x")(); })()`, `undefined`}, // global scope, as before
		{`new Function({ toString() { return "return 7"; } })()`, `7`},
	}
	for _, c := range cases {
		if got := tr.value(c.expr).String(); got != c.want {
			t.Errorf("%s = %q, want %q", c.expr, got, c.want)
		}
	}
}
