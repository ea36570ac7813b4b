package flow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/mocks/secret"
)

// Grant types of the Veeam /v8/token endpoint (OpenAPI v8, `grant_type` enum).
const (
	GrantPassword  = "password"
	GrantJWTBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	GrantOperator  = "operator"
)

// DefaultRefreshBefore is how long before a Veeam access token's expiry a Session
// refreshes it on its own.
const DefaultRefreshBefore = 60 * time.Second

// DefaultMaxPages bounds Session.Pages so a server that loops its `next` links cannot
// keep a scenario busy for ever.
const DefaultMaxPages = 1000

// Veeam is a client of one Veeam Backup for Microsoft 365 REST API server.
type Veeam struct {
	HTTP    *HTTP
	Clock   clock.Clock // token expiry bookkeeping; nil means a real clock
	URL     string      // origin, e.g. https://vb365.tech.local:4443
	Version string      // path version; default "v8"
	// KeepAntiforgery, when false (the default), sends disable_antiforgery_token=true with
	// every grant, as every programmatic client does; Veeam otherwise demands its
	// antiforgery token next to the bearer token. When true, the grant leaves the flag out
	// and a Session sends the antiforgery token the token response answered (in the
	// AntiforgeryHeader header) with every call and refresh.
	KeepAntiforgery bool
	// AntiforgeryHeader names the header the token response carries the antiforgery
	// token in and requests send it back in; default DefaultAntiforgeryHeader.
	AntiforgeryHeader string
}

// DefaultAntiforgeryHeader is the mock's antiforgery header. The real name is not in
// the public record (veeam.md §1.6 [?]); the mock assumes ASP.NET's X-XSRF-TOKEN [A].
const DefaultAntiforgeryHeader = "X-XSRF-TOKEN"

func (v *Veeam) antiforgeryHeader() string {
	if v.AntiforgeryHeader == "" {
		return DefaultAntiforgeryHeader
	}
	return v.AntiforgeryHeader
}

func (v *Veeam) clock() clock.Clock {
	if v.Clock == nil {
		return clock.NewReal()
	}
	return v.Clock
}

func (v *Veeam) version() string {
	if v.Version == "" {
		return "v8"
	}
	return v.Version
}

// TokenURL is the token endpoint, /v8/token.
func (v *Veeam) TokenURL() string { return v.Resolve("/" + v.version() + "/token") }

// Resolve turns a path ("/v8/Jobs", or "v8/Jobs") into a URL on the server; absolute URLs
// are returned unchanged.
func (v *Veeam) Resolve(path string) string {
	if strings.HasPrefix(path, "https://") || strings.HasPrefix(path, "http://") {
		return path
	}
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	return strings.TrimRight(v.URL, "/") + path
}

// VeeamToken is a successful /v8/token response (OpenAPI `OAuthTokenResponse`), with the
// times converted to the scenario clock.
type VeeamToken struct {
	AccessToken  string          `json:"access_token"`
	RefreshToken string          `json:"refresh_token"`
	TokenType    string          `json:"token_type"`
	ExpiresIn    Seconds         `json:"expires_in"`
	UserName     string          `json:"userName"`
	Issued       string          `json:".issued"`  // as sent: ISO 8601 per the spec, RFC 1123 on older OWIN builds
	Expires      string          `json:".expires"` // as sent
	Raw          json.RawMessage `json:"-"`
	// Antiforgery is the antiforgery token the response carried (Veeam.KeepAntiforgery),
	// "" when the login sent disable_antiforgery_token=true. A secret.
	Antiforgery string `json:"-"`
	// IssuedAt is when the response arrived, on the client's clock.
	IssuedAt time.Time `json:"-"`
	// ExpiresAt is IssuedAt + expires_in: the client's own view, immune to server clock skew.
	ExpiresAt time.Time `json:"-"`
}

// VeeamError is an error answer of the Veeam REST API, in either of its shapes: the
// RESTExceptionInfo {message, errorCode} or the OAuth {error, error_description} some
// builds use on /token. A 401 on an API call usually has an empty body.
type VeeamError struct {
	Status      int
	ErrorCode   string // RESTExceptionInfo.errorCode: ResourceAccessDenied, ResourceNotFound…
	Message     string // RESTExceptionInfo.message
	OAuthError  string // error: invalid_grant, unauthorized_client…
	Description string // error_description
	Body        []byte
}

// Code returns the error's code in either shape: errorCode, else the OAuth error.
func (e *VeeamError) Code() string {
	if e.ErrorCode != "" {
		return e.ErrorCode
	}
	return e.OAuthError
}

// Error implements error.
func (e *VeeamError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "veeam: HTTP %d", e.Status)
	if c := e.Code(); c != "" {
		b.WriteString(" ")
		b.WriteString(c)
	}
	msg := e.Message
	if msg == "" {
		msg = e.Description
	}
	if msg = firstLine(msg); msg != "" {
		b.WriteString(": ")
		b.WriteString(msg)
	} else if len(e.Body) == 0 {
		b.WriteString(" (empty body)")
	}
	return b.String()
}

// ParseVeeamError reads an error response of any status.
func ParseVeeamError(status int, body []byte) *VeeamError {
	e := &VeeamError{Status: status, Body: body}
	var eb struct {
		Message     string          `json:"message"`
		ErrorCode   json.RawMessage `json:"errorCode"`
		Error       string          `json:"error"`
		Description string          `json:"error_description"`
	}
	if json.Unmarshal(body, &eb) == nil {
		e.Message, e.OAuthError, e.Description = eb.Message, eb.Error, eb.Description
		var code string
		if json.Unmarshal(eb.ErrorCode, &code) == nil {
			e.ErrorCode = code
		}
	}
	return e
}

// PostToken posts form to /v8/token and returns the response whatever its status: raw
// access for negative tests.
func (v *Veeam) PostToken(ctx context.Context, form url.Values) (*Response, error) {
	return v.postToken(ctx, form, "")
}

// postToken posts form, with the antiforgery token xsrf when it is not "" (a refresh of
// a pair that has one).
func (v *Veeam) postToken(ctx context.Context, form url.Values, xsrf string) (*Response, error) {
	v.HTTP.secretFields(form)
	req := Form(v.TokenURL(), form)
	if xsrf != "" {
		req.Header.Set(v.antiforgeryHeader(), xsrf)
	}
	resp, err := v.HTTP.Do(ctx, req)
	if err == nil {
		if x := resp.Header.Get(v.antiforgeryHeader()); x != "" {
			v.HTTP.secret(secret.Token, x)
		}
	}
	return resp, err
}

// Token runs one grant at /v8/token and returns the token pair, or a *VeeamError.
func (v *Veeam) Token(ctx context.Context, form url.Values) (*VeeamToken, error) {
	return v.token(ctx, form, "")
}

func (v *Veeam) token(ctx context.Context, form url.Values, xsrf string) (*VeeamToken, error) {
	if !v.KeepAntiforgery && form.Get("disable_antiforgery_token") == "" {
		form = cloneValues(form)
		form.Set("disable_antiforgery_token", "true")
	}
	resp, err := v.postToken(ctx, form, xsrf)
	if err != nil {
		return nil, fmt.Errorf("veeam token: %w", err)
	}
	if resp.Status != http.StatusOK {
		return nil, ParseVeeamError(resp.Status, resp.Body)
	}
	tok := &VeeamToken{}
	if err := resp.JSON(tok); err != nil {
		return nil, fmt.Errorf("veeam token: %w", err)
	}
	v.HTTP.secret(secret.Token, tok.AccessToken, tok.RefreshToken)
	if tok.AccessToken == "" {
		return nil, fmt.Errorf("veeam token: 200 response from %s has no access_token", redactURL(resp.URL))
	}
	tok.Raw = resp.Body
	tok.Antiforgery = resp.Header.Get(v.antiforgeryHeader())
	tok.IssuedAt = v.clock().Now()
	tok.ExpiresAt = tok.IssuedAt.Add(tok.ExpiresIn.Duration())
	return tok, nil
}

func cloneValues(f url.Values) url.Values {
	out := make(url.Values, len(f)+1)
	for k, v := range f {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// LoginAssertion logs a tenant in with an Entra token response (the modern app-only
// flow): grant_type=jwt-bearer, client_id=<tenant>.onmicrosoft.com, assertion=<the whole
// Entra token response JSON>.
func (v *Veeam) LoginAssertion(ctx context.Context, clientID, assertion string) (*Session, error) {
	if clientID == "" {
		return nil, errors.New("veeam login: the jwt-bearer grant needs client_id, the organization name (abc.onmicrosoft.com)")
	}
	return v.login(ctx, url.Values{"grant_type": {GrantJWTBearer}, "client_id": {clientID}, "assertion": {assertion}})
}

// LoginPassword logs in with a user name and password (an administrator, or a tenant
// account where tenant authentication is enabled).
func (v *Veeam) LoginPassword(ctx context.Context, username, password string) (*Session, error) {
	return v.login(ctx, url.Values{"grant_type": {GrantPassword}, "username": {username}, "password": {password}})
}

// LoginOperator logs a restore operator in: client_id=<userId>.<tenantId>, assertion=<the
// operator's Entra access token>.
func (v *Veeam) LoginOperator(ctx context.Context, userID, tenantID, accessToken string) (*Session, error) {
	return v.login(ctx, url.Values{"grant_type": {GrantOperator}, "client_id": {userID + "." + tenantID}, "assertion": {accessToken}})
}

func (v *Veeam) login(ctx context.Context, form url.Values) (*Session, error) {
	tok, err := v.Token(ctx, form)
	if err != nil {
		return nil, err
	}
	return v.NewSession(tok), nil
}

// NewSession wraps a token pair.
func (v *Veeam) NewSession(tok *VeeamToken) *Session {
	return &Session{veeam: v, tok: *tok, RefreshBefore: DefaultRefreshBefore}
}

// RefreshToken redeems a Veeam refresh token for a new pair.
func (v *Veeam) RefreshToken(ctx context.Context, refreshToken string) (*VeeamToken, error) {
	return v.token(ctx, url.Values{"grant_type": {GrantRefreshToken}, "refresh_token": {refreshToken}}, "")
}

// Session is a logged-in Veeam client: a token pair that refreshes itself. Safe for
// concurrent use; requests are not serialised, token updates are.
type Session struct {
	veeam *Veeam
	// RefreshBefore is how long before expiry Do refreshes on its own (default
	// DefaultRefreshBefore).
	RefreshBefore time.Duration

	mu        sync.Mutex
	tok       VeeamToken
	loggedOut bool
	refused   string // a refresh token Veeam refused: automatic refresh never sends it again
	refusal   error  // what Veeam answered then
}

// RefreshError is what Session.Do returns when its access token has expired (on the
// session's clock) and the automatic refresh failed: the request is not sent, since the
// server could only refuse it. Err is the refresh's error (a *VeeamError when Veeam
// answered).
type RefreshError struct {
	ExpiredAt time.Time // when the access token expired
	Err       error
}

// Error implements error.
func (e *RefreshError) Error() string { return "automatic refresh: " + e.Err.Error() }

// Unwrap returns the refresh's error.
func (e *RefreshError) Unwrap() error { return e.Err }

// Token returns the current token pair.
func (s *Session) Token() VeeamToken {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tok
}

// LoggedOut reports whether Logout succeeded.
func (s *Session) LoggedOut() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loggedOut
}

// Refresh replaces the pair with one obtained from the refresh token. It always sends
// the refresh token, even one Veeam refused before (an explicit refresh is the caller's
// choice), with the pair's antiforgery token when it has one (the server demands it on
// refresh too); a refusal (a *VeeamError) is remembered for automatic refresh.
func (s *Session) Refresh(ctx context.Context) error {
	cur := s.Token()
	rt := cur.RefreshToken
	tok, err := s.veeam.token(ctx, url.Values{"grant_type": {GrantRefreshToken}, "refresh_token": {rt}}, cur.Antiforgery)
	if err != nil {
		var ve *VeeamError
		if errors.As(err, &ve) {
			s.mu.Lock()
			s.refused, s.refusal = rt, err
			s.mu.Unlock()
		}
		return err
	}
	if tok.RefreshToken == "" {
		tok.RefreshToken = rt // a server that does not rotate keeps the old one valid
	}
	s.mu.Lock()
	s.tok = *tok
	s.mu.Unlock()
	return nil
}

// autoRefresh is Refresh for Do: a refresh token Veeam already refused is not sent again;
// its refusal is returned instead.
func (s *Session) autoRefresh(ctx context.Context) error {
	s.mu.Lock()
	refused := s.refused != "" && s.refused == s.tok.RefreshToken
	refusal := s.refusal
	s.mu.Unlock()
	if refused {
		return refusal
	}
	return s.Refresh(ctx)
}

// Logout ends the session on the server (POST /v8/token/logout → 204) and turns off
// automatic refresh.
func (s *Session) Logout(ctx context.Context) (*Response, error) {
	resp, err := s.send(ctx, http.MethodPost, "/"+s.veeam.version()+"/token/logout", nil, nil)
	if err != nil {
		return nil, fmt.Errorf("veeam logout: %w", err)
	}
	if resp.Status != http.StatusNoContent && resp.Status != http.StatusOK {
		return resp, ParseVeeamError(resp.Status, resp.Body)
	}
	s.mu.Lock()
	s.loggedOut = true
	s.mu.Unlock()
	return resp, nil
}

// SessionRequest is one authenticated API call.
type SessionRequest struct {
	Method string
	Path   string // "/v8/Jobs?limit=10" or an absolute URL
	// Header is sent with the request. An Authorization header of the caller's is sent
	// as given instead of the session's token, and the call does not refresh.
	Header http.Header
	Body   []byte
	// NoAutoRefresh sends the current token as is and returns a 401 unchanged.
	NoAutoRefresh bool
}

// SessionResponse is an API answer plus what automatic refresh did.
type SessionResponse struct {
	*Response
	Refreshed  bool  // the session refreshed its tokens for this call
	RefreshErr error // a refresh was attempted and failed; Response is the original answer
}

// Do sends an authenticated request. Unless NoAutoRefresh is set (or the session logged
// out), it refreshes first when the token expires within RefreshBefore on the clock, and
// on a 401 it refreshes once and retries once. Automatic refresh never sends a refresh
// token Veeam refused before, and tries at most once per call. When the access token has
// expired and the refresh fails, the request is not sent: Do returns a *RefreshError.
func (s *Session) Do(ctx context.Context, req SessionRequest) (*SessionResponse, error) {
	auto := !req.NoAutoRefresh && !s.LoggedOut() && req.Header.Get("Authorization") == ""
	out := &SessionResponse{}
	if auto {
		tok := s.Token()
		now := s.veeam.clock().Now()
		if !tok.ExpiresAt.IsZero() && !now.Before(tok.ExpiresAt.Add(-s.refreshBefore())) {
			if err := s.autoRefresh(ctx); err != nil {
				if ctx.Err() != nil {
					return nil, err
				}
				if !now.Before(tok.ExpiresAt) {
					// The access token has expired: the server could only answer 401.
					return nil, &RefreshError{ExpiredAt: tok.ExpiresAt, Err: err}
				}
				out.RefreshErr = err
			} else {
				out.Refreshed = true
			}
		}
	}
	resp, err := s.send(ctx, req.Method, req.Path, req.Header, req.Body)
	if err != nil {
		return nil, err
	}
	out.Response = resp
	if auto && resp.Status == http.StatusUnauthorized && !out.Refreshed && out.RefreshErr == nil {
		if rerr := s.autoRefresh(ctx); rerr != nil {
			if ctx.Err() != nil {
				return nil, rerr
			}
			out.RefreshErr = rerr
			return out, nil
		}
		out.Refreshed, out.RefreshErr = true, nil
		resp, err = s.send(ctx, req.Method, req.Path, req.Header, req.Body)
		if err != nil {
			return nil, err
		}
		out.Response = resp
	}
	return out, nil
}

func (s *Session) refreshBefore() time.Duration {
	if s.RefreshBefore > 0 {
		return s.RefreshBefore
	}
	return 0
}

func (s *Session) send(ctx context.Context, method, path string, header http.Header, body []byte) (*Response, error) {
	h := http.Header{}
	for k, v := range header {
		h[k] = v
	}
	if h.Get("Accept") == "" {
		h.Set("Accept", "application/json")
	}
	tok := s.Token()
	if h.Get("Authorization") == "" {
		h.Set("Authorization", "Bearer "+tok.AccessToken)
	}
	if tok.Antiforgery != "" && h.Get(s.veeam.antiforgeryHeader()) == "" {
		h.Set(s.veeam.antiforgeryHeader(), tok.Antiforgery)
	}
	return s.veeam.HTTP.Do(ctx, Request{Method: method, URL: s.veeam.Resolve(path), Header: h, Body: body})
}

// Page is one page of a v8 collection: {offset, limit, results, _links}.
type Page struct {
	Offset  int               `json:"offset"`
	Limit   int               `json:"limit"`
	Results []json.RawMessage `json:"results"`
	Links   map[string]struct {
		Href string `json:"href"`
	} `json:"_links"`
}

// Pages GETs path and follows `_links.next.href` (relative hrefs resolve against the
// server), calling visit with each page's response. It stops after maxPages pages
// (DefaultMaxPages if <= 0), at a non-200 answer (returned as *VeeamError), or when a
// next link repeats.
func (s *Session) Pages(ctx context.Context, path string, maxPages int, visit func(*SessionResponse, *Page) error) error {
	if maxPages <= 0 {
		maxPages = DefaultMaxPages
	}
	seen := map[string]bool{}
	for n := 0; path != ""; n++ {
		if n == maxPages {
			return fmt.Errorf("veeam paginate: stopped after %d pages; raise the page limit if the collection is that large", maxPages)
		}
		seen[path] = true
		resp, err := s.Do(ctx, SessionRequest{Method: http.MethodGet, Path: path})
		if err != nil {
			return err
		}
		if resp.Status != http.StatusOK {
			return ParseVeeamError(resp.Status, resp.Body)
		}
		var page Page
		if err := resp.JSON(&page); err != nil {
			return fmt.Errorf("veeam paginate: %w", err)
		}
		if err := visit(resp, &page); err != nil {
			return err
		}
		path = page.Links["next"].Href
		if seen[path] {
			return fmt.Errorf("veeam paginate: next link %q repeats an earlier page", path)
		}
	}
	return nil
}
