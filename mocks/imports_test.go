package mocks

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportRules keeps the dependency direction of HOUSE_STYLE.md: mocks import neither
// engine, runner nor cmd; engine never imports runner or cmd; runner never imports cmd;
// mocks/veeam/spec, which owns the v8 document, imports no other package of the module
// (the mock builds on it, and so can a validating proxy or the runner's contract checks).
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
		{"github.com/vbharness/vbharness/mocks/veeam/spec", []string{mod}},
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
				if dep != r.pkgs && (dep == f || strings.HasPrefix(dep, strings.TrimSuffix(f, "/")+"/")) {
					t.Errorf("%s depends on %s", r.pkgs, dep)
				}
			}
		}
	}
}
