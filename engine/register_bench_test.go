package engine

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
)

// flowBody is the full flow (device code, sign-in, polling, jwt-bearer login, an API
// call, an hour passing, 401, refresh, 200): what one test of the files below does.
const flowBody = `({ entra, veeam, clock }) => {
    const code = entra.deviceCode({ scope: "Directory.AccessAsUser.All User.ReadWrite.All offline_access" });
    entra.signIn(code);
    const session = veeam.login({ assertion: entra.pollToken(code) });
    expect(session.get("/v8/Organization")).toHaveStatus(200);
    clock.advance("61m");
    expect(session.get("/v8/Organization", { autoRefresh: false })).toHaveStatus(401);
    session.refresh();
    expect(session.get("/v8/Organization")).toHaveStatus(200);
  }`

// manyTestsFile is a scenario file that registers n full-flow tests, in one of four
// shapes: "loop", a data-driven file (a table of cases and one loop calling test);
// "literal", n test(...) calls one after another, as the runner's benchmarks write them;
// "each", the same table as loop given to test.each; "eachFn", test.each of a function
// that builds that table (called once, when the file's tests are listed). test.each
// takes one options object for all its rows, so the each shapes tag every test "flow".
func manyTestsFile(shape string, n int) string {
	table := fmt.Sprintf(`const cases = [];
  for (let i = 0; i < %d; i++) cases.push({ name: "flow " + i, tags: ["case" + (i %% 7)] });`, n)
	rowBody := strings.Replace(flowBody, "({ entra, veeam, clock })", "(c, { entra, veeam, clock })", 1)
	switch shape {
	case "each":
		return fmt.Sprintf("const { test, expect } = require(\"vbharness\");\n\n%s\n\ntest.each(cases)(\"$name\", %s, { tags: [\"flow\"], requires: [\"clock\"] });\n", table, rowBody)
	case "eachFn":
		return fmt.Sprintf("const { test, expect } = require(\"vbharness\");\n\ntest.each(() => {\n  %s\n  return cases;\n})(\"$name\", %s, { tags: [\"flow\"], requires: [\"clock\"] });\n", table, rowBody)
	case "literal":
		var b strings.Builder
		b.WriteString("const { test, expect } = require(\"vbharness\");\n\n")
		for i := range n {
			fmt.Fprintf(&b, "test(%q, %s, { tags: [\"case%d\"], requires: [\"clock\"] });\n", fmt.Sprint("flow ", i), flowBody, i%7)
		}
		return b.String()
	}
	return fmt.Sprintf(`const { test, expect } = require("vbharness");

const cases = [];
for (let i = 0; i < %d; i++) cases.push({ name: "flow " + i, tags: ["case" + (i %% 7)] });

for (const c of cases) {
  test(c.name, %s, { tags: c.tags, requires: ["clock"] });
}
`, n, flowBody)
}

// inOneFile runs f for each shape of file and each number of tests in it.
func inOneFile(b *testing.B, f func(b *testing.B, src string, n int)) {
	for _, shape := range []string{"literal", "loop", "each", "eachFn"} {
		for _, n := range []int{1, 100, 2000} {
			b.Run(fmt.Sprintf("%s/%d", shape, n), func(b *testing.B) { f(b, manyTestsFile(shape, n), n) })
		}
	}
}

// BenchmarkTestsInOneFile runs the tests of one file that registers 1, 100 or 2 000 of
// them (manyTestsFile, both shapes), one test per operation, each in a fresh runtime on a
// fresh in-process stack, as the runner does: ns/op is what one test costs. Every test's
// runtime evaluates the file's top level again; what that costs per test should not grow
// with the number of tests the file registers.
func BenchmarkTestsInOneFile(b *testing.B) {
	inOneFile(b, func(b *testing.B, src string, n int) { runInOneFile(b, src, n, true) })
}

// BenchmarkRegisterInOneFile is the part of BenchmarkTestsInOneFile that is not the
// flow: a fresh runtime evaluating the top level of the same files and running the test
// it finds, whose function returns at once; no mock stack is built.
func BenchmarkRegisterInOneFile(b *testing.B) {
	inOneFile(b, func(b *testing.B, src string, n int) {
		runInOneFile(b, strings.ReplaceAll(src, "const code", "return;\n    const code"), n, false)
	})
}

// runInOneFile collects the tests of src (n of them), then runs one per operation, in
// turn; with fresh, each on a fresh mock stack, else all on one. Besides ns/op it reports
// cpu-ns/op, the process's CPU time per test (every thread, GC included), which a busy
// machine does not inflate as it does wall time.
func runInOneFile(b *testing.B, src string, n int, fresh bool) {
	s, err := NewLoader(fstest.MapFS{"many.js": {Data: []byte(src)}}).Load("many.js")
	if err != nil {
		b.Fatal(err)
	}
	tests, err := s.Tests(context.Background())
	if err != nil || len(tests) != n {
		b.Fatalf("%d tests, %v; want %d", len(tests), err, n)
	}
	target, _ := newMockTarget(b)
	b.ReportAllocs()
	i := 0
	cpu := processCPU()
	for b.Loop() {
		if fresh {
			target, _ = newMockTarget(b)
		}
		name := tests[i%n].Name
		i++
		res := s.Run(context.Background(), name, RunOptions{Target: target, Seed: 1})
		if res.Status != StatusPassed {
			b.Fatalf("%s: %s: %s\n%s", name, res.Status, res.Message, res.Stack)
		}
	}
	if cpu := processCPU() - cpu; cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}
