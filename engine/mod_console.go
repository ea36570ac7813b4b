package engine

import (
	"github.com/dop251/goja"
)

// maxConsoleValue is how many characters of a non-string value console.* keeps.
const maxConsoleValue = 2000

// consoleModule is `console` (also the global console): lines are captured per test with
// their level, formatted as Node's console formats them (inspect.go), redacted when the
// result is finished.
type consoleModule struct{ *host }

func newConsole(h *host) goja.Value {
	m := &consoleModule{h}
	return h.object(
		member{"log", m.writer("log")},
		member{"info", m.writer("info")},
		member{"warn", m.writer("warn")},
		member{"error", m.writer("error")},
		member{"debug", m.writer("log")},
	)
}

func (m *consoleModule) writer(level string) func(goja.FunctionCall) goja.Value {
	return func(call goja.FunctionCall) goja.Value {
		m.rec.console = append(m.rec.console, ConsoleLine{Level: level, Text: m.formatArgs(call.Arguments)})
		return goja.Undefined()
	}
}
