package entra

import (
	"encoding/json"
	"slices"
	"testing"
)

// A user's directory roles are the wids of its access tokens, with the User role every
// member has: the Veeam mock reads Global Administrator there before it registers an
// application.
func TestUserRolesAreWids(t *testing.T) {
	t.Parallel()
	dir := DefaultDirectory()
	dir.Tenants[0].Users = append(dir.Tenants[0].Users,
		User{UPN: "adele@abc.onmicrosoft.com", ObjectID: "3b4c5d6e-7f80-4912-8a3b-4c5d6e7f8091", DisplayName: "Adele Vance"},
		User{UPN: "reader@abc.onmicrosoft.com", ObjectID: "4c5d6e7f-8091-4a23-9b4c-5d6e7f809102", Roles: []string{"global reader", GlobalAdministratorRole}})
	ts := newTestServer(t, WithDirectory(dir))
	for _, tc := range []struct {
		upn  string
		want []string
	}{
		{DefaultAdminUPN, []string{GlobalAdministratorRole, defaultUserRole}},
		{"adele@abc.onmicrosoft.com", []string{defaultUserRole}},
		{"reader@abc.onmicrosoft.com", []string{GlobalReaderRole, GlobalAdministratorRole, defaultUserRole}},
	} {
		d := ts.issueCode(t, seedScope)
		if _, err := ts.Approve(d.UserCode, tc.upn); err != nil {
			t.Fatal(err)
		}
		r := ts.post(t, tokenPath, pollForm(d.DeviceCode))
		var body struct {
			AccessToken string `json:"access_token"`
		}
		if err := json.Unmarshal(r.Raw, &body); err != nil || body.AccessToken == "" {
			t.Fatalf("%s: token %d %s", tc.upn, r.Status, r.Raw)
		}
		var got []string
		for _, w := range unverifiedClaims(t, body.AccessToken)["wids"].([]any) {
			got = append(got, w.(string))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: wids = %v, want %v", tc.upn, got, tc.want)
		}
	}
}
