package engine

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/dop251/goja"
)

// eventLoop runs timers and tracks promise rejections on the scenario clock: when a test's
// promise is pending and only timers are left, it moves the clock to the next one (a
// virtual clock jumps; a real clock waits, watching the context) and fires it.
type eventLoop struct {
	*host
	timers   []*timer
	timerSeq int64

	unhandled   map[*goja.Promise]goja.Value
	rejectOrder []*goja.Promise // unhandled rejections, oldest first
}

type timer struct {
	id       int64
	seq      int64
	due      time.Time
	every    time.Duration // > 0 for setInterval
	fn       goja.Callable
	args     []goja.Value
	canceled bool
	set      string // "setTimeout at file.js:line:col", for a test that leaves it pending
}

func newEventLoop(h *host) *eventLoop {
	return &eventLoop{host: h, unhandled: map[*goja.Promise]goja.Value{}}
}

// install sets the timer globals: setTimeout, setInterval, clearTimeout, clearInterval.
func (l *eventLoop) install() {
	_ = l.vm.Set("setTimeout", l.named("setTimeout", l.add("setTimeout")))
	_ = l.vm.Set("setInterval", l.named("setInterval", l.add("setInterval")))
	_ = l.vm.Set("clearTimeout", l.named("clearTimeout", l.cancel))
	_ = l.vm.Set("clearInterval", l.named("clearInterval", l.cancel))
}

func (l *eventLoop) add(name string) func(goja.FunctionCall) goja.Value {
	repeat := name == "setInterval"
	return func(call goja.FunctionCall) goja.Value {
		fn, ok := goja.AssertFunction(call.Argument(0))
		if !ok {
			l.throw("TypeError", "the first argument of setTimeout/setInterval must be a function")
		}
		ms := call.Argument(1).ToFloat()
		if ms != ms || ms < 0 { // NaN or negative: 0, as browsers do
			ms = 0
		}
		d := time.Duration(ms * float64(time.Millisecond))
		l.timerSeq++
		t := &timer{id: l.timerSeq, seq: l.timerSeq, due: l.clock.Now().Add(d), fn: fn, set: name + " at " + l.callerPos()}
		if len(call.Arguments) > 2 {
			t.args = append([]goja.Value(nil), call.Arguments[2:]...)
		}
		if repeat {
			t.every = max(d, time.Millisecond)
		}
		l.timers = append(l.timers, t)
		return l.vm.ToValue(t.id)
	}
}

func (l *eventLoop) cancel(call goja.FunctionCall) goja.Value {
	id := call.Argument(0).ToInteger()
	for _, t := range l.timers {
		if t.id == id {
			t.canceled = true
		}
	}
	return goja.Undefined()
}

// next removes and returns the earliest live timer, or nil.
func (l *eventLoop) next() *timer {
	best := -1
	live := l.timers[:0]
	for _, t := range l.timers {
		if !t.canceled {
			live = append(live, t)
		}
	}
	l.timers = live
	for i, t := range l.timers {
		if best < 0 || t.due.Before(l.timers[best].due) || (t.due.Equal(l.timers[best].due) && t.seq < l.timers[best].seq) {
			best = i
		}
	}
	if best < 0 {
		return nil
	}
	t := l.timers[best]
	l.timers = append(l.timers[:best], l.timers[best+1:]...)
	return t
}

func (l *eventLoop) trackRejection(p *goja.Promise, op goja.PromiseRejectionOperation) {
	switch op {
	case goja.PromiseRejectionReject:
		l.unhandled[p] = p.Result()
		l.rejectOrder = append(l.rejectOrder, p)
	case goja.PromiseRejectionHandle:
		delete(l.unhandled, p)
	}
}

// firstUnhandled returns the oldest rejection nobody handled, if any.
func (l *eventLoop) firstUnhandled() (goja.Value, bool) {
	for _, p := range l.rejectOrder {
		if v, ok := l.unhandled[p]; ok {
			return v, true
		}
	}
	return nil, false
}

// pending describes the timers still set (not cleared, not fired), or "" when none is.
// A test that ends with one errors: its callback, which may hold assertions, would never
// run, and the test would pass without them.
func (l *eventLoop) pending() string {
	var live []string
	now := l.clock.Now()
	for _, t := range l.timers {
		if !t.canceled {
			live = append(live, fmt.Sprintf("%s (due in %v)", t.set, max(t.due.Sub(now), 0)))
		}
	}
	switch len(live) {
	case 0:
		return ""
	case 1:
		return "the test ended with a timer still pending, whose callback would never run: " + live[0] +
			"; await it, or clear it with clearTimeout or clearInterval"
	}
	return fmt.Sprintf("the test ended with %d timers still pending, whose callbacks would never run: %s; await them, or clear them with clearTimeout or clearInterval",
		len(live), strings.Join(live, ", "))
}

var promiseType = reflect.TypeOf((*goja.Promise)(nil))

// errNeverSettles reports a test whose promise can never settle.
var errNeverSettles = errors.New("the test's promise never settled: nothing is left to run (no timers pending); is an await missing a resolve?")

// rejection is a promise rejected with a JS value.
type rejection struct{ val goja.Value }

func (rj rejection) Error() string { return "promise rejected" }

// settle runs the event loop until v (if it is a promise) settles: when only timers are
// left, it moves the scenario clock to the next one (a virtual clock jumps; a real clock
// waits, watching ctx) and fires it. A non-promise value is returned as is.
func (l *eventLoop) settle(v goja.Value) (goja.Value, error) {
	obj, ok := v.(*goja.Object)
	if !ok || obj.ExportType() != promiseType {
		return v, nil
	}
	p := obj.Export().(*goja.Promise)
	for p.State() == goja.PromiseStatePending {
		if err := l.ctx.Err(); err != nil {
			return nil, err
		}
		t := l.next()
		if t == nil {
			return nil, errNeverSettles
		}
		if d := t.due.Sub(l.clock.Now()); d > 0 {
			if err := l.clock.Sleep(l.ctx, d); err != nil {
				return nil, err
			}
		}
		if t.every > 0 {
			l.timerSeq++
			t.seq, t.due = l.timerSeq, t.due.Add(t.every)
			l.timers = append(l.timers, t)
		}
		if _, err := t.fn(goja.Undefined(), t.args...); err != nil {
			return nil, err
		}
	}
	delete(l.unhandled, p)
	if p.State() == goja.PromiseStateRejected {
		return nil, rejection{p.Result()}
	}
	return p.Result(), nil
}
