package entra

import (
	"net/http"
	"strings"
	"testing"
)

// TestSettingsKeysAreExact is issue 12 defect 12: PUT /_mock/settings takes the Entra
// mock's documented snake_case keys. The Veeam mock's camelCase spelling, or a key that
// differs only in case, is refused with 400 naming the right key, and changes nothing.
func TestSettingsKeysAreExact(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, body, want string }{
		{"the Veeam mock's camelCase", `{"accessTokenLifetime":60}`, `did you mean access_token_lifetime?`},
		{"camelCase of an Entra-only key", `{"strictRfc8628":true}`, `did you mean strict_rfc8628?`},
		{"a key that differs only in case", `{"Interval":2}`, `did you mean interval?`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t)
			before := ts.Server.Settings()
			req, err := http.NewRequest(http.MethodPut, ts.URL+"/_mock/settings", strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			r := ts.do(t, req)
			if r.Status != 400 || !strings.Contains(string(r.Raw), c.want) {
				t.Errorf("PUT %s = %d %s; want 400 saying %q", c.body, r.Status, r.Raw, c.want)
			}
			if after := ts.Server.Settings(); after != before {
				t.Errorf("a refused PUT changed the settings: %+v → %+v", before, after)
			}
		})
	}
}
