package report_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/vbharness/vbharness/engine"
	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/runner"
	"github.com/vbharness/vbharness/runner/report"
)

// summarise runs the console over o's results and returns what it printed.
func summarise(t *testing.T, o *runner.Outcome, opts report.ConsoleOptions) string {
	t.Helper()
	var buf bytes.Buffer
	opts.Clock = clock.NewVirtual(o.Started)
	con := report.NewConsole(&buf, opts)
	for i := range o.Results {
		r := &o.Results[i]
		if r.Status != engine.StatusSkipped && !r.LoadError {
			con.TestStarted(&runner.Planned{File: r.File, Info: engine.TestInfo{Name: r.Name}})
		}
		con.TestFinished(r)
	}
	con.Summary(o)
	return buf.String()
}

func loadFailure(file string) runner.Result {
	return runner.Result{Result: engine.Result{Name: runner.LoadErrorName, File: file, Status: engine.StatusErrored,
		Message: file + ":3:7: SyntaxError: Unexpected token"}, LoadError: true}
}

// TestAScriptThatFailsToLoadIsSummarisedAsSuch is issue 12 defect 21: a script that
// failed to load was summarised as "1 errored; reproduce with --seed N", but no seed
// reproduces a syntax error. The summary says that scripts failed to load, and offers
// the seed only when a test ran and failed.
func TestAScriptThatFailsToLoadIsSummarisedAsSuch(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		results []runner.Result
		want    string
		notWant []string
	}{
		{"only a load failure", []runner.Result{loadFailure("a.js")},
			"failed: 1 script failed to load; fix it and run again\n", []string{"--seed", "errored"}},
		{"two load failures", []runner.Result{loadFailure("a.js"), loadFailure("b.js")},
			"failed: 2 scripts failed to load; fix them and run again\n", []string{"--seed", "errored"}},
		{"a load failure and a test that failed", []runner.Result{loadFailure("a.js"),
			{Result: engine.Result{Name: "t", File: "b.js", Status: engine.StatusErrored, Message: "boom", Seed: 9}}},
			"failed: 1 errored, 1 script failed to load; reproduce with --seed 77\n", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			o := &runner.Outcome{Seed: 77, Started: clock.DefaultStart, Elapsed: 3 * time.Millisecond, Results: c.results}
			out := summarise(t, o, report.ConsoleOptions{})
			if !strings.Contains(out, c.want) {
				t.Errorf("console:\n%s\nwant the line %q", out, c.want)
			}
			for _, n := range c.notWant {
				if strings.Contains(out[strings.Index(out, "failed:"):], n) {
					t.Errorf("the summary says %q:\n%s", n, out)
				}
			}
		})
	}
}
