package runner

import (
	"context"
	"fmt"
	"strings"

	"github.com/vbharness/vbharness/engine"
)

// Target is where a run's tests go, and how each test gets its own engine.Target.
type Target struct {
	// Name is the target's name: "mock" for the embedded mocks, or a name from the
	// targets file.
	Name string
	// Kind is engine.TargetMock or engine.TargetLive.
	Kind engine.TargetKind
	// Description is one line for the run header, e.g. "embedded mocks, virtual clock".
	Description string
	// Clock reports whether tests can move the target's clock: the embedded mocks'
	// virtual clock, or a running `vbharness mock` through its control API.
	Clock bool
	// Control reports whether the mock control API (/_mock/) is reachable.
	Control bool
	// Shared reports whether every test talks to the same servers (a live target). On a
	// shared target a test that needs the clock or the control API changes state the
	// other tests see (the clock, faults, the journal), so it runs alone.
	Shared bool
	// InsecureSkipVerify reports that TLS certificates are not verified; the run header
	// says so.
	InsecureSkipVerify bool
	// New returns the engine target for one test and a function that releases it. On
	// the mock target every call builds a fresh in-process stack. New is called from
	// worker goroutines and must be safe for concurrent use.
	New func(ctx context.Context) (*engine.Target, func(), error)
}

// SkipReason returns why a test with the given requirements cannot run on t, or "" if
// it can. Requirements vbharness does not know are reported by UnknownRequirement
// instead.
func (t *Target) SkipReason(reqs []engine.Requirement) string {
	for _, r := range reqs {
		switch r {
		case engine.RequireClock:
			if !t.Clock {
				return fmt.Sprintf("needs a controllable clock (requires: clock); target %s has none", t.Name)
			}
		case engine.RequireControl:
			if !t.Control {
				return fmt.Sprintf("needs the mock control API (requires: control); target %s has none", t.Name)
			}
		case engine.RequireLive:
			if t.Kind != engine.TargetLive {
				return fmt.Sprintf("needs a live target (requires: live); target %s is the embedded mocks", t.Name)
			}
		}
	}
	return ""
}

// exclusive reports whether a test with these requirements must run alone on t.
func (t *Target) exclusive(reqs []engine.Requirement) bool {
	if !t.Shared {
		return false
	}
	for _, r := range reqs {
		if r == engine.RequireClock || r == engine.RequireControl {
			return true
		}
	}
	return false
}

// UnknownRequirement returns an error naming the first requirement vbharness does not
// know, or nil. A misspelt requirement fails the test rather than silently skipping it.
func UnknownRequirement(reqs []engine.Requirement) error {
	for _, r := range reqs {
		switch r {
		case engine.RequireClock, engine.RequireControl, engine.RequireLive:
		default:
			return fmt.Errorf("unknown requirement %q; known requirements: %s", string(r),
				strings.Join([]string{string(engine.RequireClock), string(engine.RequireControl), string(engine.RequireLive)}, ", "))
		}
	}
	return nil
}
