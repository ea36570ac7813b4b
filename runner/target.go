package runner

import (
	"context"

	"github.com/vbharness/vbharness/engine"
)

// Target is where a run's tests go, and how each test gets its own engine.Target.
type Target struct {
	// Name is the target's name: "mock" for the embedded mocks, or a name from the
	// targets file.
	Name string
	// Kind is engine.TargetMock or engine.TargetLive. A live target's servers are shared
	// by every test of the run.
	Kind engine.TargetKind
	// Description is one line for the run header, e.g. "embedded mocks, virtual clock".
	Description string
	// Control reports whether the mock control API (/_mock/) is reachable: the embedded
	// mocks, or a running `vbharness mock`.
	Control bool
	// InsecureSkipVerify reports that TLS certificates are not verified; the run header
	// says so.
	InsecureSkipVerify bool
	// New returns the engine target for one test and a function that releases it. On
	// the mock target every call builds a fresh in-process stack. New is called from
	// worker goroutines and must be safe for concurrent use.
	New func(ctx context.Context) (*engine.Target, func(), error)
}

// DefaultContract is the contract mode of a run that sets none (--contract): fail on the
// embedded mocks and on a running mock (its control API is reachable), where a violation
// is a bug of the mock's or of the scenario's; warn on a live target, whose server is
// what the run is finding out about.
func DefaultContract(t *Target) engine.ContractMode {
	if t.Kind == engine.TargetMock || t.Control {
		return engine.ContractFail
	}
	return engine.ContractWarn
}

// Capabilities returns what the target offers to tests' requirements; the engine's
// requirements table decides what each requirement needs (engine.Capabilities.Check).
func (t *Target) Capabilities() engine.Capabilities {
	return engine.Capabilities{Kind: t.Kind, Control: t.Control}
}

// exclusive reports whether a test with these requirements must run alone on t: on a
// live target every test shares the servers.
func (t *Target) exclusive(reqs []engine.Requirement) bool {
	return t.Kind == engine.TargetLive && engine.RunsAlone(reqs)
}
