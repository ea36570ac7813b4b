package report_test

import (
	"context"
	"testing"

	"github.com/vbharness/vbharness/engine"
	"github.com/vbharness/vbharness/runner"
	"github.com/vbharness/vbharness/runner/runnertest"
)

// planFor builds a plan whose header matches the fixture outcome: its files and tests,
// its target, seed, parallelism and timeout.
func planFor(t *testing.T, o *runner.Outcome) *runner.Plan {
	t.Helper()
	scripts := map[string]*runnertest.Script{}
	var files []string
	for _, r := range o.Results {
		s, ok := scripts[r.File]
		if !ok {
			s = &runnertest.Script{}
			scripts[r.File] = s
			files = append(files, r.File)
		}
		if !r.LoadError {
			s.Tests = append(s.Tests, runnertest.Test{Info: engine.TestInfo{Name: r.Name}})
		} else {
			s.LoadErr = context.Canceled
		}
	}
	tgt := (&runnertest.Target{}).Runner()
	tgt.Description = o.Target.Description
	p, err := runner.NewPlan(context.Background(), runner.Options{
		Engine: &runnertest.Engine{Scripts: scripts}, Files: files, Target: tgt,
		Seed: o.Seed, Parallel: o.Parallel, Timeout: o.Timeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}
