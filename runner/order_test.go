package runner_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vbharness/vbharness/engine"
	"github.com/vbharness/vbharness/runner"
	"github.com/vbharness/vbharness/runner/runnertest"
)

// finishOrder is an Observer that records the order it hears tests finish in.
type finishOrder struct {
	mu    sync.Mutex
	names []string
}

func (f *finishOrder) TestStarted(*runner.Planned) {}
func (f *finishOrder) TestFinished(r *runner.Result) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.names = append(f.names, r.File+":"+r.Name)
}

// TestResultsAreAnnouncedInRegistrationOrder is issue 12 defect 18: console result lines
// came in completion order, although docs/cli.md promises registration order. The
// observer now hears every finished test in plan order (files sorted, tests as
// registered), each as soon as it and all before it have finished, so the console
// streams and stays in order.
func TestResultsAreAnnouncedInRegistrationOrder(t *testing.T) {
	t.Parallel()
	bDone := make(chan struct{})
	slow := runnertest.Test{Info: engine.TestInfo{Name: "a slow"}, Run: func(ctx context.Context, _ engine.RunOptions) *engine.Result {
		select { // finishes only after later tests have
		case <-bDone:
		case <-time.After(10 * time.Second):
		}
		return &engine.Result{Status: engine.StatusPassed}
	}}
	fast := runnertest.Test{Info: engine.TestInfo{Name: "b fast"}, Run: func(context.Context, engine.RunOptions) *engine.Result {
		close(bDone)
		return &engine.Result{Status: engine.StatusFailed, Message: "boom"}
	}}
	skipped := runnertest.Test{Info: engine.TestInfo{Name: "c skipped", Skip: true}}
	obs := &finishOrder{}
	o, _ := run(t, context.Background(), map[string]*runnertest.Script{
		"1.js": {Tests: []runnertest.Test{slow, fast, skipped, runnertest.Pass("d")}},
		"2.js": {LoadErr: &engine.LoadError{File: "2.js", Message: "SyntaxError"}},
		"3.js": {Tests: []runnertest.Test{runnertest.Pass("e")}},
	}, runner.Options{Parallel: 4, Observer: obs})
	want := "1.js:a slow,1.js:b fast,1.js:c skipped,1.js:d,2.js:" + runner.LoadErrorName + ",3.js:e"
	if got := strings.Join(obs.names, ","); got != want {
		t.Errorf("observer heard\n  %s\nwant registration order\n  %s", got, want)
	}
	if len(o.Results) != 6 {
		t.Errorf("%d results", len(o.Results))
	}
}

// TestShowPathNamesFilesInResults: Options.ShowPath rewrites a result's file and the
// script paths in its message and stack (issue 12 defect 17), and leaves other text,
// such as a URL ending in .js, alone.
func TestShowPathNamesFilesInResults(t *testing.T) {
	t.Parallel()
	show := func(p string) string {
		if p == "a.js" || p == "lib/h.js" {
			return "/abs/" + p
		}
		return p
	}
	o, _ := run(t, context.Background(), map[string]*runnertest.Script{"a.js": {Tests: []runnertest.Test{
		runnertest.Result("boom", engine.Result{Status: engine.StatusErrored,
			Message: "a.js:3:7: Error: boom (fetched https://cdn.test/lib/h.js, see \"lib/h.js\")",
			Stack:   "at f (lib/h.js:2:9)\nat a.js:1:1"}),
	}}}, runner.Options{ShowPath: show})
	r := o.Results[0]
	if r.File != "/abs/a.js" ||
		r.Message != `/abs/a.js:3:7: Error: boom (fetched https://cdn.test/lib/h.js, see "/abs/lib/h.js")` ||
		r.Stack != "at f (/abs/lib/h.js:2:9)\nat /abs/a.js:1:1" {
		t.Errorf("file %q\nmessage %q\nstack %q", r.File, r.Message, r.Stack)
	}
}
