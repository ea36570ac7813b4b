package keys

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"strings"
	"testing"
)

// signingInput is the size of a typical signing input (base64url header "." claims) of
// the mocks' tokens; hashing it is a rounding error next to the RSA operation.
var signingInput = []byte(strings.Repeat("eyJhbGciOiJSUzI1NiJ9.", 48))

// BenchmarkSignRS256 is the limit every other figure is compared with: one RS256
// signature (SHA-256 of a token-sized input, then RSA-2048 PKCS #1 v1.5 with the CRT) by
// the mocks' own key, keys.Pooled(0), on every core at once (RunParallel). A mock
// response that needs k signatures cannot be served faster than k times this;
// docs/performance.md gives every figure as a ratio to it.
func BenchmarkSignRS256(b *testing.B) {
	k := Pooled(0).Private
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			sum := sha256.Sum256(signingInput)
			if _, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, sum[:]); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkVerifyRS256 is one RS256 verification with the same key (public exponent
// 65537), what the Veeam mock spends on an Entra assertion: about 1/30 of a signature.
func BenchmarkVerifyRS256(b *testing.B) {
	k := Pooled(0).Private
	sum := sha256.Sum256(signingInput)
	sig, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, sum[:])
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			sum := sha256.Sum256(signingInput)
			if err := rsa.VerifyPKCS1v15(&k.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
