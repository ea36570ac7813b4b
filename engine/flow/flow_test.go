package flow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/mocks/inproc"
	"github.com/vbharness/vbharness/mocks/secret"
)

// fakeEntra is a small strict RFC 8628 token endpoint: it answers each poll from a script
// of outcomes and records the clock time of every poll.
type fakeEntra struct {
	clk      clock.Clock
	mu       sync.Mutex
	outcomes []string // per poll: pending, slow_down, declined, ok; the last repeats
	polls    []time.Time
	forms    []url.Values
}

func (f *fakeEntra) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	w.Header().Set("Content-Type", "application/json")
	switch {
	case strings.HasSuffix(r.URL.Path, "/devicecode"):
		fmt.Fprint(w, `{"user_code":"ABCD-EFGH","device_code":"DAQABAAEAAAD-device-code-0123456789","verification_uri":"https://microsoft.com/devicelogin","expires_in":900,"interval":5,"message":"To sign in, enter the code ABCD-EFGH"}`)
	case strings.HasSuffix(r.URL.Path, "/token"):
		f.mu.Lock()
		f.polls = append(f.polls, f.clk.Now())
		f.forms = append(f.forms, r.PostForm)
		i := len(f.polls) - 1
		if i >= len(f.outcomes) {
			i = len(f.outcomes) - 1
		}
		out := f.outcomes[i]
		f.mu.Unlock()
		switch out {
		case "pending":
			w.WriteHeader(400)
			fmt.Fprint(w, `{"error":"authorization_pending","error_description":"AADSTS70016: OAuth 2.0 device flow error. Authorization is pending.","error_codes":[70016]}`)
		case "slow_down":
			w.WriteHeader(400)
			fmt.Fprint(w, `{"error":"slow_down","error_description":"slow down","error_codes":[]}`)
		case "declined":
			w.WriteHeader(400)
			fmt.Fprint(w, `{"error":"authorization_declined","error_description":"AADSTS70000: The user declined.","error_codes":[70000]}`)
		case "ok":
			fmt.Fprint(w, `{"token_type":"Bearer","scope":"User.Read","expires_in":3599,"ext_expires_in":3599,"access_token":"eyJ.access.token-entra","refresh_token":"1.refresh-entra-token"}`)
		}
	default:
		http.NotFound(w, r)
	}
}

func newEntra(t *testing.T, outcomes ...string) (*Entra, *fakeEntra, *clock.Virtual) {
	t.Helper()
	clk := clock.NewVirtual(time.Time{})
	fake := &fakeEntra{clk: clk, outcomes: outcomes}
	tr := inproc.New()
	tr.Handle("login.test", fake)
	return &Entra{HTTP: &HTTP{Client: &http.Client{Transport: tr}}, Clock: clk, EntraSettings: EntraSettings{Authority: "https://login.test", Tenant: "contoso.onmicrosoft.com"}}, fake, clk
}

func gaps(ts []time.Time, start time.Time) []time.Duration {
	var out []time.Duration
	prev := start
	for _, t := range ts {
		out = append(out, t.Sub(prev))
		prev = t
	}
	return out
}

func TestPollToken(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		outcomes []string
		gaps     []time.Duration
		code     string
		aadsts   int
	}{
		{"first poll waits one interval", []string{"ok"}, []time.Duration{5 * time.Second}, "", 0},
		{"pending polls keep the interval", []string{"pending", "pending", "ok"}, []time.Duration{5 * time.Second, 5 * time.Second, 5 * time.Second}, "", 0},
		{"slow_down adds five seconds for good", []string{"pending", "slow_down", "pending", "ok"},
			[]time.Duration{5 * time.Second, 5 * time.Second, 10 * time.Second, 10 * time.Second}, "", 0},
		{"declined ends with the Entra error", []string{"pending", "declined"}, []time.Duration{5 * time.Second, 5 * time.Second}, "authorization_declined", 70000},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e, fake, clk := newEntra(t, c.outcomes...)
			dc, err := e.DeviceCode(context.Background(), DeviceCodeRequest{})
			if err != nil {
				t.Fatal(err)
			}
			start := clk.Now()
			tok, err := e.PollToken(context.Background(), dc, PollOptions{})
			if got := gaps(fake.polls, start); fmt.Sprint(got) != fmt.Sprint(c.gaps) {
				t.Errorf("gaps between polls = %v, want %v", got, c.gaps)
			}
			if c.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				if tok.AccessToken != "eyJ.access.token-entra" || !json.Valid(tok.Raw) {
					t.Errorf("token = %+v", tok)
				}
				return
			}
			var ee *EntraError
			if !errors.As(err, &ee) || ee.Code != c.code || ee.AADSTS != c.aadsts {
				t.Fatalf("err = %v, want %s AADSTS%d", err, c.code, c.aadsts)
			}
		})
	}
}

func TestPollTokenStopsAtExpiry(t *testing.T) {
	t.Parallel()
	e, fake, clk := newEntra(t, "pending")
	dc, err := e.DeviceCode(context.Background(), DeviceCodeRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var events int
	_, err = e.PollToken(context.Background(), dc, PollOptions{OnPoll: func(PollEvent) { events++ }})
	var ee *EntraError
	if !errors.As(err, &ee) || ee.Code != "expired_token" || ee.Status != 0 {
		t.Fatalf("err = %v, want a local expired_token", err)
	}
	if len(fake.polls) != 180 || events != 180 {
		t.Errorf("polls = %d, events = %d, want 180 (900 s / 5 s)", len(fake.polls), events)
	}
	if last := fake.polls[len(fake.polls)-1]; last.After(dc.ExpiresAt()) {
		t.Errorf("last poll at %v is after expiry %v", last, dc.ExpiresAt())
	}
	if clk.Now().After(dc.ExpiresAt()) {
		t.Errorf("clock moved past expiry: %v", clk.Now())
	}
}

func TestPollTokenSendsTheDeviceCodeGrant(t *testing.T) {
	t.Parallel()
	e, fake, _ := newEntra(t, "ok")
	dc, err := e.DeviceCode(context.Background(), DeviceCodeRequest{ClientID: "app-1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.PollToken(context.Background(), dc, PollOptions{}); err != nil {
		t.Fatal(err)
	}
	f := fake.forms[0]
	if f.Get("grant_type") != GrantDeviceCode || f.Get("client_id") != "app-1" || f.Get("device_code") != dc.DeviceCode {
		t.Errorf("form = %v", f)
	}
}

func TestPollTokenEndsWithContext(t *testing.T) {
	t.Parallel()
	tr := inproc.New()
	tr.Handle("login.test", &fakeEntra{clk: clock.NewReal(), outcomes: []string{"pending"}})
	e := &Entra{HTTP: &HTTP{Client: &http.Client{Transport: tr}}, Clock: clock.NewReal(), EntraSettings: EntraSettings{Authority: "https://login.test", Tenant: "t"}}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := e.PollToken(ctx, &DeviceCode{DeviceCode: "dc-123456", ExpiresIn: 900, Interval: 5}, PollOptions{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
}

func TestParseEntraError(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body string
		code       string
		aadsts     int
	}{
		{"error_codes wins", `{"error":"invalid_grant","error_description":"AADSTS50173: x","error_codes":[70008]}`, "invalid_grant", 70008},
		{"code read from the description", `{"error":"invalid_grant","error_description":"AADSTS50173: The provided grant has expired"}`, "invalid_grant", 50173},
		{"no AADSTS at all", `{"error":"slow_down"}`, "slow_down", 0},
	}
	for _, c := range cases {
		e := ParseEntraError(400, []byte(c.body))
		if e == nil || e.Code != c.code || e.AADSTS != c.aadsts {
			t.Errorf("%s: got %+v", c.name, e)
		}
	}
	if ParseEntraError(500, []byte(`<html>`)) != nil {
		t.Error("an HTML body is not an Entra error")
	}
}

// fakeVeeam issues numbered tokens; an access token is valid until the clock passes its
// expiry or the session logs out.
type fakeVeeam struct {
	clk      clock.Clock
	mu       sync.Mutex
	n        int
	valid    map[string]time.Time
	refresh  map[string]bool
	grants   []url.Values
	apiCalls int
}

func (f *fakeVeeam) issue(w http.ResponseWriter) {
	f.n++
	at, rt := fmt.Sprintf("veeam-access-%03d", f.n), fmt.Sprintf("veeam-refresh-%03d", f.n)
	now := f.clk.Now()
	f.valid[at] = now.Add(time.Hour)
	f.refresh[rt] = true
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"access_token":%q,"refresh_token":%q,"token_type":"bearer","expires_in":3600,"userName":"contoso.onmicrosoft.com",".issued":%q,".expires":%q}`,
		at, rt, now.Format(time.RFC3339), now.Add(time.Hour).Format(time.RFC3339))
}

func (f *fakeVeeam) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.URL.Path == "/v8/token" {
		_ = r.ParseForm()
		f.grants = append(f.grants, r.PostForm)
		switch r.PostForm.Get("grant_type") {
		case GrantRefreshToken:
			if !f.refresh[r.PostForm.Get("refresh_token")] {
				w.WriteHeader(400)
				fmt.Fprint(w, `{"error":"invalid_grant","error_description":"refresh token is invalid"}`)
				return
			}
			delete(f.refresh, r.PostForm.Get("refresh_token"))
			f.issue(w)
		case GrantJWTBearer, GrantPassword:
			if r.PostForm.Get("password") == "wrong" {
				w.WriteHeader(400)
				fmt.Fprint(w, `{"message":"Invalid credentials","errorCode":"ResourceAccessDenied","stackTrace":null}`)
				return
			}
			f.issue(w)
		}
		return
	}
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if exp, ok := f.valid[tok]; !ok || !f.clk.Now().Before(exp) {
		w.Header().Set("WWW-Authenticate", "Bearer")
		w.WriteHeader(401)
		return
	}
	f.apiCalls++
	switch r.URL.Path {
	case "/v8/token/logout":
		delete(f.valid, tok)
		w.WriteHeader(204)
	case "/v8/Jobs":
		off := r.URL.Query().Get("offset")
		w.Header().Set("Content-Type", "application/json")
		switch off {
		case "", "0":
			fmt.Fprint(w, `{"offset":0,"limit":2,"results":[{"id":"a"},{"id":"b"}],"_links":{"next":{"href":"/v8/Jobs?offset=2&limit=2"}}}`)
		default:
			fmt.Fprint(w, `{"offset":2,"limit":2,"results":[{"id":"c"}],"_links":{}}`)
		}
	default:
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"name":"contoso"}`)
	}
}

func newVeeam(t *testing.T) (*Veeam, *fakeVeeam, *clock.Virtual) {
	t.Helper()
	clk := clock.NewVirtual(time.Time{})
	fake := &fakeVeeam{clk: clk, valid: map[string]time.Time{}, refresh: map[string]bool{}}
	tr := inproc.New()
	tr.Handle("veeam.test:4443", fake)
	return &Veeam{HTTP: &HTTP{Client: &http.Client{Transport: tr}}, Clock: clk, URL: "https://veeam.test:4443"}, fake, clk
}

func TestLoginAssertionSendsTheWholeEntraResponse(t *testing.T) {
	t.Parallel()
	v, fake, _ := newVeeam(t)
	assertion := `{"token_type":"Bearer","access_token":"eyJ.a.b","refresh_token":"r"}`
	s, err := v.LoginAssertion(context.Background(), "contoso.onmicrosoft.com", assertion)
	if err != nil {
		t.Fatal(err)
	}
	g := fake.grants[0]
	if g.Get("grant_type") != GrantJWTBearer || g.Get("client_id") != "contoso.onmicrosoft.com" || g.Get("assertion") != assertion || g.Get("disable_antiforgery_token") != "true" {
		t.Errorf("grant = %v", g)
	}
	tok := s.Token()
	if tok.AccessToken != "veeam-access-001" || tok.ExpiresAt.Sub(tok.IssuedAt) != time.Hour || tok.UserName != "contoso.onmicrosoft.com" {
		t.Errorf("token = %+v", tok)
	}
}

func TestSessionAutoRefresh(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		advance   time.Duration
		noAuto    bool
		status    int
		refreshed bool
	}{
		{"fresh token is used as is", 0, false, 200, false},
		{"refreshes shortly before expiry", 59*time.Minute + 30*time.Second, false, 200, true},
		{"refreshes after expiry", 61 * time.Minute, false, 200, true},
		{"autoRefresh off returns the 401", 61 * time.Minute, true, 401, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			v, _, clk := newVeeam(t)
			s, err := v.LoginPassword(context.Background(), "admin", "pw-123456")
			if err != nil {
				t.Fatal(err)
			}
			clk.Advance(c.advance)
			resp, err := s.Do(context.Background(), SessionRequest{Method: "GET", Path: "/v8/Organization", NoAutoRefresh: c.noAuto})
			if err != nil {
				t.Fatal(err)
			}
			if resp.Status != c.status || resp.Refreshed != c.refreshed {
				t.Errorf("status %d refreshed %v, want %d %v", resp.Status, resp.Refreshed, c.status, c.refreshed)
			}
		})
	}
}

func TestSessionRefreshesOnceOn401(t *testing.T) {
	t.Parallel()
	v, fake, _ := newVeeam(t)
	s, err := v.LoginPassword(context.Background(), "admin", "pw-123456")
	if err != nil {
		t.Fatal(err)
	}
	fake.mu.Lock()
	delete(fake.valid, s.Token().AccessToken) // revoked behind the session's back
	fake.mu.Unlock()
	resp, err := s.Do(context.Background(), SessionRequest{Method: "GET", Path: "/v8/Organization"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 200 || !resp.Refreshed || s.Token().AccessToken != "veeam-access-002" {
		t.Errorf("status %d refreshed %v token %s", resp.Status, resp.Refreshed, s.Token().AccessToken)
	}
	// A failed refresh leaves the 401 and reports why.
	fake.mu.Lock()
	delete(fake.valid, s.Token().AccessToken)
	fake.refresh = map[string]bool{}
	fake.mu.Unlock()
	resp, err = s.Do(context.Background(), SessionRequest{Method: "GET", Path: "/v8/Organization"})
	if err != nil {
		t.Fatal(err)
	}
	var ve *VeeamError
	if resp.Status != 401 || !errors.As(resp.RefreshErr, &ve) || ve.Code() != "invalid_grant" {
		t.Errorf("status %d refreshErr %v", resp.Status, resp.RefreshErr)
	}
}

func TestSessionPagesFollowNext(t *testing.T) {
	t.Parallel()
	v, _, _ := newVeeam(t)
	s, err := v.LoginPassword(context.Background(), "admin", "pw-123456")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	err = s.Pages(context.Background(), "/v8/Jobs", 0, func(_ *SessionResponse, p *Page) error {
		for _, r := range p.Results {
			var item struct{ ID string }
			_ = json.Unmarshal(r, &item)
			ids = append(ids, item.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(ids, ",") != "a,b,c" {
		t.Errorf("ids = %v", ids)
	}
}

func TestLogoutEndsTheSession(t *testing.T) {
	t.Parallel()
	v, _, _ := newVeeam(t)
	s, err := v.LoginPassword(context.Background(), "admin", "pw-123456")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Logout(context.Background()); err != nil {
		t.Fatal(err)
	}
	resp, err := s.Do(context.Background(), SessionRequest{Method: "GET", Path: "/v8/Organization"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 401 || resp.Refreshed {
		t.Errorf("after logout: status %d refreshed %v, want 401 without refresh", resp.Status, resp.Refreshed)
	}
}

func TestVeeamErrorShapes(t *testing.T) {
	t.Parallel()
	v, _, _ := newVeeam(t)
	_, err := v.LoginPassword(context.Background(), "admin", "wrong")
	var ve *VeeamError
	if !errors.As(err, &ve) || ve.Status != 400 || ve.Code() != "ResourceAccessDenied" || ve.Message != "Invalid credentials" {
		t.Fatalf("err = %v", err)
	}
	oauth := ParseVeeamError(400, []byte(`{"error":"invalid_grant","error_description":"bad"}`))
	if oauth.Code() != "invalid_grant" || oauth.Error() != "veeam: HTTP 400 invalid_grant: bad" {
		t.Errorf("oauth shape: %v", oauth)
	}
	if empty := ParseVeeamError(401, nil); empty.Error() != "veeam: HTTP 401 (empty body)" {
		t.Errorf("empty body: %v", empty)
	}
}

func TestSecretsAreReported(t *testing.T) {
	t.Parallel()
	e, _, _ := newEntra(t, "ok")
	secrets := map[string]secret.Kind{}
	e.HTTP.Secret = func(k secret.Kind, vs ...string) {
		for _, v := range vs {
			secrets[v] = max(secrets[v], k)
		}
	}
	dc, err := e.DeviceCode(context.Background(), DeviceCodeRequest{})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := e.PollToken(context.Background(), dc, PollOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{dc.DeviceCode, dc.UserCode, tok.AccessToken, tok.RefreshToken} {
		if secrets[s] != secret.Token {
			t.Errorf("token %q was reported as kind %d, want a token", s, secrets[s])
		}
	}
	// A password or client secret a form carries is a credential.
	if _, err := e.PostForm(context.Background(), "", "token", url.Values{"client_secret": {"the-client-secret"}, "password": {"the-password"}}); err != nil {
		t.Fatal(err)
	}
	if secrets["the-client-secret"] != secret.Credential || secrets["the-password"] != secret.Credential {
		t.Errorf("credentials reported as %d and %d, want credentials", secrets["the-client-secret"], secrets["the-password"])
	}
}
