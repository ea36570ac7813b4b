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
//
// Neither clock ever goes back, and neither moves more than MaxAdvance in total past
// where it started: Advance clamps at that bound, TryAdvance refuses to cross it. (The
// bound keeps every time the mocks write inside the years JSON and RFC 3339 can carry,
// and keeps the Real clock's int64 offset from wrapping, which once sent it to 1734.)
package clock

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// MaxAdvance is the most a clock can be advanced in total, past its start (Virtual) or
// past the wall clock (Real): 100 years of 365 days.
const MaxAdvance = 100 * 365 * 24 * time.Hour

// ErrAdvanceRange is returned by TryAdvance for a negative duration or one that would
// take the clock more than MaxAdvance past its start.
var ErrAdvanceRange = errors.New("clock advance out of range")

// Clock is the time source shared by every server of a mock stack and by the scenario
// that drives it. Read it once per operation and reuse the value.
type Clock interface {
	// Now returns the current time on this clock.
	Now() time.Time
	// Advance moves the clock forward by d and returns the new time. A negative d is
	// ignored, and the clock stops at MaxAdvance in total: the excess is dropped, so it
	// never wraps and never goes back.
	Advance(d time.Duration) time.Time
	// TryAdvance moves the clock forward by d like Advance, or, when d is negative or
	// the total would pass MaxAdvance, leaves it where it is and returns an error
	// wrapping ErrAdvanceRange (the control API answers that with 400).
	TryAdvance(d time.Duration) (time.Time, error)
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
	mu    sync.Mutex
	start time.Time
	now   time.Time
}

// NewVirtual returns a virtual clock reading start (DefaultStart if zero).
func NewVirtual(start time.Time) *Virtual {
	if start.IsZero() {
		start = DefaultStart
	}
	return &Virtual{start: start.UTC(), now: start.UTC()}
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
		v.now = v.start.Add(clampOffset(v.now.Sub(v.start), d))
	}
	return v.now
}

// TryAdvance implements Clock.
func (v *Virtual) TryAdvance(d time.Duration) (time.Time, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := checkAdvance(v.now.Sub(v.start), d); err != nil {
		return v.now, err
	}
	v.now = v.now.Add(d)
	return v.now, nil
}

// clampOffset returns off+d (off, d >= 0) capped at MaxAdvance, without overflowing.
func clampOffset(off, d time.Duration) time.Duration {
	if d > MaxAdvance-off {
		return max(off, MaxAdvance)
	}
	return off + d
}

// checkAdvance reports whether an offset off may grow by d within MaxAdvance.
func checkAdvance(off, d time.Duration) error {
	switch {
	case d < 0:
		return fmt.Errorf("%w: %v is negative; the clock never goes back", ErrAdvanceRange, d)
	case d > MaxAdvance-off:
		return fmt.Errorf("%w: the clock is %v ahead already and may move at most %v (100 years) in total; %v more is too far",
			ErrAdvanceRange, off.Round(time.Second), MaxAdvance, d)
	}
	return nil
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

// NewRealOffset returns a wall clock already advanced by off (clamped to 0 and
// MaxAdvance): a restarted mock resumes the offset it had, so its clock does not go back
// behind the times it already wrote (tokens' expiries, sessions' times).
func NewRealOffset(off time.Duration) *Real { return &Real{offset: clampOffset(0, max(off, 0))} }

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
		r.offset = clampOffset(r.offset, d)
	}
	off := r.offset
	r.mu.Unlock()
	return time.Now().UTC().Add(off)
}

// TryAdvance implements Clock.
func (r *Real) TryAdvance(d time.Duration) (time.Time, error) {
	r.mu.Lock()
	err := checkAdvance(r.offset, d)
	if err == nil {
		r.offset += d
	}
	off := r.offset
	r.mu.Unlock()
	return time.Now().UTC().Add(off), err
}

// Offset returns how far the clock has been advanced past the wall clock (at most
// MaxAdvance).
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
