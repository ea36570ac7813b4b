package control

import (
	"sync"
	"time"
)

// settleWait bounds how long a journal read waits for requests still being recorded: a
// handler that never returns (a fault's long delay) must not hold the journal up.
const settleWait = 2 * time.Second

// inflight tracks the requests the pipeline is serving, so that a journal read can wait
// for the ones that began before it. The pipeline records a request's journal entry when
// its handler has returned, and net/http may already have sent the response by then (a
// body larger than its write buffer goes out as it is written): without the wait, a
// client that reads the journal right after an answer could miss that answer's entry.
type inflight struct {
	mu      sync.Mutex
	changed *sync.Cond
	next    uint64
	serving map[uint64]struct{}
}

func newInflight() *inflight {
	f := &inflight{serving: map[uint64]struct{}{}}
	f.changed = sync.NewCond(&f.mu)
	return f
}

// begin registers a request and returns the func that marks it recorded.
func (f *inflight) begin() (done func()) {
	f.mu.Lock()
	id := f.next
	f.next++
	f.serving[id] = struct{}{}
	f.mu.Unlock()
	return func() {
		f.mu.Lock()
		delete(f.serving, id)
		f.mu.Unlock()
		f.changed.Broadcast()
	}
}

// settle waits until every request that began before the call has been recorded, or
// max has passed; it reports whether they all were.
func (f *inflight) settle(max time.Duration) bool {
	deadline := time.Now().Add(max)
	timer := time.AfterFunc(max, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.changed.Broadcast()
	})
	defer timer.Stop()
	f.mu.Lock()
	defer f.mu.Unlock()
	before := f.next
	for f.oldest() < before {
		if !time.Now().Before(deadline) {
			return false
		}
		f.changed.Wait()
	}
	return true
}

// oldest is the smallest id still being served, or next when none is. Called with mu
// held; the set is as large as the requests in flight.
func (f *inflight) oldest() uint64 {
	min := f.next
	for id := range f.serving {
		if id < min {
			min = id
		}
	}
	return min
}
