package engine

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"mime"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vbharness/vbharness/engine/flow"
	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/mocks/secret"
)

// TokenKind says which service issued a token and what it is for.
type TokenKind string

// The kinds of token a trace records.
const (
	EntraAccess  TokenKind = "entra_access"
	EntraRefresh TokenKind = "entra_refresh"
	EntraID      TokenKind = "entra_id"
	VeeamAccess  TokenKind = "veeam_access"
	VeeamRefresh TokenKind = "veeam_refresh"
)

// Token is one token a response of the test's trace issued: its kind, the marker that
// stands for it in the redacted trace, and its life on the scenario clock. The token
// itself is never kept.
type Token struct {
	ID       string    `json:"id"`       // "t1", "t2", … in order of issue
	Kind     TokenKind `json:"kind"`     // entra_access, entra_refresh, entra_id, veeam_access, veeam_refresh
	Redacted string    `json:"redacted"` // secret.RedactToken of the token: "[redacted …x9Qa]"
	// IssuedMS is when the response that issued the token was sent for, in milliseconds
	// on the scenario clock since the test began (the request's AtMS).
	IssuedMS float64 `json:"issued_ms"`
	// IatMS is the JWT's iat claim on the same scale, when the token is a JWT that has
	// one. Entra backdates iat (and nbf) by five minutes against clock skew, so it can
	// be before IssuedMS, even negative.
	IatMS *float64 `json:"iat_ms,omitempty"`
	// ExpiresMS is when it expires on the same scale: the JWT's exp, else the response's
	// expires_in (access tokens) or refresh_token_expires_in (refresh tokens). Nil when
	// neither says (the refresh tokens of Entra and Veeam).
	ExpiresMS *float64 `json:"expires_ms,omitempty"`
	// ExpiryFrom says where ExpiresMS came from: "exp" or "expires_in"; empty when nil.
	ExpiryFrom string `json:"expiry_from,omitempty"`
	// Exchange is the index in Result.Trace of the exchange whose response issued it.
	Exchange int `json:"exchange"`
}

// ClockStep is one move of the scenario clock that was not a request: clock.advance
// ("advance"), or a wait ("wait": sleep, a timer, pollToken's interval). Consecutive waits
// with nothing between them are one step.
type ClockStep struct {
	AtMS float64 `json:"at_ms"` // where the step began, ms since the test began
	ByMS float64 `json:"by_ms"` // how far it moved the clock
	How  string  `json:"how"`   // advance, wait
}

// Excerpt is a few lines of a script around a failing line.
type Excerpt struct {
	File   string        `json:"file"`
	Line   int           `json:"line"`   // the failing line, 1-based
	Column int           `json:"column"` // 1-based; 0 when unknown
	Lines  []ExcerptLine `json:"lines"`  // the failing line and up to two on either side
}

// ExcerptLine is one numbered line of an Excerpt.
type ExcerptLine struct {
	N    int    `json:"n"`
	Text string `json:"text"`
}

// timeline records, for one test, when each exchange happened on the scenario clock,
// which tokens responses issued and requests carried, and the clock's steps. It keeps
// the raw tokens only to recognise them in later requests; they never leave it.
type timeline struct {
	start  time.Time
	entra  string // origins of the target's services, to tell whose token a response issued
	veeam  string
	ids    map[string]string // raw token → id
	tokens []Token
	steps  []ClockStep
	nx     int // exchanges recorded when the last step was
}

func newTimeline(start time.Time, t *Target) *timeline {
	tl := &timeline{start: start, ids: map[string]string{}}
	if t != nil {
		tl.entra, tl.veeam = strings.TrimRight(t.Entra.Authority, "/"), strings.TrimRight(t.Veeam.URL, "/")
	}
	return tl
}

func (tl *timeline) ms(t time.Time) float64 {
	return float64(t.Sub(tl.start).Microseconds()) / 1000
}

// exchange stamps e (the trace entry of ex, index i of the trace) with its time, the
// tokens its request used and those its response issued.
func (tl *timeline) exchange(ex *flow.Exchange, e *Exchange, i int) {
	if !ex.At.IsZero() {
		e.AtMS = tl.ms(ex.At)
	}
	e.Uses = tl.uses(ex)
	if ex.Status < 200 || ex.Status > 299 || !bytes.Contains(ex.ResponseBody, []byte(`_token"`)) {
		return // no token in it: most API answers, not decoded
	}
	service := tl.service(ex.URL)
	if service == "" {
		return
	}
	var body map[string]any
	if json.Unmarshal(ex.ResponseBody, &body) != nil {
		return
	}
	arrived := ex.At
	if arrived.IsZero() {
		arrived = tl.start
	}
	for _, f := range []struct {
		field, lifetime string
		kind            TokenKind
	}{
		{"access_token", "expires_in", TokenKind(service + "_access")},
		{"id_token", "", EntraID},
		{"refresh_token", "refresh_token_expires_in", TokenKind(service + "_refresh")},
	} {
		raw, _ := body[f.field].(string)
		if raw == "" || (f.kind == EntraID && service != "entra") {
			continue
		}
		if id, seen := tl.ids[raw]; seen {
			e.Issues = append(e.Issues, id)
			continue
		}
		tok := Token{ID: "t" + strconv.Itoa(len(tl.tokens)+1), Kind: f.kind, Redacted: secret.RedactToken(raw), IssuedMS: tl.ms(arrived), Exchange: i}
		iat, exp := jwtTimes(raw)
		if iat != nil {
			v := tl.ms(*iat)
			tok.IatMS = &v
		}
		switch secs, ok := number(body[f.lifetime]); {
		case exp != nil:
			v := tl.ms(*exp)
			tok.ExpiresMS, tok.ExpiryFrom = &v, "exp"
		case f.lifetime != "" && ok:
			v := tl.ms(arrived) + secs*1000
			tok.ExpiresMS, tok.ExpiryFrom = &v, "expires_in"
		}
		tl.ids[raw] = tok.ID
		tl.tokens = append(tl.tokens, tok)
		e.Issues = append(e.Issues, tok.ID)
	}
}

// service says whose endpoint a URL is: "entra", "veeam" or "" (neither). The target's
// origins decide; a URL of neither is judged by its path.
func (tl *timeline) service(raw string) string {
	switch {
	case tl.veeam != "" && strings.HasPrefix(raw, tl.veeam+"/"):
		return "veeam"
	case tl.entra != "" && strings.HasPrefix(raw, tl.entra+"/"):
		return "entra"
	}
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	switch {
	case strings.Contains(u.Path, "/oauth2/"):
		return "entra"
	case strings.HasSuffix(u.Path, "/token"):
		return "veeam"
	}
	return ""
}

// uses returns the ids of the known tokens a request carries: the Authorization
// header's credentials, and form or JSON fields that carry tokens (an assertion may be a
// whole Entra token response, whose access token it then uses).
func (tl *timeline) uses(ex *flow.Exchange) []string {
	if len(tl.ids) == 0 {
		return nil
	}
	var out []string
	add := func(raw string) {
		if id, ok := tl.ids[raw]; ok {
			for _, o := range out {
				if o == id {
					return
				}
			}
			out = append(out, id)
		}
	}
	for _, v := range ex.RequestHeader.Values("Authorization") {
		if _, cred, ok := strings.Cut(v, " "); ok {
			add(strings.TrimSpace(cred))
		}
	}
	fields := map[string][]string{}
	mt, _, _ := mime.ParseMediaType(ex.RequestHeader.Get("Content-Type"))
	switch {
	case mt == "application/x-www-form-urlencoded":
		fields, _ = url.ParseQuery(string(ex.RequestBody))
	case len(ex.RequestBody) > 0 && (isJSONType(mt) || json.Valid(ex.RequestBody)):
		var m map[string]any
		if json.Unmarshal(ex.RequestBody, &m) == nil {
			for k, v := range m {
				if s, ok := v.(string); ok {
					fields[k] = []string{s}
				}
			}
		}
	}
	for _, k := range []string{"refresh_token", "assertion", "access_token", "id_token", "client_assertion"} {
		for _, v := range fields[k] {
			add(v)
			var inner map[string]any
			if strings.HasPrefix(strings.TrimSpace(v), "{") && json.Unmarshal([]byte(v), &inner) == nil {
				for _, f := range []string{"access_token", "id_token"} {
					if s, ok := inner[f].(string); ok {
						add(s)
					}
				}
			}
		}
	}
	return out
}

// step records a move of the clock by d from at.
func (tl *timeline) step(at time.Time, d time.Duration, how string, exchanges int) {
	if d <= 0 {
		return
	}
	s := ClockStep{AtMS: tl.ms(at), ByMS: float64(d.Microseconds()) / 1000, How: how}
	if n := len(tl.steps); n > 0 && exchanges == tl.nx {
		last := &tl.steps[n-1]
		if last.How == how && last.AtMS+last.ByMS == s.AtMS {
			last.ByMS += s.ByMS
			return
		}
	}
	tl.nx = exchanges
	tl.steps = append(tl.steps, s)
}

// jwtTimes reads the iat and exp claims of a JWT; nil for what it lacks or when s is not
// a JWT.
func jwtTimes(s string) (iat, exp *time.Time) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return nil, nil
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, nil
	}
	var claims map[string]any
	if json.Unmarshal(payload, &claims) != nil {
		return nil, nil
	}
	at := func(k string) *time.Time {
		if v, ok := number(claims[k]); ok {
			t := time.Unix(0, 0).Add(time.Duration(v * float64(time.Second)))
			return &t
		}
		return nil
	}
	return at("iat"), at("exp")
}

// number reads a JSON number, or a numeric string as Entra's v1 endpoints send.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case string:
		var f float64
		if err := json.Unmarshal([]byte(x), &f); err == nil {
			return f, true
		}
	}
	return 0, false
}

// recordingClock is the scenario clock as the runtime sees it: every Advance and Sleep
// made through it is a step of the timeline. The mocks share the clock underneath.
type recordingClock struct {
	clock.Clock
	h *host
}

func (c recordingClock) Advance(d time.Duration) time.Time {
	at := c.Clock.Now()
	now := c.Clock.Advance(d)
	c.h.tl.step(at, now.Sub(at), "advance", len(c.h.rec.trace))
	return now
}

func (c recordingClock) TryAdvance(d time.Duration) (time.Time, error) {
	at := c.Clock.Now()
	now, err := c.Clock.TryAdvance(d)
	if err == nil {
		c.h.tl.step(at, now.Sub(at), "advance", len(c.h.rec.trace))
	}
	return now, err
}

func (c recordingClock) Sleep(ctx context.Context, d time.Duration) error {
	at := c.Clock.Now()
	err := c.Clock.Sleep(ctx, d)
	c.h.tl.step(at, c.Clock.Now().Sub(at), "wait", len(c.h.rec.trace))
	return err
}
