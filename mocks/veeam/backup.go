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
// of its schedulePolicy, and the next "schedule" step is added. Every client therefore
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

// schedulePolicy is the part of RESTJobSchedulePolicy that decides when a job runs.
type schedulePolicy struct {
	ScheduleEnabled           *bool  `json:"scheduleEnabled"`
	Type                      string `json:"type"`
	PeriodicallyEvery         string `json:"periodicallyEvery"`
	PeriodicallyOffsetMinutes int    `json:"periodicallyOffsetMinutes"`
	DailyType                 string `json:"dailyType"`
	DailyTime                 string `json:"dailyTime"`
}

// periods are the document's periodicallyEvery values.
var periods = map[string]time.Duration{
	"Minutes5": 5 * time.Minute, "Minutes10": 10 * time.Minute, "Minutes15": 15 * time.Minute,
	"Minutes30": 30 * time.Minute, "Hours1": time.Hour, "Hours2": 2 * time.Hour, "Hours4": 4 * time.Hour,
	"Hours8": 8 * time.Hour, "Hours12": 12 * time.Hour,
}

// policyOf reads a job's schedulePolicy; ok is false for a job that runs only when
// started (ManualOnly, scheduleEnabled false, or no policy).
func policyOf(job object) (schedulePolicy, bool) {
	var p schedulePolicy
	if json.Unmarshal(job.get("schedulePolicy"), &p) != nil {
		return p, false
	}
	if p.ScheduleEnabled != nil && !*p.ScheduleEnabled {
		return p, false
	}
	return p, p.Type == "Daily" || p.Type == "Periodically"
}

// nextSlot is the first start of p strictly after t, in UTC: every period from midnight
// (plus periodicallyOffsetMinutes) for Periodically, dailyTime on the days dailyType
// names for Daily [A: the server's time zone is taken to be UTC].
func (p schedulePolicy) nextSlot(t time.Time) (time.Time, bool) {
	t = t.UTC()
	midnight := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	switch p.Type {
	case "Periodically":
		every, ok := periods[p.PeriodicallyEvery]
		if !ok {
			return time.Time{}, false
		}
		first := midnight.Add(time.Duration(p.PeriodicallyOffsetMinutes%60) * time.Minute)
		if first.After(t) {
			first = first.Add(-24 * time.Hour)
		}
		return first.Add((t.Sub(first)/every + 1) * every), true
	case "Daily":
		var h, m, sec int
		if p.DailyTime != "" {
			at, err := time.Parse("15:04:05", p.DailyTime)
			if err != nil {
				return time.Time{}, false
			}
			h, m, sec = at.Clock()
		}
		for d := range 8 {
			c := midnight.AddDate(0, 0, d).Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(sec)*time.Second)
			if c.After(t) && runsOn(p.DailyType, c.Weekday()) {
				return c, true
			}
		}
	}
	return time.Time{}, false
}

// runsOn reports whether a Daily schedule of dailyType runs on day.
func runsOn(dailyType string, day time.Weekday) bool {
	switch dailyType {
	case "", "Everyday":
		return true
	case "Workdays":
		return day != time.Saturday && day != time.Sunday
	case "Weekends":
		return day == time.Saturday || day == time.Sunday
	}
	return dailyType == day.String()
}

// scheduleStep is the step that starts the job at path at its nextRun.
func (s *Server) scheduleStep(path string, at time.Time) step {
	return s.planned(stepPlan{Do: "schedule", Path: path}, at)
}

// scheduleFixtureJobs adds the schedule steps of the world's enabled, scheduled jobs at
// their nextRun.
func (s *Server) scheduleFixtureJobs() {
	var steps []step
	for _, j := range s.world.list("/v8/Jobs") {
		if next, ok := nextRunOf(j.obj); ok && string(j.obj.get("isEnabled")) == "true" {
			if _, scheduled := policyOf(j.obj); scheduled {
				steps = append(steps, s.scheduleStep(j.path, next))
			}
		}
	}
	s.timeline.schedule(steps...)
}

// nextRunOf is a job's nextRun, if it has one.
func nextRunOf(job object) (time.Time, bool) {
	var t time.Time
	if json.Unmarshal(job.get("nextRun"), &t) != nil || t.IsZero() {
		return time.Time{}, false
	}
	return t, true
}

// scheduleJob sets the nextRun of the job at path from its schedulePolicy, as seen at
// now, and schedules its start: after the job is created or its schedule changed
// (keep false), or it is enabled (keep true: a nextRun still to come is kept). A job
// that runs only when started gets nextRun null.
func (s *Server) scheduleJob(path string, now time.Time, keep bool) {
	var at time.Time
	s.change(path, func(o *object) {
		p, scheduled := policyOf(*o)
		if !scheduled {
			o.set("nextRun", json.RawMessage("null"))
			return
		}
		if cur, ok := nextRunOf(*o); keep && ok && cur.After(now) {
			at = cur
			return
		}
		if next, ok := p.nextSlot(now); ok {
			o.setValue("nextRun", next)
			at = next
		}
	})
	if !at.IsZero() {
		s.timeline.schedule(s.scheduleStep(path, at))
	}
}

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
	p, scheduled := policyOf(j.obj)
	cur, has := nextRunOf(j.obj)
	if !scheduled || !has || !cur.Equal(at) || string(j.obj.get("isEnabled")) != "true" {
		return
	}
	var steps []step
	if j.obj.str("lastStatus") != "Running" {
		if _, run, e := s.beginJob(path, false, false, at); e == nil {
			steps = run
		}
	}
	if next, ok := p.nextSlot(at); ok {
		s.change(path, func(o *object) { o.setValue("nextRun", next) })
		steps = append(steps, s.scheduleStep(path, next))
	}
	s.timeline.addLocked(steps...)
}
