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
func (r *rt) requestOptions(v goja.Value, what string, session bool) reqOpts {
	o := reqOpts{header: http.Header{}}
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return o
	}
	obj, ok := v.(*goja.Object)
	if !ok {
		r.throw("TypeError", "%s: options must be an object such as {headers: {...}, json: {...}}", what)
	}
	for _, k := range obj.Keys() {
		if !requestOptionKeys[k] && !(session && k == "autoRefresh") {
			known := "headers, json, form, body, query, timeout"
			if session {
				known += ", autoRefresh"
			}
			r.throw("TypeError", "%s: unknown option %q (known: %s)", what, k, known)
		}
	}
	if hv := obj.Get("headers"); hv != nil && !goja.IsUndefined(hv) {
		ho, ok := hv.(*goja.Object)
		if !ok {
			r.throw("TypeError", "%s: headers must be an object of name: value", what)
		}
		for _, k := range ho.Keys() {
			o.header.Set(k, ho.Get(k).String())
		}
	}
	set := 0
	if jv := obj.Get("json"); jv != nil && !goja.IsUndefined(jv) {
		o.body = []byte(r.stringify(jv))
		if o.header.Get("Content-Type") == "" {
			o.header.Set("Content-Type", "application/json")
		}
		set++
	}
	if fv := obj.Get("form"); fv != nil && !goja.IsUndefined(fv) {
		o.body = []byte(r.formValues(fv, what+" form").Encode())
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
		r.throw("TypeError", "%s: give only one of json, form and body", what)
	}
	if qv := obj.Get("query"); qv != nil && !goja.IsUndefined(qv) {
		o.query = r.formValues(qv, what+" query")
	}
	if tv := obj.Get("timeout"); tv != nil && !goja.IsUndefined(tv) {
		o.timeout = r.duration(tv, what+" timeout")
	}
	if av := obj.Get("autoRefresh"); session && av != nil && !goja.IsUndefined(av) {
		o.noAutoRetry = !av.ToBoolean()
	}
	return o
}

// formValues turns {k: v} into url.Values: arrays repeat the key, objects are sent as
// their JSON (so a whole Entra token response can be an assertion), other values as
// strings. Undefined values are left out.
func (r *rt) formValues(v goja.Value, what string) url.Values {
	obj, ok := v.(*goja.Object)
	if !ok {
		r.throw("TypeError", "%s must be an object of name: value", what)
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
				out.Add(k, r.formString(ao.Get(itoa(i))))
			}
		default:
			out.Add(k, r.formString(fv))
		}
	}
	return out
}

func (r *rt) formString(v goja.Value) string {
	if o, ok := v.(*goja.Object); ok && o.ClassName() == "Object" {
		return r.stringify(v)
	}
	return orUndefined(v).String()
}

func isArray(v goja.Value) bool {
	o, ok := v.(*goja.Object)
	return ok && o.ClassName() == "Array"
}

func (r *rt) stringify(v goja.Value) string {
	s, err := r.jsonString(goja.Undefined(), v)
	if err != nil {
		panic(err)
	}
	if goja.IsUndefined(s) {
		return ""
	}
	return s.String()
}

// parseJSON parses body with JSON.parse, so objects keep their key order.
func (r *rt) parseJSON(body []byte, what string) goja.Value {
	v, err := r.jsonParse(goja.Undefined(), r.vm.ToValue(string(body)))
	if err != nil {
		snippet := r.cut(strings.TrimSpace(string(body)), 80)
		if snippet == "" {
			snippet = "(empty body)"
		}
		r.throw("SyntaxError", "%s is not JSON: %s", what, snippet)
	}
	return v
}

// responseObject renders a response as {status, headers, body, url, method, json()}.
func (r *rt) responseObject(method string, resp *flow.Response) *goja.Object {
	if r.respProto == nil {
		r.respProto = r.vm.NewObject()
		_ = r.respProto.Set("json", func(call goja.FunctionCall) goja.Value {
			this := call.This.ToObject(r.vm)
			status := orUndefined(this.Get("status")).String()
			return r.parseJSON([]byte(orUndefined(this.Get("body")).String()), "the response body (HTTP "+status+")")
		})
	}
	o := r.vm.CreateObject(r.respProto)
	_ = o.Set("status", resp.Status)
	hdr := r.vm.NewObject()
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
	return o
}

// withTimeout derives the context for one request.
func (r *rt) withTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	if d > 0 {
		return context.WithTimeout(r.ctx, d)
	}
	return r.ctx, func() {}
}

// requestError throws for a failed round trip: a TimeoutError when the run ended, an
// Error naming the per-request timeout when only that passed.
func (r *rt) requestError(what string, rctx context.Context, o reqOpts, err error) {
	if r.ctx.Err() == nil && rctx.Err() != nil {
		r.throw("Error", "%s: no answer within the request timeout of %v", what, o.timeout)
	}
	r.throwErr(what, err)
}

func (r *rt) httpModule() *goja.Object {
	m := r.vm.NewObject()
	request := func(method string, rawURL goja.Value, optV goja.Value) goja.Value {
		what := "http." + strings.ToLower(method)
		r.needTest(what)
		o := r.requestOptions(optV, what, false)
		u := rawURL.String()
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			r.throw("TypeError", "%s(url): %q is not an absolute http(s) URL; build it from target.veeam.url or target.entra.authority", what, u)
		}
		if len(o.query) > 0 {
			sep := "?"
			if strings.Contains(u, "?") {
				sep = "&"
			}
			u += sep + o.query.Encode()
		}
		rctx, cancel := r.withTimeout(o.timeout)
		defer cancel()
		resp, err := r.http.Do(rctx, flow.Request{Method: method, URL: u, Header: o.header, Body: o.body})
		if err != nil {
			r.requestError(what, rctx, o, err)
		}
		return r.responseObject(method, resp)
	}
	_ = m.Set("request", func(call goja.FunctionCall) goja.Value {
		method := strings.ToUpper(call.Argument(0).String())
		return request(method, call.Argument(1), call.Argument(2))
	})
	for _, name := range []string{"get", "post", "put", "patch", "delete"} {
		method := strings.ToUpper(name)
		_ = m.Set(name, func(call goja.FunctionCall) goja.Value {
			return request(method, call.Argument(0), call.Argument(1))
		})
	}
	return m
}
