package veeam

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/mocks/control"
	"github.com/vbharness/vbharness/mocks/keys"
)

// Grant types of POST /v8/token (SPEC8 enum).
const (
	// GrantPassword signs in an administrator or an organization account.
	GrantPassword = "password"
	// GrantRefresh exchanges a refresh token for a new pair.
	GrantRefresh = "refresh_token"
	// GrantJWTBearer signs in a tenant of a modern app-only organization with an
	// Entra token response as the assertion (the seed's step 4).
	GrantJWTBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	// GrantOperator signs in a restore operator with a raw Entra access token.
	GrantOperator = "operator"
)

// credentials are the configured administrator accounts.
type credentials struct {
	user, password string
}

// orgDirectory is what the token service reads of the world: organizations and the
// Restore Portal application.
type orgDirectory interface {
	findOrganization(match func(*Organization) bool) (Organization, bool)
	restorePortal() RestorePortal
}

// tokenService owns POST /v8/token and POST /v8/token/logout.
type tokenService struct {
	clk      clock.Clock
	keys     *keys.Set
	sessions *sessionStore
	orgs     orgDirectory
	entra    *entraKeys
	settings *settingsStore
	admin    credentials
	issuer   string // fixed iss claim; empty: the request's host
	log      *slog.Logger
	mut      Mutations // for testing the tests only
}

// tokenReply is the token endpoint's success body with OWIN's headers [I], and the
// pair's antiforgery token, when it has one, in a cookie and a response header of the
// configured names [A: veeam.md §1.6 says the server issues one alongside the token
// pair, to be kept "e.g. in browser cookies"; the names are not public]. The cookie is
// Secure when the request came over TLS, as ASP.NET's SameAsRequest default [I].
type tokenReply struct {
	tokenResponse
	xsrf, cookie, header string
	secure               bool // the request came over TLS
}

func (r tokenReply) setHeaders(h http.Header) {
	h.Set("Cache-Control", "no-cache")
	h.Set("Pragma", "no-cache")
	h.Set("Expires", "-1")
	if r.xsrf != "" {
		h.Add("Set-Cookie", (&http.Cookie{Name: r.cookie, Value: r.xsrf, Path: "/", Secure: r.secure, SameSite: http.SameSiteStrictMode}).String())
		h.Set(r.header, r.xsrf)
	}
}

// antiforgeryPresented reports whether r carries want, the antiforgery token of its
// access or refresh token, in the configured header or cookie.
func antiforgeryPresented(r *http.Request, set Settings, want string) bool {
	if v := r.Header.Get(set.AntiforgeryHeader); v != "" && subtle.ConstantTimeCompare([]byte(v), []byte(want)) == 1 {
		return true
	}
	for _, c := range r.CookiesNamed(set.AntiforgeryCookie) {
		if subtle.ConstantTimeCompare([]byte(c.Value), []byte(want)) == 1 {
			return true
		}
	}
	return false
}

// antiforgeryMissing is the answer to a call or refresh whose token says antiforgery
// True without its antiforgery token: 400 RESTExceptionInfo [A: ASP.NET answers a
// failed antiforgery validation with 400; what VB365 writes is not public], with a
// message that tells the client developer the two ways out.
func antiforgeryMissing(set Settings, what string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: codeValidation, Message: fmt.Sprintf(
		"The antiforgery token is missing or invalid: this %s was issued with antiforgery protection, so each request needs the antiforgery token that came with it; "+
			"send disable_antiforgery_token=true at login, or the antiforgery token (the %s cookie or the %s header the token response set).",
		what, set.AntiforgeryCookie, set.AntiforgeryHeader)}
}

// token is POST /v8/token (anonymous, x-anonymous). Form and JSON bodies carry the same
// fields (SPEC8); the pipeline has already parsed them (control.Fields). Extra and empty
// fields are harmless, as on a real server (veeam.md §1.2). It validates its own request
// and answers errors in Settings.ErrorStyle.
func (s *Server) token(rq *request) (int, any, *apiError) { return s.tokens.token(rq) }

func (t *tokenService) token(rq *request) (int, any, *apiError) {
	r, now := rq.Request, rq.now
	set := t.settings.get()
	f := control.Fields(r)
	if f == nil {
		if len(rq.body) == 0 {
			return 0, nil, invalidRequest("The token request has no body; send grant_type and its fields as application/x-www-form-urlencoded or application/json.")
		}
		return 0, nil, invalidRequest("The token request body is neither a form (application/x-www-form-urlencoded) nor a JSON object (application/json).")
	}
	antiforgery := true
	afSet := false
	if v, ok := f["disable_antiforgery_token"]; ok && v != "" && v != "null" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return 0, nil, invalidRequest("disable_antiforgery_token must be true or false, not %q.", v)
		}
		antiforgery, afSet = !b || t.mut.IgnoreDisableAntiforgery, true
	}
	var (
		sess *session
		e    *apiError
	)
	switch g := f["grant_type"]; g {
	case GrantPassword:
		sess, e = t.password(f, set)
	case GrantRefresh:
		var inherited bool
		sess, inherited, e = t.refresh(r, f, now, set)
		if !afSet {
			antiforgery = inherited
		}
	case GrantJWTBearer:
		sess, e = t.jwtBearer(r, f, now, set)
	case GrantOperator:
		sess, e = t.operator(r, f, now, set)
	case "":
		e = unsupportedGrant("grant_type is required: one of password, refresh_token, urn:ietf:params:oauth:grant-type:jwt-bearer, operator.")
	default:
		e = unsupportedGrant("grant_type %q is not supported; use password, refresh_token, urn:ietf:params:oauth:grant-type:jwt-bearer or operator.", g)
	}
	if e != nil {
		t.log.Info("token request refused", "grant_type", f["grant_type"], "reason", e.Message)
		return 0, nil, e
	}
	resp, xsrf, err := t.issuePair(sess, antiforgery, t.issuerFor(r), now, set)
	if err != nil {
		t.log.Error("issue tokens", "err", err)
		return 0, nil, &apiError{Status: http.StatusInternalServerError, Message: "The server could not issue tokens."}
	}
	return http.StatusOK, tokenReply{tokenResponse: resp, xsrf: xsrf, cookie: set.AntiforgeryCookie, header: set.AntiforgeryHeader, secure: r.TLS != nil}, nil
}

// issuerFor is the iss claim: the configured issuer, else the request's host without
// its port (the seed shows "127.0.0.1").
func (t *tokenService) issuerFor(r *http.Request) string {
	if t.issuer != "" {
		return t.issuer
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.Trim(host, "[]")
}

// errBadCredentials is the password grant's one refusal, whatever the reason (wrong
// password, unknown user, tenant authentication off): veeam.md §4.4 reports tenants only
// ever see "incorrect credentials" [R], and the mock does not leak which part was wrong.
// The reason goes to the log.
const msgBadCredentials = "The user name or password is incorrect."

// password is grant_type=password: a configured administrator, or the account an
// organization was added with when tenant authentication is enabled.
func (t *tokenService) password(f map[string]string, set Settings) (*session, *apiError) {
	user, pass := f["username"], f["password"]
	if user == "" || pass == "" {
		return nil, invalidRequest("grant_type=password needs username and password.")
	}
	if sameAccount(user, t.admin.user) && subtle.ConstantTimeCompare([]byte(pass), []byte(t.admin.password)) == 1 {
		return &session{key: newGUID(), user: t.admin.user, kind: kindAdmin, credentialType: credUsernamePassword}, nil
	}
	org, ok := t.orgs.findOrganization(func(o *Organization) bool { return o.Account != "" && strings.EqualFold(o.Account, user) })
	switch {
	case !ok:
		t.log.Info("password login refused", "user", user, "why", "no such administrator or organization account, or wrong administrator password")
	case !set.TenantAuthentication && !t.mut.IgnoreTenantAuthentication:
		t.log.Info("password login refused", "user", user, "why", "tenant authentication is disabled")
	case org.Password == "":
		t.log.Info("password login refused", "user", user, "why", "organization "+org.Name+" holds no password for its account (modern app-only: use jwt-bearer)")
	case subtle.ConstantTimeCompare([]byte(pass), []byte(org.Password)) != 1:
		t.log.Info("password login refused", "user", user, "why", "wrong organization account password")
	default:
		return &session{key: newGUID(), user: org.Account, kind: kindTenant, orgID: org.ID, credentialType: credUsernamePassword}, nil
	}
	return nil, invalidGrant(msgBadCredentials)
}

// sameAccount compares Windows account names case-insensitively, with or without a
// DOMAIN\ prefix: "VBO\Administrator" matches "Administrator" [I].
func sameAccount(given, configured string) bool {
	gd, gu := splitAccount(given)
	cd, cu := splitAccount(configured)
	if !strings.EqualFold(gu, cu) {
		return false
	}
	return gd == "" || cd == "" || strings.EqualFold(gd, cd)
}

func splitAccount(s string) (domain, user string) {
	if i := strings.LastIndexByte(s, '\\'); i >= 0 {
		return s[:i], s[i+1:]
	}
	return "", s
}

// refresh is grant_type=refresh_token: a new pair in the same session. The used token
// is spent unless Settings.RefreshRotation is off; an expired one is refused.
// A refresh token that carries antiforgery True needs its antiforgery token too, when
// Settings.Antiforgery enforces it (veeam.md §1.6 [C]: "including on refresh").
func (t *tokenService) refresh(r *http.Request, f map[string]string, now time.Time, set Settings) (*session, bool, *apiError) {
	tok := f["refresh_token"]
	if tok == "" {
		return nil, false, invalidRequest("grant_type=refresh_token needs refresh_token.")
	}
	var xsrfOK func(string) bool
	if set.Antiforgery == AntiforgeryEnforce {
		xsrfOK = func(want string) bool { return antiforgeryPresented(r, set, want) }
	}
	sess, af, outcome := t.sessions.useRefresh(tok, now, set.RefreshRotation, !t.mut.IgnoreRefreshTokenExpiry, set.RevokeOnRefreshReuse, xsrfOK)
	switch outcome {
	case refreshNoAntiforgery:
		e := antiforgeryMissing(set, "refresh token")
		e.OAuth = oauthInvalidRequest
		return nil, false, e
	case refreshUnknown:
		return nil, false, invalidGrant("The refresh token is invalid or has been revoked; sign in again.")
	case refreshNotRefresh:
		return nil, false, invalidGrant("The token is an access token, not a refresh token.")
	case refreshSpent:
		return nil, false, invalidGrant("The refresh token has already been used; each refresh token is valid for one refresh.")
	case refreshReused:
		return nil, false, invalidGrant("The refresh token has already been used; each refresh token is valid for one refresh. Every token of this sign-in has been revoked, since a reused refresh token may have leaked; sign in again.")
	case refreshExpired:
		return nil, false, invalidGrant("The refresh token has expired; sign in again.")
	}
	if sess.kind == kindTenant && !set.TenantAuthentication && !t.mut.IgnoreTenantAuthentication {
		return nil, false, invalidGrant("Tenant authentication is disabled on this server, so tenant sessions cannot be refreshed.")
	}
	if sess.kind == kindOperator && !set.OperatorAuthentication {
		return nil, false, invalidGrant("Restore operator authentication is disabled on this server, so operator sessions cannot be refreshed.")
	}
	return sess, af, nil
}

// jwtBearer is grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer, the seed's step
// 4: client_id is the organization's *.onmicrosoft.com name and assertion is the whole
// Entra token response as JSON. Each check has its own message.
func (t *tokenService) jwtBearer(r *http.Request, f map[string]string, now time.Time, set Settings) (*session, *apiError) {
	clientID, assertion := f["client_id"], f["assertion"]
	if clientID == "" || assertion == "" {
		return nil, invalidRequest("grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer needs client_id (the organization, e.g. abc.onmicrosoft.com) and assertion (the Microsoft Entra ID token response as JSON).")
	}
	if !set.TenantAuthentication && !t.mut.IgnoreTenantAuthentication {
		return nil, invalidGrant("Tenant authentication is disabled on this server; enable tenant authentication with organization credentials (General Options → Authentication) before logging in with an assertion.")
	}
	org, ok := t.orgs.findOrganization(func(o *Organization) bool { return strings.EqualFold(o.Name, clientID) })
	if !ok {
		return nil, invalidGrant("Organization %q was not found on this server; client_id must name an added organization in the *.onmicrosoft.com form.", clientID)
	}
	if !org.ModernAppOnly {
		return nil, invalidGrant("Organization %s was not added with modern app-only authentication, so it cannot log in with an assertion; use its organization account with grant_type=password.", org.Name)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(assertion), &doc); err != nil {
		return nil, invalidGrant("The assertion is not a JSON object; send the whole Microsoft Entra ID token response (the JSON with access_token) as the assertion.")
	}
	var access string
	if raw, ok := doc["access_token"]; !ok || json.Unmarshal(raw, &access) != nil || access == "" {
		return nil, invalidGrant("The assertion has no access_token; send the whole Microsoft Entra ID token response as the assertion.")
	}
	c, e := t.entra.verifyEntraToken(r.Context(), access, org.MSID, "The assertion's access token", now, set)
	if e != nil {
		return nil, e
	}
	if !strings.EqualFold(c.TenantID, org.MSID) && !t.mut.IgnoreAssertionTenant {
		return nil, invalidGrant("The assertion's access token was issued for tenant %q, but organization %s is tenant %s.", c.TenantID, org.Name, org.MSID)
	}
	if !isGraphAudience(c.Audience) {
		return nil, invalidGrant("The assertion's access token is for audience %q, not Microsoft Graph (%s or %s); request Graph scopes from Microsoft Entra ID.", strings.Join(c.Audience, " "), graphAppID, graphResource)
	}
	if !c.hasScope(directoryScopes) && !t.mut.IgnoreAssertionScopes {
		return nil, invalidGrant("The assertion's access token lacks a Directory permission; its scp must include one of %s.", strings.Join(directoryScopes, ", "))
	}
	if !c.hasScope(userScopes) && !t.mut.IgnoreAssertionScopes {
		return nil, invalidGrant("The assertion's access token lacks a User permission; its scp must include one of %s.", strings.Join(userScopes, ", "))
	}
	user := c.userName()
	if user == "" {
		user = org.Name
	}
	return &session{key: newGUID(), user: user, kind: kindTenant, orgID: org.ID, credentialType: credJWTBearer}, nil
}

// operator is grant_type=operator: client_id is <userId>.<tenantId> and assertion the
// operator's raw Entra access token for the Restore Portal application (veeam.md §1.2).
func (t *tokenService) operator(r *http.Request, f map[string]string, now time.Time, set Settings) (*session, *apiError) {
	clientID, assertion := f["client_id"], f["assertion"]
	if clientID == "" || assertion == "" {
		return nil, invalidRequest("grant_type=operator needs client_id (<userId>.<tenantId>) and assertion (the operator's Microsoft Entra ID access token).")
	}
	if !set.OperatorAuthentication {
		return nil, invalidGrant("Restore operator authentication is disabled on this server; enable restore operator authentication with Microsoft credentials first.")
	}
	userPart, tenantPart, _ := strings.Cut(clientID, ".")
	userID, okU := parseGUID(userPart)
	tenantID, okT := parseGUID(tenantPart)
	if !okU || !okT {
		return nil, invalidRequest("client_id %q is not <userId>.<tenantId> (two GUIDs joined by a dot).", clientID)
	}
	org, ok := t.orgs.findOrganization(func(o *Organization) bool { return o.MSID != "" && strings.EqualFold(o.MSID, tenantID) })
	if !ok {
		return nil, invalidGrant("No organization with tenant id %s was added to this server.", tenantID)
	}
	if strings.HasPrefix(strings.TrimSpace(assertion), "{") { // tolerate a whole token response
		var doc struct {
			AccessToken string `json:"access_token"`
		}
		if json.Unmarshal([]byte(assertion), &doc) == nil && doc.AccessToken != "" {
			assertion = doc.AccessToken
		}
	}
	c, e := t.entra.verifyEntraToken(r.Context(), assertion, tenantID, "The operator's access token", now, set)
	if e != nil {
		return nil, e
	}
	if !strings.EqualFold(c.TenantID, tenantID) {
		return nil, invalidGrant("The operator's access token was issued for tenant %q, not %s.", c.TenantID, tenantID)
	}
	if !strings.EqualFold(c.ObjectID, userID) {
		return nil, invalidGrant("The operator's access token belongs to user %q, not %s.", c.ObjectID, userID)
	}
	app := strings.ToLower(t.orgs.restorePortal().ApplicationID)
	okAud := false
	for _, a := range c.Audience {
		if strings.EqualFold(a, app) || strings.EqualFold(a, "api://"+app) {
			okAud = true
		}
	}
	if !okAud {
		return nil, invalidGrant("The operator's access token is for audience %q, not the Restore Portal application api://%s.", strings.Join(c.Audience, " "), app)
	}
	if !c.hasScope([]string{operatorScope}) {
		return nil, invalidGrant("The operator's access token lacks the %s scope of the Restore Portal application.", operatorScope)
	}
	// [A] The operator signs in through the Restore Portal application itself (a public
	// client asking for its own api://<appId>/access_as_user), so the token's client
	// (appid in v1, azp in v2) must be that application.
	if !strings.EqualFold(c.clientApp(), app) {
		return nil, invalidGrant("The operator's access token was issued to application %q, not the Restore Portal application %s.", c.clientApp(), app)
	}
	user := c.userName()
	if user == "" {
		user = userID
	}
	return &session{key: newGUID(), user: user, userID: strings.ToLower(userID), kind: kindOperator, orgID: org.ID, credentialType: credOperator}, nil
}

// logout is POST /v8/token/logout: 204, and every token of the caller's session (the
// whole refresh chain of that login) is revoked.
func (s *Server) logout(rq *request) (int, any, *apiError) {
	s.sessions.revoke(rq.sess.key)
	return http.StatusNoContent, nil, nil
}
