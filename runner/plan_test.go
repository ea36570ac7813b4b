package runner_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vbharness/vbharness/engine"
	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/runner"
	"github.com/vbharness/vbharness/runner/runnertest"
)

// loadCounter counts the Load calls of each file.
type loadCounter struct {
	runner.Engine
	mu    sync.Mutex
	loads map[string]int
}

func (e *loadCounter) Load(path string) (runner.Script, error) {
	e.mu.Lock()
	e.loads[path]++
	e.mu.Unlock()
	return e.Engine.Load(path)
}

func (e *loadCounter) count(path string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.loads[path]
}

// firstFinish records, when the first test finishes, how often the last file had been
// loaded.
type firstFinish struct {
	e       *loadCounter
	last    string
	atFirst int // loads of last when the first test finished; -1 before
}

func (o *firstFinish) TestStarted(*runner.Planned) {}

func (o *firstFinish) TestFinished(*runner.Result) {
	if o.atFirst < 0 {
		o.atFirst = o.e.count(o.last)
	}
}

// TestExecuteMakesAFilesTestsWhenItsTurnComes: the plan does not hold the tests of every
// file until the run ends (issue 16 item 2): NewPlan loads each file once to count its
// tests, and Execute loads the last file again only after the first test has finished
// (with one worker, when the run reaches it).
func TestExecuteMakesAFilesTestsWhenItsTurnComes(t *testing.T) {
	t.Parallel()
	scripts := map[string]*runnertest.Script{}
	var files []string
	for f := range 20 {
		name := fmt.Sprintf("f%02d.js", f)
		scripts[name] = &runnertest.Script{Tests: []runnertest.Test{runnertest.Pass("a"), runnertest.Pass("b")}}
		files = append(files, name)
	}
	e := &loadCounter{Engine: &runnertest.Engine{Scripts: scripts}, loads: map[string]int{}}
	obs := &firstFinish{e: e, last: files[len(files)-1], atFirst: -1}
	p, err := runner.NewPlan(context.Background(), runner.Options{Engine: e, Files: files, Target: (&runnertest.Target{}).Runner(),
		Parallel: 1, Observer: obs, Clock: clock.NewVirtual(time.Time{})})
	if err != nil {
		t.Fatal(err)
	}
	if p.Selected() != 40 || p.Discovered != 40 || p.Files != 20 {
		t.Fatalf("plan: %d selected, %d discovered, %d files; want 40, 40, 20", p.Selected(), p.Discovered, p.Files)
	}
	o := p.Execute(context.Background())
	if c := o.Counts(); c.Passed != 40 {
		t.Fatalf("%+v, want 40 passed", c)
	}
	if obs.atFirst != 1 {
		t.Errorf("when the first test finished, the last file had been loaded %d times, want 1 (the plan's)", obs.atFirst)
	}
	for _, f := range files {
		if n := e.count(f); n != 2 {
			t.Errorf("%s loaded %d times, want 2 (the plan's, its turn's)", f, n)
		}
	}
}

// TestAFileThatChangesBeforeItsTurnFailsItsTests: a file is listed again when its turn
// comes; if it no longer loads, or registers other tests than the plan counted, each of
// its planned tests fails with why, under the name the plan saw, and the other files run.
func TestAFileThatChangesBeforeItsTurnFailsItsTests(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		after *runnertest.Script
		msg   string
	}{
		{"no longer loads", &runnertest.Script{LoadErr: errors.New("b.js:1:1 SyntaxError")},
			"cannot load b.js again to run its tests: b.js:1:1 SyntaxError"},
		{"its top level now throws", &runnertest.Script{TestsErr: errors.New("b.js:2:1 ReferenceError")},
			"cannot load b.js again to run its tests: b.js:2:1 ReferenceError"},
		{"registers one test fewer", &runnertest.Script{Tests: []runnertest.Test{runnertest.Pass("one")}},
			"b.js registered other tests when it was loaded again to run them (1 selected, 2 when the run was planned)"},
		{"renames a test", &runnertest.Script{Tests: []runnertest.Test{runnertest.Pass("one"), runnertest.Pass("three")}},
			"b.js registered other tests when it was loaded again to run them (2 selected, 2 when the run was planned)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			scripts := map[string]*runnertest.Script{
				"a.js": {Tests: []runnertest.Test{runnertest.Pass("first")}},
				"b.js": {Tests: []runnertest.Test{runnertest.Pass("one"), runnertest.Pass("two")}},
				"c.js": {Tests: []runnertest.Test{runnertest.Pass("last")}},
			}
			eng := &runnertest.Engine{Scripts: scripts}
			p, err := runner.NewPlan(context.Background(), runner.Options{Engine: eng, Files: []string{"a.js", "b.js", "c.js"},
				Target: (&runnertest.Target{}).Runner(), Parallel: 2, Seed: 3, Clock: clock.NewVirtual(time.Time{})})
			if err != nil {
				t.Fatal(err)
			}
			scripts["b.js"] = c.after // before its turn
			o := p.Execute(context.Background())
			var got []string
			for _, r := range o.Results {
				got = append(got, r.File+" › "+r.Name+" "+string(r.Status))
				if r.File == "b.js" {
					if !strings.HasPrefix(r.Message, c.msg) {
						t.Errorf("%s: message %q, want it to start %q", r.Name, r.Message, c.msg)
					}
					if want := runner.TestSeed(3, "b.js", r.Name); r.Seed != want {
						t.Errorf("%s: seed %d, want %d (the test's own)", r.Name, r.Seed, want)
					}
				}
			}
			want := []string{"a.js › first passed", "b.js › one errored", "b.js › two errored", "c.js › last passed"}
			if !slices.Equal(got, want) {
				t.Errorf("results:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
			if o.ExitCode() != 1 {
				t.Errorf("exit code %d, want 1", o.ExitCode())
			}
			for _, call := range eng.Calls() {
				if call.File == "b.js" {
					t.Errorf("%s › %s ran", call.File, call.Test)
				}
			}
		})
	}
}

// TestDecisionsAreTheSameWhenMadeAtAFilesTurn: test.only in one file skips the tests of
// files before and after it, test.skip and requirements still decide, and filters apply
// to the counts up front and to the tests run.
func TestDecisionsAreTheSameWhenMadeAtAFilesTurn(t *testing.T) {
	t.Parallel()
	scripts := map[string]*runnertest.Script{
		"a.js": {Tests: []runnertest.Test{runnertest.Pass("a one"), {Info: engine.TestInfo{Name: "a skipped", Skip: true}}}},
		"b.js": {Tests: []runnertest.Test{runnertest.Pass("b one"), {Info: engine.TestInfo{Name: "b only", Only: true}}, runnertest.Pass("b filtered out")}},
		"c.js": {Tests: []runnertest.Test{{Info: engine.TestInfo{Name: "c only live", Only: true, Requires: []engine.Requirement{engine.RequireLive}}}}},
	}
	eng := &runnertest.Engine{Scripts: scripts}
	p, err := runner.NewPlan(context.Background(), runner.Options{Engine: eng, Files: []string{"a.js", "b.js", "c.js"},
		Target: (&runnertest.Target{}).Runner(), Parallel: 2, Clock: clock.NewVirtual(time.Time{}),
		Filter: regexp.MustCompile("one|only|skipped")})
	if err != nil {
		t.Fatal(err)
	}
	if p.Selected() != 5 || p.Discovered != 6 {
		t.Fatalf("plan: %d selected of %d; want 5 of 6", p.Selected(), p.Discovered)
	}
	var got []string
	for _, r := range p.Execute(context.Background()).Results {
		got = append(got, r.Name+": "+string(r.Status)+" "+r.SkipReason)
	}
	want := []string{
		"a one: skipped another test in this run is marked test.only",
		"a skipped: skipped test.skip",
		"b one: skipped another test in this run is marked test.only",
		"b only: passed ",
		"c only live: skipped requires live: target \"mock\" is the embedded mocks",
	}
	if !slices.Equal(got, want) {
		t.Errorf("results:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}
