package tlsca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestIssuedCertificateIsTrustedThroughCAFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	now := time.Now()
	ca, caFile, err := LoadOrCreate(dir, now, "mock.example")
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, caKeyFileName)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("ca key mode: %v %v", fi.Mode(), err)
	}
	again, _, err := LoadOrCreate(dir, now, "mock.example")
	if err != nil || !again.Cert.Equal(ca.Cert) {
		t.Fatal("a second start did not reuse the CA")
	}
	cert, err := ca.Issue(now, "mock.example")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) }))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	defer srv.Close()
	pemBytes, _ := os.ReadFile(caFile)
	if string(pemBytes) != string(ca.PEM()) {
		t.Fatal("ca file differs from the CA")
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}}
	resp, err := c.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 {
		t.Fatal(resp.Status)
	}
}

// Issue 15 item 7: the local CA was a 10-year root without name constraints, and the
// docs tell users to trust it, system-wide on Windows: whoever read its key could then
// sign for any site. It is now constrained to the names and addresses the mock serves,
// may sign no sub-CA, and lives a year. The mock's own leaf verifies; a leaf for any
// other name fails verification against the CA alone.
func TestCAMaySignOnlyForTheMock(t *testing.T) {
	t.Parallel()
	now := time.Now()
	ca, _, err := LoadOrCreate(t.TempDir(), now, "mock.lab.test", "192.0.2.10")
	if err != nil {
		t.Fatal(err)
	}
	c := ca.Cert
	if !c.IsCA || c.MaxPathLen != 0 || !c.MaxPathLenZero {
		t.Errorf("IsCA %t, MaxPathLen %d (zero %t): want a CA that signs no sub-CA", c.IsCA, c.MaxPathLen, c.MaxPathLenZero)
	}
	if life := c.NotAfter.Sub(c.NotBefore); life > 366*24*time.Hour+time.Hour {
		t.Errorf("the CA lives %v; want about a year", life)
	}
	if !c.PermittedDNSDomainsCritical {
		t.Error("the name constraints are not critical (RFC 5280 §4.2.1.10 says they must be)")
	}
	verify := func(hosts ...string) error {
		cert, err := ca.Issue(now, hosts...)
		if err != nil {
			return err
		}
		leaf, err := x509.ParseCertificate(cert.Certificate[0])
		if err != nil {
			return err
		}
		for _, h := range append([]string{"localhost", "127.0.0.1", "::1"}, hosts...) {
			if _, err := leaf.Verify(x509.VerifyOptions{DNSName: h, Roots: ca.Pool(), CurrentTime: now}); err != nil {
				return fmt.Errorf("%s: %w", h, err)
			}
		}
		return nil
	}
	if err := verify("mock.lab.test", "api.mock.lab.test", "192.0.2.10"); err != nil {
		t.Errorf("the mock's own leaf does not verify: %v", err)
	}
	for _, other := range []string{"www.bank.example", "lab.test", "mock.lab.test.evil.example", "8.8.8.8", "192.0.2.11", "2001:db8::1"} {
		var inv x509.CertificateInvalidError
		if err := verify(other); !errors.As(err, &inv) || inv.Reason != x509.CANotAuthorizedForThisName {
			t.Errorf("a leaf for %s: %v; want CANotAuthorizedForThisName", other, err)
		}
	}
}

// Issue 15 item 9: a corrupt ca.pem silently got a new CA, overwriting the old key that
// clients may trust. It is refused with a message that says what to do, and nothing on
// disk changes.
func TestCorruptCAIsRefusedNotReplaced(t *testing.T) {
	t.Parallel()
	now := time.Now()
	for name, damage := range map[string]func(dir string) error{
		"ca.pem is not PEM":       func(dir string) error { return os.WriteFile(filepath.Join(dir, CAFileName), []byte("garbage"), 0o644) },
		"ca.pem is cut short":     func(dir string) error { return truncateFile(filepath.Join(dir, CAFileName), 200) },
		"ca-key.pem is missing":   func(dir string) error { return os.Remove(filepath.Join(dir, caKeyFileName)) },
		"ca-key.pem is not PEM":   func(dir string) error { return os.WriteFile(filepath.Join(dir, caKeyFileName), []byte("x"), 0o600) },
		"the key is another CA's": func(dir string) error { return os.WriteFile(filepath.Join(dir, caKeyFileName), otherKeyPEM(t), 0o600) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if _, _, err := LoadOrCreate(dir, now); err != nil {
				t.Fatal(err)
			}
			if err := damage(dir); err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, dir)
			_, _, err := LoadOrCreate(dir, now)
			if err == nil || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "delete") {
				t.Errorf("a damaged CA was accepted or refused without saying what to do: %v", err)
			}
			if after := snapshot(t, dir); !maps.Equal(before, after) {
				t.Errorf("the state folder changed: %v → %v", slices.Sorted(maps.Keys(before)), slices.Sorted(maps.Keys(after)))
			}
		})
	}
}

// An interrupted write (kill -9) can leave .tmp-* files in the state folder; the next
// start removes the stale ones.
func TestStaleTempFilesAreRemoved(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	stale := filepath.Join(dir, ".tmp-123456")
	fresh := filepath.Join(dir, ".tmp-789")
	for _, p := range []string{stale, fresh} {
		if err := os.WriteFile(p, []byte("half a key"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreate(dir, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the stale temporary file is still there: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("a temporary file another process may be writing was removed: %v", err)
	}
}

// curl, a real client outside Go, accepts the mock's certificate through the CA file.
func TestCurlTrustsTheMockThroughTheCAFile(t *testing.T) {
	t.Parallel()
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl is not installed")
	}
	now := time.Now()
	ca, caFile, err := LoadOrCreate(t.TempDir(), now)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Issue(now)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	defer srv.Close()
	for _, u := range []string{srv.URL, strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)} {
		out, err := exec.Command(curl, "-sS", "--cacert", caFile, u).CombinedOutput()
		if err != nil || string(out) != "ok" {
			t.Errorf("curl --cacert %s %s: %v %s", caFile, u, err, out)
		}
	}
}

func truncateFile(p string, n int64) error { return os.Truncate(p, n) }

func otherKeyPEM(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: b})
}

// snapshot maps each file of dir to its content.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		out[e.Name()] = string(b)
	}
	return out
}

// A CA on disk that is sound but cannot serve is replaced, and a note says why: one made
// by an older vbharness (no name constraints), one that may not sign for a new
// --hostname, one within RenewBefore of its expiry. A sound one is kept, without notes.
func TestCAOnDiskIsReplacedWhenItCannotBeKept(t *testing.T) {
	t.Parallel()
	now := time.Now()
	unconstrained := func(t *testing.T, dir string) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: serial(), NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(10, 0, 0),
			KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		kb, _ := x509.MarshalECPrivateKey(key)
		_ = os.WriteFile(filepath.Join(dir, CAFileName), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
		_ = os.WriteFile(filepath.Join(dir, caKeyFileName), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	}
	for _, c := range []struct {
		name  string
		setup func(t *testing.T, dir string)
		at    time.Time
		hosts []string
		note  string // "" means kept
	}{
		{"a sound CA is kept", func(*testing.T, string) {}, now.Add(24 * time.Hour), []string{"mock.lab.test"}, ""},
		{"a subdomain of a permitted name is covered", func(*testing.T, string) {}, now, []string{"api.mock.lab.test"}, ""},
		{"an older vbharness's CA", unconstrained, now, nil, "older vbharness"},
		{"a new --hostname", func(*testing.T, string) {}, now, []string{"other.lab.test"}, "may not sign for all of other.lab.test"},
		{"a new address", func(*testing.T, string) {}, now, []string{"192.0.2.99"}, "may not sign for all of 192.0.2.99"},
		{"near its expiry", func(*testing.T, string) {}, now.Add(Validity - RenewBefore + time.Hour), []string{"mock.lab.test"}, "expires on"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			first, _, err := LoadOrCreate(dir, now, "mock.lab.test")
			if err != nil {
				t.Fatal(err)
			}
			c.setup(t, dir)
			onDisk, _ := os.ReadFile(filepath.Join(dir, CAFileName))
			ca, _, err := LoadOrCreate(dir, c.at, c.hosts...)
			if err != nil {
				t.Fatal(err)
			}
			kept := string(ca.PEM()) == string(onDisk)
			notes := strings.Join(ca.Notes, "\n")
			switch {
			case c.note == "" && (!kept || !ca.Cert.Equal(first.Cert) || notes != ""):
				t.Errorf("the CA was replaced (kept %t) or noted: %q", kept, notes)
			case c.note != "" && (kept || !strings.Contains(notes, c.note) || !strings.Contains(notes, "trust the new")):
				t.Errorf("kept %t, notes %q; want a new CA and a note with %q", kept, notes, c.note)
			case c.note != "" && !ca.permits(c.hosts):
				t.Errorf("the new CA does not cover %v", c.hosts)
			}
		})
	}
}

// The folder and key modes are checked on load.
func TestLaxModesAreNoted(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("Unix modes")
	}
	dir := t.TempDir()
	if _, _, err := LoadOrCreate(dir, time.Now()); err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(dir, 0o777)
	_ = os.Chmod(filepath.Join(dir, caKeyFileName), 0o640)
	ca, _, err := LoadOrCreate(dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if notes := strings.Join(ca.Notes, "\n"); !strings.Contains(notes, "mode 0777") || !strings.Contains(notes, "mode 0640") ||
		!strings.Contains(notes, "chmod 700") || !strings.Contains(notes, "chmod 600") {
		t.Errorf("notes %q", notes)
	}
}
