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
// A scenario the runner abandoned (stuck in a native call past its grace, and already
// reported) stays guarded until its goroutine returns: the heap cannot be attributed
// per goroutine, and while one runs it is the one blamed. The guard then stops no
// other scenario (it is already cancelled, and its native call cannot be interrupted)
// and notes the blame, which Execute adds to that test's message.
// Its methods are safe for concurrent use; a nil guard guards nothing.
type memoryGuard struct {
	limit int64

	mu      sync.Mutex
	running map[*guarded]struct{}
	stopped *guarded // the last one stopped, until it deregisters
	done    chan struct{}
	prevGC  int64
	blamed  map[int]int64 // plan index of an abandoned test → the largest heap, in bytes, it was blamed for
	// blamedAt is the heap when abandoned scenarios were last blamed for it, while one
	// still runs; 0 when none is blamed.
	blamedAt int64
}

// guarded is one scenario (a test, or a script's top level while tests are collected).
type guarded struct {
	what      string
	index     int // the test's plan index, or -1
	started   time.Time
	cancel    context.CancelCauseFunc
	abandoned bool // the runner stopped waiting for it; under mu
}

// Guarded is what guard returns for one scenario.
type Guarded struct {
	g *memoryGuard
	e *guarded
}

// abandon marks the scenario abandoned: it stays guarded, and blamed, until Release.
func (h Guarded) abandon() {
	if h.g == nil {
		return
	}
	h.g.mu.Lock()
	h.e.abandoned = true
	h.g.mu.Unlock()
}

// blame returns the heap the guard blamed the abandoned test at plan index i for (0:
// none), and forgets it.
func (g *memoryGuard) blame(i int) int64 {
	if g == nil {
		return 0
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	heap := g.blamed[i]
	delete(g.blamed, i)
	return heap
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
	g := &memoryGuard{limit: limit, running: map[*guarded]struct{}{}, done: make(chan struct{}), blamed: map[int]int64{}}
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

// guard returns a context for one scenario (the test at plan index, or -1) that the
// watchdog cancels, with a cause wrapping engine.ErrMemoryLimit, if it has to stop it,
// a release func to call when the scenario has returned, and its entry.
func (g *memoryGuard) guard(ctx context.Context, what string, index int) (context.Context, func(), Guarded) {
	if g == nil {
		return ctx, func() {}, Guarded{}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	e := &guarded{what: what, index: index, started: time.Now(), cancel: cancel}
	g.mu.Lock()
	g.running[e] = struct{}{}
	g.mu.Unlock()
	return ctx, func() {
		g.mu.Lock()
		delete(g.running, e)
		if g.stopped == e {
			g.stopped = nil
		}
		if e.abandoned {
			g.blamedAt = 0
			for o := range g.running {
				if o.abandoned {
					g.blamedAt = max(g.blamedAt, 1) // still one: keep the level
				}
			}
		}
		g.mu.Unlock()
		cancel(nil)
	}, Guarded{g, e}
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
		busy := g.stopped != nil && !g.stopped.abandoned
		blamedAt := g.blamedAt
		g.mu.Unlock()
		if busy {
			continue // the one stopped last is still returning its memory
		}
		if blamedAt > 0 && reading(sample) < blamedAt+g.limit {
			continue // what an abandoned scenario holds, already blamed: no collection every poll
		}
		// Confirm with a collection: the readings may be garbage, or a live heap the
		// last GC measured before a stopped scenario let go of it.
		runtime.GC()
		if !g.over(sample) {
			continue
		}
		heap := reading(sample)
		g.mu.Lock()
		oldest := g.choose(heap)
		g.stopped = oldest
		n := len(g.running)
		g.mu.Unlock()
		if oldest == nil {
			continue // the memory is an abandoned scenario's, or not the scenarios'
		}
		oldest.cancel(fmt.Errorf("%w: the heap reached %d MiB, over the %d MiB allowed (--max-memory); %s was stopped, having run longest of the %s running",
			engine.ErrMemoryLimit, heap>>20, g.limit>>20, oldest.what, plural(n, "scenario")))
	}
}

// choose returns the scenario to stop for a heap over the limit, or nil: the oldest
// running, unless an abandoned scenario is to blame. Under mu.
func (g *memoryGuard) choose(heap int64) *guarded {
	var oldest *guarded
	var abandoned []*guarded
	for e := range g.running {
		if e.abandoned {
			abandoned = append(abandoned, e)
			continue
		}
		if oldest == nil || e.started.Before(oldest.started) {
			oldest = e
		}
	}
	// An abandoned scenario, already cancelled and reported, still in a native call,
	// holds the heap rather than the tests running beside it: it is blamed, and no one
	// is stopped. It can grow by one native call at most (each is bounded by the limit
	// up front, and the interrupt stops its JavaScript when the call returns): growth
	// past that is another scenario's, stopped as usual.
	if len(abandoned) > 0 && (g.blamedAt == 0 || heap < g.blamedAt+g.limit) {
		for _, e := range abandoned {
			if e.index >= 0 {
				g.blamed[e.index] = max(g.blamed[e.index], heap)
			}
		}
		g.blamedAt = max(g.blamedAt, heap)
		return nil
	}
	return oldest
}

// reading is the heap size sample says: the live heap, or half the heap objects (live
// or not yet collected) when that is more.
func reading(sample []metrics.Sample) int64 {
	return max(int64(sample[0].Value.Uint64()), int64(sample[1].Value.Uint64())/2)
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
