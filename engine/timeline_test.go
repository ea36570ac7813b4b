package engine

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestTimelineRecordsTokenLife runs testdata/timeline.js on the mocks and checks what the
// HTML report's timeline is drawn from against the redacted trace itself: every token
// issued by a response, its expiry from the response's expires_in, the requests that
// carried it (by the marker the trace shows), the refresh, the refusals and the clock's
// advance.
func TestTimelineRecordsTokenLife(t *testing.T) {
	t.Parallel()
	res := runMock(t, load(t, "timeline.js"), "token life", RunOptions{})
	if res.Status != StatusPassed {
		t.Fatalf("status %s: %s\n%s", res.Status, res.Message, res.Stack)
	}
	kinds := map[TokenKind]int{}
	byID := map[string]Token{}
	for _, tok := range res.Tokens {
		kinds[tok.Kind]++
		byID[tok.ID] = tok
		if !strings.HasPrefix(tok.Redacted, "[redacted …") {
			t.Errorf("token %s: redacted %q is not a marker", tok.ID, tok.Redacted)
		}
	}
	// Entra: access and refresh from the device-code grant. Veeam: a pair from the
	// jwt-bearer grant and another from the refresh.
	want := map[TokenKind]int{EntraAccess: 1, EntraRefresh: 1, VeeamAccess: 2, VeeamRefresh: 2}
	for k, n := range want {
		if kinds[k] != n {
			t.Errorf("%d %s tokens, want %d (all: %+v)", kinds[k], k, n, res.Tokens)
		}
	}
	for _, tok := range res.Tokens {
		x := res.Trace[tok.Exchange]
		issued := false
		for _, id := range x.Issues {
			issued = issued || id == tok.ID
		}
		if !issued || !strings.Contains(x.ResponseBody, tok.Redacted) {
			t.Errorf("token %s: exchange %d (issues %v) does not issue it or its body lacks %s", tok.ID, tok.Exchange, x.Issues, tok.Redacted)
		}
		if tok.IssuedMS != x.AtMS {
			t.Errorf("token %s issued at %v ms, its exchange at %v ms", tok.ID, tok.IssuedMS, x.AtMS)
		}
		if !strings.HasSuffix(string(tok.Kind), "_access") {
			continue
		}
		var body struct {
			ExpiresIn float64 `json:"expires_in"`
		}
		if err := json.Unmarshal([]byte(x.ResponseBody), &body); err != nil || body.ExpiresIn == 0 {
			t.Fatalf("token %s: no expires_in in %s", tok.ID, x.ResponseBody)
		}
		// The mocks' exp and expires_in agree to the second (Entra's expires_in is 3599).
		if tok.ExpiresMS == nil || *tok.ExpiresMS-(x.AtMS+body.ExpiresIn*1000) > 1000 || *tok.ExpiresMS < x.AtMS+body.ExpiresIn*1000 {
			t.Errorf("token %s expires at %v, want %v + %v s", tok.ID, tok.ExpiresMS, x.AtMS, body.ExpiresIn)
		}
	}
	var bearer, refusals, refreshes int
	for i, x := range res.Trace {
		for _, id := range x.Uses {
			tok, ok := byID[id]
			if !ok {
				t.Fatalf("exchange %d uses unknown token %s", i, id)
			}
			if auth := x.RequestHeaders["Authorization"]; auth != "" {
				bearer++
				if !strings.HasSuffix(auth, tok.Redacted) {
					t.Errorf("exchange %d uses %s (%s) but sends %q", i, id, tok.Redacted, auth)
				}
			}
			if strings.Contains(x.RequestBody, "grant_type=refresh_token") {
				refreshes++
			}
		}
		if len(x.Uses) > 0 && (x.Status == 401 || strings.Contains(x.ResponseBody, "invalid_grant")) {
			refusals++
		}
	}
	if bearer != 3 || refreshes != 2 || refusals != 2 {
		t.Errorf("%d bearer uses, %d refresh grants, %d refusals; want 3, 2 and 2\n%+v", bearer, refreshes, refusals, res.Trace)
	}
	var advanced bool
	for _, s := range res.Clock {
		if s.How == "advance" && s.ByMS == 61*60*1000 {
			advanced = true
			for _, x := range res.Trace {
				if x.AtMS > s.AtMS && x.AtMS < s.AtMS+s.ByMS {
					t.Errorf("an exchange at %v ms lies inside the advance %+v", x.AtMS, s)
				}
			}
		}
	}
	if !advanced {
		t.Errorf("clock steps %+v lack the 61 min advance", res.Clock)
	}
	if res.Excerpt != nil {
		t.Errorf("a passing test has an excerpt: %+v", res.Excerpt)
	}
}

// TestExcerptShowsTheFailingLine: a failing test's result quotes the script around the
// line its first stack frame names.
func TestExcerptShowsTheFailingLine(t *testing.T) {
	t.Parallel()
	res := runMock(t, load(t, "timeline.js"), "fails at line 21", RunOptions{})
	if res.Status != StatusFailed {
		t.Fatalf("status %s: %s", res.Status, res.Message)
	}
	x := res.Excerpt
	if x == nil || x.File != "timeline.js" || x.Line != 21 || len(x.Lines) != 5 {
		t.Fatalf("excerpt %+v, want timeline.js line 21 with two lines either side", x)
	}
	if l := x.Lines[2]; l.N != 21 || !strings.Contains(l.Text, "expect(answer).toBe(42)") {
		t.Errorf("failing line %+v", l)
	}
}
