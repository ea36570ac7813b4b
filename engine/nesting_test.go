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
		// What ordinary code does, which the issue 15 re-attack found refused: strings
		// between operators are operands; === and && are one operator each; a call's
		// brackets end a chain.
		{"a concatenation of 1 500 string lines", "x =\n" + strings.Repeat(`"line\n" +`+"\n", 1500) + `"end";`, false, 0, 0},
		{"601 comparisons joined by &&", "ok = " + strings.Repeat("q !== 0 && ", 600) + "q !== 600;", false, 0, 0},
		{"1 000 .then(x => x + 1) calls", "p = Promise.resolve(1)" + strings.Repeat(".then(x => x + 1)", 1000) + ";", false, 0, 0},
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

// TestRuntimeSourcesAreChecked is issue 15's D1 attack on the sources a script hands goja
// at run time: eval, direct and indirect, and the Function, AsyncFunction and
// GeneratorFunction constructors (goja has no async generators, so no constructor for them).
// goja's parser recursed once per level of nesting, and a direct eval of 1 000 000
// nested parentheses overflowed Go's stack: a fatal error, the end of the run with no
// report (without the fix each case below ends the test binary). Every such source is
// now checked as scenario files are (nestingError), through goja's source check
// (third_party/goja), and refused with a SyntaxError the script can catch, naming <eval>
// and the line and column. eval and Function keep their meaning otherwise. A constructor's
// position is in the text goja builds, "(function anonymous(" + parameters + "\n) {\n" +
// body + "\n})", as goja's own syntax errors in it are: its body starts on line 3.
func TestRuntimeSourcesAreChecked(t *testing.T) {
	t.Parallel()
	const (
		parens = `"(".repeat(1e6) + "1" + ")".repeat(1e6)`
		body   = `"return " + ` + parens
	)
	for _, c := range []struct{ name, src, at string }{
		{"direct eval of nested parentheses", `eval(` + parens + `)`, "<eval>: Line 1:1001 brackets nest deeper than 1000 levels here"},
		{"direct eval of nested arrays", `eval("[".repeat(1e6) + "]".repeat(1e6))`, "<eval>: Line 1:1001 brackets nest deeper than 1000 levels here"},
		{"direct eval of a unary chain", `eval("!".repeat(1e6) + "x")`, "<eval>: Line 1:1001 more than 1000 operators follow one another here"},
		{"direct eval of a long binary chain", `eval("1" + "+1".repeat(1e6))`, "<eval>: Line 1:4002 one expression chains more than 2000 operators here"},
		{"direct eval inside a callback", `[1].map(function (v) { return eval("v + " + ` + parens + `); })`, "<eval>: Line 1:1005 brackets nest deeper"},
		{"eval inside eval", `eval("eval(" + JSON.stringify(` + parens + `) + ")")`, "<eval>: Line 1:1001 brackets nest deeper"},
		{"indirect eval", `(0, eval)(` + parens + `)`, "<eval>: Line 1:1001 brackets nest deeper"},
		{"new Function", `new Function(` + body + `)`, "<eval>: Line 3:1006 brackets nest deeper"},
		{"Function called", `Function("a", ` + body + `)`, "<eval>: Line 3:1006 brackets nest deeper"},
		{"Function of a nested parameter list", `Function("a = " + ` + parens + `, "return a")`, "<eval>: Line 1:1023 brackets nest deeper"},
		{"AsyncFunction", `(async function () {}).constructor(` + body + `)`, "<eval>: Line 3:1006 brackets nest deeper"},
		{"GeneratorFunction", `Object.getPrototypeOf(function* () {}).constructor(` + body + `)`, "<eval>: Line 3:1006 brackets nest deeper"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			tr := newTestRuntime(t)
			res := tr.failing(c.src)
			mustContain(t, c.name, res.Message, "SyntaxError: "+c.at, "vbharness refuses it before parsing")
			caught := tr.value(`(() => { try { ` + c.src + `; return "no error"; } catch (e) { return e instanceof SyntaxError; } })()`)
			if caught.String() != "true" {
				t.Errorf("%s: caught %v, want a SyntaxError", c.name, caught)
			}
		})
	}
	tr := newTestRuntime(t)
	// RunScript goes through the same check (no engine code calls it on a script's text).
	if _, err := tr.host.vm.RunScript("deep.js", strings.Repeat("(", 1e6)+"1"+strings.Repeat(")", 1e6)); err == nil || !strings.Contains(err.Error(), "SyntaxError: deep.js: Line 1:1001") {
		t.Errorf("RunScript of 1e6 parentheses = %v, want a SyntaxError", err)
	}
	cases := []struct{ expr, want string }{
		{`(() => { const x = 2; return eval("x * 3"); })()`, `6`}, // a direct eval sees its scope
		{`(() => { const x = 2; return (0, eval)("typeof x"); })()`, `undefined`},
		{`eval(` + strings.Repeat(`"(" + `, 3) + `"(".repeat(997) + "1" + ")".repeat(1000))`, `1`}, // at the limit
		{`new Function("a", "b", "return a + b")(2, 3)`, `5`},
		{`Function("return typeof this")()`, `object`},
		{`[(() => {}) instanceof Function, Function.prototype.constructor === Function, typeof Function, Function.name, Function.length].join()`, `true,true,function,Function,1`},
		{`(() => { const x = 1; return new Function("return typeof x")(); })()`, `undefined`}, // global scope, as before
		{`new Function({ toString() { return "return 7"; } })()`, `7`},
		{`Object.getPrototypeOf(function* () {}).constructor("yield 4")().next().value`, `4`},
	}
	for _, c := range cases {
		if got := tr.value(c.expr).String(); got != c.want {
			t.Errorf("%s = %q, want %q", c.expr, got, c.want)
		}
	}
}

// misleading are sources nested 1 000 000 deep that nestingError, a text scan, reads as
// within the limits: a quote inside a template's ${…} or inside a regular expression
// literal opens what it takes for a string, which hides the brackets after it, and unary
// operators between brackets are counted afresh at each one. goja's parser counts its own
// depth (parser.WithMaxDepth, parserDepth), so each is still a SyntaxError. Without the
// parser's limit the first two overflowed Go's stack (the end of the process), and the
// third compiled for 13.5 s, a native call no timeout stops; so did the chains below.
var misleading = []struct{ name, src string }{
	{"a quote in a template substitution", "x = `${'`'}` + " + strings.Repeat("(", 1e6) + "1" + strings.Repeat(")", 1e6) + ";\n"},
	{"quotes in regular expressions", "x = /'/.source + " + strings.Repeat("[", 1e6) + strings.Repeat("]", 1e6) + " + /'/.source;\n"},
	{"unary operators between brackets", "x = " + strings.Repeat(strings.Repeat("!", 999)+"(0, ", 999) + "1" + strings.Repeat(")", 999) + ";\n"},
	// Chains the parser reads in a loop but builds as trees as deep as they are long, and
	// a chain the scan counts afresh after each {} (the issue 15 re-attack: each ended the
	// process, in goja's compiler or in markSpinLoops, or compiled for minutes).
	{"class extends class extends …", "x = (" + strings.Repeat("class extends ", 1e6) + "Object" + strings.Repeat("{}", 1e6) + ");\n"},
	{"a member chain", "if (false) ({})" + strings.Repeat(".a", 25e5) + ";\n"},
	{"a call chain", "if (false) f" + strings.Repeat("()", 2e6) + ";\n"},
	{"a + chain with {} between", "x = 0" + strings.Repeat("+{}", 3e6) + ";\n"},
	{"a < chain with {} between", "x = 0" + strings.Repeat("<{}", 1e6) + ";\n"},
}

func TestTheParserCountsWhatTheScanMisses(t *testing.T) {
	t.Parallel()
	for _, c := range misleading {
		if _, _, msg, bad := nestingError(c.src); bad {
			t.Errorf("%s: nestingError finds it (%s); the case no longer tests the parser's limit", c.name, msg)
		}
	}
	t.Run("in eval", func(t *testing.T) {
		t.Parallel()
		tr := newTestRuntime(t)
		for _, c := range misleading {
			_ = tr.vm.Set("src", c.src)
			res := tr.failing(`eval(src)`)
			mustContain(t, c.name, res.Message, "SyntaxError", "<eval>: Line 1:", "The source nests more than 4000 levels deep here")
		}
	})
	t.Run("in a scenario file", func(t *testing.T) {
		t.Parallel()
		for _, c := range misleading {
			l := NewLoader(fstest.MapFS{"deep.js": {Data: []byte("const { test } = require(\"vbharness\");\n" + c.src)}})
			_, err := l.Load("deep.js")
			le, ok := err.(*LoadError)
			if !ok {
				t.Fatalf("%s: Load = %v, want a *LoadError", c.name, err)
			}
			if le.Line != 2 || !strings.Contains(le.Message, "SyntaxError: The source nests more than 4000 levels deep here") {
				t.Errorf("%s: LoadError at line %d: %s", c.name, le.Line, le.Message)
			}
		}
	})
}

// A syntax error in a source compiled at run time (eval, new Function) names its class
// once: goja put Error()'s "SyntaxError: " into the message as well, and the report said
// "SyntaxError: SyntaxError: <eval>: …" (a patch of third_party/goja's Runtime.compile).
func TestRunTimeSyntaxErrorsNameTheirClassOnce(t *testing.T) {
	t.Parallel()
	tr := newTestRuntime(t)
	for _, src := range []string{`eval("let = ;")`, `new Function("((")`, `(0, eval)("}")`} {
		got := tr.value(`(() => { try { ` + src + `; return "no error"; } catch (e) { return [e.name, e.message, String(e)].join("|"); } })()`).String()
		parts := strings.Split(got, "|")
		if len(parts) != 3 || parts[0] != "SyntaxError" || strings.HasPrefix(parts[1], "SyntaxError") ||
			parts[2] != "SyntaxError: "+parts[1] || !strings.Contains(parts[1], "<eval>: Line ") {
			t.Errorf("%s: name|message|String(e) = %q, want SyntaxError|<eval>: Line …|SyntaxError: <eval>: Line …", src, got)
		}
		res := tr.failing(src)
		if strings.Count(res.Message, "SyntaxError") != 1 {
			t.Errorf("%s: the test's message %q names SyntaxError more than once", src, res.Message)
		}
	}
}
