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
