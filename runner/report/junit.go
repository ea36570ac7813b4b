package report

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vbharness/vbharness/engine"
	"github.com/vbharness/vbharness/runner"
)

// The JUnit XML shape follows the de-facto schema CI servers read (Jenkins, GitLab,
// GitHub actions): one <testsuite> per scenario file, failures for assertion failures,
// errors for other exceptions, load errors and timeouts (type="timeout"), <skipped> with
// the reason, and console output and the HTTP trace in <system-out>. Contract violations
// (docs/contract.md) are their own kind: in fail mode a <failure type="contract"> that
// lists them; in warn mode a property contract_violations (their count) and the list in
// <system-out>, the test's status its own.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string      `xml:"name,attr"`
	Tests      int         `xml:"tests,attr"`
	Failures   int         `xml:"failures,attr"`
	Errors     int         `xml:"errors,attr"`
	Skipped    int         `xml:"skipped,attr"`
	Time       string      `xml:"time,attr"`
	Timestamp  string      `xml:"timestamp,attr"`
	Properties *junitProps `xml:"properties"`
	Cases      []junitCase `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name       string        `xml:"name,attr"`
	Classname  string        `xml:"classname,attr"`
	File       string        `xml:"file,attr"`
	Time       string        `xml:"time,attr"`
	Properties *junitProps   `xml:"properties"`
	Failure    *junitProblem `xml:"failure"`
	Error      *junitProblem `xml:"error"`
	Skipped    *junitSkipped `xml:"skipped"`
	SystemOut  *junitText    `xml:"system-out"`
}

type junitProps struct {
	List []junitProperty `xml:"property"`
}

type junitText struct {
	Text string `xml:",cdata"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",cdata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

func seconds(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 3, 64) }

// xmlSafe replaces characters XML 1.0 cannot carry at all (most C0 controls, such as
// the escape sequences of coloured output) with U+FFFD.
func xmlSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' || (r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF) {
			return r
		}
		return '\uFFFD'
	}, s)
}

// junitCaseOf is r's <testcase> (r's strings already xmlSafe) and how it counts in its
// suite: "failure", "error", "skipped" or "" (passed).
func junitCaseOf(r *runner.Result) (junitCase, string) {
	tc := junitCase{Name: r.Name, Classname: strings.TrimSuffix(r.File, ".js"), File: r.File, Time: seconds(r.Wall)}
	if r.Status != engine.StatusSkipped && !r.LoadError {
		tc.Properties = &junitProps{[]junitProperty{
			{"seed", strconv.FormatInt(r.Seed, 10)},
			{"virtual_time", r.Virtual.String()},
		}}
		if len(r.Tags) > 0 {
			tc.Properties.List = append(tc.Properties.List, junitProperty{"tags", strings.Join(r.Tags, ",")})
		}
		if n := len(r.Violations); n > 0 {
			tc.Properties.List = append(tc.Properties.List, junitProperty{"contract_violations", strconv.Itoa(n)})
		}
	}
	kind := ""
	switch r.Status {
	case engine.StatusFailed:
		kind = "failure"
		typ := "assertion"
		if r.ContractFailed {
			typ = "contract" // a violation of the published contract (fail mode), not an assertion
		}
		tc.Failure = &junitProblem{Message: r.Message, Type: typ, Text: problemText(r)}
	case engine.StatusErrored:
		kind = "error"
		typ := "error"
		if r.LoadError {
			typ = "load"
		}
		tc.Error = &junitProblem{Message: r.Message, Type: typ, Text: problemText(r)}
	case engine.StatusTimedOut:
		kind = "error"
		tc.Error = &junitProblem{Message: r.Message, Type: "timeout", Text: problemText(r)}
	case engine.StatusSkipped:
		kind = "skipped"
		tc.Skipped = &junitSkipped{Message: r.SkipReason}
	}
	if out := systemOut(r); out != "" {
		tc.SystemOut = &junitText{out}
	}
	return tc, kind
}

// problemText is the body of a <failure> or <error>: the message, the diff and the stack.
func problemText(r *runner.Result) string {
	var b strings.Builder
	b.WriteString(r.Message)
	b.WriteString("\n")
	if r.Expected != "" || r.Actual != "" {
		fmt.Fprintf(&b, "expected: %s\nactual:   %s\n", r.Expected, r.Actual)
	}
	if r.Stack != "" {
		b.WriteString(r.Stack)
		if !strings.HasSuffix(r.Stack, "\n") {
			b.WriteString("\n")
		}
	}
	if r.ContractFailed {
		writeViolations(&b, r)
	}
	return b.String()
}

// writeViolations lists a test's contract violations, one line each.
func writeViolations(b *strings.Builder, r *runner.Result) {
	fmt.Fprintf(b, "contract violations (%d):\n", len(r.Violations))
	for _, v := range r.Violations {
		b.WriteString("  " + v.String() + "\n")
	}
}

// systemOut holds the console output and, for failures, the HTTP trace.
func systemOut(r *runner.Result) string {
	var b strings.Builder
	for _, l := range r.Console {
		fmt.Fprintf(&b, "[%s] %s\n", l.Level, l.Text)
	}
	if len(r.Violations) > 0 && !r.ContractFailed { // warn mode: the test's status is its own
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		writeViolations(&b, r)
	}
	if r.Failed() && len(r.Trace) > 0 {
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		writeTrace(&b, r.Trace, "", 0)
	}
	return b.String()
}
