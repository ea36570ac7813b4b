// Package secret owns what vbharness counts as a secret and how a secret is redacted:
// which form, JSON and query fields, which headers and which environment variables carry
// one, and what marker replaces each kind. Journals, traces, console capture and reports
// all redact through it, so a secret never appears whole in anything vbharness writes,
// and no other package keeps its own list.
//
// Two kinds of secret are redacted differently. A token a server issued (an access,
// refresh or id token, an assertion, a device or user code) keeps a short suffix, so two
// tokens can still be told apart in a trace: "[redacted …x9Qa]". A credential a person
// chose or was given (a password, a client secret, a control token, a secret environment
// variable) keeps nothing: "[redacted]". A secret of unknown kind is redacted as a
// credential.
package secret

import (
	"hash/maphash"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Kind is how a secret is redacted.
type Kind uint8

const (
	// Token is a value a server issued: the marker keeps a short suffix.
	Token Kind = iota + 1
	// Credential is a value a person chose or was given: fully redacted.
	Credential
)

// fields are the form, JSON, query and header names whose values are secret, by kind.
var fields = map[string]Kind{
	"access_token": Token, "refresh_token": Token, "id_token": Token, "assertion": Token,
	"client_assertion": Token, "device_code": Token, "user_code": Token, "code": Token,
	"csrf": Token, "ticket": Token, "authorization": Token,
	"password": Credential, "client_secret": Credential, "admin_password": Credential,
	"control_token": Credential,
}

// FieldKind returns the kind of secret a form, JSON or query field carries, or 0 when
// its value is not secret. Names match case-insensitively. Besides the names above, any
// name holding "password" or "secret" is a credential (Veeam's
// applicationCertificatePassword, an S3 account's secretKey), as is Veeam's
// applicationCertificate (a PFX file with its private key), any name holding
// "passphrase" or "privatekey" (a Linux proxy's SSH privateKeyBase64 and
// privateKeyPassphrase), and Veeam's userCode and deviceCode are tokens.
func FieldKind(name string) Kind {
	l := strings.ToLower(name)
	if k := fields[l]; k != 0 {
		return k
	}
	switch {
	case strings.Contains(l, "password"), strings.Contains(l, "secret"), l == "applicationcertificate",
		strings.Contains(l, "passphrase"), strings.Contains(l, "privatekey"):
		return Credential
	case l == "usercode", l == "devicecode":
		return Token
	}
	return 0
}

// IsField reports whether a form, JSON or query field carries a secret value.
func IsField(name string) bool { return FieldKind(name) != 0 }

// IsHeader reports whether an HTTP header carries a secret value: Authorization and
// Proxy-Authorization, cookies, Veeam's antiforgery token, and the secret field names.
func IsHeader(name string) bool {
	l := strings.ToLower(name)
	switch l {
	case "cookie", "set-cookie", "proxy-authorization", "x-antiforgery-token":
		return true
	}
	// The Veeam mock's antiforgery header (X-XSRF-TOKEN, settable) and any other
	// anti-forgery token header.
	if strings.Contains(l, "xsrf") || strings.Contains(l, "csrf") || strings.Contains(l, "antiforgery") {
		return true
	}
	return IsField(name)
}

// InHeader returns the secret a header value carries and its kind: for an
// authorization header "<scheme> <credentials>", the credentials (a Bearer token is a
// token; Basic and other schemes carry a credential), for other secret headers the
// whole value (a token). ok is false for headers that carry none.
func InHeader(name, value string) (kind Kind, v string, ok bool) {
	if !IsHeader(name) || value == "" {
		return 0, "", false
	}
	if scheme, cred, found := strings.Cut(value, " "); found && !strings.Contains(cred, " ") {
		if strings.EqualFold(scheme, "Bearer") {
			return Token, cred, true
		}
		return Credential, cred, true
	}
	return Token, value, true
}

// IsEnv reports whether an environment variable's name says it holds a secret: it
// contains PASSWORD, SECRET or TOKEN (any case). Their values are credentials.
func IsEnv(name string) bool {
	u := strings.ToUpper(name)
	return strings.Contains(u, "PASSWORD") || strings.Contains(u, "SECRET") || strings.Contains(u, "TOKEN")
}

// SuffixLen is how many trailing characters the marker of a token keeps.
const SuffixLen = 4

// Redact returns the marker that replaces a secret of unknown kind: "[redacted]", all of
// it hidden.
func Redact(s string) string { return RedactAs(Credential, s) }

// RedactToken returns the marker that replaces a token: "[redacted …x9Qa]", keeping the
// last SuffixLen characters so two tokens can be told apart. Tokens of SuffixLen*3
// characters or fewer keep no suffix.
func RedactToken(s string) string { return RedactAs(Token, s) }

// RedactAs returns the marker that replaces s, a secret of kind k.
func RedactAs(k Kind, s string) string {
	if s == "" {
		return ""
	}
	if k != Token || len(s) <= SuffixLen*3 {
		return "[redacted]"
	}
	return "[redacted …" + s[len(s)-SuffixLen:] + "]"
}

// RedactField returns value as a form, JSON or query field called name may be shown:
// unchanged unless the field is secret.
func RedactField(name, value string) string {
	if k := FieldKind(name); k != 0 {
		return RedactAs(k, value)
	}
	return value
}

// RedactHeader returns value as a header called name may be shown: unchanged unless the
// header is secret; an authorization scheme stays readable ("Bearer [redacted …x9Qa]",
// "Basic [redacted]").
func RedactHeader(name, value string) string {
	k, v, ok := InHeader(name, value)
	if !ok {
		return value
	}
	if v != value {
		scheme, _, _ := strings.Cut(value, " ")
		return scheme + " " + RedactAs(k, v)
	}
	return RedactAs(k, v)
}

// Scrubber remembers every secret a run obtained or was given and replaces each
// occurrence of them in text. Safe for concurrent use.
//
// A run collects thousands of secrets (every token of every test), so neither Add nor
// Scrub may cost in proportion to all of them, and neither may memory: Add files a
// secret under its last MinLen bytes, and Scrub slides a MinLen-byte window over the
// text once, checking a bitset of hashed windows before looking a window up. Random
// tokens end in random bytes, so a window rarely names more than one secret. A secret is
// remembered by its length and a 64-bit keyed hash (hash/maphash), not its text: about
// 60 bytes each, so a run of 100 000 tests does not keep a copy of every token it saw
// (a chance match of two different values of one length, end and hash is about 2^-64).
type Scrubber struct {
	parent *Scrubber // a Child's: scrubbed with too, never added to
	mu     sync.RWMutex
	seed   maphash.Seed
	n      int
	byTail map[uint64][]print // last MinLen bytes → the secrets ending in them, longest first
	filter []uint64           // bitset over hashed tails; nil until the first Add
	bits   uint               // the filter holds 2^bits bits
}

// print is a remembered secret: its length, hash and kind.
type print struct {
	sum  uint64
	n    uint32
	kind Kind
}

// NewScrubber returns an empty scrubber.
func NewScrubber() *Scrubber {
	return &Scrubber{seed: maphash.MakeSeed(), byTail: map[uint64][]print{}}
}

// Child returns a scrubber that remembers the secrets added to it and scrubs with them
// and with every secret s knows, now or later. Dropping a child forgets its own: a
// runner gives each test on its own in-process mocks a child, so a run of any length
// does not keep every token of every test (tokens of one test's mocks cannot reach
// another test's output; secrets the run was given stay in s).
func (s *Scrubber) Child() *Scrubber {
	c := NewScrubber()
	c.parent = s
	return c
}

// MinLen is the shortest value Add remembers; shorter strings would redact ordinary words.
const MinLen = 6

const (
	tailMask   = 1<<(8*MinLen) - 1 // a window is MinLen bytes packed into a uint64
	filterBits = 18                // at first 2^18 bits (32 KiB): a few percent false hits at 10 000 secrets
	// The filter doubles whenever the secrets pass a sixteenth of its bits, so it stays
	// sparse (a few percent of windows looked up) however many secrets a run collects.
	filterLoad = 16
)

// tailHash maps a window to its bit in a filter of 2^bits bits (Fibonacci hashing).
func tailHash(key uint64, bits uint) uint64 { return (key * 0x9E3779B97F4A7C15) >> (64 - bits) }

// tail packs the last MinLen bytes of v (len(v) >= MinLen).
func tail(v string) uint64 {
	var k uint64
	for i := len(v) - MinLen; i < len(v); i++ {
		k = k<<8 | uint64(v[i])
	}
	return k
}

// Add remembers tokens (see Kind). Empty and very short values are ignored.
func (s *Scrubber) Add(values ...string) { s.AddAs(Token, values...) }

// AddCredential remembers credentials: passwords, client secrets, control tokens.
func (s *Scrubber) AddCredential(values ...string) { s.AddAs(Credential, values...) }

// AddAs remembers secrets of kind k. A value known as a token and then added as a
// credential is redacted fully from then on; never the other way round.
func (s *Scrubber) AddAs(k Kind, values ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range values {
		if len(v) < MinLen || int64(len(v)) > math.MaxUint32 {
			continue
		}
		key := tail(v)
		p := print{sum: maphash.String(s.seed, v), n: uint32(len(v)), kind: k}
		list := s.byTail[key]
		if i := slices.IndexFunc(list, func(q print) bool { return q.n == p.n && q.sum == p.sum }); i >= 0 {
			list[i].kind = max(list[i].kind, k)
			continue
		}
		i := sort.Search(len(list), func(i int) bool { return list[i].n < p.n })
		s.byTail[key] = slices.Insert(list, i, p)
		s.n++
		if s.filter == nil || s.n > (1<<s.bits)/filterLoad {
			s.grow()
		}
		h := tailHash(key, s.bits)
		s.filter[h/64] |= 1 << (h % 64)
	}
}

// grow builds a filter of at least filterBits bits, twice the size the secrets need.
func (s *Scrubber) grow() {
	bits := uint(filterBits)
	for (1<<bits)/filterLoad < s.n {
		bits++
	}
	s.bits = bits
	s.filter = make([]uint64, 1<<bits/64)
	for key := range s.byTail {
		h := tailHash(key, bits)
		s.filter[h/64] |= 1 << (h % 64)
	}
}

// match is one occurrence of a secret in a text.
type match struct {
	start, end int
	kind       Kind
}

// Scrub replaces every remembered secret in text. Where occurrences overlap, the
// leftmost wins, and of those starting at the same place the longest (an assertion is
// replaced whole, not the access token inside it).
func (s *Scrubber) Scrub(text string) string {
	if len(text) < MinLen {
		return text
	}
	var found []match
	for sc := s; sc != nil; sc = sc.parent {
		found = sc.find(text, found)
	}
	if len(found) == 0 {
		return text
	}
	slices.SortFunc(found, func(a, b match) int {
		if a.start != b.start {
			return a.start - b.start
		}
		if a.end != b.end {
			return b.end - a.end
		}
		return int(b.kind) - int(a.kind) // a credential in one scrubber, a token in the other
	})
	var out strings.Builder
	out.Grow(len(text))
	last := 0
	for _, m := range found {
		if m.start < last {
			continue
		}
		out.WriteString(text[last:m.start])
		v := text[m.start:m.end]
		out.WriteString(RedactAs(m.kind, v))
		last = m.end
	}
	out.WriteString(text[last:])
	return out.String()
}

// find appends the occurrences in text of the secrets s itself remembers.
func (s *Scrubber) find(text string, found []match) []match {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.n == 0 {
		return found
	}
	var k uint64
	for j := 0; j < len(text); j++ {
		k = (k<<8 | uint64(text[j])) & tailMask
		if j < MinLen-1 {
			continue
		}
		if h := tailHash(k, s.bits); s.filter[h/64]&(1<<(h%64)) == 0 {
			continue
		}
		end := j + 1
		for _, c := range s.byTail[k] {
			if n := int(c.n); n <= end && maphash.String(s.seed, text[end-n:end]) == c.sum {
				found = append(found, match{end - n, end, c.kind})
			}
		}
	}
	return found
}

// Len returns how many secrets the scrubber remembers (a Child: its own).
func (s *Scrubber) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.n
}
