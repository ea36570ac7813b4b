package engine

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
)

// TestARunRegistersOnlyItsTest checks that a test's runtime, which registers only its own
// test (registry.only) and may end the top level right after it (registrationTail), runs
// every test as a runtime that evaluates the whole top level and registers everything
// would: hooks, names and values set up after the test, top-level output and promise
// jobs, wrappers of test, skips and focus, and stack positions. stop says whether the
// top level may end early for that test.
func TestARunRegistersOnlyItsTest(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, src, test string
		status          Status
		console         string // the test's console lines, joined by " | "
		message         string // a substring of the result's message or skip reason
		stack           string // the first frame of the result's stack
		stop            bool
		leftOut         bool // the test's runtime leaves the other tests' statements out
	}{
		{
			name: "stops after a test whose followers only register tests",
			src: `const { test, expect } = require("vbharness");
const shared = { tags: ["y"] };
test("a", () => { throw new Error("not this one"); });
test("b", () => { console.log("b", shared.tags[0]); }, { tags: ["x"], requires: ["clock"] });
test("c", () => {}, shared);
test.skip("d", () => {});
function helper() {}
test.only("e", () => {});
`,
			test: "b", status: StatusPassed, console: "b y", stop: true,
		},
		{
			name: "a failure keeps its position in a file that stopped early",
			src: `const { test, expect } = require("vbharness");
test("a", () => {});
test("b", () => {
  expect(1).toBe(2);
});
test("c", () => {});
`,
			test: "b", status: StatusFailed, stack: "at many.js:4:17", stop: true,
		},
		{
			name: "the last test stops nothing",
			src: `const { test } = require("vbharness");
test("a", () => {});
test("b", () => { console.log("b"); });
`,
			test: "b", status: StatusPassed, console: "b", stop: true,
		},
		{
			name: "a skipped test registered through test.skip",
			src: `const { test } = require("vbharness");
test.skip("a", "not today");
test("b", () => {});
`,
			test: "a", status: StatusSkipped, message: "not today", stop: true,
		},
		{
			name: "an afterEach registered after the tests still runs",
			src: `const { test, afterEach } = require("vbharness");
test("a", () => { console.log("a"); });
test("b", () => {});
afterEach(() => console.log("after"));
`,
			test: "a", status: StatusPassed, console: "a | after",
		},
		{
			name: "a value set after the tests is set",
			src: `const { test, expect } = require("vbharness");
let late;
test("a", () => { expect(late).toBe(2); });
test("b", () => {});
late = 2;
`,
			test: "a", status: StatusPassed,
		},
		{
			name: "top-level output after the test is kept",
			src: `const { test } = require("vbharness");
test("a", () => {});
console.log("loaded");
`,
			test: "a", status: StatusPassed, console: "loaded",
		},
		{
			name: "a test option that is read from an object is not skipped",
			src: `const { test } = require("vbharness");
const opts = { get tags() { console.log("read"); return []; } };
test("a", () => {});
test("b", () => {}, { tags: opts.tags });
`,
			test: "a", status: StatusPassed, console: "read",
		},
		{
			name: "promise jobs queued by the top level run",
			src: `const { test, expect } = require("vbharness");
let ready = false;
Promise.resolve().then(() => { ready = true; });
test("a", () => { expect(ready).toBe(true); });
test("b", () => {});
`,
			test: "a", status: StatusPassed, stop: true,
		},
		{
			name: "a wrapper of test sees every call",
			src: `const vb = require("vbharness");
let count = 0;
const test = (name, fn) => { count++; vb.test(name, fn); };
test("a", () => { vb.expect(count).toBe(3); });
test("b", () => {});
test("c", () => {});
`,
			test: "a", status: StatusPassed,
		},
		{
			name: "a replaced test.skip is called",
			src: `const { test, expect } = require("vbharness");
let skipped = 0;
const skip = test.skip;
test.skip = (name) => { skipped++; skip(name); };
test("a", () => { expect(skipped).toBe(1); });
test.skip("b");
`,
			test: "a", status: StatusPassed,
		},
		{
			name: "a test registered inside a function",
			src: `const { test } = require("vbharness");
const one = (name) => test(name, () => console.log(name));
one("a");
test("b", () => {});
`,
			test: "a", status: StatusPassed, console: "a",
		},
		{
			name: "a loop",
			src: `const { test, expect } = require("vbharness");
const seen = [];
for (const n of ["a", "b", "c"]) test(n, () => { expect(seen.length).toBe(3); }), seen.push(n);
`,
			test: "a", status: StatusPassed,
		},
		{
			name: "a file of many tests leaves the others out and still runs the rest",
			src: `const { test, expect, afterEach } = require("vbharness");
const seen = [];
` + repeat(40, func(i int) string {
				return fmt.Sprintf("test(\"t%d\", () => { expect(seen.length).toBe(40); console.log(\"t%d\"); });\nseen.push(%d);\n", i, i, i)
			}) +
				`afterEach(() => console.log("after", seen.length));
`,
			test: "t7", status: StatusPassed, console: "t7 | after 40", leftOut: true,
		},
		{
			name: "a file of many tests keeps positions when it leaves the others out",
			src: `const { test, expect } = require("vbharness");
` + repeat(40, func(i int) string { return fmt.Sprintf("test(\"t%d\", () => {\n  expect(%d).toBe(-1);\n});\n", i, i) }),
			test: "t10", status: StatusFailed, stack: "at many.js:33:18", stop: true, leftOut: true,
		},
		{
			name: "a file of many tests whose test differs in the run runs whole",
			src: `const vb = require("vbharness");
let count = 0;
const test = vb.target.name ? (name, fn) => { count++; vb.test(name, fn); } : vb.test;
` + repeat(40, func(i int) string { return fmt.Sprintf("test(\"t%d\", () => { vb.expect(count).toBe(40); });\n", i) }),
			test: "t3", status: StatusPassed,
		},
		{
			name: "a test that is not the last with a non-const test",
			src: `let { test } = require("vbharness");
test("a", () => {});
test("b", () => {});
`,
			test: "a", status: StatusPassed,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s, err := NewLoader(fstest.MapFS{"many.js": {Data: []byte(c.src)}}).Load("many.js")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Tests(context.Background()); err != nil {
				t.Fatal(err)
			}
			target, _ := newMockTarget(t)
			res := s.Run(context.Background(), c.test, RunOptions{Target: target, Seed: 1})
			var console []string
			for _, l := range res.Console {
				console = append(console, l.Text)
			}
			if res.Status != c.status || strings.Join(console, " | ") != c.console ||
				!strings.Contains(res.Message+res.SkipReason, c.message) || !strings.HasPrefix(res.Stack, c.stack) {
				t.Errorf("%s: %s %q %q, console %q, stack %q", c.test, res.Status, res.Message, res.SkipReason, console, res.Stack)
			}

			// The same as a run that evaluates the whole file and registers every test.
			whole, err := NewLoader(fstest.MapFS{"many.js": {Data: []byte(c.src)}}).Load("many.js")
			if err != nil {
				t.Fatal(err)
			}
			want := whole.Run(context.Background(), c.test, RunOptions{Target: target, Seed: 1})
			if res.Status != want.Status || res.Message != want.Message || res.Stack != want.Stack || fmt.Sprint(res.Console) != fmt.Sprint(want.Console) {
				t.Errorf("differs from the whole file's run: %s %q %q %v, want %s %q %q %v", res.Status, res.Message, res.Stack, res.Console, want.Status, want.Message, want.Stack, want.Console)
			}

			// The same top level in a runtime built as Run builds it: did it end early?
			r, err := configure(config{ctx: context.Background(), loader: s.loader, file: s.path, target: target, seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			r.reg.only, r.reg.tail = r.vm.ToValue(c.test), s.tail
			err = r.runMain(s.prog)
			if err != nil && !r.reg.stopped(err) {
				t.Fatalf("top level: %v", err)
			}
			if got := r.reg.stop != nil; got != c.stop {
				t.Errorf("stopped early: %v, want %v", got, c.stop)
			}
			if len(r.reg.tests) != 1 || r.reg.tests[0].info.Name != c.test {
				t.Errorf("registered %d tests, want only %q", len(r.reg.tests), c.test)
			}

			// And did it leave the other tests' statements out?
			i, ok := s.from[c.test]
			if !ok {
				if c.leftOut {
					t.Errorf("no statement recorded for %q: %v", c.test, s.from)
				}
				return
			}
			prog, err := s.tail.without(i)
			if err != nil || prog == nil {
				t.Fatalf("without: %v, %v", prog, err)
			}
			r, err = configure(config{ctx: context.Background(), loader: s.loader, file: s.path, target: target, seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			r.reg.only, r.reg.tail, r.reg.alone = r.vm.ToValue(c.test), s.tail, i
			if err := r.runMain(prog); err != nil && !r.reg.stopped(err) {
				t.Fatalf("top level without the others: %v", err)
			}
			if r.reg.verified != c.leftOut {
				t.Errorf("left the others out: %v, want %v", r.reg.verified, c.leftOut)
			}
		})
	}
}

// repeat joins f(0) … f(n-1).
func repeat(n int, f func(int) string) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(f(i))
	}
	return b.String()
}

// TestARunWithoutCollectingRegistersEverything: Run before Tests (or after Tests failed)
// registers every test, so a duplicate name is still an error of the run.
func TestARunWithoutCollectingRegistersEverything(t *testing.T) {
	t.Parallel()
	src := `const { test } = require("vbharness");
test("a", () => {});
test("b", () => {});
test("b", () => {});
`
	s, err := NewLoader(fstest.MapFS{"dup.js": {Data: []byte(src)}}).Load("dup.js")
	if err != nil {
		t.Fatal(err)
	}
	target, _ := newMockTarget(t)
	for range 2 {
		res := s.Run(context.Background(), "a", RunOptions{Target: target})
		if res.Status != StatusErrored || !strings.Contains(res.Message, `test("b"): a test with this name is already registered`) {
			t.Errorf("run: %s %q", res.Status, res.Message)
		}
		if _, err := s.Tests(context.Background()); err == nil || !strings.Contains(err.Error(), "already registered") {
			t.Errorf("tests: %v", err)
		}
	}
}

// TestTestSkipAndOnlyCannotBeRedefined: they may be replaced, not turned into getters
// (stopAfterTarget reads them from Go).
func TestTestSkipAndOnlyCannotBeRedefined(t *testing.T) {
	t.Parallel()
	tr := newTestRuntime(t)
	tr.run(`expect(() => Object.defineProperty(test, "skip", { get() { return 1; } })).toThrow(TypeError);
test.only = 1;
expect(test.only).toBe(1);`)
}

// TestManyRunsOfAFileOfManyTestsAtOnce: runtimes on several goroutines compile programs
// from the same parsed file at once (registrationTail.without), as the runner's workers do.
func TestManyRunsOfAFileOfManyTestsAtOnce(t *testing.T) {
	t.Parallel()
	src := `const { test, expect } = require("vbharness");
const base = { n: 7 };
` + repeat(50, func(i int) string {
		return fmt.Sprintf("test(\"t%d\", ({ test }) => { expect(test.name).toBe(\"t%d\"); expect(base.n).toBe(7); }, { tags: [\"x\"] });\n", i, i)
	})
	s, err := NewLoader(fstest.MapFS{"many.js": {Data: []byte(src)}}).Load("many.js")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Tests(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(s.from) != 50 {
		t.Fatalf("%d statements recorded, want 50", len(s.from))
	}
	errs := make(chan string, 4*50)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			target, _ := newMockTarget(t)
			for i := w; i < 50; i += 4 {
				if res := s.Run(context.Background(), fmt.Sprint("t", i), RunOptions{Target: target, Seed: 1}); res.Status != StatusPassed {
					errs <- fmt.Sprintf("t%d: %s %s", i, res.Status, res.Message)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
