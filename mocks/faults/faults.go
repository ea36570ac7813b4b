// Package faults owns fault injection for the mock servers: rules matched on method,
// path pattern and optionally form fields (such as grant_type) that answer with a status
// and body, delay, drop the connection, or send a truncated or malformed body.
//
// A rule fires `times` times (default once; -1 for ever) after skipping its first `after`
// matches. Patterns are compiled when the rule is added, never per request. A rule may
// not match on a secret field (secret.IsField: tokens, codes, passwords, assertions):
// its counters would tell whoever reads them that a guessed secret was right.
package faults

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/mocks/secret"
)

// Actions a rule can take.
const (
	ActionRespond   = "respond"   // answer with Status, Headers and Body instead of the handler
	ActionDelay     = "delay"     // wait Delay, then let the handler answer (or respond, if Status is set)
	ActionDrop      = "drop"      // close the connection without an answer
	ActionTruncate  = "truncate"  // send the handler's headers and half its body, then close
	ActionMalformed = "malformed" // answer with Status (default 200) and a body that is not valid JSON
)

// Rule is one fault. The JSON form is the control API's contract.
type Rule struct {
	ID       string            `json:"id"`
	Method   string            `json:"method,omitempty"`
	Path     string            `json:"path"`
	Match    map[string]string `json:"match,omitempty"`
	Action   string            `json:"action,omitempty"`
	Status   int               `json:"status,omitempty"`
	Headers  map[string]string `json:"headers,omitempty"`
	Body     json.RawMessage   `json:"body,omitempty"`
	Delay    string            `json:"delay,omitempty"`
	RealTime bool              `json:"real_time,omitempty"`
	Times    int               `json:"times,omitempty"`
	After    int               `json:"after,omitempty"`
	Matched  int               `json:"matched"`
	Fired    int               `json:"fired"`
}

// ErrInvalid marks a rule the control API must refuse.
var ErrInvalid = errors.New("invalid fault rule")

type rule struct {
	Rule
	parts []string // path pattern split on '*', lower-cased
	delay time.Duration
}

// Set holds the rules of one server. Safe for concurrent use.
type Set struct {
	mu    sync.Mutex
	rules []*rule
	next  int
}

// NewSet returns an empty set.
func NewSet() *Set { return &Set{} }

// Add validates r, assigns an id if it has none, and installs it.
func (s *Set) Add(r Rule) (Rule, error) {
	if r.Path == "" {
		return Rule{}, fmt.Errorf("%w: path is required (use \"*\" for every path)", ErrInvalid)
	}
	if r.Action == "" {
		switch {
		case r.Status != 0:
			r.Action = ActionRespond
		case r.Delay != "":
			r.Action = ActionDelay
		default:
			return Rule{}, fmt.Errorf("%w: give an action (respond, delay, drop, truncate, malformed) or a status", ErrInvalid)
		}
	}
	// A rule that matched a secret would confirm a guess of it through its counters.
	for _, k := range slices.Sorted(maps.Keys(r.Match)) {
		if secret.IsField(k) {
			return Rule{}, fmt.Errorf("%w: match on %q is not allowed: it is a secret field, and the rule's matched "+
				"counter would confirm a guess of its value; match on grant_type, client_id or another non-secret field", ErrInvalid, k)
		}
	}
	cr := &rule{Rule: r, parts: strings.Split(strings.ToLower(r.Path), "*")}
	switch r.Action {
	case ActionRespond:
		if r.Status < 100 || r.Status > 599 {
			return Rule{}, fmt.Errorf("%w: respond needs a status between 100 and 599", ErrInvalid)
		}
	case ActionDelay:
		if r.Delay == "" {
			return Rule{}, fmt.Errorf("%w: delay needs a duration such as \"2s\"", ErrInvalid)
		}
	case ActionDrop, ActionTruncate, ActionMalformed:
	default:
		return Rule{}, fmt.Errorf("%w: unknown action %q", ErrInvalid, r.Action)
	}
	if r.Delay != "" {
		d, err := time.ParseDuration(r.Delay)
		if err != nil || d < 0 {
			return Rule{}, fmt.Errorf("%w: delay %q is not a Go duration such as \"1.5s\"", ErrInvalid, r.Delay)
		}
		cr.delay = d
	}
	if r.Status != 0 && (r.Status < 100 || r.Status > 599) {
		return Rule{}, fmt.Errorf("%w: status %d out of range", ErrInvalid, r.Status)
	}
	if len(r.Body) > 0 && !json.Valid(r.Body) {
		return Rule{}, fmt.Errorf("%w: body must be JSON", ErrInvalid)
	}
	if r.Times == 0 {
		cr.Times = 1
	}
	if r.After < 0 {
		return Rule{}, fmt.Errorf("%w: after must not be negative", ErrInvalid)
	}
	cr.Matched, cr.Fired = 0, 0
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	if cr.ID == "" {
		cr.ID = "f" + strconv.Itoa(s.next)
	}
	for _, o := range s.rules {
		if o.ID == cr.ID {
			return Rule{}, fmt.Errorf("%w: id %q already exists", ErrInvalid, cr.ID)
		}
	}
	s.rules = append(s.rules, cr)
	return cr.Rule, nil
}

// List returns a copy of the rules with their counters.
func (s *Set) List() []Rule {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Rule, len(s.rules))
	for i, r := range s.rules {
		out[i] = r.Rule
	}
	return out
}

// Remove deletes the rule with id and reports whether it existed.
func (s *Set) Remove(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, r := range s.rules {
		if r.ID == id {
			s.rules = append(s.rules[:i], s.rules[i+1:]...)
			return true
		}
	}
	return false
}

// Clear removes every rule.
func (s *Set) Clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules = nil
}

// Match returns the first rule that matches and is due to fire, counting the match.
// fields are the request's form (or JSON) fields; nil matches only rules without Match.
func (s *Set) Match(method, path string, fields map[string]string) (Rule, time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	lp := strings.ToLower(path)
	for _, r := range s.rules {
		if r.Times >= 0 && r.Fired >= r.Times {
			continue
		}
		if r.Method != "" && !strings.EqualFold(r.Method, method) {
			continue
		}
		if !globMatch(r.parts, lp) {
			continue
		}
		ok := true
		for k, v := range r.Match {
			if fields[k] != v {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		r.Matched++
		if r.Matched <= r.After {
			continue
		}
		r.Fired++
		return r.Rule, r.delay, true
	}
	return Rule{}, 0, false
}

// globMatch matches s against a pattern split on '*' ('*' matches any run of characters).
func globMatch(parts []string, s string) bool {
	if len(parts) == 1 {
		return parts[0] == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, last)
}

// Wait sleeps d on the stack clock, or on the wall clock when realTime, honouring ctx.
func Wait(ctx context.Context, clk clock.Clock, d time.Duration, realTime bool) error {
	if realTime {
		return clock.NewReal().Sleep(ctx, d)
	}
	return clk.Sleep(ctx, d)
}

// MalformedBody is what ActionMalformed sends: JSON cut off mid-value.
const MalformedBody = `{"error":"server_error","error_description":"malformed`

// Apply performs r on w. It returns true when the response is complete (the handler must
// not run) and false when the handler should answer (delay without a status). ActionDrop
// and ActionTruncate abort the connection by panicking with http.ErrAbortHandler, which
// net/http and inproc turn into a closed connection.
func Apply(w http.ResponseWriter, r *http.Request, clk clock.Clock, rule Rule, delay time.Duration, next http.Handler) bool {
	if delay > 0 {
		if err := Wait(r.Context(), clk, delay, rule.RealTime); err != nil {
			panic(http.ErrAbortHandler)
		}
	}
	switch rule.Action {
	case ActionDelay:
		if rule.Status == 0 {
			return false
		}
		writeRule(w, rule)
	case ActionRespond:
		writeRule(w, rule)
	case ActionMalformed:
		for k, v := range rule.Headers {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		status := rule.Status
		if status == 0 {
			status = http.StatusOK
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(MalformedBody))
	case ActionDrop:
		panic(http.ErrAbortHandler)
	case ActionTruncate:
		rec := &bufferWriter{h: http.Header{}}
		next.ServeHTTP(rec, r)
		for k, v := range rec.h {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(rec.body)))
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		w.WriteHeader(rec.status)
		_, _ = w.Write(rec.body[:len(rec.body)/2])
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		panic(http.ErrAbortHandler)
	}
	return true
}

func writeRule(w http.ResponseWriter, rule Rule) {
	for k, v := range rule.Headers {
		w.Header().Set(k, v)
	}
	if len(rule.Body) > 0 {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	w.WriteHeader(rule.Status)
	if len(rule.Body) > 0 {
		_, _ = w.Write(rule.Body)
	}
}

type bufferWriter struct {
	h      http.Header
	status int
	body   []byte
}

func (b *bufferWriter) Header() http.Header { return b.h }
func (b *bufferWriter) WriteHeader(s int) {
	if b.status == 0 {
		b.status = s
	}
}
func (b *bufferWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	b.body = append(b.body, p...)
	return len(p), nil
}
