package stack

import (
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/mocks/state"
	"github.com/vbharness/vbharness/mocks/veeam"
)

// The clock's records in the state file: its offset past the wall clock, in nanoseconds.
const (
	clockBucket       = "clock"
	clockStateVersion = 1
	clockOffsetKey    = "offset"
)

// openState opens the state file in dir and reads what a standalone stack keeps there:
// the clock's offset, which the returned clocks resume (the Veeam world's times, token
// expiries and session times were written on it, so it must not go back after a
// restart), and the Veeam mock's saved state. The second clock is the one the servers
// share: it writes the offset at every advance.
func openState(dir string, log *slog.Logger) (*state.DB, *clock.Real, clock.Clock, *veeam.SavedState, error) {
	db, err := state.Open(dir)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	fail := func(err error) (*state.DB, *clock.Real, clock.Clock, *veeam.SavedState, error) {
		db.Close()
		return nil, nil, nil, nil, err
	}
	cb, err := db.Bucket(clockBucket, clockStateVersion)
	if err != nil {
		return fail(err)
	}
	var off time.Duration
	if b, err := cb.Get(clockOffsetKey); err != nil {
		return fail(err)
	} else if b != nil {
		n, err := strconv.ParseInt(string(b), 10, 64)
		if err != nil {
			return fail(fmt.Errorf("%w: %s: the clock's offset %q is not a number; move the file away to start from the fixtures (its state is then lost)",
				state.ErrCorrupt, db.Path(), b))
		}
		off = time.Duration(n)
	}
	vb, err := db.Bucket("veeam", veeam.StateVersion)
	if err != nil {
		return fail(err)
	}
	saved, err := veeam.LoadState(vb)
	if err != nil {
		return fail(fmt.Errorf("%w: %s: %v; move it away to start from the fixtures (its state is then lost), or put back a copy of it",
			state.ErrCorrupt, db.Path(), err))
	}
	clk := clock.NewRealOffset(off)
	return db, clk, &savedClock{Real: clk, b: cb, log: log}, saved, nil
}

// savedClock is the stack's Real clock writing its offset to the state file at every
// advance, before the advance is answered. Writes are serialised, so the file ends with
// the latest offset whatever order two advances finish in.
type savedClock struct {
	*clock.Real
	mu  sync.Mutex
	b   *state.Bucket
	log *slog.Logger
}

// Advance implements clock.Clock.
func (c *savedClock) Advance(d time.Duration) time.Time {
	t := c.Real.Advance(d)
	c.save()
	return t
}

// TryAdvance implements clock.Clock.
func (c *savedClock) TryAdvance(d time.Duration) (time.Time, error) {
	t, err := c.Real.TryAdvance(d)
	if err == nil {
		c.save()
	}
	return t, err
}

func (c *savedClock) save() {
	c.mu.Lock()
	defer c.mu.Unlock()
	off := strconv.FormatInt(int64(c.Offset()), 10)
	if err := c.b.Commit(map[string][]byte{clockOffsetKey: []byte(off)}); err != nil {
		c.log.Error("mock clock: offset not saved; a restart goes back to the last saved one", "error", err)
	}
}
