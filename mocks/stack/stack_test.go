package stack

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vbharness/vbharness/mocks/entra"
	"github.com/vbharness/vbharness/mocks/veeam"
)

func TestDefaultsAgree(t *testing.T) {
	t.Parallel()
	if entra.DefaultTenant != veeam.DefaultOrganization || entra.DefaultTenantID != veeam.DefaultOrganizationMSID {
		t.Fatal("the Entra mock's default tenant and the Veeam mock's default organization differ")
	}
}

// client is a tiny form/JSON client for the tests below. It keeps the antiforgery token
// each Veeam token response answers (antiforgery is enforced by default) and sends it
// with that response's tokens, as a client of a real server must unless it logs in with
// disable_antiforgery_token=true.
type client struct {
	t  *testing.T
	hc *http.Client
}

// antiforgery maps each issued Veeam token to its antiforgery token (tokens are unique,
// so one map serves every test).
var antiforgery sync.Map

func (c client) do(method, u string, form url.Values, jsonBody, bearer string) (int, map[string]any) {
	c.t.Helper()
	var body io.Reader
	req, _ := http.NewRequest(method, u, nil)
	switch {
	case form != nil:
		body = strings.NewReader(form.Encode())
		req, _ = http.NewRequest(method, u, body)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	case jsonBody != "":
		req, _ = http.NewRequest(method, u, strings.NewReader(jsonBody))
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if x, ok := antiforgery.Load(bearer + form.Get("refresh_token")); ok {
		req.Header.Set(veeam.DefaultAntiforgeryHeader, x.(string))
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	if x := resp.Header.Get(veeam.DefaultAntiforgeryHeader); x != "" {
		for _, k := range []string{"access_token", "refresh_token"} {
			if tok, _ := out[k].(string); tok != "" {
				antiforgery.Store(tok, x)
			}
		}
	}
	return resp.StatusCode, out
}

// seedFlow runs the seed document's chain and returns the Veeam token response.
func seedFlow(t *testing.T, c client, entraURL, veeamURL string) map[string]any {
	t.Helper()
	st, dc := c.do("POST", entraURL+"/abc.onmicrosoft.com/oauth2/v2.0/devicecode", url.Values{
		"client_id": {entra.AzureCLIClientID}, "scope": {"Directory.AccessAsUser.All User.ReadWrite.All offline_access"}}, "", "")
	if st != 200 {
		t.Fatalf("devicecode: %d %v", st, dc)
	}
	if st, b := c.do("POST", entraURL+"/_mock/devicecodes/approve", nil, `{"user_code":"`+dc["user_code"].(string)+`"}`, ""); st != 200 {
		t.Fatalf("approve: %d %v", st, b)
	}
	st, tok := c.do("POST", entraURL+"/abc.onmicrosoft.com/oauth2/v2.0/token", url.Values{
		"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "client_id": {entra.AzureCLIClientID},
		"device_code": {dc["device_code"].(string)}}, "", "")
	if st != 200 {
		t.Fatalf("token: %d %v", st, tok)
	}
	assertion, _ := json.Marshal(tok)
	st, vt := c.do("POST", veeamURL+"/v8/token", url.Values{
		"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "client_id": {"abc.onmicrosoft.com"},
		"assertion": {string(assertion)}}, "", "")
	if st != 200 {
		t.Fatalf("/v8/token: %d %v", st, vt)
	}
	return vt
}

func TestInProcessStackRunsTheSeedFlowOnOneVirtualClock(t *testing.T) {
	t.Parallel()
	s := NewInProcess(Options{})
	c := client{t: t, hc: s.Client}
	vt := seedFlow(t, c, s.EntraURL, s.VeeamURL)
	at := vt["access_token"].(string)
	if st, _ := c.do("GET", s.VeeamURL+"/v8/Organization", nil, "", at); st != 200 {
		t.Fatalf("GET /v8/Organization: %d", st)
	}
	// Advancing through Entra's control API moves the Veeam mock too: one clock.
	if st, _ := c.do("POST", s.EntraURL+"/_mock/clock/advance", nil, `{"duration":"61m"}`, ""); st != 200 {
		t.Fatal("advance")
	}
	if st, _ := c.do("GET", s.VeeamURL+"/v8/Organization", nil, "", at); st != 401 {
		t.Fatalf("after 61 virtual minutes: %d, want 401", st)
	}
	// Reset on Veeam resets the whole stack, including Entra's journal.
	if n := s.Entra.Control().Journal().Len(); n == 0 {
		t.Fatal("entra journal is empty before reset")
	}
	if st, _ := c.do("POST", s.VeeamURL+"/_mock/reset", nil, "", ""); st != 200 {
		t.Fatal("reset")
	}
	if n := s.Entra.Control().Journal().Len(); n != 0 {
		t.Fatalf("entra journal has %d entries after a stack reset", n)
	}
}

func TestInProcessStacksAreIsolated(t *testing.T) {
	t.Parallel()
	a, b := NewInProcess(Options{}), NewInProcess(Options{})
	vt := seedFlow(t, client{t: t, hc: a.Client}, a.EntraURL, a.VeeamURL)
	a.Clock.Advance(time.Hour)
	if b.Clock.Now().Equal(a.Clock.Now()) {
		t.Fatal("advancing one stack's clock moved another's")
	}
	if st, _ := (client{t: t, hc: b.Client}).do("GET", b.VeeamURL+"/v8/Organizations", nil, "", vt["access_token"].(string)); st != 401 {
		t.Fatalf("a token from stack a was accepted by stack b: %d", st)
	}
}

func TestServeOverHTTPSWithItsCAFile(t *testing.T) {
	t.Parallel()
	run, err := Serve(context.Background(), ServeOptions{EntraAddr: "127.0.0.1:0", VeeamAddr: "127.0.0.1:0", StateDir: t.TempDir(), AdminPassword: "pw-for-this-test"})
	if err != nil {
		t.Fatal(err)
	}
	defer run.Shutdown(context.Background())
	pemBytes, err := os.ReadFile(run.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	c := client{t: t, hc: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}}
	if !strings.HasPrefix(run.EntraURL, "https://127.0.0.1:") || !strings.HasPrefix(run.VeeamURL, "https://127.0.0.1:") {
		t.Fatalf("urls %s %s", run.EntraURL, run.VeeamURL)
	}
	vt := seedFlow(t, c, run.EntraURL, run.VeeamURL)
	if vt["token_type"] != "bearer" || vt["expires_in"].(float64) != 3600 {
		t.Fatalf("veeam token response %v", vt)
	}
	st, admin := c.do("POST", run.VeeamURL+"/v8/token", url.Values{"grant_type": {"password"}, "username": {run.AdminUser}, "password": {"pw-for-this-test"}}, "", "")
	if st != 200 || admin["userName"] != run.AdminUser {
		t.Fatalf("admin login with --admin-password: %d %v", st, admin)
	}
	before := run.Clock.Now()
	if st, _ := c.do("POST", run.VeeamURL+"/_mock/clock/advance", nil, `{"duration":"2h"}`, ""); st != 200 {
		t.Fatal("advance")
	}
	if d := run.Entra.Clock().Now().Sub(before); d < 2*time.Hour {
		t.Fatalf("advancing on Veeam moved Entra's clock by %v", d)
	}
	if len(run.Users) == 0 || run.Users[0] != entra.DefaultAdminUPN {
		t.Fatalf("users %v", run.Users)
	}
}

// `vbharness mock --control-token T` guards the control API of BOTH servers: on each, a
// control route refuses a caller without the bearer or with a wrong one (401, even from
// loopback, and a refused clock advance moves nothing) and serves the right one. The
// protocol routes stay anonymous-reachable: the token guards /_mock/ only.
func TestServeControlTokenGuardsBothServers(t *testing.T) {
	t.Parallel()
	const token = "ctl-token-for-this-test-0123456789"
	run, err := Serve(context.Background(), ServeOptions{EntraAddr: "127.0.0.1:0", VeeamAddr: "127.0.0.1:0",
		StateDir: t.TempDir(), ControlToken: token})
	if err != nil {
		t.Fatal(err)
	}
	defer run.Shutdown(context.Background())
	pemBytes, err := os.ReadFile(run.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	send := func(method, u, body string, auth string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, u, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, u, err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 200)) // enough to tell the shapes apart
		return resp.StatusCode, string(raw)
	}
	type route struct{ method, path, body string }
	common := []route{{"GET", "/_mock/health", ""}, {"GET", "/_mock/clock", ""}, {"GET", "/_mock/requests", ""},
		{"GET", "/_mock/faults", ""}, {"POST", "/_mock/clock/advance", `{"duration":"1h"}`}}
	servers := []struct {
		name, url string
		own       []route
		protocol  string // an anonymous protocol route, reachable without the control token
	}{
		{"entra", run.EntraURL, []route{{"GET", "/_mock/devicecodes", ""}, {"GET", "/_mock/settings", ""}},
			"/" + entra.DefaultTenant + "/v2.0/.well-known/openid-configuration"},
		{"veeam", run.VeeamURL, []route{{"GET", "/_mock/settings", ""}, {"GET", "/_mock/organizations", ""}}, "/v8/Health"},
	}
	for _, s := range servers {
		for _, r := range append(append([]route{}, common...), s.own...) {
			for _, bad := range []struct{ name, auth string }{
				{"no Authorization", ""},
				{"a wrong bearer", "Bearer wrong-" + token},
				{"the token without Bearer", token},
				{"Basic credentials", "Basic " + token},
			} {
				before := run.Clock.Now()
				st, body := send(r.method, s.url+r.path, r.body, bad.auth)
				if st != http.StatusUnauthorized || !strings.Contains(body, `"error"`) {
					t.Errorf("%s %s %s with %s: %d %s, want 401 {\"error\":…}", s.name, r.method, r.path, bad.name, st, body)
				}
				if moved := run.Clock.Now().Sub(before); moved >= time.Hour {
					t.Errorf("%s %s %s with %s moved the clock by %v", s.name, r.method, r.path, bad.name, moved)
				}
			}
			before := run.Clock.Now()
			if st, body := send(r.method, s.url+r.path, r.body, "Bearer "+token); st != http.StatusOK {
				t.Errorf("%s %s %s with the control token: %d %s, want 200", s.name, r.method, r.path, st, body)
			}
			if r.path == "/_mock/clock/advance" && run.Clock.Now().Sub(before) < time.Hour {
				t.Errorf("%s: an advance with the control token did not move the clock", s.name)
			}
		}
		if st, body := send("GET", s.url+s.protocol, "", ""); st != http.StatusOK {
			t.Errorf("%s GET %s without the control token: %d %s; the token must guard /_mock/ only", s.name, s.protocol, st, body)
		}
	}
}

func TestServeRefusesATakenPort(t *testing.T) {
	t.Parallel()
	run, err := Serve(context.Background(), ServeOptions{EntraAddr: "127.0.0.1:0", VeeamAddr: "127.0.0.1:0", HTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	defer run.Shutdown(context.Background())
	taken := strings.TrimPrefix(run.VeeamURL, "http://")
	if _, err := Serve(context.Background(), ServeOptions{EntraAddr: "127.0.0.1:0", VeeamAddr: taken, HTTP: true}); err == nil || !strings.Contains(err.Error(), "--veeam-addr") {
		t.Fatalf("err = %v, want a listen error naming --veeam-addr", err)
	}
}

// BenchmarkNewInProcess is what the embedded mock target pays per test before the test
// runs: a virtual clock, an Entra and a Veeam mock with their routes, stores and a copy
// of the fixtures, and the in-memory transport. Keys are pooled, so none is generated.
func BenchmarkNewInProcess(b *testing.B) {
	NewInProcess(Options{}) // generate the pooled keys outside the loop
	b.ReportAllocs()
	for b.Loop() {
		NewInProcess(Options{})
	}
}

// Both mocks route through tables built once per process (gorilla/mux's regexps are
// compiled once, not per stack): each request must still reach its own stack's state.
// Many stacks changed through their control APIs at once, each then reads back only its
// own changes: the clock, Entra's keys and settings, Veeam's settings, faults and stubs.
func TestSharedRouteTablesServeEachStackItsOwnState(t *testing.T) {
	t.Parallel()
	const n = 8
	stacks := make([]*InProcess, n)
	for i := range stacks {
		stacks[i] = NewInProcess(Options{})
	}
	kid := func(s *InProcess) string {
		_, jwks := (client{t: t, hc: s.Client}).do("GET", s.EntraURL+"/"+s.Tenant+"/discovery/v2.0/keys", nil, "", "")
		return jwks["keys"].([]any)[0].(map[string]any)["kid"].(string)
	}
	defaultKid := kid(stacks[0])
	var wg sync.WaitGroup
	for i, s := range stacks {
		if i%2 == 0 {
			continue // the even stacks stay as they were built
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := client{t: t, hc: s.Client}
			for _, call := range []struct{ method, url, body string }{
				{"POST", s.EntraURL + "/_mock/clock/advance", fmt.Sprintf(`{"duration":"%dh"}`, i)},
				{"POST", s.EntraURL + "/_mock/keys/rotate", ""},
				{"PUT", s.VeeamURL + "/_mock/settings", `{"antiforgery":"ignore"}`},
				{"POST", s.VeeamURL + "/_mock/faults", `{"path":"/v8/Jobs","status":503}`},
				{"POST", s.VeeamURL + "/_mock/stubs", `{"method":"GET","path":"/v8/License","status":418}`},
			} {
				if st, body := c.do(call.method, call.url, nil, call.body, ""); st/100 != 2 {
					t.Errorf("stack %d: %s %s: %d %v", i, call.method, call.url, st, body)
				}
			}
		}()
	}
	wg.Wait()
	start := stacks[0].Clock.Now()
	for i, s := range stacks {
		c := client{t: t, hc: s.Client}
		_, clk := c.do("GET", s.VeeamURL+"/_mock/clock", nil, "", "")
		_, set := c.do("GET", s.VeeamURL+"/_mock/settings", nil, "", "")
		_, fl := c.do("GET", s.EntraURL+"/_mock/faults", nil, "", "")
		_, vf := c.do("GET", s.VeeamURL+"/_mock/faults", nil, "", "")
		_, stubs := c.do("GET", s.VeeamURL+"/_mock/stubs", nil, "", "")
		now, _ := time.Parse(time.RFC3339Nano, clk["now"].(string))
		changed := i%2 == 1
		if got := now.Sub(start).Round(time.Hour) == time.Duration(i)*time.Hour; got != changed && i != 0 {
			t.Errorf("stack %d: clock at %v, started at %v", i, now, start)
		}
		if got := kid(s) != defaultKid; got != changed {
			t.Errorf("stack %d: keys rotated %v, want %v", i, got, changed)
		}
		if got := set["antiforgery"] == "ignore"; got != changed {
			t.Errorf("stack %d: antiforgery %v", i, set["antiforgery"])
		}
		if got := len(vf["faults"].([]any)) == 1; got != changed || len(fl["faults"].([]any)) != 0 {
			t.Errorf("stack %d: Veeam faults %v, Entra faults %v", i, vf["faults"], fl["faults"])
		}
		if got := len(stubs["stubs"].([]any)) == 1; got != changed {
			t.Errorf("stack %d: stubs %v", i, stubs["stubs"])
		}
	}
}
