package veeam

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/vbharness/vbharness/mocks/veeam/spec"
)

// Data retrievals on the clock. POST /v8/DataRetrievals stores the retrieval job
// (RESTDataRetrievalComposed) Retrieving, with lastStatus Running, and starts a
// RESTDataRetrievalSession of type Retrieve that runs like a job session (startSession:
// Running at 0 %, 50 % halfway through Settings.SessionDuration, then
// Settings.SessionResult, with log items at /v8/DataRetrievalSessions/{id}/LogItems).
// When it ends the retrieval shows the session's result as its lastStatus and, unless it
// failed, dataState Retrieved and the restore point it retrieved; from then
// POST /v8/DataRetrievals/{id}/explore starts a restore session of its organization at
// its pointInTime, until its expirationTime.

// defaultAvailabilityDays is how long retrieved data stays explorable when the request
// has no availabilityPeriodDays [A: the record gives no default].
const defaultAvailabilityDays = 7

// retrievalSessionKind is how a RESTDataRetrievalSession shows its run.
var retrievalSessionKind = &sessionKind{
	logs:     true,
	progress: func(o *object, percent int) { o.setValue("progress", percent) },
	finish: func(o *object, result string, end time.Time) {
		o.setValue("status", result)
		o.setValue("endTime", end)
		o.setValue("progress", 100)
		o.setValue("processedObjects", 120)
	},
	stop: func(o *object, end time.Time) {
		o.setValue("status", "Stopped")
		o.setValue("endTime", end)
	},
}

// retrievalWork is a retrieval session's run: when it ends, the retrieval at retrieval
// shows its result; a run that did not fail has retrieved the data (dataState Retrieved)
// of the latest restore point of the organization at or before pointInTime.
func retrievalWork(session, retrieval string) work {
	return work{name: "retrieval", path: session, kind: retrievalSessionKind, title: "Retrieval", target: retrieval,
		done: func(s *Server, result string, end time.Time) {
			rp := ""
			if r, ok := s.world.get(retrieval); ok && result != "Failed" && result != "Stopped" {
				rp = s.restorePointAt(r.obj.str("organizationId"), parseTime(r.obj.str("pointInTime")))
			}
			s.change(retrieval, func(o *object) {
				o.setValue("lastStatus", result)
				if result == "Failed" || result == "Stopped" {
					o.del("expirationTime") // nothing was retrieved [A: dataState stays Retrieving; the enumeration has no failed state]
					return
				}
				o.setValue("dataState", "Retrieved")
				if rp != "" {
					o.setValue("retrievedRestorePointId", rp)
				}
			})
		}}
}

// restorePointAt is the id of the organization's latest restore point backed up at or
// before at (any, when at is nil), or "".
func (s *Server) restorePointAt(org string, at *time.Time) string {
	best, bestAt := "", time.Time{}
	for _, it := range s.world.list("/v8/RestorePoints") {
		t := parseTime(it.obj.str("backupTime"))
		if !strings.EqualFold(it.obj.str("organizationId"), org) || t == nil || (at != nil && t.After(*at)) {
			continue
		}
		if best == "" || t.After(bestAt) {
			best, bestAt = it.obj.str("id"), *t
		}
	}
	return best
}

// retrievalRequest is what RESTDataRetrievalFromClient says beyond the fields the
// composed item keeps (merge).
type retrievalRequest struct {
	OrganizationID         string            `json:"organizationId"`
	AvailabilityPeriodDays *int              `json:"availabilityPeriodDays"`
	Mailboxes              []json.RawMessage `json:"mailboxes"`
	OneDrives              []json.RawMessage `json:"oneDrives"`
	Sites                  []json.RawMessage `json:"sites"`
	Teams                  []json.RawMessage `json:"teams"`
	S3Policy               string            `json:"amazonS3GlacierRetrievalPolicy"`
}

// checkRetrieval refuses a retrieval of an organization the world does not hold: the
// document's organizationId is "the backed-up organization unique ID", so either the
// organization's id or its Microsoft 365 tenant id names it [I].
func (s *Server) checkRetrieval(_ *request, given object) *apiError {
	id := given.str("organizationId")
	if _, ok := s.retrievalOrganization(id); !ok {
		return notFound("Organization", id)
	}
	return nil
}

// retrievalOrganization finds the organization a retrieval request names.
func (s *Server) retrievalOrganization(id string) (Organization, bool) {
	if id == "" {
		return Organization{}, false
	}
	return s.findOrganization(func(o *Organization) bool {
		return strings.EqualFold(o.ID, id) || strings.EqualFold(o.MSID, id)
	})
}

// retrievalCreated starts the new retrieval's session on the clock and returns the
// retrieval as it then is: Retrieving, lastStatus Running, startTime now, its type from
// the kind of objects the request lists (one kind per retrieval job, the document's
// note; Exchange when it lists none [A]), its storage type from its retrieval policy
// [I], pointInTime now unless given, and expirationTime the run's end plus
// availabilityPeriodDays.
func retrievalCreated(s *Server, rq *request, it *item) *item {
	var req retrievalRequest
	_ = json.Unmarshal(bytes.TrimSpace(rq.body), &req)
	o, _ := s.retrievalOrganization(req.OrganizationID)
	typ := "Exchange"
	switch {
	case len(req.OneDrives) > 0:
		typ = "OneDrive"
	case len(req.Sites) > 0:
		typ = "SharePoint"
	case len(req.Teams) > 0:
		typ = "Teams"
	}
	days := defaultAvailabilityDays
	if req.AvailabilityPeriodDays != nil && *req.AvailabilityPeriodDays > 0 {
		days = *req.AvailabilityPeriodDays
	}
	d := time.Duration(s.settings.get().SessionDuration) * time.Second
	now := rq.now
	s.change(it.path, func(r *object) {
		r.setValue("organizationId", o.ID)
		r.setValue("organizationUniqueId", o.MSID)
		r.setValue("type", typ)
		r.setValue("storageType", map[bool]string{true: "AmazonS3Glacier", false: "AzureArchive"}[req.S3Policy != ""])
		r.setValue("dataState", "Retrieving")
		r.setValue("lastStatus", "Running")
		r.setValue("startTime", now)
		if r.get("pointInTime") == nil {
			r.setValue("pointInTime", now)
		}
		for _, k := range []string{"showDeleted", "showAllVersions"} {
			if r.get(k) == nil {
				r.setValue(k, false)
			}
		}
		r.setValue("expirationTime", now.Add(d).Add(time.Duration(days)*24*time.Hour))
	})
	cur, ok := s.world.get(it.path)
	if !ok {
		return it
	}
	s.storeRetrievedObjects(it.path, req)
	id := newGUID()
	var sess object
	sess.setValue("id", id)
	sess.setValue("name", "Retrieval of "+cur.obj.str("name"))
	sess.setValue("retrievalId", cur.obj.str("id"))
	if repo := cur.obj.str("repositoryId"); repo != "" {
		sess.setValue("repositoryId", repo)
	}
	sess.setValue("creationTime", now)
	sess.setValue("progress", 0)
	sess.setValue("processedObjects", 0)
	sess.setValue("type", "Retrieve")
	sess.setValue("status", "Running")
	path := "/v8/DataRetrievalSessions/" + id
	si, err := newItem(path, id, sess.bytes(), nil)
	if err != nil {
		return cur
	}
	s.world.put(si)
	s.startSession(retrievalWork(path, it.path), now)
	return cur
}

// exploreRetrieval is POST /v8/DataRetrievals/{dataRetrievalId}/explore
// (administrators): 201 with a new restore session (RESTRestoreSession) of the
// retrieval's organization at its pointInTime, of the type its objects are (Exchange
// Vex, OneDrive Veod, SharePoint Vesp, Teams Vet), with its showDeleted and
// showAllVersions. A retrieval whose data is not retrieved yet, or no longer (past its
// expirationTime), is refused with 400 OperationConflict [A: the record has no text].
func (s *Server) exploreRetrieval(rq *request) (int, any, *apiError) {
	id := strings.ToLower(rq.param("dataRetrievalId"))
	r, ok := s.world.get("/v8/DataRetrievals/" + id)
	if !ok {
		return 0, nil, notFound("Data retrieval", id)
	}
	name := r.obj.str("name")
	if st := r.obj.str("dataState"); st != "Retrieved" {
		return 0, nil, conflict("Retrieval job '%s' has not retrieved its data (its data state is %s); explore it when it is Retrieved.", name, st)
	}
	if exp := parseTime(r.obj.str("expirationTime")); exp != nil && !rq.now.Before(*exp) {
		return 0, nil, conflict("The data of retrieval job '%s' expired at %s; retrieve it again.", name, exp.Format(time.RFC3339))
	}
	org := strings.ToLower(r.obj.str("organizationId"))
	o, ok := s.organization(org)
	if !ok {
		return 0, nil, notFound("Organization", org)
	}
	typ := map[string]string{"Exchange": "Vex", "OneDrive": "Veod", "SharePoint": "Vesp", "Teams": "Vet"}[r.obj.str("type")]
	if typ == "" {
		typ = "Vex"
	}
	opts := exploreOptions{Type: &typ, DateTime: parseTime(r.obj.str("pointInTime"))}
	for k, dst := range map[string]**bool{"showDeleted": &opts.ShowDeleted, "showAllVersions": &opts.ShowAllVersions} {
		v := r.obj.text(k) == "true"
		*dst = &v
	}
	return s.startRestoreSession(rq, o, opts, restoreOwner{})
}

// updateRetrieval is PUT /v8/DataRetrievals/{dataRetrievalId}
// (RESTDataRetrievalUpdateFromClient): the fields are merged in as for any item
// (updateItem), and a new availabilityPeriodDays moves expirationTime to that many days
// after the data was retrieved: its retrieval session's end, or, while it runs, its
// start plus the run's length, as on create [A: the record does not say from when the
// new period counts; the mock counts it from the retrieval, as the first one].
func (s *Server) updateRetrieval(rq *request) (int, any, *apiError) {
	status, body, e := s.updateItem(rq)
	if e != nil {
		return 0, nil, e
	}
	var req struct {
		AvailabilityPeriodDays *int `json:"availabilityPeriodDays"`
	}
	if json.Unmarshal(bytes.TrimSpace(rq.body), &req) != nil || req.AvailabilityPeriodDays == nil || *req.AvailabilityPeriodDays <= 0 {
		return status, body, nil
	}
	path := "/v8/DataRetrievals/" + strings.ToLower(rq.param("dataRetrievalId"))
	r, ok := s.world.get(path)
	if !ok || r.obj.get("expirationTime") == nil { // deleted, or a failed run retrieved nothing
		return status, body, nil
	}
	var base *time.Time
	for _, sess := range s.world.list("/v8/DataRetrievalSessions") {
		if strings.EqualFold(sess.obj.str("retrievalId"), r.id) {
			if end := parseTime(sess.obj.str("endTime")); end != nil {
				base = end
			}
		}
	}
	if base == nil {
		start := parseTime(r.obj.str("startTime"))
		if start == nil {
			return status, body, nil
		}
		b := start.Add(time.Duration(s.settings.get().SessionDuration) * time.Second)
		base = &b
	}
	exp := base.Add(time.Duration(*req.AvailabilityPeriodDays) * 24 * time.Hour)
	s.change(path, func(o *object) { o.setValue("expirationTime", exp) })
	return status, body, nil
}

// retrievedLists are the lists under a retrieval that name what it retrieves, each from
// a field of its request (RESTDataRetrievalFromClient).
var retrievedLists = []struct{ list, field string }{
	{"mailboxes", "mailboxes"}, {"onedrives", "oneDrives"}, {"webs", "sites"}, {"teams", "teams"},
}

// storeRetrievedObjects keeps the mailboxes, OneDrives, sites and teams a retrieval's
// request names, under the retrieval (…/mailboxes, …/onedrives, …/webs, …/teams), as
// the request gave them.
func (s *Server) storeRetrievedObjects(path string, req retrievalRequest) {
	given := map[string][]json.RawMessage{"mailboxes": req.Mailboxes, "oneDrives": req.OneDrives, "sites": req.Sites, "teams": req.Teams}
	for _, l := range retrievedLists {
		for i, el := range given[l.field] {
			o, err := parseObject(el)
			if err != nil {
				continue
			}
			id := strings.ToLower(o.str("id"))
			if id == "" {
				id = spec.UUID(path + "/" + l.list + "/" + strconv.Itoa(i))
			}
			if it, err := newItem(path+"/"+l.list+"/"+id, id, o.bytes(), nil); err == nil {
				s.world.put(it)
			}
		}
	}
}

// retrievedObjects serves GET /v8/DataRetrievals/{dataRetrievalId}/mailboxes,
// /onedrives, /webs and /teams: a page of what the retrieval's request named, in the
// document's shapes (RESTDataRetrievalMailbox, …OneDrive, …Web, …Team). A OneDrive or a
// site is its own web: SiteId and WebId are both its id [A].
func retrievedObjects(list string) handler {
	return func(s *Server, rq *request) (int, any, *apiError) {
		path := "/v8/DataRetrievals/" + strings.ToLower(rq.param("dataRetrievalId"))
		if _, ok := s.world.get(path); !ok {
			return 0, nil, notFound("Data retrieval", rq.param("dataRetrievalId"))
		}
		items := s.world.list(path + "/" + list)
		return s.pageOf(rq, len(items), func(b *bytes.Buffer, i int) {
			o := items[i].obj
			var v any
			switch list {
			case "mailboxes":
				name := o.str("displayName")
				if name == "" {
					name = o.str("email")
				}
				v = map[string]any{"id": items[i].id, "displayName": name, "email": o.str("email"), "isArchive": o.text("isArchive") == "true"}
			case "teams":
				v = map[string]any{"id": items[i].id, "displayName": o.str("displayName"), "description": ""}
			default: // onedrives, webs
				v = map[string]any{"SiteId": items[i].id, "WebId": items[i].id, "Title": o.str("title"), "Url": o.str("url")}
			}
			out, _ := json.Marshal(v)
			b.Write(out)
		})
	}
}

// The retrievals' hooks are set here, as the jobs' are (backup.go): in the collections
// table they would make an initialisation cycle.
func init() {
	c := collectionOf("/v8/DataRetrievals")
	c.check = (*Server).checkRetrieval
	c.afterCreate = retrievalCreated
	handWritten["DataRetrieval_Update"] = operation{who: admins, handle: (*Server).updateRetrieval, coll: c}
	for op, list := range map[string]string{"DataRetrieval_GetMailboxes": "mailboxes", "DataRetrieval_GetOneDrives": "onedrives",
		"DataRetrieval_GetWebs": "webs", "DataRetrieval_GetTeams": "teams"} {
		handWritten[op] = operation{who: admins, handle: retrievedObjects(list)}
	}
}
