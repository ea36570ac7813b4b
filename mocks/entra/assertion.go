package entra

import (
	"bytes"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Client assertions (RFC 7523 §2.2, §3) as Entra checks them for certificate
// credentials (modern-app-only.md §1.2, §1.8). parseClientAssertion only decodes;
// verifyAssertion checks, in §1.8's order: the thumbprint names a registered
// certificate, the credential is within its validity, the signature verifies with
// RS256 or PS256, iss == sub == client_id, aud is this tenant's token endpoint, the
// assertion is within its time range, and (when the setting asks) its jti is new.

// clientAssertionType is the only client_assertion_type Entra accepts (RFC 7523 §2.2).
const clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// maxAssertionLen bounds what the parser decodes; MSAL's assertions are about 1 KB,
// with x5c about 3 KB.
const maxAssertionLen = 16 << 10

// assertionSkew is the clock skew allowed on nbf and exp [I: Entra's is not published;
// five minutes is Microsoft.IdentityModel's default].
const assertionSkew = 5 * time.Minute

// clientAssertion is a decoded, unverified client assertion.
type clientAssertion struct {
	signing   string // header.payload, what the signature covers
	sig       []byte
	alg       string
	thumb     []byte // the decoded x5t#S256 (preferred) or x5t
	thumbText string // the thumbprint as the header gave it
	iss, sub  string
	jti       string
	aud       []string
	exp, nbf  *int64 // seconds since the epoch; nil when absent
}

// thumbHex is the thumbprint as Entra prints it in AADSTS700027: upper-case hex [R for
// SHA-1; for x5t#S256 the format is [?]].
func (a *clientAssertion) thumbHex() string {
	if a.thumb == nil {
		return a.thumbText
	}
	return strings.ToUpper(hex.EncodeToString(a.thumb))
}

// parseClientAssertion decodes a compact JWS: three base64url parts, a JSON header
// with alg and a thumbprint (x5t#S256 or x5t, base64url or standard base64, with or
// without padding: MSAL for Go sends standard base64 with padding), and JSON claims
// whose aud is a string or an array of strings and whose exp and nbf are numbers. It
// checks nothing else; errors are AADSTS50027.
func parseClientAssertion(raw string) (*clientAssertion, *oauthError) {
	if len(raw) > maxAssertionLen {
		return nil, errMalformedJWT()
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, errMalformedJWT()
	}
	hb, err1 := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[0], "="))
	pb, err2 := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	sig, err3 := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[2], "="))
	if err1 != nil || err2 != nil || err3 != nil {
		return nil, errMalformedJWT()
	}
	var header map[string]any
	var claims map[string]json.RawMessage
	if !decodeObject(hb, &header) || !decodeObject(pb, &claims) || header == nil || claims == nil {
		return nil, errMalformedJWT()
	}
	a := &clientAssertion{signing: parts[0] + "." + parts[1], sig: sig}
	a.alg, _ = header["alg"].(string)
	for _, name := range []string{"x5t#S256", "x5t"} {
		if v, ok := header[name].(string); ok && v != "" {
			a.thumbText = v
			a.thumb = decodeThumbprint(v)
			break
		}
	}
	if a.thumbText == "" {
		return nil, errNoThumbprint()
	}
	for _, c := range []struct {
		name string
		dst  *string
	}{{"iss", &a.iss}, {"sub", &a.sub}, {"jti", &a.jti}} {
		if v, ok := claims[c.name]; ok && json.Unmarshal(v, c.dst) != nil {
			return nil, errMalformedJWT()
		}
	}
	if v, ok := claims["aud"]; ok {
		var one string
		if json.Unmarshal(v, &one) == nil {
			a.aud = []string{one}
		} else if json.Unmarshal(v, &a.aud) != nil {
			return nil, errMalformedJWT()
		}
	}
	for _, c := range []struct {
		name string
		dst  **int64
	}{{"exp", &a.exp}, {"nbf", &a.nbf}} {
		v, ok := claims[c.name]
		if !ok || string(v) == "null" {
			continue
		}
		var f float64
		if json.Unmarshal(v, &f) != nil || math.IsNaN(f) || f < 0 || f > 1e11 {
			return nil, errMalformedJWT()
		}
		n := int64(f)
		*c.dst = &n
	}
	return a, nil
}

// decodeObject decodes a JSON object, refusing trailing data.
func decodeObject(b []byte, v any) bool {
	dec := json.NewDecoder(bytes.NewReader(b))
	if dec.Decode(v) != nil {
		return false
	}
	_, err := dec.Token()
	return err == io.EOF
}

// decodeThumbprint accepts base64url and standard base64, padded or not; nil when the
// value is neither.
func decodeThumbprint(s string) []byte {
	t := strings.NewReplacer("-", "+", "_", "/").Replace(strings.TrimRight(s, "="))
	b, err := base64.RawStdEncoding.DecodeString(t)
	if err != nil {
		return nil
	}
	return b
}

// assertionCheck is what verifyAssertion needs besides the assertion.
type assertionCheck struct {
	app       *App
	tenant    *Tenant // nil on common or organizations
	seg       string  // the tenant path segment as sent
	origin    string  // the mock's public origin
	now       time.Time
	rejectJTI bool
	jtis      *jtiCache
}

// verifyAssertion checks a in modern-app-only.md §1.8's order (steps 4–8) and returns
// the certificate that signed it.
func verifyAssertion(a *clientAssertion, c assertionCheck) (*Certificate, *oauthError) {
	var cert *Certificate
	for i := range c.app.Certificates {
		if c.app.Certificates[i].matches(a.thumb) {
			cert = &c.app.Certificates[i]
			break
		}
	}
	if cert == nil {
		return nil, errKeyNotFound(c.app.ClientID, a.thumbHex())
	}
	if credentialState(cert.start(), cert.end(), c.now) != CredentialValid {
		return nil, errCertOutsideValidity(a.thumbHex(), cert.start(), cert.end())
	}
	pub, _ := cert.Cert.PublicKey.(*rsa.PublicKey)
	var method jwt.SigningMethod
	switch a.alg {
	case "RS256":
		method = jwt.SigningMethodRS256
	case "PS256":
		method = jwt.SigningMethodPS256 // verifies with PSSSaltLengthAuto: any salt length
	}
	if method == nil || pub == nil || method.Verify(a.signing, a.sig, pub) != nil {
		return nil, errBadSignature(c.app.ClientID, a.thumbHex(), cert.start(), cert.end())
	}
	if a.iss != a.sub {
		return nil, errSubjectMismatch()
	}
	if !strings.EqualFold(a.iss, c.app.ClientID) {
		return nil, errAssertionAppMismatch()
	}
	if len(a.aud) > 1 {
		return nil, errTooManyAudiences(len(a.aud))
	}
	if len(a.aud) == 0 || !c.audienceOK(a.aud[0]) {
		return nil, errAssertionAudience()
	}
	nbf := time.Unix(0, 0).UTC()
	if a.nbf != nil {
		nbf = time.Unix(*a.nbf, 0).UTC()
	}
	exp := time.Unix(0, 0).UTC()
	if a.exp != nil {
		exp = time.Unix(*a.exp, 0).UTC()
	}
	if a.exp == nil || c.now.Add(assertionSkew).Before(nbf) || !c.now.Add(-assertionSkew).Before(exp) {
		return nil, errAssertionTime(c.now, nbf, exp)
	}
	if c.rejectJTI && !c.jtis.first(c.app.ClientID, a.jti, exp.Add(assertionSkew), c.now) {
		return nil, errAssertionReplayed(a.jti)
	}
	return cert, nil
}

// audienceOK reports whether aud is this tenant's token endpoint on the mock's origin:
// by GUID, domain or the path segment as sent, on the v2 or the v1 path
// (modern-app-only.md §1.2 [I: accept all four]).
func (c assertionCheck) audienceOK(aud string) bool {
	segs := []string{c.seg}
	if c.tenant != nil {
		segs = append(segs, c.tenant.ID, c.tenant.Domain)
	}
	for _, seg := range segs {
		for _, p := range []string{"/oauth2/v2.0/token", "/oauth2/token"} {
			if strings.EqualFold(aud, c.origin+"/"+seg+p) {
				return true
			}
		}
	}
	return false
}

// MaxRememberedJTIs bounds the replay cache of the strict jti setting; past it the
// entry that expires soonest is dropped first.
const MaxRememberedJTIs = 10000

// jtiCache remembers the jti of every accepted assertion until the assertion expires,
// for Assumptions.AssertionJTIReuse == "reject". Safe for concurrent use.
type jtiCache struct {
	mu   sync.Mutex
	seen map[string]time.Time // client id + "|" + jti → when it may be forgotten
}

func newJTICache() *jtiCache { return &jtiCache{seen: map[string]time.Time{}} }

// first records jti for clientID until forget and reports whether it was new. An empty
// jti is never new: RFC 7523 §3 makes jti optional, but a replay check needs one.
func (c *jtiCache) first(clientID, jti string, forget, now time.Time) bool {
	if jti == "" {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	key := strings.ToLower(clientID) + "|" + jti
	if until, ok := c.seen[key]; ok && now.Before(until) {
		return false
	}
	if len(c.seen) >= MaxRememberedJTIs {
		c.evict(now)
	}
	c.seen[key] = forget
	return true
}

// evict forgets expired entries and, if the cache is still full, the one that expires
// soonest. Callers hold c.mu.
func (c *jtiCache) evict(now time.Time) {
	for k, until := range c.seen {
		if !now.Before(until) {
			delete(c.seen, k)
		}
	}
	for len(c.seen) >= MaxRememberedJTIs {
		var first string
		for k, until := range c.seen {
			if first == "" || until.Before(c.seen[first]) {
				first = k
			}
		}
		delete(c.seen, first)
	}
}

func (c *jtiCache) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen = map[string]time.Time{}
}
