package engine

import (
	"fmt"
	"time"

	"github.com/dop251/goja"

	"github.com/vbharness/vbharness/engine/flow"
)

// deviceCodeState is what the entra module remembers about a device code it issued.
type deviceCodeState struct {
	dc    *flow.DeviceCode
	token goja.Value // set when a live signIn already redeemed the code
}

// objectKeys refuses unknown option keys, so a typo is an error rather than a default.
func (r *rt) options(v goja.Value, what string, known ...string) *goja.Object {
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return nil
	}
	obj, ok := v.(*goja.Object)
	if !ok || obj.ClassName() == "Array" {
		r.throw("TypeError", "%s: options must be an object", what)
	}
	for _, k := range obj.Keys() {
		ok := false
		for _, n := range known {
			ok = ok || n == k
		}
		if !ok {
			r.throw("TypeError", "%s: unknown option %q (known: %v)", what, k, known)
		}
	}
	return obj
}

func optString(o *goja.Object, key string) string {
	if o == nil {
		return ""
	}
	if v := o.Get(key); v != nil && !goja.IsUndefined(v) && !goja.IsNull(v) {
		return v.String()
	}
	return ""
}

func optValue(o *goja.Object, key string) goja.Value {
	if o == nil {
		return nil
	}
	if v := o.Get(key); v != nil && !goja.IsUndefined(v) && !goja.IsNull(v) {
		return v
	}
	return nil
}

// codeState finds the device code a script passes: the object deviceCode() returned, or
// its device_code string.
func (r *rt) codeState(v goja.Value, what string) *deviceCodeState {
	var code string
	var obj *goja.Object
	switch {
	case goja.IsString(v):
		code = v.String()
	default:
		o, ok := v.(*goja.Object)
		if !ok {
			r.throw("TypeError", "%s needs the object entra.deviceCode() returned (or its device_code)", what)
		}
		obj = o
		code = optString(o, "device_code")
	}
	if code == "" {
		r.throw("TypeError", "%s: the device code object has no device_code", what)
	}
	if st, ok := r.deviceCodes[code]; ok {
		return st
	}
	// A code made elsewhere (a raw devicecode response): trust its fields, issued now.
	dc := &flow.DeviceCode{DeviceCode: code, IssuedAt: r.clock.Now(), ExpiresIn: 900, Interval: 5}
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
	r.scrub.Add(dc.DeviceCode, dc.UserCode)
	st := &deviceCodeState{dc: dc}
	r.deviceCodes[code] = st
	return st
}

func (r *rt) entraModule() *goja.Object {
	m := r.vm.NewObject()
	_ = m.Set("deviceCode", func(call goja.FunctionCall) goja.Value {
		r.needTest("entra.deviceCode")
		o := r.options(call.Argument(0), "entra.deviceCode", "scope", "clientId", "tenant")
		dc, err := r.entra.DeviceCode(r.ctx, flow.DeviceCodeRequest{Scope: optString(o, "scope"), ClientID: optString(o, "clientId"), Tenant: optString(o, "tenant")})
		if err != nil {
			r.throwErr("entra.deviceCode", err)
		}
		r.deviceCodes[dc.DeviceCode] = &deviceCodeState{dc: dc}
		return r.parseJSON(dc.Raw, "the device code response")
	})
	_ = m.Set("pollToken", func(call goja.FunctionCall) goja.Value {
		r.needTest("entra.pollToken")
		st := r.codeState(call.Argument(0), "entra.pollToken")
		r.options(call.Argument(1), "entra.pollToken")
		if st.token != nil {
			return st.token
		}
		return r.poll(st, nil)
	})
	_ = m.Set("signIn", func(call goja.FunctionCall) goja.Value {
		r.needTest("entra.signIn")
		st := r.codeState(call.Argument(0), "entra.signIn")
		o := r.options(call.Argument(1), "entra.signIn", "user", "deny", "afterPolls")
		return r.signIn(st, o)
	})
	_ = m.Set("refresh", func(call goja.FunctionCall) goja.Value {
		r.needTest("entra.refresh")
		rt := ""
		switch a := call.Argument(0); {
		case goja.IsString(a):
			rt = a.String()
		default:
			o, ok := a.(*goja.Object)
			if !ok {
				r.throw("TypeError", "entra.refresh needs a token response (from pollToken) or a refresh token string")
			}
			rt = optString(o, "refresh_token")
		}
		o := r.options(call.Argument(1), "entra.refresh", "scope", "clientId", "tenant")
		tok, err := r.entra.Refresh(r.ctx, rt, flow.RefreshRequest{Scope: optString(o, "scope"), ClientID: optString(o, "clientId"), Tenant: optString(o, "tenant")})
		if err != nil {
			r.throwErr("entra.refresh", err)
		}
		return r.parseJSON(tok.Raw, "the token response")
	})
	getDoc := func(what string, urlOf func(tenant string) string) func(goja.FunctionCall) goja.Value {
		return func(call goja.FunctionCall) goja.Value {
			r.needTest(what)
			o := r.options(call.Argument(0), what, "tenant")
			body, err := r.entra.GetJSON(r.ctx, urlOf(optString(o, "tenant")))
			if err != nil {
				r.throwErr(what, err)
			}
			return r.parseJSON(body, what)
		}
	}
	_ = m.Set("openidConfiguration", getDoc("entra.openidConfiguration", r.entra.OpenIDConfigurationURL))
	_ = m.Set("jwks", getDoc("entra.jwks", r.entra.JWKSURL))

	raw := r.vm.NewObject()
	for _, ep := range []string{"devicecode", "token"} {
		what := "entra.raw." + ep
		_ = raw.Set(ep, func(call goja.FunctionCall) goja.Value {
			r.needTest(what)
			form := r.formValues(call.Argument(0), what+"(form)")
			o := r.options(call.Argument(1), what, "tenant")
			resp, err := r.entra.PostForm(r.ctx, optString(o, "tenant"), ep, form)
			if err != nil {
				r.throwErr(what, err)
			}
			return r.responseObject("POST", resp)
		})
	}
	_ = m.Set("raw", raw)
	return m
}

// poll redeems a device code, reporting progress through onPoll.
func (r *rt) poll(st *deviceCodeState, onPoll func(flow.PollEvent)) goja.Value {
	tok, err := r.entra.PollToken(r.ctx, st.dc, flow.PollOptions{OnPoll: onPoll})
	if err != nil {
		r.throwErr("entra.pollToken", err)
	}
	st.token = r.parseJSON(tok.Raw, "the token response")
	return st.token
}

// signIn completes the user's side of the device flow. With a control API it approves,
// denies or arranges auto-approval through the mock; without one a person must sign in:
// Microsoft's message goes to RunOptions.Out with the time left, and the code is polled
// until they do (pollToken then returns that token at once).
func (r *rt) signIn(st *deviceCodeState, o *goja.Object) goja.Value {
	user := optString(o, "user")
	if user == "" {
		user = r.target.Entra.User
	}
	deny := optValue(o, "deny") != nil && optValue(o, "deny").ToBoolean()
	after := optValue(o, "afterPolls")
	if r.target.Control != nil {
		switch {
		case deny:
			r.controlJSON("entra", "POST", "/_mock/devicecodes/deny", map[string]any{"user_code": st.dc.UserCode})
		case after != nil:
			body := map[string]any{"after_polls": after.ToInteger()}
			if user != "" {
				body["user"] = user
			}
			r.controlJSON("entra", "POST", "/_mock/devicecodes/auto-approve", body)
		default:
			body := map[string]any{"user_code": st.dc.UserCode}
			if user != "" {
				body["user"] = user
			}
			r.controlJSON("entra", "POST", "/_mock/devicecodes/approve", body)
		}
		return goja.Undefined()
	}
	if deny || after != nil {
		r.throw("RequirementError", "entra.signIn with deny or afterPolls needs the mock control API, which target %q does not have; declare requires: [\"control\"] on the test", r.target.Name)
	}
	msg := st.dc.Message
	if msg == "" {
		msg = fmt.Sprintf("To sign in, open %s and enter the code %s.", st.dc.VerificationURI, st.dc.UserCode)
	}
	fmt.Fprintf(r.out, "\n%s\n", msg)
	fmt.Fprintf(r.out, "Waiting for sign-in (%s left)…\n", st.dc.ExpiresAt().Sub(r.clock.Now()).Round(time.Second))
	lastShown := time.Duration(-1)
	tok := r.poll(st, func(ev flow.PollEvent) {
		left := ev.Remaining.Truncate(time.Minute)
		if left != lastShown {
			lastShown = left
			fmt.Fprintf(r.out, "  still waiting: %s left\n", ev.Remaining.Round(time.Second))
		}
	})
	fmt.Fprintf(r.out, "Signed in.\n")
	return tok
}
