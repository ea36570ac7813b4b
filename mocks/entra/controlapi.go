package entra

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/vbharness/vbharness/mocks/control"
)

// Settings is the JSON body of GET and PUT /_mock/settings. Durations are integer
// seconds; a PUT changes only the fields it names. Lifetimes apply to codes and
// tokens issued afterwards; the dialect applies to every later poll.
type Settings struct {
	StrictRFC8628          bool   `json:"strict_rfc8628"`            // the RFC 8628 dialect (slow_down, access_denied)
	AccessTokenLifetime    int64  `json:"access_token_lifetime"`     // expires_in of access tokens
	DeviceCodeLifetime     int64  `json:"device_code_lifetime"`      // expires_in of device codes
	Interval               int64  `json:"interval"`                  // polling interval of device codes
	RefreshTokenInactivity int64  `json:"refresh_token_inactivity"`  // refresh tokens expire this long after issue (AADSTS700082)
	PublicClientBasicAuth  string `json:"public_client_basic_auth"`  // "reject" or "accept" (Assumptions.PublicClientBasicAuth)
	UnknownDeviceCodeError string `json:"unknown_device_code_error"` // "bad_verification_code" or "invalid_grant"
	GraphAudience          string `json:"graph_audience"`            // "auto" or "guid"
	AssertionJTIReuse      string `json:"assertion_jti_reuse"`       // "accept" or "reject" (Assumptions.AssertionJTIReuse)
	RevokedConsent         string `json:"revoked_consent"`           // "no_roles" or "error" (Assumptions.RevokedConsent)
}

// settingsPatch is a PUT body: absent fields keep their values.
type settingsPatch struct {
	StrictRFC8628          *bool   `json:"strict_rfc8628"`
	AccessTokenLifetime    *int64  `json:"access_token_lifetime"`
	DeviceCodeLifetime     *int64  `json:"device_code_lifetime"`
	Interval               *int64  `json:"interval"`
	RefreshTokenInactivity *int64  `json:"refresh_token_inactivity"`
	PublicClientBasicAuth  *string `json:"public_client_basic_auth"`
	UnknownDeviceCodeError *string `json:"unknown_device_code_error"`
	GraphAudience          *string `json:"graph_audience"`
	AssertionJTIReuse      *string `json:"assertion_jti_reuse"`
	RevokedConsent         *string `json:"revoked_consent"`
}

func (rs runtimeSettings) public() Settings {
	return Settings{
		StrictRFC8628:          rs.strict,
		AccessTokenLifetime:    seconds(rs.life.AccessToken),
		DeviceCodeLifetime:     seconds(rs.life.DeviceCode),
		Interval:               seconds(rs.life.Interval),
		RefreshTokenInactivity: seconds(rs.life.RefreshInactivity),
		PublicClientBasicAuth:  rs.assume.PublicClientBasicAuth,
		UnknownDeviceCodeError: rs.assume.UnknownDeviceCode,
		GraphAudience:          rs.assume.GraphAudience,
		AssertionJTIReuse:      rs.assume.AssertionJTIReuse,
		RevokedConsent:         rs.assume.RevokedConsent,
	}
}

// ErrInvalidSettings marks a settings change the server refuses.
var ErrInvalidSettings = errors.New("invalid settings")

// apply returns rs changed by p, or an error naming the bad field.
func (p settingsPatch) apply(rs runtimeSettings) (runtimeSettings, error) {
	secs := func(name string, v *int64, dst *time.Duration) error {
		if v == nil {
			return nil
		}
		if *v < 1 || *v > maxLifetimeSeconds {
			return fmt.Errorf("%w: %s is %d; give whole seconds between 1 and %d", ErrInvalidSettings, name, *v, maxLifetimeSeconds)
		}
		*dst = time.Duration(*v) * time.Second
		return nil
	}
	oneOf := func(name string, v *string, dst *string, allowed ...string) error {
		if v == nil {
			return nil
		}
		for _, a := range allowed {
			if strings.EqualFold(*v, a) {
				*dst = a
				return nil
			}
		}
		return fmt.Errorf("%w: %s is %q; use one of %s", ErrInvalidSettings, name, *v, strings.Join(allowed, ", "))
	}
	if p.StrictRFC8628 != nil {
		rs.strict = *p.StrictRFC8628
	}
	for _, err := range []error{
		secs("access_token_lifetime", p.AccessTokenLifetime, &rs.life.AccessToken),
		secs("device_code_lifetime", p.DeviceCodeLifetime, &rs.life.DeviceCode),
		secs("interval", p.Interval, &rs.life.Interval),
		secs("refresh_token_inactivity", p.RefreshTokenInactivity, &rs.life.RefreshInactivity),
		oneOf("public_client_basic_auth", p.PublicClientBasicAuth, &rs.assume.PublicClientBasicAuth, BasicAuthReject, BasicAuthAccept),
		oneOf("unknown_device_code_error", p.UnknownDeviceCodeError, &rs.assume.UnknownDeviceCode, errBadVerification, errInvalidGrantCode),
		oneOf("graph_audience", p.GraphAudience, &rs.assume.GraphAudience, GraphAudienceAuto, GraphAudienceGUID),
		oneOf("assertion_jti_reuse", p.AssertionJTIReuse, &rs.assume.AssertionJTIReuse, JTIReuseAccept, JTIReuseReject),
		oneOf("revoked_consent", p.RevokedConsent, &rs.assume.RevokedConsent, RevokedConsentNoRoles, RevokedConsentError),
	} {
		if err != nil {
			return rs, err
		}
	}
	return rs, nil
}

// Settings returns the current settings.
func (s *Server) Settings() Settings { return s.settings.get().public() }

// DeviceCodes lists every stored device code, newest first, settled at the clock's now.
func (s *Server) DeviceCodes() []DeviceCodeInfo { return s.store.list(s.clk.Now()) }

// Approve approves the pending code userCode for upn (empty: the tenant's default
// user), as a person on the login page would. Errors wrap ErrUnknownUserCode,
// ErrCodeNotPending or ErrUnknownUser.
func (s *Server) Approve(userCode, upn string) (DeviceCodeInfo, error) {
	return s.store.approve(userCode, upn, s.clk.Now())
}

// Deny declines the pending code userCode.
func (s *Server) Deny(userCode string) (DeviceCodeInfo, error) {
	return s.store.deny(userCode, s.clk.Now())
}

// SetAutoApprove installs a standing approval rule for current and future codes; nil
// removes it. The user, if named, must exist.
func (s *Server) SetAutoApprove(a *AutoApprove) error {
	if a != nil && a.User != "" {
		if _, _, ok := s.store.directory().findUser(nil, a.User); !ok {
			return fmt.Errorf("%w: %q is not a user of any tenant", ErrUnknownUser, a.User)
		}
	}
	if a != nil {
		cp := *a
		a = &cp
	}
	s.store.setAuto(a, s.clk.Now())
	return nil
}

// RevokeUser refuses every refresh token the user holds from now on (AADSTS50173).
func (s *Server) RevokeUser(upn string) (time.Time, error) {
	if _, _, ok := s.store.directory().findUser(nil, upn); !ok {
		return time.Time{}, fmt.Errorf("%w: %q is not a user of any tenant", ErrUnknownUser, upn)
	}
	now := s.clk.Now()
	s.store.revoke(upn, now)
	return now, nil
}

// mountControl adds the Entra control routes to the /_mock subrouter of the shared route
// table; each answers for the request's Server.
func mountControl(sub *mux.Router) {
	// First: gorilla/mux (v1.8.1 Route.Match) forgets a method mismatch whenever a
	// later route's first matcher, the /_mock prefix, matches, so only the last routes
	// registered can answer 405 (PATCH /_mock/settings is tested to). The applications
	// route answers its own 405s.
	sub.PathPrefix("/applications").HandlerFunc(on((*Server).ctlApplications))
	sub.HandleFunc("/devicecodes", on((*Server).ctlListCodes)).Methods(http.MethodGet)
	sub.HandleFunc("/devicecodes/approve", on((*Server).ctlApprove)).Methods(http.MethodPost)
	sub.HandleFunc("/devicecodes/deny", on((*Server).ctlDeny)).Methods(http.MethodPost)
	sub.HandleFunc("/devicecodes/dialect", on((*Server).ctlDialect)).Methods(http.MethodPost)
	sub.HandleFunc("/devicecodes/auto-approve", on((*Server).ctlAutoApprove)).Methods(http.MethodPost)
	sub.HandleFunc("/devicecodes/auto-approve", on((*Server).ctlAutoApproveOff)).Methods(http.MethodDelete)
	sub.HandleFunc("/users/revoke", on((*Server).ctlRevoke)).Methods(http.MethodPost)
	sub.HandleFunc("/keys/rotate", on((*Server).ctlRotate)).Methods(http.MethodPost)
	sub.HandleFunc("/settings", on((*Server).ctlGetSettings)).Methods(http.MethodGet)
	sub.HandleFunc("/settings", on((*Server).ctlPutSettings)).Methods(http.MethodPut)
}

func (s *Server) ctlListCodes(w http.ResponseWriter, _ *http.Request) {
	control.WriteJSON(w, http.StatusOK, map[string]any{"devicecodes": s.DeviceCodes()})
}

// writeCodeError maps a device-code operation error to the control API's status.
func writeCodeError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrUnknownUserCode):
		control.WriteError(w, http.StatusNotFound, err.Error()+"; GET /_mock/devicecodes lists the codes the mock has issued")
	case errors.Is(err, ErrCodeNotPending):
		control.WriteError(w, http.StatusConflict, err.Error()+"; only pending codes can be approved or denied")
	case errors.Is(err, ErrUnknownUser):
		control.WriteError(w, http.StatusBadRequest, err.Error())
	default:
		control.WriteError(w, http.StatusInternalServerError, err.Error())
	}
}

func (s *Server) ctlApprove(w http.ResponseWriter, r *http.Request) {
	var body struct {
		UserCode string `json:"user_code"`
		User     string `json:"user"`
	}
	if !control.DecodeJSON(w, r, &body) {
		return
	}
	if body.UserCode == "" {
		control.WriteError(w, http.StatusBadRequest, `user_code is required: {"user_code":"ABCDEFGHJ","user":"admin@abc.onmicrosoft.com"}`)
		return
	}
	info, err := s.Approve(body.UserCode, body.User)
	if err != nil {
		writeCodeError(w, err)
		return
	}
	control.WriteJSON(w, http.StatusOK, info)
}

func (s *Server) ctlDeny(w http.ResponseWriter, r *http.Request) {
	var body struct {
		UserCode string `json:"user_code"`
	}
	if !control.DecodeJSON(w, r, &body) {
		return
	}
	if body.UserCode == "" {
		control.WriteError(w, http.StatusBadRequest, `user_code is required: {"user_code":"ABCDEFGHJ"}`)
		return
	}
	info, err := s.Deny(body.UserCode)
	if err != nil {
		writeCodeError(w, err)
		return
	}
	control.WriteJSON(w, http.StatusOK, info)
}

// ctlDialect sets one code's dialect: {"user_code":"…","strict":true}; "strict":null
// returns the code to the server's dialect.
func (s *Server) ctlDialect(w http.ResponseWriter, r *http.Request) {
	var body struct {
		UserCode string `json:"user_code"`
		Strict   *bool  `json:"strict"`
	}
	if !control.DecodeJSON(w, r, &body) {
		return
	}
	if body.UserCode == "" {
		control.WriteError(w, http.StatusBadRequest, `user_code is required: {"user_code":"ABCDEFGHJ","strict":true}`)
		return
	}
	info, err := s.store.setDialect(body.UserCode, body.Strict)
	if err != nil {
		writeCodeError(w, err)
		return
	}
	control.WriteJSON(w, http.StatusOK, info)
}

// autoApproveBody is the JSON of POST /_mock/devicecodes/auto-approve and its answer.
// A body must name a rule: "all" (every code, as its tenant's default user, at the first
// poll), a user, after_polls or after; or "off". An empty one is refused, so that no
// request approves everyone by accident.
type autoApproveBody struct {
	All        bool   `json:"all,omitempty"`
	User       string `json:"user,omitempty"`
	AfterPolls *int   `json:"after_polls,omitempty"`
	After      string `json:"after,omitempty"`
	Off        bool   `json:"off,omitempty"`
}

func (s *Server) ctlAutoApprove(w http.ResponseWriter, r *http.Request) {
	var body autoApproveBody
	if !control.DecodeJSON(w, r, &body) {
		return
	}
	if body.Off {
		s.ctlAutoApproveOff(w, r)
		return
	}
	if !body.All && body.User == "" && body.AfterPolls == nil && body.After == "" {
		control.WriteError(w, http.StatusBadRequest, `say which codes to approve: {"all":true} approves every code as its tenant's `+
			`default user at the first poll, or give "user", "after_polls" or "after" ({"user":"admin@abc.onmicrosoft.com","after_polls":2}); `+
			`{"off":true} turns it off`)
		return
	}
	a := &AutoApprove{User: body.User}
	switch {
	case body.AfterPolls != nil && body.After != "":
		control.WriteError(w, http.StatusBadRequest, `give either "after_polls" or "after", not both`)
		return
	case body.After != "":
		d, err := time.ParseDuration(body.After)
		if err != nil || d < 0 {
			control.WriteError(w, http.StatusBadRequest, fmt.Sprintf("after %q is not a non-negative Go duration such as \"30s\"", body.After))
			return
		}
		a.After, a.ByTime = d, true
	case body.AfterPolls != nil:
		if *body.AfterPolls < 0 {
			control.WriteError(w, http.StatusBadRequest, "after_polls must not be negative")
			return
		}
		a.AfterPolls = *body.AfterPolls
	}
	if err := s.SetAutoApprove(a); err != nil {
		writeCodeError(w, err)
		return
	}
	out := autoApproveBody{All: body.All, User: a.User}
	if a.ByTime {
		out.After = a.After.String()
	} else {
		n := a.AfterPolls
		out.AfterPolls = &n
	}
	control.WriteJSON(w, http.StatusOK, out)
}

func (s *Server) ctlAutoApproveOff(w http.ResponseWriter, _ *http.Request) {
	_ = s.SetAutoApprove(nil)
	control.WriteJSON(w, http.StatusOK, autoApproveBody{Off: true})
}

func (s *Server) ctlRevoke(w http.ResponseWriter, r *http.Request) {
	var body struct {
		User string `json:"user"`
	}
	if !control.DecodeJSON(w, r, &body) {
		return
	}
	if body.User == "" {
		control.WriteError(w, http.StatusBadRequest, `user is required: {"user":"admin@abc.onmicrosoft.com"}`)
		return
	}
	since, err := s.RevokeUser(body.User)
	if err != nil {
		control.WriteError(w, http.StatusNotFound, err.Error())
		return
	}
	control.WriteJSON(w, http.StatusOK, map[string]string{"user": body.User, "tokens_valid_from": since.Format(time.RFC3339)})
}

func (s *Server) ctlRotate(w http.ResponseWriter, _ *http.Request) {
	k := s.keys.Rotate(nil, s.clk.Now())
	control.WriteJSON(w, http.StatusOK, map[string]string{"kid": k.KID})
}

func (s *Server) ctlGetSettings(w http.ResponseWriter, _ *http.Request) {
	control.WriteJSON(w, http.StatusOK, s.Settings())
}

func (s *Server) ctlPutSettings(w http.ResponseWriter, r *http.Request) {
	var p settingsPatch
	if !control.DecodeJSON(w, r, &p) {
		return
	}
	next, err := s.settings.update(p.apply)
	if err != nil {
		control.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	control.WriteJSON(w, http.StatusOK, next.public())
}
