package clock

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"
)

func TestVirtualMovesOnlyWhenAdvancedOrSlept(t *testing.T) {
	t.Parallel()
	v := NewVirtual(time.Time{})
	start := v.Now()
	if !start.Equal(DefaultStart) {
		t.Fatalf("start = %v, want %v", start, DefaultStart)
	}
	if got := v.Advance(61 * time.Minute); !got.Equal(start.Add(61 * time.Minute)) {
		t.Fatalf("advance returned %v", got)
	}
	if err := v.Sleep(context.Background(), 15*time.Minute); err != nil {
		t.Fatal(err)
	}
	if got := v.Now().Sub(start); got != 76*time.Minute {
		t.Fatalf("elapsed %v, want 76m", got)
	}
	v.Advance(-time.Hour)
	if got := v.Now().Sub(start); got != 76*time.Minute {
		t.Fatalf("negative advance moved the clock: %v", got)
	}
}

func TestVirtualSleepHonoursCancelledContext(t *testing.T) {
	t.Parallel()
	v := NewVirtual(time.Time{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := v.Sleep(ctx, time.Hour); err == nil {
		t.Fatal("sleep on a cancelled context succeeded")
	}
	if !v.Now().Equal(DefaultStart) {
		t.Fatal("cancelled sleep moved the clock")
	}
}

func TestRealOffset(t *testing.T) {
	t.Parallel()
	r := NewReal()
	before := time.Now()
	r.Advance(time.Hour)
	if d := r.Now().Sub(before); d < time.Hour || d > time.Hour+time.Minute {
		t.Fatalf("real clock after advance is %v ahead", d)
	}
	if r.Offset() != time.Hour {
		t.Fatalf("offset %v", r.Offset())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.Sleep(ctx, time.Hour); err == nil {
		t.Fatal("real sleep ignored cancellation")
	}
}

// A restarted mock resumes its offset (NewRealOffset); an offset read from a damaged or
// foreign file is clamped into [0, MaxAdvance], so the clock neither goes back nor wraps.
func TestNewRealOffsetResumesAndClamps(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		in   time.Duration
		want time.Duration
	}{
		{"resumes a saved offset", 61 * time.Minute, 61 * time.Minute},
		{"a negative offset is none", -time.Hour, 0},
		{"past MaxAdvance is MaxAdvance", math.MaxInt64, MaxAdvance},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := NewRealOffset(c.in).Offset(); got != c.want {
				t.Errorf("NewRealOffset(%v).Offset() = %v, want %v", c.in, got, c.want)
			}
		})
	}
}

// Issue 15 item 5: two advances of the largest duration wrapped the Real clock's int64
// offset and the clock went back to 1734, so an expired token was accepted again. The
// clock never goes back, whatever it is asked to do: Advance clamps at MaxAdvance in
// total, and TryAdvance refuses (and leaves the clock alone) past it.
func TestAdvanceNeverWrapsOrGoesBack(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		clk  Clock
	}{{"real", NewReal()}, {"virtual", NewVirtual(time.Time{})}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			start := c.clk.Now()
			prev := start
			for i := range 3 {
				got := c.clk.Advance(math.MaxInt64)
				if got.Before(prev) {
					t.Fatalf("advance %d: the clock went back from %v to %v", i+1, prev, got)
				}
				prev = got
			}
			if off := prev.Sub(start); off > MaxAdvance+time.Minute {
				t.Errorf("the clock moved %v, past the bound %v", off, MaxAdvance)
			}
			if _, err := c.clk.TryAdvance(time.Hour); !errors.Is(err, ErrAdvanceRange) {
				t.Errorf("TryAdvance past the bound: err %v, want ErrAdvanceRange", err)
			}
			if now := c.clk.Now(); now.Before(prev) {
				t.Errorf("a refused TryAdvance moved the clock back to %v", now)
			}
		})
	}
}

// TryAdvance moves the clock like Advance while the total stays within MaxAdvance, and
// refuses negative durations and totals past it without moving the clock.
func TestTryAdvanceRefusesWithoutMoving(t *testing.T) {
	t.Parallel()
	v := NewVirtual(time.Time{})
	if got, err := v.TryAdvance(MaxAdvance - time.Hour); err != nil || !got.Equal(DefaultStart.Add(MaxAdvance-time.Hour)) {
		t.Fatalf("TryAdvance within the bound: %v, %v", got, err)
	}
	for _, d := range []time.Duration{-time.Second, time.Hour + time.Nanosecond, math.MaxInt64} {
		if _, err := v.TryAdvance(d); !errors.Is(err, ErrAdvanceRange) {
			t.Errorf("TryAdvance(%v): err %v, want ErrAdvanceRange", d, err)
		}
	}
	if got := v.Now(); !got.Equal(DefaultStart.Add(MaxAdvance - time.Hour)) {
		t.Errorf("refused advances moved the clock to %v", got)
	}
	if got, err := v.TryAdvance(time.Hour); err != nil || !got.Equal(DefaultStart.Add(MaxAdvance)) {
		t.Errorf("TryAdvance to exactly the bound: %v, %v", got, err)
	}
}
