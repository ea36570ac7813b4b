package proxy

import (
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/vbharness/vbharness/mocks/control"
	"github.com/vbharness/vbharness/mocks/journal"
)

// serveControl answers the proxy's own routes:
//
//	GET /_proxy/violations  {"total": n, "dropped": d, "violations": [Finding…]}: the
//	                        newest MaxViolations kept, the d older ones dropped
//	GET /_proxy/requests    {"requests": [journal.Entry…]}, filtered by method, path and since
//	                        as the mocks' GET /_mock/requests
//
// They follow the mocks' control API: loopback callers only unless a control token is
// set (then `Authorization: Bearer <token>` from anywhere), never a web page of another
// origin, JSON errors.
func (p *Proxy) serveControl(w http.ResponseWriter, r *http.Request) {
	if !p.allowed(w, r, "the proxy's control API (/_proxy/)") {
		return
	}
	path := strings.TrimSuffix(strings.ToLower(r.URL.Path), "/")
	if path != Prefix+"/violations" && path != Prefix+"/requests" {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no route %s; the proxy serves GET %s/violations and GET %s/requests", r.URL.Path, Prefix, Prefix))
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, r.Method+" is not allowed here; use GET")
		return
	}
	p.Settle()
	if path == Prefix+"/violations" {
		p.mu.Lock()
		total, dropped, ks := p.stats.Violations, p.stats.ViolationsDropped, p.kept()
		p.mu.Unlock()
		control.WriteJSON(w, http.StatusOK, map[string]any{"total": total, "dropped": dropped, "violations": findingsOf(p.rescrub(ks))})
		return
	}
	q := r.URL.Query()
	f := journal.Filter{Method: q.Get("method"), Path: q.Get("path")}
	if s := q.Get("since"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, "since must be a sequence number")
			return
		}
		f.Since = n
	}
	control.WriteJSON(w, http.StatusOK, map[string]any{"requests": p.journal.List(f)})
}

// allowed guards the proxy's routes (see serveControl) and the mock's control API
// behind it (what names it in the refusal); it answers a refusal itself.
func (p *Proxy) allowed(w http.ResponseWriter, r *http.Request, what string) bool {
	if len(r.Header.Values("Origin")) > 0 || (r.Header.Get("Sec-Fetch-Site") != "" && r.Header.Get("Sec-Fetch-Site") != "none") {
		writeError(w, http.StatusForbidden, what+" refuses calls made by web pages; call it from a script, a test or curl")
		return false
	}
	if p.token != "" {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(p.token)) != 1 {
			writeError(w, http.StatusUnauthorized, what+" needs Authorization: Bearer <control token>")
			return false
		}
		return true
	}
	if !control.IsLoopback(r.RemoteAddr) || !loopbackHost(r.Host) {
		writeError(w, http.StatusForbidden, what+" answers loopback callers addressing it by a loopback name only; "+
			"start the proxy with a control token ($VBHARNESS_CONTROL_TOKEN or --control-token-file) to allow others")
		return false
	}
	return true
}

// loopbackHost reports whether a Host header names the loopback (DNS rebinding sends
// an attacker's name).
func loopbackHost(host string) bool {
	h, _, err := net.SplitHostPort(host)
	if err != nil {
		h = host
	}
	h = strings.TrimSuffix(strings.TrimPrefix(strings.ToLower(h), "["), "]")
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
