package veeam

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"time"
)

// Restore sessions: the explore operations that start them, who sees which, and the
// refusal a stopped session's content gets. What a session shows is content.go; what
// restore actions do is restoreactions.go.

// exploreOptions is RESTExploreOptions, RESTOrganizationExploreOptions and
// RESTOperatorExploreOptions (the document has checked the body's types).
type exploreOptions struct {
	DateTime        *time.Time      `json:"dateTime"`
	Type            *string         `json:"type"`
	ShowDeleted     *bool           `json:"showDeleted"`
	ShowAllVersions *bool           `json:"showAllVersions"`
	Reason          string          `json:"reason"`
	Scope           json.RawMessage `json:"scope"`
}

func readExploreOptions(rq *request) exploreOptions {
	var opts exploreOptions
	if len(bytes.TrimSpace(rq.body)) > 0 {
		_ = json.Unmarshal(rq.body, &opts)
	}
	return opts
}

// startRestoreSession stores a new Working restore session of organization o for the
// caller, with the options given, and answers it: 201 RESTRestoreSession. The type
// defaults to Vex, the point in time to now (the latest restore point) [I].
func (s *Server) startRestoreSession(rq *request, o Organization, opts exploreOptions, owner restoreOwner) (int, any, *apiError) {
	owner.OrganizationID, owner.Type, owner.PointInTime = o.ID, "Vex", rq.now
	if opts.Type != nil {
		owner.Type = *opts.Type
	}
	if opts.DateTime != nil {
		owner.PointInTime = opts.DateTime.UTC()
	}
	owner.ShowDeleted = opts.ShowDeleted != nil && *opts.ShowDeleted
	owner.ShowAllVersions = opts.ShowAllVersions != nil && *opts.ShowAllVersions
	host, _, err := net.SplitHostPort(rq.RemoteAddr)
	if err != nil {
		host = rq.RemoteAddr
	}
	rs := RestoreSession{ID: newGUID(), Name: "Restore session for " + o.Name, OrganizationID: o.ID, Tenant: owner.Tenant,
		Type: owner.Type, CreationTime: rq.now, State: "Working", Result: "Success", InitiatedBy: rq.sess.user,
		ClientHost: host, Reason: opts.Reason, ETag: 1}
	it := s.storeTyped("/v8/RestoreSessions/"+rs.ID, rs.ID, restoreSessionWire(rs, o.Name), owner)
	if it == nil {
		return 0, nil, &apiError{Status: http.StatusInternalServerError, Message: "The restore session could not be stored."}
	}
	return http.StatusCreated, restoreSessions().renderOne(rq, it), nil
}

// exploreOrganization is POST /v8/Organization/Explore: a tenant's session of its own
// organization (its own session), or an operator's within its RBAC scope.
func (s *Server) exploreOrganization(rq *request) (int, any, *apiError) {
	o, ok := s.organization(rq.sess.orgID)
	if !ok {
		return 0, nil, notFound("Organization", rq.sess.orgID)
	}
	opts := readExploreOptions(rq)
	if rq.sess.kind == kindOperator {
		scope, e := s.operatorScope(rq.sess, nil)
		if e != nil {
			return 0, nil, e
		}
		return s.startRestoreSession(rq, o, opts, restoreOwner{Operator: strings.ToLower(rq.sess.user), Scope: scope})
	}
	return s.startRestoreSession(rq, o, opts, restoreOwner{Tenant: true})
}

// operatorExplore is POST /v8/Organization/OperatorExplore: an operator's session
// limited to its RBAC roles' scope, or to the one object of that scope the body's
// scope names; an object outside the scope is refused (403 ResourceAccessDenied).
func (s *Server) operatorExplore(rq *request) (int, any, *apiError) {
	o, ok := s.organization(rq.sess.orgID)
	if !ok {
		return 0, nil, notFound("Organization", rq.sess.orgID)
	}
	opts := readExploreOptions(rq)
	scope, e := s.operatorScope(rq.sess, opts.Scope)
	if e != nil {
		return 0, nil, e
	}
	return s.startRestoreSession(rq, o, opts, restoreOwner{Operator: strings.ToLower(rq.sess.user), Scope: scope})
}

// exploreByOrganization is POST /v8/Organizations/{organizationId}/explore
// (administrators).
func (s *Server) exploreByOrganization(rq *request) (int, any, *apiError) {
	id := strings.ToLower(rq.param("organizationId"))
	o, ok := s.organization(id)
	if !ok {
		return 0, nil, notFound("Organization", id)
	}
	return s.startRestoreSession(rq, o, readExploreOptions(rq), restoreOwner{})
}

// exploreByJob is POST /v8/Jobs/{jobId}/explore (administrators): a session of the
// organization the job backs up.
func (s *Server) exploreByJob(rq *request) (int, any, *apiError) {
	j, _ := s.world.get("/v8/Jobs/" + rq.param("jobId"))
	org := strings.ToLower(j.obj.str("organizationId"))
	o, ok := s.organization(org)
	if !ok {
		return 0, nil, notFound("Organization", org)
	}
	return s.startRestoreSession(rq, o, readExploreOptions(rq), restoreOwner{})
}

// exploreByRepository is POST /v8/BackupRepositories/{repositoryId}/explore
// (administrators): a session of the organization the required organizationId query
// names, from that repository's backups.
func (s *Server) exploreByRepository(rq *request) (int, any, *apiError) {
	org := strings.ToLower(rq.query.Get("organizationId"))
	o, ok := s.organization(org)
	if !ok {
		return 0, nil, notFound("Organization", org)
	}
	return s.startRestoreSession(rq, o, readExploreOptions(rq), restoreOwner{})
}

// owns reports whether a caller may see a restore session: administrators see all; a
// tenant the sessions its organization's tenants started; an operator the sessions it
// started itself [I].
func owns(sess *session, it *item) bool {
	if sess.kind == kindAdmin {
		return true
	}
	o, _ := it.hidden.(restoreOwner)
	if o.OrganizationID != sess.orgID {
		return false
	}
	if sess.kind == kindOperator {
		return o.Operator != "" && o.Operator == strings.ToLower(sess.user)
	}
	return o.Tenant
}

// ownsRestoreSession refuses a tenant or operator another's restore session: 403.
func (s *Server) ownsRestoreSession(rq *request) *apiError {
	id := rq.param("restoreSessionId")
	it, ok := s.world.get("/v8/RestoreSessions/" + id)
	if !ok {
		return notFound("Restore session", id)
	}
	if !owns(rq.sess, it) {
		return accessDenied("Access denied: restore session %s belongs to another user.", id)
	}
	return nil
}

// mountedSession refuses the content and the restore actions of a stopped restore
// session: 400 OperationConflict [A: what a real server answers is not in the record;
// a stopped session's backup is no longer mounted, so nothing under it can be read].
// The session itself, its events and its statistics still answer.
func (s *Server) mountedSession(rq *request) *apiError {
	id := rq.param("restoreSessionId")
	it, ok := s.world.get("/v8/RestoreSessions/" + id)
	if !ok {
		return nil // the ancestor check answers 404
	}
	if it.obj.str("state") == "Stopped" {
		return conflict("Restore session %s is stopped: its backup is no longer mounted. Start a new restore session with explore.", strings.ToLower(id))
	}
	return nil
}
