// Package clock owns time for a mock stack. Every expiry, iat/exp, poll interval and
// journal timestamp in vbharness reads a Clock; of the clocks, only Real reads the wall
// clock (time.Now in its Now and Advance). Outside this package time.Now measures only
// wall-clock spans no scenario sees (a request's latency in the journal, how long a
// scenario has run for the runner's memory guard) and seeds a certificate serial number.
//
// Two kinds exist: Virtual, which moves only when advanced or slept (one per in-process
// scenario, so an hour of token life passes in microseconds), and Real, the wall clock
// plus an adjustable offset (the standalone `vbharness mock`). Both are safe for
// concurrent use.
package clock

import (
	"context"
	"sync"
	"time"
)

// Clock is the time source shared by every server of a mock stack and by the scenario
// that drives it. Read it once per operation and reuse the value.
type Clock interface {
	// Now returns the current time on this clock.
	Now() time.Time
	// Advance moves the clock forward by d (negative d is ignored) and returns the new time.
	Advance(d time.Duration) time.Time
	// Sleep waits d on this clock. A Virtual clock advances itself by d and returns at
	// once; a Real clock waits on the wall clock. Both return ctx.Err() if ctx ends first.
	Sleep(ctx context.Context, d time.Duration) error
	// IsVirtual reports whether the clock only moves when advanced or slept.
	IsVirtual() bool
}

// DefaultStart is where a Virtual clock starts unless told otherwise: a fixed instant,
// so runs are reproducible.
var DefaultStart = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

// Virtual is a clock that moves only when advanced or slept.
type Virtual struct {
	mu  sync.Mutex
	now time.Time
}

// NewVirtual returns a virtual clock reading start (DefaultStart if zero).
func NewVirtual(start time.Time) *Virtual {
	if start.IsZero() {
		start = DefaultStart
	}
	return &Virtual{now: start.UTC()}
}

// Now implements Clock.
func (v *Virtual) Now() time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.now
}

// Advance implements Clock.
func (v *Virtual) Advance(d time.Duration) time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	if d > 0 {
		v.now = v.now.Add(d)
	}
	return v.now
}

// Sleep implements Clock: it advances the clock by d and returns immediately.
func (v *Virtual) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	v.Advance(d)
	return nil
}

// IsVirtual implements Clock.
func (v *Virtual) IsVirtual() bool { return true }

// Real is the wall clock plus an offset that Advance grows. It serves the standalone
// mock, where external clients poll in real time but tests still need to jump past an
// expiry.
type Real struct {
	mu     sync.Mutex
	offset time.Duration
}

// NewReal returns a wall clock with no offset.
func NewReal() *Real { return &Real{} }

// Now implements Clock.
func (r *Real) Now() time.Time {
	r.mu.Lock()
	off := r.offset
	r.mu.Unlock()
	return time.Now().UTC().Add(off)
}

// Advance implements Clock.
func (r *Real) Advance(d time.Duration) time.Time {
	r.mu.Lock()
	if d > 0 {
		r.offset += d
	}
	off := r.offset
	r.mu.Unlock()
	return time.Now().UTC().Add(off)
}

// Offset returns how far the clock has been advanced past the wall clock.
func (r *Real) Offset() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.offset
}

// Sleep implements Clock on the wall clock.
func (r *Real) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// IsVirtual implements Clock.
func (r *Real) IsVirtual() bool { return false }
