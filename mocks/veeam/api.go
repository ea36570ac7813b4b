package veeam

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vbharness/vbharness/mocks/veeam/spec"
)

// The hand-written handlers of the table (operations.go): behaviour the document cannot
// give. Each returns (status, body, error) to the one writer.

// --- anonymous ---

// health is GET /v8/Health (anonymous): RESTHealthReport. The entry names are [?]
// (veeam.md §4.2 says they cover NATS and the PostgreSQL configuration database).
func (s *Server) health(*request) (int, any, *apiError) {
	type entry struct {
		Status string `json:"status"`
	}
	return http.StatusOK, struct {
		Status  string           `json:"status"`
		Entries map[string]entry `json:"entries"`
	}{"Healthy", map[string]entry{"ConfigurationDatabase": {"Healthy"}, "NatsServer": {"Healthy"}}}, nil
}

// restorePortalSettings is GET /v8/RestorePortalSettings (anonymous).
func (s *Server) restorePortalSettings(*request) (int, any, *apiError) {
	rp := s.restorePortal()
	return http.StatusOK, struct {
		ApplicationID    string `json:"applicationId"`
		MSALAuthorityURI string `json:"msalAuthorityUri"`
		RestorePortalURI string `json:"restorePortalUri"`
		IsEnabled        bool   `json:"isEnabled"`
	}{rp.ApplicationID, s.authority + "/organizations", rp.RestorePortalURI, s.settings.get().OperatorAuthentication}, nil
}

func (s *Server) restorePortal() RestorePortal {
	var rp RestorePortal
	if b, ok := s.world.singleton(restorePortalKey); ok {
		_ = json.Unmarshal(b, &rp)
	}
	return rp
}

// --- settings singletons ---

// getSingleton serves GET on a settings object (and /v8/ServiceInstance): what was last
// PUT, else the fixtures' value, else one generated from the schema on the world's
// clock, the same until it is changed.
func (s *Server) getSingleton(rq *request) (int, any, *apiError) {
	return http.StatusOK, rawJSON(s.singleton(rq)), nil
}

func (s *Server) singleton(rq *request) []byte {
	path := rq.canonicalPath()
	if b, ok := s.world.singleton(path); ok {
		return b
	}
	return spec.Doc().Generate(rq.route.get.Response, spec.Gen{Seed: strings.ToLower(path), Now: s.world.generatedAt()})
}

// putSingleton serves PUT on a settings object: the body's fields that fit the object
// as GET serves it are merged in. 204.
func (s *Server) putSingleton(rq *request) (int, any, *apiError) {
	cur, err := parseObject(s.singleton(rq))
	if err != nil {
		return 0, nil, &apiError{Status: http.StatusInternalServerError, Message: "The stored settings are not an object."}
	}
	given, _ := parseObject(bytes.TrimSpace(rq.body))
	merge(&cur, given, rq.route.get.Response)
	s.world.setSingleton(rq.canonicalPath(), cur.bytes())
	return rq.route.op.Status, nil, nil
}

// deleteSingleton serves DELETE on a settings object: back to its default. 204.
func (s *Server) deleteSingleton(rq *request) (int, any, *apiError) {
	path := rq.canonicalPath()
	s.world.setSingleton(path, spec.Doc().Generate(rq.route.get.Response, spec.Gen{Seed: strings.ToLower(path), Now: s.world.generatedAt()}))
	return rq.route.op.Status, nil, nil
}

// --- generated answers ---

// generatedPageSize is how many items a generated collection holds.
const generatedPageSize = 3

// generated answers an operation the world holds nothing for with a value generated
// from its response schema: the same for the same operation, path and clock reading.
// A PageOf envelope is paged with Veeam's rules over a collection of three items; a
// binary answer is a small body in its media type; 204 is empty. A GET …/{id} answers
// the object the path names: its key and the properties named like the path's other
// variables hold the path's values (pathProperties).
func (s *Server) generated(rq *request) (int, any, *apiError) {
	op := rq.route.op
	seed := op.ID + "|" + strings.ToLower(strings.Join(rq.values, "/"))
	switch {
	case op.Response == nil:
		return op.Status, nil, nil
	case op.Media == "application/octet-stream":
		return op.Status, binary{media: op.Media, data: []byte("vbharness mock: " + op.ID + " for " + rq.canonicalPath() + "\n")}, nil
	}
	d := spec.Doc()
	resp := op.Response.Value
	if results := resp.Properties["results"]; results != nil && results.Value.Items != nil && resp.Properties["offset"] != nil {
		p, e := s.pager(rq)
		if e != nil {
			return 0, nil, e
		}
		return op.Status, p.render(generatedPageSize, func(b *bytes.Buffer, i int) {
			b.Write(d.Generate(results.Value.Items, spec.Gen{Seed: seed + "|" + strconv.Itoa(i), Now: rq.now}))
		}), nil
	}
	var fixed map[string]any
	if len(rq.route.fromPath) > 0 {
		fixed = make(map[string]any, len(rq.route.fromPath))
		for _, pp := range rq.route.fromPath {
			v := rq.values[pp.index]
			if pp.guid {
				v = strings.ToLower(v)
			}
			if n, err := strconv.ParseInt(v, 10, 64); pp.integer && err == nil {
				fixed[pp.name] = n
			} else if !pp.integer {
				fixed[pp.name] = v
			}
		}
	}
	return op.Status, rawJSON(d.Generate(op.Response, spec.Gen{Seed: seed, Now: rq.now, Self: rq.canonicalPath() + requiredQuery(rq, rq.route.get), Fixed: fixed})), nil
}

// storeTyped stores a value of a fixture type as the item at path.
func (s *Server) storeTyped(path, id string, v any, hidden any) *item {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	it, err := newItem(path, id, raw, hidden)
	if err != nil {
		return nil
	}
	s.world.put(it)
	return it
}

// --- restore sessions: administrators see all, tenants and operators their own ---

// listRestoreSessions is GET /v8/RestoreSessions (startTimeFrom, startTimeTo,
// endTimeFrom, endTimeTo, orderBy CreationTime|EndTime, orderAsc, limit, offset): the
// caller's own sessions (all, for administrators), newest creation first by default [I].
// The time bounds are plain strings in the document; ISO 8601 is required here.
func (s *Server) listRestoreSessions(rq *request) (int, any, *apiError) {
	var bounds [4]*time.Time
	for i, n := range [4]string{"startTimeFrom", "startTimeTo", "endTimeFrom", "endTimeTo"} {
		v := rq.query.Get(n)
		if v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return 0, nil, badParam("The value '%s' is not valid for %s: an ISO 8601 date-time such as 2026-01-05T09:00:00Z is expected.", v, n)
		}
		bounds[i] = &t
	}
	within := func(t *time.Time, from, to *time.Time) bool {
		if from == nil && to == nil {
			return true
		}
		return t != nil && (from == nil || !t.Before(*from)) && (to == nil || !t.After(*to))
	}
	type entry struct {
		it                *item
		created, finished *time.Time
	}
	var entries []entry
	for _, it := range s.world.list("/v8/RestoreSessions") {
		if !owns(rq.sess, it) {
			continue
		}
		e := entry{it: it, created: parseTime(it.obj.str("creationTime")), finished: parseTime(it.obj.str("endTime"))}
		if within(e.created, bounds[0], bounds[1]) && within(e.finished, bounds[2], bounds[3]) {
			entries = append(entries, e)
		}
	}
	key := func(e entry) time.Time {
		t := e.created
		if rq.query.Get("orderBy") == "EndTime" {
			t = e.finished
		}
		if t == nil {
			return time.Time{}
		}
		return *t
	}
	asc := rq.query.Get("orderAsc") == "true"
	slices.SortStableFunc(entries, func(x, y entry) int {
		if asc {
			return key(x).Compare(key(y))
		}
		return key(y).Compare(key(x))
	})
	p, e := s.pager(rq)
	if e != nil {
		return 0, nil, e
	}
	c := restoreSessions()
	return http.StatusOK, p.render(len(entries), func(b *bytes.Buffer, i int) { c.render(b, rq, entries[i].it, true) }), nil
}

func parseTime(s string) *time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return nil
	}
	return &t
}

// stopRestoreSession is POST /v8/RestoreSessions/{id}/Stop: 204; stopping a stopped
// session changes nothing [I].
func (s *Server) stopRestoreSession(rq *request) (int, any, *apiError) {
	id := strings.ToLower(rq.param("restoreSessionId"))
	_, e := s.world.update("/v8/RestoreSessions/"+id, func(cur *item) (*item, *apiError) {
		if cur.obj.str("state") == "Stopped" {
			return nil, nil
		}
		return cur.with(func(o *object) {
			o.setValue("state", "Stopped")
			o.setValue("endTime", rq.now)
			bumpETag(o)
		}), nil
	})
	if e != nil {
		return 0, nil, e
	}
	s.stopRestoreEvents(id, rq.now)
	return http.StatusNoContent, nil, nil
}

// --- tenant routes ---

// loggedInOrganization is RESTLoggedInOrganization.
type loggedInOrganization struct {
	ID              string     `json:"id"`
	Name            string     `json:"name"`
	Type            string     `json:"type"`
	IsBackedUp      bool       `json:"isBackedup"`
	FirstBackupTime *time.Time `json:"firstBackuptime"`
	LastBackupTime  *time.Time `json:"lastBackuptime"`
	Actions         struct {
		Explore action `json:"explore"`
	} `json:"_actions"`
}

// action is RESTAction.
type action struct {
	URI    string `json:"uri"`
	Method string `json:"method"`
}

// currentOrganization is GET /v8/Organization: the tenant's organization, with the
// explore action it may take [I: the action's name].
func (s *Server) currentOrganization(rq *request) (int, any, *apiError) {
	o, ok := s.organization(rq.sess.orgID)
	if !ok {
		return 0, nil, notFound("Organization", rq.sess.orgID)
	}
	out := loggedInOrganization{ID: o.ID, Name: o.Name, Type: o.Type, IsBackedUp: o.IsBackedUp,
		FirstBackupTime: o.FirstBackupTime, LastBackupTime: o.LastBackupTime}
	out.Actions.Explore = action{URI: "/v8/Organization/Explore", Method: "Post"}
	return http.StatusOK, out, nil
}

// --- organizations, for the token service and the control API ---

// organizations returns every organization, as Fixtures describes them.
func (s *Server) organizations() []Organization {
	items := s.world.list("/v8/Organizations")
	out := make([]Organization, len(items))
	for i, it := range items {
		out[i] = organizationOf(it)
	}
	return out
}

func (s *Server) organization(id string) (Organization, bool) {
	it, ok := s.world.get("/v8/Organizations/" + id)
	if !ok {
		return Organization{}, false
	}
	return organizationOf(it), true
}

func (s *Server) findOrganization(match func(*Organization) bool) (Organization, bool) {
	for _, o := range s.organizations() {
		if match(&o) {
			return o, true
		}
	}
	return Organization{}, false
}

// collectionOf returns the declared collection with the given list path.
func collectionOf(list string) *collection {
	for _, c := range collections {
		if c.list == list {
			return c
		}
	}
	panic("veeam: no collection " + list)
}

func jobSessions() *collection     { return collectionOf("/v8/JobSessions") }
func restoreSessions() *collection { return collectionOf("/v8/RestoreSessions") }
