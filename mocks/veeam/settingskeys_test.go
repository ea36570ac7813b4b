package veeam

import (
	"strings"
	"testing"
)

// TestSettingsKeysAreExact is issue 12 defects 11 and 12: PUT /_mock/settings takes
// Veeam's own camelCase keys exactly. A key that differs only in case, or Entra's
// snake_case spelling, is refused with 400 naming the right key, and changes nothing.
func TestSettingsKeysAreExact(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, body, want string }{
		{"a key that differs only in case", `{"accessTokenLifeTime":60}`, `did you mean accessTokenLifetime?`},
		{"all lower case", `{"tenantauthentication":false}`, `did you mean tenantAuthentication?`},
		{"the Entra mock's snake_case", `{"access_token_lifetime":60}`, `did you mean accessTokenLifetime?`},
		{"snake_case of a Veeam-only key", `{"error_style":"veeam"}`, `did you mean errorStyle?`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newTestServer(t)
			before := e.srv.Settings()
			w := e.do("PUT", "/_mock/settings", jsonType, c.body)
			if w.Code != 400 || !strings.Contains(w.Body.String(), c.want) {
				t.Errorf("PUT %s = %d %s; want 400 saying %q", c.body, w.Code, w.Body, c.want)
			}
			if after := e.srv.Settings(); after != before {
				t.Errorf("a refused PUT changed the settings: %+v → %+v", before, after)
			}
		})
	}
}
