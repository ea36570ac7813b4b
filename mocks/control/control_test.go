package control

import (
	"encoding/json"
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

func do(h http.Handler, method, path, ctype, body, remote string, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.RemoteAddr = "127.0.0.1:40000"
	if remote != "" {
		req.RemoteAddr = remote
	}
	for i := 0; i+1 < len(hdr); i += 2 {
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
