// Package journal owns the request journal of a mock server: every request with its
// clock time, method, path, form field names and non-secret values, status and latency.
// Secret values (tokens, codes, passwords, assertions) are redacted before they are
// stored.
//
// The journal is bounded twice, so that nobody can fill a mock's memory through it: by
// entries (DefaultCapacity) and by bytes (DefaultMaxBytes, an estimate of what its
// entries hold). Past either bound the oldest entries are dropped. Each entry is bounded
// too: a value, a path or a method longer than MaxValueBytes is cut and ends with a
// marker saying how much was cut ("…[truncated 999 KiB]"), field names are cut at
// MaxNameBytes, and past MaxFields fields the rest are counted in FieldsOmitted. Every
// string the journal keeps is its own copy, never a slice of a request body.
package journal

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"
)

// Entry is one journaled request.
type Entry struct {
	Seq           int64             `json:"seq"`
	Server        string            `json:"server"`
	Time          time.Time         `json:"time"`
	Method        string            `json:"method"`
	Path          string            `json:"path"`
	Fields        map[string]string `json:"fields,omitempty"`
	FieldsOmitted int               `json:"fields_omitted,omitempty"` // fields past MaxFields, not kept
	Status        int               `json:"status"`
	LatencyMS     float64           `json:"latency_ms"`
	Fault         string            `json:"fault,omitempty"`
	Stub          string            `json:"stub,omitempty"` // the id of the stub that answered, if one did
}

// Filter selects entries; zero fields match anything. Path matches a prefix,
// case-insensitively; Field/Value match a form field's (redacted, possibly cut) value.
type Filter struct {
	Method string
	Path   string
	Field  string
	Value  string
	Since  int64 // only entries with Seq > Since
}

// Bounds of a journal and of its entries.
const (
	// DefaultCapacity is how many entries a journal keeps.
	DefaultCapacity = 10000
	// DefaultMaxBytes is how many bytes (estimated: strings plus a fixed cost per entry
	// and per field) a journal keeps: 32 MiB.
	DefaultMaxBytes = 32 << 20
	// MaxValueBytes is the longest field value, path or method kept whole; longer ones
	// keep their first MaxValueBytes bytes (cut on a UTF-8 boundary) and a marker.
	MaxValueBytes = 1024
	// MaxNameBytes is the longest field name kept whole.
	MaxNameBytes = 128
	// MaxFields is how many fields an entry keeps, the first by name; the others are
	// counted in Entry.FieldsOmitted.
	MaxFields = 64
)

// Estimated fixed costs: an entry's slot in the ring plus its map header, and one map
// element (two string headers and the map's own overhead).
const (
	entryOverhead = int64(unsafe.Sizeof(Entry{})) + 48
	fieldOverhead = 64
)

// Journal is a bounded, concurrency-safe list of entries. Its storage grows with use up
// to the capacity and is then reused as a ring, so a journal that sees a few requests
// (one scenario's in-process stack) costs a few entries, not the capacity.
type Journal struct {
	mu       sync.Mutex
	ring     []Entry // n entries from start, oldest first; len(ring) <= capacity
	start    int
	n        int
	capacity int
	maxBytes int64
	bytes    int64 // estimated size of the n entries
	seq      int64
}

// New returns a journal keeping at most capacity entries (DefaultCapacity if <= 0) and
// DefaultMaxBytes bytes.
func New(capacity int) *Journal {
	if capacity <= 0 {
		capacity = DefaultCapacity
	}
	return &Journal{capacity: capacity, maxBytes: DefaultMaxBytes}
}

// SetMaxBytes sets how many bytes the journal keeps (DefaultMaxBytes if n <= 0) and
// drops the oldest entries past it at once.
func (j *Journal) SetMaxBytes(n int64) {
	if n <= 0 {
		n = DefaultMaxBytes
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.maxBytes = n
	j.trim()
}

// MaxBytes returns how many bytes the journal keeps at most.
func (j *Journal) MaxBytes() int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.maxBytes
}

// Bytes returns the estimated size of the entries the journal holds.
func (j *Journal) Bytes() int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.bytes
}

// Record bounds e (see the package comment), appends it with the next sequence number,
// drops the oldest entries past the journal's bounds, and returns e as stored.
func (j *Journal) Record(e Entry) Entry {
	e = bound(e)
	size := e.size()
	j.mu.Lock()
	defer j.mu.Unlock()
	j.seq++
	e.Seq = j.seq
	if j.n == len(j.ring) {
		if len(j.ring) < j.capacity {
			j.grow()
		} else {
			j.dropOldest()
		}
	}
	j.ring[(j.start+j.n)%len(j.ring)] = e
	j.n++
	j.bytes += size
	j.trim()
	return e
}

// grow enlarges the ring (doubling, up to the capacity), oldest entry first.
func (j *Journal) grow() {
	next := make([]Entry, min(j.capacity, max(8, 2*len(j.ring))))
	for i := range j.n {
		next[i] = j.ring[(j.start+i)%len(j.ring)]
	}
	j.ring, j.start = next, 0
}

// dropOldest removes the oldest entry, releasing its strings. Callers hold j.mu.
func (j *Journal) dropOldest() {
	j.bytes -= j.ring[j.start].size()
	j.ring[j.start] = Entry{}
	j.start = (j.start + 1) % len(j.ring)
	j.n--
}

// trim drops the oldest entries while the journal is over its byte bound, always
// keeping the newest. Callers hold j.mu.
func (j *Journal) trim() {
	for j.n > 1 && j.bytes > j.maxBytes {
		j.dropOldest()
	}
}

// List returns the entries matching f, oldest first.
func (j *Journal) List(f Filter) []Entry {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]Entry, 0, j.n)
	for i := range j.n {
		e := j.ring[(j.start+i)%len(j.ring)]
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
	return j.n
}

// Cap returns the most entries the journal keeps.
func (j *Journal) Cap() int { return j.capacity }

// Clear drops every entry and releases their storage (the Go runtime reuses it at once
// and returns it to the operating system in the background); sequence numbers keep
// growing.
func (j *Journal) Clear() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.ring, j.start, j.n, j.bytes = nil, 0, 0, 0
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

// bound returns e with every string cut to its bound and copied, and at most MaxFields
// fields (the first by name).
func bound(e Entry) Entry {
	e.Method = clip(e.Method, MaxValueBytes)
	e.Path = clip(e.Path, MaxValueBytes)
	e.Fault = clip(e.Fault, MaxValueBytes)
	e.Stub = clip(e.Stub, MaxValueBytes)
	if len(e.Fields) == 0 {
		e.Fields = nil
		return e
	}
	names := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		names = append(names, k)
	}
	if len(names) > MaxFields {
		slices.Sort(names)
		e.FieldsOmitted += len(names) - MaxFields
		names = names[:MaxFields]
	}
	fields := make(map[string]string, len(names))
	for _, k := range names {
		fields[clip(k, MaxNameBytes)] = clip(e.Fields[k], MaxValueBytes)
	}
	e.Fields = fields
	return e
}

// clip returns a copy of s, cut to its first limit bytes (on a rune boundary) plus a
// marker when longer. The copy matters: a value parsed from a form is a slice of the
// whole body, which would otherwise stay alive with it.
func clip(s string, limit int) string {
	if len(s) <= limit {
		return strings.Clone(s)
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + truncatedMarker(len(s)-cut)
}

// truncatedMarker says how many bytes were cut: "…[truncated 999 KiB]" or
// "…[truncated 12 bytes]".
func truncatedMarker(n int) string {
	if n >= 1024 {
		return fmt.Sprintf("…[truncated %d KiB]", n/1024)
	}
	return fmt.Sprintf("…[truncated %d bytes]", n)
}

// size estimates the memory e holds.
func (e *Entry) size() int64 {
	n := entryOverhead + int64(len(e.Method)+len(e.Path)+len(e.Fault)+len(e.Stub))
	for k, v := range e.Fields {
		n += fieldOverhead + int64(len(k)+len(v))
	}
	return n
}
