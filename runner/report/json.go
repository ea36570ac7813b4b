package report

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/vbharness/vbharness/engine"
	"github.com/vbharness/vbharness/mocks/contract"
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
	Shard       *jsonShard  `json:"shard,omitempty"`
	Summary     jsonSummary `json:"summary"`
	// Contract is the run's contract summary (docs/contract.md); absent when the run
	// set no mode (a report written by an older vbharness).
	Contract *jsonContract `json:"contract,omitempty"`
	Tests    []jsonTest    `json:"tests"`
}

// jsonShard is present in the report of one shard (--shard): which share it is, and how
// many entries the whole run's plan had. `report merge` needs it.
type jsonShard struct {
	Index   int `json:"index"`
	Total   int `json:"total"`
	Planned int `json:"planned"`
}

// jsonContract is runner.ContractSummary in the report.
type jsonContract struct {
	Mode       string `json:"mode"`
	Violations int    `json:"violations"`
	Tests      int    `json:"tests"`
	Failed     int    `json:"failed"`
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
	// Violations are the test's contract violations; ContractFailed says they failed it.
	Violations     []contract.Violation `json:"violations,omitempty"`
	ContractFailed bool                 `json:"contract_failed,omitempty"`
	// PlanIndex is the test's position in the whole run's plan, in shard reports only.
	PlanIndex *int `json:"plan_index,omitempty"`
}

// newJSONReport is the JSON report's document without its tests, which are rendered
// one by one (newJSONTest); the HTML report renders the same document.
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
	if c := o.Contract; c.Mode != "" {
		rep.Contract = &jsonContract{Mode: string(c.Mode), Violations: c.Violations, Tests: c.Tests, Failed: c.Failed}
	}
	if !o.Shard.IsZero() {
		rep.Shard = &jsonShard{Index: o.Shard.Index, Total: o.Shard.Total, Planned: o.Planned}
	}
	return rep
}

// newJSONTest is one test of the JSON report; sharded adds its plan index.
func newJSONTest(r *runner.Result, sharded bool) jsonTest {
	var at *int
	if sharded {
		at = &r.PlanIndex
	}
	return jsonTest{PlanIndex: at,
		Name: r.Name, File: r.File, Status: string(r.Status), SkipReason: r.SkipReason, LoadError: r.LoadError,
		Tags: r.Tags, WallMS: ms(r.Wall), VirtualMS: ms(r.Virtual), Seed: r.Seed,
		Message: r.Message, Expected: r.Expected, Actual: r.Actual, Stack: r.Stack,
		Console: r.Console, Excerpt: r.Excerpt, Trace: r.Trace, Tokens: r.Tokens, Clock: r.Clock,
		Violations: r.Violations, ContractFailed: r.ContractFailed,
	}
}

// ReadJSON reads a JSON report (--report json=FILE) back into the outcome it was written
// from, as `report merge` and --shard-durations need it. Secrets were redacted when the
// report was written and stay so.
func ReadJSON(r io.Reader) (*runner.Outcome, error) {
	var rep jsonReport
	dec := json.NewDecoder(r)
	if err := dec.Decode(&rep); err != nil {
		return nil, fmt.Errorf("not a vbharness JSON report: %w", err)
	}
	if rep.Tool != "vbharness" {
		return nil, fmt.Errorf("not a vbharness JSON report (tool %q, want \"vbharness\")", rep.Tool)
	}
	if rep.Schema != SchemaVersion {
		return nil, fmt.Errorf("JSON report schema %d; this vbharness reads schema %d", rep.Schema, SchemaVersion)
	}
	started, err := time.Parse(time.RFC3339Nano, rep.Started)
	if err != nil {
		return nil, fmt.Errorf("JSON report: started %q is not an RFC 3339 time", rep.Started)
	}
	o := &runner.Outcome{
		Target: runner.TargetInfo{Name: rep.Target.Name, Kind: engine.TargetKind(rep.Target.Kind),
			Description: rep.Target.Description, InsecureSkipVerify: rep.Target.InsecureSkipVerify},
		Seed: rep.Seed, Parallel: rep.Parallel, Timeout: fromMS(rep.TimeoutMS),
		Started: started, Elapsed: fromMS(rep.DurationMS),
		Interrupted: rep.Interrupted, Stopped: rep.Stopped,
		Files: countFiles(rep.Tests),
	}
	if c := rep.Contract; c != nil {
		o.Contract = runner.ContractSummary{Mode: engine.ContractMode(c.Mode), Violations: c.Violations, Tests: c.Tests, Failed: c.Failed}
	}
	if rep.Shard != nil {
		o.Shard, o.Planned = runner.Shard{Index: rep.Shard.Index, Total: rep.Shard.Total}, rep.Shard.Planned
		if o.Shard.Total < 1 || o.Shard.Index < 1 || o.Shard.Index > o.Shard.Total || o.Planned < 0 {
			return nil, fmt.Errorf("JSON report: shard %d/%d of %d tests is not a shard", o.Shard.Index, o.Shard.Total, o.Planned)
		}
	}
	for i, t := range rep.Tests {
		switch st := engine.Status(t.Status); st {
		case engine.StatusPassed, engine.StatusFailed, engine.StatusErrored, engine.StatusTimedOut, engine.StatusSkipped:
		default:
			return nil, fmt.Errorf("JSON report: test %d (%s › %s) has status %q; known: passed, failed, errored, timed out, skipped", i+1, t.File, t.Name, t.Status)
		}
		res := runner.Result{
			Result: engine.Result{Name: t.Name, File: t.File, Status: engine.Status(t.Status), Message: t.Message, Stack: t.Stack,
				Expected: t.Expected, Actual: t.Actual, SkipReason: t.SkipReason, Console: t.Console, Trace: t.Trace,
				Tokens: t.Tokens, Clock: t.Clock, Excerpt: t.Excerpt,
				Violations: t.Violations, ContractFailed: t.ContractFailed,
				Wall: fromMS(t.WallMS), Virtual: fromMS(t.VirtualMS), Seed: t.Seed},
			Tags: t.Tags, LoadError: t.LoadError,
		}
		if o.Shard.Total > 0 {
			if t.PlanIndex == nil {
				return nil, fmt.Errorf("JSON report: shard %v lists %s › %s without plan_index", o.Shard, t.File, t.Name)
			}
			res.PlanIndex = *t.PlanIndex
		}
		o.Results = append(o.Results, res)
	}
	return o, nil
}

// fromMS is the inverse of ms: milliseconds with microsecond precision.
func fromMS(v float64) time.Duration { return time.Duration(math.Round(v*1000)) * time.Microsecond }

// countFiles is how many files the tests name; the JSON report does not keep the run's
// file count, and a file that registers no test selected shows in no report.
func countFiles(tests []jsonTest) int {
	seen := map[string]bool{}
	for _, t := range tests {
		seen[t.File] = true
	}
	return len(seen)
}
