package engine

import (
	"context"
	"testing"
	"time"
)

// Acceptance 4 of issue 11, from JavaScript: mock.veeam.stub overrides an operation,
// expires after its times, is journaled with its id and is cleared by reset; remove,
// stubs, clearStubs and bad stubs (testdata/stubs.js).
func TestStubsFromScripts(t *testing.T) {
	t.Parallel()
	s := load(t, "stubs.js")
	for _, name := range []string{
		"a stub overrides, expires after times, is journaled and is cleared by reset",
		"remove, clearStubs and bad stubs",
	} {
		target, _ := newMockTarget(t)
		if res := s.Run(context.Background(), name, RunOptions{Target: target}); res.Status != StatusPassed {
			t.Errorf("%s: %s %s\n%s", name, res.Status, res.Message, res.Stack)
		}
	}
}

// The stubs a test adds are removed when it ends, however it ends, so the next test on
// a shared mock (a running vbharness mock as a live target) does not meet them.
func TestStubsAreRemovedWhenTheTestEnds(t *testing.T) {
	t.Parallel()
	s := load(t, "stubs.js")
	target, stack := newMockTarget(t) // one stack for both tests, as a running mock is
	for _, tc := range []struct {
		name   string
		status Status
	}{
		{"leaves a stub behind and fails", StatusErrored},
		{"leaves a stub behind and times out", StatusTimedOut},
	} {
		res := s.Run(context.Background(), tc.name, RunOptions{Target: target, Timeout: 10 * time.Second})
		if res.Status != tc.status {
			t.Errorf("%s: %s %q, want %s", tc.name, res.Status, res.Message, tc.status)
		}
		if got := stack.Veeam.Stubs(); len(got) != 0 {
			t.Errorf("%s: the stub is still there when the test has ended: %+v", tc.name, got)
		}
		if len(res.Console) != 0 {
			t.Errorf("%s: console %+v", tc.name, res.Console)
		}
	}
}
