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
	w       http.ResponseWriter
	r       *http.Request
	now     time.Time
	set     runtimeSettings
	dir     *directory
	tenant  *Tenant // nil for common/organizations
	seg     string
	form    url.Values
	app     *App
	counted bool // whether a device-code poll counts (see Assumptions.PublicClientBasicAuth)
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
	if e := req.authenticateClient(); e != nil {
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
// header as golang.org/x/oauth2 sends it, URL-escaped) and checks its credentials. It
// touches no state, so a rejected first try of x/oauth2's auth-style probe has no
// side effects.
func (t *tokenRequest) authenticateClient() *oauthError {
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
	if !ok {
		return errUnknownClient(clientID, directoryName(t.tenant, t.seg))
	}
	t.app = app
	bodySecret := t.form.Get("client_secret")
	if app.PublicClient {
		switch {
		case hasBasic && (t.set.assume.PublicClientBasicAuth == BasicAuthReject || basicPass != ""):
			return errPublicClientSecret()
		case bodySecret != "" || t.form.Get("client_assertion") != "":
			return errPublicClientSecret()
		case hasBasic:
			// Accepted: x/oauth2 retries every failed Basic try in the body at once, so
			// only the retry counts as a poll.
			t.counted = false
		}
		return nil
	}
	given := bodySecret
	if hasBasic {
		given = basicPass
	}
	if given == "" {
		return errNeedSecret()
	}
	if subtle.ConstantTimeCompare([]byte(given), []byte(app.ClientSecret)) != 1 {
		return errBadSecret(app.ClientID)
	}
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
// user's revocation refuses every token issued before it (entra.md §3).
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
	q, e := parseScopes(scope, tenant.ID)
	if e != nil {
		t.fail(e)
		return
	}
	// Holding a refresh token is holding offline_access: Entra answers every refresh
	// with a new one.
	q.oidc["offline_access"] = true
	h.issue(t, tenant, user, q, false)
}

// issue writes a user token response for the grant q: a v1 Graph access token, a
// refresh token with offline_access, an id token with openid, client_info when the
// request asked (client_info=1) and foci for family apps.
func (h *tokenHandler) issue(t *tokenRequest, tenant *Tenant, user *User, q scopeRequest, fromDeviceCode bool) {
	g, e := grantFor(t.app, q)
	if e != nil {
		t.fail(e)
		return
	}
	aud := GraphAppID
	if t.set.assume.GraphAudience == GraphAudienceAuto && g.audURI {
		aud = GraphResource
	}
	ut := userTokens{
		now: t.now, origin: h.origin.of(t.r), tenant: tenant, user: user, app: t.app, grant: g,
		lifetime: t.set.life.AccessToken, aud: aud, ipaddr: remoteIP(t.r),
		idToken: q.has("openid"), email: q.has("email"),
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

// clientCredentials issues an app-only token to a confidential app; the scope must be
// Graph's /.default and the tenant specific.
func (h *tokenHandler) clientCredentials(t *tokenRequest) {
	if t.tenant == nil {
		t.fail(errTenantForAppToken(t.seg))
		return
	}
	if t.app.PublicClient {
		t.fail(errNeedSecret())
		return
	}
	scope := t.form.Get("scope")
	if scope == "" {
		t.fail(errMissingParam("scope"))
		return
	}
	aud := ""
	switch strings.ToLower(strings.TrimSpace(scope)) {
	case strings.ToLower(GraphResource) + "/.default":
		aud = GraphResource
	case GraphAppID + "/.default":
		aud = GraphAppID
	default:
		t.fail(errAppTokenScope(scope))
		return
	}
	if t.set.assume.GraphAudience == GraphAudienceGUID {
		aud = GraphAppID
	}
	at, err := mintAppAccess(h.keys.Active(), t.now, t.tenant, t.app, aud, t.set.life.AccessToken)
	if err != nil {
		h.log.Error("mint app token", "err", err)
		t.fail(errInternal())
		return
	}
	t.w.Header().Set("x-ms-clitelem", "1,0,0,,")
	writeEntraJSON(t.w, t.r, http.StatusOK, newTraceID(), correlationID(t.r), tokenResponse{
		TokenType:    "Bearer",
		ExpiresIn:    seconds(t.set.life.AccessToken),
		ExtExpiresIn: seconds(t.set.life.AccessToken),
		AccessToken:  at,
	})
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
