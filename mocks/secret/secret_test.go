package secret

import (
	"strings"
	"testing"
)

func TestRedactKeepsShortSuffix(t *testing.T) {
	t.Parallel()
	tok := "eyJhbGciOiJSUzI1NiJ9.payload.signatureXYZW"
	got := Redact(tok)
	if got != "[redacted …XYZW]" {
		t.Fatalf("Redact = %q", got)
	}
	if Redact("short") != "[redacted]" || Redact("") != "" {
		t.Fatal("short values must keep no suffix")
	}
}

func TestScrubberReplacesEveryKnownSecret(t *testing.T) {
	t.Parallel()
	s := NewScrubber()
	s.Add("refresh-AAAA-1111", "access-BBBB-2222", "abc")
	out := s.Scrub(`{"a":"access-BBBB-2222","r":"refresh-AAAA-1111","x":"abc"}`)
	if strings.Contains(out, "access-BBBB-2222") || strings.Contains(out, "refresh-AAAA-1111") {
		t.Fatalf("secret left in %s", out)
	}
	if !strings.Contains(out, `"abc"`) {
		t.Fatal("values shorter than MinLen must be left alone")
	}
	if s.Len() != 2 {
		t.Fatalf("Len = %d", s.Len())
	}
}

func TestIsField(t *testing.T) {
	t.Parallel()
	for _, n := range []string{"device_code", "Assertion", "PASSWORD", "refresh_token", "Authorization"} {
		if !IsField(n) {
			t.Errorf("%s should be secret", n)
		}
	}
	for _, n := range []string{"grant_type", "client_id", "scope"} {
		if IsField(n) {
			t.Errorf("%s should not be secret", n)
		}
	}
}
