package runner

import (
	"context"
	"io/fs"

	"github.com/vbharness/vbharness/engine"
)

// Engine loads scenario scripts. The real engine satisfies it through NewEngine; tests
// of scheduling, skips and reports use a fake.
type Engine interface {
	// Load compiles the script at path (a path in the engine's file system). A script
	// that cannot be loaded returns an error naming file:line:col (*engine.LoadError).
	Load(path string) (Script, error)
}

// Script is one loaded scenario file.
type Script interface {
	// Tests evaluates the script's top level and returns the tests it registers, in
	// registration order.
	Tests(ctx context.Context) ([]engine.TestInfo, error)
	// Run runs one registered test in a fresh runtime. It never panics and always
	// returns a result; a cancelled ctx or the test's deadline ends it as timed out. The
	// deadline is the test's own timeout option, else the RunOptions timeout (the run's
	// default): Run decides, the runner only passes the default.
	Run(ctx context.Context, test string, opts engine.RunOptions) *engine.Result
}

// NewEngine returns the real scenario engine reading scripts (and the files they
// require) from fsys. Each Load compiles the file with a loader of its own, so a script
// the runner lets go (Plan.Execute holds only the files its workers are in) takes its
// compiled program and those of its requires with it: an engine.Loader keeps every
// program it compiled, about 50 kB for a file of ten full-flow tests.
func NewEngine(fsys fs.FS) Engine { return loader{fsys} }

type loader struct{ fsys fs.FS }

func (l loader) Load(path string) (Script, error) {
	s, err := engine.NewLoader(l.fsys).Load(path)
	if err != nil {
		return nil, err
	}
	return s, nil
}
