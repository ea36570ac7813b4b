package engine

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/dop251/goja"

	"github.com/vbharness/vbharness/engine/flow"
)

// httpModule is `http`: plain requests to any URL through the target's HTTP client,
// traced like every other module's.
type httpModule struct{ *host }

func newHTTP(h *host) goja.Value {
	m := &httpModule{h}
	return h.object(verbs(m.do)...)
}

// verbs are the request functions http and a session share: request(method, where,
// options) and get, post, put, patch and delete(where, options), all calling do.
func verbs(do func(method string, where, options goja.Value) goja.Value) []member {
	members := []member{{"request", func(call goja.FunctionCall) goja.Value {
		return do(strings.ToUpper(call.Argument(0).String()), call.Argument(1), call.Argument(2))
	}}}
	for _, name := range []string{"get", "post", "put", "patch", "delete"} {
		method := strings.ToUpper(name)
		members = append(members, member{name, func(call goja.FunctionCall) goja.Value {
			return do(method, call.Argument(0), call.Argument(1))
		}})
	}
	return members
}

func (m *httpModule) do(method string, rawURL, optV goja.Value) goja.Value {
	what := "http." + strings.ToLower(method)
	m.needTest(what)
	o := m.requestOptions(optV, what, false)
	u := rawURL.String()
	if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		m.throw("TypeError", "%s(url): %q is not an absolute http(s) URL; build it from target.veeam.url or target.entra.authority", what, u)
	}
	u = withQuery(u, o.query)
	rctx, cancel := m.withTimeout(o.timeout)
	defer cancel()
	resp, err := m.http.Do(rctx, flow.Request{Method: method, URL: u, Header: o.header, Body: o.body})
	if err != nil {
		m.requestError(what, rctx, o, err)
	}
	return m.response(m.serviceAt(resp.URL), method, resp)
}

// ---- what every request-making module shares

// reqOpts are the options every request-making function takes.
type reqOpts struct {
	header      http.Header
	body        []byte
	query       url.Values
	timeout     time.Duration
	noAutoRetry bool // {autoRefresh: false}
}

var requestOptionKeys = map[string]bool{"headers": true, "json": true, "form": true, "body": true, "query": true, "timeout": true}

// requestOptions reads {headers, json, form, body, query, timeout[, autoRefresh]}.
func (h *host) requestOptions(v goja.Value, what string, session bool) reqOpts {
	o := reqOpts{header: http.Header{}}
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return o
	}
	obj, ok := v.(*goja.Object)
	if !ok {
		h.throw("TypeError", "%s: options must be an object such as {headers: {...}, json: {...}}", what)
	}
	for _, k := range obj.Keys() {
		if !requestOptionKeys[k] && !(session && k == "autoRefresh") {
			known := "headers, json, form, body, query, timeout"
			if session {
				known += ", autoRefresh"
			}
			h.throw("TypeError", "%s: unknown option %q (known: %s)", what, k, known)
		}
	}
	if hv := obj.Get("headers"); hv != nil && !goja.IsUndefined(hv) {
		ho, ok := hv.(*goja.Object)
		if !ok {
			h.throw("TypeError", "%s: headers must be an object of name: value", what)
		}
		for _, k := range ho.Keys() {
			o.header.Set(k, ho.Get(k).String())
		}
	}
	set := 0
	if jv := obj.Get("json"); jv != nil && !goja.IsUndefined(jv) {
		o.body = []byte(h.stringify(jv))
		if o.header.Get("Content-Type") == "" {
			o.header.Set("Content-Type", "application/json")
		}
		set++
	}
	if fv := obj.Get("form"); fv != nil && !goja.IsUndefined(fv) {
		o.body = []byte(h.formValues(fv, what+" form").Encode())
		if o.header.Get("Content-Type") == "" {
			o.header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		set++
	}
	if bv := obj.Get("body"); bv != nil && !goja.IsUndefined(bv) {
		o.body = []byte(bv.String())
		set++
	}
	if set > 1 {
		h.throw("TypeError", "%s: give only one of json, form and body", what)
	}
	if qv := obj.Get("query"); qv != nil && !goja.IsUndefined(qv) {
		o.query = h.formValues(qv, what+" query")
	}
	if tv := obj.Get("timeout"); tv != nil && !goja.IsUndefined(tv) {
		o.timeout = h.duration(tv, what+" timeout")
	}
	if av := obj.Get("autoRefresh"); session && av != nil && !goja.IsUndefined(av) {
		o.noAutoRetry = !av.ToBoolean()
	}
	return o
}

// formValues turns {k: v} into url.Values: arrays repeat the key, objects are sent as
// their JSON (so a whole Entra token response can be an assertion), other values as
// strings. Undefined values are left out.
func (h *host) formValues(v goja.Value, what string) url.Values {
	obj, ok := v.(*goja.Object)
	if !ok {
		h.throw("TypeError", "%s must be an object of name: value", what)
	}
	out := url.Values{}
	for _, k := range obj.Keys() {
		fv := obj.Get(k)
		switch {
		case fv == nil || goja.IsUndefined(fv):
		case isArray(fv):
			ao := fv.(*goja.Object)
			n := int(ao.Get("length").ToInteger())
			for i := 0; i < n; i++ {
				out.Add(k, h.formString(ao.Get(itoa(i))))
			}
		default:
			out.Add(k, h.formString(fv))
		}
	}
	return out
}

func (h *host) formString(v goja.Value) string {
	if o, ok := v.(*goja.Object); ok && o.ClassName() == "Object" {
		return h.stringify(v)
	}
	return orUndefined(v).String()
}

func isArray(v goja.Value) bool {
	o, ok := v.(*goja.Object)
	return ok && o.ClassName() == "Array"
}

// withQuery adds the query option's parameters to u (a URL or a path): each replaces the
// parameters of the same name already there, which would otherwise come first and win;
// the others keep their place and spelling.
func withQuery(u string, q url.Values) string {
	if len(q) == 0 {
		return u
	}
	base, raw, _ := strings.Cut(u, "?")
	var kept []string
	for _, p := range strings.Split(raw, "&") {
		if p == "" {
			continue
		}
		k, _, _ := strings.Cut(p, "=")
		if name, err := url.QueryUnescape(k); err == nil && q.Has(name) {
			continue
		}
		kept = append(kept, p)
	}
	return base + "?" + strings.Join(append(kept, q.Encode()), "&")
}

// response renders a response as {status, headers, body, url, method, json()}, tagged
// (with a symbol scripts do not see) with the service that answered: serviceEntra,
// serviceVeeam or "" (toHaveEntraError and toHaveVeeamError read it).
func (h *host) response(service, method string, resp *flow.Response) *goja.Object {
	if h.js.respProto == nil {
		h.js.respProto = h.object(member{"json", func(call goja.FunctionCall) goja.Value {
			this := call.This.ToObject(h.vm)
			status := orUndefined(this.Get("status")).String()
			return h.parseJSON([]byte(orUndefined(this.Get("body")).String()), "the response body (HTTP "+status+")")
		}})
	}
	o := h.vm.CreateObject(h.js.respProto)
	_ = o.Set("status", resp.Status)
	hdr := h.vm.NewObject()
	names := make([]string, 0, len(resp.Header))
	for k := range resp.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		_ = hdr.Set(strings.ToLower(k), strings.Join(resp.Header[k], ", "))
	}
	_ = o.Set("headers", hdr)
	_ = o.Set("body", string(resp.Body))
	_ = o.Set("url", resp.URL)
	_ = o.Set("method", method)
	_ = o.DefineDataPropertySymbol(h.js.symService, h.vm.ToValue(service), goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_FALSE)
	return o
}

// serviceAt says which of the target's services serves rawURL: serviceEntra at its Entra
// authority, serviceVeeam at its Veeam URL, "" anywhere else.
func (h *host) serviceAt(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || h.target == nil {
		return ""
	}
	origin := u.Scheme + "://" + u.Host
	for _, s := range []struct{ service, base string }{
		{serviceEntra, h.target.Entra.WithDefaults().Authority}, {serviceVeeam, h.target.Veeam.URL},
	} {
		if b, err := url.Parse(s.base); err == nil && b.Host != "" && strings.EqualFold(b.Scheme+"://"+b.Host, origin) {
			return s.service
		}
	}
	return ""
}

// withTimeout derives the context for one request.
func (h *host) withTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	if d > 0 {
		return context.WithTimeout(h.ctx, d)
	}
	return h.ctx, func() {}
}

// requestError throws for a failed round trip: a TimeoutError when the run ended, an
// Error naming the per-request timeout when only that passed.
func (h *host) requestError(what string, rctx context.Context, o reqOpts, err error) {
	if h.ctx.Err() == nil && rctx.Err() != nil {
		h.throw("Error", "%s: no answer within the request timeout of %v", what, o.timeout)
	}
	h.throwErr(what, err)
}
