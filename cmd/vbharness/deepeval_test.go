package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// deepEvalScenario evaluates 1 000 000 nested parentheses with a direct eval between two
// tests that pass.
const deepEvalScenario = `const { test, expect } = require("vbharness");
test("passes before", () => { expect(1).toBe(1); });
test("evaluates deeply nested source", () => {
  eval("(".repeat(1e6) + "1" + ")".repeat(1e6));
});
test("passes after", () => { expect(eval("2 * 3")).toBe(6); });
`

// TestBinaryReportsADeepEvalAsItsTestsError is issue 15's D1 through the built binary: a
// direct eval of 1 000 000 nested parentheses overflowed Go's stack in goja's parser, a
// fatal error that ended vbharness (exit 2, "fatal error: stack overflow") with no report.
// Now that test fails with a SyntaxError, the others pass, and the JSON report is written.
func TestBinaryReportsADeepEvalAsItsTestsError(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	t.Parallel()
	bin := binary(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "deep_eval.js"), []byte(deepEvalScenario), 0o644); err != nil {
		t.Fatal(err)
	}
	report := filepath.Join(dir, "out", "report.json")
	cmd := exec.Command(bin, "run", "--report", "json="+report, "deep_eval.js")
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "NO_COLOR=1", "TERM=dumb"}
	out, _ := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != 1 {
		t.Fatalf("exit status %d, want 1 (a test failed):\n%.2000s", code, out)
	}
	for _, part := range []string{"2 passed, 1 failed", "SyntaxError: <eval>: Line 1:1001 brackets nest deeper than 1000 levels here", "deep_eval.js:4:"} {
		if !strings.Contains(string(out), part) {
			t.Errorf("output lacks %q:\n%s", part, out)
		}
	}
	raw, err := os.ReadFile(report)
	if err != nil {
		t.Fatalf("no JSON report: %v", err)
	}
	var doc struct {
		Tests []struct{ Name, Status, Message string }
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("the JSON report does not parse: %v", err)
	}
	want := map[string]string{"passes before": "passed", "evaluates deeply nested source": "errored", "passes after": "passed"}
	if len(doc.Tests) != len(want) {
		t.Errorf("the report has %d tests, want %d", len(doc.Tests), len(want))
	}
	for _, tc := range doc.Tests {
		if tc.Status != want[tc.Name] {
			t.Errorf("%q: status %q, want %q (%s)", tc.Name, tc.Status, want[tc.Name], tc.Message)
		}
	}
}
