package entra

import (
	"net/http"
	"testing"
)

// Issue 15 item 9: an empty body to /_mock/devicecodes/auto-approve turned on blanket
// approval of every current and future code. Approving everyone must be asked for:
// a body with no rule at all is a 400 naming the choices, and nothing is approved.
func TestAutoApproveMustBeExplicit(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, ctype, body string
	}{
		{"an empty body", "application/json", ""},
		{"an empty object", "application/json", "{}"},
		{"an empty text/plain body", "text/plain", ""},
		{"no content type and no body", "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t)
			d := ts.issueCode(t, seedScope)
			r := ts.postRaw(t, "/_mock/devicecodes/auto-approve", c.ctype, c.body)
			if r.Status != http.StatusBadRequest || r.str("error") == "" {
				t.Errorf("auto-approve with %s: %d %s, want 400", c.name, r.Status, r.Raw)
			}
			if st := ts.post(t, tokenPath, pollForm(d.DeviceCode)).Status; st != http.StatusBadRequest {
				t.Errorf("after auto-approve with %s a poll got %d: the code was approved", c.name, st)
			}
		})
	}
	// Blanket approval as the tenant's default user is still there, when asked for.
	ts := newTestServer(t)
	d := ts.issueCode(t, seedScope)
	if r := ts.control(t, http.MethodPost, "/_mock/devicecodes/auto-approve", map[string]any{"all": true}); r.Status != http.StatusOK || r.JSON["all"] != true {
		t.Fatalf(`{"all":true}: %d %s`, r.Status, r.Raw)
	}
	if st := ts.post(t, tokenPath, pollForm(d.DeviceCode)).Status; st != http.StatusOK {
		t.Errorf(`after {"all":true} a poll got %d`, st)
	}
}
