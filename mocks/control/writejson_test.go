package control

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// TestControlErrorsKeepAngleBrackets is issue 12 defect 19: the control API wrote
// "<" and ">" as \u003c and \u003e (encoding/json's HTML escaping), so an error such as
// `want {"user":"<upn>"}` read garbled in curl. Its bodies are JSON for programs and
// people, never HTML.
func TestControlErrorsKeepAngleBrackets(t *testing.T) {
	t.Parallel()
	w := httptest.NewRecorder()
	WriteError(w, 400, `user is required: {"user":"<upn>"} & more`)
	if body := w.Body.String(); !strings.Contains(body, `<upn>`) || !strings.Contains(body, `& more`) || strings.Contains(body, `\u003c`) {
		t.Errorf("body = %s; want < > & as written", body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	if body := w.Body.String(); strings.HasSuffix(body, "\n") {
		t.Errorf("body %q ends in a newline the old writer did not send", body)
	}
}
