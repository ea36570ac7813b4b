package engine

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/dop251/goja"

	"github.com/vbharness/vbharness/engine/flow"
)

var servers = []string{"entra", "veeam"}

// controlURL returns the origin of a server's control API.
func (r *rt) controlURL(what, server string) string {
	c := r.needControl(what)
	switch server {
	case "entra":
		return strings.TrimRight(c.EntraURL, "/")
	case "veeam":
		return strings.TrimRight(c.VeeamURL, "/")
	}
	r.throw("TypeError", "%s: unknown server %q (use \"entra\" or \"veeam\")", what, server)
	return ""
}

// controlJSON calls the control API of server and returns the parsed answer (undefined
// for 204). Control calls are not traced: they are the test's plumbing, not the flow.
func (r *rt) controlJSON(server, method, path string, body any) goja.Value {
	what := "mock control " + method + " " + path + " (" + server + ")"
	base := r.controlURL(what, server)
	var raw []byte
	switch b := body.(type) {
	case nil:
	case goja.Value:
		raw = []byte(r.stringify(b))
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			r.throw("TypeError", "%s: %v", what, err)
		}
	}
	h := http.Header{}
	h.Set("Accept", "application/json")
	if raw != nil {
		h.Set("Content-Type", "application/json")
	}
	if tok := r.target.Control.Token; tok != "" {
		h.Set("Authorization", "Bearer "+tok)
	}
	resp, err := r.control.Do(r.ctx, flow.Request{Method: method, URL: base + path, Header: h, Body: raw})
	if err != nil {
		r.throwErr(what, err)
	}
	if resp.Status >= 300 {
		var eb struct {
			Error string `json:"error"`
		}
		msg := strings.TrimSpace(string(resp.Body))
		if json.Unmarshal(resp.Body, &eb) == nil && eb.Error != "" {
			msg = eb.Error
		}
		r.throw("Error", "%s answered HTTP %d: %s", what, resp.Status, msg)
	}
	if resp.Status == http.StatusNoContent || len(resp.Body) == 0 {
		return goja.Undefined()
	}
	return r.parseJSON(resp.Body, what+" answer")
}

// setControlFn installs a mock function that first checks the target has a control API,
// so the error names the function the script called.
func (r *rt) setControlFn(obj *goja.Object, name string, f func(goja.FunctionCall) goja.Value) {
	_ = obj.Set(name[strings.LastIndex(name, ".")+1:], func(call goja.FunctionCall) goja.Value {
		r.needControl(name)
		return f(call)
	})
}

// userCodeOf reads a user code from a device code object or takes a string as one.
func (r *rt) userCodeOf(v goja.Value, what string) string {
	if goja.IsString(v) {
		return v.String()
	}
	if o, ok := v.(*goja.Object); ok {
		if uc := optString(o, "user_code"); uc != "" {
			return uc
		}
	}
	r.throw("TypeError", "%s needs a device code object (from entra.deviceCode) or a user code string", what)
	return ""
}

func (r *rt) mockModule() *goja.Object {
	m := r.vm.NewObject()
	fn := func(name string, f func(call goja.FunctionCall) goja.Value) {
		r.setControlFn(m, "mock."+name, f)
	}
	fn("approve", func(call goja.FunctionCall) goja.Value {
		body := map[string]any{"user_code": r.userCodeOf(call.Argument(0), "mock.approve")}
		if u := optString(r.options(call.Argument(1), "mock.approve", "user"), "user"); u != "" {
			body["user"] = u
		}
		return r.controlJSON("entra", "POST", "/_mock/devicecodes/approve", body)
	})
	fn("deny", func(call goja.FunctionCall) goja.Value {
		return r.controlJSON("entra", "POST", "/_mock/devicecodes/deny", map[string]any{"user_code": r.userCodeOf(call.Argument(0), "mock.deny")})
	})
	fn("autoApprove", func(call goja.FunctionCall) goja.Value {
		if a := call.Argument(0); !a.ToBoolean() && !goja.IsUndefined(a) {
			return r.controlJSON("entra", "DELETE", "/_mock/devicecodes/auto-approve", nil)
		}
		o := r.options(call.Argument(0), "mock.autoApprove", "user", "afterPolls", "after")
		body := map[string]any{}
		if u := optString(o, "user"); u != "" {
			body["user"] = u
		}
		if n := optValue(o, "afterPolls"); n != nil {
			body["after_polls"] = n.ToInteger()
		}
		if a := optValue(o, "after"); a != nil {
			body["after"] = r.duration(a, "mock.autoApprove after").String()
		}
		if len(body) == 0 {
			// No condition: every code at its first poll. The mock refuses an empty
			// rule, so a script that means everyone says so on the wire.
			body["all"] = true
		}
		return r.controlJSON("entra", "POST", "/_mock/devicecodes/auto-approve", body)
	})
	fn("dialect", func(call goja.FunctionCall) goja.Value {
		body := map[string]any{"user_code": r.userCodeOf(call.Argument(0), "mock.dialect"), "strict": nil}
		if s := call.Argument(1); !goja.IsUndefined(s) && !goja.IsNull(s) {
			body["strict"] = s.ToBoolean()
		}
		return r.controlJSON("entra", "POST", "/_mock/devicecodes/dialect", body)
	})
	fn("deviceCodes", func(goja.FunctionCall) goja.Value {
		return r.controlJSON("entra", "GET", "/_mock/devicecodes", nil)
	})
	fn("revokeUser", func(call goja.FunctionCall) goja.Value {
		return r.controlJSON("entra", "POST", "/_mock/users/revoke", map[string]any{"user": call.Argument(0).String()})
	})
	fn("rotateKeys", func(goja.FunctionCall) goja.Value {
		return r.controlJSON("entra", "POST", "/_mock/keys/rotate", nil)
	})
	fn("addOrganization", func(call goja.FunctionCall) goja.Value {
		return r.controlJSON("veeam", "POST", "/_mock/organizations", call.Argument(0))
	})
	fn("organizations", func(goja.FunctionCall) goja.Value {
		return r.controlJSON("veeam", "GET", "/_mock/organizations", nil)
	})
	fn("revokeSessions", func(call goja.FunctionCall) goja.Value {
		// mock.revokeSessions() revokes every session; mock.revokeSessions(userName) one user's.
		body := map[string]any{"all": true}
		if a := call.Argument(0); goja.IsString(a) {
			body = map[string]any{"userName": a.String()}
		}
		return r.controlJSON("veeam", "POST", "/_mock/sessions/revoke", body)
	})
	fn("reset", func(goja.FunctionCall) goja.Value {
		for _, s := range servers {
			r.controlJSON(s, "POST", "/_mock/reset", nil)
		}
		return goja.Undefined()
	})
	fn("requests", func(call goja.FunctionCall) goja.Value {
		return r.requests(call.Argument(0).String(), call.Argument(1))
	})
	fn("clock", func(goja.FunctionCall) goja.Value {
		return r.controlJSON("entra", "GET", "/_mock/clock", nil)
	})
	_ = m.Set("faults", r.faultsObject(""))
	for _, s := range servers {
		_ = m.Set(s, r.serverObject(s))
	}
	return m
}

func (r *rt) requests(server string, filter goja.Value) goja.Value {
	o := r.options(filter, "mock.requests", "method", "path", "field", "value", "since")
	q := url.Values{}
	for _, k := range []string{"method", "path", "field", "value", "since"} {
		if v := optString(o, k); v != "" {
			q.Set(k, v)
		}
	}
	p := "/_mock/requests"
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	res := r.controlJSON(server, "GET", p, nil)
	if obj, ok := res.(*goja.Object); ok {
		if list := obj.Get("requests"); list != nil && !goja.IsNull(list) {
			return list
		}
	}
	return r.vm.NewArray()
}

// serverObject is mock.entra / mock.veeam: the control API of one server.
func (r *rt) serverObject(server string) *goja.Object {
	s := r.vm.NewObject()
	p := "mock." + server + "."
	r.setControlFn(s, p+"requests", func(call goja.FunctionCall) goja.Value { return r.requests(server, call.Argument(0)) })
	r.setControlFn(s, p+"clearRequests", func(goja.FunctionCall) goja.Value {
		return r.controlJSON(server, "DELETE", "/_mock/requests", nil)
	})
	r.setControlFn(s, p+"health", func(goja.FunctionCall) goja.Value { return r.controlJSON(server, "GET", "/_mock/health", nil) })
	r.setControlFn(s, p+"clock", func(goja.FunctionCall) goja.Value { return r.controlJSON(server, "GET", "/_mock/clock", nil) })
	r.setControlFn(s, p+"reset", func(goja.FunctionCall) goja.Value { return r.controlJSON(server, "POST", "/_mock/reset", nil) })
	_ = s.Set("faults", r.faultsObject(server))
	settings := r.vm.NewObject()
	r.setControlFn(settings, p+"settings.get", func(goja.FunctionCall) goja.Value {
		return r.controlJSON(server, "GET", "/_mock/settings", nil)
	})
	r.setControlFn(settings, p+"settings.set", func(call goja.FunctionCall) goja.Value {
		patch, ok := call.Argument(0).(*goja.Object)
		if !ok {
			r.throw("TypeError", "mock.%s.settings.set needs an object of settings to change", server)
		}
		// PUT merges: fields left out keep their values. The answer is the new settings.
		return r.controlJSON(server, "PUT", "/_mock/settings", patch)
	})
	_ = s.Set("settings", settings)
	return s
}

// faultsObject is mock.faults (server from each rule's `server` field) or a server's own.
func (r *rt) faultsObject(server string) *goja.Object {
	f := r.vm.NewObject()
	prefix := "mock.faults."
	if server != "" {
		prefix = "mock." + server + ".faults."
	}
	pick := func(what string, v goja.Value) string {
		if server != "" {
			return server
		}
		if goja.IsString(v) {
			return v.String()
		}
		r.throw("TypeError", "%s needs the server (\"entra\" or \"veeam\"); or use mock.entra.faults / mock.veeam.faults", what)
		return ""
	}
	r.setControlFn(f, prefix+"add", func(call goja.FunctionCall) goja.Value {
		rule, ok := call.Argument(0).(*goja.Object)
		if !ok {
			r.throw("TypeError", "mock.faults.add needs a rule object such as {path: \"/v8/token\", status: 503}")
		}
		srv := pick("mock.faults.add", rule.Get("server"))
		body := r.vm.NewObject()
		for _, k := range rule.Keys() {
			if k != "server" {
				_ = body.Set(k, rule.Get(k))
			}
		}
		return r.controlJSON(srv, "POST", "/_mock/faults", body)
	})
	list := func(srv string) goja.Value {
		res, _ := r.controlJSON(srv, "GET", "/_mock/faults", nil).(*goja.Object)
		if res == nil {
			return r.vm.NewArray()
		}
		return res.Get("faults")
	}
	r.setControlFn(f, prefix+"list", func(call goja.FunctionCall) goja.Value {
		if server != "" || goja.IsString(call.Argument(0)) {
			return list(pick("mock.faults.list", call.Argument(0)))
		}
		var all []any
		for _, s := range servers {
			if arr, ok := list(s).(*goja.Object); ok {
				n := int(arr.Get("length").ToInteger())
				for i := 0; i < n; i++ {
					item := arr.Get(itoa(i))
					if io, ok := item.(*goja.Object); ok {
						_ = io.Set("server", s)
					}
					all = append(all, item)
				}
			}
		}
		return r.vm.NewArray(all...)
	})
	r.setControlFn(f, prefix+"clear", func(call goja.FunctionCall) goja.Value {
		targets := servers
		if server != "" || goja.IsString(call.Argument(0)) {
			targets = []string{pick("mock.faults.clear", call.Argument(0))}
		}
		for _, s := range targets {
			r.controlJSON(s, "DELETE", "/_mock/faults", nil)
		}
		return goja.Undefined()
	})
	r.setControlFn(f, prefix+"remove", func(call goja.FunctionCall) goja.Value {
		srv := pick("mock.faults.remove", call.Argument(1))
		return r.controlJSON(srv, "DELETE", "/_mock/faults/"+url.PathEscape(call.Argument(0).String()), nil)
	})
	return f
}
