package entra

import (
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
	"net/url"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v4"
)

// The applications directory: app registrations as VB365 creates them for modern
// app-only authentication (modern-app-only.md §2, §3), with certificate and secret
// credentials, application permissions per resource and admin consent. They are the
// directory's apps (App) with a home tenant and credentials; the client-credentials
// grant (token.go, assertion.go) reads them, and the control API and the Go methods
// below change them.

// DefaultApplicationID is the application the default Veeam organization
// (abc.onmicrosoft.com) was added with; the Veeam mock's default fixtures use the same
// id as the organization's applicationId.
const DefaultApplicationID = "c3a8f1d2-6b4e-4f0a-9d7c-1e5b2a8f3c60"

// DefaultApplicationName is its display name (app_displayname in tokens). VB365 takes
// the name from newApplicationName; this one is the mock's choice [I].
const DefaultApplicationName = "Veeam Backup for Microsoft 365"

// DefaultApplicationKeyID is the keyId of the default application's certificate.
const DefaultApplicationKeyID = "7d3f2b1a-9c8e-4d6f-a5b4-3c2d1e0f9a8b"

// Validity of the default application's certificate [I]: VB365's self-signed
// certificate lifetime is not published. It spans clock.DefaultStart and today's wall
// clock, so both the in-process and the standalone mock accept it until the control
// API expires it or a clock moves past it.
var (
	defaultCertNotBefore = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	defaultCertNotAfter  = time.Date(2035, 1, 1, 0, 0, 0, 0, time.UTC)
)

// Values of App.Consent.
const (
	ConsentGranted = "granted"
	ConsentRevoked = "revoked"
)

// Permissions are application permissions (app-role values, as tokens carry them in
// roles) granted on each resource VB365 uses (modern-app-only.md §2).
type Permissions struct {
	// Graph are Microsoft Graph's (https://graph.microsoft.com, 00000003-0000-0000-c000-000000000000).
	Graph []string `json:"graph,omitempty" yaml:"graph,omitempty"`
	// Exchange are Office 365 Exchange Online's (https://outlook.office365.com,
	// 00000002-0000-0ff1-ce00-000000000000).
	Exchange []string `json:"exchange,omitempty" yaml:"exchange,omitempty"`
	// SharePoint are Office 365 SharePoint Online's (https://<tenant>.sharepoint.com,
	// 00000003-0000-0ff1-ce00-000000000000).
	SharePoint []string `json:"sharepoint,omitempty" yaml:"sharepoint,omitempty"`
}

func (p Permissions) clone() Permissions {
	return Permissions{
		Graph:      append([]string(nil), p.Graph...),
		Exchange:   append([]string(nil), p.Exchange...),
		SharePoint: append([]string(nil), p.SharePoint...),
	}
}

// of returns the permissions granted on the resource named by key.
func (p Permissions) of(key string) []string {
	switch key {
	case resourceGraph:
		return p.Graph
	case resourceExchange:
		return p.Exchange
	case resourceSharePoint:
		return p.SharePoint
	}
	return nil
}

// VB365ApplicationPermissions returns the application permissions VB365 needs for
// modern app-only authentication (modern-app-only.md §2, UG build 8.5): the backup
// table, including the four Graph permissions the guide says to grant manually, and
// the application-certificate restore table. The default application holds them; the
// Veeam mock grants them to an application it registers. Each call returns a fresh copy.
func VB365ApplicationPermissions() Permissions {
	return Permissions{
		Graph: []string{
			"Directory.Read.All", "Group.Read.All", "Sites.Read.All", "TeamSettings.ReadWrite.All",
			"ChannelMessage.Read.All", "ChannelMember.Read.All",
			"User.Read.All", "MailboxItem.ImportExport.All", "MailboxFolder.ReadWrite.All", "MailboxItem.Read.All",
			"Group.ReadWrite.All", "Directory.ReadWrite.All", "Files.ReadWrite.All", "ChannelMember.ReadWrite.All",
		},
		Exchange:   []string{"full_access_as_app", "Exchange.ManageAsApp"},
		SharePoint: []string{"Sites.FullControl.All", "User.Read.All"},
	}
}

// Resources an app-only token can be requested for ("<resource>/.default").
const (
	resourceGraph      = "graph"
	resourceExchange   = "exchange"
	resourceSharePoint = "sharepoint"
)

// Application ids of the resources (modern-app-only.md §2, ScubaGear's list [R]).
const (
	ExchangeAppID   = "00000002-0000-0ff1-ce00-000000000000"
	SharePointAppID = "00000003-0000-0ff1-ce00-000000000000"
)

// resource is one API an app-only token can be for.
type resource struct {
	key  string // the Permissions field
	name string // the service principal's display name
	id   string // its application id
}

var resources = []resource{
	{resourceGraph, "Microsoft Graph", GraphAppID},
	{resourceExchange, "Office 365 Exchange Online", ExchangeAppID},
	{resourceSharePoint, "Office 365 SharePoint Online", SharePointAppID},
}

// resolveResource maps the resource part of a "<resource>/.default" scope to a known
// resource and the aud its tokens carry: the application id when it was given as a
// GUID, else the resource URI as https://host [I: the URI forms of Exchange
// (outlook.office365.com, outlook.office.com) and SharePoint (<tenant>.sharepoint.com)
// are not in the reference; VB365's exact resource URIs are [?]].
func resolveResource(id string) (resource, string, bool) {
	if isGUID(id) {
		for _, r := range resources {
			if strings.EqualFold(r.id, id) {
				return r, r.id, true
			}
		}
		return resource{}, "", false
	}
	u, err := url.Parse(id)
	if err != nil || u.Scheme != "https" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
		return resource{}, "", false
	}
	host := strings.ToLower(u.Host)
	switch {
	case host == "graph.microsoft.com":
		return resources[0], GraphResource, true
	case host == "outlook.office365.com" || host == "outlook.office.com":
		return resources[1], "https://" + host, true
	case strings.HasSuffix(host, ".sharepoint.com") && domainRE.MatchString(host):
		return resources[2], "https://" + host, true
	}
	return resource{}, "", false
}

// Certificate is one certificate credential of an app: an Entra keyCredential of type
// AsymmetricX509Cert with usage Verify (modern-app-only.md §1.2). Entra matches the
// assertion header's thumbprint against SHA-1 (x5t) and SHA-256 (x5t#S256) of the
// certificate's DER encoding.
type Certificate struct {
	// KeyID is the credential's keyId (a GUID); registering fills it when empty.
	KeyID string
	// Cert is the X.509 certificate; only its public key and DER encoding are used.
	Cert *x509.Certificate
	// Start and End are the credential's startDateTime and endDateTime; zero means the
	// certificate's NotBefore and NotAfter. Outside them the credential is refused.
	Start, End time.Time
}

// start is when the credential starts to work.
func (c Certificate) start() time.Time {
	if !c.Start.IsZero() || c.Cert == nil {
		return c.Start
	}
	return c.Cert.NotBefore.UTC()
}

// end is when the credential stops working.
func (c Certificate) end() time.Time {
	if !c.End.IsZero() || c.Cert == nil {
		return c.End
	}
	return c.Cert.NotAfter.UTC()
}

// thumbprintHex is the SHA-1 thumbprint as 40 upper-case hex characters, the form the
// portal and AADSTS700027 show.
func (c Certificate) thumbprintHex() string {
	sum := sha1.Sum(c.Cert.Raw)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// matches reports whether a decoded header thumbprint names this certificate: 20
// bytes are SHA-1, 32 bytes SHA-256.
func (c Certificate) matches(thumb []byte) bool {
	switch len(thumb) {
	case sha1.Size:
		sum := sha1.Sum(c.Cert.Raw)
		return string(sum[:]) == string(thumb)
	case sha256.Size:
		sum := sha256.Sum256(c.Cert.Raw)
		return string(sum[:]) == string(thumb)
	}
	return false
}

// CertificateFromPEM parses the first CERTIFICATE block of pemText into a credential
// with the certificate's own validity. The key must be RSA: Entra verifies client
// assertions with RS256 or PS256.
func CertificateFromPEM(pemText string) (Certificate, error) {
	rest := []byte(pemText)
	var block *pem.Block
	for {
		if block, rest = pem.Decode(rest); block == nil || block.Type == "CERTIFICATE" {
			break
		}
	}
	if block == nil {
		return Certificate{}, errors.New("no PEM CERTIFICATE block found; give the certificate as -----BEGIN CERTIFICATE-----")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return Certificate{}, fmt.Errorf("the CERTIFICATE block does not parse: %w", err)
	}
	if _, ok := cert.PublicKey.(*rsa.PublicKey); !ok {
		return Certificate{}, fmt.Errorf("the certificate's key is %s; Entra needs an RSA key (client assertions are RS256 or PS256)", cert.PublicKeyAlgorithm)
	}
	return Certificate{Cert: cert}, nil
}

// fileCertificate is a certificate in a config file.
type fileCertificate struct {
	KeyID string    `yaml:"key_id"`
	PEM   string    `yaml:"pem"`
	Start time.Time `yaml:"start"`
	End   time.Time `yaml:"end"`
}

// UnmarshalYAML reads a config file's certificate: {pem, key_id, start, end}. Errors
// name the line, as every config error does.
func (c *Certificate) UnmarshalYAML(n *yaml.Node) error {
	fail := func(line int, format string, args ...any) error {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %s", line, fmt.Sprintf(format, args...))}}
	}
	if n.Kind != yaml.MappingNode {
		return fail(n.Line, "a certificate must be a mapping with pem: (and optionally key_id:, start:, end:)")
	}
	var f fileCertificate
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		var err error
		switch k.Value {
		case "key_id":
			err = v.Decode(&f.KeyID)
		case "pem":
			err = v.Decode(&f.PEM)
		case "start", "end":
			var s string
			if err = v.Decode(&s); err == nil {
				t, perr := time.Parse(time.RFC3339, s)
				if perr != nil {
					return fail(v.Line, "certificate %s %q is not an RFC 3339 time; write it as 2027-01-01T00:00:00Z", k.Value, s)
				}
				t = t.UTC()
				if k.Value == "start" {
					f.Start = t
				} else {
					f.End = t
				}
			}
		default:
			return fail(k.Line, "unknown field %q in a certificate; valid fields are key_id, pem, start, end", k.Value)
		}
		if err != nil {
			return fail(v.Line, "certificate %s must be text", k.Value)
		}
	}
	if f.PEM == "" {
		return fail(n.Line, "the certificate has no pem:; paste the PEM certificate (-----BEGIN CERTIFICATE----- …)")
	}
	cert, err := CertificateFromPEM(f.PEM)
	if err != nil {
		return fail(n.Line, "certificate pem: %v", err)
	}
	cert.KeyID, cert.Start, cert.End = f.KeyID, f.Start, f.End
	*c = cert
	return nil
}

// AppCertificate is an application certificate with its private key: what a client
// (VB365, a test) holds to sign client assertions.
type AppCertificate struct {
	Cert *x509.Certificate
	Key  *rsa.PrivateKey
}

// Credential returns the certificate as a credential to register, with its own validity.
func (a AppCertificate) Credential() Certificate { return Certificate{Cert: a.Cert} }

// CertPEM renders the certificate as PEM.
func (a AppCertificate) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.Cert.Raw})
}

// KeyPEM renders the private key as PKCS#8 PEM ("PRIVATE KEY"), which MSAL's
// confidential.CertFromPEM reads.
func (a AppCertificate) KeyPEM() []byte {
	der, _ := x509.MarshalPKCS8PrivateKey(a.Key)
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// applicationKey is the process-wide RSA key of generated application certificates,
// generated on first use: RSA-2048 generation costs about 0.2 s, so it happens once per
// process, never per stack. It is no server's signing key, so holding it forges no
// token. It panics only if the system's random source fails, as keys.Pooled does.
var applicationKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(fmt.Sprintf("entra: generate application key: %v", err))
	}
	k.Precompute()
	return k
})

// GenerateAppCertificate makes a self-signed certificate for subject, valid from
// notBefore to notAfter, as VB365 does for a new application. Every generated
// certificate shares the process-wide application key (its certificate, serial and
// thumbprints differ), so this costs one RSA signature, not a key generation; register
// a certificate of your own key (CertificateFromPEM) when a test needs distinct keys.
func GenerateAppCertificate(subject string, notBefore, notAfter time.Time) (AppCertificate, error) {
	return selfSignedCert(applicationKey(), subject, notBefore, notAfter)
}

// selfSignedCert makes a self-signed client-authentication certificate of key.
func selfSignedCert(key *rsa.PrivateKey, subject string, notBefore, notAfter time.Time) (AppCertificate, error) {
	if !notAfter.After(notBefore) {
		return AppCertificate{}, fmt.Errorf("certificate validity: notAfter %s is not after notBefore %s", notAfter.Format(time.RFC3339), notBefore.Format(time.RFC3339))
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return AppCertificate{}, fmt.Errorf("certificate serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: subject},
		NotBefore:             notBefore.UTC(),
		NotAfter:              notAfter.UTC(),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return AppCertificate{}, fmt.Errorf("self-sign application certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return AppCertificate{}, fmt.Errorf("parse application certificate: %w", err)
	}
	return AppCertificate{Cert: cert, Key: key}, nil
}

// DefaultAppCertificate returns the certificate and key of DefaultApplicationID,
// generated once per process (the first call costs about 0.2 s), valid from
// 2025-01-01 to 2035-01-01 [I]. The Veeam mock signs the default organization's client
// assertions with it.
func DefaultAppCertificate() AppCertificate { return defaultAppCertificate() }

// Warm starts generating DefaultAppCertificate in the background and returns at once.
// DefaultDirectory needs it, so the first New of a process waits for it; a command
// that will build servers calls Warm early, as it calls keys.Warm.
func Warm() { go DefaultAppCertificate() }

var defaultAppCertificate = sync.OnceValue(func() AppCertificate {
	c, err := GenerateAppCertificate(DefaultApplicationName, defaultCertNotBefore, defaultCertNotAfter)
	if err != nil {
		panic(fmt.Sprintf("entra: default application certificate: %v", err))
	}
	return c
})

// defaultApplication is the application the default Veeam organization was added
// with: tenant-bound to abc.onmicrosoft.com, DefaultAppCertificate as its credential,
// VB365ApplicationPermissions with consent, and "Allow public client flows" on, as
// VB365 sets it for device-code restores (modern-app-only.md §3.1), so it also signs
// users in without a credential.
func defaultApplication() App {
	return App{
		ClientID:     DefaultApplicationID,
		DisplayName:  DefaultApplicationName,
		PublicClient: true,
		Tenant:       DefaultTenant,
		Certificates: []Certificate{{KeyID: DefaultApplicationKeyID, Cert: DefaultAppCertificate().Cert}},
		Permissions:  VB365ApplicationPermissions(),
	}
}

// RestorePortalApplicationID is the Restore Portal application of the default
// directory: the id GET /v8/RestorePortalSettings names as applicationId in the Veeam
// mock's default fixtures (mocks/stack tests that the two agree).
const RestorePortalApplicationID = "5e0c7a2b-9f41-4d86-a3b7-c2e8f1d60a95"

// RestorePortalApplicationName is its display name. VB365 takes the name from the
// Restore Portal wizard (modern-app-only.md §3.3); this one is the mock's choice [I].
const RestorePortalApplicationName = "Veeam Backup for Microsoft 365 Restore Portal"

// OperatorScope is the delegated scope the Restore Portal application exposes, which
// restore operators sign in for (veeam.md §1.2 [C DOC-OPER]): the full scope is
// "api://<applicationId>/access_as_user".
const OperatorScope = "access_as_user"

// restorePortalApplication is the Restore Portal application: a public client ("Allow
// public client flows", as shapedthought/vb365_search signs operators in by device
// code with the portal's own id [R], modern-app-only.md §3.3) that exposes
// OperatorScope at api://RestorePortalApplicationID. It exists in every tenant, as a
// multi-tenant ("enterprise") registration does, so operators of any tenant of the
// directory can sign in [I: VB365's wizard registers a single-tenant app unless it is
// configured by hand]. Its tokens are v1 (AccessTokenVersion 0, Entra's default for a
// new registration; how VB365 sets the manifest is [?]).
func restorePortalApplication() App {
	return App{
		ClientID:      RestorePortalApplicationID,
		DisplayName:   RestorePortalApplicationName,
		PublicClient:  true,
		ExposedScopes: []string{OperatorScope},
	}
}

// hasCredentials reports whether the app holds a secret or a certificate.
func (a *App) hasCredentials() bool { return a.ClientSecret != "" || len(a.Certificates) > 0 }

// consented reports whether an administrator's consent stands.
func (a *App) consented() bool { return !strings.EqualFold(a.Consent, ConsentRevoked) }

// inTenant reports whether the app exists in tenant t (nil: common or organizations).
func (a *App) inTenant(t *Tenant) bool {
	return a.Tenant == "" || t == nil || strings.EqualFold(a.Tenant, t.Domain) || strings.EqualFold(a.Tenant, t.ID)
}

// secretKeyID is the keyId the control API gives an app's client secret.
func secretKeyID(appID string) string { return derivedGUID("secret", appID) }

// servicePrincipalID is the object id of the app's service principal in tenant tid:
// oid and sub of its app-only tokens (modern-app-only.md §1.6: a stable GUID per app
// and tenant that differs from the app id).
func servicePrincipalID(appID, tid string) string { return derivedGUID("sp", appID, tid) }

// Sentinel errors of the application operations; the control API maps them to 404,
// 400 and 409.
var (
	ErrUnknownApplication = errors.New("unknown application")
	ErrUnknownCredential  = errors.New("unknown credential")
	ErrInvalidApplication = errors.New("invalid application")
	ErrApplicationExists  = errors.New("application already exists")
)

// Credential types and states as ApplicationInfo lists them.
const (
	CredentialCertificate = "certificate"
	CredentialSecret      = "secret"

	CredentialValid       = "valid"
	CredentialExpired     = "expired"
	CredentialNotYetValid = "not_yet_valid"
)

// ApplicationInfo is one application as GET /_mock/applications lists it. Secrets
// and private keys never appear.
type ApplicationInfo struct {
	AppID       string `json:"app_id"`
	DisplayName string `json:"display_name"`
	// Tenant is the home tenant's domain; absent for apps that exist in every tenant.
	Tenant string `json:"tenant,omitempty"`
	// ServicePrincipalID is the oid (and sub) of the app's tokens in its home tenant.
	ServicePrincipalID string           `json:"service_principal_id,omitempty"`
	PublicClient       bool             `json:"public_client"`
	Enabled            bool             `json:"enabled"`
	Consent            string           `json:"consent"` // ConsentGranted or ConsentRevoked
	Permissions        Permissions      `json:"permissions"`
	Credentials        []CredentialInfo `json:"credentials"`
}

// CredentialInfo is one credential of an application.
type CredentialInfo struct {
	KeyID string `json:"key_id"`
	Type  string `json:"type"` // CredentialCertificate or CredentialSecret
	// Thumbprint is a certificate's SHA-1 thumbprint, 40 upper-case hex characters.
	Thumbprint string `json:"thumbprint,omitempty"`
	// X5t and X5tS256 are the header values a client assertion names it with:
	// base64url SHA-1 and SHA-256 of the DER encoding.
	X5t     string `json:"x5t,omitempty"`
	X5tS256 string `json:"x5t#S256,omitempty"`
	Subject string `json:"subject,omitempty"`
	Start   string `json:"start,omitempty"` // RFC 3339
	End     string `json:"end,omitempty"`   // RFC 3339; absent for a secret that never expires
	State   string `json:"state"`           // CredentialValid, CredentialExpired or CredentialNotYetValid
}

// credentialState is the state of a credential valid from start to end (zero: no
// bound) at now.
func credentialState(start, end, now time.Time) string {
	switch {
	case !end.IsZero() && !now.Before(end):
		return CredentialExpired
	case !start.IsZero() && now.Before(start):
		return CredentialNotYetValid
	}
	return CredentialValid
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// info renders a in dir at now.
func (a *App) info(dir *directory, now time.Time) ApplicationInfo {
	in := ApplicationInfo{
		AppID: a.ClientID, DisplayName: a.DisplayName, PublicClient: a.PublicClient,
		Enabled: !a.Disabled, Consent: ConsentGranted, Permissions: a.Permissions.clone(),
		Credentials: []CredentialInfo{},
	}
	if !a.consented() {
		in.Consent = ConsentRevoked
	}
	if a.Tenant != "" {
		in.Tenant = a.Tenant
		if t, ok := dir.tenant(a.Tenant); ok {
			in.Tenant = t.Domain
			in.ServicePrincipalID = servicePrincipalID(a.ClientID, t.ID)
		}
	}
	for _, c := range a.Certificates {
		in.Credentials = append(in.Credentials, c.info(now))
	}
	if a.ClientSecret != "" {
		in.Credentials = append(in.Credentials, CredentialInfo{
			KeyID: secretKeyID(a.ClientID), Type: CredentialSecret, End: rfc3339(a.ClientSecretEnd),
			State: credentialState(time.Time{}, a.ClientSecretEnd, now),
		})
	}
	return in
}

func (c Certificate) info(now time.Time) CredentialInfo {
	s1 := sha1.Sum(c.Cert.Raw)
	s256 := sha256.Sum256(c.Cert.Raw)
	return CredentialInfo{
		KeyID: c.KeyID, Type: CredentialCertificate, Thumbprint: c.thumbprintHex(),
		X5t:     base64.RawURLEncoding.EncodeToString(s1[:]),
		X5tS256: base64.RawURLEncoding.EncodeToString(s256[:]),
		Subject: c.Cert.Subject.String(), Start: rfc3339(c.start()), End: rfc3339(c.end()),
		State: credentialState(c.start(), c.end(), now),
	}
}

// Applications lists every app of the directory, in directory order, at the clock's now.
func (s *Server) Applications() []ApplicationInfo {
	dir, now := s.store.directory(), s.clk.Now()
	out := make([]ApplicationInfo, 0, len(dir.src.Apps))
	for i := range dir.src.Apps {
		out = append(out, dir.src.Apps[i].info(dir, now))
	}
	return out
}

// Application returns one app by id; the error wraps ErrUnknownApplication.
func (s *Server) Application(appID string) (ApplicationInfo, error) {
	dir := s.store.directory()
	a, ok := dir.app(appID)
	if !ok {
		return ApplicationInfo{}, unknownApp(appID)
	}
	return a.info(dir, s.clk.Now()), nil
}

func unknownApp(appID string) error {
	return fmt.Errorf("%w %q; GET /_mock/applications lists them", ErrUnknownApplication, appID)
}

// RegisterApplication adds a to the directory, as VB365 does when it adds an
// organization with newApplicationName: an empty ClientID gets a new GUID and an empty
// certificate KeyID a new one. The app is checked as a config file's apps are (errors
// wrap ErrInvalidApplication, or ErrApplicationExists for a taken id). Reset forgets
// it. Typical use: GenerateAppCertificate, then RegisterApplication with
// Certificates: []Certificate{cert.Credential()}, Tenant and VB365ApplicationPermissions().
func (s *Server) RegisterApplication(a App) (ApplicationInfo, error) {
	a = cloneApp(a)
	if a.ClientID == "" {
		a.ClientID = newGUID()
	}
	for i := range a.Certificates {
		if a.Certificates[i].KeyID == "" {
			a.Certificates[i].KeyID = newGUID()
		}
	}
	var out ApplicationInfo
	err := s.store.updateDirectory(func(d *Directory) error {
		if findApp(d, a.ClientID) >= 0 {
			return fmt.Errorf("%w: %q is taken", ErrApplicationExists, a.ClientID)
		}
		if msg, _ := appProblem(&a, d.Tenants); msg != "" {
			return fmt.Errorf("%w: %s%s", ErrInvalidApplication, appName(&a, len(d.Apps)), msg)
		}
		d.Apps = append(d.Apps, a)
		return nil
	}, func(dir *directory) {
		out = mustApp(dir, a.ClientID).info(dir, s.clk.Now())
	})
	return out, err
}

// AddCertificate registers another certificate credential on an app (Graph's addKey).
// An empty KeyID gets a new GUID; a certificate the app already holds is refused.
func (s *Server) AddCertificate(appID string, c Certificate) (CredentialInfo, error) {
	if c.KeyID == "" {
		c.KeyID = newGUID()
	}
	var out CredentialInfo
	err := s.editApp(appID, func(a *App, tenants []Tenant) error {
		a.Certificates = append(a.Certificates, c)
		if msg, _ := appProblem(a, tenants); msg != "" {
			return fmt.Errorf("%w: %s%s", ErrInvalidApplication, appName(a, 0), msg)
		}
		out = c.info(s.clk.Now())
		return nil
	})
	return out, err
}

// ExpireCredentials ends credentials at the clock's now: the one with keyID, or every
// credential of the app when keyID is empty. The app's next client assertion with an
// expired certificate gets AADSTS1000502, a secret AADSTS7000222.
func (s *Server) ExpireCredentials(appID, keyID string) (ApplicationInfo, error) {
	now := s.clk.Now()
	return s.setCredentialEnd(appID, keyID, func(start, end time.Time) (time.Time, error) {
		if !end.IsZero() && !end.After(now) {
			return end, nil // already expired: keep when it did
		}
		return now, nil
	})
}

// RenewCredentials moves the end of a credential (keyID) or of every credential of the
// app (empty keyID) to end, so a certificate that expired on the clock works again, as
// renewing it in the portal would.
func (s *Server) RenewCredentials(appID, keyID string, end time.Time) (ApplicationInfo, error) {
	return s.setCredentialEnd(appID, keyID, func(start, _ time.Time) (time.Time, error) {
		if !start.IsZero() && !end.After(start) {
			return time.Time{}, fmt.Errorf("%w: end %s is not after the credential's start %s", ErrInvalidApplication, rfc3339(end), rfc3339(start))
		}
		return end.UTC(), nil
	})
}

func (s *Server) setCredentialEnd(appID, keyID string, f func(start, end time.Time) (time.Time, error)) (ApplicationInfo, error) {
	var out ApplicationInfo
	err := s.editApp(appID, func(a *App, _ []Tenant) error {
		found := false
		for i := range a.Certificates {
			c := &a.Certificates[i]
			if keyID != "" && !strings.EqualFold(c.KeyID, keyID) {
				continue
			}
			found = true
			end, err := f(c.start(), c.end())
			if err != nil {
				return err
			}
			c.End = end
		}
		if a.ClientSecret != "" && (keyID == "" || strings.EqualFold(keyID, secretKeyID(a.ClientID))) {
			found = true
			end, err := f(time.Time{}, a.ClientSecretEnd)
			if err != nil {
				return err
			}
			a.ClientSecretEnd = end
		}
		if !found {
			return unknownCredential(a.ClientID, keyID)
		}
		return nil
	}, func(dir *directory) {
		out = mustApp(dir, appID).info(dir, s.clk.Now())
	})
	return out, err
}

func unknownCredential(appID, keyID string) error {
	if keyID == "" {
		return fmt.Errorf("%w: application %q has no credentials", ErrUnknownCredential, appID)
	}
	return fmt.Errorf("%w %q on application %q; GET /_mock/applications/%s lists its key ids", ErrUnknownCredential, keyID, appID, appID)
}

// RemoveCredential deletes one credential (Graph's removeKey or removePassword).
func (s *Server) RemoveCredential(appID, keyID string) error {
	return s.editApp(appID, func(a *App, _ []Tenant) error {
		for i := range a.Certificates {
			if strings.EqualFold(a.Certificates[i].KeyID, keyID) {
				a.Certificates = append(a.Certificates[:i:i], a.Certificates[i+1:]...)
				return nil
			}
		}
		if a.ClientSecret != "" && strings.EqualFold(keyID, secretKeyID(a.ClientID)) {
			a.ClientSecret, a.ClientSecretEnd = "", time.Time{}
			return nil
		}
		return unknownCredential(a.ClientID, keyID)
	})
}

// ConfigureApplication does what VB365's "Grant the required permissions to this
// application and register its certificate in Microsoft Entra ID" does for an existing
// application (modern-app-only.md §3.1, §3.2 steps 4-5): it registers c unless the app
// already holds that certificate, adds p to the app's permissions and grants an
// administrator's consent. tenant (a domain or id; empty: any) must be one the app
// exists in, else the error wraps ErrUnknownApplication, as for an unknown id.
func (s *Server) ConfigureApplication(tenant, appID string, c Certificate, p Permissions) (ApplicationInfo, error) {
	var out ApplicationInfo
	err := s.editApp(appID, func(a *App, tenants []Tenant) error {
		if tenant != "" && a.Tenant != "" {
			for i := range tenants {
				t := &tenants[i]
				if (strings.EqualFold(tenant, t.ID) || strings.EqualFold(tenant, t.Domain)) && !a.inTenant(t) {
					return unknownApp(appID)
				}
			}
		}
		held := false
		for _, have := range a.Certificates {
			held = held || have.Cert.Equal(c.Cert)
		}
		if !held {
			if c.KeyID == "" {
				c.KeyID = newGUID()
			}
			a.Certificates = append(a.Certificates, c)
		}
		a.Permissions = Permissions{
			Graph:      union(a.Permissions.Graph, p.Graph),
			Exchange:   union(a.Permissions.Exchange, p.Exchange),
			SharePoint: union(a.Permissions.SharePoint, p.SharePoint),
		}
		a.Consent = ConsentGranted
		if msg, _ := appProblem(a, tenants); msg != "" {
			return fmt.Errorf("%w: %s%s", ErrInvalidApplication, appName(a, 0), msg)
		}
		return nil
	}, func(dir *directory) {
		out = mustApp(dir, appID).info(dir, s.clk.Now())
	})
	return out, err
}

// union is a's values followed by those of b it lacks (case-insensitively).
func union(a, b []string) []string {
	out := append([]string(nil), a...)
	for _, v := range b {
		found := false
		for _, have := range out {
			found = found || strings.EqualFold(have, v)
		}
		if !found {
			out = append(out, v)
		}
	}
	return out
}

// SetConsent grants or revokes an administrator's consent to the app's permissions.
// While it is revoked, app-only tokens carry no roles (Assumptions.RevokedConsent).
func (s *Server) SetConsent(appID string, granted bool) (ApplicationInfo, error) {
	return s.editInfo(appID, func(a *App) {
		a.Consent = ConsentGranted
		if !granted {
			a.Consent = ConsentRevoked
		}
	})
}

// SetEnabled enables or disables the app's service principal; a disabled app gets
// AADSTS7000112 at the token endpoint.
func (s *Server) SetEnabled(appID string, enabled bool) (ApplicationInfo, error) {
	return s.editInfo(appID, func(a *App) { a.Disabled = !enabled })
}

func (s *Server) editInfo(appID string, f func(*App)) (ApplicationInfo, error) {
	var out ApplicationInfo
	err := s.editApp(appID, func(a *App, _ []Tenant) error { f(a); return nil }, func(dir *directory) {
		out = mustApp(dir, appID).info(dir, s.clk.Now())
	})
	return out, err
}

// editApp changes one app of the directory; an error leaves the directory as it was.
func (s *Server) editApp(appID string, f func(*App, []Tenant) error, after ...func(*directory)) error {
	return s.store.updateDirectory(func(d *Directory) error {
		i := findApp(d, appID)
		if i < 0 {
			return unknownApp(appID)
		}
		return f(&d.Apps[i], d.Tenants)
	}, after...)
}

// findApp returns the index of the app with appID in d, or -1.
func findApp(d *Directory, appID string) int {
	for i := range d.Apps {
		if strings.EqualFold(d.Apps[i].ClientID, appID) {
			return i
		}
	}
	return -1
}

// mustApp looks up an app that the caller has just written.
func mustApp(dir *directory, appID string) *App {
	a, _ := dir.app(appID)
	return a
}

// cloneApp deep-copies a, so the directory never shares a caller's slices.
func cloneApp(a App) App {
	d := Directory{Apps: []App{a}}.clone()
	return d.Apps[0]
}

// updateDirectory replaces the directory with a copy changed by f (copy on write:
// handlers keep reading the directory they took, without locks). after runs on the new
// directory under the same lock, so what it reads is what f wrote. An error from f
// leaves the directory as it was.
func (s *store) updateDirectory(f func(*Directory) error, after ...func(*directory)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.dir.src.clone()
	if err := f(&d); err != nil {
		return err
	}
	s.dir = newDirectory(d)
	for _, g := range after {
		g(s.dir)
	}
	return nil
}
