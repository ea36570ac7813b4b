package veeam

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
)

// Token error styles (Settings.ErrorStyle). The public record does not say which one a
// v8 server uses on /v8/token (veeam.md §1.4 [?]), so both are offered.
const (
	// ErrorStyleOAuth answers a refused token request with 400
	// {"error":"invalid_grant","error_description":"…"}, the OWIN default that
	// nielsengelen/vbo365-rest and Cenvora's client handle (veeam.md §1.4 [R]).
	ErrorStyleOAuth = "oauth"
	// ErrorStyleVeeam answers with RESTExceptionInfo {"message","errorCode","stackTrace"}:
	// 401 for refused credentials, 400 for malformed requests.
	ErrorStyleVeeam = "veeam"
)

// Antiforgery modes (Settings.Antiforgery).
const (
	// AntiforgeryEnforce is a real server's default (veeam.md §1.6 [C]): a token issued
	// without disable_antiforgery_token=true works only with the antiforgery token that
	// came with it, on API calls and on refresh.
	AntiforgeryEnforce = "enforce"
	// AntiforgeryIgnore records the antiforgery claim and checks nothing.
	AntiforgeryIgnore = "ignore"
)

// Default antiforgery names. The real ones are not in the public record (veeam.md §1.6
// [?]); these are ASP.NET's conventional pair for single-page applications such as the
// Restore Portal [A].
const (
	DefaultAntiforgeryCookie = "XSRF-TOKEN"
	DefaultAntiforgeryHeader = "X-XSRF-TOKEN"
)

// Default lifetimes, in seconds.
const (
	// DefaultAccessTokenLifetime is AuthTokenLifeTime's default of 60 minutes
	// (veeam.md §1.3 [C PS-REST]).
	DefaultAccessTokenLifetime = 3600
	// DefaultRefreshTokenLifetime makes the refresh token outlive the access token by
	// 3600 s, as the seed's two sample tokens do (their exp claims differ by 3600).
	DefaultRefreshTokenLifetime = 7200
)

// Settings are the server-wide switches a test flips at run time (GET|PUT
// /_mock/settings). Durations are integer seconds.
type Settings struct {
	// TenantAuthentication is "Enable tenants authentication with organization
	// credentials" (veeam.md §4.4). The seed requires it for jwt-bearer logins. Default on,
	// so the seed's flow works without configuration (a real server defaults to off).
	TenantAuthentication bool `json:"tenantAuthentication"`
	// OperatorAuthentication is "Enable restore operator authentication with Microsoft
	// credentials", needed by grant_type=operator. Default off, as on a real server.
	OperatorAuthentication bool `json:"operatorAuthentication"`
	// AccessTokenLifetime is expires_in in seconds. Default 3600.
	AccessTokenLifetime int `json:"accessTokenLifetime"`
	// RefreshTokenLifetime is how long a refresh token lives, in seconds. Default 7200
	// [?: not documented; the seed's tokens outlive each other by 3600 s].
	RefreshTokenLifetime int `json:"refreshTokenLifetime"`
	// ErrorStyle is ErrorStyleOAuth (default) or ErrorStyleVeeam.
	ErrorStyle string `json:"errorStyle"`
	// RefreshRotation spends a refresh token when it is used. Default true [I].
	RefreshRotation bool `json:"refreshRotation"`
	// RevokeOnRefreshReuse revokes every token of a sign-in when one of its spent refresh
	// tokens is presented again, as RFC 9700 §4.14.2 recommends: the reuse means the token
	// may have leaked. Default true [A: the real server's behaviour is not documented].
	RevokeOnRefreshReuse bool `json:"revokeOnRefreshReuse"`
	// ClaimsOnly skips the signature check of jwt-bearer and operator assertions, for
	// real Microsoft Graph tokens whose header nonce makes them unverifiable by anyone
	// but Graph (entra.md §5.1). Every claim is still checked. Default false.
	ClaimsOnly bool `json:"claimsOnly"`
	// AssertionClockSkew is the leeway, in seconds, when checking an assertion's exp and
	// nbf. Default 0: checks are exact on the shared clock. (.NET's
	// Microsoft.IdentityModel defaults to 300; whether Veeam keeps that is [?].)
	AssertionClockSkew int `json:"assertionClockSkew"`
	// SessionDuration is how long, in virtual seconds, long-running work takes: a job
	// session, a repository synchronisation, an organization sync, a proxy entering
	// maintenance. The work is Running (or Synchronizing, Enabling) from its start,
	// halfway done at half this time, and ends after it (clocked.go). Default 300 [?: a
	// real run takes as long as the data it moves].
	SessionDuration int `json:"sessionDuration"`
	// SessionResult is how long-running work ends: "Success" (default), "Warning" or
	// "Failed".
	SessionResult string `json:"sessionResult"`
	// Antiforgery is AntiforgeryEnforce (default, as a real server) or AntiforgeryIgnore.
	Antiforgery string `json:"antiforgery"`
	// AntiforgeryCookie is the cookie the token response sets to the antiforgery token,
	// and a request may carry it in. Default DefaultAntiforgeryCookie [A].
	AntiforgeryCookie string `json:"antiforgeryCookie"`
	// AntiforgeryHeader is the response header that carries the antiforgery token, and
	// the request header a client may send it in instead of the cookie. Default
	// DefaultAntiforgeryHeader [A].
	AntiforgeryHeader string `json:"antiforgeryHeader"`
	// NullProperties names properties, separated by commas and in their exact case,
	// that every JSON answer of the API sends as null wherever it has them, the ones the
	// document marks non-nullable too: a lab's nulls in non-nullable fields (quirks.go).
	// Default "": none.
	NullProperties string `json:"nullProperties"`
	// NumbersAsStrings names numeric properties, separated by commas, that every JSON
	// answer of the API sends as JSON strings ("30" for 30), or "*" for every number: a
	// lab's numeric fields sent as strings (quirks.go). Default "": none.
	NumbersAsStrings string `json:"numbersAsStrings"`
	// V7NextLinks makes the next link of every page (_links.next.href) point at /v7/
	// instead of /v8/, as a lab's "/v7/ next-links on /v8/ sessions" (quirks.go). The
	// mock answers /v7/ paths 404. Default false.
	V7NextLinks bool `json:"v7NextLinks"`
}

// DefaultSessionDuration is SessionDuration's default, in seconds.
const DefaultSessionDuration = 300

// Session results (Settings.SessionResult), as RESTJobSession.status spells them.
var sessionResults = []string{"Success", "Warning", "Failed"}

// DefaultSettings returns the settings a new server starts with.
func DefaultSettings() Settings {
	return Settings{
		TenantAuthentication: true,
		AccessTokenLifetime:  DefaultAccessTokenLifetime,
		RefreshTokenLifetime: DefaultRefreshTokenLifetime,
		ErrorStyle:           ErrorStyleOAuth,
		RefreshRotation:      true,
		RevokeOnRefreshReuse: true,
		SessionDuration:      DefaultSessionDuration,
		SessionResult:        "Success",
		Antiforgery:          AntiforgeryEnforce,
		AntiforgeryCookie:    DefaultAntiforgeryCookie,
		AntiforgeryHeader:    DefaultAntiforgeryHeader,
	}
}

// normalized replaces out-of-range values by their defaults, so a Settings handed to
// an option or to UpdateSettings never breaks the server.
func (s Settings) normalized() Settings {
	d := DefaultSettings()
	if s.AccessTokenLifetime <= 0 {
		s.AccessTokenLifetime = d.AccessTokenLifetime
	}
	if s.RefreshTokenLifetime <= 0 {
		s.RefreshTokenLifetime = d.RefreshTokenLifetime
	}
	if s.ErrorStyle != ErrorStyleVeeam {
		s.ErrorStyle = ErrorStyleOAuth
	}
	if s.AssertionClockSkew < 0 {
		s.AssertionClockSkew = 0
	}
	if s.SessionDuration <= 0 {
		s.SessionDuration = d.SessionDuration
	}
	if !inEnum(s.SessionResult, sessionResults) {
		s.SessionResult = d.SessionResult
	}
	if s.Antiforgery != AntiforgeryIgnore {
		s.Antiforgery = AntiforgeryEnforce
	}
	if !isToken(s.AntiforgeryCookie) {
		s.AntiforgeryCookie = d.AntiforgeryCookie
	}
	if !isToken(s.AntiforgeryHeader) {
		s.AntiforgeryHeader = d.AntiforgeryHeader
	}
	if checkQuirkList("nullProperties", s.NullProperties, false) != nil {
		s.NullProperties = ""
	}
	if checkQuirkList("numbersAsStrings", s.NumbersAsStrings, true) != nil {
		s.NumbersAsStrings = ""
	}
	return s
}

// isToken reports whether s is a non-empty RFC 9110 token, what a cookie or header name
// must be.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// settingsPatch is the body of PUT /_mock/settings: only the fields given change.
type settingsPatch struct {
	TenantAuthentication   *bool   `json:"tenantAuthentication"`
	OperatorAuthentication *bool   `json:"operatorAuthentication"`
	AccessTokenLifetime    *int    `json:"accessTokenLifetime"`
	RefreshTokenLifetime   *int    `json:"refreshTokenLifetime"`
	ErrorStyle             *string `json:"errorStyle"`
	RefreshRotation        *bool   `json:"refreshRotation"`
	RevokeOnRefreshReuse   *bool   `json:"revokeOnRefreshReuse"`
	ClaimsOnly             *bool   `json:"claimsOnly"`
	AssertionClockSkew     *int    `json:"assertionClockSkew"`
	SessionDuration        *int    `json:"sessionDuration"`
	SessionResult          *string `json:"sessionResult"`
	Antiforgery            *string `json:"antiforgery"`
	AntiforgeryCookie      *string `json:"antiforgeryCookie"`
	AntiforgeryHeader      *string `json:"antiforgeryHeader"`
	NullProperties         *string `json:"nullProperties"`
	NumbersAsStrings       *string `json:"numbersAsStrings"`
	V7NextLinks            *bool   `json:"v7NextLinks"`
}

// apply merges p into s, refusing values a server cannot run with.
func (p settingsPatch) apply(s Settings) (Settings, error) {
	if p.AccessTokenLifetime != nil && *p.AccessTokenLifetime <= 0 {
		return s, fmt.Errorf("accessTokenLifetime must be a positive number of seconds, got %d", *p.AccessTokenLifetime)
	}
	if p.RefreshTokenLifetime != nil && *p.RefreshTokenLifetime <= 0 {
		return s, fmt.Errorf("refreshTokenLifetime must be a positive number of seconds, got %d", *p.RefreshTokenLifetime)
	}
	if p.ErrorStyle != nil && *p.ErrorStyle != ErrorStyleOAuth && *p.ErrorStyle != ErrorStyleVeeam {
		return s, fmt.Errorf("errorStyle must be %q or %q, got %q", ErrorStyleOAuth, ErrorStyleVeeam, *p.ErrorStyle)
	}
	if p.AssertionClockSkew != nil && *p.AssertionClockSkew < 0 {
		return s, fmt.Errorf("assertionClockSkew must not be negative, got %d", *p.AssertionClockSkew)
	}
	if p.SessionDuration != nil && *p.SessionDuration <= 0 {
		return s, fmt.Errorf("sessionDuration must be a positive number of seconds, got %d", *p.SessionDuration)
	}
	if p.SessionResult != nil && !inEnum(*p.SessionResult, sessionResults) {
		return s, fmt.Errorf("sessionResult must be one of %s, got %q", strings.Join(sessionResults, ", "), *p.SessionResult)
	}
	if p.Antiforgery != nil && *p.Antiforgery != AntiforgeryEnforce && *p.Antiforgery != AntiforgeryIgnore {
		return s, fmt.Errorf("antiforgery must be %q or %q, got %q", AntiforgeryEnforce, AntiforgeryIgnore, *p.Antiforgery)
	}
	if p.AntiforgeryCookie != nil && !isToken(*p.AntiforgeryCookie) {
		return s, fmt.Errorf("antiforgeryCookie must be a cookie name (letters, digits and !#$%%&'*+-.^_`|~), got %q", *p.AntiforgeryCookie)
	}
	if p.AntiforgeryHeader != nil && !isToken(*p.AntiforgeryHeader) {
		return s, fmt.Errorf("antiforgeryHeader must be a header name (letters, digits and !#$%%&'*+-.^_`|~), got %q", *p.AntiforgeryHeader)
	}
	if p.NullProperties != nil {
		if err := checkQuirkList("nullProperties", *p.NullProperties, false); err != nil {
			return s, err
		}
		s.NullProperties = *p.NullProperties
	}
	if p.NumbersAsStrings != nil {
		if err := checkQuirkList("numbersAsStrings", *p.NumbersAsStrings, true); err != nil {
			return s, err
		}
		s.NumbersAsStrings = *p.NumbersAsStrings
	}
	setBool(&s.V7NextLinks, p.V7NextLinks)
	if p.Antiforgery != nil {
		s.Antiforgery = *p.Antiforgery
	}
	if p.AntiforgeryCookie != nil {
		s.AntiforgeryCookie = *p.AntiforgeryCookie
	}
	if p.AntiforgeryHeader != nil {
		s.AntiforgeryHeader = *p.AntiforgeryHeader
	}
	setBool(&s.TenantAuthentication, p.TenantAuthentication)
	setBool(&s.OperatorAuthentication, p.OperatorAuthentication)
	setBool(&s.RefreshRotation, p.RefreshRotation)
	setBool(&s.RevokeOnRefreshReuse, p.RevokeOnRefreshReuse)
	setBool(&s.ClaimsOnly, p.ClaimsOnly)
	if p.AccessTokenLifetime != nil {
		s.AccessTokenLifetime = *p.AccessTokenLifetime
	}
	if p.RefreshTokenLifetime != nil {
		s.RefreshTokenLifetime = *p.RefreshTokenLifetime
	}
	if p.ErrorStyle != nil {
		s.ErrorStyle = *p.ErrorStyle
	}
	if p.AssertionClockSkew != nil {
		s.AssertionClockSkew = *p.AssertionClockSkew
	}
	if p.SessionDuration != nil {
		s.SessionDuration = *p.SessionDuration
	}
	if p.SessionResult != nil {
		s.SessionResult = *p.SessionResult
	}
	return s, nil
}

func setBool(dst *bool, v *bool) {
	if v != nil {
		*dst = *v
	}
}

// settingsStore holds the current settings. Requests read them without a lock; writers
// serialise on mu so a merge (PUT /_mock/settings) never loses a concurrent change.
type settingsStore struct {
	mu  sync.Mutex
	cur atomic.Pointer[Settings]
	p   *persister // records every change when the server keeps a state file; nil otherwise
}

func (st *settingsStore) get() Settings { return *st.cur.Load() }

func (st *settingsStore) set(s Settings) {
	st.mu.Lock()
	defer st.mu.Unlock()
	s = s.normalized()
	st.cur.Store(&s)
	if st.p != nil {
		st.p.putSettings(s)
	}
}

// merge applies p to the current settings atomically and returns the result.
func (st *settingsStore) merge(p settingsPatch) (Settings, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	s, err := p.apply(*st.cur.Load())
	if err != nil {
		return Settings{}, err
	}
	s = s.normalized()
	st.cur.Store(&s)
	if st.p != nil {
		st.p.putSettings(s)
	}
	return s, nil
}
