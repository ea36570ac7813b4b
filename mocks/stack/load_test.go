package stack

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vbharness/vbharness/mocks/control"
	"github.com/vbharness/vbharness/mocks/entra"
	"github.com/vbharness/vbharness/mocks/faults"
	"github.com/vbharness/vbharness/mocks/journal"
	"github.com/vbharness/vbharness/mocks/veeam"
)

// loadFlowsEnv sets how many device flows TestLoad runs at once. The default keeps the
// test inside a few seconds on 2 cores under -race; docs/performance.md reports a run
// with 500.
const loadFlowsEnv = "VBHARNESS_LOAD_FLOWS"

func loadFlows(t *testing.T) int {
	t.Helper()
	s := os.Getenv(loadFlowsEnv)
	if s == "" {
		return 60
	}
	n, err := strconv.Atoi(s)
	// All flows use one client in one tenant, whose live device codes Entra bounds.
	if err != nil || n < 1 || n > entra.MaxDeviceCodesPerClient {
		t.Fatalf("%s=%q: want a number of flows from 1 to %d", loadFlowsEnv, s, entra.MaxDeviceCodesPerClient)
	}
	return n
}

// loadUser is the i-th user of the load test's directory: every flow signs in as its own
// user, so an answer meant for another flow is caught by the name in it.
func loadUser(i int) string { return fmt.Sprintf("user%04d@%s", i, entra.DefaultTenant) }

// writeLoadDirectory writes an Entra config with n users in the default tenant and a
// one-second polling interval.
func writeLoadDirectory(t *testing.T, path string, n int) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "tenants:\n  - domain: %s\n    id: %s\n    users:\n", entra.DefaultTenant, entra.DefaultTenantID)
	for i := range n {
		fmt.Fprintf(&b, "      - upn: %s\n        object_id: 00000000-0000-4000-8000-%012d\n        display_name: Load User %d\n", loadUser(i), i, i)
	}
	fmt.Fprintf(&b, "    default_user: %s\nlifetimes: {interval: 1}\n", loadUser(0))
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

// loadClient sends the flows' requests and counts every attempt per server and path, so
// the journals can be checked against what was sent.
type loadClient struct {
	hc       *http.Client
	run      *Running
	mu       sync.Mutex
	attempts map[string]int // "entra POST /path" → requests sent
	faulted  atomic.Int64   // attempts answered by an injected fault
	tries    int            // attempts per request before the flow gives up (default 10)
}

func newLoadClient(t *testing.T, run *Running, conns int) *loadClient {
	t.Helper()
	pem, err := os.ReadFile(run.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("no CA certificate in " + run.CAFile)
	}
	tr := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     time.Minute,
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &loadClient{hc: &http.Client{Transport: tr, Timeout: time.Minute}, run: run, attempts: map[string]int{}}
}

// answer is one response: status, headers and body, or the transport error.
type answer struct {
	status int
	header http.Header
	body   []byte
	err    error
	// written: the whole request went out (so the server may have journaled it).
	written bool
}

func (a answer) json() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(a.body, &m)
	return m
}

// send makes one attempt. server is "entra" or "veeam"; body is a form (url.Values) or
// JSON (string).
func (c *loadClient) send(ctx context.Context, server, method, path string, body any, hdr ...string) answer {
	base := c.run.EntraURL
	if server == "veeam" {
		base = c.run.VeeamURL
	}
	var rd io.Reader
	ctype := ""
	switch b := body.(type) {
	case url.Values:
		rd, ctype = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	case string:
		rd, ctype = strings.NewReader(b), "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		return answer{err: err}
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	// An attempt counts once the whole request is on the wire: one that failed before
	// (a TLS handshake a loaded machine let time out) never reached a handler, so no
	// journal can hold it.
	var written atomic.Bool
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err != nil || strings.HasPrefix(path, "/_mock/") {
				return
			}
			written.Store(true)
			c.mu.Lock()
			c.attempts[server+" "+method+" "+path]++
			c.mu.Unlock()
		},
	}))
	resp, err := c.hc.Do(req)
	if err != nil {
		return answer{err: err, written: written.Load()}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: raw, err: err, written: true}
}

// faultedStatuses are the statuses TestLoad's fault rules answer with.
var faultedStatuses = map[int]bool{http.StatusTooManyRequests: true, http.StatusServiceUnavailable: true, http.StatusInternalServerError: true}

// call sends until the answer is not an injected fault (a dropped or cut connection, or
// a fault rule's status), at most 10 attempts, and returns it.
func (c *loadClient) call(ctx context.Context, server, method, path string, body any, hdr ...string) answer {
	var a answer
	for range max(c.tries, 10) {
		a = c.send(ctx, server, method, path, body, hdr...)
		if ctx.Err() != nil {
			return a
		}
		if a.err == nil && !faultedStatuses[a.status] {
			return a
		}
		if a.written { // a request that never left the client met no fault rule
			c.faulted.Add(1)
		}
	}
	return a
}

// claims decodes a JWT's payload (the mocks' signatures are checked by the servers).
func claims(tok string) map[string]any {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil
	}
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return m
}

// flow is one person's whole session as user i: device code, approval on the control
// API, redemption, the token response as Veeam assertion, an API call, refresh, logout,
// and the 401 after it. Every answer is checked to be this flow's: the user code the
// control API approved, the upn in the Entra token, the user name Veeam issued for.
func (c *loadClient) flow(ctx context.Context, i int) (userCode string, err error) {
	user := loadUser(i)
	corr := fmt.Sprintf("00000000-0000-4000-9000-%012d", i)
	fail := func(step string, a answer) error {
		if a.err != nil {
			return fmt.Errorf("flow %d: %s: %w", i, step, a.err)
		}
		return fmt.Errorf("flow %d: %s: status %d: %.300s", i, step, a.status, a.body)
	}
	tokenPath := "/" + entra.DefaultTenant + "/oauth2/v2.0/token"
	a := c.call(ctx, "entra", "POST", "/"+entra.DefaultTenant+"/oauth2/v2.0/devicecode",
		url.Values{"client_id": {entra.AzureCLIClientID}, "scope": {"Directory.AccessAsUser.All User.ReadWrite.All offline_access"}},
		"client-request-id", corr, "return-client-request-id", "true")
	dc := a.json()
	userCode, _ = dc["user_code"].(string)
	deviceCode, _ := dc["device_code"].(string)
	if a.status != http.StatusOK || userCode == "" || deviceCode == "" {
		return "", fail("devicecode", a)
	}
	if got := a.header.Get("client-request-id"); got != corr {
		return userCode, fmt.Errorf("flow %d: devicecode answered client-request-id %q, want %q", i, got, corr)
	}
	if a = c.call(ctx, "entra", "POST", "/_mock/devicecodes/approve", fmt.Sprintf(`{"user_code":%q,"user":%q}`, userCode, user)); a.status != http.StatusOK {
		return userCode, fail("approve", a)
	}
	a = c.call(ctx, "entra", "POST", tokenPath, url.Values{"grant_type": {"device_code"}, "client_id": {entra.AzureCLIClientID}, "device_code": {deviceCode}})
	at, _ := a.json()["access_token"].(string)
	if a.status != http.StatusOK || at == "" {
		return userCode, fail("redeem", a)
	}
	if upn, _ := claims(at)["upn"].(string); upn != user {
		return userCode, fmt.Errorf("flow %d: the Entra token is for %q, want %q", i, upn, user)
	}
	a = c.call(ctx, "veeam", "POST", "/v8/token", url.Values{"grant_type": {veeam.GrantJWTBearer}, "client_id": {veeam.DefaultOrganization}, "assertion": {string(a.body)}, "disable_antiforgery_token": {"true"}})
	if a.status != http.StatusOK {
		return userCode, fail("veeam jwt-bearer", a)
	}
	vt := a.json()
	access, _ := vt["access_token"].(string)
	refresh, _ := vt["refresh_token"].(string)
	if name, _ := vt["userName"].(string); name != user || claims(access)[veeam.NameClaim] != user {
		return userCode, fmt.Errorf("flow %d: Veeam signed in %q (token for %v), want %q", i, name, claims(access)[veeam.NameClaim], user)
	}
	if a = c.call(ctx, "veeam", "GET", "/v8/Organization", nil, "Authorization", "Bearer "+access); a.status != http.StatusOK {
		return userCode, fail("GET /v8/Organization", a)
	}
	if name, _ := a.json()["name"].(string); name != veeam.DefaultOrganization {
		return userCode, fmt.Errorf("flow %d: GET /v8/Organization answered organization %q", i, name)
	}
	a = c.call(ctx, "veeam", "POST", "/v8/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
	access, _ = a.json()["access_token"].(string)
	if a.status != http.StatusOK || claims(access)[veeam.NameClaim] != user {
		return userCode, fail("veeam refresh", a)
	}
	if a = c.call(ctx, "veeam", "POST", "/v8/token/logout", nil, "Authorization", "Bearer "+access); a.status != http.StatusNoContent {
		return userCode, fail("logout", a)
	}
	if a = c.call(ctx, "veeam", "GET", "/v8/Organization", nil, "Authorization", "Bearer "+access); a.status != http.StatusUnauthorized {
		return userCode, fail("GET after logout (want 401)", a)
	}
	return userCode, nil
}

// runFlows runs n flows at once and returns their user codes (index = user).
func (c *loadClient) runFlows(ctx context.Context, t *testing.T, n int) []string {
	t.Helper()
	codes := make([]string, n)
	errs := make([]error, n)
	began := time.Now()
	defer func() {
		d := time.Since(began)
		t.Logf("%d flows in %v: %.0f flows/s, %d retried faults", n, d.Round(time.Millisecond), float64(n)/d.Seconds(), c.faulted.Load())
	}()
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			codes[i], errs[i] = c.flow(ctx, i)
		}()
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return codes
}

// checkJournals compares each server's journal with the attempts the client made (every
// request arrived and was recorded once) and returns how many entries each fault rule
// answered.
func (c *loadClient) checkJournals(t *testing.T) map[string]int {
	t.Helper()
	seen := map[string]int{}
	byFault := map[string]int{}
	for _, s := range []struct {
		name string
		j    *journal.Journal
		c    *control.Control
	}{{"entra", c.run.Entra.Control().Journal(), c.run.Entra.Control()}, {"veeam", c.run.Veeam.Control().Journal(), c.run.Veeam.Control()}} {
		// An answer can reach the client before the pipeline has recorded it, as the
		// journal routes know: wait as they do.
		if !s.c.Settle() {
			t.Errorf("%s: requests still unrecorded 2s after the client's last answer", s.name)
		}
		if s.j.Len() > s.j.Cap() {
			t.Errorf("%s journal holds %d entries, over its capacity %d", s.name, s.j.Len(), s.j.Cap())
		}
		for _, e := range s.j.List(journal.Filter{}) {
			if strings.Contains(e.Path, "/discovery/") || strings.Contains(e.Path, "/.well-known/") {
				continue // Veeam fetching Entra's keys, not the flows
			}
			seen[s.name+" "+e.Method+" "+e.Path]++
			if e.Fault != "" {
				byFault[e.Fault]++
			}
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, n := range c.attempts {
		if seen[k] != n {
			t.Errorf("%s: %d requests sent, %d journaled", k, n, seen[k])
		}
	}
	for k, n := range seen {
		if c.attempts[k] == 0 {
			t.Errorf("%s: %d journaled, none sent", k, n)
		}
	}
	return byFault
}

// checkCodes checks that every flow's device code ended redeemed by its own user.
func checkCodes(t *testing.T, run *Running, codes []string) {
	t.Helper()
	byCode := map[string]entra.DeviceCodeInfo{}
	for _, d := range run.Entra.DeviceCodes() {
		byCode[d.UserCode] = d
	}
	for i, code := range codes {
		d, ok := byCode[code]
		switch {
		case !ok:
			t.Errorf("flow %d: device code %s is not in the store", i, code)
		case d.State != entra.StateRedeemed || d.User != loadUser(i):
			t.Errorf("flow %d: device code %s is %s by %q, want redeemed by %q", i, code, d.State, d.User, loadUser(i))
		}
	}
	if n := len(byCode); n > entra.MaxDeviceCodes {
		t.Errorf("%d device codes stored, over the bound %d", n, entra.MaxDeviceCodes)
	}
}

func heapAfterGC() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestLoad drives n concurrent device flows plus Veeam exchanges against a standalone
// stack (Serve) over loopback HTTPS, three times: plain; with faults injected on every
// endpoint (429, 503 and 500 answers, dropped and cut connections, delays), which the
// flows retry; and plain again after the faults are gone. Every flow must end in the
// right state with answers meant for it, every request must be journaled exactly once,
// the fault rules must have fired exactly as often as the clients saw faults, the
// device-code store and the journals stay within their bounds and age out, memory
// retained per flow stays small, and the goroutines return to their number before.
// It is bounded in time (a 5-minute context) and listens on 127.0.0.1 only.
func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("hundreds of RSA signatures; skipped with -short")
	}
	n := loadFlows(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	writeLoadDirectory(t, filepath.Join(dir, "directory.yaml"), n)
	goroutines := runtime.NumGoroutine()
	run, err := Serve(ctx, ServeOptions{EntraAddr: "127.0.0.1:0", VeeamAddr: "127.0.0.1:0",
		StateDir: filepath.Join(dir, "state"), ConfigFile: filepath.Join(dir, "directory.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	c := newLoadClient(t, run, n)
	heap0 := heapAfterGC()

	// 1. Plain load.
	codes := c.runFlows(ctx, t, n)
	checkCodes(t, run, codes)
	c.checkJournals(t)

	// 2. The same load with faults on every step. Each rule fires on its first matches;
	// a fault answers before the handler runs, so a retry must find the state as it was.
	resetCounts := func() {
		run.Entra.Control().Journal().Clear()
		run.Veeam.Control().Journal().Clear()
		c.mu.Lock()
		clear(c.attempts)
		c.mu.Unlock()
		c.faulted.Store(0)
	}
	resetCounts()
	k := max(1, n/5)
	rules := []struct {
		srv  *faults.Set
		rule faults.Rule
	}{
		{run.Entra.Control().Faults(), faults.Rule{ID: "dc-500", Method: "POST", Path: "/*/oauth2/v2.0/devicecode", Status: 500, Times: k}},
		{run.Entra.Control().Faults(), faults.Rule{ID: "token-429", Method: "POST", Path: "/*/oauth2/v2.0/token", Status: 429, Headers: map[string]string{"Retry-After": "1"}, Times: k}},
		{run.Entra.Control().Faults(), faults.Rule{ID: "token-drop", Method: "POST", Path: "/*/oauth2/v2.0/token", Action: faults.ActionDrop, Times: k}},
		{run.Veeam.Control().Faults(), faults.Rule{ID: "login-503", Method: "POST", Path: "/v8/token", Match: map[string]string{"grant_type": veeam.GrantJWTBearer}, Status: 503, Times: k}},
		{run.Veeam.Control().Faults(), faults.Rule{ID: "refresh-drop", Method: "POST", Path: "/v8/token", Match: map[string]string{"grant_type": "refresh_token"}, Action: faults.ActionDrop, Times: k}},
		{run.Veeam.Control().Faults(), faults.Rule{ID: "org-cut", Method: "GET", Path: "/v8/organization", Action: faults.ActionTruncate, Times: k}},
		{run.Veeam.Control().Faults(), faults.Rule{ID: "org-delay", Method: "GET", Path: "/v8/organization", Action: faults.ActionDelay, Delay: "20ms", RealTime: true, Times: k}},
		{run.Veeam.Control().Faults(), faults.Rule{ID: "logout-drop", Method: "POST", Path: "/v8/token/logout", Action: faults.ActionDrop, Times: k}},
	}
	for _, r := range rules {
		if _, err := r.srv.Add(r.rule); err != nil {
			t.Fatal(err)
		}
	}
	// Two rules of k faults each share a path: a request retried 2k+1 times gets through
	// even when a loaded machine lets one flow meet every fault in a row.
	c.tries = 2*k + 1
	codes = c.runFlows(ctx, t, n)
	checkCodes(t, run, codes)
	byFault := c.checkJournals(t)
	fired := 0
	for _, r := range rules {
		for _, got := range r.srv.List() {
			if got.ID != r.rule.ID {
				continue
			}
			if got.Fired != k || byFault[got.ID] != k {
				t.Errorf("fault %s fired %d times and answered %d journaled requests, want %d", got.ID, got.Fired, byFault[got.ID], k)
			}
			if got.Action != faults.ActionDelay {
				fired += got.Fired
			}
		}
	}
	if int(c.faulted.Load()) != fired {
		t.Errorf("the clients saw %d faulted answers, the rules fired %d (not counting delays)", c.faulted.Load(), fired)
	}

	// 3. Faults gone, the state is sound: the same load passes again.
	run.Entra.Control().Faults().Clear()
	run.Veeam.Control().Faults().Clear()
	resetCounts()
	codes = c.runFlows(ctx, t, n)
	checkCodes(t, run, codes)
	c.checkJournals(t)
	if c.faulted.Load() != 0 {
		t.Errorf("%d faulted answers with no fault rule", c.faulted.Load())
	}

	// Memory: what the stack keeps per flow (device codes until they age out, journal
	// entries) stays small.
	perFlow := (int64(heapAfterGC()) - int64(heap0)) / int64(3*n)
	t.Logf("%d flows ×3: %d bytes retained per flow", n, perFlow)
	if perFlow > 64<<10 {
		t.Errorf("%d bytes retained per flow; the stack keeps only codes and journal entries", perFlow)
	}

	// Old device codes age out: two lifetimes later, a new code finds the store empty
	// of the others.
	run.Clock.Advance(2*entra.DefaultDeviceCodeLifetime + time.Second)
	if a := c.send(ctx, "entra", "POST", "/"+entra.DefaultTenant+"/oauth2/v2.0/devicecode", url.Values{"client_id": {entra.AzureCLIClientID}, "scope": {"User.ReadWrite.All"}}); a.status != http.StatusOK {
		t.Fatalf("devicecode after the clock moved: %d %s", a.status, a.body)
	}
	if left := len(run.Entra.DeviceCodes()); left != 1 {
		t.Errorf("%d device codes stored after the others expired, want 1", left)
	}

	if err := run.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	c.hc.CloseIdleConnections()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > goroutines && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > goroutines {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines after shutdown, %d before:\n%s", g, goroutines, buf[:runtime.Stack(buf, true)])
	}
}
