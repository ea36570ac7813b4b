package entra

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vbharness/vbharness/mocks/clock"
)

// GET /_mock/devicecodes lists state, user code, client, scopes, poll count, user and
// expiry, and never the device code.
func TestControlListsDeviceCodes(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	a := ts.issueCode(t, seedScope)
	b := ts.issueCode(t, "User.Read.All offline_access")
	ts.post(t, tokenPath, pollForm(a.DeviceCode))
	ts.post(t, tokenPath, pollForm(a.DeviceCode))
	ts.approve(t, a.UserCode)

	r := ts.control(t, http.MethodGet, "/_mock/devicecodes", nil)
	if r.Status != 200 {
		t.Fatalf("list: %d %s", r.Status, r.Raw)
	}
	if strings.Contains(string(r.Raw), a.DeviceCode) || strings.Contains(string(r.Raw), b.DeviceCode) || strings.Contains(string(r.Raw), `"device_code"`) {
		t.Fatal("the listing exposes a device code")
	}
	list, _ := r.JSON["devicecodes"].([]any)
	if len(list) != 2 {
		t.Fatalf("devicecodes = %s", r.Raw)
	}
	byCode := map[string]map[string]any{}
	for _, e := range list {
		m := e.(map[string]any)
		byCode[m["user_code"].(string)] = m
	}
	ea, eb := byCode[a.UserCode], byCode[b.UserCode]
	if ea["state"] != StateApproved || ea["poll_count"] != float64(2) || ea["user"] != DefaultAdminUPN || ea["client_id"] != AzureCLIClientID {
		t.Errorf("approved code = %v", ea)
	}
	if scopes, _ := ea["scopes"].([]any); len(scopes) != 3 || scopes[2] != "offline_access" {
		t.Errorf("scopes = %v", ea["scopes"])
	}
	if eb["state"] != StatePending || eb["poll_count"] != float64(0) || eb["user"] != nil {
		t.Errorf("pending code = %v", eb)
	}
	if exp, err := time.Parse(time.RFC3339, eb["expires_at"].(string)); err != nil || !exp.Equal(ts.Clock.Now().Add(900*time.Second)) {
		t.Errorf("expires_at = %v (%v)", eb["expires_at"], err)
	}
	ts.Clock.Advance(900 * time.Second)
	if got := ts.DeviceCodes(); got[0].State != StateExpired || got[1].State != StateExpired {
		t.Errorf("after expires_in the codes are %s/%s, want expired", got[0].State, got[1].State)
	}
}

func TestControlApproveAndDeny(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		run    func(ts *testServer, code string) reply
		status int
		want   string
	}{
		{"approve names a user", func(ts *testServer, code string) reply {
			return ts.control(t, http.MethodPost, "/_mock/devicecodes/approve", map[string]string{"user_code": code, "user": DefaultAdminUPN})
		}, 200, `"state":"approved"`},
		{"approve of an unknown user is 400", func(ts *testServer, code string) reply {
			return ts.control(t, http.MethodPost, "/_mock/devicecodes/approve", map[string]string{"user_code": code, "user": "ghost@abc.onmicrosoft.com"})
		}, 400, "is not a user of tenant abc.onmicrosoft.com"},
		{"approving twice is 409", func(ts *testServer, code string) reply {
			ts.approve(t, code)
			return ts.control(t, http.MethodPost, "/_mock/devicecodes/approve", map[string]string{"user_code": code})
		}, 409, "is approved"},
		{"approve of an unknown code is 404 with a clear message", func(ts *testServer, code string) reply {
			return ts.control(t, http.MethodPost, "/_mock/devicecodes/approve", map[string]string{"user_code": "NOTACODE1"})
		}, 404, `unknown user code \"NOTACODE1\"; GET /_mock/devicecodes lists`},
		{"deny declines", func(ts *testServer, code string) reply {
			return ts.control(t, http.MethodPost, "/_mock/devicecodes/deny", map[string]string{"user_code": code})
		}, 200, `"state":"denied"`},
		{"deny of an expired code is 409", func(ts *testServer, code string) reply {
			ts.Clock.Advance(time.Hour)
			return ts.control(t, http.MethodPost, "/_mock/devicecodes/deny", map[string]string{"user_code": code})
		}, 409, "is expired"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t)
			r := c.run(ts, ts.issueCode(t, seedScope).UserCode)
			if r.Status != c.status || !strings.Contains(string(r.Raw), c.want) {
				t.Errorf("got %d %s, want %d containing %s", r.Status, r.Raw, c.status, c.want)
			}
		})
	}
}

func TestControlAutoApprove(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		body map[string]any
		// run polls or advances the clock and returns the statuses of the polls.
		run  func(t *testing.T, ts *testServer, d deviceCodeResponse) []int
		want []int
	}{
		{"after_polls 0 approves at the first poll", map[string]any{"after_polls": 0}, func(t *testing.T, ts *testServer, d deviceCodeResponse) []int {
			return []int{ts.post(t, tokenPath, pollForm(d.DeviceCode)).Status}
		}, []int{200}},
		{"after_polls 2 answers two pending polls first", map[string]any{"after_polls": 2, "user": DefaultAdminUPN}, func(t *testing.T, ts *testServer, d deviceCodeResponse) []int {
			var out []int
			for range 3 {
				out = append(out, ts.post(t, tokenPath, pollForm(d.DeviceCode)).Status)
			}
			return out
		}, []int{400, 400, 200}},
		{"after 30s approves once the clock has moved 30 s", map[string]any{"after": "30s"}, func(t *testing.T, ts *testServer, d deviceCodeResponse) []int {
			first := ts.post(t, tokenPath, pollForm(d.DeviceCode)).Status
			ts.Clock.Advance(30 * time.Second)
			return []int{first, ts.post(t, tokenPath, pollForm(d.DeviceCode)).Status}
		}, []int{400, 200}},
		{"off stops it", map[string]any{"after_polls": 0}, func(t *testing.T, ts *testServer, d deviceCodeResponse) []int {
			if r := ts.control(t, http.MethodPost, "/_mock/devicecodes/auto-approve", map[string]any{"off": true}); r.Status != 200 {
				t.Fatalf("off: %d %s", r.Status, r.Raw)
			}
			return []int{ts.post(t, tokenPath, pollForm(d.DeviceCode)).Status}
		}, []int{400}},
		{"DELETE stops it", map[string]any{"after_polls": 0}, func(t *testing.T, ts *testServer, d deviceCodeResponse) []int {
			if r := ts.control(t, http.MethodDelete, "/_mock/devicecodes/auto-approve", nil); r.Status != 200 {
				t.Fatalf("delete: %d %s", r.Status, r.Raw)
			}
			return []int{ts.post(t, tokenPath, pollForm(d.DeviceCode)).Status}
		}, []int{400}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t)
			before := ts.issueCode(t, seedScope) // a code issued before the rule
			if r := ts.control(t, http.MethodPost, "/_mock/devicecodes/auto-approve", c.body); r.Status != 200 {
				t.Fatalf("auto-approve: %d %s", r.Status, r.Raw)
			}
			if got := c.run(t, ts, before); !equalInts(got, c.want) {
				t.Errorf("current code: polls %v, want %v", got, c.want)
			}
			if got := c.run(t, ts, ts.issueCode(t, seedScope)); !equalInts(got, c.want) {
				t.Errorf("future code: polls %v, want %v", got, c.want)
			}
		})
	}
	ts := newTestServer(t)
	if r := ts.control(t, http.MethodPost, "/_mock/devicecodes/auto-approve", map[string]any{"user": "ghost@nowhere.test"}); r.Status != 400 {
		t.Errorf("auto-approve for an unknown user: %d %s", r.Status, r.Raw)
	}
}

// Revocation refuses refresh tokens issued before it, and only those.
func TestControlRevokeUser(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	old := ts.tokens(t, seedScope, nil).str("refresh_token")
	r := ts.control(t, http.MethodPost, "/_mock/users/revoke", map[string]string{"user": DefaultAdminUPN})
	if r.Status != 200 || r.str("tokens_valid_from") != ts.Clock.Now().Format(time.RFC3339) {
		t.Fatalf("revoke: %d %s", r.Status, r.Raw)
	}
	refresh := func(rt string) reply {
		return ts.post(t, tokenPath, url.Values{"grant_type": {"refresh_token"}, "client_id": {AzureCLIClientID}, "refresh_token": {rt}})
	}
	if got := refresh(old); got.Status != 400 || !strings.HasPrefix(got.str("error_description"), "AADSTS50173:") {
		t.Errorf("old token after revoke: %d %s", got.Status, got.Raw)
	}
	fresh := ts.tokens(t, seedScope, nil).str("refresh_token")
	if got := refresh(fresh); got.Status != 200 {
		t.Errorf("a token issued after the revocation is refused: %s", got.Raw)
	}
}

func TestControlSettings(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	r := ts.control(t, http.MethodGet, "/_mock/settings", nil)
	want := `{"strict_rfc8628":false,"access_token_lifetime":3599,"device_code_lifetime":900,"interval":5,"refresh_token_inactivity":7776000,"public_client_basic_auth":"reject","unknown_device_code_error":"bad_verification_code","graph_audience":"auto","assertion_jti_reuse":"accept","revoked_consent":"no_roles"}`
	if r.Status != 200 || string(r.Raw) != want {
		t.Fatalf("GET settings = %d %s\nwant %s", r.Status, r.Raw, want)
	}
	r = ts.control(t, http.MethodPut, "/_mock/settings", map[string]any{"interval": 2, "device_code_lifetime": 60})
	if r.Status != 200 || r.JSON["interval"] != float64(2) || r.JSON["device_code_lifetime"] != float64(60) || r.JSON["access_token_lifetime"] != float64(3599) {
		t.Fatalf("PUT settings = %d %s", r.Status, r.Raw)
	}
	d := ts.issueCode(t, seedScope)
	if d.Interval != 2 || d.ExpiresIn != 60 {
		t.Errorf("a new code has interval %d and expires_in %d, want 2 and 60", d.Interval, d.ExpiresIn)
	}
	ts.control(t, http.MethodPost, "/_mock/reset", nil)
	if got := ts.Settings(); got.Interval != 5 || got.DeviceCodeLifetime != 900 {
		t.Errorf("settings after reset = %+v", got)
	}
}

// The strict RFC 8628 dialect, for the server or one code: every early poll gets
// slow_down and adds 5 s to the code's interval, as the client adds 5 s on its side
// (RFC 8628 §3.5).
func TestStrictDialect(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	d := ts.issueCode(t, seedScope)
	other := ts.issueCode(t, seedScope)
	if r := ts.control(t, http.MethodPost, "/_mock/devicecodes/dialect", map[string]any{"user_code": d.UserCode, "strict": true}); r.Status != 200 || r.JSON["strict"] != true {
		t.Fatalf("dialect: %d %s", r.Status, r.Raw)
	}
	poll := func(code string) string { return ts.post(t, tokenPath, pollForm(code)).str("error") }
	got := []string{poll(d.DeviceCode), poll(d.DeviceCode)}
	ts.Clock.Advance(9 * time.Second)
	got = append(got, poll(d.DeviceCode)) // 9 s < 10 s: slow_down again, interval now 15 s
	ts.Clock.Advance(15 * time.Second)
	got = append(got, poll(d.DeviceCode))
	if want := []string{"authorization_pending", "slow_down", "slow_down", "authorization_pending"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("strict code polls = %v, want %v", got, want)
	}
	if other := []string{poll(other.DeviceCode), poll(other.DeviceCode)}; other[1] != "authorization_pending" {
		t.Errorf("a code in Entra's dialect got %v; Entra never sends slow_down", other)
	}
	ts.control(t, http.MethodPut, "/_mock/settings", map[string]any{"strict_rfc8628": true})
	if e := poll(other.DeviceCode); e != "slow_down" {
		t.Errorf("after switching the server to strict, an early poll got %q", e)
	}
}

// The control API answers loopback callers only unless a token is configured; then
// it needs the token.
func TestControlGuard(t *testing.T) {
	t.Parallel()
	plain := New(clock.NewVirtual(time.Time{}))
	req := httptest.NewRequest(http.MethodGet, "/_mock/devicecodes", nil) // from 192.0.2.1
	w := httptest.NewRecorder()
	plain.ServeHTTP(w, req)
	if w.Code != http.StatusForbidden {
		t.Errorf("a remote caller without a token got %d, want 403", w.Code)
	}

	ts := newTestServer(t, WithControlToken("let-me-in"))
	if r := ts.control(t, http.MethodGet, "/_mock/devicecodes", nil); r.Status != http.StatusUnauthorized {
		t.Errorf("without the token: %d, want 401", r.Status)
	}
	req, _ = http.NewRequest(http.MethodGet, ts.URL+"/_mock/devicecodes", nil)
	req.Header.Set("Authorization", "Bearer let-me-in")
	if r := ts.do(t, req); r.Status != http.StatusOK {
		t.Errorf("with the token: %d %s", r.Status, r.Raw)
	}
}

// Reset forgets codes, tokens and revocations and restores settings and keys.
func TestReset(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	initial := ts.Keys().Active().KID
	ts.issueCode(t, seedScope)
	ts.control(t, http.MethodPost, "/_mock/keys/rotate", nil)
	ts.control(t, http.MethodPut, "/_mock/settings", map[string]any{"strict_rfc8628": true})
	if _, err := ts.RevokeUser(DefaultAdminUPN); err != nil {
		t.Fatal(err)
	}
	if r := ts.control(t, http.MethodPost, "/_mock/reset", nil); r.Status != 200 {
		t.Fatalf("reset: %d", r.Status)
	}
	if n := len(ts.DeviceCodes()); n != 0 {
		t.Errorf("%d device codes survive reset", n)
	}
	if ts.Keys().Active().KID != initial || ts.Settings().StrictRFC8628 {
		t.Error("reset did not restore the key or the settings")
	}
	if ts.store.epoch(DefaultAdminUPN).epoch != 0 {
		t.Error("reset did not forget the revocation")
	}
	if len(ts.requests("/")) != 0 {
		t.Error("POST /_mock/reset did not clear the journal")
	}
}

// The device-code store stays bounded: codes past their retention are purged and,
// when full, the oldest finished code goes first; a store full of live codes refuses
// new ones rather than drop one.
func TestStoreIsBounded(t *testing.T) {
	t.Parallel()
	s := newStore(newDirectory(DefaultDirectory()))
	s.limit = 3
	t0 := clock.DefaultStart
	add := func(at time.Time) (*deviceCode, bool) {
		d := &deviceCode{deviceCode: newDeviceCode(), issued: at, expires: at.Add(900 * time.Second), state: StatePending, clientID: AzureCLIClientID}
		_, ok := s.add(d, at)
		return d, ok
	}
	first, _ := add(t0)
	second, _ := add(t0.Add(time.Second))
	add(t0.Add(2 * time.Second))
	if _, ok := add(t0.Add(3 * time.Second)); ok || len(s.codes) != 3 || s.codes[first.deviceCode] == nil {
		t.Errorf("a store full of live codes took a new one (%t) or dropped the oldest (%d codes)", ok, len(s.codes))
	}
	if _, err := s.deny(second.userCode, t0.Add(3*time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, ok := add(t0.Add(3 * time.Second)); !ok || s.codes[second.deviceCode] != nil || s.codes[first.deviceCode] == nil {
		t.Errorf("the denied code did not make room (added %t, denied present %t)", ok, s.codes[second.deviceCode] != nil)
	}
	late, _ := add(t0.Add(3*time.Second + 1801*time.Second)) // the others are past expiry + one lifetime
	if len(s.codes) != 1 || s.codes[late.deviceCode] == nil {
		t.Errorf("after retention: %d codes, want only the new one", len(s.codes))
	}
	if r := s.poll(first.deviceCode, AzureCLIClientID, nil, t0, true, false, errBadVerification); r.err == nil || r.err.code != errBadVerification {
		t.Errorf("a purged code polls as %v", r.err)
	}
}

// Concurrent polls, approvals and listings keep the state consistent: every code is
// redeemed exactly once.
func TestConcurrentPollsRedeemOnce(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	const n = 8
	codes := make([]deviceCodeResponse, n)
	for i := range codes {
		codes[i] = ts.issueCode(t, seedScope)
	}
	var (
		mu      sync.Mutex
		success = map[string]int{}
		wg      sync.WaitGroup
	)
	for _, d := range codes {
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 10 {
					r := ts.post(t, tokenPath, pollForm(d.DeviceCode))
					if r.Status == 200 {
						mu.Lock()
						success[d.UserCode]++
						mu.Unlock()
					}
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ts.DeviceCodes()
			if _, err := ts.Approve(d.UserCode, ""); err != nil {
				t.Errorf("approve: %v", err)
			}
		}()
	}
	wg.Wait()
	for _, d := range codes {
		r := ts.post(t, tokenPath, pollForm(d.DeviceCode))
		if r.Status == 200 {
			success[d.UserCode]++
		}
		if success[d.UserCode] != 1 {
			t.Errorf("code %s redeemed %d times, want once", d.UserCode, success[d.UserCode])
		}
	}
}
