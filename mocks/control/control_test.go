package control

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/mux"

	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/mocks/journal"
)

func newTestServer(t *testing.T, token string) (*Control, http.Handler) {
	t.Helper()
	c := New(Options{Server: "test", Clock: clock.NewVirtual(clock.DefaultStart), Token: token})
	r := mux.NewRouter()
	r.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		WriteJSON(w, http.StatusOK, map[string]string{"grant": r.PostForm.Get("grant_type")})
	})
	c.Mount(r)
	return c, c.Wrap(r)
}

// do sends one request to h as a client on the loopback would, to the mock's address
// 127.0.0.1:4443 (hdr may replace the Host).
func do(h http.Handler, method, path, ctype, body, remote string, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "http://127.0.0.1:4443"+path, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.RemoteAddr = "127.0.0.1:40000"
	if remote != "" {
		req.RemoteAddr = remote
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if strings.EqualFold(hdr[i], "Host") {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

const form = "application/x-www-form-urlencoded"

func TestJournalRedactsSecretsAndSkipsControlCalls(t *testing.T) {
	t.Parallel()
	c, h := newTestServer(t, "")
	do(h, "POST", "/token", form, "grant_type=device_code&device_code=SECRETSECRETSECRET1234", "")
	do(h, "GET", "/_mock/health", "", "", "")
	entries := c.Journal().List(journal.Filter{})
	if len(entries) != 1 {
		t.Fatalf("journal has %d entries, want 1", len(entries))
	}
	e := entries[0]
	if e.Fields["grant_type"] != "device_code" || strings.Contains(e.Fields["device_code"], "SECRETSECRET") || e.Status != 200 {
		t.Fatalf("entry %+v", e)
	}
}

// Secrets nested in a JSON body are redacted too: the journal shows a top-level field
// whose value is an object as its JSON, and Veeam's POST /v8/Organizations carries the
// application's PFX and its password inside exchangeOnlineSettings (both were journaled
// whole), and the admin's device-code userCode at the top.
func TestJournalRedactsSecretsNestedInJSON(t *testing.T) {
	t.Parallel()
	c, h := newTestServer(t, "")
	do(h, "POST", "/token", "application/json", `{"name":"abc","userCode":"ABCD1234EF",
		"exchangeOnlineSettings":{"useApplicationOnlyAuth":true,"applicationCertificate":"MIIKPFXBYTESPFXBYTES","applicationCertificatePassword":"pfx-pass-1234"},
		"sharePointOnlineSettings":[{"password":"hunter2-hunter2","nested":{"clientSecret":"cs-0123456789"}}],"count":3}`, "")
	f := c.Journal().List(journal.Filter{})[0].Fields
	all := fmt.Sprint(f)
	for _, secret := range []string{"ABCD1234EF", "MIIKPFXBYTES", "pfx-pass-1234", "hunter2", "cs-0123456789"} {
		if strings.Contains(all, secret) {
			t.Errorf("the journal shows %q: %v", secret, f)
		}
	}
	if f["name"] != "abc" || f["count"] != "3" || !strings.Contains(f["exchangeOnlineSettings"], `"useApplicationOnlyAuth":true`) {
		t.Errorf("what is not secret must stay: %v", f)
	}
}

func TestFaultsThroughControlAPI(t *testing.T) {
	t.Parallel()
	_, h := newTestServer(t, "")
	w := do(h, "POST", "/_mock/faults", "application/json", `{"path":"/token","match":{"grant_type":"refresh_token"},"status":503,"body":{"error":"temporarily_unavailable"}}`, "")
	if w.Code != http.StatusCreated {
		t.Fatalf("add fault: %d %s", w.Code, w.Body)
	}
	if w := do(h, "POST", "/token", form, "grant_type=device_code", ""); w.Code != 200 {
		t.Fatalf("unmatched grant faulted: %d", w.Code)
	}
	if w := do(h, "POST", "/token", form, "grant_type=refresh_token", ""); w.Code != 503 || !strings.Contains(w.Body.String(), "temporarily_unavailable") {
		t.Fatalf("fault did not fire: %d %s", w.Code, w.Body)
	}
	if w := do(h, "POST", "/token", form, "grant_type=refresh_token", ""); w.Code != 200 {
		t.Fatalf("fault fired twice: %d", w.Code)
	}
	if w := do(h, "POST", "/_mock/faults", "application/json", `{"path":"/token","status":"x"}`, ""); w.Code != 400 {
		t.Fatalf("bad rule accepted: %d", w.Code)
	}
}

func TestOversizedBodyIs413(t *testing.T) {
	t.Parallel()
	_, h := newTestServer(t, "")
	w := do(h, "POST", "/token", form, "a="+strings.Repeat("x", DefaultMaxBody), "")
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d", w.Code)
	}
}

func TestClockAdvance(t *testing.T) {
	t.Parallel()
	_, h := newTestServer(t, "")
	w := do(h, "POST", "/_mock/clock/advance", "application/json", `{"duration":"61m"}`, "")
	var st ClockState
	_ = json.Unmarshal(w.Body.Bytes(), &st)
	if w.Code != 200 || st.Now != "2026-01-05T10:01:00Z" || !st.Virtual {
		t.Fatalf("%d %+v", w.Code, st)
	}
	if w := do(h, "POST", "/_mock/clock/advance", "application/json", `{"duration":"soon"}`, ""); w.Code != 400 {
		t.Fatalf("bad duration: %d", w.Code)
	}
}

// The Date header is the mock clock's time, on every answer: a client comparing it with a
// token's exp sees one clock (the issue 13 re-trial: it was the wall clock's).
func TestDateHeaderIsTheMockClocks(t *testing.T) {
	t.Parallel()
	_, h := newTestServer(t, "")
	if got := do(h, "POST", "/token", form, "grant_type=x", "").Header().Get("Date"); got != "Mon, 05 Jan 2026 09:00:00 GMT" {
		t.Errorf("Date at the start: %q", got)
	}
	do(h, "POST", "/_mock/clock/advance", "application/json", `{"duration":"61m"}`, "")
	for _, path := range []string{"/token", "/_mock/clock", "/nowhere"} {
		if got := do(h, "GET", path, "", "", "").Header().Get("Date"); got != "Mon, 05 Jan 2026 10:01:00 GMT" {
			t.Errorf("Date of GET %s after 61 minutes: %q", path, got)
		}
	}
}

func TestControlAPIGuard(t *testing.T) {
	t.Parallel()
	_, open := newTestServer(t, "")
	if w := do(open, "GET", "/_mock/health", "", "", "192.0.2.7:5000"); w.Code != http.StatusForbidden {
		t.Fatalf("non-loopback caller got %d", w.Code)
	}
	if w := do(open, "GET", "/_mock/health", "", "", "[::1]:5000"); w.Code != 200 {
		t.Fatalf("loopback caller got %d", w.Code)
	}
	_, locked := newTestServer(t, "s3cret-token")
	if w := do(locked, "GET", "/_mock/health", "", "", "192.0.2.7:5000"); w.Code != http.StatusUnauthorized {
		t.Fatalf("no token got %d", w.Code)
	}
	w := do(locked, "GET", "/_mock/health", "", "", "192.0.2.7:5000", "Authorization", "Bearer s3cret-token")
	b, _ := io.ReadAll(w.Body)
	if w.Code != 200 || string(b) != `{"status":"ok"}` {
		t.Fatalf("with token: %d %s", w.Code, b)
	}
}

// Issue 15 item 5: two large advances wrapped the standalone clock's int64 offset and
// the clock went back to 1734, so an expired token was accepted again. An advance that
// would take the clock past its bound is a 400 in the control API's shape, and the clock
// never goes back.
func TestClockAdvanceOverflowIsRefusedAndNeverGoesBack(t *testing.T) {
	t.Parallel()
	for _, clk := range []clock.Clock{clock.NewReal(), clock.NewVirtual(clock.DefaultStart)} {
		c := New(Options{Server: "test", Clock: clk})
		r := mux.NewRouter()
		c.Mount(r)
		h := c.Wrap(r)
		prev := clk.Now()
		refused := 0
		for range 3 {
			w := do(h, "POST", "/_mock/clock/advance", "application/json", `{"duration":"2562047h"}`, "")
			switch w.Code {
			case http.StatusOK:
			case http.StatusBadRequest:
				refused++
				if !strings.Contains(w.Body.String(), `"error":`) {
					t.Errorf("refusal is not in the control API's shape: %s", w.Body)
				}
			default:
				t.Fatalf("advance: %d %s", w.Code, w.Body)
			}
			if now := clk.Now(); now.Before(prev) {
				t.Fatalf("virtual=%t: the clock went back from %v to %v", clk.IsVirtual(), prev, now)
			} else {
				prev = now
			}
		}
		if refused == 0 {
			t.Errorf("virtual=%t: three advances of 2562047h (292 years each) were all accepted; the clock is at %v", clk.IsVirtual(), prev)
		}
	}
}

// Issue 15 item 4: a web page could drive the control API. A text/plain POST with
// Origin: https://evil.example turned on a fault and moved the clock (a "simple"
// request, which browsers send cross-site without asking), and any Host was accepted,
// which lets a page rebind its own name to 127.0.0.1. Now the control API refuses a
// foreign Origin and Host, and a state-changing call must be application/json.
func TestControlAPIRefusesWebPages(t *testing.T) {
	t.Parallel()
	const json = "application/json"
	for _, c := range []struct {
		name   string
		method string
		path   string
		ctype  string
		body   string
		hdr    []string
		status int
	}{
		{"a text/plain POST from another site cannot move the clock", "POST", "/_mock/clock/advance", "text/plain", `{"duration":"61m"}`,
			[]string{"Origin", "https://evil.example"}, http.StatusForbidden},
		{"a text/plain POST cannot add a fault, even without Origin", "POST", "/_mock/faults", "text/plain", `{"path":"*","status":503,"times":-1}`,
			nil, http.StatusUnsupportedMediaType},
		{"a form POST cannot move the clock", "POST", "/_mock/clock/advance", form, `{"duration":"61m"}`, nil, http.StatusUnsupportedMediaType},
		{"a bodiless POST a browser sends needs application/json", "POST", "/_mock/reset", "", "", []string{"Sec-Fetch-Site", "cross-site"}, http.StatusUnsupportedMediaType},
		{"a bodiless POST from another site is refused", "POST", "/_mock/reset", "", "", []string{"Origin", "https://evil.example"}, http.StatusForbidden},
		{"a form POST with a body but no Origin cannot reset", "POST", "/_mock/reset", form, "a=b", nil, http.StatusUnsupportedMediaType},
		{"a JSON POST from another site is refused", "POST", "/_mock/clock/advance", json, `{"duration":"61m"}`,
			[]string{"Origin", "https://evil.example"}, http.StatusForbidden},
		{"Origin null (a sandboxed page) is refused", "POST", "/_mock/clock/advance", json, `{"duration":"61m"}`,
			[]string{"Origin", "null"}, http.StatusForbidden},
		{"a page on another port of the same host is another origin", "POST", "/_mock/clock/advance", json, `{"duration":"61m"}`,
			[]string{"Host", "localhost:4443", "Origin", "http://localhost:3000"}, http.StatusForbidden},
		{"a GET from another site is refused", "GET", "/_mock/requests", "", "", []string{"Origin", "http://localhost:3000"}, http.StatusForbidden},
		{"a rebound name is refused (DNS rebinding)", "POST", "/_mock/clock/advance", json, `{"duration":"61m"}`,
			[]string{"Host", "evil.example:4443"}, http.StatusForbidden},
		{"a rebound name is refused on GET too", "GET", "/_mock/requests", "", "", []string{"Host", "attacker.test"}, http.StatusForbidden},
		{"a name like localhost is not localhost", "GET", "/_mock/health", "", "", []string{"Host", "localhost.evil.example:4443"}, http.StatusForbidden},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctl, h := newTestServer(t, "")
			before := ctl.Clock().Now()
			w := do(h, c.method, c.path, c.ctype, c.body, "", c.hdr...)
			if w.Code != c.status || !strings.HasPrefix(w.Body.String(), `{"error":"`) {
				t.Errorf("%s %s: %d %s, want %d in the control API's shape", c.method, c.path, w.Code, w.Body, c.status)
			}
			if !ctl.Clock().Now().Equal(before) || len(ctl.Faults().List()) != 0 {
				t.Errorf("the refused call changed state: clock %v → %v, %d faults", before, ctl.Clock().Now(), len(ctl.Faults().List()))
			}
		})
	}
}

// The mock itself, curl, the engine and scripts keep working: the loopback names and
// addresses, the names the mock was given, its own Origin, JSON with a charset, and
// DELETE (never a simple request) without a body.
func TestControlAPIAcceptsTheMockItself(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name   string
		method string
		path   string
		ctype  string
		body   string
		hdr    []string
	}{
		{"127.0.0.1 with JSON", "POST", "/_mock/clock/advance", "application/json", `{"duration":"1m"}`, nil},
		{"JSON with a charset", "POST", "/_mock/clock/advance", "application/json; charset=utf-8", `{"duration":"1m"}`, nil},
		{"localhost", "POST", "/_mock/reset", "application/json", "", []string{"Host", "localhost:8400"}},
		{"LOCALHOST without a port", "GET", "/_mock/health", "", "", []string{"Host", "LOCALHOST"}},
		{"::1", "GET", "/_mock/health", "", "", []string{"Host", "[::1]:4443"}},
		{"127.0.0.2", "GET", "/_mock/health", "", "", []string{"Host", "127.0.0.2:4443"}},
		{"a name the mock serves", "GET", "/_mock/health", "", "", []string{"Host", "Mock.Lab.Test:4443"}},
		{"its own origin", "POST", "/_mock/clock/advance", "application/json", `{"duration":"1m"}`, []string{"Origin", "http://127.0.0.1:4443"}},
		{"its own origin on the default port", "GET", "/_mock/health", "", "", []string{"Host", "mock.lab.test", "Origin", "http://mock.lab.test"}},
		{"DELETE without a body or a type", "DELETE", "/_mock/faults", "", "", nil},
		{"a bodiless POST without a type, as curl -X POST sends it", "POST", "/_mock/reset", "", "", nil},
		{"a URL typed in the browser", "GET", "/_mock/health", "", "", []string{"Sec-Fetch-Site", "none"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctl, h := newTestServer(t, "")
			ctl.AllowHosts("mock.lab.test")
			if w := do(h, c.method, c.path, c.ctype, c.body, "", c.hdr...); w.Code >= 300 {
				t.Errorf("%s %s: %d %s", c.method, c.path, w.Code, w.Body)
			}
		})
	}
}
