package entra

import (
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Extra apps for error cases: a confidential app and a public app outside the FOCI
// family.
const (
	confidentialID = "11111111-2222-4333-8444-555555555555"
	confidentialPW = "s3cret-value"
	otherPublicID  = "22222222-3333-4444-8555-666666666666"
)

func testDirectory() Directory {
	d := DefaultDirectory()
	d.Apps = append(d.Apps,
		App{ClientID: confidentialID, DisplayName: "Backup Service", ClientSecret: confidentialPW, Permissions: Permissions{Graph: []string{"User.Read.All"}}},
		App{ClientID: otherPublicID, DisplayName: "Contoso Tool", PublicClient: true, PreauthorizedScopes: []string{"User.Read", "openid", "profile"}},
	)
	return d
}

const correlation = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"

var (
	descRE = regexp.MustCompile(`^(AADSTS(\d+): )?(.+) Trace ID: ([0-9a-f-]{36}) Correlation ID: ([0-9a-f-]{36}) Timestamp: (\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ)$`)
	guidRx = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

// checkEntraError asserts Entra's error body: status, error, AADSTS code, key order,
// description suffix, timestamp on the mock clock, trace and correlation ids,
// error_uri and suberror.
func checkEntraError(t *testing.T, ts *testServer, r reply, status int, code string, aadsts int, suberror string) {
	t.Helper()
	if r.Status != status || r.str("error") != code {
		t.Fatalf("got %d %q, want %d %q: %s", r.Status, r.str("error"), status, code, r.Raw)
	}
	keys := []string{"error", "error_description", "error_codes", "timestamp", "trace_id", "correlation_id", "error_uri"}
	if aadsts == 0 {
		keys = []string{"error", "error_description", "timestamp", "trace_id", "correlation_id"}
	}
	if suberror != "" {
		keys = append(keys, "suberror")
	}
	if got := topKeys(t, r.Raw); !reflect.DeepEqual(got, keys) {
		t.Errorf("keys = %v, want %v", got, keys)
	}
	m := descRE.FindStringSubmatch(r.str("error_description"))
	if m == nil {
		t.Fatalf("error_description %q lacks Entra's suffix", r.str("error_description"))
	}
	ts0 := ts.Clock.Now().UTC().Format("2006-01-02 15:04:05Z")
	if m[6] != ts0 || r.str("timestamp") != ts0 {
		t.Errorf("timestamps %q/%q, want the mock clock's %q", m[6], r.str("timestamp"), ts0)
	}
	if m[4] != r.str("trace_id") || !guidRx.MatchString(r.str("trace_id")) || !strings.HasSuffix(r.str("trace_id"), "00") {
		t.Errorf("trace_id %q (description has %q)", r.str("trace_id"), m[4])
	}
	if m[5] != correlation || r.str("correlation_id") != correlation {
		t.Errorf("correlation_id %q does not echo client-request-id", r.str("correlation_id"))
	}
	if aadsts != 0 {
		if m[2] != fmt.Sprint(aadsts) {
			t.Errorf("description code AADSTS%s, want AADSTS%d", m[2], aadsts)
		}
		if codes, _ := r.JSON["error_codes"].([]any); len(codes) != 1 || codes[0] != float64(aadsts) {
			t.Errorf("error_codes = %v, want [%d]", r.JSON["error_codes"], aadsts)
		}
		if r.str("error_uri") != fmt.Sprintf("https://login.microsoftonline.com/error?code=%d", aadsts) {
			t.Errorf("error_uri = %q", r.str("error_uri"))
		}
	}
	if r.str("suberror") != suberror {
		t.Errorf("suberror = %q, want %q", r.str("suberror"), suberror)
	}
	if r.Header.Get("Cache-Control") != "no-store, no-cache" || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Errorf("headers = %v", r.Header)
	}
}

// Every protocol error the mock sends, with its status, error, AADSTS code and shape.
func TestProtocolErrors(t *testing.T) {
	t.Parallel()
	hdr := []string{"client-request-id", correlation}
	dcForm := func(client, scope string) url.Values {
		return url.Values{"client_id": {client}, "scope": {scope}}
	}
	refreshForm := func(rt string) url.Values {
		return url.Values{"grant_type": {"refresh_token"}, "client_id": {AzureCLIClientID}, "refresh_token": {rt}}
	}
	// refreshToken runs a device flow and returns its refresh token.
	refreshToken := func(t *testing.T, ts *testServer) string {
		return ts.tokens(t, seedScope, nil).str("refresh_token")
	}
	cases := []struct {
		name     string
		opts     []Option
		send     func(t *testing.T, ts *testServer) reply
		status   int
		code     string
		aadsts   int
		suberror string
	}{
		{name: "devicecode for an unknown client is AADSTS700016", send: func(t *testing.T, ts *testServer) reply {
			return ts.post(t, dcPath, dcForm("99999999-9999-4999-8999-999999999999", seedScope), hdr...)
		}, status: 400, code: "unauthorized_client", aadsts: 700016},
		{name: "devicecode without scope is AADSTS900144", send: func(t *testing.T, ts *testServer) reply {
			return ts.post(t, dcPath, url.Values{"client_id": {AzureCLIClientID}}, hdr...)
		}, status: 400, code: "invalid_request", aadsts: 900144},
		{name: "devicecode without client_id is AADSTS900144", send: func(t *testing.T, ts *testServer) reply {
			return ts.post(t, dcPath, url.Values{"scope": {seedScope}}, hdr...)
		}, status: 400, code: "invalid_request", aadsts: 900144},
		{name: "devicecode with a malformed scope is AADSTS70011", send: func(t *testing.T, ts *testServer) reply {
			return ts.post(t, dcPath, dcForm(AzureCLIClientID, "/"), hdr...)
		}, status: 400, code: "invalid_scope", aadsts: 70011},
		{name: "devicecode combining .default with a permission is AADSTS70011", send: func(t *testing.T, ts *testServer) reply {
			return ts.post(t, dcPath, dcForm(AzureCLIClientID, "https://graph.microsoft.com/.default User.Read.All"), hdr...)
		}, status: 400, code: "invalid_scope", aadsts: 70011},
		{name: "devicecode with a scope Azure CLI is not preauthorized for is AADSTS65002", send: func(t *testing.T, ts *testServer) reply {
			return ts.post(t, dcPath, dcForm(AzureCLIClientID, "Sites.Read.All offline_access"), hdr...)
		}, status: 400, code: "invalid_request", aadsts: 65002},
		{name: "devicecode with a scope a third-party app lacks consent for is AADSTS65001", opts: []Option{WithDirectory(testDirectory())}, send: func(t *testing.T, ts *testServer) reply {
			return ts.post(t, dcPath, dcForm(otherPublicID, "Mail.Read"), hdr...)
		}, status: 400, code: "invalid_grant", aadsts: 65001, suberror: "consent_required"},
		{name: "devicecode for a resource the directory does not have is AADSTS500011", send: func(t *testing.T, ts *testServer) reply {
			return ts.post(t, dcPath, dcForm(AzureCLIClientID, "https://vault.azure.net/user_impersonation"), hdr...)
		}, status: 400, code: "invalid_resource", aadsts: 500011},
		{name: "devicecode for an unknown tenant is AADSTS90002", send: func(t *testing.T, ts *testServer) reply {
			return ts.post(t, "/nowhere.onmicrosoft.com/oauth2/v2.0/devicecode", dcForm(AzureCLIClientID, seedScope), hdr...)
		}, status: 400, code: "invalid_request", aadsts: 90002},
		{name: "a malformed tenant name is AADSTS900023", send: func(t *testing.T, ts *testServer) reply {
			return ts.post(t, "/not_a_tenant/oauth2/v2.0/devicecode", dcForm(AzureCLIClientID, seedScope), hdr...)
		}, status: 400, code: "invalid_request", aadsts: 900023},
		{name: "openid configuration of an unknown tenant is invalid_tenant AADSTS90002", send: func(t *testing.T, ts *testServer) reply {
			req, _ := http.NewRequest(http.MethodGet, ts.URL+"/00000000-0000-4000-8000-000000000000/v2.0/.well-known/openid-configuration", nil)
			req.Header.Set("client-request-id", correlation)
			return ts.do(t, req)
		}, status: 400, code: "invalid_tenant", aadsts: 90002},
		{name: "polling before approval is authorization_pending AADSTS70016", send: func(t *testing.T, ts *testServer) reply {
			return ts.post(t, tokenPath, pollForm(ts.issueCode(t, seedScope).DeviceCode), hdr...)
		}, status: 400, code: "authorization_pending", aadsts: 70016},
		{name: "polling after deny is authorization_declined", send: func(t *testing.T, ts *testServer) reply {
			d := ts.issueCode(t, seedScope)
			if _, err := ts.Deny(d.UserCode); err != nil {
				t.Fatal(err)
			}
			return ts.post(t, tokenPath, pollForm(d.DeviceCode), hdr...)
		}, status: 400, code: "authorization_declined", aadsts: 65004},
		{name: "polling past expires_in on the clock is expired_token AADSTS70020", send: func(t *testing.T, ts *testServer) reply {
			d := ts.issueCode(t, seedScope)
			ts.Clock.Advance(900 * time.Second)
			return ts.post(t, tokenPath, pollForm(d.DeviceCode), hdr...)
		}, status: 400, code: "expired_token", aadsts: 70020},
		{name: "an approved code not redeemed before expiry is expired_token", send: func(t *testing.T, ts *testServer) reply {
			d := ts.issueCode(t, seedScope)
			ts.approve(t, d.UserCode)
			ts.Clock.Advance(901 * time.Second)
			return ts.post(t, tokenPath, pollForm(d.DeviceCode), hdr...)
		}, status: 400, code: "expired_token", aadsts: 70020},
		{name: "a redeemed code is single-use", send: func(t *testing.T, ts *testServer) reply {
			d := ts.issueCode(t, seedScope)
			ts.approve(t, d.UserCode)
			if r := ts.post(t, tokenPath, pollForm(d.DeviceCode)); r.Status != 200 {
				t.Fatalf("first redemption: %d", r.Status)
			}
			return ts.post(t, tokenPath, pollForm(d.DeviceCode), hdr...)
		}, status: 400, code: "expired_token", aadsts: 70020},
		{name: "an unknown device code is bad_verification_code", send: func(t *testing.T, ts *testServer) reply {
			return ts.post(t, tokenPath, pollForm("LBgABIQEAAAAnot-a-code"), hdr...)
		}, status: 400, code: "bad_verification_code", aadsts: 70000},
		{name: "an unknown device code is invalid_grant under that assumption", opts: []Option{WithAssumptions(Assumptions{UnknownDeviceCode: "invalid_grant"})}, send: func(t *testing.T, ts *testServer) reply {
			return ts.post(t, tokenPath, pollForm("LBgABIQEAAAAnot-a-code"), hdr...)
		}, status: 400, code: "invalid_grant", aadsts: 70000},
		{name: "a device code polled by another client is invalid_grant", opts: []Option{WithDirectory(testDirectory())}, send: func(t *testing.T, ts *testServer) reply {
			f := pollForm(ts.issueCode(t, seedScope).DeviceCode)
			f.Set("client_id", otherPublicID)
			return ts.post(t, tokenPath, f, hdr...)
		}, status: 400, code: "invalid_grant", aadsts: 70000},
		{name: "a poll without device_code is AADSTS900144", send: func(t *testing.T, ts *testServer) reply {
			return ts.post(t, tokenPath, url.Values{"grant_type": {"device_code"}, "client_id": {AzureCLIClientID}}, hdr...)
		}, status: 400, code: "invalid_request", aadsts: 900144},
		{name: "strict dialect: polling early is slow_down", opts: []Option{WithStrictRFC8628(true)}, send: func(t *testing.T, ts *testServer) reply {
			d := ts.issueCode(t, seedScope)
			ts.post(t, tokenPath, pollForm(d.DeviceCode))
			return ts.post(t, tokenPath, pollForm(d.DeviceCode), hdr...)
		}, status: 400, code: "slow_down"},
		{name: "strict dialect: a declined code is access_denied", opts: []Option{WithStrictRFC8628(true)}, send: func(t *testing.T, ts *testServer) reply {
			d := ts.issueCode(t, seedScope)
			if _, err := ts.Deny(d.UserCode); err != nil {
				t.Fatal(err)
			}
			return ts.post(t, tokenPath, pollForm(d.DeviceCode), hdr...)
		}, status: 400, code: "access_denied", aadsts: 65004},
		{name: "an unknown grant type is unsupported_grant_type AADSTS70003", send: func(t *testing.T, ts *testServer) reply {
			return ts.post(t, tokenPath, url.Values{"grant_type": {"password"}, "client_id": {AzureCLIClientID}}, hdr...)
		}, status: 400, code: "unsupported_grant_type", aadsts: 70003},
		{name: "a token request without grant_type is AADSTS900144", send: func(t *testing.T, ts *testServer) reply {
			return ts.post(t, tokenPath, url.Values{"client_id": {AzureCLIClientID}}, hdr...)
		}, status: 400, code: "invalid_request", aadsts: 900144},
		{name: "a token request without any client id is AADSTS900144", send: func(t *testing.T, ts *testServer) reply {
			return ts.post(t, tokenPath, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}, hdr...)
		}, status: 400, code: "invalid_request", aadsts: 900144},
		{name: "a public client sending Basic auth is invalid_client AADSTS700025", send: func(t *testing.T, ts *testServer) reply {
			req, _ := http.NewRequest(http.MethodPost, ts.URL+tokenPath, strings.NewReader(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("client-request-id", correlation)
			req.SetBasicAuth(AzureCLIClientID, "")
			return ts.do(t, req)
		}, status: 401, code: "invalid_client", aadsts: 700025},
		{name: "a public client sending client_secret is AADSTS700025", send: func(t *testing.T, ts *testServer) reply {
			f := pollForm("x")
			f.Set("client_secret", "nope")
			return ts.post(t, tokenPath, f, hdr...)
		}, status: 401, code: "invalid_client", aadsts: 700025},
		{name: "client_credentials without a credential is AADSTS7000216", opts: []Option{WithDirectory(testDirectory())}, send: func(t *testing.T, ts *testServer) reply {
			return ts.post(t, tokenPath, url.Values{"grant_type": {"client_credentials"}, "client_id": {confidentialID}, "scope": {GraphResource + "/.default"}}, hdr...)
		}, status: 401, code: "invalid_client", aadsts: 7000216},
		{name: "a confidential client polling a device code without a secret is AADSTS7000218", opts: []Option{WithDirectory(testDirectory())}, send: func(t *testing.T, ts *testServer) reply {
			f := pollForm("x")
			f.Set("client_id", confidentialID)
			return ts.post(t, tokenPath, f, hdr...)
		}, status: 401, code: "invalid_client", aadsts: 7000218},
		{name: "a confidential client with a wrong secret is AADSTS7000215", opts: []Option{WithDirectory(testDirectory())}, send: func(t *testing.T, ts *testServer) reply {
			return ts.post(t, tokenPath, url.Values{"grant_type": {"client_credentials"}, "client_id": {confidentialID}, "client_secret": {"wrong"}, "scope": {GraphResource + "/.default"}}, hdr...)
		}, status: 401, code: "invalid_client", aadsts: 7000215},
		{name: "client_credentials on organizations is AADSTS50059", opts: []Option{WithDirectory(testDirectory())}, send: func(t *testing.T, ts *testServer) reply {
			return ts.post(t, "/organizations/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {confidentialID}, "client_secret": {confidentialPW}, "scope": {GraphResource + "/.default"}}, hdr...)
		}, status: 400, code: "invalid_request", aadsts: 50059},
		{name: "client_credentials without /.default is AADSTS1002012", opts: []Option{WithDirectory(testDirectory())}, send: func(t *testing.T, ts *testServer) reply {
			return ts.post(t, tokenPath, url.Values{"grant_type": {"client_credentials"}, "client_id": {confidentialID}, "client_secret": {confidentialPW}, "scope": {"User.Read.All"}}, hdr...)
		}, status: 400, code: "invalid_scope", aadsts: 1002012},
		{name: "a garbage refresh token is invalid_grant AADSTS9002313", send: func(t *testing.T, ts *testServer) reply {
			return ts.post(t, tokenPath, refreshForm("0.AgarbageNotAToken"), hdr...)
		}, status: 400, code: "invalid_grant", aadsts: 9002313},
		{name: "a refresh without refresh_token is AADSTS900144", send: func(t *testing.T, ts *testServer) reply {
			return ts.post(t, tokenPath, url.Values{"grant_type": {"refresh_token"}, "client_id": {AzureCLIClientID}}, hdr...)
		}, status: 400, code: "invalid_request", aadsts: 900144},
		{name: "a refresh token unused for 90 days is AADSTS700082 bad_token", send: func(t *testing.T, ts *testServer) reply {
			rt := refreshToken(t, ts)
			ts.Clock.Advance(90 * 24 * time.Hour)
			return ts.post(t, tokenPath, refreshForm(rt), hdr...)
		}, status: 400, code: "invalid_grant", aadsts: 700082, suberror: "bad_token"},
		{name: "a refresh token of a revoked user is AADSTS50173 bad_token", send: func(t *testing.T, ts *testServer) reply {
			rt := refreshToken(t, ts)
			if r := ts.control(t, http.MethodPost, "/_mock/users/revoke", map[string]string{"user": DefaultAdminUPN}); r.Status != 200 {
				t.Fatalf("revoke: %d %s", r.Status, r.Raw)
			}
			return ts.post(t, tokenPath, refreshForm(rt), hdr...)
		}, status: 400, code: "invalid_grant", aadsts: 50173, suberror: "bad_token"},
		{name: "a refresh token redeemed by a client outside the family is invalid_grant", opts: []Option{WithDirectory(testDirectory())}, send: func(t *testing.T, ts *testServer) reply {
			f := refreshForm(refreshToken(t, ts))
			f.Set("client_id", otherPublicID)
			return ts.post(t, tokenPath, f, hdr...)
		}, status: 400, code: "invalid_grant", aadsts: 70000, suberror: "bad_token"},
		{name: "a refresh token after Reset is garbage", send: func(t *testing.T, ts *testServer) reply {
			rt := refreshToken(t, ts)
			ts.Reset()
			return ts.post(t, tokenPath, refreshForm(rt), hdr...)
		}, status: 400, code: "invalid_grant", aadsts: 9002313},
		{name: "GET on the token endpoint is AADSTS900561", send: func(t *testing.T, ts *testServer) reply {
			req, _ := http.NewRequest(http.MethodGet, ts.URL+tokenPath, nil)
			req.Header.Set("client-request-id", correlation)
			return ts.do(t, req)
		}, status: 400, code: "invalid_request", aadsts: 900561},
		{name: "a repeated parameter is AADSTS9000411", send: func(t *testing.T, ts *testServer) reply {
			return ts.postRaw(t, tokenPath, "application/x-www-form-urlencoded", "grant_type=device_code&grant_type=device_code&client_id="+AzureCLIClientID, hdr...)
		}, status: 400, code: "invalid_request", aadsts: 9000411},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, c.opts...)
			r := c.send(t, ts)
			checkEntraError(t, ts, r, c.status, c.code, c.aadsts, c.suberror)
		})
	}
}
