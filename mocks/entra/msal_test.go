package entra

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"

	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/mocks/inproc"
	"github.com/vbharness/vbharness/mocks/journal"
)

// graphScopes are what an MSAL caller passes: Graph scopes only. MSAL adds openid,
// offline_access and profile itself (entra.md §8).
var graphScopes = []string{
	"https://graph.microsoft.com/Directory.AccessAsUser.All",
	"https://graph.microsoft.com/User.ReadWrite.All",
}

func newMSAL(t *testing.T, ts *testServer) public.Client {
	t.Helper()
	app, err := public.New(AzureCLIClientID,
		public.WithAuthority(ts.URL+"/"+DefaultTenant),
		public.WithInstanceDiscovery(false),
		public.WithHTTPClient(ts.Client))
	if err != nil {
		t.Fatalf("public.New: %v", err)
	}
	return app
}

// MSAL for Go completes the device code flow once the code is approved through the
// control API, then refreshes silently when its access token has expired.
func TestMSALDeviceCodeApprovedThenSilentRefresh(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// MSAL judges expiry on its own wall clock with a 5-minute margin, so a 240 s
	// lifetime makes it treat the cached token as expired and refresh.
	if r := ts.control(t, http.MethodPut, "/_mock/settings", map[string]int{"access_token_lifetime": 240}); r.Status != http.StatusOK {
		t.Fatalf("settings: %d %s", r.Status, r.Raw)
	}
	app := newMSAL(t, ts)
	dc, err := app.AcquireTokenByDeviceCode(ctx, graphScopes)
	if err != nil {
		t.Fatalf("AcquireTokenByDeviceCode: %v", err)
	}
	if !strings.HasPrefix(dc.Result.VerificationURL, ts.URL+"/devicelogin") {
		t.Errorf("verification URL %q is not the mock's page", dc.Result.VerificationURL)
	}
	codes := ts.DeviceCodes()
	if len(codes) != 1 || codes[0].State != StatePending || codes[0].UserCode != dc.Result.UserCode {
		t.Fatalf("device codes before approval = %+v", codes)
	}
	ts.approve(t, dc.Result.UserCode)

	res, err := dc.AuthenticationResult(ctx)
	if err != nil {
		t.Fatalf("AuthenticationResult: %v", err)
	}
	if res.Account.PreferredUsername != DefaultAdminUPN {
		t.Errorf("account = %q, want %q", res.Account.PreferredUsername, DefaultAdminUPN)
	}
	if want := DefaultAdminObjectID + "." + DefaultTenantID; res.Account.HomeAccountID != want {
		t.Errorf("home account id = %q, want %q (from client_info)", res.Account.HomeAccountID, want)
	}
	if res.IDToken.Name != "MOD Administrator" || res.IDToken.TenantID != DefaultTenantID {
		t.Errorf("id token name/tid = %q/%q", res.IDToken.Name, res.IDToken.TenantID)
	}
	if res.AccessToken == "" {
		t.Fatal("no access token")
	}

	// Expire the token on the mock clock too, so the refreshed token is minted later.
	ts.Clock.Advance(241 * time.Second)
	accounts, err := app.Accounts(ctx)
	if err != nil || len(accounts) != 1 {
		t.Fatalf("Accounts = %v, %v", accounts, err)
	}
	silent, err := app.AcquireTokenSilent(ctx, graphScopes, public.WithSilentAccount(accounts[0]))
	if err != nil {
		t.Fatalf("AcquireTokenSilent: %v", err)
	}
	if silent.AccessToken == res.AccessToken {
		t.Error("AcquireTokenSilent returned the expired token instead of refreshing")
	}
	refreshes := ts.Control().Journal().List(journal.Filter{Path: tokenPathGUID, Field: "grant_type", Value: "refresh_token"})
	if len(refreshes) != 1 || refreshes[0].Status != http.StatusOK {
		t.Fatalf("refresh grants in the journal = %+v, want one 200", refreshes)
	}
	if got := refreshes[0].Fields["refresh_token"]; !strings.HasPrefix(got, "[redacted") {
		t.Errorf("journal keeps the refresh token unredacted: %q", got)
	}
	claims := unverifiedClaims(t, silent.AccessToken)
	if iat := int64(claims["iat"].(float64)); iat != ts.Clock.Now().Add(-clockSkew).Unix() {
		t.Errorf("refreshed iat = %d, want the advanced clock minus 300 s", iat)
	}
}

// tokenPathGUID is where MSAL sends token requests: the openid configuration names
// the endpoints with the tenant GUID.
const tokenPathGUID = "/" + DefaultTenantID + "/oauth2/v2.0/token"

// MSAL keeps polling through authorization_pending answers until the code is approved.
func TestMSALPollsThroughPending(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if r := ts.control(t, http.MethodPost, "/_mock/devicecodes/auto-approve", map[string]any{"after_polls": 2}); r.Status != http.StatusOK {
		t.Fatalf("auto-approve: %d %s", r.Status, r.Raw)
	}
	dc, err := newMSAL(t, ts).AcquireTokenByDeviceCode(ctx, graphScopes)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dc.AuthenticationResult(ctx); err != nil {
		t.Fatalf("AuthenticationResult: %v", err)
	}
	var statuses []int
	for _, e := range ts.requests(tokenPathGUID) {
		statuses = append(statuses, e.Status)
	}
	if len(statuses) != 3 || statuses[0] != 400 || statuses[1] != 400 || statuses[2] != 200 {
		t.Errorf("poll statuses = %v, want [400 400 200]", statuses)
	}
}

// As against real Entra, an MSAL caller that passes offline_access itself fails the
// declined-scope check, because Entra never echoes offline_access
// (AzureAD/microsoft-authentication-library-for-go#416).
func TestMSALOfflineAccessIsReportedDeclined(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dc, err := newMSAL(t, ts).AcquireTokenByDeviceCode(ctx, append([]string{"offline_access"}, graphScopes...))
	if err != nil {
		t.Fatal(err)
	}
	ts.approve(t, dc.Result.UserCode)
	_, err = dc.AuthenticationResult(ctx)
	if err == nil || !strings.Contains(err.Error(), "declined scopes are present: offline_access") {
		t.Fatalf("err = %v, want MSAL's declined-scope error for offline_access", err)
	}
}

// In-process, through mocks/inproc (no sockets, no TLS), the mock derives an https
// origin from the request URL, so MSAL's issuer check passes without WithBaseURL.
func TestMSALInProcess(t *testing.T) {
	t.Parallel()
	srv := New(clock.NewVirtual(time.Time{}))
	tr := inproc.New()
	tr.Handle("login.mock", srv)
	app, err := public.New(AzureCLIClientID,
		public.WithAuthority("https://login.mock/"+DefaultTenant),
		public.WithInstanceDiscovery(false),
		public.WithHTTPClient(&http.Client{Transport: tr}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dc, err := app.AcquireTokenByDeviceCode(ctx, graphScopes)
	if err != nil {
		t.Fatalf("AcquireTokenByDeviceCode: %v", err)
	}
	if dc.Result.VerificationURL != "https://login.mock/devicelogin" {
		t.Errorf("verification URL = %q", dc.Result.VerificationURL)
	}
	if _, err := srv.Approve(dc.Result.UserCode, DefaultAdminUPN); err != nil {
		t.Fatal(err)
	}
	res, err := dc.AuthenticationResult(ctx)
	if err != nil {
		t.Fatalf("AuthenticationResult: %v", err)
	}
	if res.Account.PreferredUsername != DefaultAdminUPN {
		t.Errorf("account = %q", res.Account.PreferredUsername)
	}
}

// MSAL for Go signs in for Graph by device code, then AcquireTokenSilent for Azure
// Resource Manager redeems the refresh token for ARM (issue 19, acceptance 3): MSAL has
// no ARM token cached, so it refreshes with the ARM scope, and the mock issues an ARM
// token instead of AADSTS500011. Graph's cached token is still served silently after.
func TestMSALRedeemsRefreshTokenForARM(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	app := newMSAL(t, ts)
	dc, err := app.AcquireTokenByDeviceCode(ctx, graphScopes)
	if err != nil {
		t.Fatalf("AcquireTokenByDeviceCode: %v", err)
	}
	ts.approve(t, dc.Result.UserCode)
	graph, err := dc.AuthenticationResult(ctx)
	if err != nil {
		t.Fatalf("AuthenticationResult: %v", err)
	}

	armScopes := []string{"https://management.core.windows.net//user_impersonation"}
	arm, err := app.AcquireTokenSilent(ctx, armScopes, public.WithSilentAccount(graph.Account))
	if err != nil {
		t.Fatalf("AcquireTokenSilent for ARM: %v", err)
	}
	claims := unverifiedClaims(t, arm.AccessToken)
	if claims["aud"] != ARMResource || claims["scp"] != "user_impersonation" || claims["oid"] != DefaultAdminObjectID {
		t.Errorf("ARM token aud/scp/oid = %v/%v/%v", claims["aud"], claims["scp"], claims["oid"])
	}
	refreshes := ts.Control().Journal().List(journal.Filter{Path: tokenPathGUID, Field: "grant_type", Value: "refresh_token"})
	if len(refreshes) != 1 || refreshes[0].Status != http.StatusOK || !strings.Contains(refreshes[0].Fields["scope"], "management.core.windows.net") {
		t.Fatalf("refresh grants in the journal = %+v, want one 200 for ARM", refreshes)
	}

	again, err := app.AcquireTokenSilent(ctx, graphScopes, public.WithSilentAccount(graph.Account))
	if err != nil || again.AccessToken != graph.AccessToken {
		t.Errorf("Graph after ARM: err %v, cached token served: %t", err, err == nil && again.AccessToken == graph.AccessToken)
	}
}
