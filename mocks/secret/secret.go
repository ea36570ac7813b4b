// Package secret owns how vbharness recognises and redacts secrets: tokens, device and
// user codes, passwords and assertions. Journals, traces, console capture and reports all
// redact through it, so a secret never appears whole in anything vbharness writes.
//
// A redacted value keeps only a short suffix so two values can still be told apart:
// "[redacted …x9Qa]".
package secret

import (
	"slices"
	"sort"
	"strings"
	"sync"
)

// fieldNames are form, JSON and header names whose values are secret.
var fieldNames = map[string]bool{
	"access_token": true, "refresh_token": true, "id_token": true, "assertion": true,
	"device_code": true, "user_code": true, "code": true, "password": true,
	"client_secret": true, "client_assertion": true, "authorization": true,
	"admin_password": true, "control_token": true, "csrf": true, "ticket": true,
}

// IsField reports whether a form, JSON or header field name carries a secret value.
func IsField(name string) bool { return fieldNames[strings.ToLower(name)] }

// SuffixLen is how many trailing characters a redacted value keeps.
const SuffixLen = 4

// Redact returns the marker that replaces s. Values of SuffixLen*3 characters or fewer
// keep no suffix at all.
func Redact(s string) string {
	if s == "" {
		return ""
	}
	if len(s) <= SuffixLen*3 {
		return "[redacted]"
	}
	return "[redacted …" + s[len(s)-SuffixLen:] + "]"
}

// Scrubber remembers every secret a run obtained or was given and replaces each
// occurrence of them in text. Safe for concurrent use.
//
// A run collects thousands of secrets (every token of every test), so neither Add nor
// Scrub may cost in proportion to all of them: Add files a secret under its last MinLen
// bytes, and Scrub slides a MinLen-byte window over the text once, checking a bitset of
// hashed windows before looking a window up. Random tokens end in random bytes, so a
// window rarely names more than one secret.
type Scrubber struct {
	mu      sync.RWMutex
	secrets map[string]bool
	byTail  map[uint64][]string // last MinLen bytes → the secrets ending in them, longest first
	filter  []uint64            // bitset over hashed tails; nil until the first Add
}

// NewScrubber returns an empty scrubber.
func NewScrubber() *Scrubber {
	return &Scrubber{secrets: map[string]bool{}, byTail: map[uint64][]string{}}
}

// MinLen is the shortest value Add remembers; shorter strings would redact ordinary words.
const MinLen = 6

const (
	tailMask   = 1<<(8*MinLen) - 1 // a window is MinLen bytes packed into a uint64
	filterBits = 18                // 2^18 bits (32 KiB): a few percent false hits at 10 000 secrets
)

// tailHash maps a window to its bit in the filter (Fibonacci hashing).
func tailHash(key uint64) uint64 { return (key * 0x9E3779B97F4A7C15) >> (64 - filterBits) }

// tail packs the last MinLen bytes of v (len(v) >= MinLen).
func tail(v string) uint64 {
	var k uint64
	for i := len(v) - MinLen; i < len(v); i++ {
		k = k<<8 | uint64(v[i])
	}
	return k
}

// Add remembers secrets. Empty and very short values are ignored.
func (s *Scrubber) Add(values ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range values {
		if len(v) < MinLen || s.secrets[v] {
			continue
		}
		s.secrets[v] = true
		if s.filter == nil {
			s.filter = make([]uint64, 1<<filterBits/64)
		}
		k := tail(v)
		h := tailHash(k)
		s.filter[h/64] |= 1 << (h % 64)
		list := s.byTail[k]
		i := sort.Search(len(list), func(i int) bool { return len(list[i]) < len(v) })
		s.byTail[k] = slices.Insert(list, i, v)
	}
}

// match is one occurrence of a secret in a text.
type match struct{ start, end int }

// Scrub replaces every remembered secret in text. Where occurrences overlap, the
// leftmost wins, and of those starting at the same place the longest (an assertion is
// replaced whole, not the access token inside it).
func (s *Scrubber) Scrub(text string) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if len(s.secrets) == 0 || len(text) < MinLen {
		return text
	}
	var found []match
	var k uint64
	for j := 0; j < len(text); j++ {
		k = (k<<8 | uint64(text[j])) & tailMask
		if j < MinLen-1 {
			continue
		}
		if h := tailHash(k); s.filter[h/64]&(1<<(h%64)) == 0 {
			continue
		}
		end := j + 1
		for _, c := range s.byTail[k] {
			if len(c) <= end && text[end-len(c):end] == c {
				found = append(found, match{end - len(c), end})
			}
		}
	}
	if len(found) == 0 {
		return text
	}
	slices.SortFunc(found, func(a, b match) int {
		if a.start != b.start {
			return a.start - b.start
		}
		return b.end - a.end
	})
	var out strings.Builder
	out.Grow(len(text))
	last := 0
	for _, m := range found {
		if m.start < last {
			continue
		}
		out.WriteString(text[last:m.start])
		out.WriteString(Redact(text[m.start:m.end]))
		last = m.end
	}
	out.WriteString(text[last:])
	return out.String()
}

// Len returns how many secrets the scrubber remembers.
func (s *Scrubber) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.secrets)
}
