package veeam

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// The Veeam mock as an Entra client (issue 14 item 1). A real VB365 server answers its
// device-code operations by asking Microsoft Entra ID for a device code itself, keeps
// the device code (the REST client only ever sees the user code: RESTDeviceCodeResponse
// has no device code and no interval, modern-app-only.md §4.1 [C SPEC8]) and polls
// Entra's token endpoint with it [I]. The mock does the same against the authority the
// server verifies assertions against (WithAuthority), with the same client
// (WithHTTPClient): inside a stack, the stack's in-memory transport, so every request
// appears in the Entra mock's journal (device codes and tokens redacted); for
// `vbharness mock`, HTTPS to the Entra mock, trusting the local CA.

// DefaultDeviceCodeClientID is the public client the mock's device-code operations ask
// Entra for a code with, unless WithDeviceCodeClient names another, and except a
// restore's device code, which names the organization's application. Which client id
// VB365 itself uses is not public (modern-app-only.md §6 [?]); the mock uses Azure CLI's
// [A]: a first-party public client that exists in every tenant and is preauthorized for
// Application.ReadWrite.All and AppRoleAssignment.ReadWrite.All, the delegated
// permissions registering an application and granting it roles need (§3.2).
const DefaultDeviceCodeClientID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"

// deviceCodeScope is what the mock's device codes ask Graph for [A: VB365's scopes are
// not public, §3.2; these are what its registration steps need].
const deviceCodeScope = "Application.ReadWrite.All AppRoleAssignment.ReadWrite.All Directory.AccessAsUser.All offline_access"

// restoreDeviceCodeScope is what a restore's device code asks Graph for: the delegated
// restore permissions VB365 names (modern-app-only.md §2, "Restore using device code
// flow" [C UG]) that a Graph token carries.
const restoreDeviceCodeScope = "Directory.Read.All Group.ReadWrite.All Sites.Read.All offline_access"

// globalAdministratorRole is the Global Administrator role's template id, which Entra
// puts in a user token's wids [C: Microsoft Entra built-in roles]. Adding an
// organization with modern app-only authentication needs that role's sign-in
// (modern-app-only.md §2 [C UG]); the mock reads it from the token's wids [I: VB365
// may ask Graph instead].
const globalAdministratorRole = "62e90394-69f5-4237-9190-012177145e10"

// maxDeviceLogins bounds the device codes a server keeps: past it, expired and finished
// ones go first, then the oldest.
const maxDeviceLogins = 1000

// WithDeviceCodeClient sets the public client id the device-code operations use
// (default DefaultDeviceCodeClientID).
func WithDeviceCodeClient(clientID string) Option {
	return func(c *config) { c.deviceClient = clientID }
}

// Purposes of a device login: which operation asked for it, and so what it may be used
// for.
const (
	purposeOrganization = "organization" // POST /v8/DeviceCode: adding an organization
	purposeApplications = "applications" // POST /v8/Organizations/{id}/DeviceCode
	purposeAzure        = "azure"        // POST /v8/AzureServiceAccounts/DeviceCode
	purposeRestore      = "restore"      // …/organization/restoreDeviceCode
)

// deviceLogin is one device code the server asked Entra for. The device code never
// leaves the server.
type deviceLogin struct {
	userCode   string
	deviceCode string
	tenant     string // the tenant path segment the code was asked for
	clientID   string
	purpose    string
	scope      string // the organization or restore session it was asked for, if any
	issued     time.Time
	expires    time.Time
	interval   time.Duration
	lastPoll   time.Time
	// Entra's verification URI and message, passed on to the REST client.
	verificationURI string
	message         string
	// The outcome: signedIn once Entra answered a token (then user holds who signed in),
	// failure once Entra refused the code for good (expired, declined, unknown).
	signedIn bool
	user     signIn
	failure  *apiError
	// pending is Entra's last authorization_pending text (AADSTS70016), for the
	// refusal of a restore whose sign-in is not complete.
	pending string
	// redeemed marks a restore's code that a restore action used: one sign-in, one
	// restore [A: the record does not say whether VB365 reuses a restore sign-in].
	redeemed bool
}

// signIn is who completed a device login, read from the Graph access token Entra
// answered (its claims; the token itself is not kept).
type signIn struct {
	TenantID string   `json:"tid"`
	UPN      string   `json:"upn"`
	OID      string   `json:"oid"`
	Wids     []string `json:"wids"`
}

// admin reports whether the user who signed in is a Global Administrator.
func (u signIn) admin() bool {
	for _, w := range u.Wids {
		if strings.EqualFold(w, globalAdministratorRole) {
			return true
		}
	}
	return false
}

// deviceLogins are a server's device codes by upper-case user code. Safe for concurrent
// use; Reset forgets them, and a state file does not keep them (a restarted mock has
// forgotten its codes, as a restarted VB365 would have [I]).
type deviceLogins struct {
	mu     sync.Mutex
	byUser map[string]*deviceLogin
}

func newDeviceLogins() *deviceLogins { return &deviceLogins{byUser: map[string]*deviceLogin{}} }

func (d *deviceLogins) reset() {
	d.mu.Lock()
	defer d.mu.Unlock()
	clear(d.byUser)
}

func userCodeKey(code string) string { return strings.ToUpper(strings.TrimSpace(code)) }

// add keeps l, dropping expired or finished logins, then the oldest, past the bound.
func (d *deviceLogins) add(l *deviceLogin, now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.byUser) >= maxDeviceLogins {
		var oldest *deviceLogin
		for k, o := range d.byUser {
			if !now.Before(o.expires) || o.failure != nil {
				delete(d.byUser, k)
				continue
			}
			if oldest == nil || o.issued.Before(oldest.issued) {
				oldest = o
			}
		}
		if len(d.byUser) >= maxDeviceLogins && oldest != nil {
			delete(d.byUser, userCodeKey(oldest.userCode))
		}
	}
	d.byUser[userCodeKey(l.userCode)] = l
}

// get returns a copy of the login with userCode.
func (d *deviceLogins) get(userCode string) (deviceLogin, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	l, ok := d.byUser[userCodeKey(userCode)]
	if !ok {
		return deviceLogin{}, false
	}
	return *l, true
}

// remove forgets the login with userCode.
func (d *deviceLogins) remove(userCode string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.byUser, userCodeKey(userCode))
}

// redeem marks the signed-in login with userCode used, and reports whether it was
// not used before: of two restores sent at once with one code, one wins.
func (d *deviceLogins) redeem(userCode string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	l, ok := d.byUser[userCodeKey(userCode)]
	if !ok || l.redeemed || !l.signedIn {
		return false
	}
	l.redeemed = true
	return true
}

// update applies f to the login with userCode, if the server still has it.
func (d *deviceLogins) update(userCode string, f func(*deviceLogin)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if l, ok := d.byUser[userCodeKey(userCode)]; ok {
		f(l)
	}
}

// entraDeviceCode is Entra's device authorization response (entra.md §1).
type entraDeviceCode struct {
	UserCode        string `json:"user_code"`
	DeviceCode      string `json:"device_code"`
	VerificationURI string `json:"verification_uri"`
	ExpiresIn       int64  `json:"expires_in"`
	Interval        int64  `json:"interval"`
	Message         string `json:"message"`
}

// entraError is Entra's error body (entra.md §2).
type entraError struct {
	Error       string  `json:"error"`
	Description string  `json:"error_description"`
	Codes       []int64 `json:"error_codes"`
}

// aadsts is the error's first AADSTS code, 0 if none.
func (e entraError) aadsts() int64 {
	if len(e.Codes) > 0 {
		return e.Codes[0]
	}
	return 0
}

// firstLine is an Entra error description without its trace lines.
func (e entraError) firstLine() string {
	line, _, _ := strings.Cut(e.Description, "\r\n")
	line, _, _ = strings.Cut(line, "\n")
	return line
}

// postEntra posts form to the authority's tenant endpoint path (after /{tenant}) and
// decodes a 200 answer into ok or an error answer into fail. status is the HTTP status;
// err a transport or decoding failure.
func (s *Server) postEntra(ctx context.Context, tenant, path string, form url.Values, ok any) (int, *entraError, error) {
	u := s.authority + "/" + url.PathEscape(tenant) + path
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := s.entraClient.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("post %s: %w", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocBytes+1))
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("read %s: %w", u, err)
	}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, ok); err != nil {
			return resp.StatusCode, nil, fmt.Errorf("decode %s: %w", u, err)
		}
		return resp.StatusCode, nil, nil
	}
	var e entraError
	if err := json.Unmarshal(body, &e); err != nil || e.Error == "" {
		return resp.StatusCode, nil, fmt.Errorf("%s answered %d without an OAuth error", u, resp.StatusCode)
	}
	return resp.StatusCode, &e, nil
}

// entraUnavailable is the answer when Entra cannot be reached or answers nonsense [A:
// VB365's message is not public].
func entraUnavailable(err error) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: codeValidation,
		Message: fmt.Sprintf("Failed to connect to Microsoft Entra ID: %v.", err)}
}

// entraRefused is the answer when Entra refuses a request the server made: its AADSTS
// text in the message, as modern-app-only.md §4.6 suggests [A].
func entraRefused(e *entraError) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: codeValidation,
		Message: "Microsoft Entra ID refused the request: " + e.firstLine()}
}

// startDeviceLogin asks Entra for a device code for tenant with clientID and scope,
// keeps it, and returns what the REST client sees.
func (s *Server) startDeviceLogin(rq *request, tenant, clientID, scope, purpose, of string) (*deviceLogin, *apiError) {
	var dc entraDeviceCode
	_, fail, err := s.postEntra(rq.Context(), tenant, "/oauth2/v2.0/devicecode",
		url.Values{"client_id": {clientID}, "scope": {scope}}, &dc)
	switch {
	case err != nil:
		return nil, entraUnavailable(err)
	case fail != nil:
		return nil, entraRefused(fail)
	case dc.UserCode == "" || dc.DeviceCode == "":
		return nil, entraUnavailable(fmt.Errorf("its device code answer has no user_code or device_code"))
	}
	interval := time.Duration(max(dc.Interval, 1)) * time.Second
	l := &deviceLogin{
		userCode: dc.UserCode, deviceCode: dc.DeviceCode, tenant: tenant, clientID: clientID,
		purpose: purpose, scope: of, issued: rq.now,
		expires:  rq.now.Add(time.Duration(dc.ExpiresIn) * time.Second),
		interval: interval,
	}
	l.verificationURI, l.message = dc.VerificationURI, dc.Message
	cp := *l
	s.logins.add(l, rq.now)
	return &cp, nil
}

// The device-code operations are hand-written entries of the route table, added here
// (the applications' too, orgadd.go) so the Entra client's files hold all of it.
func init() {
	for id, op := range map[string]operation{
		"Organization_OrganizationDeviceCode":                   {who: admins, handle: (*Server).deviceCode},
		"Organization_CheckDeviceCode":                          {who: admins, handle: (*Server).checkDeviceCode},
		"OrganizationBackupApplications_OrganizationDeviceCode": {who: admins, handle: (*Server).organizationDeviceCode},
		"AzureServiceAccounts_GetDeviceCode":                    {who: admins, handle: (*Server).azureDeviceCode},
		"RestoreSession_DeviceCodeAction":                       {who: anyToken, own: true, handle: (*Server).restoreDeviceCode},
	} {
		handWritten[id] = op
	}
}

// deviceCodeResponse is RESTDeviceCodeResponse (modern-app-only.md §4.1 [C SPEC8]).
type deviceCodeResponse struct {
	UserCode        string `json:"userCode"`
	VerificationURL string `json:"verificationUrl"`
	ExpiresIn       int64  `json:"expiresIn"`
	Message         string `json:"message"`
}

// response renders a fresh login as RESTDeviceCodeResponse: Entra's user code,
// verification URI, lifetime and message passed on.
func (l *deviceLogin) response() deviceCodeResponse {
	return deviceCodeResponse{
		UserCode: l.userCode, VerificationURL: l.verificationURI,
		ExpiresIn: int64(l.expires.Sub(l.issued) / time.Second), Message: l.message,
	}
}

// regionTenant checks targetRegion (modern-app-only.md §4.1): the mock has one Entra,
// so every region but Germany, whose cloud closed on 2021-10-29 [C], is served by it [A].
func regionTenant(body map[string]any) *apiError {
	if r, _ := body["targetRegion"].(string); strings.EqualFold(r, "Germany") {
		return badParam("The Microsoft Cloud Deutschland (Germany region) was closed on October 29, 2021; choose another targetRegion.")
	}
	return nil
}

// bodyObject reads a request body that the document already validated as an object (or
// absent).
func bodyObject(rq *request) map[string]any {
	var m map[string]any
	_ = json.Unmarshal(rq.body, &m)
	return m
}

// deviceCode serves POST /v8/DeviceCode (Organization_OrganizationDeviceCode): a
// device code for adding an organization. Without loginGraphAppOrganizationId the code
// is asked for at Entra's organizations endpoint, so an administrator of any tenant can
// complete it; with it, at that organization's tenant.
func (s *Server) deviceCode(rq *request) (int, any, *apiError) {
	body := bodyObject(rq)
	if e := regionTenant(body); e != nil {
		return 0, nil, e
	}
	tenant := "organizations"
	if id, _ := body["loginGraphAppOrganizationId"].(string); id != "" {
		o, ok := s.organization(strings.ToLower(id))
		if !ok {
			return 0, nil, notFound("Organization", id)
		}
		tenant = orgTenant(o)
	}
	l, e := s.startDeviceLogin(rq, tenant, s.deviceClient, deviceCodeScope, purposeOrganization, "")
	if e != nil {
		return 0, nil, e
	}
	return http.StatusOK, l.response(), nil
}

// orgTenant is how the mock names an organization's tenant at Entra: its msid, else its
// name.
func orgTenant(o Organization) string {
	if o.MSID != "" {
		return o.MSID
	}
	return o.Name
}

// organizationDeviceCode serves POST /v8/Organizations/{organizationId}/DeviceCode
// (OrganizationBackupApplications_OrganizationDeviceCode): a device code at the
// organization's tenant.
func (s *Server) organizationDeviceCode(rq *request) (int, any, *apiError) {
	o, _ := s.organization(rq.param("organizationId"))
	l, e := s.startDeviceLogin(rq, orgTenant(o), s.deviceClient, deviceCodeScope, purposeApplications, o.ID)
	if e != nil {
		return 0, nil, e
	}
	return http.StatusOK, l.response(), nil
}

// azureDeviceCodeInfo is RESTDeviceCodeInfo, the Azure service account's shape
// (modern-app-only.md §4.3 [C SPEC8]): verificationUri and an expiry time.
type azureDeviceCodeInfo struct {
	UserCode        string `json:"userCode"`
	VerificationURI string `json:"verificationUri"`
	ExpiresOnUtc    string `json:"expiresOnUtc"`
	Message         string `json:"message"`
}

// azureDeviceCode serves POST /v8/AzureServiceAccounts/DeviceCode
// (AzureServiceAccounts_GetDeviceCode): a device code at azureTenantId's tenant, or at
// organizations.
func (s *Server) azureDeviceCode(rq *request) (int, any, *apiError) {
	body := bodyObject(rq)
	tenant := "organizations"
	if t, _ := body["azureTenantId"].(string); strings.TrimSpace(t) != "" {
		tenant = strings.TrimSpace(t)
	}
	l, e := s.startDeviceLogin(rq, tenant, s.deviceClient, deviceCodeScope, purposeAzure, "")
	if e != nil {
		return 0, nil, e
	}
	return http.StatusOK, azureDeviceCodeInfo{
		UserCode: l.userCode, VerificationURI: l.verificationURI,
		ExpiresOnUtc: l.expires.UTC().Format(netTime), Message: l.message,
	}, nil
}

// netTime is .NET's round-trip format, as the mock writes date-times.
const netTime = "2006-01-02T15:04:05.0000000Z"

// restoreDeviceCode serves POST /v8/RestoreSessions/{id}/organization/restoreDeviceCode
// (RestoreSession_DeviceCodeAction): a device code for the person who will restore, at
// targetOrganizationName's tenant or the session's organization's, for
// targetApplicationId or the organization's application: the user signs in to that
// application as a public client (modern-app-only.md §4.4 [I]).
func (s *Server) restoreDeviceCode(rq *request) (int, any, *apiError) {
	body := bodyObject(rq)
	if e := regionTenant(body); e != nil {
		return 0, nil, e
	}
	sessID := rq.param("restoreSessionId")
	var org Organization
	if it, ok := s.world.get("/v8/RestoreSessions/" + sessID); ok {
		owner, _ := it.hidden.(restoreOwner)
		org, _ = s.organization(owner.OrganizationID)
	}
	tenant := orgTenant(org)
	if n, _ := body["targetOrganizationName"].(string); strings.TrimSpace(n) != "" {
		tenant = strings.TrimSpace(n)
	}
	app := org.ApplicationID
	if id, _ := body["targetApplicationId"].(string); id != "" {
		app = strings.ToLower(id)
	}
	if app == "" {
		return 0, nil, badParam("The organization %s was not added with a Microsoft Entra application; give targetApplicationId.", org.Name)
	}
	if tenant == "" {
		return 0, nil, badParam("The restore session's organization is unknown; give targetOrganizationName.")
	}
	l, e := s.startDeviceLogin(rq, tenant, app, restoreDeviceCodeScope, purposeRestore, strings.ToLower(sessID))
	if e != nil {
		return 0, nil, e
	}
	return http.StatusOK, l.response(), nil
}

// checkDeviceCode serves POST /v8/DeviceCode/check (Organization_CheckDeviceCode):
// whether the user code's sign-in is complete, from Entra's state of its device code.
func (s *Server) checkDeviceCode(rq *request) (int, any, *apiError) {
	code, _ := bodyObject(rq)["userCode"].(string)
	l, e := s.settleDeviceLogin(rq, code)
	if e != nil {
		return 0, nil, e
	}
	return http.StatusOK, map[string]bool{"authenticated": l.signedIn}, nil
}

// pollAdvice is what a refusal of a sign-in that is not complete adds when the server
// did not ask Entra this time, because it asked less than Entra's polling interval ago
// (a person who has just signed in is then told when to try again, not to sign in):
// empty otherwise.
func (l deviceLogin) pollAdvice(now time.Time) string {
	since := now.Sub(l.lastPoll)
	if l.lastPoll.IsZero() || since <= 0 || since >= l.interval {
		return ""
	}
	wait := (l.interval - since + time.Second - 1).Truncate(time.Second)
	ago := since.Truncate(time.Second).String() + " ago"
	if since < time.Second {
		ago = "less than 1s ago"
	}
	return fmt.Sprintf(" The server asked Microsoft Entra ID %s and asks at most every %s: if the sign-in is done, try again in %s.",
		ago, l.interval, wait)
}

// clipped is a value a client sent, shortened for an error message that names it: at
// most 40 characters, then "…".
func clipped(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}

// settleDeviceLogin returns the login of userCode after polling Entra's token endpoint
// for it, unless its outcome is known or the last poll was less than Entra's interval
// ago (a real server polls on a timer [I]; the mock polls when asked, never faster than
// Entra allows). A code the server never issued, an expired, declined or otherwise
// refused one is an error in Veeam's shape: 400 RESTExceptionInfo, with Entra's AADSTS
// text where it gave one [A: modern-app-only.md §4.2, §4.6: VB365's answers are not
// public].
func (s *Server) settleDeviceLogin(rq *request, userCode string) (deviceLogin, *apiError) {
	l, ok := s.logins.get(userCode)
	if !ok || strings.TrimSpace(userCode) == "" {
		return deviceLogin{}, badParam("The device code %q is unknown: request a new one with POST /v8/DeviceCode.", clipped(userCode))
	}
	if l.signedIn {
		return l, nil
	}
	if l.failure != nil {
		return l, l.failure
	}
	if !l.lastPoll.IsZero() && rq.now.Sub(l.lastPoll) < l.interval && rq.now.Before(l.expires) {
		return l, nil
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_, fail, err := s.postEntra(rq.Context(), l.tenant, "/oauth2/v2.0/token", url.Values{
		"grant_type":  {"urn:ietf:params:oauth:grant-type:device_code"},
		"client_id":   {l.clientID},
		"device_code": {l.deviceCode},
	}, &tok)
	if err != nil {
		return l, entraUnavailable(err)
	}
	s.logins.update(userCode, func(d *deviceLogin) {
		d.lastPoll = rq.now
		switch {
		case d.signedIn:
			// Requests sent at once poll at once: Entra answers one of them the token and
			// the others expired_token (the code is redeemed), in any order. The sign-in
			// stands.
		case fail == nil:
			d.signedIn, d.user, d.failure = true, readSignIn(tok.AccessToken), nil
		case fail.Error == "authorization_pending":
			d.pending = fail.firstLine()
		case fail.Error == "slow_down":
			d.interval += 5 * time.Second // RFC 8628 §3.5
		case fail.Error == "expired_token":
			d.failure = badParam("The device code %s has expired: request a new one. Microsoft Entra ID: %s", d.userCode, fail.firstLine())
		case fail.Error == "authorization_declined" || fail.Error == "access_denied":
			d.failure = badParam("The sign-in with the device code %s was declined. Microsoft Entra ID: %s", d.userCode, fail.firstLine())
		default:
			d.failure = badParam("The device code %s cannot be used. Microsoft Entra ID: %s", d.userCode, fail.firstLine())
		}
		l = *d
	})
	if l.failure != nil {
		return l, l.failure
	}
	return l, nil
}

// readSignIn reads who signed in from a Graph access token's claims. The server is
// the token's client, not its audience, so it does not verify the signature (Graph
// tokens verify only at Graph, entra.md §5.1).
func readSignIn(token string) signIn {
	var u signIn
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return u
	}
	raw, err := b64.DecodeString(strings.TrimRight(parts[1], "="))
	if err == nil {
		_ = json.Unmarshal(raw, &u)
	}
	u.TenantID = strings.ToLower(u.TenantID)
	return u
}
