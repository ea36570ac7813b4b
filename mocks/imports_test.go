package mocks

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// module is the module path the import rules are written for; it must be go.mod's.
const module = "github.com/vbharness/vbharness"

// TestImportRules keeps the dependency direction of HOUSE_STYLE.md: mocks import neither
// engine, runner nor cmd; engine never imports runner or cmd; runner never imports cmd;
// runner/config imports no mock server; mocks/veeam/spec, which owns the v8 document,
// imports no other package of the module (the mock builds on it, and so can a validating
// proxy or the runner's contract checks); mocks/veeam does not import the state file's
// package (mocks/state, bbolt), which imports no other package of the module.
//
// A rule that matches nothing proves nothing, so the test fails instead of passing
// quietly when the module path changes or a directory moves: module must be go.mod's
// module path, each rule's pattern must match packages, and each forbidden path must be
// a package tree of the module.
func TestImportRules(t *testing.T) {
	t.Parallel()
	if got := goModModule(t, "../go.mod"); got != module {
		t.Errorf("go.mod declares module %q, but the import rules are written for %q; update module in this test", got, module)
	}
	all := goList(t, module+"/...")
	hasTree := func(root string) bool {
		for _, p := range all {
			if p.path == root || strings.HasPrefix(p.path, root+"/") {
				return true
			}
		}
		return false
	}
	rules := []struct {
		dir       string // the packages under module/dir must not import forbidden
		forbidden []string
	}{
		{"mocks", []string{"engine", "runner", "cmd"}},
		{"engine", []string{"runner", "cmd"}},
		{"runner", []string{"cmd"}},
		// The targets file knows the file and the environment, not the mocks: a running
		// mock's defaults are filled in by runner.MockDefaults.
		{"runner/config", []string{"mocks/veeam", "mocks/entra", "mocks/stack"}},
		// "" is the whole module: the rule's own packages are all it may import.
		{"mocks/veeam/spec", []string{""}},
		// The state file (bbolt) is the standalone stack's: the Veeam mock writes to the
		// Store interface, so servers built without one (every in-process stack) carry no
		// database code, and the file's package knows nothing of what its records mean.
		{"mocks/veeam", []string{"mocks/state"}},
		{"mocks/state", []string{""}},
	}
	for _, r := range rules {
		pattern := module + "/" + r.dir + "/..."
		for _, f := range r.forbidden {
			if !hasTree(tree(f)) {
				t.Errorf("rule for %s forbids %s, but the module has no package there, so the rule checks nothing", pattern, tree(f))
			}
		}
		pkgs := goList(t, "-deps", pattern)
		matched := 0
		for _, p := range pkgs {
			if p.depOnly {
				continue
			}
			matched++
			if !strings.HasPrefix(p.path, module+"/"+r.dir) {
				t.Errorf("%s matched %s", pattern, p.path)
			}
		}
		if matched == 0 {
			t.Errorf("%s matched no packages, so its rule checks nothing", pattern)
		}
		for _, dep := range pkgs {
			if !dep.depOnly {
				continue // the rule's own packages (checked above to be under dir)
			}
			for _, f := range r.forbidden {
				if f := tree(f); dep.path == f || strings.HasPrefix(dep.path, f+"/") {
					t.Errorf("%s depends on %s", pattern, dep.path)
				}
			}
		}
	}
}

// tree is the import path of a forbidden package tree: module/f, or the module itself
// for "".
func tree(f string) string {
	if f == "" {
		return module
	}
	return module + "/" + f
}

// listed is one package of `go list`: its import path, and whether it is only a
// dependency of the packages the pattern matched.
type listed struct {
	path    string
	depOnly bool
}

// goList runs `go list` with args and a pattern; an error, or a pattern matching no
// packages, fails the test.
func goList(t *testing.T, args ...string) []listed {
	t.Helper()
	args = append([]string{"list", "-f", "{{.ImportPath}} {{.DepOnly}}"}, args...)
	cmd := exec.Command("go", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || strings.Contains(stderr.String(), "matched no packages") {
		t.Fatalf("go %s failed or matched no packages (err %v):\n%s", strings.Join(args, " "), err, stderr.String())
	}
	var pkgs []listed
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		path, dep, ok := strings.Cut(line, " ")
		if !ok {
			t.Fatalf("go list printed %q", line)
		}
		pkgs = append(pkgs, listed{path: path, depOnly: dep == "true"})
	}
	return pkgs
}

// goModModule returns the module path declared in a go.mod file.
func goModModule(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module"); ok && rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
			path := strings.TrimSpace(rest)
			if unq, err := strconv.Unquote(path); err == nil {
				path = unq
			}
			return path
		}
	}
	t.Fatalf("%s has no module line", file)
	return ""
}
