package proxy

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Stats counts what the proxy forwarded.
type Stats struct {
	Exchanges  int `json:"exchanges"`
	Veeam      int `json:"veeam"`
	Entra      int `json:"entra"`
	Unchecked  int `json:"unchecked"` // forwarded but not checked: a body past the limits, the mock's /_mock/ routes, no checker
	Violations int `json:"violations"`
}

// Operation is what the proxy saw of one operation: its method and path with every
// GUID segment written {id}.
type Operation struct {
	Name       string    `json:"name"`
	Service    string    `json:"service"`
	Exchanges  int       `json:"exchanges"`
	Violations int       `json:"violations"`
	Found      []Finding `json:"-"`
}

// Summary is the proxy's report: its counts, every operation it saw, and the
// violations it kept (at most MaxViolations; Stats.Violations counts them all).
type Summary struct {
	Mode       string      `json:"mode"` // "fail" or "warn"
	Stats      Stats       `json:"stats"`
	Operations []Operation `json:"operations"`
	Violations []Finding   `json:"violations"`
}

// Summary returns the report so far, operations by name. Call Close first for a final
// one.
func (p *Proxy) Summary(mode string) Summary {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Summary{Mode: mode, Stats: p.stats, Violations: append([]Finding{}, p.findings...), Operations: []Operation{}}
	for _, op := range p.ops {
		c := *op
		c.Found = slices.Clone(op.Found)
		s.Operations = append(s.Operations, c)
	}
	slices.SortFunc(s.Operations, func(a, b Operation) int { return strings.Compare(a.Name, b.Name) })
	return s
}

// WriteJSON writes the summary as indented JSON.
func (s Summary) WriteJSON(w io.Writer) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(s)
}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the summary as JUnit XML: one test suite per service (veeam,
// entra), one test case per operation seen. In fail mode an operation with violations
// is a failure whose text lists them, one per line; in warn mode it passes and lists
// them in its system-out, so a CI dashboard shows them without failing the build.
func (s Summary) WriteJUnit(w io.Writer) error {
	root := junitSuites{Name: "vbharness proxy contract"}
	bySvc := map[string]*junitSuite{}
	var order []string
	for _, op := range s.Operations {
		su := bySvc[op.Service]
		if su == nil {
			su = &junitSuite{Name: "contract." + op.Service}
			bySvc[op.Service] = su
			order = append(order, op.Service)
		}
		c := junitCase{Name: op.Name, Classname: "contract." + op.Service}
		if op.Violations > 0 {
			var lines []string
			for _, f := range op.Found {
				lines = append(lines, f.Violation.String())
			}
			if kept := len(op.Found); kept < op.Violations {
				lines = append(lines, fmt.Sprintf("(and %d more, past the proxy's limit of %d kept)", op.Violations-kept, MaxViolations))
			}
			text := strings.Join(lines, "\n")
			if s.Mode == "fail" {
				c.Failure = &junitFailure{Message: fmt.Sprintf("%d contract violation(s)", op.Violations), Type: "contract", Text: text}
				su.Failures++
				root.Failures++
			} else {
				c.SystemOut = text
			}
		}
		su.Tests++
		root.Tests++
		su.Cases = append(su.Cases, c)
	}
	slices.Sort(order)
	for _, svc := range order {
		root.Suites = append(root.Suites, *bySvc[svc])
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	e := xml.NewEncoder(w)
	e.Indent("", "  ")
	if err := e.Encode(root); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
