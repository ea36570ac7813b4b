package engine

import (
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"

	"github.com/dop251/goja"
	"github.com/golang-jwt/jwt/v5"

	"github.com/vbharness/vbharness/engine/flow"
)

// moduleNames are the vbharness module's exports, in the order the .d.ts declares them.
var moduleNames = []string{
	"test", "beforeEach", "afterEach", "expect", "sleep",
	"entra", "veeam", "mock", "clock", "http", "jwt", "target", "env", "console",
	"AssertionError", "EntraError", "VeeamError", "TimeoutError", "RequirementError",
}

// contextNames are the members of the object a test function receives.
var contextNames = []string{"entra", "veeam", "mock", "clock", "http", "jwt", "target", "env", "console", "expect", "sleep"}

// buildModule assembles the vbharness module of a runtime.
func (r *rt) buildModule() *goja.Object {
	m := r.vm.NewObject()
	clk := r.clockModule()
	set := map[string]any{
		"test":       r.testFunc(),
		"beforeEach": r.hookFunc(false),
		"afterEach":  r.hookFunc(true),
		"expect":     r.expectFunc(),
		"sleep":      clk.Get("sleep"),
		"entra":      r.entraModule(),
		"veeam":      r.veeamModule(),
		"mock":       r.mockModule(),
		"clock":      clk,
		"http":       r.httpModule(),
		"jwt":        r.jwtModule(),
		"target":     r.targetObject(),
		"env":        r.envObject(),
		"console":    r.vm.Get("console"),
	}
	for k, v := range r.errCtors {
		set[k] = v
	}
	for _, name := range moduleNames {
		_ = m.Set(name, set[name])
	}
	return m
}

// contextObject is what a test function and its hooks receive.
func (r *rt) contextObject(info TestInfo) *goja.Object {
	c := r.vm.NewObject()
	for _, k := range contextNames {
		_ = c.Set(k, r.exports.Get(k))
	}
	t := r.vm.NewObject()
	_ = t.Set("name", info.Name)
	_ = t.Set("file", info.File)
	tags := make([]any, len(info.Tags))
	for i, s := range info.Tags {
		tags[i] = s
	}
	_ = t.Set("tags", r.vm.NewArray(tags...))
	_ = c.Set("test", t)
	return c
}

func (r *rt) clockModule() *goja.Object {
	m := r.vm.NewObject()
	_ = m.Set("now", func(goja.FunctionCall) goja.Value { return r.vm.ToValue(r.clock.Now().UnixMilli()) })
	_ = m.Set("isVirtual", func(goja.FunctionCall) goja.Value { return r.vm.ToValue(r.clock.IsVirtual()) })
	_ = m.Set("advance", func(call goja.FunctionCall) goja.Value {
		r.needTest("clock.advance")
		d := r.duration(call.Argument(0), "clock.advance(duration)")
		switch {
		case r.target.Kind == TargetMock:
			// The in-process stack shares this very clock with its servers.
			r.clock.Advance(d)
		case r.target.Control != nil:
			// A standalone `vbharness mock` has one clock for both servers; move it, then
			// move our own view of time by the same amount.
			r.controlJSON("entra", "POST", "/_mock/clock/advance", map[string]string{"duration": d.String()})
			r.clock.Advance(d)
		default:
			r.throw("RequirementError", "clock.advance needs a controllable clock, which target %q does not have; declare requires: [\"clock\"] on the test so the runner skips it on live targets", r.target.Name)
		}
		return r.vm.ToValue(r.clock.Now().UnixMilli())
	})
	_ = m.Set("sleep", func(call goja.FunctionCall) goja.Value {
		r.needTest("sleep")
		d := r.duration(call.Argument(0), "sleep(duration)")
		if err := r.clock.Sleep(r.ctx, d); err != nil {
			r.throwErr("sleep", err)
		}
		r.checkCtx("sleep")
		return goja.Undefined()
	})
	return m
}

func (r *rt) targetObject() *goja.Object {
	o := r.vm.NewObject()
	t := r.target
	if t == nil {
		return o
	}
	_ = o.Set("name", t.Name)
	_ = o.Set("kind", string(t.Kind))
	e := r.vm.NewObject()
	_ = e.Set("authority", t.Entra.Authority)
	_ = e.Set("tenant", t.Entra.Tenant)
	_ = e.Set("clientId", firstNonEmpty(t.Entra.ClientID, flow.DefaultClientID))
	_ = e.Set("scope", firstNonEmpty(t.Entra.Scope, flow.DefaultScope))
	_ = e.Set("user", t.Entra.User)
	_ = o.Set("entra", e)
	v := r.vm.NewObject()
	_ = v.Set("url", t.Veeam.URL)
	_ = v.Set("organization", firstNonEmpty(t.Veeam.Organization, t.Entra.Tenant))
	_ = v.Set("adminUser", t.Veeam.AdminUser)
	_ = o.Set("veeam", v)
	_ = o.Set("control", t.Control != nil)
	_ = o.Set("virtualClock", r.clock.IsVirtual())
	settings := r.vm.NewObject()
	if len(t.Settings) > 0 {
		if b, err := json.Marshal(t.Settings); err == nil {
			if so, ok := r.parseJSON(b, "target settings").(*goja.Object); ok {
				settings = so
			}
		}
	}
	_ = o.Set("settings", settings)
	return o
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func (r *rt) envObject() *goja.Object {
	o := r.vm.NewObject()
	if r.target != nil {
		for k, v := range r.target.Env {
			_ = o.Set(k, v)
		}
	}
	return o
}

// ---- jwt

func decodeSegment(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

func (r *rt) jwtModule() *goja.Object {
	m := r.vm.NewObject()
	_ = m.Set("decode", func(call goja.FunctionCall) goja.Value {
		if !goja.IsString(call.Argument(0)) {
			r.throw("TypeError", "jwt.decode needs a token string, got %s", r.formatCompact(call.Argument(0), 40))
		}
		tok := call.Argument(0).String()
		parts := strings.Split(tok, ".")
		if len(parts) != 3 {
			r.throw("Error", "jwt.decode: not a JWT (%d dot-separated parts, want 3)", len(parts))
		}
		o := r.vm.NewObject()
		for i, name := range []string{"header", "payload"} {
			b, err := decodeSegment(parts[i])
			if err != nil {
				r.throw("Error", "jwt.decode: the %s is not base64url: %v", name, err)
			}
			_ = o.Set(name, r.parseJSON(b, "jwt.decode: the "+name))
		}
		_ = o.Set("signature", parts[2])
		return o
	})
	_ = m.Set("verify", func(call goja.FunctionCall) goja.Value {
		r.needTest("jwt.verify")
		tok := call.Argument(0).String()
		o := r.options(call.Argument(1), "jwt.verify", "jwksUrl", "issuer", "audience")
		jwksURL, issuer, aud := optString(o, "jwksUrl"), optString(o, "issuer"), optString(o, "audience")
		if jwksURL == "" && issuer == "" {
			r.throw("TypeError", "jwt.verify(token, {jwksUrl | issuer}) needs where the keys are")
		}
		if jwksURL == "" {
			conf, err := flow.GetJSON(r.ctx, r.http, strings.TrimRight(issuer, "/")+"/.well-known/openid-configuration")
			if err != nil {
				r.throwErr("jwt.verify: discovery", err)
			}
			var c struct {
				JWKSURI string `json:"jwks_uri"`
			}
			if json.Unmarshal(conf, &c) != nil || c.JWKSURI == "" {
				r.throw("Error", "jwt.verify: the openid-configuration of %s has no jwks_uri", issuer)
			}
			jwksURL = c.JWKSURI
		}
		keys := r.jwks(jwksURL)
		opts := []jwt.ParserOption{
			jwt.WithValidMethods([]string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}),
			jwt.WithTimeFunc(r.clock.Now),
			jwt.WithExpirationRequired(),
		}
		if issuer != "" {
			opts = append(opts, jwt.WithIssuer(issuer))
		}
		if aud != "" {
			opts = append(opts, jwt.WithAudience(aud))
		}
		_, err := jwt.NewParser(opts...).Parse(tok, func(t *jwt.Token) (any, error) {
			kid, _ := t.Header["kid"].(string)
			if k, ok := keys[kid]; ok {
				return k, nil
			}
			if kid == "" && len(keys) == 1 {
				for _, k := range keys {
					return k, nil
				}
			}
			return nil, fmt.Errorf("no key with kid %q at %s", kid, jwksURL)
		})
		if err != nil {
			r.throw("Error", "jwt.verify: %v", err)
		}
		payload, derr := decodeSegment(strings.Split(tok, ".")[1])
		if derr != nil {
			r.throw("Error", "jwt.verify: %v", derr)
		}
		return r.parseJSON(payload, "jwt.verify: the payload")
	})
	return m
}

// jwks fetches (once per runtime) and parses a JWKS document into RSA keys by kid.
func (r *rt) jwks(u string) map[string]*rsa.PublicKey {
	body, ok := r.jwksCache[u]
	if !ok {
		b, err := flow.GetJSON(r.ctx, r.http, u)
		if err != nil {
			r.throwErr("jwt.verify: keys", err)
		}
		body = b
		r.jwksCache[u] = body
	}
	var doc struct {
		Keys []struct {
			Kty string `json:"kty"`
			Kid string `json:"kid"`
			N   string `json:"n"`
			E   string `json:"e"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		r.throw("Error", "jwt.verify: %s is not a JWKS document: %v", u, err)
	}
	out := map[string]*rsa.PublicKey{}
	for _, k := range doc.Keys {
		if k.Kty != "RSA" {
			continue
		}
		n, err1 := decodeSegment(k.N)
		e, err2 := decodeSegment(k.E)
		if err1 != nil || err2 != nil {
			continue
		}
		out[k.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	}
	return out
}
