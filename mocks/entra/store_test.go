package entra

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vbharness/vbharness/mocks/clock"
)

// issueDirect asks srv for a device code through its handler, in-process, and returns
// the status and the user code.
func issueDirect(t *testing.T, srv *Server, tenant, clientID string) (int, string, http.Header) {
	t.Helper()
	body := url.Values{"client_id": {clientID}, "scope": {seedScope}}.Encode()
	req := httptest.NewRequest(http.MethodPost, "/"+tenant+"/oauth2/v2.0/devicecode", strings.NewReader(body))
	req.Header.Set("Content-Type", formContentType)
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, req)
	var uc string
	if w.Code == http.StatusOK {
		uc = strings.SplitN(strings.SplitN(w.Body.String(), `"user_code":"`, 2)[1], `"`, 2)[0]
	}
	return w.Code, uc, w.Header()
}

// Issue 15 item 8: 10 001 anonymous devicecode requests evicted a person's pending
// sign-in, because a full store dropped its oldest code whoever it belonged to. A flood
// now never evicts a code that is still live (pending or approved, not expired): the
// flooding client and tenant get 429 once they hold their share, and the person can
// still sign in with the code they were given.
func TestDeviceCodeFloodNeverEvictsAPendingSignIn(t *testing.T) {
	t.Parallel()
	clk := clock.NewVirtual(time.Time{})
	srv := New(clk)
	status, victim, _ := issueDirect(t, srv, DefaultTenant, AzureCLIClientID)
	if status != http.StatusOK {
		t.Fatalf("devicecode: %d", status)
	}
	refused := 0
	for range MaxDeviceCodes + 1 {
		clk.Advance(time.Millisecond)
		if st, _, _ := issueDirect(t, srv, DefaultTenant, AzureCLIClientID); st != http.StatusOK {
			refused++
		}
	}
	if _, err := srv.Approve(victim, ""); err != nil {
		t.Fatalf("after %d anonymous device-code requests (%d refused) the pending sign-in is gone: %v", MaxDeviceCodes+1, refused, err)
	}
	if want := MaxDeviceCodes + 1 - (MaxDeviceCodesPerClient - 1); refused != want {
		t.Errorf("%d requests refused, want %d: all past the client's share of %d", refused, want, MaxDeviceCodesPerClient)
	}
	// The refusal is Entra's throttling answer, with when to come back.
	st, _, h := issueDirect(t, srv, DefaultTenant, AzureCLIClientID)
	if ra, err := strconv.Atoi(h.Get("Retry-After")); st != http.StatusTooManyRequests || err != nil || ra < 1 || ra > int(DefaultDeviceCodeLifetime/time.Second) {
		t.Errorf("a request past the share: %d, Retry-After %q", st, h.Get("Retry-After"))
	}
	// Another principal (the same client on /organizations) is not locked out.
	if st, _, _ := issueDirect(t, srv, tenantOrganizations, AzureCLIClientID); st != http.StatusOK {
		t.Errorf("another tenant's request during the flood: %d", st)
	}
	// Once the flood's codes expire they make room again.
	clk.Advance(DefaultDeviceCodeLifetime)
	if st, _, _ := issueDirect(t, srv, DefaultTenant, AzureCLIClientID); st != http.StatusOK {
		t.Errorf("after the flood's codes expired: %d", st)
	}
}

// The store's bounds hold whatever mix of principals asks: never more than
// MaxDeviceCodes codes, never more than MaxDeviceCodesPerClient for one principal.
func TestStoreBoundsPerPrincipal(t *testing.T) {
	t.Parallel()
	s := newStore(newDirectory(DefaultDirectory()))
	s.limit, s.perKey1 = 10, 4
	now := clock.DefaultStart
	added := map[string]int{}
	for i := range 40 {
		d := &deviceCode{deviceCode: newDeviceCode(), clientID: []string{"a", "b", "c", "A"}[i%4], issued: now, expires: now.Add(time.Hour), state: StatePending}
		if _, ok := s.add(d, now); ok {
			added[strings.ToLower(d.clientID)]++
		}
	}
	if len(s.codes) > 10 || added["a"] != 4 || added["b"] != 3 || added["c"] != 3 {
		t.Errorf("%d codes stored, per client %v; want a (any case) 4 and the store's 10 shared", len(s.codes), added)
	}
	for k, n := range s.perKey {
		if n > 4 {
			t.Errorf("%s holds %d codes", k, n)
		}
	}
}
