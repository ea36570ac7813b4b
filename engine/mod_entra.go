package engine

import (
	"fmt"
	"time"

	"github.com/dop251/goja"

	"github.com/vbharness/vbharness/engine/flow"
)

// entraModule is `entra`: the device-code flow against Microsoft Entra ID. It remembers
// every device code it issued, so pollToken knows when each was issued and returns the
// token a live signIn already redeemed.
type entraModule struct {
	*host
	flow  *flow.Entra
	codes map[string]*deviceCodeState
}

// deviceCodeState is what the entra module remembers about a device code it issued.
type deviceCodeState struct {
	dc    *flow.DeviceCode
	token goja.Value // set when a live signIn already redeemed the code
}

func newEntra(h *host) goja.Value {
	m := &entraModule{host: h, codes: map[string]*deviceCodeState{}}
	m.flow, _ = h.target.Clients(h.http, h.clock)
	return h.object(
		member{"deviceCode", m.deviceCode},
		member{"pollToken", m.pollToken},
		member{"signIn", m.signIn},
		member{"refresh", m.refresh},
		member{"openidConfiguration", m.getDoc("entra.openidConfiguration", m.flow.OpenIDConfigurationURL)},
		member{"jwks", m.getDoc("entra.jwks", m.flow.JWKSURL)},
		member{"raw", h.object(
			member{"devicecode", m.raw("devicecode")},
			member{"token", m.raw("token")},
		)},
	)
}

func (m *entraModule) deviceCode(call goja.FunctionCall) goja.Value {
	m.needTest("entra.deviceCode")
	o := m.options(call.Argument(0), "entra.deviceCode", "scope", "clientId", "tenant")
	dc, err := m.flow.DeviceCode(m.ctx, flow.DeviceCodeRequest{Scope: optString(o, "scope"), ClientID: optString(o, "clientId"), Tenant: optString(o, "tenant")})
	if err != nil {
		m.throwErr("entra.deviceCode", err)
	}
	m.codes[dc.DeviceCode] = &deviceCodeState{dc: dc}
	return m.parseJSON(dc.Raw, "the device code response")
}

func (m *entraModule) pollToken(call goja.FunctionCall) goja.Value {
	m.needTest("entra.pollToken")
	st := m.codeState(call.Argument(0), "entra.pollToken")
	o := m.options(call.Argument(1), "entra.pollToken", "retry")
	if st.token != nil {
		return st.token
	}
	retry := optValue(o, "retry")
	return m.poll(st, flow.PollOptions{NoRetry: retry != nil && !retry.ToBoolean()})
}

func (m *entraModule) signIn(call goja.FunctionCall) goja.Value {
	m.needTest("entra.signIn")
	st := m.codeState(call.Argument(0), "entra.signIn")
	o := m.options(call.Argument(1), "entra.signIn", "user", "deny", "afterPolls")
	return m.approve(st, o)
}

func (m *entraModule) refresh(call goja.FunctionCall) goja.Value {
	m.needTest("entra.refresh")
	rt := ""
	switch a := call.Argument(0); {
	case goja.IsString(a):
		rt = a.String()
	default:
		o, ok := a.(*goja.Object)
		if !ok {
			m.throw("TypeError", "entra.refresh needs a token response (from pollToken) or a refresh token string")
		}
		rt = optString(o, "refresh_token")
	}
	o := m.options(call.Argument(1), "entra.refresh", "scope", "clientId", "tenant")
	tok, err := m.flow.Refresh(m.ctx, rt, flow.RefreshRequest{Scope: optString(o, "scope"), ClientID: optString(o, "clientId"), Tenant: optString(o, "tenant")})
	if err != nil {
		m.throwErr("entra.refresh", err)
	}
	return m.parseJSON(tok.Raw, "the token response")
}

// getDoc is openidConfiguration and jwks: a JSON document of the tenant.
func (m *entraModule) getDoc(what string, urlOf func(tenant string) string) func(goja.FunctionCall) goja.Value {
	return func(call goja.FunctionCall) goja.Value {
		m.needTest(what)
		o := m.options(call.Argument(0), what, "tenant")
		body, err := m.flow.GetJSON(m.ctx, urlOf(optString(o, "tenant")))
		if err != nil {
			m.throwErr(what, err)
		}
		return m.parseJSON(body, what)
	}
}

// raw is entra.raw.devicecode and entra.raw.token: the endpoint without defaults or
// error handling.
func (m *entraModule) raw(endpoint string) func(goja.FunctionCall) goja.Value {
	what := "entra.raw." + endpoint
	return func(call goja.FunctionCall) goja.Value {
		m.needTest(what)
		form := m.formValues(call.Argument(0), what+"(form)")
		o := m.options(call.Argument(1), what, "tenant")
		resp, err := m.flow.PostForm(m.ctx, optString(o, "tenant"), endpoint, form)
		if err != nil {
			m.throwErr(what, err)
		}
		return m.response(serviceEntra, "POST", resp)
	}
}

// codeState finds the device code a script passes: the object deviceCode() returned, or
// its device_code string.
func (m *entraModule) codeState(v goja.Value, what string) *deviceCodeState {
	var code string
	var obj *goja.Object
	switch {
	case goja.IsString(v):
		code = v.String()
	default:
		o, ok := v.(*goja.Object)
		if !ok {
			m.throw("TypeError", "%s needs the object entra.deviceCode() returned (or its device_code)", what)
		}
		obj = o
		code = optString(o, "device_code")
	}
	if code == "" {
		m.throw("TypeError", "%s: the device code object has no device_code", what)
	}
	if st, ok := m.codes[code]; ok {
		return st
	}
	// A code made elsewhere (a raw devicecode response): trust its fields, issued now.
	dc := &flow.DeviceCode{DeviceCode: code, IssuedAt: m.clock.Now(), ExpiresIn: 900, Interval: 5}
	if obj != nil {
		dc.UserCode = optString(obj, "user_code")
		dc.Message = optString(obj, "message")
		if e := optValue(obj, "expires_in"); e != nil {
			dc.ExpiresIn = flow.Seconds(e.ToInteger())
		}
		if i := optValue(obj, "interval"); i != nil {
			dc.Interval = flow.Seconds(i.ToInteger())
		}
	}
	m.scrub.Add(dc.DeviceCode, dc.UserCode)
	st := &deviceCodeState{dc: dc}
	m.codes[code] = st
	return st
}

// poll redeems a device code.
func (m *entraModule) poll(st *deviceCodeState, opts flow.PollOptions) goja.Value {
	tok, err := m.flow.PollToken(m.ctx, st.dc, opts)
	if err != nil {
		m.throwErr("entra.pollToken", err)
	}
	st.token = m.parseJSON(tok.Raw, "the token response")
	return st.token
}

// approve completes the user's side of the device flow. With a control API it approves,
// denies or arranges auto-approval through the mock; without one a person must sign in:
// Microsoft's message goes to RunOptions.Out with the time left, and the code is polled
// until they do (pollToken then returns that token at once).
func (m *entraModule) approve(st *deviceCodeState, o *goja.Object) goja.Value {
	user := optString(o, "user")
	if user == "" {
		user = m.target.Entra.User
	}
	deny := optValue(o, "deny") != nil && optValue(o, "deny").ToBoolean()
	after := optValue(o, "afterPolls")
	if deny || after != nil {
		// Only the mock can decline or hold a sign-in; a plain one works everywhere.
		m.need("entra.signIn with deny or afterPolls", RequireControl)
	}
	if m.target.Control != nil {
		switch {
		case deny:
			m.controlJSON("entra", "POST", "/_mock/devicecodes/deny", map[string]any{"user_code": st.dc.UserCode})
		case after != nil:
			body := map[string]any{"after_polls": after.ToInteger()}
			if user != "" {
				body["user"] = user
			}
			m.controlJSON("entra", "POST", "/_mock/devicecodes/auto-approve", body)
		default:
			body := map[string]any{"user_code": st.dc.UserCode}
			if user != "" {
				body["user"] = user
			}
			m.controlJSON("entra", "POST", "/_mock/devicecodes/approve", body)
		}
		return goja.Undefined()
	}
	msg := st.dc.Message
	if msg == "" {
		msg = fmt.Sprintf("To sign in, open %s and enter the code %s.", st.dc.VerificationURI, st.dc.UserCode)
	}
	fmt.Fprintf(m.out, "\n%s\n", msg)
	fmt.Fprintf(m.out, "Waiting for sign-in (%s left)…\n", st.dc.ExpiresAt().Sub(m.clock.Now()).Round(time.Second))
	lastShown := time.Duration(-1)
	tok := m.poll(st, flow.PollOptions{OnPoll: func(ev flow.PollEvent) {
		left := ev.Remaining.Truncate(time.Minute)
		if left != lastShown {
			lastShown = left
			fmt.Fprintf(m.out, "  still waiting: %s left\n", ev.Remaining.Round(time.Second))
		}
	}})
	fmt.Fprintf(m.out, "Signed in.\n")
	return tok
}
