package engine

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// loadEach loads src as each.js and lists its tests.
func loadEach(t *testing.T, src string) (*Script, []TestInfo, error) {
	t.Helper()
	s, err := NewLoader(fstest.MapFS{"each.js": {Data: []byte(src)}}).Load("each.js")
	if err != nil {
		t.Fatal(err)
	}
	tests, err := s.Tests(context.Background())
	return s, tests, err
}

func names(tests []TestInfo) []string {
	out := make([]string, len(tests))
	for i, ti := range tests {
		out[i] = ti.Name
	}
	return out
}

func consoleText(res *Result) string {
	var lines []string
	for _, l := range res.Console {
		lines = append(lines, l.Text)
	}
	return strings.Join(lines, " | ")
}

// TestEachNamesAndArguments: the names test.each makes from its rows (Jest's printf
// tokens, $variable paths) and what each test's function receives, from a test's own
// runtime (which registers only its test) and from one that registers every test (Run
// before Tests).
func TestEachNamesAndArguments(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, src string
		tests     []string
		console   []string // per test
	}{
		{
			name: "rows that are all arrays are spread, the context after them",
			src: `test.each([[1, 2, 3], [2, 3, 5]])("add(%i, %i) -> %i", (a, b, sum, { test, entra }) => {
  expect(a + b).toBe(sum);
  console.log(test.name, typeof entra.deviceCode);
});`,
			tests:   []string{"add(1, 2) -> 3", "add(2, 3) -> 5"},
			console: []string{"add(1, 2) -> 3 function", "add(2, 3) -> 5 function"},
		},
		{
			name:    "other rows are one argument, the context second",
			src:     `test.each([7, "x", null])("row %s", (v, ctx) => console.log(JSON.stringify(v), typeof ctx.veeam.login, ctx.test.name));`,
			tests:   []string{"row 7", "row x", "row null"},
			console: []string{"7 function row 7", `"x" function row x`, "null function row null"},
		},
		{
			name:    "a table of arrays and other rows passes every row whole, as Jest does",
			src:     `test.each([[1, 2], 3])("mixed %j", (v, ctx) => console.log(JSON.stringify(v), typeof ctx.clock));`,
			tests:   []string{"mixed [1,2]", "mixed 3"},
			console: []string{"[1,2] object", "3 object"},
		},
		{
			name:    "printf tokens take the row's values in turn; %# %$ %% take none",
			src:     `test.each([["3.75", "3.75", "3.75", { a: [1] }, "s", true, 9]])("d=%d i=%i f=%f j=%j s=%s %# %$ 100%% o=%o left %s", () => {});`,
			tests:   []string{`d=3.75 i=3 f=3.75 j={"a":[1]} s=s 0 1 100% o=true left 9`},
			console: []string{""},
		},
		{
			name:    "tokens without a value stay as written",
			src:     `test.each([[1]])("%s and %s %x", () => {});`,
			tests:   []string{"1 and %s %x"},
			console: []string{""},
		},
		{
			name: "object rows read $variable and $variable.path; a trailing dot is the sentence's",
			src: `test.each([{ user: { name: "ada", roles: ["a", "b"] }, n: 1 }, { user: { name: "bob" }, n: 2 }])(
  "$user.name has $n role(s) $user.roles.1, row $#, not $missing or $user.age.", ({ user, n }, { test }) => console.log(user.name, n, test.name));`,
			tests: []string{"ada has 1 role(s) b, row 0, not $missing or undefined.",
				"bob has 2 role(s) undefined, row 1, not $missing or undefined."},
			console: []string{"ada 1 ada has 1 role(s) b, row 0, not $missing or undefined.",
				"bob 2 bob has 2 role(s) undefined, row 1, not $missing or undefined."},
		},
		{
			name:    "object rows with a printf token are printf's values",
			src:     `test.each([{ a: 1 }])("%# %j", (row) => console.log(row.a));`,
			tests:   []string{`0 {"a":1}`},
			console: []string{"1"},
		},
		{
			name:    "a function table's rows, decoded from JSON",
			src:     `test.each(() => [["tenant-a", 3], ["tenant-b", 4]])("%s has %d users", (name, users, { test }) => console.log(name, users * 2, test.name));`,
			tests:   []string{"tenant-a has 3 users", "tenant-b has 4 users"},
			console: []string{"tenant-a 6 tenant-a has 3 users", "tenant-b 8 tenant-b has 4 users"},
		},
		{
			name: "the function test.each returns, called twice",
			src: `const twice = test.each([1, 2]);
twice("a%s", (n) => console.log("a", n));
twice("b%s", (n) => console.log("b", n));`,
			tests:   []string{"a1", "a2", "b1", "b2"},
			console: []string{"a 1", "a 2", "b 1", "b 2"},
		},
		{
			name:    "an escaped percent sign before a letter leaves $variable on",
			src:     `test.each([{ n: 5 }])("$n at 100%%s", ({ n }) => console.log(n));`,
			tests:   []string{"5 at 100%%s"},
			console: []string{"5"},
		},
		{
			name: "several each calls and plain tests in one file",
			src: `test("first", () => console.log("first"));
test.each([1, 2])("a%s", (n) => console.log("a", n));
test.each(() => [{ k: "x" }])("b $k", ({ k }) => console.log("b", k));
test.each([[3]])("c%s", (n) => console.log("c", n));
test("last", () => console.log("last"));`,
			tests:   []string{"first", "a1", "a2", "b x", "c3", "last"},
			console: []string{"first", "a 1", "a 2", "b x", "c 3", "last"},
		},
	}
	target, _ := newMockTarget(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			src := "const { test, expect } = require(\"vbharness\");\n" + c.src + "\n"
			s, tests, err := loadEach(t, src)
			if err != nil {
				t.Fatal(err)
			}
			if got := names(tests); !slices.Equal(got, c.tests) {
				t.Fatalf("tests %q, want %q", got, c.tests)
			}
			whole, err := NewLoader(fstest.MapFS{"each.js": {Data: []byte(src)}}).Load("each.js")
			if err != nil {
				t.Fatal(err)
			}
			for i, name := range c.tests {
				for _, sc := range []*Script{s, whole} {
					res := sc.Run(context.Background(), name, RunOptions{Target: target, Seed: 1})
					if res.Status != StatusPassed || consoleText(res) != c.console[i] {
						t.Errorf("%q (listed %v): %s %q %s, console %q, want %q", name, sc == s, res.Status, res.Message, res.Stack, consoleText(res), c.console[i])
					}
				}
			}
		})
	}
}

// TestEachFunctionTableIsCalledOncePerFile: a function table runs in the runtime that
// lists the file's tests, never in a test's runtime: its top-level console line is not in
// any test's output, and tests run with different seeds all get the row listing kept,
// though every row is Math.random(). Evaluating the table in each test's runtime fails
// both checks.
func TestEachFunctionTableIsCalledOncePerFile(t *testing.T) {
	t.Parallel()
	src := `const { test } = require("vbharness");
test.each(() => {
  console.log("table called");
  return Array.from({ length: 5 }, () => ({ v: Math.random() }));
})("random row %#", ({ v }) => console.log(String(v)));
`
	s, tests, err := loadEach(t, src)
	if err != nil {
		t.Fatal(err)
	}
	if len(tests) != 5 || len(s.each.sites) != 1 || len(s.each.sites[0].rows) != 5 {
		t.Fatalf("%d tests, listing %+v", len(tests), s.each)
	}
	target, _ := newMockTarget(t)
	for i, ti := range tests {
		var want struct{ V float64 }
		if err := json.Unmarshal([]byte(s.each.sites[0].rows[i]), &want); err != nil {
			t.Fatal(err)
		}
		for _, seed := range []int64{1, 2} {
			res := s.Run(context.Background(), ti.Name, RunOptions{Target: target, Seed: seed})
			if res.Status != StatusPassed {
				t.Fatalf("%s: %s %s", ti.Name, res.Status, res.Message)
			}
			if got := consoleText(res); got != jsonNumber(want.V) {
				t.Errorf("%s (seed %d): console %q, want the listed row's %v", ti.Name, seed, got, want.V)
			}
		}
	}
}

// jsonNumber renders f as JavaScript's String(f) does for the values Math.random gives.
func jsonNumber(f float64) string {
	b, _ := json.Marshal(f)
	return string(b)
}

// TestEachErrors: what test.each refuses, with the file's position.
func TestEachErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, src string
		message   string // a substring of the listing's error
		line      int
	}{
		{"a table function that throws", `test.each(() => {
  throw new Error("no rows today");
})("x", () => {});`, "Error: no rows today", 3},
		{"a table function that returns no array", `test.each(() => ({ length: 1 }))("x", () => {});`,
			`TypeError: test.each(fn): the table function returned { "length": 1 }, not an array of rows`, 2},
		{"a row with a function", `test.each(() => [[1], [{ f() {} }]])("x%#", () => {});`,
			"TypeError: test.each(fn): row 1 of the table is not a JSON value: a function at [0].f.", 2},
		{"a row with a Date", `test.each(() => [{ at: new Date(0) }])("x", () => {});`,
			"row 0 of the table is not a JSON value: a Date object (only plain objects and arrays are JSON) at at", 2},
		{"a row with undefined", `test.each(() => [[1, undefined]])("x", () => {});`,
			"row 0 of the table is not a JSON value: undefined at [1]", 2},
		{"a row with NaN", `test.each(() => [NaN])("x", () => {});`, "row 0 of the table is not a JSON value: NaN", 2},
		{"a cyclic row", `const o = {}; o.self = o;
test.each(() => [o])("x", () => {});`, "row 0 of the table is not a JSON value: a cycle at self", 3},
		{"a table too long", `test.each(new Array(2e6))("x", () => {});`, "RangeError: test.each(table): a table of 2000000 rows is too long (at most 1000000)", 2},
		{"a row too long to spread", `test.each([new Array(1e9)])("x", () => {});`, "RangeError: test.each: a row of 1000000000 elements is too long to spread as arguments (at most 65535)", 2},
		{"a function table's row too large", `test.each(() => [[new Array(2e5).fill(0)]])("x", () => {});`, "row 0 of the table is not a JSON value: more than 100000 values in one row at [0][99998]", 2},
		{"an empty table", `test.each([])("x", () => {});`, "Error: test.each(table): the table is empty; give at least one row", 2},
		{"a table function that returns no rows", `test.each(() => [])("x", () => {});`, "Error: test.each(fn): the table is empty; give at least one row", 2},
		{"a table that is neither", `test.each("abc")("x", () => {});`,
			`TypeError: test.each(table): table must be an array of rows or a function returning one, not "abc"`, 2},
		{"a duplicate generated name", `test.each([1, 2, 1])("n%s", () => {});`,
			`Error: test.each("n1"): a test with this name is already registered in each.js; test names must be unique per file`, 2},
		{"a name that is no string", `test.each([1])(5, () => {});`, "TypeError: test.each(table)(name, fn, options): name must be a non-empty string", 2},
		{"an empty generated name", `test.each([""])("%s", () => {});`, "TypeError: test.each(table)(name, fn, options): the name of row 0 is empty", 2},
		{"no function", `test.each([1])("n%s");`, `TypeError: test.each("n1", fn, options): fn must be a function`, 2},
		{"an unknown option", `test.each([1])("n%s", () => {}, { tag: "x" });`, `TypeError: test.each("n1"): unknown option "tag"`, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := loadEach(t, "const { test } = require(\"vbharness\");\n"+c.src+"\n")
			var le *LoadError
			if !errors.As(err, &le) || !strings.Contains(le.Message, c.message) || le.Line != c.line || le.File != "each.js" {
				t.Errorf("got %#v, want %q at each.js:%d", err, c.message, c.line)
			}
		})
	}
}

// TestEachInsideATestIsAnError: like test, test.each belongs to the top level.
func TestEachInsideATestIsAnError(t *testing.T) {
	t.Parallel()
	s, tests, err := loadEach(t, `const { test } = require("vbharness");
test("nested", () => { test.each([1])("n%s", () => {}); });
`)
	if err != nil || len(tests) != 1 {
		t.Fatal(tests, err)
	}
	target, _ := newMockTarget(t)
	res := s.Run(context.Background(), "nested", RunOptions{Target: target})
	if res.Status != StatusErrored || !strings.Contains(res.Message, "test.each() must be called at the top level of the script") || !strings.HasPrefix(res.Stack, "at each.js:2:") {
		t.Errorf("%s %q %q", res.Status, res.Message, res.Stack)
	}
}

// TestEachSkipOnlyHooksTagsAndTimeouts: test.skip.each and test.only.each mark their
// tests; beforeEach and afterEach wrap every each test; options reach every row's test.
func TestEachSkipOnlyHooksTagsAndTimeouts(t *testing.T) {
	t.Parallel()
	s, tests, err := loadEach(t, `const { test, beforeEach, afterEach } = require("vbharness");
beforeEach(({ test }) => console.log("before", test.name));
afterEach(({ test }) => console.log("after", test.name));
test.skip.each([1, 2])("skipped %s", () => {}, "not today");
test.only.each(() => [[1]])("focused %s", (n) => console.log("focused", n));
test.each([1, 2])("tagged %s", (n, { test }) => console.log(test.tags.join(","), test.requires.join(",")), { tags: ["smoke", "each"], requires: ["clock"] });
test.each([1])("spins %s", () => { for (;;) {} }, { timeout: "50ms" });
`)
	if err != nil {
		t.Fatal(err)
	}
	want := []TestInfo{
		{Name: "skipped 1", Skip: true, SkipReason: "not today", Line: 4},
		{Name: "skipped 2", Skip: true, SkipReason: "not today", Line: 4},
		{Name: "focused 1", Only: true, Line: 5},
		{Name: "tagged 1", Tags: []string{"smoke", "each"}, Requires: []Requirement{"clock"}, Line: 6},
		{Name: "tagged 2", Tags: []string{"smoke", "each"}, Requires: []Requirement{"clock"}, Line: 6},
		{Name: "spins 1", Timeout: 50 * time.Millisecond, Line: 7},
	}
	if len(tests) != len(want) {
		t.Fatalf("%q", names(tests))
	}
	for i, w := range want {
		g := tests[i]
		if g.Name != w.Name || g.Skip != w.Skip || g.SkipReason != w.SkipReason || g.Only != w.Only || !slices.Equal(g.Tags, w.Tags) ||
			!slices.Equal(g.Requires, w.Requires) || g.Timeout != w.Timeout || g.File != "each.js" || g.Line != w.Line {
			t.Errorf("test %d: %+v, want %+v", i, g, w)
		}
	}
	target, _ := newMockTarget(t)
	for _, c := range []struct {
		name    string
		status  Status
		console string
		message string
	}{
		{"skipped 2", StatusSkipped, "", "not today"},
		{"focused 1", StatusPassed, "before focused 1 | focused 1 | after focused 1", ""},
		{"tagged 2", StatusPassed, "before tagged 2 | smoke,each clock | after tagged 2", ""},
		{"spins 1", StatusTimedOut, "before spins 1", "timed out after 50ms"},
	} {
		res := s.Run(context.Background(), c.name, RunOptions{Target: target, Seed: 1, Timeout: 30 * time.Second})
		if res.Status != c.status || consoleText(res) != c.console || !strings.Contains(res.Message+res.SkipReason, c.message) {
			t.Errorf("%s: %s %q %q, console %q", c.name, res.Status, res.Message, res.SkipReason, consoleText(res))
		}
	}
}

// TestEachCallsMustMatchTheListing: a test's runtime that reaches other test.each calls
// than listing saw, or an array table whose row has another name, fails the test rather
// than run another row. Math.random is seeded differently when listing (seed 0) and in
// the runs below.
func TestEachCallsMustMatchTheListing(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, src, test, message string
	}{
		{
			name: "another call site",
			src: `const first = Math.random() < 0.5;
if (first) test.each(() => [1])("n%s", () => {});
else test.each(() => [1])("n%s", () => {});
`,
			message: "this test's runtime reached a different test.each call than listing the file's tests did at this point (the 1st test.each call, at each.js:",
		},
		{
			name: "a call listing did not see",
			src: `test.each([1])("n%s", () => {});
if (Math.random() !== LISTED) test.each([2])("m%s", () => {});
`,
			message: "this test's runtime reached a test.each call (the 2nd test.each call of the top level) that listing the file's tests did not",
		},
		{
			name:    "an array table whose rows are objects no more",
			src:     `test.each(Math.random() === LISTED ? [{ a: 1 }] : ["x"])("n $a", () => {});`,
			message: `row 0 is named "n $a" in this test's runtime but was "n 1" when the file's tests were listed`,
		},
		{
			name:    "an array table whose rows are arrays no more",
			src:     `test.each(Math.random() === LISTED ? [[1, 2]] : [3])("n %s %s", () => {});`,
			message: `row 0 is named "n 3 %s" in this test's runtime but was "n 1 2" when the file's tests were listed`,
		},
		{
			name:    "an array table whose row is named otherwise",
			src:     `test.each([[Math.random()]])("r%s", () => {});`,
			message: "row 0 is named \"r0.",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			// LISTED is the listing runtime's first Math.random(): the second call then
			// happens only in the test's runtime.
			listed := firstRandom(t, 0)
			src := "const { test } = require(\"vbharness\");\nconst LISTED = " + jsonNumber(listed) + ";\n" + c.src
			if c.name == "another call site" {
				// Pick the seed whose first random lands on the other side of 0.5.
				src = strings.Replace(src, "< 0.5", "< "+jsonNumber(listed+1e-12), 1)
			}
			s, tests, err := loadEach(t, src)
			if err != nil || len(tests) == 0 {
				t.Fatal(tests, err)
			}
			target, _ := newMockTarget(t)
			res := s.Run(context.Background(), tests[0].Name, RunOptions{Target: target, Seed: seedAbove(t, listed+1e-12)})
			if res.Status != StatusErrored || !strings.Contains(res.Message, c.message) || !strings.HasPrefix(res.Stack, "at each.js:") {
				t.Errorf("%s %q %q", res.Status, res.Message, res.Stack)
			}
		})
	}
}

// firstRandom is the first Math.random() of a runtime seeded with seed.
func firstRandom(t *testing.T, seed int64) float64 {
	t.Helper()
	tr := newTestRuntime(t, withSeed(seed))
	return tr.value("Math.random()").ToFloat()
}

// seedAbove returns a seed whose first Math.random() is at least x.
func seedAbove(t *testing.T, x float64) int64 {
	t.Helper()
	for seed := int64(1); seed < 100; seed++ {
		if firstRandom(t, seed) >= x {
			return seed
		}
	}
	t.Fatalf("no seed below 100 starts at %v or above", x)
	return 0
}
