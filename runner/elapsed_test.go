package runner_test

import (
	"context"
	"testing"
	"time"

	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/runner"
	"github.com/vbharness/vbharness/runner/runnertest"
)

// TestARunsTimeIncludesLoadingItsScripts is part of issue 12 defect 21: a run whose
// only script failed to load said "finished in 185µs", the time to run no test, as if
// loading took nothing. The run starts when its plan is made: loading and registering
// the scripts count.
func TestARunsTimeIncludesLoadingItsScripts(t *testing.T) {
	t.Parallel()
	clk := clock.NewVirtual(clock.DefaultStart)
	p, err := runner.NewPlan(context.Background(), runner.Options{
		Engine: &runnertest.Engine{Scripts: map[string]*runnertest.Script{"a.js": {Tests: []runnertest.Test{runnertest.Pass("ok")}}}},
		Files:  []string{"a.js"}, Target: (&runnertest.Target{}).Runner(), Clock: clk, Parallel: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Second) // what loading took
	o := p.Execute(context.Background())
	if !o.Started.Equal(clock.DefaultStart) || o.Elapsed < 2*time.Second {
		t.Errorf("started %v, elapsed %v; want the run to start when its plan was made and to count the 2s of loading", o.Started, o.Elapsed)
	}
}
