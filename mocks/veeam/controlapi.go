package veeam

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/vbharness/vbharness/mocks/control"
	"github.com/vbharness/vbharness/mocks/secret"
)

// controlAPI owns the Veeam additions to the /_mock/ control API. Bodies and errors use
// the control API's shapes (control.WriteJSON, control.WriteError), not Veeam's.
type controlAPI struct {
	s *Server
}

// mountControlAPI adds the routes to the /_mock subrouter (already guarded by loopback or the
// control token).
func mountControlAPI(sub *mux.Router) {
	// on adapts a method of controlAPI to a handler for the request's Server.
	on := func(f func(*controlAPI, http.ResponseWriter, *http.Request)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { f(&controlAPI{s: self(r)}, w, r) }
	}
	sub.HandleFunc("/settings", on((*controlAPI).getSettings)).Methods(http.MethodGet)
	sub.HandleFunc("/settings", on((*controlAPI).putSettings)).Methods(http.MethodPut) // merges the given fields
	sub.HandleFunc("/organizations", on((*controlAPI).listOrganizations)).Methods(http.MethodGet)
	sub.HandleFunc("/organizations", on((*controlAPI).addOrganization)).Methods(http.MethodPost) // 201
	sub.HandleFunc("/sessions/revoke", on((*controlAPI).revokeSessions)).Methods(http.MethodPost)
	sub.HandleFunc("/stubs", on((*controlAPI).listStubs)).Methods(http.MethodGet)
	sub.HandleFunc("/stubs", on((*controlAPI).addStub)).Methods(http.MethodPost) // 201
	sub.HandleFunc("/stubs", on((*controlAPI).clearStubs)).Methods(http.MethodDelete)
	sub.HandleFunc("/stubs/{id}", on((*controlAPI).removeStub)).Methods(http.MethodDelete)
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

// listStubs is GET /_mock/stubs: {"stubs": [...]}, oldest first, each with its hits and
// remaining answers (null when unlimited).
func (c *controlAPI) listStubs(w http.ResponseWriter, _ *http.Request) {
	control.WriteJSON(w, http.StatusOK, map[string]any{"stubs": c.s.Stubs()})
}

// addStub is POST /_mock/stubs with a Stub: 201 with the stub as kept (its id, hits 0,
// remaining); 400 for an invalid stub; 409 for a taken id.
func (c *controlAPI) addStub(w http.ResponseWriter, r *http.Request) {
	var st Stub
	if !control.DecodeJSON(w, r, &st) {
		return
	}
	added, err := c.s.AddStub(st)
	switch {
	case errors.Is(err, errStubTaken):
		control.WriteError(w, http.StatusConflict, err.Error())
	case err != nil:
		control.WriteError(w, http.StatusBadRequest, err.Error())
	default:
		control.WriteJSON(w, http.StatusCreated, added)
	}
}

// clearStubs is DELETE /_mock/stubs: every stub goes, the ones the server started with
// too (POST /_mock/reset brings those back). 204.
func (c *controlAPI) clearStubs(w http.ResponseWriter, _ *http.Request) {
	c.s.ClearStubs()
	w.WriteHeader(http.StatusNoContent)
}

// removeStub is DELETE /_mock/stubs/{id}: 204, or 404 for an unknown id.
func (c *controlAPI) removeStub(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["id"]
	if !c.s.RemoveStub(id) {
		control.WriteError(w, http.StatusNotFound, "no stub with id "+strconv.Quote(id))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
