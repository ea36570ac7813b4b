package runner

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"

	"github.com/vbharness/vbharness/engine"
)

// DefaultMaxMemory is the Go heap a run may use (--max-memory) before the runner stops a
// scenario: 2 GiB, twenty times what 64 full-flow tests in parallel need (about 150 MB
// of resident memory, docs/performance.md), and well under a CI machine's memory.
const DefaultMaxMemory int64 = 2 << 30

// memoryPoll is how often the watchdog reads the heap size. A script allocating as fast
// as goja can (a few hundred MB a second) overshoots the limit by a few MB at most.
const memoryPoll = 10 * time.Millisecond

// The watchdog reads two heap sizes: the live heap as the last GC found it (memory the
// scenarios hold; the GC runs whenever the heap doubles, so a growing heap is measured
// often), and every heap object, live or not yet collected (so a heap that grows
// without a GC in between is caught at twice the limit).
const (
	liveMetric    = "/gc/heap/live:bytes"
	objectsMetric = "/memory/classes/heap/objects:bytes"
)

// memoryGuard is a run's watchdog on the Go heap. JavaScript runtimes share the
// process's heap and goja cannot say how much each holds, so when the heap passes the
// limit the guard stops the guarded scenario that has run longest (a runaway allocation
// runs until it is stopped; ordinary tests take milliseconds), waits until it has
// returned its memory, and looks again. With --parallel 1 it is exactly the culprit.
// Its methods are safe for concurrent use; a nil guard guards nothing.
type memoryGuard struct {
	limit int64

	mu      sync.Mutex
	running map[*guarded]struct{}
	stopped *guarded // the last one stopped, until it deregisters
	done    chan struct{}
	prevGC  int64
}

// guarded is one scenario (a test, or a script's top level while tests are collected).
type guarded struct {
	what    string
	started time.Time
	cancel  context.CancelCauseFunc
}

// newMemoryGuard starts a watchdog with limit bytes, or returns nil when limit is
// negative (no limit). Zero means DefaultMaxMemory. Stop it with stop.
func newMemoryGuard(limit int64) *memoryGuard {
	if limit < 0 {
		return nil
	}
	if limit == 0 {
		limit = DefaultMaxMemory
	}
	g := &memoryGuard{limit: limit, running: map[*guarded]struct{}{}, done: make(chan struct{})}
	// Let the GC work harder as the heap nears twice the limit, so it cannot grow far
	// past it between two looks. (At the limit itself the GC would slow a runaway
	// script to a crawl instead of letting it be caught.) A limit already set
	// (GOMEMLIMIT, an enclosing run) is left alone.
	if cur := debug.SetMemoryLimit(-1); cur == math.MaxInt64 {
		g.prevGC = debug.SetMemoryLimit(2 * limit)
	}
	go g.watch()
	return g
}

// stop ends the watchdog and restores the GC's memory limit if it set one.
func (g *memoryGuard) stop() {
	if g == nil {
		return
	}
	close(g.done)
	if g.prevGC != 0 {
		debug.SetMemoryLimit(g.prevGC)
	}
}

// max is the limit in bytes, or 0 for a nil guard (no limit).
func (g *memoryGuard) max() int64 {
	if g == nil {
		return 0
	}
	return g.limit
}

// guard returns a context for one scenario that the watchdog cancels, with a cause
// wrapping engine.ErrMemoryLimit, if it has to stop it, and a release func to call when
// the scenario has returned.
func (g *memoryGuard) guard(ctx context.Context, what string) (context.Context, func()) {
	if g == nil {
		return ctx, func() {}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	e := &guarded{what: what, started: time.Now(), cancel: cancel}
	g.mu.Lock()
	g.running[e] = struct{}{}
	g.mu.Unlock()
	return ctx, func() {
		g.mu.Lock()
		delete(g.running, e)
		if g.stopped == e {
			g.stopped = nil
		}
		g.mu.Unlock()
		cancel(nil)
	}
}

func (g *memoryGuard) watch() {
	t := time.NewTicker(memoryPoll)
	defer t.Stop()
	sample := []metrics.Sample{{Name: liveMetric}, {Name: objectsMetric}}
	for {
		select {
		case <-g.done:
			return
		case <-t.C:
		}
		if !g.over(sample) {
			continue
		}
		g.mu.Lock()
		busy := g.stopped != nil
		g.mu.Unlock()
		if busy {
			continue // the one stopped last is still returning its memory
		}
		// Confirm with a collection: the readings may be garbage, or a live heap the
		// last GC measured before a stopped scenario let go of it.
		runtime.GC()
		if !g.over(sample) {
			continue
		}
		heap := max(int64(sample[0].Value.Uint64()), int64(sample[1].Value.Uint64())/2)
		g.mu.Lock()
		var oldest *guarded
		for e := range g.running {
			if oldest == nil || e.started.Before(oldest.started) {
				oldest = e
			}
		}
		g.stopped = oldest
		n := len(g.running)
		g.mu.Unlock()
		if oldest == nil {
			continue // the memory is not the scenarios'
		}
		oldest.cancel(fmt.Errorf("%w: the heap reached %d MiB, over the %d MiB allowed (--max-memory); %s was stopped, having run longest of the %s running",
			engine.ErrMemoryLimit, heap>>20, g.limit>>20, oldest.what, plural(n, "scenario")))
	}
}

// over reads the heap into sample and reports whether it is past the limit.
func (g *memoryGuard) over(sample []metrics.Sample) bool {
	metrics.Read(sample)
	return int64(sample[0].Value.Uint64()) > g.limit || int64(sample[1].Value.Uint64()) > 2*g.limit
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
