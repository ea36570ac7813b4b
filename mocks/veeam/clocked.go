package veeam

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vbharness/vbharness/mocks/veeam/spec"
)

// Long-running work on the mock clock. An action that starts work (a job run, a
// repository synchronisation, an organization sync, a proxy entering maintenance)
// stores its session Running and schedules the rest on the server's timeline: halfway
// through the virtual duration (Settings.SessionDuration) the session shows 50 %, at the
// end its result (Settings.SessionResult), each with a log entry where the session has
// log items. The clock has no timers: every request settles the steps that are due at
// its one clock reading before it is served, so `clock.advance` followed by a GET sees
// each transition, and steps apply at their own times (endTime is start plus the
// duration, whenever the client looks).

// step is one change of the world at a moment of the clock, owned by the session (or
// item) it changes, so stopping that work cancels the rest of it.
type step struct {
	at    time.Time
	seq   uint64 // order of scheduling, for steps at the same moment
	owner string // lower-case path of what the step changes
	plan  stepPlan
	apply func(s *Server)
}

// stepPlan is what a step does, as data: a server with a state file keeps its timeline
// as plans and rebuilds each step's function from its plan (Server.planned) at the next
// start, so work running at a restart goes on.
type stepPlan struct {
	Do     string `json:"do"`               // "half" or "end" of a work, or "maintenance"
	Work   string `json:"work,omitempty"`   // the work's name: "job", "repository", "orgSync", "restore", "retrieval"
	Path   string `json:"path"`             // the session, or the proxy entering maintenance
	Title  string `json:"title,omitempty"`  // for log messages
	Target string `json:"target,omitempty"` // the job or repository the work's end changes
	Result string `json:"result,omitempty"` // how the work ends
}

// timeline is a server's pending steps, earliest first. Requests check next without a
// lock; the steps that are due apply under mu, so a concurrent request waits until they
// have all applied and never sees half of them. A step that schedules others (a
// scheduled job's start) adds them with addLocked, since settle holds mu; those due by
// the same clock reading apply in the same settle, at their own times.
type timeline struct {
	mu    sync.Mutex
	steps []step
	seq   uint64
	next  atomic.Int64 // UnixNano of the earliest step; math.MaxInt64 when there is none
	p     *persister   // records every change when the server keeps a state file; nil otherwise
}

func newTimeline() *timeline {
	tl := &timeline{}
	tl.next.Store(math.MaxInt64)
	return tl
}

// schedule adds steps: many at once (a world's fixture jobs) are appended and sorted
// once, not inserted one by one.
func (tl *timeline) schedule(steps ...step) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	for _, st := range steps {
		tl.seq++
		st.seq = tl.seq
		if len(steps) > 1 {
			tl.steps = append(tl.steps, st)
		} else {
			tl.insertLocked(st)
		}
		if tl.p != nil {
			tl.p.putStep(st)
		}
	}
	if len(steps) > 1 {
		slices.SortFunc(tl.steps, compareSteps)
	}
	tl.storeNext()
}

// compareSteps orders steps by time, then by the order they were scheduled in.
func compareSteps(a, b step) int {
	if c := a.at.Compare(b.at); c != 0 {
		return c
	}
	return cmp.Compare(a.seq, b.seq)
}

// addLocked is schedule for a step's apply, which runs under mu.
func (tl *timeline) addLocked(steps ...step) {
	for _, st := range steps {
		tl.seq++
		st.seq = tl.seq
		tl.insertLocked(st)
		if tl.p != nil {
			tl.p.putStep(st)
		}
	}
}

func (tl *timeline) insertLocked(st step) {
	i, _ := slices.BinarySearchFunc(tl.steps, st, compareSteps)
	tl.steps = slices.Insert(tl.steps, i, st)
}

// due reports whether a step is due at now (settle has work to do).
func (tl *timeline) due(now time.Time) bool { return now.UnixNano() >= tl.next.Load() }

func (tl *timeline) storeNext() {
	if len(tl.steps) == 0 {
		tl.next.Store(math.MaxInt64)
		return
	}
	tl.next.Store(tl.steps[0].at.UnixNano())
}

// settle applies, in order, every step due at now.
func (tl *timeline) settle(s *Server, now time.Time) {
	if now.UnixNano() < tl.next.Load() {
		return
	}
	tl.mu.Lock()
	defer tl.mu.Unlock()
	for len(tl.steps) > 0 && !tl.steps[0].at.After(now) {
		st := tl.steps[0]
		tl.steps = tl.steps[1:]
		st.apply(s)
		if tl.p != nil {
			tl.p.dropStep(st.seq)
		}
	}
	tl.storeNext()
}

// cancel drops the pending steps of owner and reports whether there were any.
func (tl *timeline) cancel(owner string) bool {
	owner = strings.ToLower(owner)
	tl.mu.Lock()
	defer tl.mu.Unlock()
	n := len(tl.steps)
	tl.steps = slices.DeleteFunc(tl.steps, func(st step) bool {
		if st.owner != owner {
			return false
		}
		if tl.p != nil {
			tl.p.dropStep(st.seq)
		}
		return true
	})
	tl.storeNext()
	return len(tl.steps) < n
}

// pending reports whether owner has steps to come.
func (tl *timeline) pending(owner string) bool {
	owner = strings.ToLower(owner)
	tl.mu.Lock()
	defer tl.mu.Unlock()
	return slices.ContainsFunc(tl.steps, func(st step) bool { return st.owner == owner })
}

func (tl *timeline) reset() {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	tl.steps = nil
	tl.storeNext()
}

// sessionKind is how one kind of session shows its progress; the mechanism
// (startSession) is the same for every kind.
type sessionKind struct {
	// progress sets the share done, 0 to 100, while the work runs.
	progress func(o *object, percent int)
	// finish sets the result ("Success", "Warning" or "Failed") and the end.
	finish func(o *object, result string, end time.Time)
	// stop sets the state of work stopped before its end.
	stop func(o *object, end time.Time)
	// logs tells whether the session has log items at {path}/LogItems.
	logs bool
}

// work is one run of long work: the session that shows it and what the run does to
// other items when it ends (a job's lastStatus), which may be nil.
type work struct {
	name   string // what rebuilds it from a plan (workOf): "job", "repository", "orgSync"
	path   string // the session's path (an item or a settings object)
	kind   *sessionKind
	title  string // for log messages: "Job 'abc - Exchange 01'"
	target string // the job or repository done changes, for the plan
	done   func(s *Server, result string, end time.Time)
}

// workOf rebuilds the work a plan names.
func (s *Server) workOf(p stepPlan) work {
	var w work
	switch p.Work {
	case "job":
		w = s.jobWork(p.Path, p.Target, "")
	case "repository":
		w = repositoryWork(p.Path, p.Target)
	case "restore":
		w = restoreWork(p.Path)
	case "retrieval":
		w = retrievalWork(p.Path, p.Target)
	default:
		w = orgSyncWork(p.Path)
	}
	w.title = p.Title
	return w
}

// knownStep reports whether planned builds a step of this kind: a state file's steps are
// checked against it when they are loaded.
func knownStep(do string) bool {
	switch do {
	case "schedule", "maintenance", "half", "end":
		return true
	}
	return false
}

// planned builds the step a plan describes, at its moment (a kind knownStep accepts).
func (s *Server) planned(p stepPlan, at time.Time) step {
	st := step{at: at, owner: strings.ToLower(p.Path), plan: p}
	switch p.Do {
	case "schedule":
		st.apply = func(s *Server) { s.scheduledStart(p.Path, at) }
	case "maintenance":
		st.apply = func(s *Server) {
			s.change(p.Path, func(o *object) { o.setValue("maintenanceModeState", "Enabled") })
		}
	case "half":
		w := s.workOf(p)
		st.apply = func(s *Server) {
			s.change(w.path, func(o *object) { w.kind.progress(o, 50) })
			if w.kind.logs {
				s.addLog(w.path, at, "Running", w.title+" is halfway done.")
			}
		}
	default: // "end"
		w := s.workOf(p)
		st.apply = func(s *Server) {
			s.change(w.path, func(o *object) { w.kind.finish(o, p.Result, at) })
			if w.kind.logs {
				s.addLog(w.path, at, logType(p.Result), w.title+" finished with "+strings.ToLower(p.Result)+".")
			}
			if w.done != nil {
				w.done(s, p.Result, at)
			}
		}
	}
	return st
}

// startSession runs w on the clock from start: the session (stored by the caller,
// Running at 0 %) gets its first log entry now, is halfway at half the configured
// duration, and ends with the configured result after it.
func (s *Server) startSession(w work, start time.Time) {
	s.timeline.schedule(s.sessionSteps(w, start)...)
}

// sessionSteps logs w's start and returns the steps of its run, for the caller to
// schedule (startSession) or, from a step's apply, to add (addLocked). A job's result is
// its outcome fixture (Fixtures.JobOutcomes), else Settings.SessionResult.
func (s *Server) sessionSteps(w work, start time.Time) []step {
	set := s.settings.get()
	d := time.Duration(set.SessionDuration) * time.Second
	result := set.SessionResult
	if w.name == "job" {
		if r, ok := s.initial.world.outcomes[strings.ToLower(lastSegment(w.target))]; ok {
			result = r
		}
	}
	if w.kind.logs {
		s.addLog(w.path, start, "Running", w.title+" started.")
	}
	p := stepPlan{Work: w.name, Path: w.path, Title: w.title, Target: w.target}
	half, end := p, p
	half.Do, end.Do, end.Result = "half", "end", result
	return []step{s.planned(half, start.Add(d/2)), s.planned(end, start.Add(d))}
}

// lastSegment is the last element of a path: an item's id.
func lastSegment(path string) string { return path[strings.LastIndexByte(path, '/')+1:] }

// stopSession stops w's run if it is still running: its remaining steps are dropped and
// the session shows it stopped at now. It reports whether the run was still going.
func (s *Server) stopSession(w work, now time.Time) bool {
	if !s.timeline.cancel(w.path) {
		return false
	}
	s.change(w.path, func(o *object) { w.kind.stop(o, now) })
	if w.kind.logs {
		s.addLog(w.path, now, "Stop", w.title+" was stopped.")
	}
	if w.done != nil {
		w.done(s, "Stopped", now)
	}
	return true
}

// logType is the RESTLogItem type of a result.
func logType(result string) string {
	if result == "Failed" {
		return "Error"
	}
	return result
}

// addLog appends a RESTLogItem to a session's log items: the next usn, an id derived
// from the session and the usn (the same in every run), the time it happened.
func (s *Server) addLog(session string, at time.Time, typ, msg string) {
	list := session + "/LogItems"
	usn := len(s.world.list(list)) + 1
	id := spec.UUID(strings.ToLower(list) + "/" + strconv.Itoa(usn))
	var o object
	o.setValue("id", id)
	o.setValue("usn", usn)
	o.setValue("type", typ)
	o.setValue("message", msg)
	o.setValue("creationTime", at)
	o.setValue("endTime", at)
	if it, err := newItem(list+"/"+id, id, o.bytes(), nil); err == nil {
		s.world.put(it)
	}
}

// change applies fn to the item stored at path, or else to the settings object stored
// there, and adds one to its eTag; it reports whether there was either.
func (s *Server) change(path string, fn func(o *object)) bool {
	next, _ := s.world.update(path, func(cur *item) (*item, *apiError) {
		return cur.with(func(o *object) { fn(o); bumpETag(o) }), nil
	})
	if next != nil {
		return true
	}
	b, ok := s.world.singleton(path)
	if !ok {
		return false
	}
	o, err := parseObject(b)
	if err != nil {
		return false
	}
	fn(&o)
	s.world.setSingleton(path, o.bytes())
	return true
}
