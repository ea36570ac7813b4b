package runnertest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"sync"
	"time"

	"github.com/vbharness/vbharness/engine"
	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/runner"
)

// Test is one fake test: what it registers and what running it does.
type Test struct {
	Info engine.TestInfo
	// Run returns the test's result; nil Run passes. Name, File and Seed are filled in
	// from the test if Run leaves them empty.
	Run func(ctx context.Context, opts engine.RunOptions) *engine.Result
}

// Script is one fake scenario file.
type Script struct {
	Tests    []Test
	LoadErr  error // returned by Load
	TestsErr error // returned by Tests
}

// Call records one Script.Run call.
type Call struct {
	File, Test string
	Opts       engine.RunOptions
}

// Engine is a fake runner.Engine serving Scripts by path. Safe for concurrent use.
type Engine struct {
	Scripts map[string]*Script

	mu    sync.Mutex
	calls []Call
}

// Load implements runner.Engine.
func (e *Engine) Load(path string) (runner.Script, error) {
	s, ok := e.Scripts[path]
	if !ok {
		return nil, fmt.Errorf("%s: %w", path, fs.ErrNotExist)
	}
	if s.LoadErr != nil {
		return nil, s.LoadErr
	}
	return &script{e: e, file: path, s: s}, nil
}

// Calls returns the Run calls so far, sorted by file and test name.
func (e *Engine) Calls() []Call {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := append([]Call(nil), e.calls...)
	sort.Slice(c, func(i, j int) bool {
		if c[i].File != c[j].File {
			return c[i].File < c[j].File
		}
		return c[i].Test < c[j].Test
	})
	return c
}

type script struct {
	e    *Engine
	file string
	s    *Script
}

func (s *script) Tests(context.Context) ([]engine.TestInfo, error) {
	if s.s.TestsErr != nil {
		return nil, s.s.TestsErr
	}
	infos := make([]engine.TestInfo, len(s.s.Tests))
	for i, t := range s.s.Tests {
		infos[i] = t.Info
		if infos[i].File == "" {
			infos[i].File = s.file
		}
	}
	return infos, nil
}

func (s *script) Run(ctx context.Context, name string, opts engine.RunOptions) *engine.Result {
	s.e.mu.Lock()
	s.e.calls = append(s.e.calls, Call{File: s.file, Test: name, Opts: opts})
	s.e.mu.Unlock()
	for _, t := range s.s.Tests {
		if t.Info.Name != name {
			continue
		}
		var r *engine.Result
		if t.Run != nil {
			r = t.Run(ctx, opts)
		} else {
			r = &engine.Result{Status: engine.StatusPassed}
		}
		if r == nil {
			return nil
		}
		if r.Name == "" {
			r.Name = name
		}
		if r.File == "" {
			r.File = s.file
		}
		if r.Seed == 0 {
			r.Seed = opts.Seed
		}
		return r
	}
	return &engine.Result{Name: name, File: s.file, Status: engine.StatusErrored, Message: "no such test"}
}

// Pass is a test named name that passes.
func Pass(name string) Test { return Test{Info: engine.TestInfo{Name: name}} }

// Fail is a test named name that fails an assertion.
func Fail(name string) Test {
	return Test{Info: engine.TestInfo{Name: name}, Run: func(context.Context, engine.RunOptions) *engine.Result {
		return &engine.Result{Status: engine.StatusFailed, Message: "expected 200, got 401", Expected: "200", Actual: "401",
			Stack: "at " + name + " (x.js:3:5)"}
	}}
}

// Result is a test named name whose run returns a copy of r.
func Result(name string, r engine.Result) Test {
	return Test{Info: engine.TestInfo{Name: name}, Run: func(context.Context, engine.RunOptions) *engine.Result {
		c := r
		return &c
	}}
}

// WaitForCancel is a test that blocks until its context ends and then reports itself
// timed out, as the engine does. started, if not nil, is closed when it begins.
func WaitForCancel(name string, started chan<- struct{}) Test {
	return Test{Info: engine.TestInfo{Name: name}, Run: func(ctx context.Context, _ engine.RunOptions) *engine.Result {
		if started != nil {
			close(started)
		}
		<-ctx.Done()
		return &engine.Result{Status: engine.StatusTimedOut, Message: "interrupted: " + ctx.Err().Error()}
	}}
}

// ErrStackFailed is returned by a Target whose stack fails to start.
var ErrStackFailed = errors.New("stack failed to start")

// Target is a fake mock target: every test gets a fresh engine target with its own
// virtual clock. It counts how many targets it made and released.
type Target struct {
	mu             sync.Mutex
	made, released int
	Fail           bool // New returns ErrStackFailed
}

// Runner returns the runner.Target for t, with the capabilities of the embedded mocks.
func (t *Target) Runner() *runner.Target {
	return &runner.Target{
		Name: "mock", Kind: engine.TargetMock, Description: "embedded mocks (fake), virtual clock",
		Control: true,
		New: func(context.Context) (*engine.Target, func(), error) {
			if t.Fail {
				return nil, nil, ErrStackFailed
			}
			t.mu.Lock()
			t.made++
			n := t.made
			t.mu.Unlock()
			et := &engine.Target{
				Name: fmt.Sprintf("mock#%d", n), Kind: engine.TargetMock,
				Clock:   clock.NewVirtual(time.Time{}),
				Control: &engine.ControlTarget{EntraURL: "https://login.mock", VeeamURL: "https://veeam.mock:4443"},
			}
			return et, func() {
				t.mu.Lock()
				t.released++
				t.mu.Unlock()
			}, nil
		},
	}
}

// Counts returns how many targets were made and released.
func (t *Target) Counts() (made, released int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.made, t.released
}
