package veeam

import (
	"errors"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/vbharness/vbharness/mocks/control"
	"github.com/vbharness/vbharness/mocks/secret"
)

// controlAPI owns the Veeam additions to the /_mock/ control API. Bodies and errors use
// the control API's shapes (control.WriteJSON, control.WriteError), not Veeam's.
type controlAPI struct {
	s *Server
}

// mount adds the routes to the /_mock subrouter (already guarded by loopback or the
// control token).
func (c *controlAPI) mount(sub *mux.Router) {
	sub.HandleFunc("/settings", c.getSettings).Methods(http.MethodGet)
	sub.HandleFunc("/settings", c.putSettings).Methods(http.MethodPut) // merges the given fields
	sub.HandleFunc("/organizations", c.listOrganizations).Methods(http.MethodGet)
	sub.HandleFunc("/organizations", c.addOrganization).Methods(http.MethodPost) // 201
	sub.HandleFunc("/sessions/revoke", c.revokeSessions).Methods(http.MethodPost)
}

func (c *controlAPI) getSettings(w http.ResponseWriter, _ *http.Request) {
	control.WriteJSON(w, http.StatusOK, c.s.Settings())
}

// putSettings merges the fields given; unknown fields and bad values are refused with
// 400 and nothing changes.
func (c *controlAPI) putSettings(w http.ResponseWriter, r *http.Request) {
	var p settingsPatch
	if !control.DecodeJSON(w, r, &p) {
		return
	}
	var set Settings
	err := c.s.saving(func() (err error) {
		set, err = c.s.settings.merge(p)
		return err
	})
	switch {
	case errors.Is(err, ErrNotSaved):
		control.WriteError(w, http.StatusInternalServerError, err.Error())
		return
	case err != nil:
		control.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	control.WriteJSON(w, http.StatusOK, set)
}

// redacted hides an organization's password in control API output.
func redacted(o Organization) Organization {
	if o.Password != "" {
		o.Password = secret.Redact(o.Password)
	}
	return o
}

func (c *controlAPI) listOrganizations(w http.ResponseWriter, _ *http.Request) {
	orgs := c.s.organizations()
	for i := range orgs {
		orgs[i] = redacted(orgs[i])
	}
	control.WriteJSON(w, http.StatusOK, map[string]any{"organizations": orgs})
}

// addOrganization is POST /_mock/organizations with an Organization as JSON (id
// optional). 201 with the organization as stored; 400 if invalid; 409 if its name, id
// or msid is taken.
func (c *controlAPI) addOrganization(w http.ResponseWriter, r *http.Request) {
	var o Organization
	if !control.DecodeJSON(w, r, &o) {
		return
	}
	added, err := c.s.AddOrganization(o)
	switch {
	case errors.Is(err, ErrNotSaved):
		control.WriteError(w, http.StatusInternalServerError, err.Error())
	case errors.Is(err, errDuplicate):
		control.WriteError(w, http.StatusConflict, err.Error())
	case err != nil:
		control.WriteError(w, http.StatusBadRequest, err.Error())
	default:
		control.WriteJSON(w, http.StatusCreated, redacted(added))
	}
}

// revokeSessions is POST /_mock/sessions/revoke: {"userName":"…"} revokes that user's
// sessions, {"all":true} every session; an empty body or {} names no one and is a 400
// (issue 15: a call that acts on everyone must say so). It answers {"revoked": n}.
func (c *controlAPI) revokeSessions(w http.ResponseWriter, r *http.Request) {
	var body struct {
		UserName string `json:"userName"`
		All      bool   `json:"all"`
	}
	if !control.DecodeJSON(w, r, &body) {
		return
	}
	switch {
	case body.All && body.UserName != "":
		control.WriteError(w, http.StatusBadRequest, `give either "userName" or "all":true, not both`)
		return
	case !body.All && body.UserName == "":
		control.WriteError(w, http.StatusBadRequest, `name whose sessions to revoke: {"userName":"…"}, or {"all":true} for every session`)
		return
	}
	n, err := c.s.revokeSessions(body.UserName)
	if err != nil {
		control.WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	control.WriteJSON(w, http.StatusOK, map[string]int{"revoked": n})
}
