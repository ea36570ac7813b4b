package secret

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
)

func TestATokenKeepsAShortSuffixACredentialNothing(t *testing.T) {
	t.Parallel()
	tok := "eyJhbGciOiJSUzI1NiJ9.payload.signatureXYZW"
	if got := RedactToken(tok); got != "[redacted …XYZW]" {
		t.Fatalf("RedactToken = %q", got)
	}
	if RedactToken("short") != "[redacted]" || RedactToken("") != "" {
		t.Fatal("short tokens must keep no suffix")
	}
	for _, got := range []string{Redact("vbharness-Passw0rd!"), RedactAs(Credential, "vbharness-Passw0rd!"), RedactField("Password", "vbharness-Passw0rd!"),
		RedactField("client_secret", "a-long-client-secret"), RedactHeader("Authorization", "Basic dXNlcjpwYXNzd29yZA==")} {
		if got != "[redacted]" && got != "Basic [redacted]" {
			t.Errorf("a credential was redacted as %q", got)
		}
	}
	if got := RedactField("refresh_token", tok); got != "[redacted …XYZW]" {
		t.Errorf("RedactField(refresh_token) = %q", got)
	}
	if got := RedactField("grant_type", "password"); got != "password" {
		t.Errorf("RedactField(grant_type) = %q", got)
	}
	if got := RedactHeader("Authorization", "Bearer "+tok); got != "Bearer [redacted …XYZW]" {
		t.Errorf("RedactHeader(Bearer) = %q", got)
	}
}

func TestTheScrubberRedactsEachSecretAsItsKind(t *testing.T) {
	t.Parallel()
	s := NewScrubber()
	s.Add("an-access-token-ABCD")
	s.AddCredential("vbharness-Passw0rd!")
	s.AddAs(Token, "upgraded-later-WXYZ")
	s.AddCredential("upgraded-later-WXYZ") // a credential stays one
	s.Add("vbharness-Passw0rd!")
	got := s.Scrub("an-access-token-ABCD vbharness-Passw0rd! upgraded-later-WXYZ")
	if want := "[redacted …ABCD] [redacted] [redacted]"; got != want {
		t.Errorf("Scrub = %q, want %q", got, want)
	}
}

func TestWhatIsASecret(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		kind Kind
	}{{"access_token", Token}, {"Assertion", Token}, {"device_code", Token}, {"PASSWORD", Credential},
		{"client_secret", Credential}, {"control_token", Credential}, {"grant_type", 0}, {"scope", 0}} {
		if got := FieldKind(c.name); got != c.kind {
			t.Errorf("FieldKind(%s) = %d, want %d", c.name, got, c.kind)
		}
	}
	for _, h := range []string{"Authorization", "Cookie", "set-cookie", "Proxy-Authorization", "X-Antiforgery-Token"} {
		if !IsHeader(h) {
			t.Errorf("header %s should be secret", h)
		}
	}
	if IsHeader("Content-Type") {
		t.Error("Content-Type is not secret")
	}
	for _, e := range []string{"VBHARNESS_VEEAM_PASSWORD", "VBHARNESS_CONTROL_TOKEN", "VBHARNESS_API_SECRET", "my_token"} {
		if !IsEnv(e) {
			t.Errorf("%s should be secret", e)
		}
	}
	if IsEnv("VBHARNESS_TENANT") {
		t.Error("VBHARNESS_TENANT is not secret")
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

// replacerScrub is the reference: strings.Replacer over every secret, longest first.
func replacerScrub(secrets []string, text string) string {
	sorted := slices.Clone(secrets)
	sort.SliceStable(sorted, func(i, j int) bool { return len(sorted[i]) > len(sorted[j]) })
	var pairs []string
	for _, v := range sorted {
		if len(v) >= MinLen {
			pairs = append(pairs, v, RedactToken(v))
		}
	}
	return strings.NewReplacer(pairs...).Replace(text)
}

func TestScrubberOverlapsAndSharedEndings(t *testing.T) {
	t.Parallel()
	access := "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.claims.sigAAAA"
	assertion := `{"token_type":"Bearer","access_token":"` + access + `","refresh_token":"0.AXYZ-refresh"}`
	cases := []struct {
		name    string
		secrets []string
		text    string
		want    string
	}{
		{"an assertion is replaced whole, not the token inside it", []string{access, assertion},
			"body=" + assertion + "&x", "body=" + RedactToken(assertion) + "&x"},
		{"the token alone is replaced where it appears alone", []string{access, assertion},
			"Bearer " + access, "Bearer " + RedactToken(access)},
		{"secrets sharing their last bytes are told apart", []string{"first-secret-123456", "second-123456"},
			"a second-123456 b first-secret-123456", "a " + RedactToken("second-123456") + " b " + RedactToken("first-secret-123456")},
		{"adjacent occurrences are both replaced", []string{"abcdefgh"}, "abcdefghabcdefgh", RedactToken("abcdefgh") + RedactToken("abcdefgh")},
		{"the leftmost of two overlapping secrets wins", []string{"xxxxyyyy", "yyyyzzzz"}, "xxxxyyyyzzzz", RedactToken("xxxxyyyy") + "zzzz"},
		{"a text without secrets is returned as it is", []string{"abcdefgh"}, "nothing here", "nothing here"},
		{"a secret at the very start and end", []string{"secret1"}, "secret1", RedactToken("secret1")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := NewScrubber()
			s.Add(c.secrets...)
			if got := s.Scrub(c.text); got != c.want {
				t.Errorf("Scrub = %q, want %q", got, c.want)
			}
			if ref := replacerScrub(c.secrets, c.text); ref != c.want {
				t.Errorf("reference = %q, want %q", ref, c.want)
			}
		})
	}
}

// Random secrets drawn from a small alphabet (so they overlap, nest and share endings)
// scrub exactly as strings.Replacer over all of them, longest first, would.
func TestScrubberMatchesReplacer(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = "ab.c"[rng.IntN(4)]
		}
		return string(b)
	}
	for round := range 300 {
		var secrets []string
		for range 1 + rng.IntN(8) {
			secrets = append(secrets, word(MinLen-1+rng.IntN(10)))
		}
		s := NewScrubber()
		s.Add(secrets...)
		text := word(rng.IntN(120))
		if got, want := s.Scrub(text), replacerScrub(secrets, text); got != want {
			t.Fatalf("round %d: secrets %q text %q:\n got %q\nwant %q", round, secrets, text, got, want)
		}
	}
}

func TestScrubberIsSafeForConcurrentUse(t *testing.T) {
	t.Parallel()
	s := NewScrubber()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				v := fmt.Sprintf("token-%d-%04d-xyz", g, i)
				s.Add(v)
				if out := s.Scrub("Bearer " + v); strings.Contains(out, v) {
					t.Errorf("%s left in %s", v, out)
					return
				}
			}
		}()
	}
	wg.Wait()
	if s.Len() != 800 {
		t.Fatalf("Len = %d, want 800", s.Len())
	}
}

// BenchmarkScrubberRun is what a run of 1 000 tests asks of its scrubber: each test adds
// ten token-sized secrets and scrubs a 20 KiB trace holding some of them. The cost per
// test must not grow with the secrets of earlier tests.
func BenchmarkScrubberRun(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	tok := func() string {
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		buf := make([]byte, 1200)
		for i := range buf {
			buf[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9." + string(buf)
	}
	b.ReportAllocs()
	for b.Loop() {
		s := NewScrubber()
		for range 1000 {
			var toks []string
			for range 10 {
				toks = append(toks, tok())
			}
			s.Add(toks...)
			trace := strings.Repeat(`{"status":200,"body":"ok"} `, 300) + strings.Join(toks[:3], " ")
			if strings.Contains(s.Scrub(trace), toks[0]) {
				b.Fatal("token left in the trace")
			}
		}
	}
}

// A run of 100 000 tests meets hundreds of thousands of tokens: the scrubber keeps a
// fingerprint of each, not its text, and still finds every one after its filter grew.
// 20 000 secrets of 1 KiB (20 MiB of text) must cost well under 2 MiB of heap.
func TestScrubberKeepsFingerprintsNotTheSecrets(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	tok := func() string {
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		buf := make([]byte, 1024)
		for i := range buf {
			buf[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return string(buf)
	}
	const n = 20000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s := NewScrubber()
	var first, last string
	for i := range n {
		v := tok() // dropped at once: only the scrubber could keep it
		if i == 0 {
			first = strings.Clone(v)
		}
		if i == n-1 {
			last = strings.Clone(v)
		}
		s.Add(v)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 2<<20 {
		t.Errorf("20 000 secrets of 1 KiB grew the heap by %d bytes; want under 2 MiB", grew)
	}
	if s.Len() != n {
		t.Errorf("Len = %d, want %d", s.Len(), n)
	}
	for _, v := range []string{first, last} {
		if got := s.Scrub("a " + v + " b"); got != "a "+RedactToken(v)+" b" {
			t.Errorf("a secret was not scrubbed after the filter grew: %.40q…", got)
		}
	}
	if got := s.Scrub(first[:1023] + "!"); got != first[:1023]+"!" {
		t.Errorf("a value differing from a secret in its last byte was scrubbed")
	}
	runtime.KeepAlive(s)
}

// A test on its own in-process mocks gets a child of the run's scrubber: the child scrubs
// with its own secrets and with every secret of the run, even those added after it was
// made, and the run's scrubber never learns the child's.
func TestAChildScrubsWithItsOwnAndItsParentsSecrets(t *testing.T) {
	t.Parallel()
	run := NewScrubber()
	run.AddCredential("run-password")
	child := run.Child()
	child.Add("child-token-abcdef")
	run.AddCredential("later-secret")
	child.Add("shared-value")
	run.AddCredential("shared-value")
	got := child.Scrub("run-password child-token-abcdef later-secret shared-value")
	want := "[redacted] " + RedactToken("child-token-abcdef") + " [redacted] [redacted]"
	if got != want {
		t.Errorf("child.Scrub = %q, want %q", got, want)
	}
	if got := run.Scrub("child-token-abcdef"); got != "child-token-abcdef" {
		t.Errorf("the run's scrubber learned a child's secret: %q", got)
	}
	if run.Len() != 3 || child.Len() != 2 {
		t.Errorf("Len: run %d, child %d; want 3 and 2", run.Len(), child.Len())
	}
}

// The boundaries the mutation run (docs/testing.md) found untested after the scrubber
// became fingerprints: each case names the change it catches.
func TestScrubberBoundaries(t *testing.T) {
	t.Parallel()
	t.Run("a token of exactly 3×SuffixLen characters is redacted whole", func(t *testing.T) {
		v := strings.Repeat("k", SuffixLen*3)
		if got := RedactToken(v); got != "[redacted]" {
			t.Errorf("RedactToken(%d chars) = %q, want [redacted]", len(v), got)
		}
		if got := RedactToken(v + "Z"); got != "[redacted …kkkZ]" {
			t.Errorf("RedactToken(%d chars) = %q, want the suffix", len(v)+1, got)
		}
	})
	t.Run("a secret of exactly MinLen, as the whole text", func(t *testing.T) {
		s := NewScrubber()
		v := "q7Zx9W"[:MinLen]
		s.AddAs(Credential, v)
		if s.Len() != 1 {
			t.Fatalf("a %d-character secret was not remembered", MinLen)
		}
		if got := s.Scrub(v); got != "[redacted]" {
			t.Errorf("Scrub(the secret alone) = %q", got)
		}
		if got := s.Scrub("<" + v + ">"); got != "<[redacted]>" {
			t.Errorf("Scrub = %q", got)
		}
	})
	t.Run("of two secrets starting at one place the longer wins", func(t *testing.T) {
		s := NewScrubber()
		short, long := "tokenAAAA1111", "tokenAAAA1111-and-the-rest-XYZW"
		s.AddAs(Token, short, long)
		got := s.Scrub("x " + long + " y")
		if strings.Contains(got, "rest") || got != "x [redacted …XYZW] y" {
			t.Errorf("Scrub = %q, want the longer secret replaced whole", got)
		}
	})
	t.Run("a credential in the parent beats the same value as a token in a child", func(t *testing.T) {
		parent := NewScrubber()
		v := "shared-value-0123456789-abcdef"
		parent.AddAs(Credential, v)
		child := parent.Child()
		child.AddAs(Token, v)
		if got := child.Scrub("[" + v + "]"); got != "[[redacted]]" {
			t.Errorf("Scrub = %q, want the credential's whole redaction", got)
		}
		other := NewScrubber() // and the other way round
		other.AddAs(Token, v)
		c2 := other.Child()
		c2.AddAs(Credential, v)
		if got := c2.Scrub(v); got != "[redacted]" {
			t.Errorf("Scrub = %q, want the credential's whole redaction", got)
		}
	})
	t.Run("a value added as a token and then as a credential is one credential", func(t *testing.T) {
		s := NewScrubber()
		v := "both-kinds-0123456789-ABCDEF"
		s.AddAs(Token, v)
		s.AddAs(Credential, v)
		if s.Len() != 1 {
			t.Errorf("Len = %d after adding one value twice, want 1", s.Len())
		}
		if got := s.Scrub(v); got != "[redacted]" {
			t.Errorf("Scrub = %q", got)
		}
	})
}

// TestVeeamsSSHKeyIsASecret: the v8 document's Linux proxy SSH settings
// (RESTSshSettingsFromClient) carry a private key file (privateKeyBase64) and its
// passphrase (privateKeyPassphrase); neither name holds "password" or "secret", so a
// client that set up a Linux proxy through `vbharness proxy` had both in the journal
// and its recording. Their public counterpart and the key ids stay readable.
func TestVeeamsSSHKeyIsASecret(t *testing.T) {
	t.Parallel()
	for _, n := range []string{"privateKeyBase64", "privateKeyPassphrase"} {
		if FieldKind(n) != Credential {
			t.Errorf("FieldKind(%s) = %d, want Credential", n, FieldKind(n))
		}
	}
	for _, n := range []string{"publicBase64Key", "encryptionKeyId", "changeKey"} {
		if IsField(n) {
			t.Errorf("%s should not be secret", n)
		}
	}
}
