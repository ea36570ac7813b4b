package engine

import (
	"strings"

	"github.com/dop251/goja"
)

// maxConsoleValue is how many characters of a non-string value console.* keeps.
const maxConsoleValue = 2000

// consoleModule is `console` (also the global console): lines are captured per test with
// their level, redacted when the result is finished.
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
		parts := make([]string, len(call.Arguments))
		for i, a := range call.Arguments {
			if s, ok := a.Export().(string); ok && goja.IsString(a) {
				parts[i] = s
			} else {
				parts[i] = m.formatCompact(a, maxConsoleValue)
			}
		}
		m.rec.console = append(m.rec.console, ConsoleLine{Level: level, Text: strings.Join(parts, " ")})
		return goja.Undefined()
	}
}
