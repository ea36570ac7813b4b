package stack

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/vbharness/vbharness/mocks/entra"
	"github.com/vbharness/vbharness/mocks/veeam"
)

// lockedBuffer is a log sink shared by both mocks' handlers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestLogsAndJournalsHoldNoIssuedSecret runs the seed flow, a refresh at both services,
// a logout and a handful of refusals (a wrong password, a tampered assertion, a garbage
// refresh token, a spent device code) on a stack whose mocks log at debug level, then
// scans the logs and both journals (as GET /_mock/requests serves them) for every
// secret the flow handled: device and user codes, Entra and Veeam tokens, the
// assertion, the administrator's password. The device-code listing of the control API
// shows user codes by design (a person types them), but never a device code.
func TestLogsAndJournalsHoldNoIssuedSecret(t *testing.T) {
	t.Parallel()
	var logs lockedBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := NewInProcess(Options{Entra: []entra.Option{entra.WithLogger(logger)}, Veeam: []veeam.Option{veeam.WithLogger(logger)}})
	c := client{t: t, hc: s.Client}
	var secrets []string
	keep := func(vals ...any) {
		for _, v := range vals {
			if str, ok := v.(string); ok && len(str) >= 6 {
				secrets = append(secrets, str)
			}
		}
	}
	tokenURL := s.EntraURL + "/" + entra.DefaultTenant + "/oauth2/v2.0/token"

	st, dc := c.do("POST", s.EntraURL+"/"+entra.DefaultTenant+"/oauth2/v2.0/devicecode", url.Values{
		"client_id": {entra.AzureCLIClientID}, "scope": {"openid Directory.AccessAsUser.All User.ReadWrite.All offline_access"}}, "", "")
	if st != 200 {
		t.Fatalf("devicecode: %d %v", st, dc)
	}
	keep(dc["device_code"], dc["user_code"])
	if st, b := c.do("POST", s.EntraURL+"/_mock/devicecodes/approve", nil, `{"user_code":"`+dc["user_code"].(string)+`"}`, ""); st != 200 {
		t.Fatalf("approve: %d %v", st, b)
	}
	poll := url.Values{"grant_type": {"device_code"}, "client_id": {entra.AzureCLIClientID}, "device_code": {dc["device_code"].(string)}}
	st, tok := c.do("POST", tokenURL, poll, "", "")
	if st != 200 {
		t.Fatalf("token: %d %v", st, tok)
	}
	keep(tok["access_token"], tok["refresh_token"], tok["id_token"])
	if st, _ := c.do("POST", tokenURL, poll, "", ""); st != 400 {
		t.Fatalf("a spent device code: %d", st)
	}
	st, again := c.do("POST", tokenURL, url.Values{"grant_type": {"refresh_token"}, "client_id": {entra.AzureCLIClientID}, "refresh_token": {tok["refresh_token"].(string)}}, "", "")
	if st != 200 {
		t.Fatalf("entra refresh: %d %v", st, again)
	}
	keep(again["access_token"], again["refresh_token"], again["id_token"])
	assertion, _ := json.Marshal(tok)
	keep(string(assertion))
	st, vt := c.do("POST", s.VeeamURL+"/v8/token", url.Values{"grant_type": {veeam.GrantJWTBearer}, "client_id": {veeam.DefaultOrganization}, "assertion": {string(assertion)}}, "", "")
	if st != 200 {
		t.Fatalf("jwt-bearer: %d %v", st, vt)
	}
	keep(vt["access_token"], vt["refresh_token"])
	st, vr := c.do("POST", s.VeeamURL+"/v8/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {vt["refresh_token"].(string)}}, "", "")
	if st != 200 {
		t.Fatalf("veeam refresh: %d %v", st, vr)
	}
	keep(vr["access_token"], vr["refresh_token"], s.AdminPassword)
	if st, _ := c.do("POST", s.VeeamURL+"/v8/token/logout", nil, "", vr["access_token"].(string)); st != 204 {
		t.Fatalf("logout: %d", st)
	}
	// Refusals, whose log lines explain why without quoting what was sent.
	wrong := "not-the-" + s.AdminPassword
	keep(wrong)
	c.do("POST", s.VeeamURL+"/v8/token", url.Values{"grant_type": {"password"}, "username": {"Administrator"}, "password": {wrong}}, "", "")
	tampered := strings.Replace(string(assertion), `"access_token":"ey`, `"access_token":"eyX`, 1)
	keep(tampered)
	c.do("POST", s.VeeamURL+"/v8/token", url.Values{"grant_type": {veeam.GrantJWTBearer}, "client_id": {veeam.DefaultOrganization}, "assertion": {tampered}}, "", "")
	garbage := "0.AgarbageRefreshTokenValue1234567890"
	keep(garbage)
	c.do("POST", tokenURL, url.Values{"grant_type": {"refresh_token"}, "client_id": {entra.AzureCLIClientID}, "refresh_token": {garbage}}, "", "")
	c.do("POST", s.VeeamURL+"/v8/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {vt["refresh_token"].(string)}}, "", "") // spent

	if len(secrets) < 14 {
		t.Fatalf("only %d secrets collected; the flow did not run as intended", len(secrets))
	}
	journals := map[string]string{}
	for name, base := range map[string]string{"entra": s.EntraURL, "veeam": s.VeeamURL} {
		st, body := c.do("GET", base+"/_mock/requests", nil, "", "")
		raw, _ := json.Marshal(body)
		if st != 200 || !strings.Contains(string(raw), "/token") {
			t.Fatalf("%s journal: %d %s", name, st, raw)
		}
		journals[name+" journal"] = string(raw)
	}
	texts := map[string]string{"the mocks' logs": logs.String(), "entra journal": journals["entra journal"], "veeam journal": journals["veeam journal"]}
	if !strings.Contains(texts["the mocks' logs"], "token issued") {
		t.Fatalf("the logs hold no token issuance; is the logger wired?\n%s", texts["the mocks' logs"])
	}
	for where, text := range texts {
		for _, sec := range secrets {
			if strings.Contains(text, sec) {
				t.Errorf("%s holds a secret ending %q", where, sec[len(sec)-4:])
			}
		}
	}
	_, codes := c.do("GET", s.EntraURL+"/_mock/devicecodes", nil, "", "")
	raw, _ := json.Marshal(codes)
	if strings.Contains(string(raw), dc["device_code"].(string)) {
		t.Error("GET /_mock/devicecodes lists a device code")
	}
}
