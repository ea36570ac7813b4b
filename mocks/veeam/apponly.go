package veeam

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Backups with app-only tokens (issue 14 item 4). A VB365 server backs up a modern
// app-only organization as its Entra application: at every job run it gets app-only
// tokens from Microsoft Entra ID with the client-credentials grant and a certificate
// client assertion (RFC 7523; modern-app-only.md §1, §2 [I: which resources VB365 asks
// for, and when, is not public]). The mock does the same when a backup or copy
// job of an organization it added with modern app-only authentication starts (by
// itself on the clock or by POST …/start): it asks the Entra it verifies assertions
// with (WithAuthority, through WithHTTPClient, as its device codes do) for a Microsoft
// Graph token, and an Exchange Online one when the organization backs up Exchange.
// Entra's refusal (a certificate past its validity on the clock, a removed credential,
// a disabled application) or a token without application permissions (consent
// revoked) fails the run at its start, with a log entry naming Entra's AADSTS error.
//
// The private key is the server's to keep: it is never served, journaled or written to
// the state file. It is the key of the certificate the server generated for
// newApplicationName or configureApplication, or the key of the PFX file given in
// applicationCertificate (POST, or PUT /v8/Organizations/{id} to renew it). An
// organization given a certificate alone (DER or PEM, the mock's leniency) has no key,
// and its runs fail saying so. Organizations the server did not add this way (the
// fixtures' world, or after a restart from a state file) back up without asking Entra
// [A: the mock's fixtures have no keys].

// appCertLifetime is how long a certificate the server generates for an application is
// valid [I: VB365's self-signed certificate lifetime is not published; a year, as the
// stack's own generated certificates].
const appCertLifetime = 365 * 24 * time.Hour

// assertionLifetime is a client assertion's exp after its nbf, as MSAL for Go sends it
// (modern-app-only.md §1.3 [C]).
const assertionLifetime = 10 * time.Minute

// Resources a run asks app-only tokens for: Microsoft Graph and Office 365 Exchange
// Online, whose application permissions VB365 needs (modern-app-only.md §2 [C]).
const (
	graphScope    = "https://graph.microsoft.com/.default"
	exchangeScope = "https://outlook.office365.com/.default"
)

// appCredential is what the server keeps of an organization's Entra application.
type appCredential struct {
	appID  string
	tenant string // where the token requests go: the tenant id, else the organization's name
	cert   *x509.Certificate
	key    *rsa.PrivateKey // nil: given a certificate without its private key
}

// appCredentials are the credentials of the organizations the server added with modern
// app-only authentication, by lower-case organization id. Safe for concurrent use.
type appCredentials struct {
	mu    sync.Mutex
	byOrg map[string]appCredential
}

func newAppCredentials() *appCredentials {
	return &appCredentials{byOrg: map[string]appCredential{}}
}

func (a *appCredentials) set(org string, c appCredential) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.byOrg[strings.ToLower(org)] = c
}

func (a *appCredentials) get(org string) (appCredential, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c, ok := a.byOrg[strings.ToLower(org)]
	return c, ok
}

func (a *appCredentials) reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	clear(a.byOrg)
}

// applicationKey is the process-wide RSA key of the certificates the server generates,
// made at the first use: generating a 2048-bit key is slow (mocks/entra's
// applicationKey, which the Entra mock's generated certificates share, says why), too
// slow for every organization a scenario adds. Certificates of one key still have their
// own thumbprints.
var applicationKey = sync.OnceValues(func() (*rsa.PrivateKey, error) {
	return rsa.GenerateKey(rand.Reader, 2048)
})

// newApplicationCertificate is the self-signed certificate and key the server generates
// for an application ("Generate a new self-signed certificate", modern-app-only.md §3.1),
// valid for appCertLifetime from now.
func newApplicationCertificate(name string, now time.Time) (*x509.Certificate, *rsa.PrivateKey, error) {
	key, err := applicationKey()
	if err != nil {
		return nil, nil, fmt.Errorf("application key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, nil, fmt.Errorf("certificate serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: name},
		NotBefore: now.UTC(), NotAfter: now.Add(appCertLifetime).UTC(),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("self-sign application certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("parse application certificate: %w", err)
	}
	return cert, key, nil
}

// matchingKey returns key as an RSA key if it is the private key of cert's public key,
// else nil: PS256 needs RSA, and a key of another certificate would only sign assertions
// Entra refuses.
func matchingKey(key any, cert *x509.Certificate) *rsa.PrivateKey {
	k, ok := key.(*rsa.PrivateKey)
	if !ok || cert == nil {
		return nil
	}
	if pub, ok := cert.PublicKey.(*rsa.PublicKey); !ok || !pub.Equal(&k.PublicKey) {
		return nil
	}
	return k
}

// clientAssertion is the RFC 7523 assertion of cred for tokenURL at now, as MSAL for
// Go signs it (modern-app-only.md §1.3 [C]): PS256, typ JWT, x5t#S256 the standard
// Base64 of the certificate's SHA-256; aud the token endpoint, iss = sub = the client
// id, a new jti, nbf now, exp now + 10 min, no iat.
func clientAssertion(cred appCredential, tokenURL string, now time.Time) (string, error) {
	tok := jwt.NewWithClaims(jwt.SigningMethodPS256, jwt.MapClaims{
		"aud": tokenURL, "iss": cred.appID, "sub": cred.appID, "jti": newGUID(),
		"nbf": now.Unix(), "exp": now.Add(assertionLifetime).Unix(),
	})
	sum := sha256.Sum256(cred.cert.Raw)
	tok.Header["x5t#S256"] = base64.StdEncoding.EncodeToString(sum[:])
	return tok.SignedString(cred.key)
}

// appOnlyScopes are the resources a run of org asks tokens for: Graph always (users,
// groups, sites), Exchange Online when the organization backs up Exchange [I].
func appOnlyScopes(org object) []string {
	scopes := []string{graphScope}
	if org.text("isExchangeOnline") == "true" {
		scopes = append(scopes, exchangeScope)
	}
	return scopes
}

// appOnlyAccess gets the app-only tokens a run of the job needs if its organization
// has an application credential, and logs the outcome in the session at start. It
// returns the message of the failure that ends the run, or "" when the run may go on
// (or the organization needs no tokens). now is the clock's reading, which the
// assertion is built at (Entra checks it against its own clock, the same one in a
// stack); start is the run's start, which the log entry shows.
func (s *Server) appOnlyAccess(session string, job object, start time.Time) string {
	orgID := job.str("organizationId")
	if orgID == "" && job.str("backupJobId") != "" { // a copy job: its backup job's organization
		if bj, ok := s.world.get("/v8/Jobs/" + strings.ToLower(job.str("backupJobId"))); ok {
			orgID = bj.obj.str("organizationId")
		}
	}
	cred, ok := s.appCreds.get(orgID)
	if !ok || s.mut.NoAppOnlyTokens {
		return ""
	}
	org, _ := s.world.get("/v8/Organizations/" + strings.ToLower(orgID))
	var orgObj object
	if org != nil {
		orgObj = org.obj
	}
	fail := func(msg string) string {
		s.addLog(session, start, "Error", msg)
		return msg
	}
	if cred.key == nil {
		return fail(fmt.Sprintf("Failed to get an app-only token for the application %s: the server has the certificate %s without its private key. Give applicationCertificate as a PFX file with its private key (PUT /v8/Organizations/%s).",
			cred.appID, certThumbprint(cred.cert), orgID))
	}
	var names []string
	for _, scope := range appOnlyScopes(orgObj) {
		roles, msg := s.appOnlyToken(cred, scope)
		if msg != "" {
			return fail(msg)
		}
		resource := strings.TrimSuffix(scope, "/.default")
		if len(roles) == 0 {
			// [A]: Entra issues the token without roles while consent is revoked
			// (entra.Assumptions.RevokedConsent "no_roles"); Graph and Exchange then
			// refuse every call, and VB365's text for that is not public.
			return fail(fmt.Sprintf("The application %s has no application permissions on %s: its app-only token from Microsoft Entra ID has no roles (has an administrator's consent been revoked?). Grant admin consent to the application and run the job again.",
				cred.appID, resource))
		}
		names = append(names, resource)
	}
	s.addLog(session, start, "Success", fmt.Sprintf("Got app-only tokens for %s from Microsoft Entra ID (application %s, certificate %s).",
		strings.Join(names, " and "), cred.appID, certThumbprint(cred.cert)))
	return ""
}

// appOnlyToken asks Entra for an app-only token for scope with cred's certificate and
// returns its roles, or the failure's message naming Entra's error.
func (s *Server) appOnlyToken(cred appCredential, scope string) ([]string, string) {
	tokenURL := s.authority + "/" + url.PathEscape(cred.tenant) + "/oauth2/v2.0/token"
	assertion, err := clientAssertion(cred, tokenURL, s.clk.Now())
	if err != nil {
		return nil, fmt.Sprintf("Failed to sign the client assertion of the application %s: %v.", cred.appID, err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	// No request context: a run starts on the clock, not inside the request that sees
	// it; the Entra client's own timeout bounds the call.
	_, e, err := s.postEntra(context.Background(), cred.tenant, "/oauth2/v2.0/token", url.Values{
		"grant_type":            {"client_credentials"},
		"client_id":             {cred.appID},
		"scope":                 {scope},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion":      {assertion},
	}, &tok)
	switch {
	case err != nil:
		return nil, fmt.Sprintf("Failed to connect to Microsoft Entra ID for an app-only token of the application %s: %v.", cred.appID, err)
	case e != nil:
		return nil, fmt.Sprintf("Microsoft Entra ID refused an app-only token for %s to the application %s: %s",
			strings.TrimSuffix(scope, "/.default"), cred.appID, e.firstLine())
	}
	return tokenRoles(tok.AccessToken), ""
}

// tokenRoles reads an access token's roles claim. The server is the token's client, not
// its audience, so it does not verify the signature (readSignIn does the same).
func tokenRoles(token string) []string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil
	}
	raw, err := b64.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil
	}
	var c struct {
		Roles []string `json:"roles"`
	}
	_ = json.Unmarshal(raw, &c)
	return c.Roles
}

// failedRun is the steps of a run that cannot start (appOnlyAccess failed): its start
// is logged, then the failure (already in the log), and it ends Failed at once.
func (s *Server) failedRun(w work, start time.Time) []step {
	p := stepPlan{Do: "end", Work: w.name, Path: w.path, Title: w.title, Target: w.target, Result: "Failed"}
	return []step{s.planned(p, start)}
}

func init() {
	handWritten["Organization_Update"] = operation{who: admins, handle: (*Server).updateOrganization, coll: collectionOf("/v8/Organizations")}
}

// updateOrganization serves PUT /v8/Organizations/{organizationId} (Organization_Update)
// as the collection updates any item, except applicationCertificate and its password:
// they are read as POST reads them (parseApplicationCertificate), never stored, and the
// certificate's thumbprint is stored in their place. The certificate and its key become
// the organization's application credential, so renewing an application's certificate
// is what an administrator does at a real server [A: how VB365 takes a renewed
// certificate is not in the record; PUT with applicationCertificate is the REST
// client's way]: add the new certificate to the application in Entra (the Entra mock's
// control API: POST /_mock/applications/{appId}/certificates), then give VB365 the PFX
// file with PUT. The server does not register the certificate at Entra itself.
func (s *Server) updateOrganization(rq *request) (int, any, *apiError) {
	body := bodyObject(rq)
	var certText, password, appID string
	var settings []map[string]any
	for _, k := range []string{"exchangeOnlineSettings", "sharePointOnlineSettings"} {
		m, ok := body[k].(map[string]any)
		if !ok {
			continue
		}
		settings = append(settings, m)
		if c, _ := m["applicationCertificate"].(string); c != "" && certText == "" {
			certText = c
			password, _ = m["applicationCertificatePassword"].(string)
		}
		if id, _ := m["applicationId"].(string); id != "" && appID == "" {
			appID = strings.ToLower(id)
		}
	}
	if certText == "" {
		stripped := false
		for _, m := range settings {
			if _, ok := m["applicationCertificatePassword"]; ok {
				delete(m, "applicationCertificatePassword")
				stripped = true
			}
		}
		if stripped {
			if e := s.setBody(rq, body); e != nil {
				return 0, nil, e
			}
		}
		return s.updateItem(rq)
	}
	cert, key, e := parseApplicationCertificate(certText, password)
	if e != nil {
		return 0, nil, e
	}
	id := strings.ToLower(rq.param("organizationId"))
	cred, had := s.appCreds.get(id)
	o, _ := s.organization(id)
	if appID == "" {
		appID = cmp.Or(cred.appID, strings.ToLower(o.ApplicationID))
	}
	if appID == "" {
		return 0, nil, badParam("applicationCertificate needs the organization's Microsoft Entra application: give applicationId.")
	}
	thumbprint := certThumbprint(cert)
	for _, m := range settings {
		delete(m, "applicationCertificate")
		delete(m, "applicationCertificatePassword")
		m["applicationCertificateThumbprint"] = thumbprint
	}
	if e := s.setBody(rq, body); e != nil {
		return 0, nil, e
	}
	status, out, e := s.updateItem(rq)
	if e == nil {
		tenant := cred.tenant
		if !had {
			tenant = orgTenant(o)
		}
		s.appCreds.set(id, appCredential{appID: appID, tenant: tenant, cert: cert, key: key})
	}
	return status, out, e
}

// setBody replaces the request's body with body, as a handler that rewrote it before
// the collection stores it.
func (s *Server) setBody(rq *request, body map[string]any) *apiError {
	raw, err := json.Marshal(body)
	if err != nil {
		return &apiError{Status: http.StatusInternalServerError, Message: "The organization could not be stored."}
	}
	rq.body = raw
	return nil
}
