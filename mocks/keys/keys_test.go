package keys

import (
	"crypto/sha1"
	"encoding/base64"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestJWKShapeMatchesEntra(t *testing.T) {
	t.Parallel()
	k := Pooled(0)
	j := k.JWK("")
	sum := sha1.Sum(k.Cert.Raw)
	if j.Kid != base64.RawURLEncoding.EncodeToString(sum[:]) || j.X5t != j.Kid {
		t.Fatalf("kid/x5t %q/%q are not the certificate thumbprint", j.Kid, j.X5t)
	}
	if len(j.X5c) != 1 || j.Kty != "RSA" || j.Use != "sig" || j.E != "AQAB" {
		t.Fatalf("unexpected jwk %+v", j)
	}
	if len(k.Thumbprint) != 40 || strings.ToUpper(k.Thumbprint) != k.Thumbprint {
		t.Fatalf("thumbprint %q is not 40 upper-case hex characters", k.Thumbprint)
	}
	pub, err := j.PublicKey()
	if err != nil || pub.N.Cmp(k.Private.N) != 0 {
		t.Fatalf("jwk does not round-trip: %v", err)
	}
}

func TestRotationKeepsOldKeyForOverlap(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := NewSet(Pooled(0), time.Hour, 1)
	old := s.Active()
	nk := s.Rotate(nil, now)
	if nk == old || s.Active() != nk {
		t.Fatal("rotate did not switch the active key")
	}
	if _, ok := s.Lookup(old.KID, now.Add(30*time.Minute)); !ok {
		t.Fatal("old key gone during overlap")
	}
	if got := len(s.JWKS(now, "")); got != 2 {
		t.Fatalf("jwks has %d keys during overlap, want 2", got)
	}
	if _, ok := s.Lookup(old.KID, now.Add(2*time.Hour)); ok {
		t.Fatal("old key still valid after overlap")
	}
	if _, ok := s.Lookup(nk.Thumbprint, now); !ok {
		t.Fatal("lookup by thumbprint failed")
	}
}

func TestSignedTokenVerifies(t *testing.T) {
	t.Parallel()
	k := Pooled(0)
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"sub": "x"})
	tok.Header["kid"] = k.KID
	s, err := tok.SignedString(k.Private)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jwt.Parse(s, func(*jwt.Token) (any, error) { return &k.Private.PublicKey, nil }); err != nil {
		t.Fatal(err)
	}
}

func TestLoadPEMRoundTrip(t *testing.T) {
	t.Parallel()
	k := Pooled(0)
	k2, err := LoadPEM(k.PrivatePEM(), k.CertPEM())
	if err != nil {
		t.Fatal(err)
	}
	if k2.KID != k.KID {
		t.Fatal("loaded key has another kid")
	}
	if _, err := LoadPEM([]byte("nope"), nil); err == nil {
		t.Fatal("garbage PEM accepted")
	}
}

// Warm and concurrent Pooled calls agree: one key per index, the same for every caller,
// different across indices.
func TestPooledIsOneKeyPerIndexUnderConcurrency(t *testing.T) {
	t.Parallel()
	Warm(3)
	got := make([][3]*Key, 4)
	var wg sync.WaitGroup
	for g := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 2; i >= 0; i-- {
				got[g][i] = Pooled(i)
			}
		}()
	}
	wg.Wait()
	for g := range got {
		if got[g] != got[0] {
			t.Fatalf("caller %d got other keys than caller 0", g)
		}
	}
	if got[0][0] == got[0][1] || got[0][1] == got[0][2] || got[0][0].KID == got[0][2].KID {
		t.Fatal("two indices share a key")
	}
}
