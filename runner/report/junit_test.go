package report_test

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"testing"

	"github.com/vbharness/vbharness/engine"
	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/runner"
	"github.com/vbharness/vbharness/runner/report"
)

// junitCounts is what CI servers read from a JUnit report: the counts on <testsuites>
// and on each <testsuite>, and the element each <testcase> carries.
type junitCounts struct {
	Name     string `xml:"name,attr"`
	Tests    int    `xml:"tests,attr"`
	Failures int    `xml:"failures,attr"`
	Errors   int    `xml:"errors,attr"`
	Skipped  int    `xml:"skipped,attr"`
}

type junitDoc struct {
	junitCounts
	Suites []struct {
		junitCounts
		Cases []struct {
			Failure *struct{} `xml:"failure"`
			Error   *struct{} `xml:"error"`
			Skipped *struct{} `xml:"skipped"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

// TestJUnitCountsFailuresErrorsAndSkips writes the JUnit report of an outcome whose
// counts all differ (so a swapped or zeroed attribute shows) and reads the counts back:
// failures are assertion failures; errors are other exceptions, timeouts and scripts that
// failed to load; passed tests count only in tests.
func TestJUnitCountsFailuresErrorsAndSkips(t *testing.T) {
	t.Parallel()
	var results []runner.Result
	add := func(file string, status engine.Status, n int) {
		for i := range n {
			results = append(results, runner.Result{Result: engine.Result{
				Name: fmt.Sprintf("%s %d", status, i), File: file, Status: status, Message: string(status)}})
		}
	}
	add("a.js", engine.StatusPassed, 3)
	add("a.js", engine.StatusFailed, 3)
	add("a.js", engine.StatusErrored, 1)
	add("a.js", engine.StatusSkipped, 2)
	add("b.js", engine.StatusPassed, 1)
	add("b.js", engine.StatusTimedOut, 1)
	add("b.js", engine.StatusErrored, 1)
	results = append(results, runner.Result{Result: engine.Result{Name: runner.LoadErrorName, File: "c.js",
		Status: engine.StatusErrored, Message: "c.js:1:1: SyntaxError"}, LoadError: true})
	o := &runner.Outcome{Target: runner.TargetInfo{Name: "mock", Kind: engine.TargetMock}, Started: clock.DefaultStart, Results: results}

	var buf bytes.Buffer
	if err := report.Write(&buf, report.JUnit, o, nil); err != nil {
		t.Fatal(err)
	}
	var doc junitDoc
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("the JUnit report is not XML: %v\n%s", err, buf.Bytes())
	}
	want := junitCounts{Name: "vbharness", Tests: 13, Failures: 3, Errors: 4, Skipped: 2}
	if doc.junitCounts != want {
		t.Errorf("<testsuites> tests/failures/errors/skipped = %d/%d/%d/%d, want %d/%d/%d/%d",
			doc.Tests, doc.Failures, doc.Errors, doc.Skipped, want.Tests, want.Failures, want.Errors, want.Skipped)
	}
	wantSuites := []junitCounts{
		{Name: "a.js", Tests: 9, Failures: 3, Errors: 1, Skipped: 2},
		{Name: "b.js", Tests: 3, Failures: 0, Errors: 2, Skipped: 0},
		{Name: "c.js", Tests: 1, Failures: 0, Errors: 1, Skipped: 0},
	}
	if len(doc.Suites) != len(wantSuites) {
		t.Fatalf("%d <testsuite> elements, want %d", len(doc.Suites), len(wantSuites))
	}
	for i, s := range doc.Suites {
		w := wantSuites[i]
		if s.junitCounts != w {
			t.Errorf("<testsuite name=%q> tests/failures/errors/skipped = %d/%d/%d/%d, want %d/%d/%d/%d",
				s.Name, s.Tests, s.Failures, s.Errors, s.Skipped, w.Tests, w.Failures, w.Errors, w.Skipped)
		}
		// The attributes agree with the elements the test cases carry.
		var f, e, sk int
		for _, c := range s.Cases {
			if c.Failure != nil {
				f++
			}
			if c.Error != nil {
				e++
			}
			if c.Skipped != nil {
				sk++
			}
		}
		if len(s.Cases) != w.Tests || f != w.Failures || e != w.Errors || sk != w.Skipped {
			t.Errorf("<testsuite name=%q> holds %d cases with %d <failure>, %d <error>, %d <skipped>; want %d/%d/%d/%d",
				s.Name, len(s.Cases), f, e, sk, w.Tests, w.Failures, w.Errors, w.Skipped)
		}
	}
}
