package engine

import (
	"errors"
	"strings"

	"github.com/dop251/goja"

	"github.com/vbharness/vbharness/engine/flow"
)

func (r *rt) veeamModule() *goja.Object {
	m := r.vm.NewObject()
	_ = m.Set("login", func(call goja.FunctionCall) goja.Value {
		r.needTest("veeam.login")
		o := r.options(call.Argument(0), "veeam.login", "assertion", "organization", "username", "password", "admin", "operator", "autoRefresh", "antiforgery")
		if o == nil {
			r.throw("TypeError", "veeam.login needs {assertion}, {username, password}, {admin: true} or {operator: {userId, tenantId, accessToken}}")
		}
		var s *flow.Session
		var err error
		v := r.veeam
		if a := optValue(o, "antiforgery"); a != nil && a.ToBoolean() {
			// Keep the antiforgery protection, as the seed's requests and the Restore
			// Portal do: no disable_antiforgery_token=true, and the session sends the
			// antiforgery token with every call and refresh.
			keep := *r.veeam
			keep.KeepAntiforgery = true
			v = &keep
		}
		switch {
		case optValue(o, "assertion") != nil:
			a := optValue(o, "assertion")
			assertion := a.String()
			if ao, ok := a.(*goja.Object); ok && ao.ClassName() == "Object" {
				assertion = r.stringify(a) // the whole Entra token response, as Veeam wants it
			}
			org := optString(o, "organization")
			if org == "" {
				org = r.target.Veeam.Organization
			}
			if org == "" {
				org = r.target.Entra.Tenant
			}
			s, err = v.LoginAssertion(r.ctx, org, assertion)
		case optValue(o, "operator") != nil:
			op := r.options(optValue(o, "operator"), "veeam.login operator", "userId", "tenantId", "accessToken")
			s, err = v.LoginOperator(r.ctx, optString(op, "userId"), optString(op, "tenantId"), optString(op, "accessToken"))
		case optValue(o, "admin") != nil && optValue(o, "admin").ToBoolean():
			if r.target.Veeam.AdminUser == "" {
				r.throw("Error", "veeam.login({admin: true}): target %q has no Veeam admin user configured", r.target.Name)
			}
			s, err = v.LoginPassword(r.ctx, r.target.Veeam.AdminUser, r.target.Veeam.AdminPassword)
		case optValue(o, "username") != nil:
			s, err = v.LoginPassword(r.ctx, optString(o, "username"), optString(o, "password"))
		default:
			r.throw("TypeError", "veeam.login needs {assertion}, {username, password}, {admin: true} or {operator: {userId, tenantId, accessToken}}")
		}
		if err != nil {
			r.throwErr("veeam.login", err)
		}
		auto := true
		if a := optValue(o, "autoRefresh"); a != nil {
			auto = a.ToBoolean()
		}
		return r.sessionObject(s, auto)
	})
	_ = m.Set("token", func(call goja.FunctionCall) goja.Value {
		r.needTest("veeam.token")
		form := r.formValues(call.Argument(0), "veeam.token(form)")
		resp, err := r.veeam.PostToken(r.ctx, form)
		if err != nil {
			r.throwErr("veeam.token", err)
		}
		return r.responseObject("POST", resp)
	})
	return m
}

// sessionObject exposes a flow.Session: live token fields as getters, and the request,
// refresh, logout and paginate methods.
func (r *rt) sessionObject(s *flow.Session, auto bool) *goja.Object {
	o := r.vm.NewObject()
	getter := func(name string, get func(tok flow.VeeamToken) goja.Value) {
		_ = o.DefineAccessorProperty(name, r.vm.ToValue(func(goja.FunctionCall) goja.Value {
			return get(s.Token())
		}), nil, goja.FLAG_FALSE, goja.FLAG_TRUE)
	}
	getter("accessToken", func(t flow.VeeamToken) goja.Value { return r.vm.ToValue(t.AccessToken) })
	getter("refreshToken", func(t flow.VeeamToken) goja.Value { return r.vm.ToValue(t.RefreshToken) })
	getter("tokenType", func(t flow.VeeamToken) goja.Value { return r.vm.ToValue(t.TokenType) })
	getter("expiresIn", func(t flow.VeeamToken) goja.Value { return r.vm.ToValue(int64(t.ExpiresIn)) })
	getter("issuedAt", func(t flow.VeeamToken) goja.Value { return r.vm.ToValue(t.IssuedAt.UnixMilli()) })
	getter("expiresAt", func(t flow.VeeamToken) goja.Value { return r.vm.ToValue(t.ExpiresAt.UnixMilli()) })
	getter("userName", func(t flow.VeeamToken) goja.Value { return r.vm.ToValue(t.UserName) })
	getter("loggedOut", func(flow.VeeamToken) goja.Value { return r.vm.ToValue(s.LoggedOut()) })
	var respRaw []byte
	var respVal goja.Value
	getter("response", func(t flow.VeeamToken) goja.Value {
		if respVal == nil || string(respRaw) != string(t.Raw) {
			respRaw, respVal = t.Raw, r.parseJSON(t.Raw, "the token response")
		}
		return respVal
	})

	request := func(method string, pathV, optV goja.Value) goja.Value {
		what := "session." + strings.ToLower(method)
		r.needTest(what)
		opts := r.requestOptions(optV, what, true)
		p := pathV.String()
		if len(opts.query) > 0 {
			sep := "?"
			if strings.Contains(p, "?") {
				sep = "&"
			}
			p += sep + opts.query.Encode()
		}
		rctx, cancel := r.withTimeout(opts.timeout)
		defer cancel()
		resp, err := s.Do(rctx, flow.SessionRequest{Method: method, Path: p, Header: opts.header, Body: opts.body, NoAutoRefresh: !auto || opts.noAutoRetry})
		if err != nil {
			r.requestError(what, rctx, opts, err)
		}
		ro := r.responseObject(method, resp.Response)
		_ = ro.Set("refreshed", resp.Refreshed)
		if resp.RefreshErr != nil {
			var ve *flow.VeeamError
			if errors.As(resp.RefreshErr, &ve) {
				_ = ro.Set("refreshError", r.veeamErrorObject("automatic refresh", ve))
			} else {
				_ = ro.Set("refreshError", r.newError("Error", "automatic refresh: "+resp.RefreshErr.Error(), nil))
			}
		}
		return ro
	}
	_ = o.Set("request", func(call goja.FunctionCall) goja.Value {
		return request(strings.ToUpper(call.Argument(0).String()), call.Argument(1), call.Argument(2))
	})
	for _, name := range []string{"get", "post", "put", "patch", "delete"} {
		method := strings.ToUpper(name)
		_ = o.Set(name, func(call goja.FunctionCall) goja.Value {
			return request(method, call.Argument(0), call.Argument(1))
		})
	}
	_ = o.Set("refresh", func(goja.FunctionCall) goja.Value {
		r.needTest("session.refresh")
		if err := s.Refresh(r.ctx); err != nil {
			r.throwErr("session.refresh", err)
		}
		return o
	})
	_ = o.Set("logout", func(goja.FunctionCall) goja.Value {
		r.needTest("session.logout")
		if _, err := s.Logout(r.ctx); err != nil {
			r.throwErr("session.logout", err)
		}
		return goja.Undefined()
	})
	_ = o.Set("paginate", func(call goja.FunctionCall) goja.Value {
		r.needTest("session.paginate")
		po := r.options(call.Argument(1), "session.paginate", "maxPages")
		maxPages := 0
		if mp := optValue(po, "maxPages"); mp != nil {
			maxPages = int(mp.ToInteger())
		}
		var items []any
		err := s.Pages(r.ctx, call.Argument(0).String(), maxPages, func(resp *flow.SessionResponse, _ *flow.Page) error {
			page, ok := r.parseJSON(resp.Body, "a page").(*goja.Object)
			if !ok {
				return nil
			}
			if res, ok := page.Get("results").(*goja.Object); ok {
				n := int(res.Get("length").ToInteger())
				for i := 0; i < n; i++ {
					items = append(items, res.Get(itoa(i)))
				}
			}
			return nil
		})
		if err != nil {
			r.throwErr("session.paginate", err)
		}
		return r.vm.NewArray(items...)
	})
	return o
}
