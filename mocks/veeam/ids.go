package veeam

import (
	"crypto/rand"

	"github.com/vbharness/vbharness/mocks/veeam/spec"
)

// parseGUID accepts the 36-character hyphenated form, any case, and returns it in lower
// case (the form the mock stores and serves).
func parseGUID(s string) (string, bool) {
	if len(s) != 36 {
		return "", false
	}
	var b [36]byte
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return "", false
			}
		default:
			switch {
			case c >= '0' && c <= '9', c >= 'a' && c <= 'f':
			case c >= 'A' && c <= 'F':
				c += 'a' - 'A'
			default:
				return "", false
			}
		}
		b[i] = c
	}
	return string(b[:]), true
}

// newGUID returns a random (version 4) GUID for jti, credentialKey and new sessions.
func newGUID() string {
	var u [16]byte
	_, _ = rand.Read(u[:]) // crypto/rand.Read never fails (Go 1.24+)
	u[6] = (u[6] & 0x0f) | 0x40
	u[8] = (u[8] & 0x3f) | 0x80
	return spec.FormatGUID(u)
}
