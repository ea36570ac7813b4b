package mocks

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportRules keeps the dependency direction of HOUSE_STYLE.md: mocks import neither
// engine, runner nor cmd; engine never imports runner or cmd; runner never imports cmd;
// runner/config imports no mock server.
func TestImportRules(t *testing.T) {
	t.Parallel()
	const mod = "github.com/vbharness/vbharness/"
	rules := []struct {
		pkgs      string
		forbidden []string
	}{
		{"github.com/vbharness/vbharness/mocks/...", []string{mod + "engine", mod + "runner", mod + "cmd"}},
		{"github.com/vbharness/vbharness/engine/...", []string{mod + "runner", mod + "cmd"}},
		{"github.com/vbharness/vbharness/runner/...", []string{mod + "cmd"}},
		// The targets file knows the file and the environment, not the mocks: a running
		// mock's defaults are filled in by runner.MockDefaults.
		{"github.com/vbharness/vbharness/runner/config", []string{mod + "mocks/veeam", mod + "mocks/entra", mod + "mocks/stack"}},
	}
	for _, r := range rules {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", r.pkgs).CombinedOutput()
		if err != nil {
			if strings.Contains(string(out), "matched no packages") {
				continue
			}
			t.Fatalf("go list %s: %v\n%s", r.pkgs, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, f := range r.forbidden {
				if dep == f || strings.HasPrefix(dep, f+"/") {
					t.Errorf("%s depends on %s", r.pkgs, dep)
				}
			}
		}
	}
}
