package engine

import (
	"context"
	"testing"
)

// Issue 14 item 6: mock.entra reads the Entra mock's applications and drives their
// credentials and consent, and the Veeam mock's app-only backups follow
// (testdata/applications.js).
func TestApplicationsFromScripts(t *testing.T) {
	t.Parallel()
	s := load(t, "applications.js")
	target, _ := newMockTarget(t)
	const name = "mock.entra's applications drive an organization's app-only backups"
	if res := s.Run(context.Background(), name, RunOptions{Target: target}); res.Status != StatusPassed {
		t.Errorf("%s: %s %s\n%s\nconsole: %+v", name, res.Status, res.Message, res.Stack, res.Console)
	}
}
