package engine

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dop251/goja"

	"github.com/vbharness/vbharness/engine/flow"
)

// veeamModule is `veeam`: logins at /v8/token that return sessions, and the raw token
// endpoint.
type veeamModule struct {
	*host
	flow *flow.Veeam
}

func newVeeam(h *host) goja.Value {
	m := &veeamModule{host: h}
	_, m.flow = h.target.Clients(h.http, h.clock)
	return h.object(
		member{"login", m.login},
		member{"token", m.token},
		member{"waitFor", m.waitFor},
	)
}

// Defaults of veeam.waitFor, on the scenario clock.
const (
	defaultWaitTimeout  = 30 * time.Minute
	defaultWaitInterval = 10 * time.Second
)

// waitFor is veeam.waitFor(session, path, predicate, {timeout, interval}): GET path with
// the session until predicate(body, response) is truthy, and return that body. Between
// polls the scenario clock moves by the interval: on the embedded mocks the stack's
// virtual clock, on a target with a control API (localmock) the mock's clock too, and on
// a live target it is a real sleep. An answer of 400 or more, or the timeout (counted on
// the same clock), throws.
func (m *veeamModule) waitFor(call goja.FunctionCall) goja.Value {
	const what = "veeam.waitFor"
	m.needTest(what)
	so, ok := call.Argument(0).(*goja.Object)
	var get goja.Callable
	if ok {
		get, ok = goja.AssertFunction(so.Get("get"))
	}
	if !ok {
		m.throw("TypeError", "%s(session, path, predicate, options): the first argument must be a session from veeam.login", what)
	}
	path := call.Argument(1).String()
	pred, ok := goja.AssertFunction(call.Argument(2))
	if !ok {
		m.throw("TypeError", "%s(session, path, predicate, options): predicate must be a function (body, response) => boolean", what)
	}
	o := m.options(call.Argument(3), what, "timeout", "interval")
	timeout, interval := defaultWaitTimeout, defaultWaitInterval
	if v := optValue(o, "timeout"); v != nil {
		timeout = m.duration(v, what+" timeout")
	}
	if v := optValue(o, "interval"); v != nil {
		interval = m.duration(v, what+" interval")
	}
	if interval <= 0 {
		m.throw("TypeError", "%s: interval must be positive", what)
	}
	deadline := m.clock.Now().Add(timeout)
	for polls := 1; ; polls++ {
		resp, err := get(so, m.vm.ToValue(path))
		if err != nil {
			panic(err) // the session's own error, with its JS stack
		}
		ro := resp.ToObject(m.vm)
		status := ro.Get("status").ToInteger()
		if status >= 400 {
			// A VeeamError, as session.paginate and the session's calls throw, so that
			// toHaveVeeamError and err.errorCode read it.
			panic(m.veeamError(fmt.Sprintf("%s: GET %s", what, path), flow.ParseVeeamError(int(status), []byte(ro.Get("body").String()))))
		}
		body := m.parseJSON([]byte(ro.Get("body").String()), fmt.Sprintf("%s: the answer to GET %s (HTTP %d)", what, path, status))
		done, err := pred(goja.Undefined(), body, ro)
		if err != nil {
			panic(err)
		}
		if done.ToBoolean() {
			return body
		}
		if m.clock.Now().Add(interval).After(deadline) {
			m.throw("Error", "%s: GET %s did not satisfy the predicate within %s (%d polls, every %s on the scenario clock); the last answer: %s",
				what, path, timeout, polls, interval, shortBody(ro.Get("body").String()))
		}
		m.pause(interval, what)
	}
}

// pause moves the scenario clock by d: the stack's own clock on the embedded mocks, the
// mock's and ours on a target with a control API, a real sleep on a live target.
func (m *veeamModule) pause(d time.Duration, what string) {
	switch {
	case m.target.Kind == TargetMock:
		m.clock.Advance(d)
	case m.target.Control != nil:
		m.controlJSON("entra", "POST", "/_mock/clock/advance", map[string]string{"duration": d.String()})
		m.clock.Advance(d)
	default:
		if err := m.clock.Sleep(m.ctx, d); err != nil {
			m.throwErr(what, err)
		}
	}
	m.checkCtx(what)
}

// shortBody shortens a body for an error message.
func shortBody(body string) string {
	if len(body) > 300 {
		return body[:300] + "…"
	}
	return body
}

func (m *veeamModule) login(call goja.FunctionCall) goja.Value {
	m.needTest("veeam.login")
	o := m.options(call.Argument(0), "veeam.login", "assertion", "organization", "username", "password", "admin", "operator", "autoRefresh", "antiforgery")
	if o == nil {
		m.throw("TypeError", "veeam.login needs {assertion}, {username, password}, {admin: true} or {operator: {userId, tenantId, accessToken}}")
	}
	var s *flow.Session
	var err error
	v := m.flow
	if a := optValue(o, "antiforgery"); a != nil && a.ToBoolean() {
		// Keep the antiforgery protection, as the seed's requests and the Restore Portal
		// do: no disable_antiforgery_token=true, and the session sends the antiforgery
		// token with every call and refresh.
		keep := *m.flow
		keep.KeepAntiforgery = true
		v = &keep
	}
	switch {
	case optValue(o, "assertion") != nil:
		a := optValue(o, "assertion")
		assertion := a.String()
		if ao, ok := a.(*goja.Object); ok && ao.ClassName() == "Object" {
			assertion = m.stringify(a) // the whole Entra token response, as Veeam wants it
		}
		org := optString(o, "organization")
		if org == "" {
			org = m.target.Organization()
		}
		s, err = v.LoginAssertion(m.ctx, org, assertion)
	case optValue(o, "operator") != nil:
		op := m.options(optValue(o, "operator"), "veeam.login operator", "userId", "tenantId", "accessToken")
		s, err = v.LoginOperator(m.ctx, optString(op, "userId"), optString(op, "tenantId"), optString(op, "accessToken"))
	case optValue(o, "admin") != nil && optValue(o, "admin").ToBoolean():
		if m.target.Veeam.AdminUser == "" {
			m.throw("Error", "veeam.login({admin: true}): target %q has no Veeam admin user configured", m.target.Name)
		}
		if m.target.Veeam.AdminPassword == "" {
			// A lab's password is kept out of the targets file; without it the server
			// would answer a bare "needs username and password".
			m.throw("Error", "veeam.login({admin: true}): target %q has no password for its Veeam administrator %s: set VBHARNESS_VEEAM_PASSWORD", m.target.Name, m.target.Veeam.AdminUser)
		}
		s, err = v.LoginPassword(m.ctx, m.target.Veeam.AdminUser, m.target.Veeam.AdminPassword)
	case optValue(o, "username") != nil:
		s, err = v.LoginPassword(m.ctx, optString(o, "username"), optString(o, "password"))
	default:
		m.throw("TypeError", "veeam.login needs {assertion}, {username, password}, {admin: true} or {operator: {userId, tenantId, accessToken}}")
	}
	if err != nil {
		m.throwErr("veeam.login", err)
	}
	auto := true
	if a := optValue(o, "autoRefresh"); a != nil {
		auto = a.ToBoolean()
	}
	return (&session{host: m.host, s: s, auto: auto}).object()
}

func (m *veeamModule) token(call goja.FunctionCall) goja.Value {
	m.needTest("veeam.token")
	form := m.formValues(call.Argument(0), "veeam.token(form)")
	resp, err := m.flow.PostToken(m.ctx, form)
	if err != nil {
		m.throwErr("veeam.token", err)
	}
	return m.response(serviceVeeam, "POST", resp)
}

// session is the JS object veeam.login returns: a flow.Session's live token fields as
// getters, and its request, refresh, logout and paginate methods.
type session struct {
	*host
	s    *flow.Session
	auto bool // automatic refresh, unless {autoRefresh: false}

	o       *goja.Object
	respRaw []byte     // the token response respVal was parsed from
	respVal goja.Value // session.response, parsed once per token
}

func (s *session) object() *goja.Object {
	members := append(verbs(s.do), member{"refresh", s.refresh}, member{"logout", s.logout}, member{"paginate", s.paginate})
	s.o = s.vm.NewObject()
	token := func(name string, get func(tok flow.VeeamToken) any) {
		s.getter(s.o, name, func() goja.Value { return s.vm.ToValue(get(s.s.Token())) })
	}
	token("accessToken", func(t flow.VeeamToken) any { return t.AccessToken })
	token("refreshToken", func(t flow.VeeamToken) any { return t.RefreshToken })
	token("tokenType", func(t flow.VeeamToken) any { return t.TokenType })
	token("expiresIn", func(t flow.VeeamToken) any { return int64(t.ExpiresIn) })
	token("issuedAt", func(t flow.VeeamToken) any { return t.IssuedAt.UnixMilli() })
	token("expiresAt", func(t flow.VeeamToken) any { return t.ExpiresAt.UnixMilli() })
	token("userName", func(t flow.VeeamToken) any { return t.UserName })
	s.getter(s.o, "loggedOut", func() goja.Value { return s.vm.ToValue(s.s.LoggedOut()) })
	s.getter(s.o, "response", s.response)
	for _, m := range members {
		_ = s.o.Set(m.name, s.value(m.name, m.value))
	}
	return s.o
}

func (s *session) response() goja.Value {
	t := s.s.Token()
	if s.respVal == nil || string(s.respRaw) != string(t.Raw) {
		s.respRaw, s.respVal = t.Raw, s.parseJSON(t.Raw, "the token response")
	}
	return s.respVal
}

func (s *session) do(method string, pathV, optV goja.Value) goja.Value {
	what := "session." + strings.ToLower(method)
	s.needTest(what)
	opts := s.requestOptions(optV, what, true)
	p := withQuery(pathV.String(), opts.query)
	rctx, cancel := s.withTimeout(opts.timeout)
	defer cancel()
	resp, err := s.s.Do(rctx, flow.SessionRequest{Method: method, Path: p, Header: opts.header, Body: opts.body, NoAutoRefresh: !s.auto || opts.noAutoRetry})
	var refresh *flow.RefreshError
	if errors.As(err, &refresh) && s.ctx.Err() == nil {
		s.throwErr(fmt.Sprintf("%s: the access token expired at %s and the automatic refresh failed (the request was not sent)",
			what, refresh.ExpiredAt.UTC().Format(time.RFC3339)), refresh.Err)
	}
	if err != nil {
		s.requestError(what, rctx, opts, err)
	}
	ro := s.host.response(serviceVeeam, method, resp.Response)
	_ = ro.Set("refreshed", resp.Refreshed)
	if resp.RefreshErr != nil {
		var ve *flow.VeeamError
		if errors.As(resp.RefreshErr, &ve) {
			_ = ro.Set("refreshError", s.veeamError("automatic refresh", ve))
		} else {
			_ = ro.Set("refreshError", s.newError("Error", "automatic refresh: "+resp.RefreshErr.Error(), nil))
		}
	}
	return ro
}

func (s *session) refresh(goja.FunctionCall) goja.Value {
	s.needTest("session.refresh")
	if err := s.s.Refresh(s.ctx); err != nil {
		s.throwErr("session.refresh", err)
	}
	return s.o
}

func (s *session) logout(goja.FunctionCall) goja.Value {
	s.needTest("session.logout")
	if _, err := s.s.Logout(s.ctx); err != nil {
		s.throwErr("session.logout", err)
	}
	return goja.Undefined()
}

func (s *session) paginate(call goja.FunctionCall) goja.Value {
	s.needTest("session.paginate")
	po := s.options(call.Argument(1), "session.paginate", "maxPages", "query")
	maxPages := 0
	if mp := optValue(po, "maxPages"); mp != nil {
		maxPages = int(mp.ToInteger())
	}
	path := call.Argument(0).String()
	if qv := optValue(po, "query"); qv != nil {
		path = withQuery(path, s.formValues(qv, "session.paginate query"))
	}
	var items []any
	err := s.s.Pages(s.ctx, path, maxPages, func(resp *flow.SessionResponse, _ *flow.Page) error {
		page, ok := s.parseJSON(resp.Body, "a page").(*goja.Object)
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
		s.throwErr("session.paginate", err)
	}
	return s.vm.NewArray(items...)
}
