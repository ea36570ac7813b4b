package veeam

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/vbharness/vbharness/mocks/veeam/spec"
)

// Backups that happen: what a job run leaves behind when it backs something up, and
// the schedule that starts jobs by themselves. A scheduled job has a step on the
// timeline at its nextRun ("schedule"); when a request's clock reading passes it, the
// job starts at nextRun (not at the request's time), its nextRun moves to the next slot
// of its schedulePolicy (nextRun, collections.go), and the next "schedule" step is added. Every client therefore
// sees the same sessions with the same times, however often and whenever it polls.

// backupBytes is what one run writes to its repository: the transferredDataBytes that
// a finished run's statistics show (jobSessionKind.finish).
const backupBytes = 734003200

// backedUp records a run of job (a backup or copy job) that ended at end having backed
// something up: a restore point of the job's organization at end, and the repository
// holding backupBytes more (its freeSpaceBytes down, never below 0).
func (s *Server) backedUp(session, job string, end time.Time) {
	j, ok := s.world.get(job)
	if !ok {
		return
	}
	isCopy := strings.HasPrefix(strings.ToLower(job), "/v8/copyjobs/")
	repo := j.obj.str("repositoryId")
	org := j.obj.str("organizationId")
	jobID := j.obj.str("id")
	if isCopy {
		jobID = j.obj.str("backupJobId")
	}
	var exchange, sharePoint, teams bool
	if o, ok := s.world.get("/v8/Organizations/" + strings.ToLower(org)); ok {
		exchange = string(o.obj.get("isExchangeOnline")) == "true"
		sharePoint = string(o.obj.get("isSharePointOnline")) == "true"
		teams = string(o.obj.get("isTeamsOnline")) == "true"
	}
	id := spec.UUID("vbharness/veeam/restorepoint/" + strings.ToLower(lastSegment(session)))
	c := collectionOf("/v8/RestorePoints")
	path := c.itemPath(nil, id)
	o := c.generate(path, id, nil, end)
	for k, v := range map[string]any{
		"isDeleted": false, "repositoryId": repo, "backupTime": end, "jobId": jobID, "organizationId": org,
		"isExchange": exchange, "isSharePoint": sharePoint, "isOneDrive": sharePoint, "isTeams": teams,
		"isLongTermCopy": false, "isCopy": isCopy, "isRetrieved": false, "eTag": 1, "objectsEtag": 1,
	} {
		if declares(c.itemSchema.Value, k) {
			o.setValue(k, v)
		}
	}
	o.del("retrievalId")
	if it, err := newItem(path, id, o.bytes(), nil); err == nil {
		s.world.put(it)
	}
	s.change("/v8/BackupRepositories/"+strings.ToLower(repo), func(o *object) {
		var free int64
		_ = json.Unmarshal(o.get("freeSpaceBytes"), &free)
		o.setValue("freeSpaceBytes", max(free-backupBytes, 0))
	})
}

// scheduleOf reads a job's schedulePolicy; ok is false for a job that runs only when
// started (ManualOnly, scheduleEnabled not true, or no policy). nextRun (collections.go)
// says when it fires. A copy job's RESTCopyJobSchedulePolicy has no scheduleEnabled and
// calls its daily type DailyAtTime: it comes back in the backup job's terms (Daily,
// scheduleEnabled true), so one nextRun serves both. Its Immediate type has no slots: it
// starts when its backup job backs something up (copyImmediately).
func scheduleOf(job object, isCopy bool) (object, bool) {
	sp, err := parseObject(job.get("schedulePolicy"))
	if err != nil {
		return nil, false
	}
	if isCopy {
		switch sp.str("type") {
		case "Periodically":
		case "DailyAtTime":
			sp.setValue("type", "Daily")
		default:
			return nil, false
		}
		sp.setValue("scheduleEnabled", true)
		return sp, true
	}
	if sp.text("scheduleEnabled") != "true" {
		return nil, false
	}
	t := sp.str("type")
	return sp, t == "Daily" || t == "Periodically"
}

// isCopyJob reports whether path names a copy job (/v8/CopyJobs/{id}).
func isCopyJob(path string) bool { return strings.HasPrefix(strings.ToLower(path), "/v8/copyjobs/") }

// copyImmediately starts, at end, the enabled copy jobs of schedule type Immediate that
// copy the backup job at job, which has just backed something up (RESTCopyJobSchedulePolicy:
// "The backup copy job runs right after the latest restore point appears in a source
// backup repository"); a copy job still running is not started again [A]. It runs from a
// run's end step, under the timeline's lock.
func (s *Server) copyImmediately(job string, end time.Time) {
	j, ok := s.world.get(job)
	if !ok {
		return
	}
	var steps []step
	for _, c := range s.world.list("/v8/CopyJobs") {
		sp, err := parseObject(c.obj.get("schedulePolicy"))
		if err != nil || sp.str("type") != "Immediate" || !strings.EqualFold(c.obj.str("backupJobId"), j.obj.str("id")) ||
			c.obj.text("isEnabled") != "true" || c.obj.str("lastStatus") == "Running" {
			continue
		}
		if _, run, e := s.beginJob(c.path, true, false, end); e == nil {
			steps = append(steps, run...)
		}
	}
	s.timeline.addLocked(steps...)
}

// scheduleStep is the step that starts the job at path at its nextRun.
func (s *Server) scheduleStep(path string, at time.Time) step {
	return s.planned(stepPlan{Do: "schedule", Path: path}, at)
}

// scheduleFixtureJobs adds the schedule steps of the world's enabled, scheduled jobs at
// their nextRun. A nextRun already past when the server starts (or is reset) is not
// caught up on: it moves to the schedule's next slot after now, as a server that was
// down does not run the starts it missed [A].
//
// It runs on the base world (at New and Reset), so what it finds depends only on the base
// and the clock's reading: the base keeps the last answer (fixtureRuns), and a stack made
// at the same moment as the one before (every test's, on a virtual clock) reads no job
// (issue 11's NewInProcess: reading every fixture job's schedule was 0.5 ms a stack).
func (s *Server) scheduleFixtureJobs() {
	now := s.clk.Now()
	runs := s.initial.world.fixtureRuns(now, func() []fixtureRun {
		var runs []fixtureRun
		jobs := append(s.world.list("/v8/Jobs"), s.world.list("/v8/CopyJobs")...)
		for _, j := range jobs {
			next, ok := nextRunOf(j.obj)
			sp, scheduled := scheduleOf(j.obj, isCopyJob(j.path))
			if !ok || !scheduled || string(j.obj.get("isEnabled")) != "true" {
				continue
			}
			moved := false
			if next.Before(now) {
				later := nextRun(sp, now)
				if later == nil {
					continue
				}
				next, moved = *later, true
			}
			runs = append(runs, fixtureRun{path: j.path, next: next, moved: moved})
		}
		return runs
	})
	steps := make([]step, 0, len(runs))
	for _, r := range runs {
		if r.moved {
			s.change(r.path, func(o *object) { o.setValue("nextRun", r.next) })
		}
		steps = append(steps, s.scheduleStep(r.path, r.next))
	}
	s.timeline.schedule(steps...)
}

// fixtureRun is a fixture job's next start as scheduleFixtureJobs finds it: at next,
// moved there from a nextRun already past.
type fixtureRun struct {
	path  string
	next  time.Time
	moved bool
}

// fixtureRuns returns find's answer for the clock reading now, kept from the last call
// with the same reading.
func (ws *worldState) fixtureRuns(now time.Time, find func() []fixtureRun) []fixtureRun {
	ws.runsMu.Lock()
	defer ws.runsMu.Unlock()
	if ws.runs == nil || !ws.runsAt.Equal(now) {
		ws.runs, ws.runsAt = find(), now
	}
	return ws.runs
}

// nextRunOf is a job's nextRun, if it has one.
func nextRunOf(job object) (time.Time, bool) {
	var t time.Time
	if json.Unmarshal(job.get("nextRun"), &t) != nil || t.IsZero() {
		return time.Time{}, false
	}
	return t, true
}

// The jobs' and copy jobs' afterCreate is set here: in the collections table it would
// make an initialisation cycle (a run's end adds a restore point through the table).
func init() {
	collectionOf("/v8/Jobs").afterCreate = jobCreated
	collectionOf("/v8/CopyJobs").afterCreate = jobCreated
}

// jobCreated is what follows a job's or copy job's creation (POST /v8/Jobs or
// /v8/CopyJobs; newJob set its nextRun): its schedule's first start goes on the
// timeline, and a job created with runNow starts.
func jobCreated(s *Server, rq *request, it *item) *item {
	if next, ok := nextRunOf(it.obj); ok {
		if _, scheduled := scheduleOf(it.obj, isCopyJob(it.path)); scheduled {
			s.timeline.schedule(s.scheduleStep(it.path, next))
		}
	}
	return runNow(s, rq, it)
}

// scheduleJob sets the nextRun of the job at path from its schedulePolicy, as seen at
// now, and schedules its start: after the job is created or its schedule changed
// (keep false), or it is enabled (keep true: a nextRun still to come is kept). A job
// that runs only when started has no nextRun.
func (s *Server) scheduleJob(path string, now time.Time, keep bool) {
	var at time.Time
	s.change(path, func(o *object) {
		sp, scheduled := scheduleOf(*o, isCopyJob(path))
		if !scheduled {
			o.del("nextRun") // as newJob leaves it
			return
		}
		if cur, ok := nextRunOf(*o); keep && ok && cur.After(now) {
			at = cur
			return
		}
		if next := nextRun(sp, now); next != nil {
			o.setValue("nextRun", *next)
			at = *next
		}
	})
	if !at.IsZero() {
		s.timeline.schedule(s.scheduleStep(path, at))
	}
}

// maxCatchUp is how far behind the clock a scheduled start may be and still run: after a
// jump of the clock, the starts of the last week run, older ones are missed [A].
const maxCatchUp = 7 * 24 * time.Hour

// scheduledStart is the "schedule" step of the job at path, due at: if the job still
// exists, is enabled and scheduled, and its nextRun is at (a later change of the job has
// not moved it), it starts at at unless it is still running (that slot is skipped, as a
// server skips a start while the job runs [A]), its nextRun moves to the next slot and
// that slot's step is added. It runs under the timeline's lock (settle).
func (s *Server) scheduledStart(path string, at time.Time) {
	j, ok := s.world.get(path)
	if !ok {
		return
	}
	isCopy := isCopyJob(path)
	sp, scheduled := scheduleOf(j.obj, isCopy)
	cur, has := nextRunOf(j.obj)
	if !scheduled || !has || !cur.Equal(at) || string(j.obj.get("isEnabled")) != "true" {
		return
	}
	var steps []step
	if now := s.clk.Now(); now.Sub(at) > maxCatchUp {
		// The clock jumped far past this start: the starts more than maxCatchUp before
		// the new time are missed, not run, as a server that was down does not run the
		// starts it missed [A]. Running them all made a year's advance 16 s and 400 MB
		// on the next request, and 82 years never ended (issue 13 recheck).
		if next := nextRun(sp, now.Add(-maxCatchUp)); next != nil {
			s.change(path, func(o *object) { o.setValue("nextRun", *next) })
			steps = append(steps, s.scheduleStep(path, *next))
		}
		s.timeline.addLocked(steps...)
		return
	}
	if j.obj.str("lastStatus") != "Running" {
		if _, run, e := s.beginJob(path, isCopy, false, at); e == nil {
			steps = run
		}
	}
	if next := nextRun(sp, at); next != nil {
		s.change(path, func(o *object) { o.setValue("nextRun", *next) })
		steps = append(steps, s.scheduleStep(path, *next))
	}
	s.timeline.addLocked(steps...)
}
