package flow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/mocks/secret"
)

// Defaults of the modern app-only flow (Veeam's "Authorization for Organizations with
// Modern App-Only Authentication": the Azure CLI public client and the Graph scopes it
// lists).
const (
	DefaultAuthority = "https://login.microsoftonline.com"
	DefaultClientID  = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
	DefaultScope     = "Directory.AccessAsUser.All User.ReadWrite.All offline_access"
	// DefaultInterval is the polling interval when a device-code response has none
	// (RFC 8628 §3.2: "If no value is provided, clients MUST use 5 as the default").
	DefaultInterval = 5 * time.Second
	// SlowDownStep is what slow_down adds to the interval (RFC 8628 §3.5).
	SlowDownStep = 5 * time.Second
)

// Grant types of the Entra token endpoint.
const (
	GrantDeviceCode   = "urn:ietf:params:oauth:grant-type:device_code"
	GrantRefreshToken = "refresh_token"
)

// DefaultTenant is the tenant segment when none is set: any work or school account.
const DefaultTenant = "organizations"

// EntraSettings say which Entra a client asks and as which application. Empty fields
// take flow's defaults (WithDefaults): this package is the one place that decides them.
// engine.Target embeds them, so a target's settings become a client's as one value.
type EntraSettings struct {
	Authority string `json:"authority"` // origin without tenant; default DefaultAuthority
	Tenant    string `json:"tenant"`    // path segment: domain, GUID, organizations, common; default DefaultTenant
	ClientID  string `json:"client_id"` // default DefaultClientID
	Scope     string `json:"scope"`     // default DefaultScope
}

// WithDefaults returns s with flow's default in every empty field, and the authority
// without a trailing slash.
func (s EntraSettings) WithDefaults() EntraSettings {
	s.Authority = strings.TrimRight(s.Authority, "/")
	if s.Authority == "" {
		s.Authority = DefaultAuthority
	}
	if s.Tenant == "" {
		s.Tenant = DefaultTenant
	}
	if s.ClientID == "" {
		s.ClientID = DefaultClientID
	}
	if s.Scope == "" {
		s.Scope = DefaultScope
	}
	return s
}

// Entra is a client of Microsoft Entra ID's v2 endpoints for one tenant and client.
type Entra struct {
	HTTP  *HTTP
	Clock clock.Clock // polling waits and device-code expiry; required for PollToken
	EntraSettings
}

func (e *Entra) authority() string { return e.WithDefaults().Authority }

func (e *Entra) tenant(t string) string {
	if t != "" {
		return t
	}
	return e.WithDefaults().Tenant
}

func (e *Entra) clientID(c string) string {
	if c != "" {
		return c
	}
	return e.WithDefaults().ClientID
}

// Endpoint returns the URL of a v2 OAuth endpoint ("devicecode", "token") for tenant
// (the client's tenant when empty).
func (e *Entra) Endpoint(tenant, name string) string {
	return e.authority() + "/" + url.PathEscape(e.tenant(tenant)) + "/oauth2/v2.0/" + name
}

// DeviceCodeRequest overrides the client's defaults for one device-code request.
type DeviceCodeRequest struct {
	Tenant   string
	ClientID string
	Scope    string
}

// DeviceCode is Entra's device authorization response (RFC 8628 §3.2) plus what polling
// needs to remember: who asked and when, on the scenario clock.
type DeviceCode struct {
	DeviceCode      string          `json:"device_code"`
	UserCode        string          `json:"user_code"`
	VerificationURI string          `json:"verification_uri"`
	ExpiresIn       Seconds         `json:"expires_in"`
	Interval        Seconds         `json:"interval"`
	Message         string          `json:"message"`
	Raw             json.RawMessage `json:"-"` // the response body as received
	IssuedAt        time.Time       `json:"-"` // clock time the response arrived
	Tenant          string          `json:"-"`
	ClientID        string          `json:"-"`
}

// ExpiresAt is when the device code stops being redeemable, on the scenario clock.
func (d *DeviceCode) ExpiresAt() time.Time { return d.IssuedAt.Add(d.ExpiresIn.Duration()) }

// EntraToken is a successful Entra token response. Raw is the whole body: for Veeam's
// jwt-bearer grant the assertion IS this document, byte for byte.
type EntraToken struct {
	TokenType    string          `json:"token_type"`
	Scope        string          `json:"scope"`
	ExpiresIn    Seconds         `json:"expires_in"`
	ExtExpiresIn Seconds         `json:"ext_expires_in"`
	AccessToken  string          `json:"access_token"`
	RefreshToken string          `json:"refresh_token"`
	IDToken      string          `json:"id_token"`
	Raw          json.RawMessage `json:"-"`
	ReceivedAt   time.Time       `json:"-"`
}

// EntraError is an OAuth error from Entra ({error, error_description, error_codes}), or
// one raised locally (Status 0) when a device code expires without a sign-in.
type EntraError struct {
	Status      int    // HTTP status; 0 for a local error
	Code        string // OAuth error: authorization_pending, authorization_declined, expired_token, invalid_grant…
	AADSTS      int    // first of error_codes, or the AADSTSnnnn in the description; 0 if none
	Description string
	Body        []byte
}

// Error implements error.
func (e *EntraError) Error() string {
	var b strings.Builder
	b.WriteString("entra: ")
	b.WriteString(e.Code)
	if e.AADSTS != 0 {
		fmt.Fprintf(&b, " (AADSTS%d)", e.AADSTS)
	}
	if e.Status != 0 {
		fmt.Fprintf(&b, " [HTTP %d]", e.Status)
	}
	if d := firstLine(e.Description); d != "" {
		b.WriteString(": ")
		b.WriteString(d)
	}
	return b.String()
}

var aadstsRE = regexp.MustCompile(`AADSTS(\d+)`)

// ParseEntraError reads an Entra error body. It returns nil when the body carries no
// OAuth `error` member.
func ParseEntraError(status int, body []byte) *EntraError {
	var eb struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		Codes       []int  `json:"error_codes"`
	}
	if json.Unmarshal(body, &eb) != nil || eb.Error == "" {
		return nil
	}
	e := &EntraError{Status: status, Code: eb.Error, Description: eb.Description, Body: body}
	if len(eb.Codes) > 0 {
		e.AADSTS = eb.Codes[0]
	} else if m := aadstsRE.FindStringSubmatch(eb.Description); m != nil {
		e.AADSTS, _ = strconv.Atoi(m[1])
	}
	return e
}

func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return s[:i]
	}
	return s
}

// unexpected turns a non-OAuth failure into an error naming the status and a short body
// (redacted before it is cut, so no secret is left half-visible).
func unexpected(h *HTTP, service string, r *Response) error {
	body := strings.TrimSpace(string(r.Body))
	if h != nil && h.Redact != nil {
		body = h.Redact(body)
	}
	if len(body) > 200 {
		body = body[:200] + "…"
	}
	if body == "" {
		body = "(empty body)"
	}
	return fmt.Errorf("%s: unexpected HTTP %d from %s: %s", service, r.Status, redactURL(r.URL), body)
}

func (e *Entra) clock() clock.Clock {
	if e.Clock == nil {
		return clock.NewReal()
	}
	return e.Clock
}

// PostForm posts form to a v2 endpoint ("devicecode", "token") of tenant and returns the
// response whatever its status: raw access for negative tests.
func (e *Entra) PostForm(ctx context.Context, tenant, endpoint string, form url.Values) (*Response, error) {
	e.HTTP.secretFields(form)
	return e.HTTP.Do(ctx, Form(e.Endpoint(tenant, endpoint), form))
}

// DeviceCode starts the device authorization grant (POST /{tenant}/oauth2/v2.0/devicecode).
func (e *Entra) DeviceCode(ctx context.Context, req DeviceCodeRequest) (*DeviceCode, error) {
	tenant, client := e.tenant(req.Tenant), e.clientID(req.ClientID)
	scope := req.Scope
	if scope == "" {
		scope = e.WithDefaults().Scope
	}
	resp, err := e.PostForm(ctx, tenant, "devicecode", url.Values{"client_id": {client}, "scope": {scope}})
	if err != nil {
		return nil, fmt.Errorf("entra device code: %w", err)
	}
	if resp.Status != http.StatusOK {
		if ee := ParseEntraError(resp.Status, resp.Body); ee != nil {
			return nil, ee
		}
		return nil, unexpected(e.HTTP, "entra device code", resp)
	}
	dc := &DeviceCode{}
	if err := resp.JSON(dc); err != nil {
		return nil, fmt.Errorf("entra device code: %w", err)
	}
	e.HTTP.secret(secret.Token, dc.DeviceCode, dc.UserCode)
	if dc.DeviceCode == "" {
		return nil, fmt.Errorf("entra device code: response from %s has no device_code", redactURL(resp.URL))
	}
	dc.Raw, dc.IssuedAt, dc.Tenant, dc.ClientID = resp.Body, e.clock().Now(), tenant, client
	return dc, nil
}

// PollEvent describes one poll, for progress display (a live sign-in shows the time left).
type PollEvent struct {
	Attempt   int           // 1 for the first poll
	Error     string        // authorization_pending or slow_down; "" for a transient answer
	Status    int           // the HTTP status of a transient answer (429, 503, …); 0 otherwise
	Interval  time.Duration // the interval now in force
	Wait      time.Duration // until the next poll: the interval, or a longer Retry-After
	Remaining time.Duration // until the device code expires
}

// PollOptions tune PollToken.
type PollOptions struct {
	// OnPoll, if set, is called after every poll that did not end the flow.
	OnPoll func(PollEvent)
	// NoRetry makes the first transient answer (see Transient) end the polling, returned
	// as an error, instead of being retried.
	NoRetry bool
}

// Transient reports whether an HTTP status is a transient answer that a client retries
// rather than reports: 408, 429, 500, 502, 503 and 504, the statuses MSAL for Go
// (v1.10.1) retries in its managed-identity client. Its device-code loop retries only
// authorization_pending and slow_down; PollToken also retries these, within the code's
// lifetime, as a person waiting at a terminal would want.
func Transient(status int) bool {
	switch status {
	case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// RetryAfter reads a Retry-After header (RFC 9110 §10.2.3): delay-seconds, or an
// HTTP-date counted from now on the caller's clock. It returns 0 when there is none or
// it cannot be read.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		return max(time.Duration(s)*time.Second, 0)
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}

// ErrDeviceCodeExpired is wrapped by the local EntraError PollToken returns when the
// device code's expires_in passes without a sign-in.
var ErrDeviceCodeExpired = errors.New("device code expired")

// PollToken redeems a device code (RFC 8628 §3.4–3.5): it waits one interval before the
// first poll and between polls (never faster), adds 5 s to the interval on slow_down,
// keeps polling on authorization_pending, and stops when the next poll would fall after
// the code's expires_in, returning a local EntraError with Code "expired_token". A
// transient answer (Transient: 429, 503, …) is retried too, after the interval or the
// answer's Retry-After when that is longer (unless opts.NoRetry). Any other error answer
// is returned as an *EntraError. Waits run on e.Clock and end with ctx.
func (e *Entra) PollToken(ctx context.Context, dc *DeviceCode, opts PollOptions) (*EntraToken, error) {
	clk := e.clock()
	interval := dc.Interval.Duration()
	if interval <= 0 {
		interval = DefaultInterval
	}
	issued := dc.IssuedAt
	if issued.IsZero() {
		issued = clk.Now()
	}
	deadline := issued.Add(dc.ExpiresIn.Duration())
	form := url.Values{"grant_type": {GrantDeviceCode}, "client_id": {e.clientID(dc.ClientID)}, "device_code": {dc.DeviceCode}}
	wait := interval
	transient, lastStatus := 0, 0 // the run of transient answers just before, and their last status
	for attempt := 1; ; attempt++ {
		now := clk.Now()
		if dc.ExpiresIn > 0 && now.Add(wait).After(deadline) {
			why := "no sign-in within expires_in (%ds); the next poll would have been after the code expired (RFC 8628 §3.5)"
			if transient > 0 {
				why += fmt.Sprintf("; the last %d polls were answered HTTP %d", transient, lastStatus)
			}
			return nil, &EntraError{Code: "expired_token", Description: fmt.Sprintf("%v: "+why, ErrDeviceCodeExpired, int64(dc.ExpiresIn))}
		}
		if err := clk.Sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("entra poll: %w", err)
		}
		tok, resp, err := e.redeem(ctx, dc.Tenant, form)
		if err != nil {
			return nil, err
		}
		if tok != nil {
			return tok, nil
		}
		ev := PollEvent{Attempt: attempt, Interval: interval}
		ee := ParseEntraError(resp.Status, resp.Body)
		switch {
		case Transient(resp.Status) && !opts.NoRetry && (ee == nil || (ee.Code != "authorization_pending" && ee.Code != "slow_down")):
			// Throttled or unavailable: poll again after the interval, or after the
			// answer's Retry-After when that is longer, as long as the code lives.
			transient, lastStatus = transient+1, resp.Status
			ev.Status, ev.Wait = resp.Status, max(interval, RetryAfter(resp.Header, clk.Now()))
		case ee == nil && Transient(resp.Status):
			return nil, fmt.Errorf("%w (PollOptions.NoRetry)", unexpected(e.HTTP, "entra poll", resp))
		case ee == nil:
			return nil, unexpected(e.HTTP, "entra poll", resp)
		case ee.Code == "authorization_pending":
			transient, ev.Error, ev.Wait = 0, ee.Code, interval
		case ee.Code == "slow_down":
			interval += SlowDownStep
			transient, ev.Error, ev.Interval, ev.Wait = 0, ee.Code, interval, interval
		default:
			return nil, ee
		}
		wait = ev.Wait
		ev.Remaining = deadline.Sub(clk.Now())
		if opts.OnPoll != nil {
			opts.OnPoll(ev)
		}
	}
}

// redeem posts one token request and returns the token on 200, or the response otherwise.
func (e *Entra) redeem(ctx context.Context, tenant string, form url.Values) (*EntraToken, *Response, error) {
	resp, err := e.PostForm(ctx, tenant, "token", form)
	if err != nil {
		return nil, nil, fmt.Errorf("entra token: %w", err)
	}
	if resp.Status != http.StatusOK {
		return nil, resp, nil
	}
	tok := &EntraToken{}
	if err := resp.JSON(tok); err != nil {
		return nil, nil, fmt.Errorf("entra token: %w", err)
	}
	e.HTTP.secret(secret.Token, tok.AccessToken, tok.RefreshToken, tok.IDToken)
	if ee := ParseEntraError(resp.Status, resp.Body); ee != nil {
		return nil, nil, ee // an error member on a 200 is still an error (x/oauth2 does the same)
	}
	if tok.AccessToken == "" {
		return nil, nil, fmt.Errorf("entra token: 200 response from %s has no access_token", redactURL(resp.URL))
	}
	tok.Raw, tok.ReceivedAt = resp.Body, e.clock().Now()
	return tok, nil, nil
}

// RefreshRequest overrides the client's defaults for one refresh.
type RefreshRequest struct {
	Tenant   string
	ClientID string
	Scope    string // empty: the client's Scope
}

// Refresh redeems a refresh token (grant_type=refresh_token).
func (e *Entra) Refresh(ctx context.Context, refreshToken string, req RefreshRequest) (*EntraToken, error) {
	if refreshToken == "" {
		return nil, errors.New("entra refresh: no refresh token (was offline_access in the scope?)")
	}
	scope := req.Scope
	if scope == "" {
		scope = e.WithDefaults().Scope
	}
	form := url.Values{"grant_type": {GrantRefreshToken}, "client_id": {e.clientID(req.ClientID)},
		"refresh_token": {refreshToken}, "scope": {scope}}
	tok, resp, err := e.redeem(ctx, e.tenant(req.Tenant), form)
	if err != nil {
		return nil, err
	}
	if tok != nil {
		return tok, nil
	}
	if ee := ParseEntraError(resp.Status, resp.Body); ee != nil {
		return nil, ee
	}
	return nil, unexpected(e.HTTP, "entra refresh", resp)
}

// OpenIDConfigurationURL is the tenant's v2 discovery document.
func (e *Entra) OpenIDConfigurationURL(tenant string) string {
	return e.authority() + "/" + url.PathEscape(e.tenant(tenant)) + "/v2.0/.well-known/openid-configuration"
}

// JWKSURL is the tenant's v2 signing keys document.
func (e *Entra) JWKSURL(tenant string) string {
	return e.authority() + "/" + url.PathEscape(e.tenant(tenant)) + "/discovery/v2.0/keys"
}

// GetJSON fetches a JSON document and returns its body (200 only).
func (e *Entra) GetJSON(ctx context.Context, rawURL string) (json.RawMessage, error) {
	return GetJSON(ctx, e.HTTP, rawURL)
}

// GetJSON fetches rawURL and returns the body of a 200 JSON response.
func GetJSON(ctx context.Context, h *HTTP, rawURL string) (json.RawMessage, error) {
	hdr := http.Header{}
	hdr.Set("Accept", "application/json")
	resp, err := h.Do(ctx, Request{Method: http.MethodGet, URL: rawURL, Header: hdr})
	if err != nil {
		return nil, err
	}
	if resp.Status != http.StatusOK {
		if ee := ParseEntraError(resp.Status, resp.Body); ee != nil {
			return nil, ee
		}
		return nil, unexpected(h, "get", resp)
	}
	if !json.Valid(resp.Body) {
		return nil, fmt.Errorf("get %s: response is not JSON", redactURL(rawURL))
	}
	return resp.Body, nil
}
