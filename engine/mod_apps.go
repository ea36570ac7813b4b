package engine

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/dop251/goja"
	"software.sslmate.com/src/go-pkcs12"
)

// The applications of mock.entra (issue 14 item 6): the Entra control API's
// /_mock/applications routes, so a scenario reads the applications the Veeam mock
// registered and drives their credentials and consent.

// defaultCredentialLife is how long a certificate mock.entra.addCredential makes is
// valid unless the script says otherwise.
const defaultCredentialLife = 365 * 24 * time.Hour

// appMembers are the application functions of mock.entra.
func (m *mockModule) appMembers() []member {
	app := func(call goja.FunctionCall, what string) string {
		id := call.Argument(0)
		if !goja.IsString(id) || strings.TrimSpace(id.String()) == "" {
			m.throw("TypeError", "%s needs an application id (app_id, as mock.entra.applications() lists it)", what)
		}
		return "/_mock/applications/" + url.PathEscape(strings.TrimSpace(id.String()))
	}
	keyID := func(v goja.Value) map[string]any {
		if goja.IsString(v) {
			return map[string]any{"key_id": v.String()}
		}
		return map[string]any{}
	}
	return []member{
		m.fn("entra.applications", func(goja.FunctionCall) goja.Value {
			res, _ := m.controlJSON("entra", "GET", "/_mock/applications", nil).(*goja.Object)
			if res == nil || res.Get("applications") == nil {
				return m.vm.NewArray()
			}
			return res.Get("applications")
		}),
		m.fn("entra.application", func(call goja.FunctionCall) goja.Value {
			return m.controlJSON("entra", "GET", app(call, "mock.entra.application"), nil)
		}),
		m.fn("entra.expireCredential", func(call goja.FunctionCall) goja.Value {
			return m.controlJSON("entra", "POST", app(call, "mock.entra.expireCredential")+"/credentials/expire", keyID(call.Argument(1)))
		}),
		m.fn("entra.renewCredential", m.renewCredential(app)),
		m.fn("entra.removeCredential", func(call goja.FunctionCall) goja.Value {
			p := app(call, "mock.entra.removeCredential")
			if k := call.Argument(1); !goja.IsString(k) || k.String() == "" {
				m.throw("TypeError", "mock.entra.removeCredential needs the credential's key_id as its second argument")
			}
			return m.controlJSON("entra", "DELETE", p+"/credentials/"+url.PathEscape(call.Argument(1).String()), nil)
		}),
		m.fn("entra.revokeConsent", func(call goja.FunctionCall) goja.Value {
			return m.controlJSON("entra", "POST", app(call, "mock.entra.revokeConsent")+"/consent/revoke", map[string]any{})
		}),
		m.fn("entra.grantConsent", func(call goja.FunctionCall) goja.Value {
			return m.controlJSON("entra", "POST", app(call, "mock.entra.grantConsent")+"/consent/grant", map[string]any{})
		}),
		m.fn("entra.addCredential", m.addCredential(app)),
	}
}

// renewCredential is mock.entra.renewCredential(appId, {validFor?, keyId?}): every
// credential, or keyId's, ends validFor (default a year) after the mock clock's now.
func (m *mockModule) renewCredential(app func(goja.FunctionCall, string) string) func(goja.FunctionCall) goja.Value {
	return func(call goja.FunctionCall) goja.Value {
		p := app(call, "mock.entra.renewCredential")
		o := m.options(call.Argument(1), "mock.entra.renewCredential", "validFor", "keyId")
		life := defaultCredentialLife
		if v := optValue(o, "validFor"); v != nil {
			life = m.duration(v, "mock.entra.renewCredential validFor")
		}
		body := map[string]any{"for": life.String()}
		if k := optString(o, "keyId"); k != "" {
			body["key_id"] = k
		}
		return m.controlJSON("entra", "POST", p+"/credentials/renew", body)
	}
}

// addCredential is mock.entra.addCredential(appId, {validFor?, name?}): a new
// self-signed certificate, valid from the Entra mock's now for validFor (default a
// year), registered on the application (POST …/certificates). It answers the
// application as it is then and the certificate as an administrator holds it: its key_id,
// thumbprint, PEM, and a PFX file with its key (Base64) and that file's password,
// which PUT /v8/Organizations/{id} takes as applicationCertificate and
// applicationCertificatePassword.
func (m *mockModule) addCredential(app func(goja.FunctionCall, string) string) func(goja.FunctionCall) goja.Value {
	return func(call goja.FunctionCall) goja.Value {
		const what = "mock.entra.addCredential"
		p := app(call, what)
		o := m.options(call.Argument(1), what, "validFor", "name")
		life := defaultCredentialLife
		if v := optValue(o, "validFor"); v != nil {
			life = m.duration(v, what+" validFor")
		}
		if life <= 0 {
			m.throw("RangeError", "%s validFor must be a positive duration, such as \"8760h\"", what)
		}
		name := optString(o, "name")
		if name == "" {
			name = "vbharness " + strings.TrimPrefix(p, "/_mock/applications/")
		}
		now := m.entraNow(what)
		cert, key, err := selfSigned(name, now, now.Add(life))
		if err != nil {
			m.throw("Error", "%s: %v", what, err)
		}
		password := strings.ToLower(rand.Text()[:16])
		pfx, err := pkcs12.Modern.Encode(key, cert, nil, password)
		if err != nil {
			m.throw("Error", "%s: encode the PFX file: %v", what, err)
		}
		certPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}))
		res, _ := m.controlJSON("entra", "POST", p+"/certificates", map[string]any{
			"pem": certPEM, "start": cert.NotBefore.Format(time.RFC3339), "end": cert.NotAfter.Format(time.RFC3339),
		}).(*goja.Object) // the new credential
		sum := sha1.Sum(cert.Raw)
		created := map[string]any{"thumbprint": strings.ToUpper(hex.EncodeToString(sum[:])), "pem": certPEM,
			"pfx": base64.StdEncoding.EncodeToString(pfx), "password": password,
			"start": cert.NotBefore.Format(time.RFC3339), "end": cert.NotAfter.Format(time.RFC3339)}
		if res != nil && res.Get("key_id") != nil {
			created["keyId"] = res.Get("key_id").String()
		}
		out := m.vm.NewObject()
		_ = out.Set("application", m.controlJSON("entra", "GET", p, nil))
		_ = out.Set("certificate", created)
		return out
	}
}

// entraNow is the Entra mock's clock reading (GET /_mock/clock): the scenario's clock
// in process, the server's under --target localmock.
func (m *mockModule) entraNow(what string) time.Time {
	res, _ := m.controlJSON("entra", "GET", "/_mock/clock", nil).(*goja.Object)
	if res != nil && res.Get("now") != nil {
		if t, err := time.Parse(time.RFC3339Nano, res.Get("now").String()); err == nil {
			return t
		}
	}
	m.throw("Error", "%s: the Entra mock's clock could not be read", what)
	return time.Time{}
}

// credentialKey is the process-wide RSA key of the certificates addCredential makes,
// made at the first use, as the Veeam mock's (mocks/veeam applicationKey): generating a
// 2048-bit key is slow. Each certificate still has its own thumbprint, which is what
// Entra and the Veeam mock tell credentials apart by.
var credentialKey = sync.OnceValues(func() (*rsa.PrivateKey, error) {
	return rsa.GenerateKey(rand.Reader, 2048)
})

// selfSigned is a self-signed client-authentication certificate valid from notBefore
// to notAfter, and its RSA key.
func selfSigned(name string, notBefore, notAfter time.Time) (*x509.Certificate, *rsa.PrivateKey, error) {
	key, err := credentialKey()
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: name},
		NotBefore: notBefore.UTC().Truncate(time.Second), NotAfter: notAfter.UTC().Truncate(time.Second),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}
