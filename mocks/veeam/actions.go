package veeam

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/vbharness/vbharness/mocks/veeam/spec"
)

// The actions of the document with their effect: job and copy job runs, repository
// synchronisation, organization sync, proxy rescan and maintenance, license install and
// update, and reports. Long work runs on the clock through startSession (clocked.go).

// --- jobs and copy jobs: one set of handlers for both ---

// jobPath is the path of the job or copy job the request's path names (the last item it
// names), and whether it is a copy job.
func jobPath(rq *request) (string, bool) {
	a := rq.route.ancestors[len(rq.route.ancestors)-1]
	return fillPath(a.c.item, rq.values[:a.vars]), a.c.list == "/v8/CopyJobs"
}

// jobSessionKind is how a RESTJobSession shows its run.
var jobSessionKind = &sessionKind{
	logs: true,
	progress: func(o *object, percent int) {
		o.setValue("progress", percent)
	},
	finish: func(o *object, result string, end time.Time) {
		o.setValue("status", result)
		o.setValue("endTime", end)
		o.setValue("progress", 100)
		o.setValue("details", "Processed 120 objects")
		o.setValue("statistics", JobStatistics{ProcessingRateBytesPS: 5242880, ProcessingRateItemsPS: 14,
			ReadRateBytesPS: 6291456, WriteRateBytesPS: 4194304, TransferredDataBytes: 734003200,
			ProcessedObjects: 120, Bottleneck: "Source"})
	},
	stop: func(o *object, end time.Time) {
		o.setValue("status", "Stopped")
		o.setValue("endTime", end)
	},
}

// startJob is POST /v8/Jobs/{jobId}/start and POST /v8/CopyJobs/{id}/start: 200 with
// the new RESTJobSession, Running (SPEC8), which ends after the configured duration
// with the configured result and sets the job's lastStatus (and lastBackup, unless it
// failed). The optional body of a backup job is RESTStartJobOptions {"full": bool}. A
// disabled or running job is refused with OperationConflict [I].
func (s *Server) startJob(rq *request) (int, any, *apiError) {
	var opts struct {
		Full bool `json:"full"`
	}
	if len(bytes.TrimSpace(rq.body)) > 0 {
		_ = json.Unmarshal(rq.body, &opts) // validated against the document already
	}
	path, isCopy := jobPath(rq)
	it, e := s.runJob(path, isCopy, opts.Full, rq.now)
	if e != nil {
		return 0, nil, e
	}
	if it == nil {
		return 0, nil, notFound("Job", rq.values[len(rq.values)-1])
	}
	return http.StatusOK, jobSessions().renderOne(rq, it), nil
}

// runJob starts the job or copy job at path, as start does, and returns its new
// session (nil if the job is not there).
func (s *Server) runJob(path string, isCopy, full bool, now time.Time) (*item, *apiError) {
	it, steps, e := s.beginJob(path, isCopy, full, now)
	if e == nil && it != nil {
		s.timeline.schedule(steps...)
	}
	return it, e
}

// beginJob starts a run of the job or copy job at path at now: the job shows Running
// and its lastRun, a RESTJobSession is stored Running, and the run's steps are returned
// for the caller to schedule (runJob), or to add from a step (a scheduled start,
// backup.go). A missing job answers a nil item; a disabled or running one
// OperationConflict [I].
func (s *Server) beginJob(path string, isCopy, full bool, now time.Time) (*item, []step, *apiError) {
	var job object
	_, e := s.world.update(path, func(cur *item) (*item, *apiError) {
		name := cur.obj.str("name")
		if string(cur.obj.get("isEnabled")) != "true" {
			return nil, conflict("Job '%s' is disabled; enable it before starting it.", name)
		}
		if cur.obj.str("lastStatus") == "Running" {
			return nil, conflict("Job '%s' is already running.", name)
		}
		next := cur.with(func(o *object) {
			o.setValue("lastRun", now)
			o.setValue("lastStatus", "Running")
			bumpETag(o)
		})
		job = next.obj
		return next, nil
	})
	if e != nil || job == nil {
		return nil, nil, e
	}
	jobType, cfg := "Backup", "Incremental"
	if isCopy {
		jobType = "Copy"
	}
	if full {
		cfg = "Full"
	}
	js := JobSession{ID: newGUID(), JobID: job.str("id"), RepositoryID: job.str("repositoryId"), CreationTime: now,
		JobType: jobType, JobSessionConfigType: cfg, Status: "Running", ETag: 1,
		Statistics: JobStatistics{Bottleneck: "Detecting"}}
	it := s.storeTyped("/v8/JobSessions/"+js.ID, js.ID, js, nil)
	w := s.jobWork(it.path, path, job.str("name"))
	steps := s.sessionSteps(w, now)
	if msg := s.appOnlyAccess(it.path, job, now); msg != "" { // apponly.go
		steps = s.failedRun(w, now)
	}
	return it, steps, nil
}

// runNow starts a job created with "runNow": true (RESTCreateBackupJob: "Defines
// whether the job will run right after it is created"), as start does; a job created
// disabled is not started [A]. It returns the job as it is then.
func runNow(s *Server, rq *request, it *item) *item {
	given, _ := parseObject(bytes.TrimSpace(rq.body))
	if given.text("runNow") != "true" || it.obj.text("isEnabled") != "true" {
		return it
	}
	if _, e := s.runJob(it.path, false, false, rq.now); e != nil {
		return it
	}
	if cur, ok := s.world.get(it.path); ok {
		return cur
	}
	return it
}

// jobWork is a job session's run: when it ends, the job shows its result; a run that
// backed something up (Success or Warning) moves the job's lastBackup, adds a restore
// point and takes its transferred data from the repository's free space (backup.go).
func (s *Server) jobWork(session, job, name string) work {
	return work{name: "job", path: session, kind: jobSessionKind, title: "Job '" + name + "'", target: job,
		done: func(s *Server, result string, end time.Time) {
			s.change(job, func(o *object) {
				o.setValue("lastStatus", result)
				if result != "Failed" && result != "Stopped" {
					o.setValue("lastBackup", end)
				}
			})
			if (result == "Success" || result == "Warning") && !s.mut.NoRestorePoints {
				s.backedUp(session, job, end)
				if !isCopyJob(job) {
					s.copyImmediately(job, end)
				}
			}
		}}
}

// stopJob is POST /v8/Jobs/{jobId}/stop and POST /v8/CopyJobs/{id}/stop: 204; the
// job's running sessions stop (status Stopped, endTime now, a Stop log entry) and the
// job shows Stopped. Stopping an idle job changes nothing [I].
func (s *Server) stopJob(rq *request) (int, any, *apiError) {
	path, _ := jobPath(rq)
	it, ok := s.world.get(path)
	if !ok { // deleted since the path was checked
		return 0, nil, notFound("Job", rq.values[len(rq.values)-1])
	}
	id, name := it.obj.str("id"), it.obj.str("name")
	stopped := false
	for _, js := range s.world.list("/v8/JobSessions") {
		if strings.EqualFold(js.obj.str("jobId"), id) && js.obj.str("status") == "Running" {
			stopped = s.stopSession(s.jobWork(js.path, path, name), rq.now) || stopped
		}
	}
	if !stopped && it.obj.str("lastStatus") == "Running" { // a run the fixtures left running
		s.change(path, func(o *object) { o.setValue("lastStatus", "Stopped") })
	}
	return http.StatusNoContent, nil, nil
}

func (s *Server) enableJob(rq *request) (int, any, *apiError)  { return s.setJobEnabled(rq, true) }
func (s *Server) disableJob(rq *request) (int, any, *apiError) { return s.setJobEnabled(rq, false) }

// setJobEnabled is POST …/enable and …/disable on jobs and copy jobs: 204; isEnabled
// changes (and eTag with it) only if it differs.
func (s *Server) setJobEnabled(rq *request, on bool) (int, any, *apiError) {
	path, _ := jobPath(rq)
	want := fmt.Sprint(on)
	if it, ok := s.world.get(path); ok && string(it.obj.get("isEnabled")) != want {
		s.change(path, func(o *object) { o.setValue("isEnabled", on) })
		if on { // its schedule goes on
			s.scheduleJob(path, rq.now, true)
		}
	}
	return http.StatusNoContent, nil, nil
}

// --- repository synchronisation ---

// repositorySyncKind is how a RESTRepositorySynchronizeSession shows its run: state
// Synchronizing, then None (done; a warning in error) or Failed [I: the document's
// states are None, Synchronizing and Failed].
var repositorySyncKind = &sessionKind{
	progress: func(o *object, percent int) { o.setValue("progressPercent", percent) },
	finish: func(o *object, result string, _ time.Time) {
		o.setValue("progressPercent", 100)
		o.setValue("state", map[bool]string{true: "Failed", false: "None"}[result == "Failed"])
		if msg := syncError("backup repository", result); msg != "" {
			o.setValue("error", msg)
		}
	},
	stop: func(o *object, _ time.Time) {
		o.setValue("state", "None")
		o.setValue("error", "The synchronization was stopped.")
	},
}

// syncRepository is POST /v8/BackupRepositories/{repositoryId}/Sync: 200 with a new
// RESTRepositorySynchronizeSession, Synchronizing, which ends after the configured
// duration; a repository synchronized without failure is no longer out of sync. A
// repository already synchronizing is refused with OperationConflict [I].
func (s *Server) syncRepository(rq *request) (int, any, *apiError) {
	repo := strings.ToLower(rq.param("repositoryId"))
	for _, it := range s.world.list("/v8/RepositorySynchronizeSessions") {
		if it.obj.str("repositoryId") == repo && it.obj.str("state") == "Synchronizing" {
			return 0, nil, conflict("Backup repository %s is being synchronized already (session %s).", repo, it.id)
		}
	}
	id := newGUID()
	var o object
	o.setValue("id", id)
	o.setValue("repositoryId", repo)
	o.setValue("state", "Synchronizing")
	o.setValue("progressPercent", 0)
	it, err := newItem("/v8/RepositorySynchronizeSessions/"+id, id, o.bytes(), nil)
	if err != nil {
		return 0, nil, &apiError{Status: http.StatusInternalServerError, Message: "The session could not be stored."}
	}
	s.world.put(it)
	s.startSession(repositoryWork(it.path, "/v8/BackupRepositories/"+repo), rq.now)
	return http.StatusOK, collectionOf("/v8/RepositorySynchronizeSessions").renderOne(rq, it), nil
}

func repositoryWork(session, repo string) work {
	return work{name: "repository", path: session, kind: repositorySyncKind, title: "Synchronization", target: repo,
		done: func(s *Server, result string, _ time.Time) {
			if result == "Success" || result == "Warning" {
				s.change(repo, func(o *object) { o.setValue("isOutOfSync", false) })
			}
		}}
}

// stopRepositorySync is POST /v8/RepositorySynchronizeSessions/{sessionId}/StopSynchronize:
// 204; a running synchronisation stops, a finished one is left as it is [I].
func (s *Server) stopRepositorySync(rq *request) (int, any, *apiError) {
	path := "/v8/RepositorySynchronizeSessions/" + strings.ToLower(rq.param("sessionId"))
	it, ok := s.world.get(path)
	if !ok {
		return 0, nil, notFound("Repository synchronize session", rq.param("sessionId"))
	}
	s.stopSession(repositoryWork(path, "/v8/BackupRepositories/"+it.obj.str("repositoryId")), rq.now)
	return http.StatusNoContent, nil, nil
}

// --- organization sync ---

// orgSyncKind is how RESTOrganizationSyncState shows a sync: currentSyncState Running,
// then lastSyncState with the result (Success, or Error for a failure; a warning is a
// success with its error text [I]) and no current sync.
var orgSyncKind = &sessionKind{
	progress: func(*object, int) {}, // the state has no progress figure
	finish: func(o *object, result string, end time.Time) {
		cur, _ := parseObject(o.get("currentSyncState"))
		last := lastSync(cur, end)
		if result == "Failed" {
			last.setValue("result", "Error")
		}
		if msg := syncError("organization", result); msg != "" {
			last.setValue("error", msg)
		}
		o.set("lastSyncState", last.bytes())
		o.del("currentSyncState")
	},
	stop: func(o *object, end time.Time) {
		cur, _ := parseObject(o.get("currentSyncState"))
		last := lastSync(cur, end)
		last.setValue("result", "Error")
		last.setValue("error", "The synchronization was stopped.")
		o.set("lastSyncState", last.bytes())
		o.del("currentSyncState")
	},
}

// syncError is the error text a synchronisation of what leaves with a result: none
// for a success.
func syncError(what, result string) string {
	switch result {
	case "Failed":
		return "The " + what + " could not be synchronized."
	case "Warning":
		return "The " + what + " was synchronized with warnings."
	}
	return ""
}

// lastSync is RESTOrganizationLastSyncState for the current sync cur, ended at end.
func lastSync(cur object, end time.Time) object {
	var last object
	last.set("type", cur.get("type"))
	last.setValue("result", "Success")
	last.set("startTime", cur.get("startTime"))
	last.setValue("endTime", end)
	last.set("error", json.RawMessage("null"))
	return last
}

// syncStatePath is where an organization's RESTOrganizationSyncState is kept.
func syncStatePath(org string) string {
	return "/v8/Organizations/" + strings.ToLower(org) + "/SyncState"
}

// syncState returns an organization's sync state: what its syncs left, or an idle
// state with no sync yet.
func (s *Server) syncState(org string) []byte {
	if b, ok := s.world.singleton(syncStatePath(org)); ok {
		return b
	}
	var o object
	o.setValue("organizationId", strings.ToLower(org))
	o.set("lastSyncState", json.RawMessage("null"))
	return o.bytes()
}

// getSyncState is GET /v8/Organizations/{organizationId}/SyncState.
func (s *Server) getSyncState(rq *request) (int, any, *apiError) {
	return http.StatusOK, rawJSON(s.syncState(rq.param("organizationId"))), nil
}

// getSyncStates is GET /v8/Organizations/SyncState: every organization's.
func (s *Server) getSyncStates(*request) (int, any, *apiError) {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, it := range s.world.list("/v8/Organizations") {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(s.syncState(it.id))
	}
	b.WriteByte(']')
	return http.StatusOK, rawJSON(b.Bytes()), nil
}

// syncOrganization is POST /v8/Organizations/{organizationId}/Sync (body
// RESTOrganizationSyncOptions, type Incremental by default): 204; the organization's
// sync state shows the sync Running until it ends after the configured duration. An
// organization already syncing is refused with OperationConflict [I].
func (s *Server) syncOrganization(rq *request) (int, any, *apiError) {
	var opts struct {
		Type string `json:"type"`
	}
	if len(bytes.TrimSpace(rq.body)) > 0 {
		_ = json.Unmarshal(rq.body, &opts)
	}
	if opts.Type == "" {
		opts.Type = "Incremental"
	}
	org := rq.param("organizationId")
	path := syncStatePath(org)
	if s.timeline.pending(path) {
		return 0, nil, conflict("Organization %s is being synchronized already.", strings.ToLower(org))
	}
	o, _ := parseObject(s.syncState(org))
	var cur object
	cur.setValue("type", opts.Type)
	cur.set("scheduledTime", json.RawMessage("null"))
	cur.setValue("startTime", rq.now)
	cur.setValue("status", "Running")
	o.set("currentSyncState", cur.bytes())
	s.world.setSingleton(path, o.bytes())
	s.startSession(orgSyncWork(path), rq.now)
	return http.StatusNoContent, nil, nil
}

// orgSyncWork is an organization sync's run, shown by its sync state at path.
func orgSyncWork(path string) work {
	return work{name: "orgSync", path: path, kind: orgSyncKind, title: "Organization sync"}
}

// --- proxies ---

// rescanProxy is POST /v8/Proxies/{proxyId}/Rescan: 204; the rescan reaches the proxy,
// which is then Online and reports the server's version [I].
func (s *Server) rescanProxy(rq *request) (int, any, *apiError) {
	s.rescan(rq.param("proxyId"))
	return http.StatusNoContent, nil, nil
}

// rescanProxies is POST /v8/Proxies/Rescan (RESTRescanOptions): the proxies listed, or
// every proxy when the body lists none. An id that names no proxy is 404.
func (s *Server) rescanProxies(rq *request) (int, any, *apiError) {
	var opts struct {
		Proxies []struct {
			ID string `json:"id"`
		} `json:"proxies"`
	}
	if len(bytes.TrimSpace(rq.body)) > 0 {
		_ = json.Unmarshal(rq.body, &opts)
	}
	var ids []string
	for _, p := range opts.Proxies {
		if _, ok := s.world.get("/v8/Proxies/" + p.ID); !ok {
			return 0, nil, notFound("Proxy", p.ID)
		}
		ids = append(ids, p.ID)
	}
	if len(opts.Proxies) == 0 {
		for _, it := range s.world.list("/v8/Proxies") {
			ids = append(ids, it.id)
		}
	}
	for _, id := range ids {
		s.rescan(id)
	}
	return http.StatusNoContent, nil, nil
}

func (s *Server) rescan(id string) {
	var version string
	if b, ok := s.world.singleton("/v8/ServiceInstance"); ok {
		var si ServiceInstance
		_ = json.Unmarshal(b, &si)
		version = si.Version
	}
	s.change("/v8/Proxies/"+strings.ToLower(id), func(o *object) {
		o.setValue("status", "Online")
		if version != "" {
			o.setValue("version", version)
		}
	})
}

// enableMaintenance is POST /v8/Proxies/{proxyId}/maintenance/enable: 204; the proxy's
// maintenanceModeState is Enabling, and Enabled after the configured duration (the
// proxy finishes its running work first [I]).
func (s *Server) enableMaintenance(rq *request) (int, any, *apiError) {
	path := "/v8/Proxies/" + strings.ToLower(rq.param("proxyId"))
	it, ok := s.world.get(path)
	if !ok {
		return 0, nil, notFound("Proxy", rq.param("proxyId"))
	}
	if it.obj.str("maintenanceModeState") != "Disabled" {
		return http.StatusNoContent, nil, nil // enabling or enabled already
	}
	s.change(path, func(o *object) { o.setValue("maintenanceModeState", "Enabling") })
	d := time.Duration(s.settings.get().SessionDuration) * time.Second
	s.timeline.schedule(s.planned(stepPlan{Do: "maintenance", Path: path}, rq.now.Add(d)))
	return http.StatusNoContent, nil, nil
}

// disableMaintenance is POST /v8/Proxies/{proxyId}/maintenance/disable: 204; the
// proxy's maintenanceModeState is Disabled at once, even while it was still enabling.
func (s *Server) disableMaintenance(rq *request) (int, any, *apiError) {
	path := "/v8/Proxies/" + strings.ToLower(rq.param("proxyId"))
	s.timeline.cancel(path)
	if it, ok := s.world.get(path); ok && it.obj.str("maintenanceModeState") != "Disabled" {
		s.change(path, func(o *object) { o.setValue("maintenanceModeState", "Disabled") })
	}
	return http.StatusNoContent, nil, nil
}

// --- license ---

// licensePath is where the installed RESTLicense is kept.
const licensePath = "/v8/License"

// license returns the installed license, with usedNumber and newNumber counted from
// the licensed users, so /v8/License, /v8/LicensedUsers and the organizations'
// licensing information always agree.
func (s *Server) license() object {
	b, _ := s.world.singleton(licensePath)
	o, _ := parseObject(b)
	used, fresh := s.licensedUsers("")
	o.setValue("usedNumber", used)
	o.setValue("newNumber", fresh)
	return o
}

// getLicense is GET /v8/License.
func (s *Server) getLicense(*request) (int, any, *apiError) {
	return http.StatusOK, rawJSON(s.license().bytes()), nil
}

// installLicense is POST /v8/License/Install (RESTInstallLicenseOptions): 200 with the
// new RESTLicense. licenseFile is the file's content in Base64 (anything else is 400).
// A real license file is signed XML the mock cannot check; the mock reads a JSON object
// of RESTLicense fields from it where there is one [I: the mock's convention, so a test
// installs the license it needs], and otherwise installs a valid one-year subscription
// whose id is derived from the file.
func (s *Server) installLicense(rq *request) (int, any, *apiError) {
	var opts struct {
		LicenseFile string `json:"licenseFile"`
	}
	_ = json.Unmarshal(rq.body, &opts)
	file, err := base64.StdEncoding.DecodeString(opts.LicenseFile)
	if err != nil || len(file) == 0 {
		return 0, nil, badParam("The request body is not valid at /licenseFile: the content of a license file in Base64 is expected.")
	}
	b, _ := s.world.singleton(licensePath)
	cur, _ := parseObject(b)
	cur.setValue("licenseID", spec.UUID("license/"+string(file)))
	cur.setValue("status", "Valid")
	cur.setValue("type", "Subscription")
	cur.setValue("licenseExpires", rq.now.AddDate(1, 0, 0))
	cur.setValue("gracePeriodExpires", rq.now.AddDate(1, 1, 0))
	if given, err := parseObject(bytes.TrimSpace(file)); err == nil {
		merge(&cur, given, rq.route.op.Response)
	}
	s.world.setSingleton(licensePath, cur.bytes())
	return http.StatusOK, rawJSON(s.license().bytes()), nil
}

// updateLicense is POST /v8/License/Update: 200 with the RESTLicense that Veeam's
// license server would send back: valid for a year more [I].
func (s *Server) updateLicense(rq *request) (int, any, *apiError) {
	s.change(licensePath, func(o *object) {
		from := rq.now
		if t := parseTime(o.str("licenseExpires")); t != nil && t.After(from) {
			from = *t
		}
		o.setValue("status", "Valid")
		o.setValue("licenseExpires", from.AddDate(1, 0, 0))
		o.setValue("gracePeriodExpires", from.AddDate(1, 1, 0))
	})
	return http.StatusOK, rawJSON(s.license().bytes()), nil
}

// --- reports ---

// reportDef is what one report lists: the items of a list of the world and the columns
// (properties) shown of each.
type reportDef struct {
	title string
	list  string
	cols  []string
}

// reports are the Reports_Generate… operations' contents [I: the columns are the
// mock's; a real report is richer].
var reports = map[string]reportDef{
	"Reports_GenerateLicenseOverviewAction":      {"License overview", "/v8/LicensedUsers", []string{"organizationName", "name", "licenseState", "lastBackupDate"}},
	"Reports_GenerateStorageConsumptionAction":   {"Storage consumption", "/v8/BackupRepositories", []string{"name", "capacityBytes", "freeSpaceBytes"}},
	"Reports_GenerateMailboxProtectionAction":    {"Mailbox protection", "/v8/ProtectedUsers", []string{"organizationId", "displayName", "accountType"}},
	"Reports_GenerateUserProtectionAction":       {"User protection", "/v8/ProtectedUsers", []string{"organizationId", "displayName", "accountType"}},
	"Reports_GenerateOneDriveProtectionAction":   {"OneDrive protection", "/v8/ProtectedUsers", []string{"organizationId", "displayName", "accountType"}},
	"Reports_GenerateSharepointProtectionAction": {"SharePoint protection", "/v8/ProtectedSites", []string{"organizationId", "displayName", "url"}},
	"Reports_GenerateTeamsProtectionAction":      {"Teams protection", "/v8/ProtectedTeams", []string{"organizationId", "displayName"}},
}

// generateReport is POST /v8/Reports/Generate…: 200 with the report file, generated
// when asked (the document answers the file itself, so there is nothing to poll): CSV,
// or a one-page PDF with format PDF. It lists the world's items as the report's
// columns, limited to the body's organizationId where the report takes one; the
// default format is CSV [I].
func (s *Server) generateReport(rq *request) (int, any, *apiError) {
	def := reports[rq.route.op.ID]
	var opts struct {
		Format         string `json:"format"`
		OrganizationID string `json:"organizationId"`
	}
	if len(bytes.TrimSpace(rq.body)) > 0 {
		_ = json.Unmarshal(rq.body, &opts)
	}
	rows := [][]string{def.cols}
	for _, it := range s.world.list(def.list) {
		if opts.OrganizationID != "" && !strings.EqualFold(it.obj.str("organizationId"), opts.OrganizationID) {
			continue
		}
		row := make([]string, len(def.cols))
		for i, c := range def.cols {
			row[i] = it.obj.text(c)
		}
		rows = append(rows, row)
	}
	var csv strings.Builder
	for _, r := range rows {
		for i, f := range r {
			if i > 0 {
				csv.WriteByte(',')
			}
			if strings.ContainsAny(f, ",\"\n") {
				f = `"` + strings.ReplaceAll(f, `"`, `""`) + `"`
			}
			csv.WriteString(f)
		}
		csv.WriteString("\r\n")
	}
	if opts.Format == "PDF" {
		title := def.title + " report, generated " + rq.now.Format(time.RFC3339)
		return http.StatusOK, binary{media: rq.route.op.Media, data: pdf(title, strings.Split(strings.TrimSpace(csv.String()), "\r\n"))}, nil
	}
	return http.StatusOK, binary{media: rq.route.op.Media, data: []byte(csv.String())}, nil
}

// pdf writes a one-page PDF 1.4 document showing a title and lines of text in
// Helvetica, with a correct cross-reference table, so a PDF reader opens it.
func pdf(title string, lines []string) []byte {
	esc := strings.NewReplacer(`\`, `\\`, `(`, `\(`, `)`, `\)`)
	var content strings.Builder
	content.WriteString("BT /F1 10 Tf 40 800 Td 12 TL\n")
	for _, l := range append([]string{title, ""}, lines...) {
		content.WriteString("(" + esc.Replace(l) + ") Tj T*\n")
	}
	content.WriteString("ET")
	objects := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", content.Len(), content.String()),
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objects))
	for i, o := range objects {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objects)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objects)+1, xref)
	return b.Bytes()
}

// --- answers counted from the world ---

// licensedUsers counts the licensed users of an organization (of all, for ""), and
// those of them whose license is new: the one count /v8/License, the organizations'
// licensing information and the license statistics share.
func (s *Server) licensedUsers(org string) (used, fresh int) {
	for _, it := range s.world.list("/v8/LicensedUsers") {
		if org == "" || it.obj.str("organizationId") == org {
			used++
			if it.obj.str("licenseState") == "New" {
				fresh++
			}
		}
	}
	return used, fresh
}

// licensingInformation is GET /v8/Organizations/{organizationId}/LicensingInformation:
// the organization's licensed users, counted from /v8/LicensedUsers.
func (s *Server) licensingInformation(rq *request) (int, any, *apiError) {
	org := strings.ToLower(rq.param("organizationId"))
	var info struct {
		LicensedUsers int `json:"licensedUsers"`
		NewUsers      int `json:"newUsers"`
	}
	info.LicensedUsers, info.NewUsers = s.licensedUsers(org)
	return http.StatusOK, info, nil
}

// microsoft365Platform is the licensing platform's id [?: the document types it as a
// GUID and gives no value].
var microsoft365Platform = spec.UUID("vbharness/veeam/platform/Microsoft365")

// licenseUsage is GET /v8/licensing/statistic/usage (platformId, organizationId,
// backedUpOrganizationId): one platform, Microsoft 365, with each organization's
// licensed users, as /v8/LicensedUsers counts them [I: the platform's id and type].
func (s *Server) licenseUsage(rq *request) (int, any, *apiError) {
	type orgUsage struct {
		OrganizationID         string  `json:"organizationId"`
		BackedUpOrganizationID string  `json:"backedUpOrganizationId"`
		OrganizationName       string  `json:"organizationName"`
		UsedObjectsCount       int     `json:"usedObjectsCount"`
		UsedPoints             float64 `json:"usedPoints"`
		NewObjectsCount        int     `json:"newObjectsCount"`
		NewPoints              float64 `json:"newPoints"`
	}
	type platform struct {
		PlatformID    string     `json:"platformId"`
		TypeID        int        `json:"typeId"`
		Organizations []orgUsage `json:"organizations"`
	}
	p := platform{PlatformID: microsoft365Platform, TypeID: 1, Organizations: []orgUsage{}}
	if v := rq.query.Get("platformId"); v != "" && !strings.EqualFold(v, p.PlatformID) {
		return http.StatusOK, struct {
			PlatformTypes []platform `json:"platformTypes"`
		}{[]platform{}}, nil
	}
	for _, o := range s.organizations() {
		if v := rq.query.Get("organizationId"); v != "" && !strings.EqualFold(v, o.ID) {
			continue
		}
		if v := rq.query.Get("backedUpOrganizationId"); v != "" && !strings.EqualFold(v, o.BackedUpOrganizationID) {
			continue
		}
		u := orgUsage{OrganizationID: o.ID, BackedUpOrganizationID: o.BackedUpOrganizationID, OrganizationName: o.Name}
		u.UsedObjectsCount, u.NewObjectsCount = s.licensedUsers(o.ID)
		u.UsedPoints, u.NewPoints = float64(u.UsedObjectsCount), float64(u.NewObjectsCount)
		p.Organizations = append(p.Organizations, u)
	}
	return http.StatusOK, struct {
		PlatformTypes []platform `json:"platformTypes"`
	}{[]platform{p}}, nil
}

// usedRepositories is GET /v8/Organizations/{organizationId}/usedRepositories: a page
// of RESTOrganizationStorageSpaceUsage, one per repository the organization's jobs
// write to, sharing the repository's used space among the organizations that use it by
// their protected objects [I].
func (s *Server) usedRepositories(rq *request) (int, any, *apiError) {
	org := strings.ToLower(rq.param("organizationId"))
	protected := map[string]int{} // organization → protected users, groups, sites and teams
	for _, l := range []string{"/v8/ProtectedUsers", "/v8/ProtectedGroups", "/v8/ProtectedSites", "/v8/ProtectedTeams"} {
		for _, it := range s.world.list(l) {
			protected[it.obj.str("organizationId")]++
		}
	}
	users := map[string]map[string]bool{} // repository → organizations
	var repos []*item
	for _, j := range s.world.list("/v8/Jobs") {
		r, o := j.obj.str("repositoryId"), j.obj.str("organizationId")
		if users[r] == nil {
			users[r] = map[string]bool{}
		}
		users[r][o] = true
	}
	for _, r := range s.world.list("/v8/BackupRepositories") {
		if users[r.id][org] {
			repos = append(repos, r)
		}
	}
	return s.pageOf(rq, len(repos), func(b *bytes.Buffer, i int) {
		r := repos[i]
		var capacity, free int64
		_ = json.Unmarshal(r.obj.get("capacityBytes"), &capacity)
		_ = json.Unmarshal(r.obj.get("freeSpaceBytes"), &free)
		all := 0
		for o := range users[r.id] {
			all += protected[o]
		}
		used := int64(0)
		if all > 0 {
			used = (capacity - free) * int64(protected[org]) / int64(all)
		}
		fmt.Fprintf(b, `{"repositoryId":%q,"usedSpaceBytes":%d,"localCacheUsedSpaceBytes":0,"objectStorageUsedSpaceBytes":0,"isAvailable":true,"details":"","protectedObjectsCount":%d,"_links":{"repository":{"href":"/v8/BackupRepositories/%s"}}}`,
			r.id, used, protected[org], r.id)
	})
}

// pageOf answers a page of n results, each written by item, with Veeam's paging.
func (s *Server) pageOf(rq *request, n int, item func(b *bytes.Buffer, i int)) (int, any, *apiError) {
	p, e := s.pager(rq)
	if e != nil {
		return 0, nil, e
	}
	return http.StatusOK, p.render(n, item), nil
}

// groupMembers is GET /v8/Organizations/{organizationId}/Groups/{groupId}/Members: a
// page of RESTGroupMember, the group's members as the fixtures name them.
func (s *Server) groupMembers(rq *request) (int, any, *apiError) {
	org, group := strings.ToLower(rq.param("organizationId")), strings.ToLower(rq.param("groupId"))
	var members []*item
	if g, ok := s.world.get("/v8/Organizations/" + org + "/Groups/" + group); ok {
		ids, _ := g.hidden.([]string)
		for _, id := range ids {
			if u, ok := s.world.get("/v8/Organizations/" + org + "/Users/" + id); ok {
				members = append(members, u)
			}
		}
	}
	return s.pageOf(rq, len(members), func(b *bytes.Buffer, i int) {
		u := members[i]
		fmt.Fprintf(b, `{"groupId":%q,"name":%q,"login":%q,"type":%q,"isCloud":true,"_links":{"user":{"href":"%s"}}}`,
			group, u.obj.str("displayName"), u.obj.str("name"), accountType(u.obj.str("type")), u.path)
	})
}
