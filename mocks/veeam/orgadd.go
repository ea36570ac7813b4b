package veeam

import (
	"cmp"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"strings"

	"software.sslmate.com/src/go-pkcs12"
)

// Adding an organization with modern app-only authentication (issue 14 item 2):
// POST /v8/Organizations with useApplicationOnlyAuth in exchangeOnlineSettings or
// sharePointOnlineSettings (modern-app-only.md §4.3 [C SPEC8]), in the three shapes of
// that section:
//
//   - newApplicationName and a userCode: the server registers a new application in the
//     tenant of the administrator who signed in with the code, with a certificate and
//     VB365's application permissions;
//   - applicationId, configureApplication and a userCode: it registers the certificate
//     on that existing application and grants it the permissions;
//   - applicationId alone (a prepared application): no sign-in.
//
// A real server makes Graph calls for the registration (§3.2 [I]); the mock's Entra has
// no Graph, so the server calls the directory it was given (WithEntraApplications), which
// a stack wires to its Entra mock's applications API.

// EntraApplications is the part of an Entra directory the Veeam mock registers and
// configures applications in. mocks/stack implements it on the Entra mock.
type EntraApplications interface {
	// RegisterApplication registers a new application named name in tenant (a tenant
	// id), with cert as its credential (nil: a new self-signed certificate, as VB365's
	// "Generate a new self-signed certificate"), VB365's application permissions and
	// an administrator's consent. It returns the application's id and its certificate.
	RegisterApplication(tenant, name string, cert *x509.Certificate) (appID string, used *x509.Certificate, err error)
	// ConfigureApplication registers cert (nil: a new self-signed one) on the existing
	// application appID of tenant and grants it VB365's application permissions with
	// an administrator's consent. It returns the certificate the application now holds.
	ConfigureApplication(tenant, appID string, cert *x509.Certificate) (used *x509.Certificate, err error)
}

// ErrNoApplication is what an EntraApplications returns, wrapped, for an application
// id the tenant does not have.
var ErrNoApplication = errors.New("no such application")

// WithEntraApplications gives the server the directory it registers applications in
// when it adds an organization with newApplicationName or configureApplication. Without
// it (a server pointed at the real Entra ID), such a request gets 400.
func WithEntraApplications(a EntraApplications) Option {
	return func(c *config) { c.apps = a }
}

func init() {
	handWritten["Organization_Add"] = operation{who: admins, handle: (*Server).createOrganization, coll: collectionOf("/v8/Organizations")}
}

// appOnlySettings returns the connection settings objects of a body that ask for modern
// app-only authentication.
func appOnlySettings(body map[string]any) []map[string]any {
	var out []map[string]any
	for _, k := range []string{"exchangeOnlineSettings", "sharePointOnlineSettings"} {
		if m, ok := body[k].(map[string]any); ok {
			if on, _ := m["useApplicationOnlyAuth"].(bool); on {
				out = append(out, m)
			}
		}
	}
	return out
}

// createOrganization serves POST /v8/Organizations (Organization_Add). A body without
// modern app-only authentication, newApplicationName or userCode is created as the
// collection creates any item; one with them goes through the sign-in and the
// application first, and is then stored with the application's id and certificate
// thumbprint in its connection settings, and without the user code, the certificate
// and its password.
func (s *Server) createOrganization(rq *request) (int, any, *apiError) {
	body := bodyObject(rq)
	userCode, _ := body["userCode"].(string)
	newName, _ := body["newApplicationName"].(string)
	configure, _ := body["configureApplication"].(bool)
	settings := appOnlySettings(body)
	if len(settings) == 0 {
		if userCode != "" || newName != "" || configure {
			return 0, nil, badParam("userCode, newApplicationName and configureApplication are for modern app-only authentication: set useApplicationOnlyAuth to true in exchangeOnlineSettings or sharePointOnlineSettings.")
		}
		return s.createItem(rq)
	}
	var appID, certText, certPassword string
	for _, m := range settings {
		if id, _ := m["applicationId"].(string); id != "" && appID == "" {
			appID = strings.ToLower(id)
		}
		if c, _ := m["applicationCertificate"].(string); c != "" && certText == "" {
			certText = c
			certPassword, _ = m["applicationCertificatePassword"].(string)
		}
	}
	switch {
	case newName != "" && appID != "":
		return 0, nil, badParam("Give either newApplicationName (to register a new Microsoft Entra application) or applicationId (to use an existing one), not both.")
	case newName == "" && appID == "":
		return 0, nil, badParam("Modern app-only authentication needs a Microsoft Entra application: give newApplicationName with a userCode to register one, or applicationId with applicationCertificate (and applicationCertificatePassword) in exchangeOnlineSettings or sharePointOnlineSettings to use an existing one.")
	case (newName != "" || configure) && strings.TrimSpace(userCode) == "":
		return 0, nil, badParam("A userCode is required to register or configure a Microsoft Entra application: get one with POST /v8/DeviceCode and sign in with it as a Global Administrator.")
	case newName == "" && !configure && certText == "":
		return 0, nil, badParam("applicationCertificate is required with applicationId: the Base64 string of the application's certificate.")
	}
	var cert *x509.Certificate
	var key *rsa.PrivateKey // the certificate's private key, when the server has it (apponly.go)
	if certText != "" {
		var e *apiError
		if cert, key, e = parseApplicationCertificate(certText, certPassword); e != nil {
			return 0, nil, e
		}
	}

	name, _ := body["name"].(string)
	tenant := ""
	if strings.TrimSpace(userCode) != "" {
		l, e := s.settleDeviceLogin(rq, userCode)
		switch {
		case e != nil:
			return 0, nil, e
		case l.purpose != purposeOrganization:
			return 0, nil, badParam("The device code %s was issued for another operation; get one with POST /v8/DeviceCode.", l.userCode)
		case !l.signedIn:
			return 0, nil, badParam("The sign-in with the device code %s is not complete: open %s, enter the code, sign in as a Global Administrator, then try again.%s", l.userCode, cmp.Or(l.verificationURI, "the verification page"), l.pollAdvice(rq.now))
		case !l.user.admin():
			return 0, nil, badParam("The account %s that signed in with the device code %s is not a Global Administrator of its organization; sign in with a Global Administrator account to add an organization with modern app-only authentication.", cmp.Or(l.user.UPN, "(unknown)"), l.userCode)
		}
		tenant = l.user.TenantID
		if name == "" {
			if _, domain, ok := strings.Cut(l.user.UPN, "@"); ok {
				name = strings.ToLower(domain) // [I]: VB365 reads the *.onmicrosoft.com name from Graph (§3.2)
			}
		}
	}
	if name == "" {
		for _, m := range settings {
			if n, _ := m["officeOrganizationName"].(string); n != "" && name == "" {
				name = n
			}
		}
	}
	if name == "" {
		return 0, nil, badParam("The organization's name is unknown: give name (the *.onmicrosoft.com name) or sign in with a userCode.")
	}

	if tenant != "" {
		if o, dup := s.findOrganization(func(o *Organization) bool { return strings.EqualFold(o.MSID, tenant) }); dup {
			// [A]: VB365's message is not public; one tenant is one organization.
			return 0, nil, conflict("The organization %s (Microsoft Entra tenant %s) is already added (id %s).", o.Name, tenant, o.ID)
		}
	}
	thumbprint := ""
	if cert != nil {
		thumbprint = certThumbprint(cert)
	}
	if newName != "" || configure {
		if s.apps == nil {
			return 0, nil, badParam("This server cannot register or configure Microsoft Entra applications: it is not connected to the mock Entra ID's directory (its authority is %s).", s.authority)
		}
		if cert == nil {
			// VB365 generates the self-signed certificate itself (modern-app-only.md
			// §3.1), so it holds the key its backups sign client assertions with.
			var err error
			if cert, key, err = newApplicationCertificate(cmp.Or(newName, "Veeam Backup for Microsoft 365"), rq.now); err != nil {
				return 0, nil, &apiError{Status: http.StatusInternalServerError, Message: "The application's certificate could not be generated."}
			}
		}
		var used *x509.Certificate
		var err error
		if newName != "" {
			appID, used, err = s.apps.RegisterApplication(tenant, newName, cert)
		} else {
			used, err = s.apps.ConfigureApplication(tenant, appID, cert)
		}
		switch {
		case errors.Is(err, ErrNoApplication):
			return 0, nil, badParam("The Microsoft Entra application %s was not found in the organization %s.", appID, name)
		case err != nil:
			return 0, nil, badParam("The Microsoft Entra application could not be registered: %v.", err)
		}
		thumbprint = certThumbprint(used)
		cert = used
	}

	// What is stored: the organization as the client described it, with what the
	// server learned, without what it must not keep.
	delete(body, "userCode")
	delete(body, "newApplicationName")
	delete(body, "configureApplication")
	body["name"] = name
	if _, ok := body["officeName"]; !ok {
		body["officeName"] = name
	}
	if _, ok := body["msid"]; !ok && tenant != "" {
		body["msid"] = tenant
	}
	for _, m := range settings {
		delete(m, "applicationCertificate")
		delete(m, "applicationCertificatePassword")
		m["applicationId"] = appID
		if thumbprint != "" {
			m["applicationCertificateThumbprint"] = thumbprint
		}
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return 0, nil, &apiError{Status: http.StatusInternalServerError, Message: "The organization could not be stored."}
	}
	rq.body = raw
	status, out, e := s.createItem(rq)
	if e == nil && strings.TrimSpace(userCode) != "" {
		s.logins.remove(userCode) // a sign-in adds one organization [I]
	}
	if e == nil && cert != nil {
		if id := createdID(out); id != "" {
			s.appCreds.set(id, appCredential{appID: appID, tenant: cmp.Or(tenant, name), cert: cert, key: key})
		}
	}
	return status, out, e
}

// createdID is the id of the item a create answered (the rendered item, before it is
// written).
func createdID(out any) string {
	p, ok := out.(pooledJSON)
	if !ok {
		return ""
	}
	var v struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(p.buf.Bytes(), &v)
	return strings.ToLower(v.ID)
}

// certThumbprint is a certificate's SHA-1 thumbprint in upper-case hex, as Windows and
// VB365 show it (applicationCertificateThumbprint [I]).
func certThumbprint(c *x509.Certificate) string {
	sum := sha1.Sum(c.Raw)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// parseApplicationCertificate reads applicationCertificate: the Base64 string of the
// bytes of a PFX file, opened with applicationCertificatePassword, as VB365 takes it
// (modern-app-only.md §4.3 [C]; the certificate must hold its private key). The mock also
// reads the Base64 of a DER certificate or of PEM text (a CERTIFICATE block), which a
// real server refuses [A: a leniency for tests that have no PFX at hand]. The key is the
// PFX file's RSA private key of the certificate, nil for a certificate alone (or a key
// of another kind or certificate): the server keeps it to sign its backups' client
// assertions (apponly.go).
func parseApplicationCertificate(text, password string) (*x509.Certificate, *rsa.PrivateKey, *apiError) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(text))
	if err != nil {
		return nil, nil, badParam("applicationCertificate is not a Base64 string: %v.", err)
	}
	if c, err := x509.ParseCertificate(raw); err == nil {
		return c, nil, nil
	}
	if k, c, _, err := pkcs12.DecodeChain(raw, password); err == nil {
		return c, matchingKey(k, c), nil
	} else if errors.Is(err, pkcs12.ErrIncorrectPassword) {
		return nil, nil, badParam("The password of the certificate in applicationCertificate is incorrect: give it in applicationCertificatePassword.")
	} else if isPFX(raw) {
		return nil, nil, badParam("applicationCertificate is a PFX file the server cannot open: %v. Export the certificate with its private key.", err)
	}
	rest := raw
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, nil, badParam("applicationCertificate holds a CERTIFICATE block that is not an X.509 certificate: %v.", err)
			}
			return c, nil, nil
		}
	}
	return nil, nil, badParam("applicationCertificate is not a certificate the server can read: give the Base64 of the PFX file's bytes, with its password in applicationCertificatePassword.")
}

// isPFX reports whether raw starts as a PKCS#12 file does: a DER SEQUENCE whose first
// element is the INTEGER 3 (the PFX version).
func isPFX(raw []byte) bool {
	var pfx struct {
		Version int
		Rest    asn1.RawValue `asn1:"optional"`
	}
	_, err := asn1.Unmarshal(raw, &pfx)
	return err == nil && pfx.Version == 3
}
