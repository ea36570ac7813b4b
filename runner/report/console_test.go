package report_test

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/vbharness/vbharness/engine"
	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/mocks/secret"
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

func longTrace(n int) []engine.Exchange {
	trace := make([]engine.Exchange, n)
	for i := range trace {
		trace[i] = engine.Exchange{Method: "GET", URL: "https://veeam.mock:4443/v8/Jobs?offset=" + strings.Repeat("9", i%3) + "x" + string(rune('a'+i%26)),
			RequestHeaders: map[string]string{"Accept": "application/json"}, Status: 200,
			ResponseHeaders: map[string]string{"Content-Type": "application/json"}, ResponseBody: `{"offset":0,"limit":30,"results":[]}`, DurationMS: 0.2}
	}
	return trace
}

// TestAFailingTestsTraceIsCappedOnTheConsole is issue 12 defect 5: one failing test
// printed its whole HTTP trace, 2 732 console lines. The console shows the first and the
// last exchanges and says where the rest is (-v, --report json); -v shows them all, and
// report files keep them all.
func TestAFailingTestsTraceIsCappedOnTheConsole(t *testing.T) {
	t.Parallel()
	o := &runner.Outcome{Seed: 1, Started: clock.DefaultStart, Results: []runner.Result{{Result: engine.Result{
		Name: "paginates", File: "a.js", Status: engine.StatusFailed, Message: "expected 3 pages", Seed: 2, Trace: longTrace(200)}}}}
	out := summarise(t, o, report.ConsoleOptions{})
	if n := strings.Count(out, "\n"); n > 80 {
		t.Errorf("the console printed %d lines for one failure with 200 exchanges:\n%s", n, out)
	}
	for _, want := range []string{
		"http trace (200 exchanges; the first 3 and the last 3 are shown: -v or --report json=FILE has them all):",
		"     1. GET https://veeam.mock:4443/v8/Jobs?offset=xa → 200",
		"     3. GET ", "     … 194 more exchanges …", "     198. GET ", "     200. GET ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("console lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "     4. GET ") || strings.Contains(out, "     197. GET ") {
		t.Errorf("the console shows exchanges from the middle:\n%s", out)
	}

	verbose := summarise(t, o, report.ConsoleOptions{Verbose: true})
	if !strings.Contains(verbose, "http trace (200 exchanges):") || !strings.Contains(verbose, "     100. GET ") {
		t.Errorf("-v does not show the whole trace")
	}
	short := &runner.Outcome{Seed: 1, Started: clock.DefaultStart, Results: []runner.Result{{Result: engine.Result{
		Name: "short", File: "a.js", Status: engine.StatusFailed, Seed: 2, Trace: longTrace(7)}}}}
	if out := summarise(t, short, report.ConsoleOptions{}); !strings.Contains(out, "http trace (7 exchanges):") || !strings.Contains(out, "     4. GET ") {
		t.Errorf("a short trace is cut:\n%s", out)
	}

	var js bytes.Buffer
	if err := report.Write(&js, report.JSON, o, nil); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(js.String(), `"method": "GET"`); n != 200 {
		t.Errorf("the JSON report holds %d exchanges, want all 200", n)
	}
}

// A test's name cannot make a console line of its own (the test.each newcomer trial: a
// row named "c\nnot ok 99 - fake" printed "not ok 99 - fake" as a line of its own), nor
// recolour the output: control characters, line separators and bidirectional overrides
// are written as their escapes, on the result line and on the failure's heading.
func TestTestNamesAreOneConsoleLine(t *testing.T) {
	t.Parallel()
	name := "c\nFAIL    other.js › fake 3ms\x1b[32m\u2028\u202e"
	o := &runner.Outcome{Seed: 1, Started: clock.DefaultStart, Results: []runner.Result{
		{Result: engine.Result{Name: name, File: "each.js", Status: engine.StatusFailed, Message: "boom"}}}}
	out := summarise(t, o, report.ConsoleOptions{})
	want := `each.js › c\nFAIL    other.js › fake 3ms\x1b[32m\u2028\u202e`
	if strings.Count(out, want) != 2 {
		t.Errorf("console:\n%s\nwant the name escaped, as %s, on the result line and the failure's heading", out, want)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "FAIL    other.js") || strings.ContainsAny(line, "\x1b\u2028\u202e") {
			t.Errorf("a line the name made: %q", line)
		}
	}
}

// TestASignInPromptShowsTheUserCode: against a lab, a person signs in with the code the
// prompt shows (engine's entra.signIn writes Microsoft's message to Prompt). The run's
// scrubber knows the user code by then, as it knows every code the run obtained, and
// scrubbing the prompt left the person "enter the code [redacted]": no way to sign in.
// Everything else the console writes stays scrubbed.
func TestASignInPromptShowsTheUserCode(t *testing.T) {
	t.Parallel()
	scrub := secret.NewScrubber()
	scrub.Add("WQ2YU82Q9")
	var buf bytes.Buffer
	con := report.NewConsole(&buf, report.ConsoleOptions{Clock: clock.NewVirtual(clock.DefaultStart), Scrubber: scrub})
	io.WriteString(con.Prompt(), "\nTo sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code WQ2YU82Q9 to authenticate.\n")
	if !strings.Contains(buf.String(), "enter the code WQ2YU82Q9 to authenticate") {
		t.Errorf("prompt printed %q, want the user code for the person to type", buf.String())
	}
	r := runner.Result{Result: engine.Result{Name: "t", File: "a.js", Status: engine.StatusFailed, Message: "Error: code WQ2YU82Q9"}}
	con.TestFinished(&r)
	con.Summary(&runner.Outcome{Results: []runner.Result{r}})
	if strings.Contains(buf.String(), "Error: code WQ2YU82Q9") || !strings.Contains(buf.String(), "Error: code [redacted") {
		t.Errorf("a test's message kept the code: %q", buf.String())
	}
}
