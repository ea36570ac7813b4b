package stack

import (
	"net/url"
	"strings"
	"testing"

	"github.com/vbharness/vbharness/mocks/entra"
	"github.com/vbharness/vbharness/mocks/veeam"
)

// The Restore Portal application the Veeam mock names in GET /v8/RestorePortalSettings is
// registered in the Entra mock's default directory, exposing access_as_user, so a restore
// operator signs in by device code for api://<applicationId>/access_as_user (veeam.md
// §1.2) and logs in to Veeam with grant_type=operator and that token as it is: no edited
// token and no claimsOnly. The Veeam mock takes the token in both of Entra's forms, v1
// (aud api://<appId>, the default) and v2 (aud the app id).
func TestOperatorSignsInThroughEntra(t *testing.T) {
	t.Parallel()
	if veeam.DefaultRestorePortalAppID != entra.RestorePortalApplicationID {
		t.Fatalf("the Veeam fixtures' Restore Portal application %s is not the Entra directory's %s",
			veeam.DefaultRestorePortalAppID, entra.RestorePortalApplicationID)
	}
	v2 := entra.DefaultDirectory()
	for i := range v2.Apps {
		if v2.Apps[i].ClientID == entra.RestorePortalApplicationID {
			v2.Apps[i].AccessTokenVersion = 2
		}
	}
	cases := []struct {
		name    string
		opts    []entra.Option
		wantAud string
	}{
		{"a v1 token, Entra's default", nil, "api://" + entra.RestorePortalApplicationID},
		{"a v2 token", []entra.Option{entra.WithDirectory(v2)}, entra.RestorePortalApplicationID},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := NewInProcess(Options{Entra: c.opts})
			cl := client{t: t, hc: s.Client}
			st, portal := cl.do("GET", s.VeeamURL+"/v8/RestorePortalSettings", nil, "", "")
			appID, _ := portal["applicationId"].(string)
			if st != 200 || appID == "" {
				t.Fatalf("RestorePortalSettings: %d %v", st, portal)
			}
			var found bool
			for _, a := range s.Entra.Directory().Apps {
				found = found || (strings.EqualFold(a.ClientID, appID) && a.PublicClient && strings.Contains(strings.Join(a.ExposedScopes, " "), entra.OperatorScope))
			}
			if !found {
				t.Fatalf("application %s of RestorePortalSettings is not a public client exposing %s in the Entra directory", appID, entra.OperatorScope)
			}

			st, dc := cl.do("POST", s.EntraURL+"/"+s.Tenant+"/oauth2/v2.0/devicecode", url.Values{
				"client_id": {appID}, "scope": {"api://" + appID + "/access_as_user openid profile offline_access"}}, "", "")
			if st != 200 {
				t.Fatalf("devicecode: %d %v", st, dc)
			}
			if st, b := cl.do("POST", s.EntraURL+"/_mock/devicecodes/approve", nil, `{"user_code":"`+dc["user_code"].(string)+`"}`, ""); st != 200 {
				t.Fatalf("approve: %d %v", st, b)
			}
			st, tok := cl.do("POST", s.EntraURL+"/"+s.Tenant+"/oauth2/v2.0/token", url.Values{
				"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "client_id": {appID},
				"device_code": {dc["device_code"].(string)}}, "", "")
			if st != 200 {
				t.Fatalf("token: %d %v", st, tok)
			}
			at := tok["access_token"].(string)
			cs := claims(at)
			if cs["aud"] != c.wantAud || cs["scp"] != entra.OperatorScope {
				t.Errorf("aud/scp = %v/%v, want %s/%s", cs["aud"], cs["scp"], c.wantAud, entra.OperatorScope)
			}

			if st, b := cl.do("PUT", s.VeeamURL+"/_mock/settings", nil, `{"operatorAuthentication":true}`, ""); st != 200 {
				t.Fatalf("settings: %d %v", st, b)
			}
			st, vt := cl.do("POST", s.VeeamURL+"/v8/token", url.Values{"grant_type": {"operator"},
				"client_id": {cs["oid"].(string) + "." + cs["tid"].(string)}, "assertion": {at}}, "", "")
			if st != 200 {
				t.Fatalf("operator login: %d %v", st, vt)
			}
			if st, _ := cl.do("GET", s.VeeamURL+"/v8/Organization", nil, "", vt["access_token"].(string)); st != 200 {
				t.Errorf("GET /v8/Organization as the operator: %d", st)
			}
		})
	}
}
