// Package journal owns the request journal of a mock server: every request with its
// clock time, method, path, form field names and non-secret values, status and latency.
// Secret values (tokens, codes, passwords, assertions) are redacted before they are
// stored. The journal is bounded: past its capacity the oldest entries are dropped.
package journal

import (
	"strings"
	"sync"
	"time"
)

// Entry is one journaled request.
type Entry struct {
	Seq       int64             `json:"seq"`
	Server    string            `json:"server"`
	Time      time.Time         `json:"time"`
	Method    string            `json:"method"`
	Path      string            `json:"path"`
	Fields    map[string]string `json:"fields,omitempty"`
	Status    int               `json:"status"`
	LatencyMS float64           `json:"latency_ms"`
	Fault     string            `json:"fault,omitempty"`
}

// Filter selects entries; zero fields match anything. Path matches a prefix,
// case-insensitively; Field/Value match a form field's (redacted) value.
type Filter struct {
	Method string
	Path   string
	Field  string
	Value  string
	Since  int64 // only entries with Seq > Since
}

// DefaultCapacity is how many entries a journal keeps.
const DefaultCapacity = 10000

// Journal is a bounded, concurrency-safe list of entries. Its storage grows with use up
// to the capacity and is then reused as a ring, so a journal that sees a few requests
// (one scenario's in-process stack) costs a few entries, not the capacity.
type Journal struct {
	mu       sync.Mutex
	entries  []Entry // oldest at start once len == capacity
	capacity int
	start    int // ring start
	seq      int64
}

// New returns a journal keeping at most capacity entries (DefaultCapacity if <= 0).
func New(capacity int) *Journal {
	if capacity <= 0 {
		capacity = DefaultCapacity
	}
	return &Journal{capacity: capacity}
}

// Record appends e, assigning its sequence number, and returns it.
func (j *Journal) Record(e Entry) Entry {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.seq++
	e.Seq = j.seq
	if len(j.entries) < j.capacity {
		j.entries = append(j.entries, e)
	} else {
		j.entries[j.start] = e
		j.start = (j.start + 1) % j.capacity
	}
	return e
}

// List returns the entries matching f, oldest first.
func (j *Journal) List(f Filter) []Entry {
	j.mu.Lock()
	defer j.mu.Unlock()
	n := len(j.entries)
	out := make([]Entry, 0, n)
	for i := range n {
		e := j.entries[(j.start+i)%n]
		if f.match(e) {
			out = append(out, e)
		}
	}
	return out
}

// Len returns how many entries the journal holds.
func (j *Journal) Len() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.entries)
}

// Cap returns the most entries the journal keeps.
func (j *Journal) Cap() int { return j.capacity }

// Clear drops every entry and releases their storage; sequence numbers keep growing.
func (j *Journal) Clear() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.entries, j.start = nil, 0
}

func (f Filter) match(e Entry) bool {
	if e.Seq <= f.Since {
		return false
	}
	if f.Method != "" && !strings.EqualFold(f.Method, e.Method) {
		return false
	}
	if f.Path != "" && !strings.HasPrefix(strings.ToLower(e.Path), strings.ToLower(f.Path)) {
		return false
	}
	if f.Field != "" {
		v, ok := e.Fields[f.Field]
		if !ok || (f.Value != "" && v != f.Value) {
			return false
		}
	}
	return true
}
