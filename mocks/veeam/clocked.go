package veeam

import (
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
	apply func(s *Server)
}

// timeline is a server's pending steps, earliest first. Requests check next without a
// lock; the steps that are due apply under mu, so a concurrent request waits until they
// have all applied and never sees half of them. A step must not schedule others.
type timeline struct {
	mu    sync.Mutex
	steps []step
	seq   uint64
	next  atomic.Int64 // UnixNano of the earliest step; math.MaxInt64 when there is none
}

func newTimeline() *timeline {
	tl := &timeline{}
	tl.next.Store(math.MaxInt64)
	return tl
}

// schedule adds steps.
func (tl *timeline) schedule(steps ...step) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	for _, st := range steps {
		tl.seq++
		st.seq = tl.seq
		i, _ := slices.BinarySearchFunc(tl.steps, st, func(a, b step) int {
			if c := a.at.Compare(b.at); c != 0 {
				return c
			}
			return int(a.seq) - int(b.seq)
		})
		tl.steps = slices.Insert(tl.steps, i, st)
	}
	tl.storeNext()
}

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
	}
	tl.storeNext()
}

// cancel drops the pending steps of owner and reports whether there were any.
func (tl *timeline) cancel(owner string) bool {
	owner = strings.ToLower(owner)
	tl.mu.Lock()
	defer tl.mu.Unlock()
	n := len(tl.steps)
	tl.steps = slices.DeleteFunc(tl.steps, func(st step) bool { return st.owner == owner })
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
	path  string // the session's path (an item or a settings object)
	kind  *sessionKind
	title string // for log messages: "Job 'abc - Exchange 01'"
	done  func(s *Server, result string, end time.Time)
}

// startSession runs w on the clock from start: the session (stored by the caller,
// Running at 0 %) gets its first log entry now, is halfway at half the configured
// duration, and ends with the configured result after it.
func (s *Server) startSession(w work, start time.Time) {
	set := s.settings.get()
	d := time.Duration(set.SessionDuration) * time.Second
	result := set.SessionResult
	if w.kind.logs {
		s.addLog(w.path, start, "Running", w.title+" started.")
	}
	owner := strings.ToLower(w.path)
	half, end := start.Add(d/2), start.Add(d)
	s.timeline.schedule(
		step{at: half, owner: owner, apply: func(s *Server) {
			s.change(w.path, func(o *object) { w.kind.progress(o, 50) })
			if w.kind.logs {
				s.addLog(w.path, half, "Running", w.title+" is halfway done.")
			}
		}},
		step{at: end, owner: owner, apply: func(s *Server) {
			s.change(w.path, func(o *object) { w.kind.finish(o, result, end) })
			if w.kind.logs {
				s.addLog(w.path, end, logType(result), w.title+" finished with "+strings.ToLower(result)+".")
			}
			if w.done != nil {
				w.done(s, result, end)
			}
		}})
}

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
