package cli

import (
	"runtime"

	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/runner"
)

// defaultDeps are the real engine, mocks and terminal.
func defaultDeps() deps {
	return deps{
		newEngine:  runner.NewEngine,
		mockTarget: runner.MockTarget,
		catalogue:  catalogue(),
		clock:      clock.NewReal(),
		terminal:   isTerminal,
		setProcs:   func(n int) { runtime.GOMAXPROCS(n) },
	}
}
