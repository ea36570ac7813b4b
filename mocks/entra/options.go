package entra

import (
	"log/slog"
	"strings"
	"time"
)

// Option configures a Server. Options never fail: parse files (LoadDirectory) before
// calling New.
type Option func(*config)

// config is what options fill in; New applies defaults first, then options, then
// precomputes (the go-httpbin order).
type config struct {
	dir          Directory
	baseURL      string
	controlToken string
	strict       bool
	lifetimes    Lifetimes
	assumptions  Assumptions
	logger       *slog.Logger
}

// Lifetimes are the mock's token and code lifetimes. Zero fields take the default;
// every value is rounded down to whole seconds (at least one), because the wire
// carries integer seconds.
type Lifetimes struct {
	// AccessToken is expires_in and ext_expires_in. Default 3599 s, as the seed and
	// real responses show (Entra actually varies it between 60 and 90 minutes).
	AccessToken time.Duration
	// DeviceCode is the device code's expires_in. Default 900 s.
	DeviceCode time.Duration
	// Interval is the device code's polling interval. Default 5 s.
	Interval time.Duration
	// RefreshInactivity is how long a refresh token stays valid unused. Default 90
	// days (Entra's sliding window; AADSTS700082 after it).
	RefreshInactivity time.Duration
}

// Default lifetimes (entra.md §1–§3).
const (
	DefaultAccessTokenLifetime = 3599 * time.Second
	DefaultDeviceCodeLifetime  = 900 * time.Second
	DefaultInterval            = 5 * time.Second
	DefaultRefreshInactivity   = 90 * 24 * time.Hour
)

// DefaultLifetimes returns the lifetimes a Server uses unless told otherwise.
func DefaultLifetimes() Lifetimes {
	return Lifetimes{
		AccessToken:       DefaultAccessTokenLifetime,
		DeviceCode:        DefaultDeviceCodeLifetime,
		Interval:          DefaultInterval,
		RefreshInactivity: DefaultRefreshInactivity,
	}
}

// withDefaults fills zero fields and rounds to whole seconds.
func (l Lifetimes) withDefaults() Lifetimes {
	d := DefaultLifetimes()
	fix := func(v, def time.Duration) time.Duration {
		if v <= 0 {
			return def
		}
		if v < time.Second {
			return time.Second
		}
		if v > maxLifetimeSeconds*time.Second {
			v = maxLifetimeSeconds * time.Second
		}
		return v.Truncate(time.Second)
	}
	return Lifetimes{
		AccessToken:       fix(l.AccessToken, d.AccessToken),
		DeviceCode:        fix(l.DeviceCode, d.DeviceCode),
		Interval:          fix(l.Interval, d.Interval),
		RefreshInactivity: fix(l.RefreshInactivity, d.RefreshInactivity),
	}
}

// Assumptions choose how the mock behaves where entra.md marks the real service's
// behaviour inferred [I] or unknown [U]. The zero value is the documented default.
type Assumptions struct {
	// PublicClientBasicAuth says what a public client sending `Authorization: Basic`
	// (golang.org/x/oauth2's first try) gets: BasicAuthReject (default, "") answers 401
	// invalid_client AADSTS700025 with no side effects, and the client retries with
	// client_id in the body; BasicAuthAccept takes the client id from the header.
	PublicClientBasicAuth string
	// UnknownDeviceCode is the error value for a device_code the mock never issued:
	// "bad_verification_code" (default, "", per the docs) or "invalid_grant" (what a
	// live MSAL Android test observed).
	UnknownDeviceCode string
	// GraphAudience is the aud of Graph access tokens: GraphAudienceAuto (default, "")
	// uses https://graph.microsoft.com when the scopes were requested with that prefix
	// and the Graph GUID otherwise; GraphAudienceGUID always uses the GUID.
	GraphAudience string
	// AssertionJTIReuse is what a client assertion whose jti was already accepted gets.
	// Entra's replay handling is [?] and RFC 7523 §3 makes the check optional
	// (modern-app-only.md §1.2): JTIReuseAccept (default, "") accepts it again;
	// JTIReuseReject answers 401 invalid_client (without an AADSTS code, as the mock's
	// own strict check) until the first assertion has expired.
	AssertionJTIReuse string
	// RevokedConsent is what the client-credentials grant answers for an app whose
	// admin consent was revoked: RevokedConsentNoRoles (default, "") issues the token
	// without a roles claim, as MS-CC documents for an app without granted roles [C];
	// RevokedConsentError refuses it with AADSTS501051 [R for resources that require
	// assignment; I for Graph].
	RevokedConsent string
}

// Values of Assumptions fields.
const (
	BasicAuthReject       = "reject"
	BasicAuthAccept       = "accept"
	GraphAudienceAuto     = "auto"
	GraphAudienceGUID     = "guid"
	errBadVerification    = "bad_verification_code"
	errInvalidGrantCode   = "invalid_grant"
	JTIReuseAccept        = "accept"
	JTIReuseReject        = "reject"
	RevokedConsentNoRoles = "no_roles"
	RevokedConsentError   = "error"
)

// withDefaults normalises the zero value and unknown words to the defaults.
func (a Assumptions) withDefaults() Assumptions {
	if !strings.EqualFold(a.PublicClientBasicAuth, BasicAuthAccept) {
		a.PublicClientBasicAuth = BasicAuthReject
	} else {
		a.PublicClientBasicAuth = BasicAuthAccept
	}
	if !strings.EqualFold(a.UnknownDeviceCode, errInvalidGrantCode) {
		a.UnknownDeviceCode = errBadVerification
	} else {
		a.UnknownDeviceCode = errInvalidGrantCode
	}
	if !strings.EqualFold(a.GraphAudience, GraphAudienceGUID) {
		a.GraphAudience = GraphAudienceAuto
	} else {
		a.GraphAudience = GraphAudienceGUID
	}
	if !strings.EqualFold(a.AssertionJTIReuse, JTIReuseReject) {
		a.AssertionJTIReuse = JTIReuseAccept
	} else {
		a.AssertionJTIReuse = JTIReuseReject
	}
	if !strings.EqualFold(a.RevokedConsent, RevokedConsentError) {
		a.RevokedConsent = RevokedConsentNoRoles
	} else {
		a.RevokedConsent = RevokedConsentError
	}
	return a
}

// WithDirectory replaces DefaultDirectory. The Server keeps its own copy; Reset
// restores it.
func WithDirectory(d Directory) Option { return func(c *config) { c.dir = d } }

// WithBaseURL sets the public origin ("https://login.mock", "https://127.0.0.1:8400")
// used in the issuer, the endpoints and verification_uri. Empty (the default) derives
// it per request: https when the request came over TLS, else http, and r.Host.
// MSAL for Go replaces every "token" in the token endpoint, so the origin must not
// contain that word (entra.md §0.5).
func WithBaseURL(origin string) Option {
	return func(c *config) { c.baseURL = strings.TrimRight(origin, "/") }
}

// WithControlToken makes the /_mock/ control API require `Authorization: Bearer tok`
// from every caller instead of answering loopback callers only.
func WithControlToken(tok string) Option { return func(c *config) { c.controlToken = tok } }

// WithStrictRFC8628 selects the RFC 8628 polling dialect for the whole server: a poll
// earlier than the interval gets slow_down and adds 5 s to that code's interval
// (RFC 8628 §3.5), and a declined code gets access_denied. The default is Entra's
// dialect, which never sends slow_down (msal-node throws on it) and answers a decline
// with authorization_declined.
func WithStrictRFC8628(on bool) Option { return func(c *config) { c.strict = on } }

// WithLifetimes sets token and code lifetimes; zero fields keep the defaults.
func WithLifetimes(l Lifetimes) Option { return func(c *config) { c.lifetimes = l } }

// WithAssumptions chooses the behaviours entra.md could not confirm (see Assumptions).
func WithAssumptions(a Assumptions) Option { return func(c *config) { c.assumptions = a } }

// WithLogger sends the server's internal diagnostics (never secrets) to l. The default
// discards them.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}
