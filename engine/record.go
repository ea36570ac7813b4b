package engine

import (
	"net/url"
	"strings"

	"github.com/vbharness/vbharness/engine/flow"
)

// recordExchange hands an exchange to RunOptions.Record, if set, with the service it
// went to.
func (r *host) recordExchange(ex *flow.Exchange) {
	if r.record == nil {
		return
	}
	r.record(r.serviceOf(ex.URL), ex)
}

// serviceOf names the service a request URL is for: "veeam" for the target's Veeam
// origin, "entra" for its Entra authority, else "".
func (r *host) serviceOf(raw string) string {
	if r.target == nil {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	if sameOrigin(u, r.target.Veeam.URL) {
		return "veeam"
	}
	if sameOrigin(u, r.target.Entra.WithDefaults().Authority) {
		return "entra"
	}
	return ""
}

// sameOrigin reports whether u has the scheme and host of origin (case-insensitively).
func sameOrigin(u *url.URL, origin string) bool {
	o, err := url.Parse(origin)
	return err == nil && o.Host != "" && strings.EqualFold(u.Scheme, o.Scheme) && strings.EqualFold(u.Host, o.Host)
}
