package veeam

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/vbharness/vbharness/mocks/keys"
)

// DefaultAuthority is the Entra origin assertions are verified against unless
// WithAuthority names another: the real Microsoft Entra ID.
const DefaultAuthority = "https://login.microsoftonline.com"

// Audiences of a Microsoft Graph access token (entra.md §5.1): the GUID form for bare or
// GUID-prefixed scopes, the URI form for https://graph.microsoft.com/… scopes.
const (
	graphAppID    = "00000003-0000-0000-c000-000000000000"
	graphResource = "https://graph.microsoft.com"
)

// The permissions the seed requires in the assertion's scp: one of each list.
var (
	directoryScopes = []string{"Directory.Read.All", "Directory.ReadWrite.All", "Directory.AccessAsUser.All"}
	userScopes      = []string{"User.Read", "User.ReadWrite", "User.ReadBasic.All", "User.Read.All", "User.ReadWrite.All"}
)

// operatorScope is the Restore Portal application's delegated scope (veeam.md §1.2,
// DOC-OPER: api://<appId>/access_as_user).
const operatorScope = "access_as_user"

const (
	// jwksMaxAge is how long fetched Entra keys are trusted before a full refetch:
	// Microsoft.IdentityModel's ConfigurationManager refreshes every 12 h [I: that Veeam
	// keeps the default].
	jwksMaxAge = 12 * time.Hour
	// missTTL is how long a kid that was still unknown after a refetch is remembered, so a
	// client retrying one bad token does not make the server refetch every time.
	missTTL = 5 * time.Minute
	// maxMisses bounds that memory.
	maxMisses = 256
	// maxDocBytes bounds an OpenID configuration or JWKS response.
	maxDocBytes = 1 << 20
)

// Sentinels of the Entra key fetch (wrapped with the URL and cause).
var (
	// ErrEntraDiscovery marks a failed OpenID configuration fetch.
	ErrEntraDiscovery = errors.New("entra discovery failed")
	// ErrEntraKeys marks a failed or unusable JWKS fetch.
	ErrEntraKeys = errors.New("entra signing keys unavailable")
)

// entraClaims are the claims the mock reads from an Entra access token (entra.md §5.1).
type entraClaims struct {
	jwt.RegisteredClaims
	TenantID          string `json:"tid"`
	Scope             string `json:"scp"`
	ObjectID          string `json:"oid"`
	UPN               string `json:"upn"`
	UniqueName        string `json:"unique_name"`
	PreferredUsername string `json:"preferred_username"`
	AppID             string `json:"appid"`
	AuthorizedParty   string `json:"azp"`
}

// clientApp is the application the token was issued to: appid in v1 tokens, azp in v2.
func (c *entraClaims) clientApp() string {
	if c.AppID != "" {
		return c.AppID
	}
	return c.AuthorizedParty
}

// userName is the signed-in user as the token names them.
func (c *entraClaims) userName() string {
	for _, v := range []string{c.UPN, c.PreferredUsername, c.UniqueName} {
		if v != "" {
			return v
		}
	}
	return ""
}

// hasScope reports whether scp holds any of want (case-insensitively, as Entra and
// MSAL compare scopes).
func (c *entraClaims) hasScope(want []string) bool {
	for _, s := range strings.Fields(c.Scope) {
		for _, w := range want {
			if strings.EqualFold(s, w) {
				return true
			}
		}
	}
	return false
}

// jwtHeader is the part of a JOSE header the mock looks at. jku, x5u and x5c are never
// read: keys come only from the configured authority's JWKS.
type jwtHeader struct {
	Alg   string          `json:"alg"`
	Kid   string          `json:"kid"`
	Nonce string          `json:"nonce"`
	Crit  json.RawMessage `json:"crit"`
}

// checkTimeClaims refuses a payload whose exp, nbf or iat is not a JSON number (RFC 7519
// §2 makes them NumericDates, and the JWT library would read "1700000000", a string, as
// one), or that names a claim the server reads in another case ("Exp").
func checkTimeClaims(payload string) error {
	raw, err := b64.DecodeString(strings.TrimRight(payload, "="))
	if err != nil {
		return nil // the parser reports it
	}
	var claims map[string]json.RawMessage
	if json.Unmarshal(raw, &claims) != nil {
		return nil // the parser reports it
	}
	// Claim names are case-sensitive (RFC 7519 §4, JSON member names), as .NET reads them,
	// but encoding/json fills entraClaims' fields from a key of any case: "Exp" would count
	// as exp here and as no expiry at all on the real server. Entra never sends such names,
	// so a token that does is refused rather than read two ways.
	for key := range claims {
		for _, name := range readClaims {
			if key != name && strings.EqualFold(key, name) {
				return fmt.Errorf("its claim %q is %q in another case; JWT claim names are case-sensitive (RFC 7519 §4)", key, name)
			}
		}
	}
	for _, name := range []string{"exp", "nbf", "iat"} {
		v, ok := claims[name]
		if !ok {
			continue
		}
		var n json.Number
		if c := strings.TrimSpace(string(v)); c == "" || c[0] == '"' || json.Unmarshal(v, &n) != nil {
			return fmt.Errorf("its %s claim is %s, not a number of seconds (RFC 7519 NumericDate)", name, v)
		}
	}
	return nil
}

// readClaims are the claim names entraClaims reads (jwt.RegisteredClaims and its own).
var readClaims = []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti",
	"tid", "scp", "oid", "upn", "unique_name", "preferred_username", "appid", "azp"}

// entraKeys verifies Entra-issued access tokens. Keys are discovered per tenant through
// {authority}/{tenant}/v2.0/.well-known/openid-configuration → jwks_uri, fetched with
// the injected client, parsed once and cached. An unknown kid asks for a refetch, so
// Entra key rotation works, but as Microsoft.IdentityModel's ConfigurationManager does
// (RequestRefresh): at most one asked-for refetch per refreshInterval per tenant, on the
// mock clock; a kid still unknown after a refetch is remembered (misses), and that memory
// survives later refetches. No lock is held while a fetch is on the wire: requests with
// known kids never wait for one, and requests that need the keys being fetched wait for
// that one fetch. Safe for concurrent use.
type entraKeys struct {
	authority string
	client    *http.Client
	mut       Mutations // for testing the tests only

	mu      sync.Mutex
	tenants map[string]*tenantKeys
}

// tenantKeys is the cache of one tenant, guarded by mu (never held during a fetch).
type tenantKeys struct {
	mu        sync.Mutex
	jwksURI   string
	keys      map[string]*rsa.PublicKey
	fetched   time.Time
	requested time.Time // when an unknown kid last caused a refetch; zero: never
	misses    map[string]time.Time
	inflight  *keyFetch // the fetch on the wire, if any
}

// keyFetch is one fetch of a tenant's keys: done is closed when err is set.
type keyFetch struct {
	done chan struct{}
	err  error
}

func newEntraKeys(authority string, client *http.Client, mut Mutations) *entraKeys {
	return &entraKeys{authority: strings.TrimRight(authority, "/"), client: client, mut: mut, tenants: map[string]*tenantKeys{}}
}

func (e *entraKeys) reset() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.tenants = map[string]*tenantKeys{}
}

func (e *entraKeys) tenant(id string) *tenantKeys {
	e.mu.Lock()
	defer e.mu.Unlock()
	tk := e.tenants[id]
	if tk == nil {
		tk = &tenantKeys{misses: map[string]time.Time{}}
		e.tenants[id] = tk
	}
	return tk
}

// errUnknownKey marks a kid that is not in the tenant's JWKS even after a refetch.
var errUnknownKey = errors.New("unknown signing key")

// refreshInterval is the least time between two refetches that unknown kids ask for:
// Microsoft.IdentityModel's ConfigurationManager.DefaultRefreshInterval (5 minutes)
// [I: that Veeam keeps the default].
const refreshInterval = 5 * time.Minute

// key returns the public key with kid for tenant, fetching or refetching as needed.
func (e *entraKeys) key(ctx context.Context, tenant, kid string, now time.Time) (*rsa.PublicKey, error) {
	tk := e.tenant(tenant)
	tk.mu.Lock()
	for {
		stale := tk.keys == nil || now.Sub(tk.fetched) >= jwksMaxAge
		if k := tk.keys[kid]; k != nil && !stale { // known kids never wait for a fetch
			tk.mu.Unlock()
			return k, nil
		}
		if f := tk.inflight; f != nil { // wait for the fetch on the wire, then look again
			tk.mu.Unlock()
			select {
			case <-f.done:
			case <-ctx.Done():
				return nil, fmt.Errorf("%w: %w", ErrEntraKeys, ctx.Err())
			}
			if f.err != nil {
				return nil, f.err
			}
			tk.mu.Lock()
			if k := tk.keys[kid]; k != nil {
				tk.mu.Unlock()
				return k, nil
			}
			if !tk.requested.IsZero() && now.Sub(tk.requested) < refreshInterval {
				defer tk.mu.Unlock()
				return nil, tk.miss(kid, now)
			}
			continue
		}
		if !stale {
			if until, ok := tk.misses[kid]; ok && now.Before(until) {
				tk.mu.Unlock()
				return nil, errUnknownKey
			}
			if !tk.requested.IsZero() && now.Sub(tk.requested) < refreshInterval {
				defer tk.mu.Unlock()
				return nil, tk.miss(kid, now)
			}
			tk.requested = now
		}
		// Fetch, with the lock released; later callers wait for this fetch.
		f := &keyFetch{done: make(chan struct{})}
		tk.inflight = f
		jwksURI := tk.jwksURI
		tk.mu.Unlock()
		// The fetch serves every waiter: it outlives the client that started it.
		parsed, uri, err := e.fetch(context.WithoutCancel(ctx), tenant, jwksURI, stale)
		tk.mu.Lock()
		if err == nil {
			tk.keys, tk.fetched, tk.jwksURI = parsed, now, uri
			for k, until := range tk.misses { // keep the negative cache; drop what aged out
				if _, found := parsed[k]; found || !now.Before(until) {
					delete(tk.misses, k)
				}
			}
		}
		f.err = err
		tk.inflight = nil
		close(f.done)
		if err != nil {
			tk.mu.Unlock()
			return nil, err
		}
		if k := tk.keys[kid]; k != nil {
			tk.mu.Unlock()
			return k, nil
		}
		defer tk.mu.Unlock()
		return nil, tk.miss(kid, now)
	}
}

// miss remembers kid as unknown for missTTL and returns errUnknownKey. Called with mu
// held.
func (tk *tenantKeys) miss(kid string, now time.Time) error {
	if len(tk.misses) >= maxMisses {
		clear(tk.misses)
	}
	tk.misses[kid] = now.Add(missTTL)
	return errUnknownKey
}

// fetch loads a tenant's JWKS from jwksURI, running discovery first when asked to or
// when the jwks_uri is not known yet, and returns the parsed keys and the jwks_uri.
func (e *entraKeys) fetch(ctx context.Context, tenant, jwksURI string, discover bool) (map[string]*rsa.PublicKey, string, error) {
	if discover || jwksURI == "" {
		cfgURL := e.authority + "/" + url.PathEscape(tenant) + "/v2.0/.well-known/openid-configuration"
		var cfg struct {
			JWKSURI string `json:"jwks_uri"`
		}
		if err := e.getJSON(ctx, cfgURL, &cfg); err != nil {
			return nil, "", fmt.Errorf("%w: %s: %w", ErrEntraDiscovery, cfgURL, err)
		}
		u, err := url.Parse(cfg.JWKSURI)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, "", fmt.Errorf("%w: %s: jwks_uri %q is not an http(s) URL", ErrEntraDiscovery, cfgURL, cfg.JWKSURI)
		}
		jwksURI = cfg.JWKSURI
	}
	var set struct {
		Keys []keys.JWK `json:"keys"`
	}
	if err := e.getJSON(ctx, jwksURI, &set); err != nil {
		return nil, "", fmt.Errorf("%w: %s: %w", ErrEntraKeys, jwksURI, err)
	}
	parsed := make(map[string]*rsa.PublicKey, len(set.Keys))
	for _, j := range set.Keys {
		if j.Kid == "" || (j.Use != "" && j.Use != "sig") {
			continue
		}
		pub, err := j.PublicKey()
		if err != nil || pub.N.BitLen() < 2048 {
			continue // Entra publishes RSA-2048 keys only; skip anything else
		}
		parsed[j.Kid] = pub
	}
	if len(parsed) == 0 {
		return nil, "", fmt.Errorf("%w: %s has no usable RSA signing keys", ErrEntraKeys, jwksURI)
	}
	return parsed, jwksURI, nil
}

func (e *entraKeys) getJSON(ctx context.Context, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := e.client.Do(req)
	if err != nil {
		return fmt.Errorf("get: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocBytes+1))
	if err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	if len(body) > maxDocBytes {
		return fmt.Errorf("response is larger than %d bytes", maxDocBytes)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	return nil
}

// checkKid refuses key ids that could only be path or URL injection: Entra's are
// base64url thumbprints.
func checkKid(kid string) error {
	if kid == "" {
		return errors.New("has no kid header, so no Microsoft Entra ID key can verify it")
	}
	if len(kid) > 128 {
		return fmt.Errorf("has a kid header of %d characters; Microsoft Entra ID key ids are short base64url thumbprints", len(kid))
	}
	for i := 0; i < len(kid); i++ {
		c := kid[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '=' {
			continue
		}
		return fmt.Errorf("has a kid header %q with the character %q, which no Microsoft Entra ID key id contains", kid, c)
	}
	return nil
}

// verifyEntraToken checks an Entra access token's header, signature (against tenant's
// keys, unless claimsOnly) and exp/nbf on now. what names the token in messages. The
// caller checks tid, aud and scp.
func (e *entraKeys) verifyEntraToken(ctx context.Context, raw, tenant, what string, now time.Time, set Settings) (*entraClaims, *apiError) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, invalidGrant("%s is not a JWT: it has %d dot-separated parts, a signed JWT has 3.", what, len(parts))
	}
	hb, err := b64.DecodeString(strings.TrimRight(parts[0], "="))
	var h jwtHeader
	if err == nil {
		err = json.Unmarshal(hb, &h)
	}
	if err != nil {
		return nil, invalidGrant("%s is not a JWT: its header is not base64url-encoded JSON.", what)
	}
	if len(h.Crit) > 0 && string(h.Crit) != "null" {
		// RFC 7515 §4.1.11: a recipient must reject a JWS whose crit names extensions it
		// does not understand; the mock understands none, and Entra sends no crit.
		return nil, invalidGrant("%s has a crit header (%s): it names JWS extensions this server does not understand, and Microsoft Entra ID tokens carry none.", what, h.Crit)
	}
	if err := checkTimeClaims(parts[1]); err != nil {
		return nil, invalidGrant("%s is not valid: %v.", what, err)
	}
	switch {
	case h.Alg == "RS256":
	case strings.EqualFold(h.Alg, "none") && e.mut.AcceptUnsignedAssertions:
		set.ClaimsOnly = true
	case strings.EqualFold(h.Alg, "none"):
		return nil, invalidGrant("%s is unsigned (alg %q); Microsoft Entra ID signs access tokens with RS256.", what, h.Alg)
	case strings.HasPrefix(strings.ToUpper(h.Alg), "HS"):
		return nil, invalidGrant("%s is signed with an HMAC key (alg %q); only RS256 tokens signed by Microsoft Entra ID are accepted.", what, h.Alg)
	default:
		return nil, invalidGrant("%s is signed with alg %q; only RS256 tokens signed by Microsoft Entra ID are accepted.", what, h.Alg)
	}
	claims := &entraClaims{}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{"RS256"}),
		jwt.WithTimeFunc(func() time.Time { return now }),
		jwt.WithLeeway(time.Duration(set.AssertionClockSkew) * time.Second),
		jwt.WithExpirationRequired(),
	}
	if set.ClaimsOnly {
		if _, _, err := jwt.NewParser(opts...).ParseUnverified(raw, claims); err != nil {
			return nil, invalidGrant("%s is not a JWT: %v.", what, err)
		}
		err = jwt.NewValidator(opts...).Validate(claims)
	} else {
		if err := checkKid(h.Kid); err != nil {
			return nil, invalidGrant("%s %v.", what, err)
		}
		pub, kerr := e.key(ctx, tenant, h.Kid, now)
		switch {
		case errors.Is(kerr, errUnknownKey):
			return nil, invalidGrant("%s is signed with key %q, which is not among Microsoft Entra ID's signing keys for tenant %s (%s).", what, h.Kid, tenant, e.authority)
		case kerr != nil:
			return nil, invalidGrant("Microsoft Entra ID's signing keys for tenant %s could not be fetched, so %s cannot be verified: %v.", tenant, what, kerr)
		}
		_, err = jwt.NewParser(opts...).ParseWithClaims(raw, claims, func(*jwt.Token) (any, error) { return pub, nil })
	}
	switch {
	case err == nil:
		return claims, nil
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		msg := fmt.Sprintf("%s has a signature that does not verify with Microsoft Entra ID key %q.", what, h.Kid)
		if h.Nonce != "" {
			msg += " Its header carries a nonce, as Microsoft Graph tokens from the real Entra ID do; those verify only at Graph. Turn on the claimsOnly setting to accept them on their claims."
		}
		return nil, invalidGrant("%s", msg)
	case errors.Is(err, jwt.ErrTokenExpired):
		return nil, invalidGrant("%s expired at %s (the clock reads %s); get a new token from Microsoft Entra ID.", what, timeClaim(claims.ExpiresAt), now.UTC().Format(time.RFC3339))
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return nil, invalidGrant("%s has no exp claim.", what)
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return nil, invalidGrant("%s is not valid before %s (nbf; the clock reads %s).", what, timeClaim(claims.NotBefore), now.UTC().Format(time.RFC3339))
	case errors.Is(err, jwt.ErrTokenMalformed):
		return nil, invalidGrant("%s is not a JWT: %v.", what, err)
	default:
		return nil, invalidGrant("%s is not valid: %v.", what, err)
	}
}

func timeClaim(t *jwt.NumericDate) string {
	if t == nil {
		return "(none)"
	}
	return t.UTC().Format(time.RFC3339)
}

// isGraphAudience reports whether aud names Microsoft Graph.
func isGraphAudience(aud jwt.ClaimStrings) bool {
	for _, a := range aud {
		if strings.EqualFold(a, graphAppID) || strings.EqualFold(strings.TrimRight(a, "/"), graphResource) {
			return true
		}
	}
	return false
}
