package entra

import (
	"cmp"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/vbharness/vbharness/mocks/keys"
)

// Token minting. JWTs are assembled by hand so the header and claims keep Entra's key
// order (entra.md §5), and signed with keys.Key.SignRS256. The access token's header
// carries a nonce like real Graph tokens, but the mock signs the header as sent, so
// the token verifies against the published JWKS (real Graph tokens do not, by design;
// no client checks).

// clockSkew is how far Entra back-dates iat and nbf (entra.md §5.1: iat = nbf = issue
// time − 300 s).
const clockSkew = 300 * time.Second

// expiresInSlack is how much longer than expires_in an access token lives: the
// captures show expires_in 3599 with exp − iat = 3900, that is 3599 + 300 + 1
// (entra.md §5.1; modern-app-only.md §1.6 "expires_in 3599 + 301"). So exp is now +
// expires_in + 1 s, and expires_in reads as the whole seconds left after the second of
// issue. That the second holds for other lifetimes is [I].
const expiresInSlack = time.Second

// accessExpiry is the exp of an access token issued at now with expires_in lifetime.
func accessExpiry(now time.Time, lifetime time.Duration) int64 {
	return now.Add(lifetime + expiresInSlack).Unix()
}

// idTokenLifetime is the id token's exp − iat (3900 s in every capture: one hour plus
// the back-dating).
const idTokenLifetime = 3900 * time.Second

// defaultUserRole is the wids entry every member user has ("User" role template).
const defaultUserRole = "b79fbf4d-3ef9-4689-8143-76b194e85509"

// appWids is the wids entry of every app-only capture; its meaning is [?]
// (modern-app-only.md §1.6), copied for realism.
const appWids = "0997a1d0-0d1d-4acb-b408-d5ca73121e90"

// appidacr values: how the client authenticated (MS-CLAIMS [C]).
const (
	appidacrPublic      = "0"
	appidacrSecret      = "1"
	appidacrCertificate = "2"
)

// accessHeader is a v1 access token's header. Only Graph tokens carry a nonce
// (entra.md §5.1).
type accessHeader struct {
	Typ   string `json:"typ"`
	Nonce string `json:"nonce,omitempty"`
	Alg   string `json:"alg"`
	X5t   string `json:"x5t"`
	Kid   string `json:"kid"`
}

type idHeader struct {
	Typ string `json:"typ"`
	Alg string `json:"alg"`
	Kid string `json:"kid"`
}

// userAccessClaims are a v1 Graph access token's claims in Entra's order.
type userAccessClaims struct {
	Aud            string   `json:"aud"`
	Iss            string   `json:"iss"`
	Iat            int64    `json:"iat"`
	Nbf            int64    `json:"nbf"`
	Exp            int64    `json:"exp"`
	Acct           int      `json:"acct"`
	Acr            string   `json:"acr"`
	Aio            string   `json:"aio"`
	Amr            []string `json:"amr"`
	AppDisplayName string   `json:"app_displayname"`
	AppID          string   `json:"appid"`
	AppIDAcr       string   `json:"appidacr"`
	IDTyp          string   `json:"idtyp"`
	IPAddr         string   `json:"ipaddr,omitempty"`
	Name           string   `json:"name"`
	OID            string   `json:"oid"`
	RH             string   `json:"rh"`
	Scp            string   `json:"scp"`
	Sub            string   `json:"sub"`
	TID            string   `json:"tid"`
	UniqueName     string   `json:"unique_name"`
	UPN            string   `json:"upn"`
	UTI            string   `json:"uti"`
	Ver            string   `json:"ver"`
	Wids           []string `json:"wids"`
}

// userAccessClaimsV2 are a v2 access token's claims (an API with AccessTokenVersion
// 2) in the order of the access-token claims reference's v2 example [I: that example
// is not in the shared reference; modern-app-only.md §1.6 names the differences: the
// v2 issuer, azp and azpacr instead of appid and appidacr, aud the API's client id].
type userAccessClaimsV2 struct {
	Aud               string `json:"aud"`
	Iss               string `json:"iss"`
	Iat               int64  `json:"iat"`
	Nbf               int64  `json:"nbf"`
	Exp               int64  `json:"exp"`
	Aio               string `json:"aio"`
	Azp               string `json:"azp"`
	AzpAcr            string `json:"azpacr"`
	Name              string `json:"name"`
	OID               string `json:"oid"`
	PreferredUsername string `json:"preferred_username"`
	RH                string `json:"rh"`
	Scp               string `json:"scp"`
	Sub               string `json:"sub"`
	TID               string `json:"tid"`
	UTI               string `json:"uti"`
	Ver               string `json:"ver"`
}

// appAccessClaims are an app-only (client_credentials) token's claims in the order of
// the real capture (modern-app-only.md §1.6), without the opaque xms_* claims.
type appAccessClaims struct {
	Aud            string   `json:"aud"`
	Iss            string   `json:"iss"`
	Iat            int64    `json:"iat"`
	Nbf            int64    `json:"nbf"`
	Exp            int64    `json:"exp"`
	Aio            string   `json:"aio"`
	AppDisplayName string   `json:"app_displayname"`
	AppID          string   `json:"appid"`
	AppIDAcr       string   `json:"appidacr"`
	IDP            string   `json:"idp"`
	IDTyp          string   `json:"idtyp"`
	OID            string   `json:"oid"`
	RH             string   `json:"rh"`
	Roles          []string `json:"roles,omitempty"`
	Sub            string   `json:"sub"`
	TID            string   `json:"tid"`
	UTI            string   `json:"uti"`
	Ver            string   `json:"ver"`
	Wids           []string `json:"wids"`
}

// idClaims are a v2 id token's claims in Entra's order.
type idClaims struct {
	Aud               string `json:"aud"`
	Iss               string `json:"iss"`
	Iat               int64  `json:"iat"`
	Nbf               int64  `json:"nbf"`
	Exp               int64  `json:"exp"`
	Email             string `json:"email,omitempty"`
	Name              string `json:"name"`
	OID               string `json:"oid"`
	PreferredUsername string `json:"preferred_username"`
	RH                string `json:"rh"`
	Sub               string `json:"sub"`
	TID               string `json:"tid"`
	UTI               string `json:"uti"`
	Ver               string `json:"ver"`
}

// signJWT encodes header and claims (unpadded base64url, as MSAL requires) and signs
// them with k. The token is built in one buffer sized for it: a token response's
// garbage is mostly its tokens, and less garbage is fewer collections under load.
func signJWT(k *keys.Key, header, claims any) (string, error) {
	h, err := json.Marshal(header)
	if err != nil {
		return "", fmt.Errorf("encode jwt header: %w", err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("encode jwt claims: %w", err)
	}
	enc := base64.RawURLEncoding
	buf := make([]byte, 0, enc.EncodedLen(len(h))+1+enc.EncodedLen(len(c))+1+enc.EncodedLen(k.Private.Size()))
	buf = enc.AppendEncode(buf, h)
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, c)
	sig, err := k.SignRS256(buf)
	if err != nil {
		return "", fmt.Errorf("sign jwt: %w", err)
	}
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, sig)
	return string(buf), nil
}

// v1Issuer is the issuer of v1 access tokens (entra.md §5.1).
func v1Issuer(tid string) string { return "https://sts.windows.net/" + tid + "/" }

// pairwiseSub derives the per-application subject Entra puts in sub: stable for a
// (user, app, tenant), 43 base64url characters.
func pairwiseSub(oid, clientID, tid string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(oid + "|" + clientID + "|" + tid)))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// derivedGUID makes a stable GUID from parts (a service principal's object id).
func derivedGUID(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.Join(parts, "|"))))
	var b [16]byte
	copy(b[:], sum[:16])
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	return formatGUID(b)
}

// userTokens is everything needed to mint a user's token response.
type userTokens struct {
	now      time.Time
	origin   string
	tenant   *Tenant
	user     *User
	app      *App
	grant    grant
	lifetime time.Duration
	aud      string
	ipaddr   string
	idToken  bool   // openid was requested
	email    bool   // email was requested
	appidacr string // how the client authenticated (appidacrPublic if empty)
	// uti is the token identifier the access and id tokens of one response share, as
	// the capture's do (entra.md §5.1, §5.2: both "CDBY-t84gkC-sS7UKvKWAA").
	uti string
}

// mintAccess returns the user's access token for the grant's resource: v1, with a
// header nonce for Graph only; v2 for an API that accepts v2 tokens.
func mintAccess(k *keys.Key, t userTokens) (string, error) {
	iat := t.now.Add(-clockSkew).Unix()
	sub := pairwiseSub(t.user.ObjectID, t.app.ClientID, t.tenant.ID)
	if t.grant.res.version == 2 {
		// The v2 header has no x5t (entra.md §5.1: x5t is v1 only).
		return signJWT(k, idHeader{Typ: "JWT", Alg: "RS256", Kid: k.KID}, userAccessClaimsV2{
			Aud: t.aud, Iss: t.origin + "/" + t.tenant.ID + "/v2.0",
			Iat: iat, Nbf: iat, Exp: accessExpiry(t.now, t.lifetime),
			Aio: randomToken(48), Azp: t.app.ClientID, AzpAcr: cmp.Or(t.appidacr, appidacrPublic),
			Name: t.user.DisplayName, OID: t.user.ObjectID, PreferredUsername: t.user.UPN,
			RH: "0.A" + randomToken(36), Scp: t.grant.scp, Sub: sub, TID: t.tenant.ID, UTI: t.uti, Ver: "2.0",
		})
	}
	nonce := ""
	if t.grant.res.graph {
		nonce = randomToken(32)
	}
	return signJWT(k, accessHeader{Typ: "JWT", Nonce: nonce, Alg: "RS256", X5t: k.KID, Kid: k.KID}, userAccessClaims{
		Aud: t.aud, Iss: v1Issuer(t.tenant.ID),
		Iat: iat, Nbf: iat, Exp: accessExpiry(t.now, t.lifetime),
		Acct: 0, Acr: "1", Aio: randomToken(48), Amr: []string{"pwd"},
		AppDisplayName: t.app.DisplayName, AppID: t.app.ClientID, AppIDAcr: cmp.Or(t.appidacr, appidacrPublic),
		IDTyp: "user", IPAddr: t.ipaddr, Name: t.user.DisplayName, OID: t.user.ObjectID,
		RH: "0.A" + randomToken(36), Scp: t.grant.scp,
		Sub: sub, TID: t.tenant.ID,
		UniqueName: t.user.UPN, UPN: t.user.UPN, UTI: t.uti, Ver: "1.0",
		Wids: t.user.wids(),
	})
}

// mintID returns a v2 id token for the user (aud is the client).
func mintID(k *keys.Key, t userTokens) (string, error) {
	iat := t.now.Add(-clockSkew).Unix()
	c := idClaims{
		Aud: t.app.ClientID, Iss: t.origin + "/" + t.tenant.ID + "/v2.0",
		Iat: iat, Nbf: iat, Exp: iat + int64(idTokenLifetime/time.Second),
		Name: t.user.DisplayName, OID: t.user.ObjectID, PreferredUsername: t.user.UPN,
		RH:  "0.A" + randomToken(36),
		Sub: pairwiseSub(t.user.ObjectID, t.app.ClientID, t.tenant.ID), TID: t.tenant.ID,
		UTI: t.uti, Ver: "2.0",
	}
	if t.email {
		c.Email = t.user.UPN
	}
	return signJWT(k, idHeader{Typ: "JWT", Alg: "RS256", Kid: k.KID}, c)
}

// appTokens is everything needed to mint an app-only access token.
type appTokens struct {
	now      time.Time
	tenant   *Tenant
	app      *App
	aud      string
	roles    []string // nil: no roles claim
	appidacr string   // appidacrSecret or appidacrCertificate
	lifetime time.Duration
}

// mintAppAccess returns an app-only access token (modern-app-only.md §1.6): v1, the
// service principal's object id as oid and sub, idtyp app, roles and no scp.
func mintAppAccess(k *keys.Key, t appTokens) (string, error) {
	iat := t.now.Add(-clockSkew).Unix()
	sp := servicePrincipalID(t.app.ClientID, t.tenant.ID)
	return signJWT(k, accessHeader{Typ: "JWT", Nonce: randomToken(32), Alg: "RS256", X5t: k.KID, Kid: k.KID}, appAccessClaims{
		Aud: t.aud, Iss: v1Issuer(t.tenant.ID), Iat: iat, Nbf: iat, Exp: accessExpiry(t.now, t.lifetime),
		Aio: randomToken(48), AppDisplayName: t.app.DisplayName, AppID: t.app.ClientID, AppIDAcr: t.appidacr,
		IDP: v1Issuer(t.tenant.ID), IDTyp: "app", OID: sp, RH: "1.A" + randomToken(36),
		Roles: t.roles, Sub: sp, TID: t.tenant.ID, UTI: randomToken(16), Ver: "1.0",
		Wids: []string{appWids},
	})
}

// clientInfo is base64url without padding of {"uid":…,"utid":…} (MSAL for Go rejects
// padding; entra.md §2).
func clientInfo(oid, tid string) string {
	b, _ := json.Marshal(struct {
		UID  string `json:"uid"`
		UTID string `json:"utid"`
	}{oid, tid})
	return base64.RawURLEncoding.EncodeToString(b)
}

// Refresh tokens are sealed, not stored: each is the AES-GCM encryption of the grant
// it stands for, under a key that lives only in this server (and changes on Reset).
// So every refresh can return a new token while the old stays valid (as Entra does),
// the "store" is bounded by construction, and a failed request cannot rotate
// anything. Revocation is a per-user epoch kept in the server's state.

// refreshPrefix starts every refresh token, like Entra's "0.A…" form.
const refreshPrefix = "0.A"

// refreshGrant is what a refresh token carries.
type refreshGrant struct {
	TID    string `json:"t"`
	OID    string `json:"o"`
	Client string `json:"c"`
	Scope  string `json:"s"`
	Issued int64  `json:"i"` // unix nanoseconds on the server clock
	Epoch  uint64 `json:"e"` // the user's revocation epoch when issued
}

// sealer seals and opens refresh tokens. Safe for concurrent use.
type sealer struct {
	aead cipher.AEAD
}

func newSealer() *sealer {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(fmt.Sprintf("entra: aes: %v", err)) // a 32-byte key cannot fail
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(fmt.Sprintf("entra: gcm: %v", err))
	}
	return &sealer{aead: aead}
}

func (s *sealer) seal(g refreshGrant) string {
	plain, _ := json.Marshal(g)
	nonce := make([]byte, s.aead.NonceSize())
	_, _ = rand.Read(nonce)
	out := s.aead.Seal(nonce, nonce, plain, []byte(refreshPrefix))
	return refreshPrefix + base64.RawURLEncoding.EncodeToString(out)
}

// open returns the grant inside tok, or false for anything this server did not seal.
func (s *sealer) open(tok string) (refreshGrant, bool) {
	rest, ok := strings.CutPrefix(tok, refreshPrefix)
	if !ok || len(rest) > 8192 {
		return refreshGrant{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil || len(raw) < s.aead.NonceSize() {
		return refreshGrant{}, false
	}
	plain, err := s.aead.Open(nil, raw[:s.aead.NonceSize()], raw[s.aead.NonceSize():], []byte(refreshPrefix))
	if err != nil {
		return refreshGrant{}, false
	}
	var g refreshGrant
	if json.Unmarshal(plain, &g) != nil {
		return refreshGrant{}, false
	}
	return g, true
}
