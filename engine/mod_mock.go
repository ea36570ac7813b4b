package engine

import (
	"net/url"
	"strings"

	"github.com/dop251/goja"
)

var servers = []string{"entra", "veeam"}

// mockModule is `mock`: the control API (/_mock/) of both mock servers. Every function
// first checks that the test declared requires: ["control"] and that the target has a
// control API, so the error names the function the script called.
type mockModule struct {
	*host
	stubs []string // ids of the Veeam stubs the test added and has not removed (mod_stubs.go)
}

func newMock(h *host) goja.Value {
	m := &mockModule{host: h}
	o := h.object(
		m.fn("approve", m.approve),
		m.fn("deny", m.deny),
		m.fn("autoApprove", m.autoApprove),
		m.fn("dialect", m.dialect),
		m.fn("deviceCodes", func(goja.FunctionCall) goja.Value {
			return m.controlJSON("entra", "GET", "/_mock/devicecodes", nil)
		}),
		m.fn("revokeUser", func(call goja.FunctionCall) goja.Value {
			return m.controlJSON("entra", "POST", "/_mock/users/revoke", map[string]any{"user": call.Argument(0).String()})
		}),
		m.fn("rotateKeys", func(goja.FunctionCall) goja.Value {
			return m.controlJSON("entra", "POST", "/_mock/keys/rotate", nil)
		}),
		m.fn("addOrganization", func(call goja.FunctionCall) goja.Value {
			return m.controlJSON("veeam", "POST", "/_mock/organizations", call.Argument(0))
		}),
		m.fn("organizations", func(goja.FunctionCall) goja.Value {
			return m.controlJSON("veeam", "GET", "/_mock/organizations", nil)
		}),
		m.fn("revokeSessions", m.revokeSessions),
		m.fn("reset", func(goja.FunctionCall) goja.Value {
			for _, s := range servers {
				m.controlJSON(s, "POST", "/_mock/reset", nil)
			}
			return goja.Undefined()
		}),
		m.fn("requests", func(call goja.FunctionCall) goja.Value {
			return m.requests(call.Argument(0).String(), call.Argument(1))
		}),
		m.fn("clock", func(goja.FunctionCall) goja.Value {
			return m.controlJSON("entra", "GET", "/_mock/clock", nil)
		}),
	)
	h.lazy(o, "faults", func() goja.Value { return m.faults("") })
	h.lazy(o, "entra", func() goja.Value { return m.server("entra") })
	h.lazy(o, "veeam", func() goja.Value { return m.server("veeam") })
	return o
}

// fn is a mock function named name (a dotted path below mock) that first checks the
// test declared requires: ["control"] and the target has a control API.
func (m *mockModule) fn(name string, f func(goja.FunctionCall) goja.Value) member {
	what := "mock." + name
	return member{name[strings.LastIndex(name, ".")+1:], func(call goja.FunctionCall) goja.Value {
		m.need(what, RequireControl)
		return f(call)
	}}
}

func (m *mockModule) approve(call goja.FunctionCall) goja.Value {
	body := map[string]any{"user_code": m.userCodeOf(call.Argument(0), "mock.approve")}
	if u := optString(m.options(call.Argument(1), "mock.approve", "user"), "user"); u != "" {
		body["user"] = u
	}
	return m.controlJSON("entra", "POST", "/_mock/devicecodes/approve", body)
}

func (m *mockModule) deny(call goja.FunctionCall) goja.Value {
	return m.controlJSON("entra", "POST", "/_mock/devicecodes/deny", map[string]any{"user_code": m.userCodeOf(call.Argument(0), "mock.deny")})
}

func (m *mockModule) autoApprove(call goja.FunctionCall) goja.Value {
	if a := call.Argument(0); !a.ToBoolean() && !goja.IsUndefined(a) {
		return m.controlJSON("entra", "DELETE", "/_mock/devicecodes/auto-approve", nil)
	}
	o := m.options(call.Argument(0), "mock.autoApprove", "user", "afterPolls", "after")
	body := map[string]any{}
	if u := optString(o, "user"); u != "" {
		body["user"] = u
	}
	if n := optValue(o, "afterPolls"); n != nil {
		body["after_polls"] = n.ToInteger()
	}
	if a := optValue(o, "after"); a != nil {
		body["after"] = m.duration(a, "mock.autoApprove after").String()
	}
	if len(body) == 0 {
		// No condition: every code at its first poll. The mock refuses an empty
		// rule, so a script that means everyone says so on the wire.
		body["all"] = true
	}
	return m.controlJSON("entra", "POST", "/_mock/devicecodes/auto-approve", body)
}

func (m *mockModule) dialect(call goja.FunctionCall) goja.Value {
	body := map[string]any{"user_code": m.userCodeOf(call.Argument(0), "mock.dialect"), "strict": nil}
	if s := call.Argument(1); !goja.IsUndefined(s) && !goja.IsNull(s) {
		body["strict"] = s.ToBoolean()
	}
	return m.controlJSON("entra", "POST", "/_mock/devicecodes/dialect", body)
}

// revokeSessions revokes every session, or one user's: mock.revokeSessions(userName).
func (m *mockModule) revokeSessions(call goja.FunctionCall) goja.Value {
	body := map[string]any{"all": true}
	if a := call.Argument(0); goja.IsString(a) {
		body = map[string]any{"userName": a.String()}
	}
	return m.controlJSON("veeam", "POST", "/_mock/sessions/revoke", body)
}

// userCodeOf reads a user code from a device code object or takes a string as one.
func (m *mockModule) userCodeOf(v goja.Value, what string) string {
	if goja.IsString(v) {
		return v.String()
	}
	if o, ok := v.(*goja.Object); ok {
		if uc := optString(o, "user_code"); uc != "" {
			return uc
		}
	}
	m.throw("TypeError", "%s needs a device code object (from entra.deviceCode) or a user code string", what)
	return ""
}

func (m *mockModule) requests(server string, filter goja.Value) goja.Value {
	o := m.options(filter, "mock.requests", "method", "path", "field", "value", "since")
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
	res := m.controlJSON(server, "GET", p, nil)
	if obj, ok := res.(*goja.Object); ok {
		if list := obj.Get("requests"); list != nil && !goja.IsNull(list) {
			return list
		}
	}
	return m.vm.NewArray()
}

// server is mock.entra / mock.veeam: the control API of one server.
func (m *mockModule) server(server string) *goja.Object {
	p := server + "."
	members := []member{
		m.fn(p+"requests", func(call goja.FunctionCall) goja.Value { return m.requests(server, call.Argument(0)) }),
		m.fn(p+"clearRequests", func(goja.FunctionCall) goja.Value {
			return m.controlJSON(server, "DELETE", "/_mock/requests", nil)
		}),
		m.fn(p+"health", func(goja.FunctionCall) goja.Value { return m.controlJSON(server, "GET", "/_mock/health", nil) }),
		m.fn(p+"clock", func(goja.FunctionCall) goja.Value { return m.controlJSON(server, "GET", "/_mock/clock", nil) }),
		m.fn(p+"reset", func(goja.FunctionCall) goja.Value { return m.controlJSON(server, "POST", "/_mock/reset", nil) }),
		member{"faults", m.faults(server)},
		member{"settings", m.object(
			m.fn(p+"settings.get", func(goja.FunctionCall) goja.Value {
				return m.controlJSON(server, "GET", "/_mock/settings", nil)
			}),
			m.fn(p+"settings.set", func(call goja.FunctionCall) goja.Value {
				patch, ok := call.Argument(0).(*goja.Object)
				if !ok {
					m.throw("TypeError", "mock.%s.settings.set needs an object of settings to change", server)
				}
				// PUT merges: fields left out keep their values. The answer is the new settings.
				return m.controlJSON(server, "PUT", "/_mock/settings", patch)
			}),
		)},
	}
	switch server {
	case "veeam":
		members = append(members, m.stubMembers()...)
	case "entra":
		members = append(members, m.appMembers()...)
	}
	return m.object(members...)
}

// faults is mock.faults (server from each rule's `server` field) or a server's own.
func (m *mockModule) faults(server string) *goja.Object {
	prefix := "faults."
	if server != "" {
		prefix = server + ".faults."
	}
	pick := func(what string, v goja.Value) string {
		if server != "" {
			return server
		}
		if goja.IsString(v) {
			return v.String()
		}
		m.throw("TypeError", "%s needs the server (\"entra\" or \"veeam\"); or use mock.entra.faults / mock.veeam.faults", what)
		return ""
	}
	list := func(srv string) goja.Value {
		res, _ := m.controlJSON(srv, "GET", "/_mock/faults", nil).(*goja.Object)
		if res == nil {
			return m.vm.NewArray()
		}
		return res.Get("faults")
	}
	return m.object(
		m.fn(prefix+"add", func(call goja.FunctionCall) goja.Value {
			rule, ok := call.Argument(0).(*goja.Object)
			if !ok {
				m.throw("TypeError", "mock.faults.add needs a rule object such as {path: \"/v8/token\", status: 503}")
			}
			srv := pick("mock.faults.add", rule.Get("server"))
			body := m.vm.NewObject()
			for _, k := range rule.Keys() {
				if k != "server" {
					_ = body.Set(k, rule.Get(k))
				}
			}
			return m.controlJSON(srv, "POST", "/_mock/faults", body)
		}),
		m.fn(prefix+"list", func(call goja.FunctionCall) goja.Value {
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
			return m.vm.NewArray(all...)
		}),
		m.fn(prefix+"clear", func(call goja.FunctionCall) goja.Value {
			targets := servers
			if server != "" || goja.IsString(call.Argument(0)) {
				targets = []string{pick("mock.faults.clear", call.Argument(0))}
			}
			for _, s := range targets {
				m.controlJSON(s, "DELETE", "/_mock/faults", nil)
			}
			return goja.Undefined()
		}),
		m.fn(prefix+"remove", func(call goja.FunctionCall) goja.Value {
			srv := pick("mock.faults.remove", call.Argument(1))
			return m.controlJSON(srv, "DELETE", "/_mock/faults/"+url.PathEscape(call.Argument(0).String()), nil)
		}),
	)
}
