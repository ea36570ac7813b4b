// Package tlsca owns the local certificate authority of the standalone mock: a CA
// certificate users trust (the CA file) and server certificates for localhost, 127.0.0.1,
// ::1 and any extra host names. The CA is kept in a state directory so a restarted mock
// keeps the trust users already configured.
//
// Users are told to trust the CA, sometimes system-wide, so it is made to be worth as
// little as possible to whoever reads its key: it may sign only for the names and
// addresses the mock serves (critical nameConstraints: localhost, 127.0.0.0/8, ::1 and
// the extra hosts), it may sign no sub-CA (pathLen 0), and it lives a year. A CA on disk
// that lacks these, is about to expire, or does not cover the requested hosts is
// replaced, with a note saying so; a CA on disk that cannot be read is refused, never
// silently replaced, since clients may trust it.
//
// The state directory is checked on load: a directory others may write and a key others
// may read or write are reported in Notes, temporary files left by an interrupted write are removed,
// and every write is fsynced, file and directory, before it counts.
package tlsca

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// CA is a certificate authority that issues server certificates.
type CA struct {
	Cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte

	// Notes are what LoadOrCreate found or did that the person running the mock should
	// know: lax modes, stale temporary files removed, a CA replaced and why. Empty for a
	// CA made by New.
	Notes []string
}

// CAFileName is the name of the CA certificate in a state directory.
const CAFileName = "ca.pem"

const caKeyFileName = "ca-key.pem"

// Lifetimes of the CA and of the server certificates.
const (
	// Validity is how long a new CA is valid: a year.
	Validity = 365 * 24 * time.Hour
	// RenewBefore is how long before its expiry a CA on disk is replaced, so a mock
	// started near the end never serves a certificate that expires while it runs.
	RenewBefore = 30 * 24 * time.Hour
	// staleTemp is how old a leftover temporary file must be to be removed: younger ones
	// may belong to another mock writing at this moment.
	staleTemp = time.Minute
)

// loopbackRanges are the addresses every CA may sign for.
var loopbackRanges = []*net.IPNet{
	{IP: net.IPv4(127, 0, 0, 0).To4(), Mask: net.CIDRMask(8, 32)},
	{IP: net.IPv6loopback, Mask: net.CIDRMask(128, 128)},
}

// New makes a fresh CA valid for Validity from now, constrained to localhost, the
// loopback addresses and hosts (names or IP addresses; a name also permits its
// subdomains, as RFC 5280 name constraints do).
func New(now time.Time, hosts ...string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate ca key: %w", err)
	}
	dns, ips := permitted(hosts)
	tmpl := &x509.Certificate{
		SerialNumber:                serial(),
		Subject:                     pkix.Name{CommonName: "vbharness mock CA", Organization: []string{"vbharness"}},
		NotBefore:                   now.Add(-time.Hour),
		NotAfter:                    now.Add(Validity),
		KeyUsage:                    x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid:       true,
		IsCA:                        true,
		MaxPathLen:                  0,
		MaxPathLenZero:              true,
		PermittedDNSDomainsCritical: true,
		PermittedDNSDomains:         dns,
		PermittedIPRanges:           ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("create ca certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}, nil
}

// permitted returns the name constraints for hosts: localhost and the DNS names, the
// loopback ranges and each IP address alone.
func permitted(hosts []string) ([]string, []*net.IPNet) {
	dns := []string{"localhost"}
	ips := slices.Clone(loopbackRanges)
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			if !covered(ips, ip) {
				bits := 128
				if ip4 := ip.To4(); ip4 != nil {
					ip, bits = ip4, 32
				}
				ips = append(ips, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
			}
		} else if name := dnsName(h); name != "" && !slices.Contains(dns, name) {
			dns = append(dns, name)
		}
	}
	return dns, ips
}

// dnsName is a --hostname as a name constraint: lower-case, without a trailing dot or a
// leading "*." (a constraint on a name permits its subdomains).
func dnsName(h string) string {
	return strings.TrimPrefix(strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), "."), "*.")
}

func covered(ranges []*net.IPNet, ip net.IP) bool {
	return slices.ContainsFunc(ranges, func(n *net.IPNet) bool { return n.Contains(ip) })
}

// permits reports whether the CA's constraints cover every host.
func (ca *CA) permits(hosts []string) bool {
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			if !covered(ca.Cert.PermittedIPRanges, ip) {
				return false
			}
			continue
		}
		name := dnsName(h)
		if name != "" && !slices.ContainsFunc(ca.Cert.PermittedDNSDomains, func(d string) bool {
			return name == d || strings.HasSuffix(name, "."+d)
		}) {
			return false
		}
	}
	return true
}

// ErrCorrupt marks a CA in a state directory that cannot be used: unreadable, not PEM,
// not a CA, or a key that is not the certificate's.
var ErrCorrupt = errors.New("the mock's CA in the state folder is damaged")

// LoadOrCreate reads the CA from dir, or makes one and writes it there (key mode 0600,
// folder 0700), and returns it with the path of its certificate file. hosts are the
// names and addresses the mock serves besides localhost and the loopback; a CA on disk
// that may not sign for all of them, has no name constraints (made by an older
// vbharness), or expires within RenewBefore is replaced. A CA on disk that cannot be
// read is an error wrapping ErrCorrupt, and dir is left as it is. The CA's Notes say
// what the operator should know.
func LoadOrCreate(dir string, now time.Time, hosts ...string) (*CA, string, error) {
	certPath := filepath.Join(dir, CAFileName)
	keyPath := filepath.Join(dir, caKeyFileName)
	var notes []string
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, "", fmt.Errorf("create state dir: %w", err)
	}
	notes = append(notes, checkModes(dir, keyPath)...)
	notes = append(notes, removeStaleTemp(dir, now)...)

	certPEM, errC := os.ReadFile(certPath)
	keyPEM, errK := os.ReadFile(keyPath)
	var why string
	switch {
	case errors.Is(errC, fs.ErrNotExist) && errors.Is(errK, fs.ErrNotExist):
		// A fresh folder.
	case errC != nil || errK != nil:
		return nil, "", corrupt(dir, errors.Join(errC, errK))
	default:
		ca, err := parse(certPEM, keyPEM)
		if err != nil {
			return nil, "", corrupt(dir, err)
		}
		switch {
		case !ca.Cert.PermittedDNSDomainsCritical || !ca.Cert.MaxPathLenZero:
			why = "it was made by an older vbharness without name constraints; remove that old \"vbharness mock CA\" from every trust store you added it to"
		case !ca.permits(hosts):
			why = fmt.Sprintf("it may not sign for all of %s", strings.Join(hosts, ", "))
		case !now.Add(RenewBefore).Before(ca.Cert.NotAfter):
			why = fmt.Sprintf("it expires on %s", ca.Cert.NotAfter.UTC().Format(time.DateOnly))
		default:
			ca.Notes = notes
			return ca, certPath, nil
		}
	}
	ca, err := New(now, hosts...)
	if err != nil {
		return nil, "", err
	}
	kb, err := x509.MarshalECPrivateKey(ca.key)
	if err != nil {
		return nil, "", err
	}
	if err := writeFiles(dir, []file{
		{keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600},
		{certPath, ca.pem, 0o644},
	}); err != nil {
		return nil, "", err
	}
	if why != "" {
		notes = append(notes, fmt.Sprintf("made a new CA in %s because the old one could not be kept: %s; clients must trust the new %s",
			dir, why, certPath))
	}
	ca.Notes = notes
	return ca, certPath, nil
}

func corrupt(dir string, err error) error {
	return fmt.Errorf("%w (%s): %v; it is not replaced, since clients may trust it: restore %s and %s, or delete both to make a new CA "+
		"(which clients must then trust anew)", ErrCorrupt, dir, err, CAFileName, caKeyFileName)
}

// checkModes reports a state folder that others may write (they could swap the CA the
// mock serves) and a CA key that others may read or write.
func checkModes(dir, keyPath string) []string {
	if runtime.GOOS == "windows" {
		return nil // modes do not describe Windows ACLs
	}
	var notes []string
	if fi, err := os.Stat(dir); err == nil && fi.Mode().Perm()&0o022 != 0 {
		notes = append(notes, fmt.Sprintf("the state folder %s has mode %04o: others may replace the mock's CA and key; chmod 700 %s",
			dir, fi.Mode().Perm(), dir))
	}
	if fi, err := os.Stat(keyPath); err == nil && fi.Mode().Perm()&0o077 != 0 {
		notes = append(notes, fmt.Sprintf("the CA key %s has mode %04o: others may read it and sign for the mock's names; chmod 600 %s",
			keyPath, fi.Mode().Perm(), keyPath))
	}
	return notes
}

// removeStaleTemp deletes the temporary files an interrupted write left in dir.
func removeStaleTemp(dir string, now time.Time) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var notes []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), tempPrefix) || !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if err != nil || now.Sub(fi.ModTime()) < staleTemp {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if err := os.Remove(p); err == nil {
			notes = append(notes, "removed "+p+", left by an interrupted write")
		}
	}
	return notes
}

func parse(certPEM, keyPEM []byte) (*CA, error) {
	cb, _ := pem.Decode(certPEM)
	if cb == nil || cb.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s is not a PEM certificate", CAFileName)
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, fmt.Errorf("%s is not a PEM key", caKeyFileName)
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", CAFileName, err)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("%s is not a CA certificate", CAFileName)
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", caKeyFileName, err)
	}
	if pub, ok := cert.PublicKey.(*ecdsa.PublicKey); !ok || !pub.Equal(&key.PublicKey) {
		return nil, fmt.Errorf("%s is not the key of %s", caKeyFileName, CAFileName)
	}
	return &CA{Cert: cert, key: key, pem: bytes.Clone(certPEM)}, nil
}

// tempPrefix names the temporary files writeFiles makes; LoadOrCreate removes stale ones.
const tempPrefix = ".tmp-"

type file struct {
	path string
	data []byte
	mode os.FileMode
}

// writeFiles replaces each file atomically: every one is written to a temporary file in
// dir and fsynced, then all are renamed in order and dir is fsynced, so a crash leaves
// either the old files or the new ones (and at worst a temporary file, which the next
// load removes). The key goes first: a crash between the renames leaves a key that is
// not the certificate's, which LoadOrCreate refuses rather than trusting.
func writeFiles(dir string, files []file) error {
	tmps := make([]string, len(files))
	defer func() {
		for _, t := range tmps {
			if t != "" {
				os.Remove(t)
			}
		}
	}()
	for i, f := range files {
		tmp, err := os.CreateTemp(dir, tempPrefix+"*")
		if err != nil {
			return err
		}
		tmps[i] = tmp.Name()
		err = tmp.Chmod(f.mode)
		if err == nil {
			_, err = tmp.Write(f.data)
		}
		if err == nil {
			err = tmp.Sync()
		}
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", f.path, err)
		}
	}
	for i, f := range files {
		if err := os.Rename(tmps[i], f.path); err != nil {
			return fmt.Errorf("write %s: %w", f.path, err)
		}
		tmps[i] = ""
	}
	return syncDir(dir)
}

// syncDir makes renames in dir durable. Windows cannot open a directory for syncing;
// its renames are journaled by NTFS.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// PEM returns the CA certificate in PEM form.
func (ca *CA) PEM() []byte { return ca.pem }

// Pool returns a certificate pool holding only this CA.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// Issue returns a server certificate for localhost, 127.0.0.1, ::1 and extraHosts,
// valid for a year or until the CA expires, whichever is first. A host outside the
// CA's constraints is issued all the same, and clients refuse it.
func (ca *CA) Issue(now time.Time, extraHosts ...string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	notAfter := now.Add(Validity)
	if ca.Cert.NotAfter.Before(notAfter) {
		notAfter = ca.Cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
	}
	for _, h := range extraHosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("issue server certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der, ca.Cert.Raw}, PrivateKey: key}, nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	return n
}
