package entra

import (
	"net/http"
	"reflect"
	"testing"
)

// The seed document's raw requests, with its exact form bodies (scope spaces
// unencoded, as the document writes them), return every field the seed shows, with
// the values it shows.
func TestSeedRequests(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	const form = "application/x-www-form-urlencoded"

	dc := ts.postRaw(t, "/abc.onmicrosoft.com/oauth2/v2.0/devicecode", form,
		"client_id=04b07795-8ddb-461a-bbee-02f9e1bf7b46&scope=Directory.AccessAsUser.All User.ReadWrite.All offline_access")
	if dc.Status != http.StatusOK {
		t.Fatalf("devicecode: %d %s", dc.Status, dc.Raw)
	}
	if got, want := topKeys(t, dc.Raw), []string{"user_code", "device_code", "verification_uri", "expires_in", "interval", "message"}; !reflect.DeepEqual(got, want) {
		t.Errorf("devicecode keys = %v, want %v", got, want)
	}
	userCode, deviceCode, uri := dc.str("user_code"), dc.str("device_code"), dc.str("verification_uri")
	if len(userCode) != 9 || len(deviceCode) < 150 || uri != ts.URL+"/devicelogin" {
		t.Errorf("user_code %q, device_code length %d, verification_uri %q", userCode, len(deviceCode), uri)
	}
	if dc.JSON["expires_in"] != float64(900) || dc.JSON["interval"] != float64(5) {
		t.Errorf("expires_in/interval = %v/%v, want the numbers 900/5", dc.JSON["expires_in"], dc.JSON["interval"])
	}
	if want := "To sign in, use a web browser to open the page " + uri + " and enter the code " + userCode + " to authenticate."; dc.str("message") != want {
		t.Errorf("message = %q, want %q", dc.str("message"), want)
	}
	if dc.Header.Get("Cache-Control") != "no-store, no-cache" || dc.Header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Errorf("headers = %v", dc.Header)
	}

	body := "grant_type=urn:ietf:params:oauth:grant-type:device_code&client_id=04b07795-8ddb-461a-bbee-02f9e1bf7b46&device_code=" + deviceCode
	if pending := ts.postRaw(t, "/abc.onmicrosoft.com/oauth2/v2.0/token", form, body); pending.Status != 400 || pending.str("error") != "authorization_pending" {
		t.Fatalf("before approval: %d %s", pending.Status, pending.Raw)
	}
	ts.approve(t, userCode)
	tok := ts.postRaw(t, "/abc.onmicrosoft.com/oauth2/v2.0/token", form, body)
	if tok.Status != http.StatusOK {
		t.Fatalf("token: %d %s", tok.Status, tok.Raw)
	}
	if got, want := topKeys(t, tok.Raw), []string{"token_type", "scope", "expires_in", "ext_expires_in", "access_token", "refresh_token", "foci"}; !reflect.DeepEqual(got, want) {
		t.Errorf("token keys = %v, want %v (the seed's fields, then Azure CLI's foci)", got, want)
	}
	if tok.str("token_type") != "Bearer" || tok.JSON["expires_in"] != float64(3599) || tok.JSON["ext_expires_in"] != float64(3599) {
		t.Errorf("token_type/expires_in/ext_expires_in = %v/%v/%v", tok.JSON["token_type"], tok.JSON["expires_in"], tok.JSON["ext_expires_in"])
	}
	// Azure CLI gets its whole preauthorized set, echoed bare as the seed asked, and
	// never offline_access.
	if want := "email openid profile Application.ReadWrite.All AppRoleAssignment.ReadWrite.All AuditLog.Read.All DelegatedPermissionGrant.ReadWrite.All Directory.AccessAsUser.All Group.ReadWrite.All User.Read.All User.ReadWrite.All"; tok.str("scope") != want {
		t.Errorf("scope = %q, want %q", tok.str("scope"), want)
	}
	if tok.str("access_token") == "" || tok.str("refresh_token") == "" {
		t.Error("access_token or refresh_token is empty")
	}
	if tok.Header.Get("x-ms-clitelem") != "1,0,0,," {
		t.Errorf("x-ms-clitelem = %q", tok.Header.Get("x-ms-clitelem"))
	}
	// The seed's refresh request body, as it would be sent to Entra.
	ref := ts.postRaw(t, "/abc.onmicrosoft.com/oauth2/v2.0/token", form,
		"grant_type=refresh_token&client_id=04b07795-8ddb-461a-bbee-02f9e1bf7b46&refresh_token="+tok.str("refresh_token"))
	if ref.Status != http.StatusOK || ref.str("refresh_token") == "" || ref.str("refresh_token") == tok.str("refresh_token") {
		t.Errorf("refresh: %d, new refresh token %t", ref.Status, ref.str("refresh_token") != tok.str("refresh_token"))
	}
}
