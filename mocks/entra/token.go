package entra

import (
	"crypto/subtle"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/mocks/keys"
)

// tokenHandler serves POST /{tenant}/oauth2/v2.0/token: the device code grant (both
// spellings), refresh_token and client_credentials (entra.md §2, §3).
type tokenHandler struct {
	clk      clock.Clock
	store    *store
	keys     *keys.Set
	seals    *sealBox
	settings *settingsBox
	origin   originRule
	log      *slog.Logger
	jtis     *jtiCache
}

// Grant types the token endpoint accepts.
const (
	grantDeviceCodeShort = "device_code" // MSAL for Go and msal-node
	grantDeviceCodeURN   = "urn:ietf:params:oauth:grant-type:device_code"
	grantRefresh         = "refresh_token"
	grantClientCreds     = "client_credentials"
)

// tokenResponse is the success body in the order Entra sends it.
type tokenResponse struct {
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope,omitempty"`
	ExpiresIn    int64  `json:"expires_in"`
	ExtExpiresIn int64  `json:"ext_expires_in"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Foci         string `json:"foci,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	ClientInfo   string `json:"client_info,omitempty"`
}

// tokenRequest is one parsed token request: the values read once (clock, settings,
// directory) and the authenticated client.
type tokenRequest struct {
	w        http.ResponseWriter
	r        *http.Request
	now      time.Time
	set      runtimeSettings
	dir      *directory
	tenant   *Tenant // nil for common/organizations
	seg      string
	form     url.Values
	app      *App
	appidacr string // how the client authenticated: "" (public), appidacrSecret or appidacrCertificate
	counted  bool   // whether a device-code poll counts (see Assumptions.PublicClientBasicAuth)
}

func (t *tokenRequest) fail(e *oauthError) { writeOAuthError(t.w, t.r, t.now, e) }

// ServeHTTP reads the clock, the settings and the directory once, checks the method,
// tenant, form, grant type and client, then runs the grant.
func (h *tokenHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req := &tokenRequest{w: w, r: r, now: h.clk.Now(), set: h.settings.get(), dir: h.store.directory(), counted: true}
	if r.Method != http.MethodPost {
		req.fail(errPostOnly(r.Method))
		return
	}
	req.seg = mux.Vars(r)["tenant"]
	var e *oauthError
	if req.tenant, _, e = resolveTenant(req.dir, req.seg, "invalid_request"); e != nil {
		req.fail(e)
		return
	}
	if req.form, e = readForm(r); e != nil {
		req.fail(e)
		return
	}
	gt := req.form.Get("grant_type")
	switch gt {
	case "":
		req.fail(errMissingParam("grant_type"))
		return
	case grantDeviceCodeShort, grantDeviceCodeURN, grantRefresh, grantClientCreds:
	default:
		req.fail(errUnsupportedGrant(gt))
		return
	}
	// modern-app-only.md §1.8 step 1: an app-only token needs a tenant, before any
	// credential is looked at.
	if gt == grantClientCreds && req.tenant == nil {
		req.fail(errTenantForAppToken(req.seg))
		return
	}
	if e := req.authenticateClient(h); e != nil {
		req.fail(e)
		return
	}
	switch gt {
	case grantDeviceCodeShort, grantDeviceCodeURN:
		h.deviceCode(req)
	case grantRefresh:
		h.refresh(req)
	case grantClientCreds:
		h.clientCredentials(req)
	}
}

// authenticateClient finds the client (body client_id, or the user of a Basic
// header as golang.org/x/oauth2 sends it, URL-escaped) and checks the credential it
// presents: a client assertion (assertion.go), a client secret (body or Basic), or
// none for a public client. An app with credentials that is also a public client
// ("Allow public client flows", as VB365 sets it) signs users in without one and
// authenticates when it sends one. Only an accepted assertion's jti is remembered
// (and only with the strict replay setting), so a rejected first try of x/oauth2's
// auth-style probe has no side effects.
func (t *tokenRequest) authenticateClient(h *tokenHandler) *oauthError {
	bodyID := t.form.Get("client_id")
	basicUser, basicPass, hasBasic := t.r.BasicAuth()
	if hasBasic {
		if u, err := url.QueryUnescape(basicUser); err == nil {
			basicUser = u
		}
		if p, err := url.QueryUnescape(basicPass); err == nil {
			basicPass = p
		}
	}
	clientID := bodyID
	if clientID == "" && hasBasic {
		clientID = basicUser
	}
	if clientID == "" {
		return errMissingParam("client_id")
	}
	if hasBasic && bodyID != "" && !strings.EqualFold(basicUser, bodyID) {
		return errClientMismatch()
	}
	app, ok := t.dir.app(clientID)
	if !ok || !app.inTenant(t.tenant) {
		return errUnknownClient(clientID, directoryName(t.tenant, t.seg))
	}
	t.app = app
	if app.Disabled {
		return errAppDisabled(app)
	}
	secret := t.form.Get("client_secret")
	if hasBasic {
		secret = basicPass
	}
	assertion, assertionType := t.form.Get("client_assertion"), t.form.Get("client_assertion_type")
	switch {
	case (assertion != "" || assertionType != "") && secret != "":
		return errTwoCredentials()
	case assertion != "" || assertionType != "":
		if app.PublicClient && !app.hasCredentials() {
			return errPublicClientSecret()
		}
		return t.checkAssertion(h, assertion, assertionType)
	case secret != "":
		if app.PublicClient && !app.hasCredentials() {
			return errPublicClientSecret()
		}
		if app.ClientSecret == "" || subtle.ConstantTimeCompare([]byte(secret), []byte(app.ClientSecret)) != 1 {
			return errBadSecret(app.ClientID)
		}
		if !app.ClientSecretEnd.IsZero() && !t.now.Before(app.ClientSecretEnd) {
			return errSecretExpired(app.ClientID)
		}
		t.appidacr = appidacrSecret
		return nil
	case app.PublicClient:
		if hasBasic {
			if t.set.assume.PublicClientBasicAuth == BasicAuthReject {
				return errPublicClientSecret()
			}
			// Accepted: x/oauth2 retries every failed Basic try in the body at once, so
			// only the retry counts as a poll.
			t.counted = false
		}
		return nil
	case t.form.Get("grant_type") == grantClientCreds:
		return errNeedCredential()
	}
	return errNeedSecret()
}

// checkAssertion verifies a client assertion (RFC 7523) for t.app.
func (t *tokenRequest) checkAssertion(h *tokenHandler, assertion, assertionType string) *oauthError {
	switch {
	case assertionType == "":
		return errMissingParam("client_assertion_type")
	case assertionType != clientAssertionType:
		return errAssertionType()
	case assertion == "":
		return errMissingParam("client_assertion")
	}
	a, e := parseClientAssertion(assertion)
	if e != nil {
		return e
	}
	if _, e := verifyAssertion(a, assertionCheck{
		app: t.app, tenant: t.tenant, seg: t.seg, origin: h.origin.of(t.r), now: t.now,
		rejectJTI: t.set.assume.AssertionJTIReuse == JTIReuseReject, jtis: h.jtis,
	}); e != nil {
		return e
	}
	t.appidacr = appidacrCertificate
	return nil
}

// deviceCode redeems a device code (RFC 8628 §3.4 with Entra's answers).
func (h *tokenHandler) deviceCode(t *tokenRequest) {
	code := t.form.Get("device_code")
	if code == "" {
		t.fail(errMissingParam("device_code"))
		return
	}
	res := h.store.poll(code, t.app.ClientID, t.tenant, t.now, t.counted, t.set.strict, t.set.assume.UnknownDeviceCode)
	if res.err != nil {
		t.fail(res.err)
		return
	}
	h.issue(t, res.tenant, res.user, res.scope, true)
}

// refresh redeems a refresh token. Entra returns a new refresh token every time and
// does not revoke the old one; tokens expire after the inactivity window, and a
// user's revocation refuses every token issued before it (entra.md §3). Refresh
// tokens are bound to user and client, not to a resource, so one redeemed with the
// scopes of another resource (ARM after a Graph sign-in, as Azure CLI and MSAL do)
// gets a token for that resource.
func (h *tokenHandler) refresh(t *tokenRequest) {
	raw := t.form.Get("refresh_token")
	if raw == "" {
		t.fail(errMissingParam("refresh_token"))
		return
	}
	g, ok := h.seals.get().open(raw)
	if !ok {
		t.fail(errMalformedRequest("invalid_grant"))
		return
	}
	issued := time.Unix(0, g.Issued).UTC()
	tenant, ok := t.dir.tenantByID(g.TID)
	var user *User
	if ok {
		user, ok = tenant.userByOID(g.OID)
	}
	if !ok {
		t.fail(errUserGone(g.OID, g.TID))
		return
	}
	if t.tenant != nil && t.tenant != tenant {
		t.fail(errMalformedRequest("invalid_grant"))
		return
	}
	if !strings.EqualFold(g.Client, t.app.ClientID) {
		issuer, known := t.dir.app(g.Client)
		if !known || !issuer.FOCI || !t.app.FOCI {
			t.fail(errRefreshOtherClient())
			return
		}
	}
	if !t.now.Before(issued.Add(t.set.life.RefreshInactivity)) {
		t.fail(errRefreshInactive(issued, t.set.life.RefreshInactivity))
		return
	}
	if ep := h.store.epoch(user.UPN); g.Epoch < ep.epoch {
		t.fail(errRevoked(issued, ep.since))
		return
	}
	scope := g.Scope
	if s, has := t.form["scope"]; has {
		scope = s[0]
	}
	q, e := parseScopes(scope, t.dir, tenant, tenant.ID)
	if e != nil {
		t.fail(e)
		return
	}
	// Holding a refresh token is holding offline_access: Entra answers every refresh
	// with a new one.
	q.oidc["offline_access"] = true
	h.issue(t, tenant, user, q, false)
}

// issue writes a user token response for the grant q: an access token for the
// grant's resource (v1 for Graph, directory Resources and APIs by default; v2 for an
// API with AccessTokenVersion 2), a refresh token with offline_access, an id token
// with openid, client_info when the request asked (client_info=1) and foci for family
// apps.
func (h *tokenHandler) issue(t *tokenRequest, tenant *Tenant, user *User, q scopeRequest, fromDeviceCode bool) {
	g, e := grantFor(t.app, q)
	if e != nil {
		t.fail(e)
		return
	}
	aud := g.aud
	if g.res.graph {
		aud = GraphAppID
		if t.set.assume.GraphAudience == GraphAudienceAuto && g.audURI {
			aud = GraphResource
		}
	}
	ut := userTokens{
		now: t.now, origin: h.origin.of(t.r), tenant: tenant, user: user, app: t.app, grant: g,
		lifetime: t.set.life.AccessToken, aud: aud, ipaddr: remoteIP(t.r),
		idToken: q.has("openid"), email: q.has("email"), appidacr: t.appidacr,
		uti: randomToken(16),
	}
	k := h.keys.Active()
	at, err := mintAccess(k, ut)
	if err != nil {
		h.log.Error("mint access token", "err", err)
		t.fail(errInternal())
		return
	}
	resp := tokenResponse{
		TokenType:    "Bearer",
		Scope:        g.scope,
		ExpiresIn:    seconds(t.set.life.AccessToken),
		ExtExpiresIn: seconds(t.set.life.AccessToken),
		AccessToken:  at,
	}
	if q.has("offline_access") {
		resp.RefreshToken = h.seals.get().seal(refreshGrant{
			TID: tenant.ID, OID: user.ObjectID, Client: t.app.ClientID, Scope: q.raw,
			Issued: t.now.UnixNano(), Epoch: h.store.epoch(user.UPN).epoch,
		})
	}
	if t.app.FOCI {
		resp.Foci = "1"
	}
	if ut.idToken {
		if resp.IDToken, err = mintID(k, ut); err != nil {
			h.log.Error("mint id token", "err", err)
			t.fail(errInternal())
			return
		}
	}
	if t.form.Get("client_info") == "1" {
		resp.ClientInfo = clientInfo(user.ObjectID, tenant.ID)
	}
	h.log.Info("token issued", "grant", t.form.Get("grant_type"), "client_id", t.app.ClientID, "user", user.UPN, "device_code", fromDeviceCode)
	t.w.Header().Set("x-ms-clitelem", "1,0,0,,")
	writeEntraJSON(t.w, t.r, http.StatusOK, newTraceID(), correlationID(t.r), resp)
}

// clientCredentials issues an app-only token (modern-app-only.md §1.5, §1.6, §1.8
// steps 9 and 10) to an app that authenticated with a secret or a certificate: scope
// names one resource as "<resource>/.default" (OIDC scopes beside it are ignored), and
// roles are the app's permissions on that resource while consent stands. There is no
// refresh token, scope or id token in the answer.
func (h *tokenHandler) clientCredentials(t *tokenRequest) {
	if t.appidacr == "" {
		t.fail(errNeedCredential())
		return
	}
	scope := t.form.Get("scope")
	if scope == "" {
		t.fail(errMissingParam("scope"))
		return
	}
	res, aud, e := appTokenResource(scope)
	if e != nil {
		t.fail(e)
		return
	}
	if res.key == resourceGraph && t.set.assume.GraphAudience == GraphAudienceGUID {
		aud = GraphAppID
	}
	roles := append([]string(nil), t.app.Permissions.of(res.key)...)
	if !t.app.consented() {
		if t.set.assume.RevokedConsent == RevokedConsentError {
			t.fail(errNotAssignedToRole(t.app, res))
			return
		}
		roles = nil
	}
	if len(roles) == 0 {
		roles = nil // "roles" is absent, not empty, when nothing is granted (MS-CC)
	}
	at, err := mintAppAccess(h.keys.Active(), appTokens{
		now: t.now, tenant: t.tenant, app: t.app, aud: aud, roles: roles,
		appidacr: t.appidacr, lifetime: t.set.life.AccessToken,
	})
	if err != nil {
		h.log.Error("mint app token", "err", err)
		t.fail(errInternal())
		return
	}
	h.log.Info("app-only token issued", "client_id", t.app.ClientID, "resource", res.name, "appidacr", t.appidacr)
	t.w.Header().Set("x-ms-clitelem", "1,0,0,,")
	writeEntraJSON(t.w, t.r, http.StatusOK, newTraceID(), correlationID(t.r), tokenResponse{
		TokenType:    "Bearer",
		ExpiresIn:    seconds(t.set.life.AccessToken),
		ExtExpiresIn: seconds(t.set.life.AccessToken),
		AccessToken:  at,
	})
}

// appTokenResource finds the one resource of a client-credentials scope and the aud
// its token carries. OIDC scopes are ignored (Entra tolerates them next to .default,
// modern-app-only.md §1.1); every other scope must be "<resource>/.default"
// (AADSTS1002012), for a resource the mock knows (AADSTS70011), and all for the same
// resource (AADSTS700022).
func appTokenResource(scope string) (resource, string, *oauthError) {
	var (
		found resource
		aud   string
		seen  bool
	)
	for _, tok := range strings.Fields(scope) {
		if oidcScopes[strings.ToLower(tok)] {
			continue
		}
		if !strings.HasSuffix(strings.ToLower(tok), "/.default") {
			return resource{}, "", errAppTokenScope(tok)
		}
		r, a, ok := resolveResource(tok[:len(tok)-len("/.default")])
		if !ok {
			return resource{}, "", errAppTokenUnknownResource(tok)
		}
		if seen && r.key != found.key {
			return resource{}, "", errMultipleResources(scope)
		}
		if !seen {
			found, aud, seen = r, a, true
		}
	}
	if !seen {
		return resource{}, "", errAppTokenScope(scope)
	}
	return found, aud, nil
}

// remoteIP is the client address for the ipaddr claim.
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if net.ParseIP(host) == nil {
		return ""
	}
	return host
}

// userByOID finds a user by object id in t.
func (t *Tenant) userByOID(oid string) (*User, bool) {
	for i := range t.Users {
		if strings.EqualFold(t.Users[i].ObjectID, oid) {
			return &t.Users[i], true
		}
	}
	return nil, false
}
