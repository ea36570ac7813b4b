package entra

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/vbharness/vbharness/mocks/control"
)

// The applications part of the Entra control API (/_mock/applications/…). Each route
// calls the Server method of the same name; errors come back in the control API's
// shape, {"error":"…"}: 404 for an unknown application or credential, 409 for a taken
// app id, 400 for anything else wrong with the request.

// appRoutes is the route table of /_mock/applications, declared once per process.
// The routes sit behind one mux route and are matched here segment by segment: a
// gorilla/mux route compiles regular expressions, and eleven of them would double the
// cost of New (mocks/stack's BenchmarkNewInProcess).
var appRoutes = []struct {
	method string
	path   string // segments after /_mock/applications; {name} captures one
	handle func(s *Server, w http.ResponseWriter, r *http.Request, v map[string]string)
}{
	{http.MethodGet, "", (*Server).ctlListApps},
	{http.MethodPost, "", (*Server).ctlAddApp},
	{http.MethodGet, "{app}", (*Server).ctlGetApp},
	{http.MethodPost, "{app}/certificates", (*Server).ctlAddCert},
	{http.MethodPost, "{app}/credentials/expire", (*Server).ctlExpire},
	{http.MethodPost, "{app}/credentials/renew", (*Server).ctlRenew},
	{http.MethodDelete, "{app}/credentials/{key}", (*Server).ctlRemoveCred},
	{http.MethodPost, "{app}/consent/grant", ctlConsent(true)},
	{http.MethodPost, "{app}/consent/revoke", ctlConsent(false)},
	{http.MethodPost, "{app}/enable", ctlEnabled(true)},
	{http.MethodPost, "{app}/disable", ctlEnabled(false)},
}

// ctlApplications dispatches /_mock/applications/… by appRoutes: 404 for a path no
// route has, 405 with Allow for a method the path does not serve.
func (s *Server) ctlApplications(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, control.Prefix+"/applications")
	if !ok || (rest != "" && !strings.HasPrefix(rest, "/")) {
		control.WriteError(w, http.StatusNotFound, "no control route "+r.Method+" "+r.URL.Path)
		return
	}
	segs := strings.Split(strings.TrimPrefix(rest, "/"), "/")
	if rest == "" {
		segs = nil
	}
	// The routes matching the path with the most literal segments win, so
	// credentials/expire is never taken for credentials/{key}.
	var (
		allow []string
		best  = -1
	)
	for _, rt := range appRoutes {
		if lit, ok := matchSegments(rt.path, segs, nil); ok && lit > best {
			best = lit
		}
	}
	for _, rt := range appRoutes {
		v := map[string]string{}
		if lit, ok := matchSegments(rt.path, segs, v); !ok || lit != best {
			continue
		}
		if rt.method == r.Method {
			rt.handle(s, w, r, v)
			return
		}
		allow = append(allow, rt.method)
	}
	if len(allow) == 0 {
		control.WriteError(w, http.StatusNotFound, "no control route "+r.Method+" "+r.URL.Path+"; see GET /_mock/applications")
		return
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	control.WriteError(w, http.StatusMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path+"; use "+w.Header().Get("Allow"))
}

// matchSegments matches path segments against a pattern of literal and {name}
// segments, capturing into v (when not nil), and counts the literal segments; a
// captured segment must not be empty.
func matchSegments(pattern string, segs []string, v map[string]string) (literals int, ok bool) {
	var parts []string
	if pattern != "" {
		parts = strings.Split(pattern, "/")
	}
	if len(parts) != len(segs) {
		return 0, false
	}
	for i, p := range parts {
		if name, ok := strings.CutPrefix(p, "{"); ok {
			if segs[i] == "" {
				return 0, false
			}
			if v != nil {
				v[strings.TrimSuffix(name, "}")] = segs[i]
			}
			continue
		}
		if p != segs[i] {
			return 0, false
		}
		literals++
	}
	return literals, true
}

// writeAppError maps an application operation error to the control API's status.
func writeAppError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrUnknownApplication), errors.Is(err, ErrUnknownCredential):
		control.WriteError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, ErrApplicationExists):
		control.WriteError(w, http.StatusConflict, err.Error())
	default:
		control.WriteError(w, http.StatusBadRequest, err.Error())
	}
}

func (s *Server) ctlListApps(w http.ResponseWriter, _ *http.Request, _ map[string]string) {
	control.WriteJSON(w, http.StatusOK, map[string]any{"applications": s.Applications()})
}

func (s *Server) ctlGetApp(w http.ResponseWriter, _ *http.Request, v map[string]string) {
	info, err := s.Application(v["app"])
	if err != nil {
		writeAppError(w, err)
		return
	}
	control.WriteJSON(w, http.StatusOK, info)
}

// certificateBody is a certificate in a control request.
type certificateBody struct {
	PEM   string    `json:"pem"`
	KeyID string    `json:"key_id,omitempty"`
	Start time.Time `json:"start,omitzero"`
	End   time.Time `json:"end,omitzero"`
}

func (b certificateBody) credential() (Certificate, error) {
	if b.PEM == "" {
		return Certificate{}, fmt.Errorf("%w: pem is required: {\"pem\":\"-----BEGIN CERTIFICATE-----\\n…\"}", ErrInvalidApplication)
	}
	c, err := CertificateFromPEM(b.PEM)
	if err != nil {
		return Certificate{}, fmt.Errorf("%w: pem: %v", ErrInvalidApplication, err)
	}
	c.KeyID, c.Start, c.End = b.KeyID, b.Start.UTC(), b.End.UTC()
	return c, nil
}

// applicationBody is POST /_mock/applications: an application registration.
type applicationBody struct {
	AppID        string            `json:"app_id,omitempty"`
	DisplayName  string            `json:"display_name"`
	Tenant       string            `json:"tenant,omitempty"`
	PublicClient bool              `json:"public_client,omitempty"`
	Permissions  Permissions       `json:"permissions"`
	Certificates []certificateBody `json:"certificates,omitempty"`
	ClientSecret string            `json:"client_secret,omitempty"` // never listed back
	Consent      string            `json:"consent,omitempty"`
}

func (s *Server) ctlAddApp(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	var b applicationBody
	if !control.DecodeJSON(w, r, &b) {
		return
	}
	a := App{
		ClientID: b.AppID, DisplayName: b.DisplayName, Tenant: b.Tenant, PublicClient: b.PublicClient,
		Permissions: b.Permissions, ClientSecret: b.ClientSecret, Consent: b.Consent,
	}
	for _, cb := range b.Certificates {
		c, err := cb.credential()
		if err != nil {
			writeAppError(w, err)
			return
		}
		a.Certificates = append(a.Certificates, c)
	}
	info, err := s.RegisterApplication(a)
	if err != nil {
		writeAppError(w, err)
		return
	}
	control.WriteJSON(w, http.StatusCreated, info)
}

func (s *Server) ctlAddCert(w http.ResponseWriter, r *http.Request, v map[string]string) {
	var b certificateBody
	if !control.DecodeJSON(w, r, &b) {
		return
	}
	c, err := b.credential()
	if err != nil {
		writeAppError(w, err)
		return
	}
	info, err := s.AddCertificate(v["app"], c)
	if err != nil {
		writeAppError(w, err)
		return
	}
	control.WriteJSON(w, http.StatusCreated, info)
}

// ctlExpire ends one credential ({"key_id":"…"}) or every credential ({}) now.
func (s *Server) ctlExpire(w http.ResponseWriter, r *http.Request, v map[string]string) {
	var b struct {
		KeyID string `json:"key_id"`
	}
	if !control.DecodeJSON(w, r, &b) {
		return
	}
	info, err := s.ExpireCredentials(v["app"], b.KeyID)
	if err != nil {
		writeAppError(w, err)
		return
	}
	control.WriteJSON(w, http.StatusOK, info)
}

// ctlRenew moves the end of one credential ({"key_id":"…"}) or every credential to
// "end" (RFC 3339) or to now + "for" (a Go duration such as "8760h").
func (s *Server) ctlRenew(w http.ResponseWriter, r *http.Request, v map[string]string) {
	var b struct {
		KeyID string    `json:"key_id"`
		End   time.Time `json:"end"`
		For   string    `json:"for"`
	}
	if !control.DecodeJSON(w, r, &b) {
		return
	}
	end := b.End
	switch {
	case b.For != "" && !b.End.IsZero():
		control.WriteError(w, http.StatusBadRequest, `give either "end" or "for", not both`)
		return
	case b.For != "":
		d, err := time.ParseDuration(b.For)
		if err != nil || d <= 0 {
			control.WriteError(w, http.StatusBadRequest, fmt.Sprintf("for %q is not a positive Go duration such as \"8760h\"", b.For))
			return
		}
		end = s.clk.Now().Add(d)
	case b.End.IsZero():
		control.WriteError(w, http.StatusBadRequest, `give "end" (RFC 3339) or "for" (a duration such as "8760h"): {"for":"8760h"}`)
		return
	}
	info, err := s.RenewCredentials(v["app"], b.KeyID, end)
	if err != nil {
		writeAppError(w, err)
		return
	}
	control.WriteJSON(w, http.StatusOK, info)
}

func (s *Server) ctlRemoveCred(w http.ResponseWriter, _ *http.Request, v map[string]string) {
	if err := s.RemoveCredential(v["app"], v["key"]); err != nil {
		writeAppError(w, err)
		return
	}
	info, err := s.Application(v["app"])
	if err != nil {
		writeAppError(w, err)
		return
	}
	control.WriteJSON(w, http.StatusOK, info)
}

func ctlConsent(granted bool) func(*Server, http.ResponseWriter, *http.Request, map[string]string) {
	return func(s *Server, w http.ResponseWriter, _ *http.Request, v map[string]string) {
		info, err := s.SetConsent(v["app"], granted)
		if err != nil {
			writeAppError(w, err)
			return
		}
		control.WriteJSON(w, http.StatusOK, info)
	}
}

func ctlEnabled(enabled bool) func(*Server, http.ResponseWriter, *http.Request, map[string]string) {
	return func(s *Server, w http.ResponseWriter, _ *http.Request, v map[string]string) {
		info, err := s.SetEnabled(v["app"], enabled)
		if err != nil {
			writeAppError(w, err)
			return
		}
		control.WriteJSON(w, http.StatusOK, info)
	}
}
