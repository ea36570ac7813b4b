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

// jwtModule is `jwt`: decoding and verifying JSON Web Tokens. It fetches each JWKS
// document once per test.
type jwtModule struct {
	*host
	jwksCache map[string][]byte // JWKS URL → the document
}

func newJWT(h *host) goja.Value {
	m := &jwtModule{host: h, jwksCache: map[string][]byte{}}
	return h.object(
		member{"decode", m.decode},
		member{"verify", m.verify},
	)
}

func decodeSegment(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

func (m *jwtModule) decode(call goja.FunctionCall) goja.Value {
	if !goja.IsString(call.Argument(0)) {
		m.throw("TypeError", "jwt.decode needs a token string, got %s", m.formatCompact(call.Argument(0), 40))
	}
	tok := call.Argument(0).String()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		m.throw("Error", "jwt.decode: not a JWT (%d dot-separated parts, want 3)", len(parts))
	}
	o := m.vm.NewObject()
	for i, name := range []string{"header", "payload"} {
		b, err := decodeSegment(parts[i])
		if err != nil {
			m.throw("Error", "jwt.decode: the %s is not base64url: %v", name, err)
		}
		_ = o.Set(name, m.parseJSON(b, "jwt.decode: the "+name))
	}
	_ = o.Set("signature", parts[2])
	return o
}

func (m *jwtModule) verify(call goja.FunctionCall) goja.Value {
	m.needTest("jwt.verify")
	tok := call.Argument(0).String()
	o := m.options(call.Argument(1), "jwt.verify", "jwksUrl", "issuer", "audience")
	jwksURL, issuer, aud := optString(o, "jwksUrl"), optString(o, "issuer"), optString(o, "audience")
	if jwksURL == "" && issuer == "" {
		m.throw("TypeError", "jwt.verify(token, {jwksUrl | issuer}) needs where the keys are")
	}
	if jwksURL == "" {
		conf, err := flow.GetJSON(m.ctx, m.http, strings.TrimRight(issuer, "/")+"/.well-known/openid-configuration")
		if err != nil {
			m.throwErr("jwt.verify: discovery", err)
		}
		var c struct {
			JWKSURI string `json:"jwks_uri"`
		}
		if json.Unmarshal(conf, &c) != nil || c.JWKSURI == "" {
			m.throw("Error", "jwt.verify: the openid-configuration of %s has no jwks_uri", issuer)
		}
		jwksURL = c.JWKSURI
	}
	keys := m.jwks(jwksURL)
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}),
		jwt.WithTimeFunc(m.clock.Now),
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
		m.throw("Error", "jwt.verify: %v", err)
	}
	payload, derr := decodeSegment(strings.Split(tok, ".")[1])
	if derr != nil {
		m.throw("Error", "jwt.verify: %v", derr)
	}
	return m.parseJSON(payload, "jwt.verify: the payload")
}

// jwks fetches (once per runtime) and parses a JWKS document into RSA keys by kid.
func (m *jwtModule) jwks(u string) map[string]*rsa.PublicKey {
	body, ok := m.jwksCache[u]
	if !ok {
		b, err := flow.GetJSON(m.ctx, m.http, u)
		if err != nil {
			m.throwErr("jwt.verify: keys", err)
		}
		body = b
		m.jwksCache[u] = body
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
		m.throw("Error", "jwt.verify: %s is not a JWKS document: %v", u, err)
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
