package engine

import (
	"strings"
	"time"

	"github.com/dop251/goja"
)

// clockModule is `clock` (and `sleep`): the scenario clock, which Date, timers and the
// device-code polling read too.
type clockModule struct{ *host }

func newClock(h *host) goja.Value {
	m := &clockModule{h}
	return h.object(
		member{"now", m.now},
		member{"advance", m.advance},
		member{"sleep", m.sleep},
		member{"isVirtual", m.isVirtual},
	)
}

// newSleep is the module's top-level `sleep`, the same as clock.sleep.
func newSleep(h *host) goja.Value { return h.named("sleep", (&clockModule{h}).sleep) }

func (m *clockModule) now(goja.FunctionCall) goja.Value {
	return m.vm.ToValue(m.clock.Now().UnixMilli())
}

func (m *clockModule) isVirtual(goja.FunctionCall) goja.Value {
	return m.vm.ToValue(m.clock.IsVirtual())
}

func (m *clockModule) advance(call goja.FunctionCall) goja.Value {
	m.need("clock.advance", RequireClock)
	arg := call.Argument(0)
	back := ""
	if goja.IsString(arg) {
		if d, err := time.ParseDuration(strings.TrimSpace(arg.String())); err == nil && d < 0 {
			back = strings.TrimSpace(arg.String())
		}
	} else if goja.IsNumber(arg) && arg.ToFloat() < 0 {
		back = arg.String() + " ms"
	}
	if back != "" {
		m.throw("TypeError", "clock.advance: the scenario clock cannot go back (%s); give how far to move it forward, such as \"5m\"", back)
	}
	d := m.duration(arg, "clock.advance(duration)")
	if m.target.Kind == TargetMock {
		// The in-process stack shares this very clock with its servers.
		m.clock.Advance(d)
	} else {
		// A standalone `vbharness mock` has one clock for both servers; move it, then
		// move our own view of time by the same amount.
		m.controlJSON("entra", "POST", "/_mock/clock/advance", map[string]string{"duration": d.String()})
		m.clock.Advance(d)
	}
	return m.vm.ToValue(m.clock.Now().UnixMilli())
}

func (m *clockModule) sleep(call goja.FunctionCall) goja.Value {
	m.needTest("sleep")
	d := m.duration(call.Argument(0), "sleep(duration)")
	if err := m.clock.Sleep(m.ctx, d); err != nil {
		m.throwErr("sleep", err)
	}
	m.checkCtx("sleep")
	return goja.Undefined()
}
