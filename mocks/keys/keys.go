// Package keys owns the RSA signing keys of the mocks: generation, PEM loading, the
// process-wide pool, RS256 signing, JWKS rendering and rotation with an overlap.
//
// RSA-2048 generation costs tens of milliseconds, so keys are generated once per process
// (Pooled) and shared by every stack; never per request or per scenario.
package keys

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"runtime"
	"strings"
	"sync"
	"time"
)

// Key is one RSA-2048 signing key with its self-signed certificate.
type Key struct {
	// Private is the signing key, with precomputed CRT values.
	Private *rsa.PrivateKey
	// Cert is the self-signed certificate published in x5c.
	Cert *x509.Certificate
	// KID is the base64url (unpadded) SHA-1 thumbprint of the certificate, the form Entra
	// uses for both kid and x5t.
	KID string
	// Thumbprint is the same SHA-1 thumbprint as 40 upper-case hex characters, the form the
	// Veeam REST API puts in its tokens' kid header.
	Thumbprint string
}

// Generate makes a new RSA-2048 key and a self-signed certificate with the given common name.
func Generate(commonName string) (*Key, error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generate rsa key: %w", err)
	}
	return fromPrivate(priv, nil, commonName)
}

// LoadPEM builds a Key from a PEM private key (PKCS#1 or PKCS#8) and an optional PEM
// certificate; without one a self-signed certificate is made.
func LoadPEM(keyPEM, certPEM []byte) (*Key, error) {
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		return nil, errors.New("load key: no PEM block found")
	}
	var priv *rsa.PrivateKey
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		priv = k
	} else if k8, err8 := x509.ParsePKCS8PrivateKey(block.Bytes); err8 == nil {
		rk, ok := k8.(*rsa.PrivateKey)
		if !ok {
			return nil, errors.New("load key: not an RSA key")
		}
		priv = rk
	} else {
		return nil, fmt.Errorf("load key: %w", err)
	}
	var cert *x509.Certificate
	if len(certPEM) > 0 {
		cb, _ := pem.Decode(certPEM)
		if cb == nil {
			return nil, errors.New("load key: certificate has no PEM block")
		}
		c, err := x509.ParseCertificate(cb.Bytes)
		if err != nil {
			return nil, fmt.Errorf("load key: certificate: %w", err)
		}
		cert = c
	}
	return fromPrivate(priv, cert, "vbharness mock signing key")
}

func fromPrivate(priv *rsa.PrivateKey, cert *x509.Certificate, cn string) (*Key, error) {
	priv.Precompute()
	if cert == nil {
		tmpl := &x509.Certificate{
			SerialNumber:          big.NewInt(time.Now().UnixNano()),
			Subject:               pkix.Name{CommonName: cn},
			NotBefore:             time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
			NotAfter:              time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC),
			KeyUsage:              x509.KeyUsageDigitalSignature,
			BasicConstraintsValid: true,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
		if err != nil {
			return nil, fmt.Errorf("self-sign certificate: %w", err)
		}
		if cert, err = x509.ParseCertificate(der); err != nil {
			return nil, fmt.Errorf("parse certificate: %w", err)
		}
	}
	sum := sha1.Sum(cert.Raw)
	return &Key{
		Private:    priv,
		Cert:       cert,
		KID:        base64.RawURLEncoding.EncodeToString(sum[:]),
		Thumbprint: strings.ToUpper(hex.EncodeToString(sum[:])),
	}, nil
}

// SignRS256 returns the RS256 signature of signingInput (RFC 7518 §3.3: RSASSA-PKCS1-v1_5
// with SHA-256), the third part of a JWT whose first two parts are signingInput. The
// mocks sign every token here. The signature is deterministic; tokens stay unique by
// their own claims (uti, jti, nonce), never by the signature.
//
// One RSA-2048 signature costs about a millisecond of CPU, most of what a token
// response costs, so signatures wait their turn at a process-wide gate: at most
// GOMAXPROCS (as the process started) at once, first come, first served.
func (k *Key) SignRS256(signingInput []byte) ([]byte, error) {
	sum := sha256.Sum256(signingInput)
	signGate.enter()
	defer signGate.leave()
	sig, err := rsa.SignPKCS1v15(nil, k.Private, crypto.SHA256, sum[:])
	if err != nil {
		return nil, fmt.Errorf("rs256: %w", err)
	}
	return sig, nil
}

// signGate orders the signatures of a busy server. Without it, every handler with a
// token to sign competed for the cores and Go's scheduler ran them in no particular
// order: a connection whose next request had already arrived was often served again
// at once while others waited several turns, which showed as a long tail. At the gate
// a handler waits parked, in arrival order, and the cores sign one request after
// another (docs/performance.md, "Issuance against oauth2-mock-server").
var signGate = newGate(runtime.GOMAXPROCS(0))

// ServingProcs is the GOMAXPROCS for a process whose work is serving the mocks over the
// network (vbharness mock): one more than the signature slots. With as many Ps as slots,
// a busy server had every P signing, and a connection's next request was read only when
// a P came free or the runtime's monitor polled the network (every 10 ms); which
// connection got served next was then a matter of luck, and the tail grew to five times
// the median. One more P than signers keeps reading, writing and TLS going while every
// core signs, so requests reach the gate in the order they came
// (docs/performance.md, "The p99 tail").
func ServingProcs() int { return signGate.slots + 1 }

// gate is a counting semaphore that admits waiters in the order they came.
type gate struct {
	mu      sync.Mutex
	slots   int             // how many may be inside at once
	free    int             // slots not taken
	waiting []chan struct{} // oldest first; each closed when its turn comes
}

func newGate(slots int) *gate { return &gate{slots: max(slots, 1), free: max(slots, 1)} }

// enter takes a slot, waiting behind earlier callers when none is free.
func (g *gate) enter() {
	g.mu.Lock()
	if g.free > 0 && len(g.waiting) == 0 {
		g.free--
		g.mu.Unlock()
		return
	}
	turn := make(chan struct{})
	g.waiting = append(g.waiting, turn)
	g.mu.Unlock()
	<-turn
}

// leave gives the slot to the oldest waiter, or frees it.
func (g *gate) leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.waiting) == 0 {
		g.free++
		return
	}
	turn := g.waiting[0]
	g.waiting[0] = nil
	g.waiting = g.waiting[1:]
	close(turn)
}

// queued is how many callers wait (for tests).
func (g *gate) queued() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.waiting)
}

// PrivatePEM renders the private key as PKCS#1 PEM.
func (k *Key) PrivatePEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k.Private)})
}

// CertPEM renders the certificate as PEM.
func (k *Key) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: k.Cert.Raw})
}

// pool holds the process-wide keys, one slot per index; each slot is generated once,
// on its own, so two keys can be generated at the same time on two cores.
var pool struct {
	mu    sync.Mutex
	slots []*poolSlot
}

type poolSlot struct {
	once sync.Once
	key  *Key
}

// Pooled returns the i-th process-wide key, generating it on first use. Every stack in a
// process shares these keys; rotation takes the next index instead of generating a key
// per scenario. It panics only if the system's random source fails.
func Pooled(i int) *Key {
	pool.mu.Lock()
	for len(pool.slots) <= i {
		pool.slots = append(pool.slots, &poolSlot{})
	}
	slot := pool.slots[i]
	pool.mu.Unlock()
	slot.once.Do(func() {
		k, err := Generate(fmt.Sprintf("vbharness mock signing key %d", i))
		if err != nil {
			panic(err)
		}
		slot.key = k
	})
	return slot.key
}

// Warm starts generating pooled keys 0 to n-1 in the background, each on its own
// goroutine, and returns at once. RSA-2048 generation takes tens of milliseconds per
// key; a command that will need keys (the mocks use 0 for Entra and 1 for Veeam) calls
// Warm first, so they are ready, generated side by side, when the first stack asks.
func Warm(n int) {
	for i := range n {
		go Pooled(i)
	}
}

// JWK is one key of a JSON Web Key Set as Entra publishes it: kid == x5t, x5c present,
// no alg member.
type JWK struct {
	Kty    string   `json:"kty"`
	Use    string   `json:"use"`
	Kid    string   `json:"kid"`
	X5t    string   `json:"x5t"`
	N      string   `json:"n"`
	E      string   `json:"e"`
	X5c    []string `json:"x5c"`
	Issuer string   `json:"issuer,omitempty"`
}

// JWK renders the key's public half. issuer is optional (Entra adds it to v2 keys).
func (k *Key) JWK(issuer string) JWK {
	pub := k.Private.PublicKey
	return JWK{
		Kty:    "RSA",
		Use:    "sig",
		Kid:    k.KID,
		X5t:    k.KID,
		N:      base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		E:      base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
		X5c:    []string{base64.StdEncoding.EncodeToString(k.Cert.Raw)},
		Issuer: issuer,
	}
}

// PublicKey parses a JWK back into an RSA public key.
func (j JWK) PublicKey() (*rsa.PublicKey, error) {
	if j.Kty != "RSA" {
		return nil, fmt.Errorf("jwk %q: kty %q is not RSA", j.Kid, j.Kty)
	}
	nb, err := base64.RawURLEncoding.DecodeString(j.N)
	if err != nil {
		return nil, fmt.Errorf("jwk %q: n: %w", j.Kid, err)
	}
	eb, err := base64.RawURLEncoding.DecodeString(j.E)
	if err != nil {
		return nil, fmt.Errorf("jwk %q: e: %w", j.Kid, err)
	}
	e := new(big.Int).SetBytes(eb)
	if !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31 {
		return nil, fmt.Errorf("jwk %q: bad exponent", j.Kid)
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(nb), E: int(e.Int64())}, nil
}

// Set is the keys one server signs with and publishes: the active key plus retired keys
// that stay in the JWKS until their overlap ends. Safe for concurrent use.
type Set struct {
	mu      sync.RWMutex
	active  *Key
	retired []retiredKey
	overlap time.Duration
	next    int // next pool index Rotate takes when given no key
}

type retiredKey struct {
	key   *Key
	until time.Time
}

// DefaultOverlap is how long a rotated-out key stays published.
const DefaultOverlap = 24 * time.Hour

// NewSet returns a set signing with active; retired keys stay published for overlap
// (DefaultOverlap if zero). nextPool is the pool index Rotate(nil) takes first.
func NewSet(active *Key, overlap time.Duration, nextPool int) *Set {
	if overlap <= 0 {
		overlap = DefaultOverlap
	}
	return &Set{active: active, overlap: overlap, next: nextPool}
}

// Active returns the key that signs new tokens.
func (s *Set) Active() *Key {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.active
}

// Rotate makes next the signing key (the next pooled key if nil); the old key stays
// published until now+overlap. It returns the new active key.
func (s *Set) Rotate(next *Key, now time.Time) *Key {
	s.mu.Lock()
	defer s.mu.Unlock()
	if next == nil {
		next = Pooled(s.next)
		s.next++
	}
	s.retired = append(s.retired, retiredKey{key: s.active, until: now.Add(s.overlap)})
	s.active = next
	return next
}

// Lookup finds a published key by kid (Entra form) or thumbprint (Veeam form) at now.
func (s *Set) Lookup(kid string, now time.Time) (*Key, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.active.KID == kid || s.active.Thumbprint == kid {
		return s.active, true
	}
	for _, r := range s.retired {
		if (r.key.KID == kid || r.key.Thumbprint == kid) && now.Before(r.until) {
			return r.key, true
		}
	}
	return nil, false
}

// JWKS returns the published keys at now, active first.
func (s *Set) JWKS(now time.Time, issuer string) []JWK {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []JWK{s.active.JWK(issuer)}
	for i := len(s.retired) - 1; i >= 0; i-- {
		if now.Before(s.retired[i].until) {
			out = append(out, s.retired[i].key.JWK(issuer))
		}
	}
	return out
}

// Reset drops retired keys and signs with active again.
func (s *Set) Reset(active *Key) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.active = active
	s.retired = nil
}
