package proxy

import (
	"cmp"
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
	Unchecked  int `json:"unchecked"`  // forwarded but not checked: a body past the limits, the mock's /_mock/ routes, no checker
	Violations int `json:"violations"` // every violation found, kept or not
	// ViolationsDropped counts the violations no longer kept: the oldest, past
	// MaxViolations.
	ViolationsDropped int `json:"violations_dropped"`
	// ExchangesFolded counts the exchanges to paths outside the v8 document past the
	// first MaxUnknownPaths such paths, counted under OtherPaths.
	ExchangesFolded int `json:"exchanges_folded"`
}

// Operation is what the proxy saw of one operation: its method and path with every
// GUID segment written {id}, or OtherPaths.
type Operation struct {
	Name       string    `json:"name"`
	Service    string    `json:"service"`
	Exchanges  int       `json:"exchanges"`
	Violations int       `json:"violations"`
	Found      []Finding `json:"-"` // the violations kept (Summary fills it)
}

// Summary is the proxy's report: its counts, every operation it saw (paths outside the
// v8 document past MaxUnknownPaths folded into OtherPaths), and the violations it kept
// (the newest MaxViolations; Stats.Violations counts them all, Stats.ViolationsDropped
// those it no longer keeps).
type Summary struct {
	Mode       string      `json:"mode"` // "fail" or "warn"
	Stats      Stats       `json:"stats"`
	Operations []Operation `json:"operations"`
	Violations []Finding   `json:"violations"`

	maxFindings, maxUnknown int // the proxy's bounds, for the JUnit report's words
}

// Summary returns the report so far, operations by name. Call Close first for a final
// one.
func (p *Proxy) Summary(mode string) Summary {
	p.mu.Lock()
	ks := p.kept()
	s := Summary{Mode: mode, Stats: p.stats, Operations: []Operation{},
		maxFindings: p.maxFindings, maxUnknown: p.maxUnknown}
	ops := make(map[*Operation]Operation, len(p.ops))
	for _, op := range p.ops {
		ops[op] = *op
	}
	p.mu.Unlock()
	// Scrubbed with the lock let go, so the check worker goes on meanwhile.
	ks = p.rescrub(ks)
	s.Violations = findingsOf(ks)
	found := map[*Operation][]Finding{}
	for _, k := range ks {
		found[k.op] = append(found[k.op], k.Finding)
	}
	for op, c := range ops {
		c.Name = p.scrub.Scrub(c.Name) // a path outside the v8 document, as the client sent it
		c.Found = found[op]
		s.Operations = append(s.Operations, c)
	}
	slices.SortFunc(s.Operations, func(a, b Operation) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.Service, b.Service))
	})
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
// them in its system-out, so a CI dashboard shows them without failing the build. The
// violations no longer kept are counted on their operation's last line, and the
// OtherPaths case says in its system-out what it folds.
func (s Summary) WriteJUnit(w io.Writer) error {
	root := junitSuites{Name: "vbharness proxy contract"}
	maxFindings, maxUnknown := cmp.Or(s.maxFindings, MaxViolations), cmp.Or(s.maxUnknown, MaxUnknownPaths)
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
		var out string // the system-out
		if op.Name == OtherPaths {
			out = fmt.Sprintf("%d exchanges to paths outside the v8 document, past the first %d such paths the proxy counts one by one, counted together",
				op.Exchanges, maxUnknown)
		}
		if op.Violations > 0 {
			var lines []string
			for _, f := range op.Found {
				lines = append(lines, f.Violation.String())
			}
			if kept := len(op.Found); kept < op.Violations {
				lines = append(lines, fmt.Sprintf("(and %d older ones, dropped: the proxy keeps its newest %d violations)", op.Violations-kept, maxFindings))
			}
			text := strings.Join(lines, "\n")
			if s.Mode == "fail" {
				c.Failure = &junitFailure{Message: fmt.Sprintf("%d contract violation(s)", op.Violations), Type: "contract", Text: text}
				su.Failures++
				root.Failures++
			} else {
				out = strings.TrimPrefix(out+"\n"+text, "\n")
			}
		}
		c.SystemOut = out
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
