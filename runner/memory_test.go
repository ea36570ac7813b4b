package runner

import (
	"context"
	"testing"
)

// TestTheMemoryGuardBlamesAnAbandonedTest is issue 15's D3 attack: a test abandoned in a
// native call kept its heap while the next tests ran, and the guard stopped them for it
// (it stopped the oldest running scenario, and the abandoned one no longer counted).
// While an abandoned test runs it is blamed and no one is stopped, unless the heap grows
// by more than one native call could add (the limit), which is another test's doing.
func TestTheMemoryGuardBlamesAnAbandonedTest(t *testing.T) {
	t.Parallel()
	const mib = 1 << 20
	g := &memoryGuard{limit: 128 * mib, running: map[*guarded]struct{}{}, blamed: map[int]int64{}} // no watchdog: choose is called by hand
	ctx := context.Background()
	_, releaseStuck, stuck := g.guard(ctx, "stuck.js › hoards", 3)
	_, releaseNext, next := g.guard(ctx, "next.js › innocent", 4)
	defer releaseNext()
	if got := g.choose(150 * mib); got != stuck.e {
		t.Fatalf("before it is abandoned the oldest is stopped; got %v", got)
	}
	stuck.abandon()
	if got := g.choose(150 * mib); got != nil {
		t.Errorf("with an abandoned test running, %s was chosen", got.what)
	}
	if got := g.blame(3); got != 150*mib {
		t.Errorf("the abandoned test is blamed for %d MiB, want 150", got/mib)
	}
	if got := g.blame(4); got != 0 {
		t.Errorf("the innocent test is blamed for %d MiB", got/mib)
	}
	if got := g.choose(279 * mib); got != next.e {
		t.Errorf("growth past what one native call adds (150 + 128 MiB) is the running test's; got %v", got)
	}
	releaseStuck()
	if got := g.choose(150 * mib); got != next.e {
		t.Errorf("once the abandoned test returned, the running one is stopped; got %v", got)
	}
}
