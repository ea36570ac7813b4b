package entra

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
)

// Identifiers and secrets come from crypto/rand: device codes and refresh tokens are
// bearer secrets even in a mock, and tests must not be able to guess them.

// newGUID returns a random version-4 GUID in lower case.
func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return formatGUID(b)
}

// newTraceID returns a GUID ending in 00, as Entra's trace ids usually do.
func newTraceID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	b[15] = 0
	return formatGUID(b)
}

func formatGUID(b [16]byte) string {
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// userCodeAlphabet is A–Z and 2–9 without 0, 1, O and I, which observed codes never
// contained (entra.md §1 [I]).
const userCodeAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// UserCodeLength is the length of a user code (9, as observed).
const UserCodeLength = 9

// newUserCode returns a 9-character code from userCodeAlphabet. The alphabet has 32
// letters, so b%32 is unbiased.
func newUserCode() string {
	var b [UserCodeLength]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = userCodeAlphabet[int(b[i])%len(userCodeAlphabet)]
	}
	return string(b[:])
}

// deviceCodePrefix is the start of a device code; observed codes start with a similar
// base64 header ("LBgABIQEAAAA…", 2026). Clients treat the value as opaque.
const deviceCodePrefix = "LBgABIQEAAAA"

// newDeviceCode returns a long opaque base64url device code (about 180 characters).
func newDeviceCode() string {
	var b [126]byte
	_, _ = rand.Read(b[:])
	return deviceCodePrefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// randomToken returns n random bytes as unpadded base64url (uti, aio, CSRF values).
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
