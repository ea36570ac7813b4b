package report

import (
	"encoding/json"
	"io"
	"time"

	"github.com/vbharness/vbharness/engine"
	"github.com/vbharness/vbharness/runner"
)

// SchemaVersion is the version of the JSON report's shape; it changes only when a field
// is removed or changes meaning.
const SchemaVersion = 1

type jsonReport struct {
	Tool        string      `json:"tool"`
	Schema      int         `json:"schema"`
	Target      jsonTarget  `json:"target"`
	Seed        int64       `json:"seed"`
	Parallel    int         `json:"parallel"`
	TimeoutMS   float64     `json:"timeout_ms"`
	Started     string      `json:"started"`
	DurationMS  float64     `json:"duration_ms"`
	Interrupted bool        `json:"interrupted"`
	Stopped     bool        `json:"fail_fast_stopped"`
	ExitCode    int         `json:"exit_code"`
	Summary     jsonSummary `json:"summary"`
	Tests       []jsonTest  `json:"tests"`
}

type jsonTarget struct {
	Name               string `json:"name"`
	Kind               string `json:"kind"`
	Description        string `json:"description"`
	InsecureSkipVerify bool   `json:"insecure_skip_verify"`
}

// jsonSummary counts are exclusive; the console's "failed" is failed+errored+timed_out.
type jsonSummary struct {
	Total    int `json:"total"`
	Passed   int `json:"passed"`
	Failed   int `json:"failed"`
	Errored  int `json:"errored"`
	TimedOut int `json:"timed_out"`
	Skipped  int `json:"skipped"`
}

type jsonTest struct {
	Name       string               `json:"name"`
	File       string               `json:"file"`
	Status     string               `json:"status"`
	SkipReason string               `json:"skip_reason,omitempty"`
	LoadError  bool                 `json:"load_error,omitempty"`
	Tags       []string             `json:"tags,omitempty"`
	WallMS     float64              `json:"wall_ms"`
	VirtualMS  float64              `json:"virtual_ms"`
	Seed       int64                `json:"seed"`
	Message    string               `json:"message,omitempty"`
	Expected   string               `json:"expected,omitempty"`
	Actual     string               `json:"actual,omitempty"`
	Stack      string               `json:"stack,omitempty"`
	Console    []engine.ConsoleLine `json:"console,omitempty"`
	Excerpt    *engine.Excerpt      `json:"excerpt,omitempty"`
	Trace      []engine.Exchange    `json:"trace,omitempty"`
	Tokens     []engine.Token       `json:"tokens,omitempty"`
	Clock      []engine.ClockStep   `json:"clock,omitempty"`
}

func writeJSON(w io.Writer, o *runner.Outcome) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(newJSONReport(o))
}

// newJSONReport is the JSON report's document; the HTML report renders the same one.
func newJSONReport(o *runner.Outcome) jsonReport {
	c := o.Counts()
	rep := jsonReport{
		Tool:   "vbharness",
		Schema: SchemaVersion,
		Target: jsonTarget{Name: o.Target.Name, Kind: string(o.Target.Kind), Description: o.Target.Description,
			InsecureSkipVerify: o.Target.InsecureSkipVerify},
		Seed:        o.Seed,
		Parallel:    o.Parallel,
		TimeoutMS:   ms(o.Timeout),
		Started:     o.Started.UTC().Format(time.RFC3339Nano),
		DurationMS:  ms(o.Elapsed),
		Interrupted: o.Interrupted,
		Stopped:     o.Stopped,
		ExitCode:    o.ExitCode(),
		Summary: jsonSummary{Total: c.Total(), Passed: c.Passed, Failed: c.Failed, Errored: c.Errored,
			TimedOut: c.TimedOut, Skipped: c.Skipped},
		Tests: []jsonTest{},
	}
	for i := range o.Results {
		r := &o.Results[i]
		rep.Tests = append(rep.Tests, jsonTest{
			Name: r.Name, File: r.File, Status: string(r.Status), SkipReason: r.SkipReason, LoadError: r.LoadError,
			Tags: r.Tags, WallMS: ms(r.Wall), VirtualMS: ms(r.Virtual), Seed: r.Seed,
			Message: r.Message, Expected: r.Expected, Actual: r.Actual, Stack: r.Stack,
			Console: r.Console, Excerpt: r.Excerpt, Trace: r.Trace, Tokens: r.Tokens, Clock: r.Clock,
		})
	}
	return rep
}
