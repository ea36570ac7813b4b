package report_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vbharness/vbharness/engine"
	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/mocks/secret"
	"github.com/vbharness/vbharness/runner"
	"github.com/vbharness/vbharness/runner/report"
	"github.com/vbharness/vbharness/scripts"
)

// TestHTMLReportKeepsEveryStringInsideItsScript: a test name that closes the script
// element, and one that opens a comment, stay inside the page's JSON document (json.Marshal
// escapes <, > and &), so nothing a run produced can add markup or script to the page.
func TestHTMLReportKeepsEveryStringInsideItsScript(t *testing.T) {
	t.Parallel()
	o := fixture()
	o.Results[0].Name = `</script><script>alert(1)</script>`
	o.Results[1].Console = []engine.ConsoleLine{{Level: "log", Text: "<!-- <script>"}}
	var buf bytes.Buffer
	if err := report.Write(&buf, report.HTML, o, scrubber()); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	if strings.Contains(page, "alert(1)</script>") || strings.Contains(page, "<!-- <script>") {
		t.Errorf("a string of the run reached the page as markup")
	}
	if n := strings.Count(page, "</script>"); n != 2 {
		t.Errorf("the page closes %d script elements, want 2 (the data and the code)", n)
	}
	if !strings.Contains(page, `\u003c/script\u003e\u003cscript\u003ealert(1)`) {
		t.Errorf("the test name is not in the data, escaped")
	}
}

// catalogueOutcome runs the bundled catalogue on the embedded mocks, as `vbharness run`
// does, and returns the outcome and the run's scrubber.
func catalogueOutcome(tb testing.TB) (*runner.Outcome, *secret.Scrubber) {
	tb.Helper()
	files, err := runner.Discover(scripts.FS, ".")
	if err != nil {
		tb.Fatal(err)
	}
	scrub := secret.NewScrubber()
	p, err := runner.NewPlan(context.Background(), runner.Options{
		Engine: runner.NewEngine(scripts.FS), Files: files, Target: runner.MockTarget(nil),
		Parallel: 2, Seed: 18, Clock: clock.NewVirtual(time.Time{}), Scrubber: scrub,
	})
	if err != nil {
		tb.Fatal(err)
	}
	o := p.Execute(context.Background())
	if len(o.Results) < 20 {
		tb.Fatalf("the catalogue ran %d tests", len(o.Results))
	}
	return o, scrub
}

// BenchmarkHTMLReport1000 writes the HTML report of 1 000 tests: the catalogue's real
// results (traces, tokens, consoles), repeated under new names up to 1 000, through the
// run's scrubber, as `--report html=FILE` does. The bytes of one report are reported as
// bytes/report.
func BenchmarkHTMLReport1000(b *testing.B) {
	o, scrub := catalogueOutcome(b)
	big := *o
	big.Results = make([]runner.Result, 1000)
	for i := range big.Results {
		r := o.Results[i%len(o.Results)]
		r.Name = fmt.Sprintf("%s #%d", r.Name, i)
		big.Results[i] = r
	}
	var buf bytes.Buffer
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		buf.Reset()
		if err := report.Write(&buf, report.HTML, &big, scrub); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "bytes/report")
}

// TestCatalogueHTMLReportIsSmall: the catalogue's HTML report stays far under 5 MB, so it
// opens at once and can be kept as a CI artifact.
func TestCatalogueHTMLReportIsSmall(t *testing.T) {
	t.Parallel()
	o, scrub := catalogueOutcome(t)
	var buf bytes.Buffer
	if err := report.Write(&buf, report.HTML, o, scrub); err != nil {
		t.Fatal(err)
	}
	if n := buf.Len(); n > 5<<20 {
		t.Errorf("the catalogue's HTML report is %d bytes, over 5 MiB", n)
	}
}
