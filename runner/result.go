package runner

import (
	"fmt"
	"time"

	"github.com/vbharness/vbharness/engine"
	"github.com/vbharness/vbharness/mocks/secret"
)

// Exit codes of `vbharness run` (documented in docs/cli.md). When several apply, the
// first in this order wins: interrupted, a script failed to load, a test failed.
const (
	ExitOK          = 0   // every selected test passed or was skipped
	ExitFailed      = 1   // a test failed, errored or timed out
	ExitUsage       = 2   // usage or configuration error; no test ran
	ExitLoad        = 3   // a script failed to load (the other scripts still ran)
	ExitInterrupted = 130 // Ctrl-C or SIGTERM; reports hold what finished
)

// LoadErrorName is the test name under which a script that failed to load is reported.
const LoadErrorName = "(script failed to load)"

// Result is one test's outcome as the runner reports it.
type Result struct {
	engine.Result
	Tags []string
	// LoadError is set on the single result standing for a script that failed to load
	// or to register its tests; Name is then LoadErrorName.
	LoadError bool
	// PlanIndex is the test's position in the whole run's plan when the run was a shard
	// (Outcome.Shard set): Merge puts the shards' results back in that order.
	PlanIndex int
}

// Failed reports whether the result counts as a failure: failed, errored or timed out.
func (r *Result) Failed() bool {
	switch r.Status {
	case engine.StatusFailed, engine.StatusErrored, engine.StatusTimedOut:
		return true
	}
	return false
}

// TargetInfo is what reports say about the target.
type TargetInfo struct {
	Name               string
	Kind               engine.TargetKind
	Description        string
	InsecureSkipVerify bool
}

// Outcome is a finished (or interrupted) run.
type Outcome struct {
	Target   TargetInfo
	Seed     int64
	Parallel int
	Timeout  time.Duration
	Files    int
	Started  time.Time     // on the run's clock, when NewPlan began loading the scripts
	Elapsed  time.Duration // from Started: loading, registering and running
	// Results holds one entry per selected test (and per script that failed to load),
	// in discovery order: files sorted by path, tests in registration order. Tests a
	// cancelled run never started are absent. When the run was made with Options.Keep,
	// it holds only the results Keep selected (at most Options.KeepMax), and Omitted
	// tallies the others: an Observer (the report files) had them all as they finished.
	Results []Result
	// Omitted tallies the finished results Results does not hold (Options.Keep).
	Omitted Omitted
	// Interrupted reports that the run's context ended before every test ran.
	Interrupted bool
	// Stopped reports that --fail-fast stopped the run after a failure.
	Stopped bool
	// Shard is the share of the run this outcome holds (Plan.Shard); zero for a whole
	// run. Planned is then how many entries the whole plan had (tests and scripts that
	// failed to load), over every shard.
	Shard   Shard
	Planned int
	// Contract is the run's contract mode and what its checks found (docs/contract.md),
	// over every finished result, kept or omitted.
	Contract ContractSummary
}

// ContractSummary is a run's contract report: the mode and the violations' tally.
type ContractSummary struct {
	// Mode is the run's --contract mode (engine.ContractFail, ContractWarn or
	// ContractOff); a test's own option may have loosened it for that test.
	Mode engine.ContractMode
	// Violations is how many violations the run's tests recorded.
	Violations int
	// Tests is how many tests recorded at least one.
	Tests int
	// Failed is how many tests failed because of them (fail mode).
	Failed int
}

// add counts one result's violations.
func (c *ContractSummary) add(r *Result) {
	if len(r.Violations) == 0 {
		return
	}
	c.Violations += len(r.Violations)
	c.Tests++
	if r.ContractFailed {
		c.Failed++
	}
}

// Line is the console's contract summary line, "" when the mode is off and nothing was
// found: "contract (fail): 3 violations in 2 tests, 2 tests failed by them".
func (c ContractSummary) Line() string {
	if c.Mode == "" || (c.Mode == engine.ContractOff && c.Violations == 0) {
		return ""
	}
	if c.Violations == 0 {
		return fmt.Sprintf("contract (%s): no violations", c.Mode)
	}
	s := fmt.Sprintf("contract (%s): %s in %s", c.Mode, plural(c.Violations, "violation"), plural(c.Tests, "test"))
	if c.Failed > 0 {
		s += fmt.Sprintf(", %s failed by them", plural(c.Failed, "test"))
	}
	return s
}

// Omitted tallies the results of a run that Outcome.Results does not hold.
type Omitted struct {
	Counts
	// LoadErrors is how many of them stand for a script that failed to load.
	LoadErrors int
	// Capped is how many of them Options.Keep selected but Options.KeepMax left out:
	// details the console summary does not show.
	Capped int
}

// Counts tallies results by status.
type Counts struct {
	Passed, Failed, Errored, TimedOut, Skipped int
}

// Total is the number of results counted.
func (c Counts) Total() int { return c.Passed + c.Failed + c.Errored + c.TimedOut + c.Skipped }

// AllFailed is failed, errored and timed out together: what the summary line calls failed.
func (c Counts) AllFailed() int { return c.Failed + c.Errored + c.TimedOut }

// add counts one result of status st.
func (c *Counts) add(st engine.Status) {
	switch st {
	case engine.StatusPassed:
		c.Passed++
	case engine.StatusFailed:
		c.Failed++
	case engine.StatusErrored:
		c.Errored++
	case engine.StatusTimedOut:
		c.TimedOut++
	case engine.StatusSkipped:
		c.Skipped++
	}
}

// Summary is the run's last console line, which CI parsers read:
// "N passed, N failed, N skipped".
func (c Counts) Summary() string {
	return fmt.Sprintf("%d passed, %d failed, %d skipped", c.Passed, c.AllFailed(), c.Skipped)
}

// Counts tallies the outcome's results, those Results holds and those it omitted.
func (o *Outcome) Counts() Counts {
	c := o.Omitted.Counts
	for i := range o.Results {
		c.add(o.Results[i].Status)
	}
	return c
}

// ExitCode is the process exit code for the outcome (see the Exit constants).
func (o *Outcome) ExitCode() int {
	if o.Interrupted {
		return ExitInterrupted
	}
	if o.Omitted.LoadErrors > 0 {
		return ExitLoad
	}
	code := ExitOK
	if o.Omitted.AllFailed() > 0 {
		code = ExitFailed
	}
	for i := range o.Results {
		r := &o.Results[i]
		if r.LoadError {
			return ExitLoad
		}
		if r.Failed() {
			code = ExitFailed
		}
	}
	return code
}

// MapStrings returns a copy of the outcome with f applied to every string a test
// produced (engine.Result.MapStrings, the one visitor of a result's text, plus the
// tags) and to the target's description.
func (o *Outcome) MapStrings(f func(string) string) *Outcome {
	c := *o
	c.Target.Description = f(o.Target.Description)
	c.Results = make([]Result, len(o.Results))
	for i, r := range o.Results {
		r.Result = r.Result.MapStrings(f)
		if r.Tags != nil {
			tags := make([]string, len(r.Tags))
			for j, t := range r.Tags {
				tags[j] = f(t)
			}
			r.Tags = tags
		}
		c.Results[i] = r
	}
	return &c
}

// Scrub returns a copy of the outcome in which every string a test produced has been
// passed through s, so that no secret the run obtained reaches a report: the one routine
// that scrubs a finished run, used by the console summary and by every report writer. A
// nil s returns o unchanged.
func (o *Outcome) Scrub(s *secret.Scrubber) *Outcome {
	if s == nil {
		return o
	}
	return o.MapStrings(s.Scrub)
}
