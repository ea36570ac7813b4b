package secret

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Each place an exchange carries a secret is learned, the assertion's inner tokens too,
// and what is not a secret is left alone.
func TestLearnExchangeFindsEverySecretOfAnExchange(t *testing.T) {
	t.Parallel()
	const (
		inner    = "eyJinner.access.token-of-entra-0001"
		refresh  = "inner-refresh-token-value-0002"
		query    = "query-code-value-0003"
		bearer   = "bearer-token-value-0004"
		issued   = "issued-access-token-0005"
		password = "Passw0rd-of-the-admin"
	)
	assertion := `{"token_type":"Bearer","access_token":"` + inner + `","refresh_token":"` + refresh + `"}`
	form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {assertion}, "password": {password}}
	s := NewScrubber()
	s.LearnExchange(url.Values{"code": {query}, "offset": {"30"}},
		http.Header{"Authorization": {"Bearer " + bearer}, "Content-Type": {"application/x-www-form-urlencoded"}},
		http.Header{"Content-Type": {"application/json"}},
		[]byte(form.Encode()),
		[]byte(`{"items":[{"access_token":"`+issued+`","name":"Jobs"}]}`))
	for _, secret := range []string{inner, refresh, query, bearer, issued, password} {
		if got := s.Scrub("x " + secret + " y"); strings.Contains(got, secret) {
			t.Errorf("%q was not learned: %s", secret, got)
		}
	}
	for _, plain := range []string{"Jobs", "urn:ietf:params:oauth:grant-type:jwt-bearer"} {
		if got := s.Scrub(plain); got != plain {
			t.Errorf("%q is no secret but was scrubbed: %s", plain, got)
		}
	}
}
