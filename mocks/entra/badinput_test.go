package entra

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vbharness/vbharness/mocks/clock"
)

// Malformed bodies, wrong content types, oversized bodies, unknown grant types and
// unknown tenants all get Entra-shaped errors, and nothing panics.
func TestBadInput(t *testing.T) {
	t.Parallel()
	big := "grant_type=device_code&client_id=" + AzureCLIClientID + "&device_code=" + strings.Repeat("A", 1<<20)
	cases := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        string
		status      int
		code        string // OAuth error; "" for the control API's {"error":…}
		aadsts      int
	}{
		{"a body that is not form encoding is AADSTS9002313", "POST", tokenPath, formContentType, "grant_type=%zz", 400, "invalid_request", 9002313},
		{"a JSON body is not read, so grant_type is missing", "POST", tokenPath, "application/json", `{"grant_type":"device_code"}`, 400, "invalid_request", 900144},
		{"a text body is not read either", "POST", tokenPath, "text/plain", "grant_type=device_code", 400, "invalid_request", 900144},
		{"a body without a content type is not read", "POST", tokenPath, "", "grant_type=device_code", 400, "invalid_request", 900144},
		{"binary garbage is a missing grant_type", "POST", tokenPath, formContentType, "\x00\x01\xff\xfe", 400, "invalid_request", 900144},
		{"a JSON body to devicecode is a missing client_id", "POST", dcPath, "application/json", `{"client_id":"x"}`, 400, "invalid_request", 900144},
		{"a body over 1 MiB is 413 in Entra's shape", "POST", tokenPath, formContentType, big, 413, "invalid_request", 9002313},
		{"a body over 1 MiB to devicecode is 413", "POST", dcPath, formContentType, big, 413, "invalid_request", 9002313},
		{"a body over 1 MiB to the control API is 413 in its shape", "POST", "/_mock/devicecodes/approve", "application/json", `{"user_code":"` + strings.Repeat("A", 1<<20) + `"}`, 413, "", 0},
		{"a jwt-bearer grant is unsupported", "POST", tokenPath, formContentType, "grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&client_id=" + AzureCLIClientID, 400, "unsupported_grant_type", 70003},
		{"an unknown tenant on the token endpoint is AADSTS90002", "POST", "/contoso.onmicrosoft.com/oauth2/v2.0/token", formContentType, "grant_type=device_code", 400, "invalid_request", 90002},
		{"PUT on devicecode is AADSTS900561", "PUT", dcPath, formContentType, "client_id=x", 400, "invalid_request", 900561},
		{"POST on the openid configuration is 405", "POST", tenantPath + "/v2.0/.well-known/openid-configuration", formContentType, "", 405, "invalid_request", 0},
		{"an unknown path is 404 JSON", "GET", "/abc.onmicrosoft.com/oauth2/v2.0/authorize", "", "", 404, "not_found", 0},
		{"invalid JSON to the control API is 400", "POST", "/_mock/devicecodes/approve", "application/json", `{"user_code":`, 400, "", 0},
		{"unknown fields to the control API are 400", "POST", "/_mock/devicecodes/approve", "application/json", `{"usercode":"X"}`, 400, "", 0},
		{"a negative settings value is 400", "PUT", "/_mock/settings", "application/json", `{"interval":-5}`, 400, "", 0},
		{"an unknown settings word is 400", "PUT", "/_mock/settings", "application/json", `{"graph_audience":"sometimes"}`, 400, "", 0},
		{"a bad auto-approve duration is 400", "POST", "/_mock/devicecodes/auto-approve", "application/json", `{"after":"soon"}`, 400, "", 0},
		{"auto-approve with both rules is 400", "POST", "/_mock/devicecodes/auto-approve", "application/json", `{"after":"1s","after_polls":1}`, 400, "", 0},
		{"approving an unknown code is 404", "POST", "/_mock/devicecodes/approve", "application/json", `{"user_code":"NOPE12345"}`, 404, "", 0},
		{"approving without a code is 400", "POST", "/_mock/devicecodes/approve", "application/json", `{}`, 400, "", 0},
		{"revoking an unknown user is 404", "POST", "/_mock/users/revoke", "application/json", `{"user":"nobody@nowhere"}`, 404, "", 0},
	}
	ts := newTestServer(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequest(c.method, ts.URL+c.path, strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			if c.contentType != "" {
				req.Header.Set("Content-Type", c.contentType)
			}
			req.Header.Set("client-request-id", correlation)
			r := ts.do(t, req)
			if r.Status != c.status {
				t.Fatalf("status %d, want %d: %.300s", r.Status, c.status, r.Raw)
			}
			if c.code == "" {
				if keys := topKeys(t, r.Raw); len(keys) != 1 || keys[0] != "error" || r.str("error") == "" {
					t.Errorf("control API error body = %s", r.Raw)
				}
				return
			}
			checkEntraError(t, ts, r, c.status, c.code, c.aadsts, "")
		})
	}
}

// FuzzTokenEndpoint feeds the token endpoint arbitrary bodies, content types and
// Basic credentials: every answer is 200 or an Entra-shaped 4xx, never a panic or a
// 500. The server has an approved device code and a refresh token, so the corpus
// reaches the success paths too.
func FuzzTokenEndpoint(f *testing.F) {
	clk := clock.NewVirtual(time.Time{})
	srv := New(clk, WithDirectory(testDirectory()), WithStrictRFC8628(false))
	call := func(contentType, body, basic string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, tokenPath, strings.NewReader(body))
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		if basic != "" {
			user, pass, _ := strings.Cut(basic, ":")
			req.SetBasicAuth(user, pass)
		}
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		return w
	}
	dc := httptest.NewRecorder()
	srv.ServeHTTP(dc, func() *http.Request {
		r := httptest.NewRequest(http.MethodPost, dcPath, strings.NewReader(url.Values{"client_id": {AzureCLIClientID}, "scope": {"openid " + seedScope}}.Encode()))
		r.Header.Set("Content-Type", formContentType)
		return r
	}())
	var d deviceCodeResponse
	if err := json.Unmarshal(dc.Body.Bytes(), &d); err != nil {
		f.Fatalf("devicecode: %s", dc.Body)
	}
	if _, err := srv.Approve(d.UserCode, ""); err != nil {
		f.Fatal(err)
	}
	first := call(formContentType, pollForm(d.DeviceCode).Encode(), "")
	var tok tokenResponse
	if err := json.Unmarshal(first.Body.Bytes(), &tok); err != nil || tok.RefreshToken == "" {
		f.Fatalf("token: %s", first.Body)
	}

	f.Add(formContentType, pollForm(d.DeviceCode).Encode(), "")
	f.Add(formContentType, "grant_type=refresh_token&refresh_token="+tok.RefreshToken+"&client_id="+AzureCLIClientID+"&client_info=1", "")
	f.Add(formContentType, "grant_type=refresh_token&refresh_token="+tok.RefreshToken, AzureCLIClientID+":")
	f.Add(formContentType, "grant_type=refresh_token&refresh_token="+tok.RefreshToken+"&scope=openid%20User.Read.All", AzureCLIClientID+":")
	f.Add(formContentType, "grant_type=client_credentials&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default", confidentialID+":"+confidentialPW)
	f.Add(formContentType, "grant_type=device_code&device_code=x&client_id="+otherPublicID, "")
	f.Add(formContentType+"; charset=utf-8", "grant_type=urn:ietf:params:oauth:grant-type:device_code&client_id=&device_code=", "")
	f.Add(formContentType, "grant_type=%zz&&&==", "")
	f.Add(formContentType, "grant_type=refresh_token&grant_type=refresh_token", "")
	f.Add(formContentType, "grant_type=refresh_token&client_id="+AzureCLIClientID+"&refresh_token=0.A"+strings.Repeat("_", 64), "")
	f.Add("application/json", `{"grant_type":"refresh_token"}`, "")
	f.Add("multipart/form-data; boundary=x", "--x\r\n", "")
	f.Add("", "", "%zz:%zz")
	f.Fuzz(func(t *testing.T, contentType, body, basic string) {
		w := call(contentType, body, basic)
		switch w.Code {
		case 200, 400, 401, 413:
		default:
			t.Fatalf("status %d for body %q: %s", w.Code, body, w.Body)
		}
		var out map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
			t.Fatalf("answer is not JSON: %q", w.Body)
		}
		if w.Code == 200 {
			if s, _ := out["access_token"].(string); s == "" {
				t.Fatalf("200 without an access token: %s", w.Body)
			}
			return
		}
		desc, _ := out["error_description"].(string)
		if code, _ := out["error"].(string); code == "" || !strings.Contains(desc, " Trace ID: ") {
			t.Fatalf("error not in Entra's shape: %s", w.Body)
		}
	})
}
