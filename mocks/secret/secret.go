// Package secret owns how vbharness recognises and redacts secrets: tokens, device and
// user codes, passwords and assertions. Journals, traces, console capture and reports all
// redact through it, so a secret never appears whole in anything vbharness writes.
//
// A redacted value keeps only a short suffix so two values can still be told apart:
// "[redacted …x9Qa]".
package secret

import (
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
type Scrubber struct {
	mu      sync.RWMutex
	secrets map[string]bool
	sorted  []string // longest first, so a token is replaced before its substrings
	rep     *strings.Replacer
}

// NewScrubber returns an empty scrubber.
func NewScrubber() *Scrubber { return &Scrubber{secrets: map[string]bool{}} }

// MinLen is the shortest value Add remembers; shorter strings would redact ordinary words.
const MinLen = 6

// Add remembers secrets. Empty and very short values are ignored.
func (s *Scrubber) Add(values ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := false
	for _, v := range values {
		if len(v) < MinLen || s.secrets[v] {
			continue
		}
		s.secrets[v] = true
		changed = true
	}
	if changed {
		s.sorted = s.sorted[:0]
		for v := range s.secrets {
			s.sorted = append(s.sorted, v)
		}
		sort.Slice(s.sorted, func(i, j int) bool { return len(s.sorted[i]) > len(s.sorted[j]) })
		pairs := make([]string, 0, 2*len(s.sorted))
		for _, v := range s.sorted {
			pairs = append(pairs, v, Redact(v))
		}
		s.rep = strings.NewReplacer(pairs...)
	}
}

// Scrub replaces every remembered secret in text.
func (s *Scrubber) Scrub(text string) string {
	s.mu.RLock()
	rep := s.rep
	s.mu.RUnlock()
	if rep == nil {
		return text
	}
	return rep.Replace(text)
}

// Len returns how many secrets the scrubber remembers.
func (s *Scrubber) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.secrets)
}
