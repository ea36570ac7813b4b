package runner_test

import (
	"context"
	"errors"
	"testing"

	"github.com/vbharness/vbharness/engine"
	"github.com/vbharness/vbharness/mocks/contract"
	"github.com/vbharness/vbharness/runner"
	"github.com/vbharness/vbharness/runner/runnertest"
)

func TestDefaultContractIsFailOnMocksAndWarnOnLabs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		target runner.Target
		want   engine.ContractMode
	}{
		{"the embedded mocks", runner.Target{Kind: engine.TargetMock}, engine.ContractFail},
		{"a running mock (control API)", runner.Target{Kind: engine.TargetLive, Control: true}, engine.ContractFail},
		{"a lab", runner.Target{Kind: engine.TargetLive}, engine.ContractWarn},
	} {
		if got := runner.DefaultContract(&tc.target); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestContractSummaryLine(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		c    runner.ContractSummary
		want string
	}{
		{"no mode: an outcome read from an older report", runner.ContractSummary{}, ""},
		{"off says nothing", runner.ContractSummary{Mode: engine.ContractOff}, ""},
		{"checked, nothing found", runner.ContractSummary{Mode: engine.ContractFail}, "contract (fail): no violations"},
		{"warn", runner.ContractSummary{Mode: engine.ContractWarn, Violations: 5, Tests: 1}, "contract (warn): 5 violations in 1 test"},
		{"fail, tests failed", runner.ContractSummary{Mode: engine.ContractFail, Violations: 1, Tests: 1, Failed: 1}, "contract (fail): 1 violation in 1 test, 1 test failed by them"},
	} {
		if got := tc.c.Line(); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// A result with violations counts in the run's contract summary as the runner announces
// it, also when Keep leaves the result out of the outcome; the run's mode is the
// target's default unless Options.Contract sets one, and reaches the engine; a mode that
// is none of the three is refused before anything runs.
func TestContractSummaryCountsEveryResult(t *testing.T) {
	t.Parallel()
	v := contract.Violation{Service: "veeam", Side: "response", Method: "GET", Path: "/v8/Jobs", Pointer: "/results"}
	eng := &runnertest.Engine{Scripts: map[string]*runnertest.Script{"a.js": {Tests: []runnertest.Test{
		runnertest.Result("warned", engine.Result{Status: engine.StatusPassed, Violations: []contract.Violation{v, v}}),
		runnertest.Result("failed", engine.Result{Status: engine.StatusFailed, Violations: []contract.Violation{v}, ContractFailed: true}),
		runnertest.Pass("clean"),
	}}}}
	run := func(mode engine.ContractMode, keep func(*runner.Result) bool) (*runner.Outcome, error) {
		p, err := runner.NewPlan(context.Background(), runner.Options{Engine: eng, Files: []string{"a.js"},
			Target: (&runnertest.Target{}).Runner(), Parallel: 1, Contract: mode, Keep: keep})
		if err != nil {
			return nil, err
		}
		return p.Execute(context.Background()), nil
	}
	o, err := run("", func(r *runner.Result) bool { return r.Status != engine.StatusPassed })
	if err != nil {
		t.Fatal(err)
	}
	if want := (runner.ContractSummary{Mode: engine.ContractFail, Violations: 3, Tests: 2, Failed: 1}); o.Contract != want {
		t.Errorf("summary %+v, want %+v", o.Contract, want)
	}
	if len(o.Results) != 1 {
		t.Errorf("%d results kept, want 1 (Keep drops the passed ones)", len(o.Results))
	}
	for _, c := range eng.Calls() {
		if c.Opts.Contract != engine.ContractFail {
			t.Errorf("%s ran with contract %q, want the mock target's default fail", c.Test, c.Opts.Contract)
		}
	}
	if o, err := run(engine.ContractWarn, nil); err != nil || o.Contract.Mode != engine.ContractWarn {
		t.Errorf("mode %v (%v), want the option's warn", o, err)
	}
	if _, err := run("strict", nil); !errors.Is(err, runner.ErrOptions) {
		t.Errorf("NewPlan with contract mode strict: %v, want ErrOptions", err)
	}
}
