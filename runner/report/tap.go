package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/vbharness/vbharness/engine"
	"github.com/vbharness/vbharness/runner"
)

// TAP version 13 (https://testanything.org/tap-version-13-specification.html): one test
// point per test, a YAML diagnostic block for every test that did not pass, skips as
// "# SKIP reason" directives, and the summary line as a closing comment.

type tapDiag struct {
	File       string   `yaml:"file"`
	Status     string   `yaml:"status"`
	Message    string   `yaml:"message,omitempty"`
	Expected   string   `yaml:"expected,omitempty"`
	Actual     string   `yaml:"actual,omitempty"`
	Stack      string   `yaml:"stack,omitempty"`
	Console    []string `yaml:"console,omitempty"`
	Contract   []string `yaml:"contract,omitempty"` // the contract violations, one line each
	WallMS     tapMS    `yaml:"wall_ms"`
	VirtualMS  tapMS    `yaml:"virtual_ms"`
	Seed       int64    `yaml:"seed,omitempty"`
	SkipReason string   `yaml:"skip_reason,omitempty"`
}

// tapMS is milliseconds written as a plain decimal (3660000, not 3.66e+06).
type tapMS float64

// MarshalYAML implements yaml.Marshaler.
func (m tapMS) MarshalYAML() (any, error) {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: strconv.FormatFloat(float64(m), 'f', -1, 64)}, nil
}

// tapEscape keeps a description from starting a directive (# and \ are escaped, per
// the specification).
func tapEscape(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	s = strings.ReplaceAll(s, "#", `\#`)
	return strings.ReplaceAll(s, "\n", " ")
}

// writeTAPResult renders the i-th result (0-based) as a test point and, unless it
// passed or was skipped, its YAML diagnostic block.
func writeTAPResult(w io.Writer, i int, r *runner.Result) error {
	var b strings.Builder
	desc := tapEscape(displayName(r))
	switch r.Status {
	case engine.StatusPassed:
		fmt.Fprintf(&b, "ok %d - %s\n", i+1, desc)
		for _, v := range r.Violations { // warn mode: a comment per violation
			fmt.Fprintf(&b, "# contract: %s\n", strings.ReplaceAll(v.String(), "\n", " "))
		}
	case engine.StatusSkipped:
		fmt.Fprintf(&b, "ok %d - %s # SKIP %s\n", i+1, desc, tapEscape(r.SkipReason))
	default:
		fmt.Fprintf(&b, "not ok %d - %s\n", i+1, desc)
	}
	if r.Status != engine.StatusPassed && r.Status != engine.StatusSkipped {
		d := tapDiag{File: r.File, Status: string(r.Status), Message: r.Message, Expected: r.Expected, Actual: r.Actual,
			Stack: r.Stack, WallMS: tapMS(ms(r.Wall)), VirtualMS: tapMS(ms(r.Virtual)), Seed: r.Seed}
		for _, l := range r.Console {
			d.Console = append(d.Console, "["+l.Level+"] "+l.Text)
		}
		for _, v := range r.Violations {
			d.Contract = append(d.Contract, v.String())
		}
		y, err := yaml.Marshal(d)
		if err != nil {
			return err
		}
		b.WriteString("  ---\n")
		for _, line := range strings.Split(strings.TrimSuffix(string(y), "\n"), "\n") {
			b.WriteString("  ")
			b.WriteString(line)
			b.WriteString("\n")
		}
		b.WriteString("  ...\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
