package veeam

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/vbharness/vbharness/mocks/keys"
)

// NameClaim is the claim that carries the user name in Veeam's tokens (seed document).
const NameClaim = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"

// TimeFormat is how .issued and .expires are written: UTC with seven fractional digits,
// as the seed shows ("2024-08-07T15:56:22.9188632Z", .NET's round-trip format).
const TimeFormat = "2006-01-02T15:04:05.0000000Z"

// tokenClaims are the claims of a Veeam token, in the seed's order: tokenType, jti,
// name, credentialKey, credentialType, antiforgery, exp, iss.
type tokenClaims struct {
	TokenType      string `json:"tokenType"` // "Access" or "Refresh"
	JTI            string `json:"jti"`       // shared by the access and refresh token of a pair
	Name           string `json:"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"`
	CredentialKey  string `json:"credentialKey"`
	CredentialType string `json:"credentialType"`
	Antiforgery    string `json:"antiforgery"` // "True" or "False", .NET's bool.ToString()
	Exp            int64  `json:"exp"`
	Iss            string `json:"iss"`
}

// tokenResponse is OAuthTokenResponse in the seed's field order.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	UserName     string `json:"userName"`
	Issued       string `json:".issued"`
	Expires      string `json:".expires"`
}

var b64 = base64.RawURLEncoding

// signToken makes an RS256 JWT with the seed's header: alg, kid (the signing
// certificate's SHA-1 thumbprint in upper-case hex), typ.
func signToken(k *keys.Key, c tokenClaims) (string, error) {
	payload, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("encode claims: %w", err)
	}
	header := `{"alg":"RS256","kid":"` + k.Thumbprint + `","typ":"JWT"}`
	input := make([]byte, 0, 512)
	input = b64.AppendEncode(input, []byte(header))
	input = append(input, '.')
	input = b64.AppendEncode(input, payload)
	sum := sha256.Sum256(input)
	sig, err := rsa.SignPKCS1v15(rand.Reader, k.Private, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	input = append(input, '.')
	input = b64.AppendEncode(input, sig)
	return string(input), nil
}

// issuePair signs a new access and refresh token for sess, records them and returns
// the success body and, when antiforgery is set, the pair's antiforgery token. now is
// the one clock reading of the request.
func (t *tokenService) issuePair(sess *session, antiforgery bool, issuer string, now time.Time, set Settings) (tokenResponse, string, error) {
	accessExp := now.Add(time.Duration(set.AccessTokenLifetime) * time.Second)
	refreshExp := now.Add(time.Duration(set.RefreshTokenLifetime) * time.Second)
	c := tokenClaims{
		TokenType:      "Access",
		JTI:            newGUID(),
		Name:           sess.user,
		CredentialKey:  sess.key,
		CredentialType: sess.credentialType,
		Antiforgery:    "True",
		Exp:            accessExp.Unix(),
		Iss:            issuer,
	}
	if !antiforgery {
		c.Antiforgery = "False"
	}
	k := t.keys.Active()
	access, err := signToken(k, c)
	if err != nil {
		return tokenResponse{}, "", err
	}
	c.TokenType, c.Exp = "Refresh", refreshExp.Unix()
	refresh, err := signToken(k, c)
	if err != nil {
		return tokenResponse{}, "", err
	}
	xsrf := ""
	if antiforgery {
		xsrf = newAntiforgeryToken()
	}
	t.sessions.add(sess, access, refresh, accessExp, refreshExp, xsrf, now)
	return tokenResponse{
		AccessToken:  access,
		RefreshToken: refresh,
		TokenType:    "bearer",
		ExpiresIn:    set.AccessTokenLifetime,
		UserName:     sess.user,
		Issued:       now.UTC().Format(TimeFormat),
		Expires:      accessExp.UTC().Format(TimeFormat),
	}, xsrf, nil
}

// newAntiforgeryToken is 32 random bytes, base64url: opaque, as a client must treat it.
func newAntiforgeryToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return b64.EncodeToString(b[:])
}
