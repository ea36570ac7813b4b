package stack

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/vbharness/vbharness/mocks/entra"
	"github.com/vbharness/vbharness/mocks/veeam"
)

// controlRoutes are the control API routes that take a body or a query, on both mocks.
var controlRoutes = []struct {
	veeam        bool
	method, path string
}{
	{false, "POST", "/_mock/devicecodes/approve"},
	{false, "POST", "/_mock/devicecodes/deny"},
	{false, "POST", "/_mock/devicecodes/dialect"},
	{false, "POST", "/_mock/devicecodes/auto-approve"},
	{false, "DELETE", "/_mock/devicecodes/auto-approve"},
	{false, "POST", "/_mock/users/revoke"},
	{false, "PUT", "/_mock/settings"},
	{false, "POST", "/_mock/clock/advance"},
	{false, "POST", "/_mock/faults"},
	{false, "GET", "/_mock/requests"},
	{false, "POST", "/_mock/keys/rotate"},
	{true, "PUT", "/_mock/settings"},
	{true, "POST", "/_mock/organizations"},
	{true, "POST", "/_mock/sessions/revoke"},
	{true, "POST", "/_mock/faults"},
	{true, "POST", "/_mock/clock/advance"},
	{true, "GET", "/_mock/requests"},
	{true, "POST", "/_mock/reset"},
}

// FuzzControlAPI sends arbitrary JSON bodies and query strings to every control route
// of a fresh in-process stack holding one pending device code ("{{code}}" in a body
// becomes its user code). Each answer is 2xx or a 4xx in the control API's shape
// ({"error": "…"}), never a 5xx or a panic, and afterwards both mocks still answer their
// protocol endpoints and control reads: whatever a control request changed, it did not
// leave the stack broken.
func FuzzControlAPI(f *testing.F) {
	for i, r := range controlRoutes {
		q := ""
		if r.method == "GET" {
			q = "path=/v8&method=GET&since=0"
		}
		f.Add(uint8(i), "{}", q)
	}
	seeds := map[string][]string{
		"/_mock/devicecodes/approve":      {`{"user_code":"{{code}}"}`, `{"user_code":"{{code}}","user":"nobody@x"}`, `{"user_code":" {{code}} "}`},
		"/_mock/devicecodes/deny":         {`{"user_code":"{{code}}"}`},
		"/_mock/devicecodes/dialect":      {`{"user_code":"{{code}}","strict":true}`, `{"user_code":"{{code}}","strict":null}`},
		"/_mock/devicecodes/auto-approve": {`{"after_polls":0}`, `{"after":"-5s"}`, `{"after":"2562047h"}`, `{"user":"admin@abc.onmicrosoft.com","after_polls":-1}`},
		"/_mock/users/revoke":             {`{"user":"admin@abc.onmicrosoft.com"}`},
		"/_mock/settings":                 {`{"interval":0}`, `{"access_token_lifetime":9223372036854775807}`, `{"tenantAuthentication":false,"errorStyle":"veeam"}`, `{"accessTokenLifetime":-1}`, `{"graph_audience":"guid"}`},
		"/_mock/clock/advance":            {`{"duration":"61m"}`, `{"duration":"2562047h47m"}`, `{"duration":"-1s"}`},
		"/_mock/faults":                   {`{"path":"*","status":599,"times":-1}`, `{"path":"/v8/token","action":"drop"}`, `{"path":"*","delay":"1h"}`, `{"path":"*","body":"{"}`},
		"/_mock/organizations":            {`{"name":"contoso.onmicrosoft.com","msid":"0c5b3f7e-1d2a-4b6c-8e9f-3a4b5c6d7e8f","modernAppOnly":true}`, `{"name":"abc.onmicrosoft.com"}`},
		"/_mock/sessions/revoke":          {`{"userName":"Administrator"}`, `{"all":true}`, `{}`},
	}
	for i, r := range controlRoutes {
		for _, body := range seeds[r.path] {
			f.Add(uint8(i), body, "")
		}
	}
	f.Add(uint8(9), "", "since=-1&path=%zz")
	f.Fuzz(func(t *testing.T, route uint8, body, query string) {
		st := NewInProcess(Options{})
		r := controlRoutes[int(route)%len(controlRoutes)]
		code := issueCode(t, st)
		body = strings.ReplaceAll(body, "{{code}}", code)
		srv := http.Handler(st.Entra)
		if r.veeam {
			srv = st.Veeam
		}
		target := r.path
		if query != "" {
			target += "?" + query
		}
		req := httptest.NewRequest(r.method, "https://localhost"+r.path, strings.NewReader(body))
		if u, err := url.Parse("https://localhost" + target); err == nil {
			req.URL = u
		}
		req.RemoteAddr = "127.0.0.1:50000"
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("%s %s %q: %d %s", r.method, target, body, w.Code, w.Body)
		}
		if w.Code >= 400 {
			var e map[string]string
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || len(e) != 1 || e["error"] == "" {
				t.Fatalf("%s %s %q: %d not in the control API's shape: %s", r.method, target, body, w.Code, w.Body)
			}
		}
		// The stack still works. (A fault rule the fuzzer installed may answer instead of
		// the handler, so protocol answers are checked for a status, not for success.)
		for _, probe := range []struct {
			h            http.Handler
			method, path string
			form         url.Values
		}{
			{st.Entra, "GET", "/_mock/settings", nil},
			{st.Entra, "GET", "/_mock/devicecodes", nil},
			{st.Veeam, "GET", "/_mock/settings", nil},
			{st.Veeam, "GET", "/_mock/organizations", nil},
			{st.Entra, "POST", "/" + entra.DefaultTenant + "/oauth2/v2.0/devicecode", url.Values{"client_id": {entra.AzureCLIClientID}, "scope": {"User.ReadWrite.All"}}},
			{st.Veeam, "POST", "/v8/token", url.Values{"grant_type": {"password"}, "username": {veeam.DefaultAdminUser}, "password": {veeam.DefaultAdminPassword}}},
		} {
			var rd *strings.Reader
			if probe.form != nil {
				rd = strings.NewReader(probe.form.Encode())
			} else {
				rd = strings.NewReader("")
			}
			req := httptest.NewRequest(probe.method, "https://localhost"+probe.path, rd)
			req.RemoteAddr = "127.0.0.1:50000"
			if probe.form != nil {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			w := httptest.NewRecorder()
			func() {
				defer func() {
					if p := recover(); p != nil && p != http.ErrAbortHandler {
						t.Fatalf("%s %s after %s %s %q: panic %v", probe.method, probe.path, r.method, target, body, p)
					}
				}()
				probe.h.ServeHTTP(w, req)
			}()
			if strings.HasPrefix(probe.path, "/_mock/") && w.Code != http.StatusOK {
				t.Fatalf("%s %s after %s %s %q: %d %s", probe.method, probe.path, r.method, target, body, w.Code, w.Body)
			}
		}
	})
}

// issueCode asks the stack's Entra for a device code and returns its user code.
func issueCode(t *testing.T, st *InProcess) string {
	t.Helper()
	req := httptest.NewRequest("POST", "https://login.mock/"+entra.DefaultTenant+"/oauth2/v2.0/devicecode",
		strings.NewReader(url.Values{"client_id": {entra.AzureCLIClientID}, "scope": {"User.ReadWrite.All"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	st.Entra.ServeHTTP(w, req)
	var d struct {
		UserCode string `json:"user_code"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &d); err != nil || d.UserCode == "" {
		t.Fatalf("devicecode: %d %s", w.Code, w.Body)
	}
	return d.UserCode
}
