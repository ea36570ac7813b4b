package clock

import (
	"context"
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
