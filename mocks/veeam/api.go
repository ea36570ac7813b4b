package veeam

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/mux"

	"github.com/vbharness/vbharness/mocks/clock"
)

// access is who may call a route.
type access int

const (
	adminOnly     access = iota // administrators; tenant and operator tokens get 403
	tenantOnly                  // tenants and operators; administrators get 403
	adminOrTenant               // both; the handler limits tenants to their own data
	anyToken                    // any valid token (logout)
)

// call is what an authenticated handler gets: the caller's session and the request's
// one clock reading.
type call struct {
	sess *session
	now  time.Time
}

// authedHandler serves an authenticated route.
type authedHandler func(w http.ResponseWriter, r *http.Request, c call)

// api owns the resource routes behind the token.
type api struct {
	clk       clock.Clock
	data      *dataStore
	sessions  *sessionStore
	settings  *settingsStore
	authority string
	mut       Mutations // for testing the tests only
}

// mount adds the resource routes to the /v8 router. The table is the mock's endpoint
// list; see docs/veeam-mock.md.
func (a *api) mount(v8 *mux.Router) {
	const get, post = http.MethodGet, http.MethodPost
	v8.HandleFunc("/Health", a.health).Methods(get)                               // anonymous
	v8.HandleFunc("/RestorePortalSettings", a.restorePortalSettings).Methods(get) // anonymous
	v8.HandleFunc("/ServiceInstance", a.auth(adminOnly, a.serviceInstance)).Methods(get)

	v8.HandleFunc("/Organizations", a.auth(adminOnly, a.listOrganizations)).Methods(get)
	v8.HandleFunc("/Organizations/{organizationId}", a.auth(adminOnly, a.getOrganization)).Methods(get)

	v8.HandleFunc("/Jobs", a.auth(adminOnly, a.listJobs)).Methods(get)
	v8.HandleFunc("/Jobs/{jobId}", a.auth(adminOnly, getOne("jobId", "Job", a.data.jobByID, renderJob))).Methods(get)
	v8.HandleFunc("/Jobs/{jobId}/start", a.auth(adminOnly, a.startJob)).Methods(post)     // 200 RESTJobSession
	v8.HandleFunc("/Jobs/{jobId}/stop", a.auth(adminOnly, a.stopJob)).Methods(post)       // 204
	v8.HandleFunc("/Jobs/{jobId}/enable", a.auth(adminOnly, a.enableJob)).Methods(post)   // 204
	v8.HandleFunc("/Jobs/{jobId}/disable", a.auth(adminOnly, a.disableJob)).Methods(post) // 204

	v8.HandleFunc("/JobSessions", a.auth(adminOnly, a.listJobSessions)).Methods(get)
	v8.HandleFunc("/JobSessions/{jobSessionsId}", a.auth(adminOnly, getOne("jobSessionsId", "Job session", a.data.jobSessionByID, renderJobSession))).Methods(get)

	v8.HandleFunc("/BackupRepositories", a.auth(adminOnly, a.listRepositories)).Methods(get)
	v8.HandleFunc("/BackupRepositories/{repositoryId}", a.auth(adminOnly, getOne("repositoryId", "Backup repository", a.data.repositoryByID, renderRepository))).Methods(get)

	v8.HandleFunc("/Proxies", a.auth(adminOnly, a.listProxies)).Methods(get)
	v8.HandleFunc("/Proxies/{proxyId}", a.auth(adminOnly, getOne("proxyId", "Proxy", a.data.proxyByID, renderProxy))).Methods(get)

	v8.HandleFunc("/RestoreSessions", a.auth(adminOrTenant, a.listRestoreSessions)).Methods(get)
	v8.HandleFunc("/RestoreSessions/{restoreSessionId}", a.auth(adminOrTenant, a.getRestoreSession)).Methods(get)
	v8.HandleFunc("/RestoreSessions/{restoreSessionId}/Stop", a.auth(adminOrTenant, a.stopRestoreSession)).Methods(post) // 204

	v8.HandleFunc("/Organization", a.auth(tenantOnly, a.currentOrganization)).Methods(get)
	v8.HandleFunc("/Organization/Explore", a.auth(tenantOnly, a.exploreOrganization)).Methods(post) // 201
}

// auth wraps h with bearer authentication and the route's access rule. A token that
// is missing, malformed, foreign, expired or revoked gets errUnauthorized; a valid token
// of the wrong kind gets 403 ResourceAccessDenied (veeam.md §4.4 [I]).
func (a *api) auth(level access, h authedHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		now := a.clk.Now()
		sess, ok := a.sessions.access(bearerToken(r), now)
		if !ok {
			writeError(w, "", errUnauthorized)
			return
		}
		switch {
		case level == adminOnly && sess.kind != kindAdmin && !a.mut.IgnoreTenantScope:
			writeError(w, "", accessDenied("Access denied: tenant users can reach only /v8/Organization, /v8/Organization/Explore and their own restore sessions."))
			return
		case level == tenantOnly && sess.kind == kindAdmin:
			writeError(w, "", accessDenied("Access denied: this operation is for tenant users; log in with the organization's credentials or an assertion instead of an administrator account."))
			return
		}
		h(w, r, call{sess: sess, now: now})
	}
}

// bearerToken returns the token of an `Authorization: Bearer` header ("" if none).
func bearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "Bearer ") {
		return ""
	}
	return strings.TrimSpace(h[7:])
}

// bufPool recycles encoding buffers; responses are small, so a pooled buffer rarely
// grows.
var bufPool = sync.Pool{New: func() any { return bytes.NewBuffer(make([]byte, 0, 4096)) }}

// encode writes v as JSON into a pooled buffer, without HTML escaping, so hrefs keep a
// plain "&" and messages their "<" and ">", as .NET writes them. The caller returns the
// buffer with release.
func encode(v any) (*bytes.Buffer, error) {
	buf := bufPool.Get().(*bytes.Buffer)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		release(buf)
		return nil, err
	}
	buf.Truncate(buf.Len() - 1) // Encode's trailing newline
	return buf, nil
}

func release(buf *bytes.Buffer) {
	if buf.Cap() <= 64<<10 {
		buf.Reset()
		bufPool.Put(buf)
	}
}

// marshal is encode for callers that keep the bytes.
func marshal(v any) ([]byte, error) {
	buf, err := encode(v)
	if err != nil {
		return nil, err
	}
	defer release(buf)
	return bytes.Clone(buf.Bytes()), nil
}

// writeJSON writes a success body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	buf, err := encode(v)
	if err != nil {
		writeError(w, "", &apiError{Status: http.StatusInternalServerError, Message: "The response could not be encoded."})
		return
	}
	defer release(buf)
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// link is RESTLinkHAL.
type link struct {
	Href string `json:"href"`
}

func href(h string) *link { return &link{Href: h} }

// links is RESTLinkHALDictionary. A struct, not a map, so encoding needs no sorting or
// map allocation; the fields are in the byte order encoding/json sorts map keys in, so
// the output is what a map would give.
type links struct {
	BackupRepository *link `json:"backupRepository,omitempty"`
	First            *link `json:"first,omitempty"`
	Job              *link `json:"job,omitempty"`
	Jobs             *link `json:"jobs,omitempty"`
	JobSessions      *link `json:"jobsessions,omitempty"`
	Next             *link `json:"next,omitempty"`
	Organization     *link `json:"organization,omitempty"`
	Prev             *link `json:"prev,omitempty"`
	Proxy            *link `json:"proxy,omitempty"`
	Self             *link `json:"self,omitempty"`
	UsedRepositories *link `json:"usedRepositories,omitempty"`
}

// noActions is an empty _actions object (RESTAction map).
type noActions struct{}

// action is RESTAction.
type action struct {
	URI    string `json:"uri"`
	Method string `json:"method"`
}

// query holds the request's query parameters under lower-case names: ASP.NET binds
// them case-insensitively (a v8 PRTG script sends JobId=, veeam.md §6).
type query map[string]string

func newQuery(r *http.Request) query {
	if r.URL.RawQuery == "" {
		return nil // reads of a nil map are fine
	}
	raw := r.URL.Query()
	q := make(query, len(raw))
	for k, v := range raw {
		q[strings.ToLower(k)] = v[0]
	}
	return q
}

// guid reads an optional GUID parameter.
func (q query) guid(name string) (string, *apiError) {
	v := q[strings.ToLower(name)]
	if v == "" {
		return "", nil
	}
	id, ok := parseGUID(v)
	if !ok {
		return "", badParam("The value '%s' is not valid for %s: a GUID such as 6f1c2a9e-3b7d-4c55-9a0e-2d8b1f4e7c31 is expected.", v, name)
	}
	return id, nil
}

// boolean reads an optional boolean parameter.
func (q query) boolean(name string) (*bool, *apiError) {
	v := q[strings.ToLower(name)]
	if v == "" {
		return nil, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return nil, badParam("The value '%s' is not valid for %s: true or false is expected.", v, name)
	}
	return &b, nil
}

// instant reads an optional date-time parameter.
func (q query) instant(name string) (*time.Time, *apiError) {
	v := q[strings.ToLower(name)]
	if v == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return nil, badParam("The value '%s' is not valid for %s: an ISO 8601 date-time such as 2026-01-05T09:00:00Z is expected.", v, name)
	}
	return &t, nil
}

// oneOf reads an optional enumerated parameter.
func (q query) oneOf(name string, enum []string) (string, *apiError) {
	v := q[strings.ToLower(name)]
	if v == "" {
		return "", nil
	}
	for _, e := range enum {
		if strings.EqualFold(v, e) {
			return e, nil
		}
	}
	return "", badParam("The value '%s' is not valid for %s: one of %s is expected.", v, name, strings.Join(enum, ", "))
}

// Paging (veeam.md §4.1, DOC-PAGE): limit defaults to 30, at most 10000; offset to 0.
const (
	defaultLimit = 30
	maxLimit     = 10000
)

// pager is one page request with the filters its links must repeat.
type pager struct {
	noNext  bool // Mutations.NoNextLinks
	path    string
	filters []string // "name=value", already escaped, in a fixed order
	offset  int
	limit   int
}

// pager is newPager with the server's mutations applied.
func (a *api) pager(path string, q query) (*pager, *apiError) {
	p, e := newPager(path, q)
	if p != nil {
		p.noNext = a.mut.NoNextLinks
	}
	return p, e
}

func newPager(path string, q query) (*pager, *apiError) {
	p := &pager{path: path, limit: defaultLimit}
	if v, ok := q["limit"]; ok && v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			return nil, badParam("The value '%s' is not valid for limit: an integer from 1 to %d is expected.", v, maxLimit)
		}
		p.limit = n
	}
	if v, ok := q["offset"]; ok && v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, badParam("The value '%s' is not valid for offset: a non-negative integer is expected.", v)
		}
		p.offset = n
	}
	return p, nil
}

// keep repeats a filter in the page links.
func (p *pager) keep(name, value string) {
	if value != "" {
		p.filters = append(p.filters, name+"="+url.QueryEscape(value))
	}
}

func (p *pager) href(offset int) string {
	var b strings.Builder
	b.WriteString(p.path)
	b.WriteByte('?')
	for _, f := range p.filters {
		b.WriteString(f)
		b.WriteByte('&')
	}
	b.WriteString("offset=")
	b.WriteString(strconv.Itoa(offset))
	b.WriteString("&limit=")
	b.WriteString(strconv.Itoa(p.limit))
	return b.String()
}

// pageOf is Veeam's PageOf<T>: offset, limit, results and HAL _links with relative
// /v8/… hrefs; next only when more remain, first and prev only past the first page.
// There is no total count (veeam.md §4.1 [R]).
type pageOf[T any] struct {
	Offset  int   `json:"offset"`
	Limit   int   `json:"limit"`
	Results []T   `json:"results"`
	Links   links `json:"_links"`
}

func page[T, W any](p *pager, items []T, render func(T) W) pageOf[W] {
	start := min(p.offset, len(items))
	end := min(start+p.limit, len(items))
	out := pageOf[W]{Offset: p.offset, Limit: p.limit, Results: make([]W, 0, end-start), Links: links{Self: href(p.href(p.offset))}}
	for _, it := range items[start:end] {
		out.Results = append(out.Results, render(it))
	}
	if end < len(items) && !p.noNext {
		out.Links.Next = href(p.href(end))
	}
	if p.offset > 0 {
		out.Links.First = href(p.href(0))
		out.Links.Prev = href(p.href(max(p.offset-p.limit, 0)))
	}
	return out
}

// pathID reads a GUID path variable; a malformed one is 400 ParameterValidationFailure.
// getOne answers GET …/{param} of a collection: 400 ParameterValidationFailure for an id
// that is not a GUID, 404 ResourceNotFound for an unknown one, else the rendered item.
func getOne[T, W any](param, kind string, lookup func(string) (T, bool), render func(T) W) authedHandler {
	return func(w http.ResponseWriter, r *http.Request, _ call) {
		id, e := pathID(r, param)
		if e != nil {
			writeError(w, "", e)
			return
		}
		x, ok := lookup(id)
		if !ok {
			writeError(w, "", notFound(kind, id))
			return
		}
		writeJSON(w, http.StatusOK, render(x))
	}
}

func pathID(r *http.Request, name string) (string, *apiError) {
	v := mux.Vars(r)[name]
	id, ok := parseGUID(v)
	if !ok {
		return "", badParam("The value '%s' is not valid for %s: a GUID is expected.", v, name)
	}
	return id, nil
}

// --- anonymous ---

// health is GET /v8/Health (anonymous): RESTHealthReport. The entry names are [?]
// (veeam.md §4.2 says they cover NATS and the PostgreSQL configuration database).
func (a *api) health(w http.ResponseWriter, _ *http.Request) {
	type entry struct {
		Status string `json:"status"`
	}
	writeJSON(w, http.StatusOK, struct {
		Status  string           `json:"status"`
		Entries map[string]entry `json:"entries"`
	}{"Healthy", map[string]entry{"ConfigurationDatabase": {"Healthy"}, "NatsServer": {"Healthy"}}})
}

// restorePortalSettings is GET /v8/RestorePortalSettings (anonymous).
func (a *api) restorePortalSettings(w http.ResponseWriter, _ *http.Request) {
	rp := a.data.restorePortal()
	writeJSON(w, http.StatusOK, struct {
		ApplicationID    string `json:"applicationId"`
		MSALAuthorityURI string `json:"msalAuthorityUri"`
		RestorePortalURI string `json:"restorePortalUri"`
		IsEnabled        bool   `json:"isEnabled"`
	}{rp.ApplicationID, a.authority + "/organizations", rp.RestorePortalURI, a.settings.get().OperatorAuthentication})
}

// --- administrator routes ---

func (a *api) serviceInstance(w http.ResponseWriter, _ *http.Request, _ call) {
	writeJSON(w, http.StatusOK, a.data.serviceInstance())
}

// orgConnection is RESTOffice365ConnectionSettings as served (no secrets).
type orgConnection struct {
	UseApplicationOnlyAuth bool    `json:"useApplicationOnlyAuth"`
	OfficeOrganizationName string  `json:"officeOrganizationName"`
	Account                string  `json:"account"`
	GrantAdminAccess       bool    `json:"grantAdminAccess"`
	UseMfa                 bool    `json:"useMfa"`
	ApplicationID          *string `json:"applicationId"`
}

// orgWire is RestOrganizationComposed for an Office 365 organization.
type orgWire struct {
	ID                       string         `json:"id"`
	Name                     string         `json:"name"`
	OfficeName               string         `json:"officeName"`
	Type                     string         `json:"type"`
	Region                   string         `json:"region"`
	IsExchangeOnline         bool           `json:"isExchangeOnline"`
	IsSharePointOnline       bool           `json:"isSharePointOnline"`
	IsTeamsOnline            bool           `json:"isTeamsOnline"`
	IsTeamsChatsOnline       bool           `json:"isTeamsChatsOnline"`
	IsBackedUp               *bool          `json:"isBackedup,omitempty"`
	FirstBackupTime          *time.Time     `json:"firstBackuptime,omitempty"`
	LastBackupTime           *time.Time     `json:"lastBackuptime,omitempty"`
	MSID                     *string        `json:"msid"`
	BackedUpOrganizationID   *string        `json:"backedUpOrganizationId"`
	ExchangeOnlineSettings   *orgConnection `json:"exchangeOnlineSettings,omitempty"`
	SharePointOnlineSettings *orgConnection `json:"sharePointOnlineSettings,omitempty"`
	Links                    links          `json:"_links"`
	Actions                  noActions      `json:"_actions"`
}

func strOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// renderOrg serves an organization. extended adds isBackedup and the backup times,
// which SPEC8 says are left out unless extendedView=true.
func renderOrg(o Organization, extended bool) orgWire {
	self := "/v8/Organizations/" + o.ID
	w := orgWire{
		ID: o.ID, Name: o.Name, OfficeName: o.OfficeName, Type: o.Type, Region: o.Region,
		IsExchangeOnline: o.IsExchangeOnline, IsSharePointOnline: o.IsSharePointOnline,
		IsTeamsOnline: o.IsTeamsOnline, IsTeamsChatsOnline: o.IsTeamsChatsOnline,
		MSID: strOrNil(o.MSID), BackedUpOrganizationID: strOrNil(o.BackedUpOrganizationID),
		Links: links{Self: href(self), Jobs: href(self + "/Jobs"), UsedRepositories: href(self + "/usedRepositories")},
	}
	if extended {
		b := o.IsBackedUp
		w.IsBackedUp, w.FirstBackupTime, w.LastBackupTime = &b, o.FirstBackupTime, o.LastBackupTime
	}
	if o.Type == "Office365" || o.Type == "Hybrid" {
		conn := &orgConnection{UseApplicationOnlyAuth: o.ModernAppOnly, OfficeOrganizationName: o.OfficeName,
			Account: o.Account, GrantAdminAccess: !o.ModernAppOnly, UseMfa: o.ModernAppOnly, ApplicationID: strOrNil(o.ApplicationID)}
		if o.IsExchangeOnline {
			w.ExchangeOnlineSettings = conn
		}
		if o.IsSharePointOnline {
			w.SharePointOnlineSettings = conn
		}
	}
	return w
}

// listOrganizations is GET /v8/Organizations (extendedView, msid, backedUpOrganizationId,
// limit, offset).
func (a *api) listOrganizations(w http.ResponseWriter, r *http.Request, _ call) {
	q := newQuery(r)
	p, e := a.pager("/v8/Organizations", q)
	if e != nil {
		writeError(w, "", e)
		return
	}
	ext, e := q.boolean("extendedView")
	if e != nil {
		writeError(w, "", e)
		return
	}
	msid, e := q.guid("msid")
	if e != nil {
		writeError(w, "", e)
		return
	}
	backedUp := q["backeduporganizationid"]
	if ext != nil {
		p.keep("extendedView", strconv.FormatBool(*ext))
	}
	p.keep("msid", msid)
	p.keep("backedUpOrganizationId", backedUp)
	var keep func(*Organization) bool
	if msid != "" || backedUp != "" {
		keep = func(o *Organization) bool {
			return (msid == "" || o.MSID == msid) && (backedUp == "" || strings.EqualFold(o.BackedUpOrganizationID, backedUp))
		}
	}
	extended := ext != nil && *ext
	writeJSON(w, http.StatusOK, page(p, a.data.orgs(keep), func(o Organization) orgWire { return renderOrg(o, extended) }))
}

func (a *api) getOrganization(w http.ResponseWriter, r *http.Request, _ call) {
	id, e := pathID(r, "organizationId")
	if e != nil {
		writeError(w, "", e)
		return
	}
	ext, e := newQuery(r).boolean("extendedView")
	if e != nil {
		writeError(w, "", e)
		return
	}
	o, ok := a.data.orgByID(id)
	if !ok {
		writeError(w, "", notFound("Organization", id))
		return
	}
	writeJSON(w, http.StatusOK, renderOrg(o, ext != nil && *ext))
}

// jobWire is RESTJob.
type jobWire struct {
	Job
	Links links `json:"_links"`
}

func renderJob(j Job) jobWire {
	return jobWire{Job: j, Links: links{
		Self:             href("/v8/Jobs/" + j.ID),
		Organization:     href("/v8/Organizations/" + j.OrganizationID),
		BackupRepository: href("/v8/BackupRepositories/" + j.RepositoryID),
		JobSessions:      href("/v8/JobSessions?jobId=" + j.ID),
	}}
}

// listJobs is GET /v8/Jobs (organizationId, repositoryId, limit, offset).
func (a *api) listJobs(w http.ResponseWriter, r *http.Request, _ call) {
	q := newQuery(r)
	p, e := a.pager("/v8/Jobs", q)
	if e != nil {
		writeError(w, "", e)
		return
	}
	org, e := q.guid("organizationId")
	if e != nil {
		writeError(w, "", e)
		return
	}
	repo, e := q.guid("repositoryId")
	if e != nil {
		writeError(w, "", e)
		return
	}
	p.keep("organizationId", org)
	p.keep("repositoryId", repo)
	var keep func(*Job) bool
	if org != "" || repo != "" {
		keep = func(j *Job) bool {
			return (org == "" || j.OrganizationID == org) && (repo == "" || j.RepositoryID == repo)
		}
	}
	writeJSON(w, http.StatusOK, page(p, a.data.jobs(keep), renderJob))
}

// startJob is POST /v8/Jobs/{jobId}/start: 200 with the new RESTJobSession (SPEC8).
// The optional body is RESTStartJobOptions {"full": bool}. A disabled or running job is
// refused with OperationConflict [I].
func (a *api) startJob(w http.ResponseWriter, r *http.Request, c call) {
	id, e := pathID(r, "jobId")
	if e != nil {
		writeError(w, "", e)
		return
	}
	var opts struct {
		Full bool `json:"full"`
	}
	if e := decodeOptional(r, &opts); e != nil {
		writeError(w, "", e)
		return
	}
	var started JobSession
	e = a.data.jobAction(id, func(j *Job, sessions *[]JobSession) *apiError {
		if !j.IsEnabled {
			return conflict("Job '%s' is disabled; enable it before starting it.", j.Name)
		}
		if j.LastStatus == "Running" {
			return conflict("Job '%s' is already running.", j.Name)
		}
		cfg := "Incremental"
		if opts.Full {
			cfg = "Full"
		}
		now := c.now
		started = JobSession{ID: newGUID(), JobID: j.ID, RepositoryID: j.RepositoryID, CreationTime: now,
			JobType: "Backup", JobSessionConfigType: cfg, Status: "Running", ETag: 1,
			Statistics: JobStatistics{Bottleneck: "Detecting"}}
		*sessions = append(*sessions, started)
		j.LastRun, j.LastStatus = &now, "Running"
		j.ETag++
		return nil
	})
	if e != nil {
		writeError(w, "", e)
		return
	}
	writeJSON(w, http.StatusOK, renderJobSession(started))
}

// stopJob is POST /v8/Jobs/{jobId}/stop: 204; stopping an idle job changes nothing [I].
func (a *api) stopJob(w http.ResponseWriter, r *http.Request, c call) {
	a.jobUpdate(w, r, func(j *Job, sessions *[]JobSession) {
		if j.LastStatus != "Running" {
			return
		}
		now := c.now
		for i := range *sessions {
			s := &(*sessions)[i]
			if s.JobID == j.ID && s.Status == "Running" {
				s.Status, s.EndTime = "Stopped", &now
				s.ETag++
			}
		}
		j.LastStatus = "Stopped"
		j.ETag++
	})
}

func (a *api) enableJob(w http.ResponseWriter, r *http.Request, _ call) {
	a.jobUpdate(w, r, func(j *Job, _ *[]JobSession) { setEnabled(j, true) })
}

func (a *api) disableJob(w http.ResponseWriter, r *http.Request, _ call) {
	a.jobUpdate(w, r, func(j *Job, _ *[]JobSession) { setEnabled(j, false) })
}

func setEnabled(j *Job, on bool) {
	if j.IsEnabled != on {
		j.IsEnabled = on
		j.ETag++
	}
}

// jobUpdate runs a 204 job action.
func (a *api) jobUpdate(w http.ResponseWriter, r *http.Request, fn func(*Job, *[]JobSession)) {
	id, e := pathID(r, "jobId")
	if e != nil {
		writeError(w, "", e)
		return
	}
	if e := a.data.jobAction(id, func(j *Job, s *[]JobSession) *apiError { fn(j, s); return nil }); e != nil {
		writeError(w, "", e)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// decodeOptional decodes an optional JSON body; an empty body leaves v alone.
func decodeOptional(r *http.Request, v any) *apiError {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return badParam("The request body could not be read.")
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return badParam("The request body is not valid JSON for this operation: %v.", err)
	}
	return nil
}

// jobSessionWire is RESTJobSession.
type jobSessionWire struct {
	JobSession
	Links links `json:"_links"`
}

func renderJobSession(s JobSession) jobSessionWire {
	return jobSessionWire{JobSession: s, Links: links{Self: href("/v8/JobSessions/" + s.ID), Job: href("/v8/Jobs/" + s.JobID)}}
}

// listJobSessions is GET /v8/JobSessions (jobId, jobType, status, endTimeLowerBound,
// endTimeUpperBound, limit, offset), newest first.
func (a *api) listJobSessions(w http.ResponseWriter, r *http.Request, _ call) {
	q := newQuery(r)
	p, e := a.pager("/v8/JobSessions", q)
	if e != nil {
		writeError(w, "", e)
		return
	}
	jobID, e := q.guid("jobId")
	if e != nil {
		writeError(w, "", e)
		return
	}
	jobType, e := q.oneOf("jobType", enumJobType)
	if e != nil {
		writeError(w, "", e)
		return
	}
	status, e := q.oneOf("status", enumJobStatus)
	if e != nil {
		writeError(w, "", e)
		return
	}
	lower, e := q.instant("endTimeLowerBound")
	if e != nil {
		writeError(w, "", e)
		return
	}
	upper, e := q.instant("endTimeUpperBound")
	if e != nil {
		writeError(w, "", e)
		return
	}
	p.keep("jobId", jobID)
	p.keep("jobType", jobType)
	p.keep("status", status)
	p.keep("endTimeLowerBound", q["endtimelowerbound"])
	p.keep("endTimeUpperBound", q["endtimeupperbound"])
	keep := func(s *JobSession) bool {
		if (jobID != "" && s.JobID != jobID) || (jobType != "" && s.JobType != jobType) || (status != "" && s.Status != status) {
			return false
		}
		if lower != nil && (s.EndTime == nil || s.EndTime.Before(*lower)) {
			return false
		}
		return upper == nil || (s.EndTime != nil && !s.EndTime.After(*upper))
	}
	writeJSON(w, http.StatusOK, page(p, a.data.jobSessions(keep), renderJobSession))
}

// repositoryWire is RESTBackupRepository.
type repositoryWire struct {
	Repository
	Links links `json:"_links"`
}

func renderRepository(x Repository) repositoryWire {
	l := links{Self: href("/v8/BackupRepositories/" + x.ID)}
	if x.ProxyID != "" {
		l.Proxy = href("/v8/Proxies/" + x.ProxyID)
	}
	return repositoryWire{Repository: x, Links: l}
}

// listRepositories is GET /v8/BackupRepositories (proxyId, proxyPoolId, organizationId,
// longTerm, limit, offset). organizationId keeps the repositories the organization's jobs
// write to; the mock has no proxy pools, so proxyPoolId matches nothing.
func (a *api) listRepositories(w http.ResponseWriter, r *http.Request, _ call) {
	q := newQuery(r)
	p, e := a.pager("/v8/BackupRepositories", q)
	if e != nil {
		writeError(w, "", e)
		return
	}
	proxyID, e := q.guid("proxyId")
	if e != nil {
		writeError(w, "", e)
		return
	}
	poolID, e := q.guid("proxyPoolId")
	if e != nil {
		writeError(w, "", e)
		return
	}
	orgID, e := q.guid("organizationId")
	if e != nil {
		writeError(w, "", e)
		return
	}
	longTerm, e := q.boolean("longTerm")
	if e != nil {
		writeError(w, "", e)
		return
	}
	p.keep("proxyId", proxyID)
	p.keep("proxyPoolId", poolID)
	p.keep("organizationId", orgID)
	if longTerm != nil {
		p.keep("longTerm", strconv.FormatBool(*longTerm))
	}
	var used map[string]bool
	if orgID != "" {
		used = map[string]bool{}
		for _, j := range a.data.jobs(func(j *Job) bool { return j.OrganizationID == orgID }) {
			used[j.RepositoryID] = true
		}
	}
	keep := func(x *Repository) bool {
		return poolID == "" && (proxyID == "" || x.ProxyID == proxyID) && (used == nil || used[x.ID]) &&
			(longTerm == nil || x.IsLongTerm == *longTerm)
	}
	writeJSON(w, http.StatusOK, page(p, a.data.repositories(keep), renderRepository))
}

// proxyWire is RESTProxy.
type proxyWire struct {
	Proxy
	Links links `json:"_links"`
}

func renderProxy(x Proxy) proxyWire {
	return proxyWire{Proxy: x, Links: links{Self: href("/v8/Proxies/" + x.ID)}}
}

// listProxies is GET /v8/Proxies (limit, offset).
func (a *api) listProxies(w http.ResponseWriter, r *http.Request, _ call) {
	p, e := a.pager("/v8/Proxies", newQuery(r))
	if e != nil {
		writeError(w, "", e)
		return
	}
	writeJSON(w, http.StatusOK, page(p, a.data.proxies(), renderProxy))
}

// --- restore sessions: administrators see all, tenants their own ---

// restoreSessionWire is RESTRestoreSession.
type restoreSessionWire struct {
	ID           string     `json:"id"`
	Name         string     `json:"name"`
	Organization string     `json:"organization"`
	Type         string     `json:"type"`
	CreationTime time.Time  `json:"creationTime"`
	EndTime      *time.Time `json:"endTime"`
	State        string     `json:"state"`
	Result       string     `json:"result"`
	InitiatedBy  string     `json:"initiatedBy"`
	Details      string     `json:"details"`
	ClientHost   string     `json:"clientHost"`
	Reason       string     `json:"reason"`
	ETag         int64      `json:"eTag"`
	Links        links      `json:"_links"`
}

func (a *api) renderRestoreSession(s RestoreSession) restoreSessionWire {
	name := ""
	if o, ok := a.data.orgByID(s.OrganizationID); ok {
		name = o.Name
	}
	self := "/v8/RestoreSessions/" + s.ID
	return restoreSessionWire{ID: s.ID, Name: s.Name, Organization: name, Type: s.Type, CreationTime: s.CreationTime,
		EndTime: s.EndTime, State: s.State, Result: s.Result, InitiatedBy: s.InitiatedBy, Details: s.Details,
		ClientHost: s.ClientHost, Reason: s.Reason, ETag: s.ETag,
		Links: links{Self: href(self), Organization: href(self + "/organization")}}
}

// owns reports whether the caller may see a restore session: administrators see all;
// a tenant or operator sees the sessions its organization's tenants started.
func owns(c call, s *RestoreSession) bool {
	return c.sess.kind == kindAdmin || (s.Tenant && s.OrganizationID == c.sess.orgID)
}

// listRestoreSessions is GET /v8/RestoreSessions (startTimeFrom, startTimeTo,
// endTimeFrom, endTimeTo, orderBy CreationTime|EndTime, orderAsc, limit, offset).
// Default order: newest creation first [I].
func (a *api) listRestoreSessions(w http.ResponseWriter, r *http.Request, c call) {
	q := newQuery(r)
	p, e := a.pager("/v8/RestoreSessions", q)
	if e != nil {
		writeError(w, "", e)
		return
	}
	var bounds [4]*time.Time
	names := [4]string{"startTimeFrom", "startTimeTo", "endTimeFrom", "endTimeTo"}
	for i, n := range names {
		if bounds[i], e = q.instant(n); e != nil {
			writeError(w, "", e)
			return
		}
		p.keep(n, q[strings.ToLower(n)])
	}
	orderBy, e := q.oneOf("orderBy", []string{"CreationTime", "EndTime"})
	if e != nil {
		writeError(w, "", e)
		return
	}
	asc, e := q.boolean("orderAsc")
	if e != nil {
		writeError(w, "", e)
		return
	}
	p.keep("orderBy", orderBy)
	if asc != nil {
		p.keep("orderAsc", strconv.FormatBool(*asc))
	}
	within := func(t *time.Time, from, to *time.Time) bool {
		if from == nil && to == nil {
			return true
		}
		return t != nil && (from == nil || !t.Before(*from)) && (to == nil || !t.After(*to))
	}
	items := a.data.restoreSessions(func(s *RestoreSession) bool {
		return owns(c, s) && within(&s.CreationTime, bounds[0], bounds[1]) && within(s.EndTime, bounds[2], bounds[3])
	})
	key := func(s RestoreSession) time.Time { return s.CreationTime }
	if orderBy == "EndTime" {
		key = func(s RestoreSession) time.Time {
			if s.EndTime == nil {
				return time.Time{}
			}
			return *s.EndTime
		}
	}
	ascending := asc != nil && *asc
	slices.SortStableFunc(items, func(x, y RestoreSession) int {
		if ascending {
			return key(x).Compare(key(y))
		}
		return key(y).Compare(key(x))
	})
	writeJSON(w, http.StatusOK, page(p, items, a.renderRestoreSession))
}

// restoreSession finds a session the caller may act on: 404 if unknown, 403 if it is
// another tenant's or an administrator's.
func (a *api) restoreSession(r *http.Request, c call) (RestoreSession, *apiError) {
	id, e := pathID(r, "restoreSessionId")
	if e != nil {
		return RestoreSession{}, e
	}
	s, ok := a.data.restoreSessionByID(id)
	if !ok {
		return RestoreSession{}, notFound("Restore session", id)
	}
	if !owns(c, &s) {
		return RestoreSession{}, accessDenied("Access denied: restore session %s belongs to another user.", id)
	}
	return s, nil
}

func (a *api) getRestoreSession(w http.ResponseWriter, r *http.Request, c call) {
	s, e := a.restoreSession(r, c)
	if e != nil {
		writeError(w, "", e)
		return
	}
	writeJSON(w, http.StatusOK, a.renderRestoreSession(s))
}

// stopRestoreSession is POST /v8/RestoreSessions/{id}/Stop: 204.
func (a *api) stopRestoreSession(w http.ResponseWriter, r *http.Request, c call) {
	s, e := a.restoreSession(r, c)
	if e != nil {
		writeError(w, "", e)
		return
	}
	a.data.stopRestoreSession(s.ID, c.now)
	w.WriteHeader(http.StatusNoContent)
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

// currentOrganization is GET /v8/Organization: the tenant's organization, with the
// explore action it may take [I: the action's name].
func (a *api) currentOrganization(w http.ResponseWriter, _ *http.Request, c call) {
	o, ok := a.data.orgByID(c.sess.orgID)
	if !ok {
		writeError(w, "", notFound("Organization", c.sess.orgID))
		return
	}
	out := loggedInOrganization{ID: o.ID, Name: o.Name, Type: o.Type, IsBackedUp: o.IsBackedUp,
		FirstBackupTime: o.FirstBackupTime, LastBackupTime: o.LastBackupTime}
	out.Actions.Explore = action{URI: "/v8/Organization/Explore", Method: "Post"}
	writeJSON(w, http.StatusOK, out)
}

// exploreOrganization is POST /v8/Organization/Explore: 201 with a new working restore
// session of the tenant's organization. Body: RESTExploreOptions (type defaults to Vex).
func (a *api) exploreOrganization(w http.ResponseWriter, r *http.Request, c call) {
	var opts struct {
		DateTime        *time.Time `json:"dateTime"`
		Type            *string    `json:"type"`
		ShowDeleted     *bool      `json:"showDeleted"`
		ShowAllVersions *bool      `json:"showAllVersions"`
	}
	if e := decodeOptional(r, &opts); e != nil {
		writeError(w, "", e)
		return
	}
	typ := "Vex"
	if opts.Type != nil {
		if !inEnum(*opts.Type, enumRestoreType) {
			writeError(w, "", badParam("The value '%s' is not valid for type: one of %s is expected.", *opts.Type, strings.Join(enumRestoreType, ", ")))
			return
		}
		typ = *opts.Type
	}
	o, ok := a.data.orgByID(c.sess.orgID)
	if !ok {
		writeError(w, "", notFound("Organization", c.sess.orgID))
		return
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	s := RestoreSession{ID: newGUID(), Name: "Restore session for " + o.Name, OrganizationID: o.ID, Tenant: true,
		Type: typ, CreationTime: c.now, State: "Working", Result: "Success", InitiatedBy: c.sess.user,
		ClientHost: host, ETag: 1}
	a.data.addRestoreSession(s)
	writeJSON(w, http.StatusCreated, a.renderRestoreSession(s))
}
