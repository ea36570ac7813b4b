package engine

import (
	"net/url"

	"github.com/vbharness/vbharness/engine/flow"
)

// recordExchange hands an exchange to RunOptions.Record, if set, with the service it
// went to (serviceOf: "veeam", "entra" or "").
func (r *host) recordExchange(ex *flow.Exchange) {
	if r.record == nil {
		return
	}
	service := ""
	if u, err := url.Parse(ex.URL); err == nil {
		service = r.serviceOf(u)
	}
	r.record(service, ex)
}
