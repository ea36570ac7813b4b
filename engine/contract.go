package engine

import (
	"fmt"
	"net/url"
	"strings"
	"sync"

	"github.com/vbharness/vbharness/engine/flow"
	"github.com/vbharness/vbharness/mocks/contract"
)

// checker is the process's one contract checker (read-only, safe for concurrent use);
// built on first use, so a run with --contract off never loads it.
var checker = sync.OnceValue(contract.New)

// checkContract checks one exchange against the published contract when the test's
// mode asks for it and the URL is on the target's Veeam server or Entra authority, and
// records what it finds. It returns the violations as one line each, for the trace.
func (r *host) checkContract(ex *flow.Exchange) []string {
	if r.contract != ContractWarn && r.contract != ContractFail || r.target == nil {
		return nil
	}
	u, err := url.Parse(ex.URL)
	if err != nil {
		return nil
	}
	service := r.serviceOf(u)
	if service == "" {
		return nil
	}
	vs := checker().Check(contract.Exchange{
		Service: service, Method: ex.Method, URL: u,
		RequestHeader: ex.RequestHeader, RequestBody: ex.RequestBody,
		Status: ex.Status, ResponseHeader: ex.ResponseHeader, ResponseBody: ex.ResponseBody,
	})
	if len(vs) == 0 {
		return nil
	}
	r.rec.violations = append(r.rec.violations, vs...)
	lines := make([]string, len(vs))
	for i, v := range vs {
		lines[i] = v.String()
	}
	return lines
}

// serviceOf says which of the target's services a URL is on: the Veeam server (its
// origin) or the Entra authority; "" for anything else (a third party, the mock's
// control API is not traced at all).
func (r *host) serviceOf(u *url.URL) string {
	if r.target == nil {
		return ""
	}
	if sameOrigin(u, r.target.Veeam.URL) {
		return contract.ServiceVeeam
	}
	if sameOrigin(u, r.target.Entra.WithDefaults().Authority) {
		return contract.ServiceEntra
	}
	return ""
}

// sameOrigin reports whether u is on base's scheme and host (any case).
func sameOrigin(u *url.URL, base string) bool {
	if base == "" {
		return false
	}
	b, err := url.Parse(base)
	if err != nil || b.Host == "" {
		return false
	}
	return strings.EqualFold(u.Scheme, b.Scheme) && strings.EqualFold(u.Host, b.Host)
}

// applyContract finishes a result's contract part: the violations, and in fail mode a
// test that would pass fails, naming the first violation. A test that failed for its
// own reasons keeps its status and message.
func (r *host) applyContract(res *Result) {
	res.Violations = r.rec.violations
	if r.contract != ContractFail || len(res.Violations) == 0 || res.Status != StatusPassed {
		return
	}
	res.Status, res.ContractFailed = StatusFailed, true
	res.Message = fmt.Sprintf("contract: %s", res.Violations[0])
	if n := len(res.Violations); n > 1 {
		res.Message += fmt.Sprintf(" (and %d more)", n-1)
	}
}
