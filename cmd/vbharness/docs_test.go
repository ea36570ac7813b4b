package main

// TestDocsRun keeps the README and docs/ honest: every fenced block that is a command or a
// scenario is executed, so the documentation cannot drift from the product.
//
// Block kinds, by the info string after the opening fence:
//
//	sh                 run with bash -euo pipefail, in order, per document (see sandbox below)
//	js                 a whole scenario: `vbharness run` on it must pass on the embedded mocks
//	js fragment        part of a scenario: compiled (inside a function) to catch syntax errors
//	go                 a Go fragment: parsed as statements (or as a file when it has a package)
//	json               must be valid JSON
//	yaml               a targets file (runner/config); `yaml entra-config` and
//	                   `yaml veeam-fixtures` are loaded by the mocks' own loaders
//	text               output or prose: not run
//
// Any other info string fails the test, so a new block must say what it is.
//
// The sh sandbox, one per document: a fresh `vbharness mock` (HTTPS, free ports) whose URLs
// and CA file are in $ENTRA, $VEEAM and $CA_FILE; a working folder holding a vbharness.yaml
// whose targets `localmock` and `lab` both point at that mock (so `login --target lab` and
// `token --target lab` run for real against it, with auto-approve standing in for the person),
// a `my-scenarios/` folder and a copy of the repository's `scripts/`; HOME in a temporary folder; `vbharness` on PATH, built from this
// package. `go run ./cmd/vbharness` is rewritten to `vbharness`. A foreground `vbharness mock`
// runs for three seconds on free ports and must have started. `curl` fails on HTTP errors
// (unless it asks for the status with -w). `go test`, `go install`, `task` and `bash .ci/run`
// lines are not run (this test is part of `go test`, and the module is not published); the
// test checks instead that `go test -race ./...` is what .ci/run runs.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dop251/goja"

	"github.com/vbharness/vbharness/mocks/entra"
	"github.com/vbharness/vbharness/mocks/stack"
	"github.com/vbharness/vbharness/mocks/veeam"
	"github.com/vbharness/vbharness/runner/config"
)

type block struct {
	doc  string
	line int
	info string
	body string
}

func (b block) String() string { return fmt.Sprintf("%s:%d (```%s)", b.doc, b.line, b.info) }

var fenceRE = regexp.MustCompile("^```(.*)$")

func readBlocks(t *testing.T, path, name string) []block {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []block
	var cur *block
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		m := fenceRE.FindStringSubmatch(line)
		switch {
		case cur == nil && m != nil:
			cur = &block{doc: name, line: n, info: strings.TrimSpace(m[1])}
		case cur != nil && line == "```":
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.body += line + "\n"
		}
	}
	if cur != nil {
		t.Fatalf("%s: unclosed code block", cur)
	}
	return out
}

func docFiles(t *testing.T) map[string]string {
	t.Helper()
	root := filepath.Join("..", "..")
	files := map[string]string{"README.md": filepath.Join(root, "README.md")}
	matches, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range matches {
		files["docs/"+filepath.Base(m)] = m
	}
	return files
}

func TestDocsRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts mocks; skipped with -short")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash is not installed")
	}
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "vbharness"), ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ci, err := os.ReadFile(filepath.Join("..", "..", ".ci", "run"))
	if err != nil || !strings.Contains(string(ci), "go test -race") {
		t.Fatalf(".ci/run does not run go test -race (err %v)", err)
	}
	for name, path := range docFiles(t) {
		blocks := readBlocks(t, path, name)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var sb *sandbox
			for _, b := range blocks {
				kind, _, _ := strings.Cut(b.info, " ")
				switch {
				case b.info == "sh":
					if sb == nil {
						sb = newSandbox(t, bin)
					}
					sb.run(t, b)
				case b.info == "js":
					runScenario(t, bin, b)
				case b.info == "js fragment":
					if _, err := goja.Compile(b.String(), "(function(){\n"+b.body+"\n})", false); err != nil {
						t.Errorf("%s does not compile: %v", b, err)
					}
				case b.info == "go":
					if !parsesAsGo(b.body) {
						t.Errorf("%s is not valid Go (as a file or as statements)", b)
					}
				case b.info == "json":
					if !json.Valid([]byte(b.body)) {
						t.Errorf("%s is not valid JSON; mark an illustrative sample ```text", b)
					}
				case kind == "yaml":
					checkYAML(t, b)
				case b.info == "text":
				default:
					t.Errorf("%s: unknown block kind; use sh, js, js fragment, go, json, yaml [entra-config|veeam-fixtures] or text", b)
				}
			}
		})
	}
}

func parsesAsGo(src string) bool {
	fset := token.NewFileSet()
	if strings.HasPrefix(strings.TrimSpace(src), "package ") {
		_, err := parser.ParseFile(fset, "x.go", src, 0)
		return err == nil
	}
	_, err := parser.ParseFile(fset, "x.go", "package p\nfunc _() {\n"+src+"\n}\n", 0)
	return err == nil
}

func checkYAML(t *testing.T, b block) {
	t.Helper()
	dir := t.TempDir()
	switch b.info {
	case "yaml":
		if _, err := config.Parse("vbharness.yaml", dir, []byte(b.body)); err != nil {
			t.Errorf("%s is not a valid targets file: %v", b, err)
		}
	case "yaml entra-config":
		p := filepath.Join(dir, "directory.yaml")
		_ = os.WriteFile(p, []byte(b.body), 0o644)
		if _, err := entra.LoadConfig(p); err != nil {
			t.Errorf("%s is not a valid Entra config: %v", b, err)
		}
	case "yaml veeam-fixtures":
		p := filepath.Join(dir, "fixtures.yaml")
		_ = os.WriteFile(p, []byte(b.body), 0o644)
		if _, err := veeam.LoadFixtures(p); err != nil {
			t.Errorf("%s is not a valid Veeam fixtures file: %v", b, err)
		}
	default:
		t.Errorf("%s: unknown yaml kind", b)
	}
}

func runScenario(t *testing.T, bin string, b block) {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "scenario.js")
	if err := os.WriteFile(p, []byte(b.body), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(bin, "vbharness"), "run", "--no-color", p)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir, "VBHARNESS_TARGET=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("%s: the scenario does not pass on the embedded mocks (%v):\n%s", b, err, out)
		return
	}
	if !regexp.MustCompile(`(?m)^\d+ passed, 0 failed, \d+ skipped$`).Match(out) || regexp.MustCompile(`(?m)^0 passed, 0 failed, 0 skipped$`).Match(out) {
		t.Errorf("%s: the scenario registered no test:\n%s", b, out)
	}
}

// sandbox is one document's shell environment: a running mock and a working folder.
type sandbox struct {
	dir, home string
	env       []string
}

func newSandbox(t *testing.T, bin string) *sandbox {
	t.Helper()
	home := t.TempDir()
	// Sign-ins against a running mock wait Entra's polling interval in real time; the
	// README tells users to shorten it the same way for quick runs.
	cfg := filepath.Join(home, "mock.yaml")
	if err := os.WriteFile(cfg, []byte("lifetimes: { interval: 1 }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run, err := stack.Serve(context.Background(), stack.ServeOptions{
		EntraAddr: "127.0.0.1:0", VeeamAddr: "127.0.0.1:0", StateDir: filepath.Join(home, "mockstate"), ConfigFile: cfg,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = run.Shutdown(context.Background()) })
	work := filepath.Join(home, "work")
	if err := os.MkdirAll(filepath.Join(work, "my-scenarios"), 0o755); err != nil {
		t.Fatal(err)
	}
	// Commands in the docs are written from the repository root: mirror its scripts/.
	if err := os.CopyFS(filepath.Join(work, "scripts"), os.DirFS(filepath.Join("..", "..", "scripts"))); err != nil {
		t.Fatal(err)
	}
	target := func(name string) string {
		return fmt.Sprintf(`  %s:
    entra: { authority: %q, tenant: abc.onmicrosoft.com }
    veeam: { url: %q, ca_file: %q }
    control: { entra: %q, veeam: %q }
`, name, run.EntraURL, run.VeeamURL, run.CAFile, run.EntraURL, run.VeeamURL)
	}
	yaml := "targets:\n" + target("localmock") + target("lab")
	if err := os.WriteFile(filepath.Join(work, "vbharness.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	scenario := `const { test, expect } = require("vbharness");
test("the administrator logs in", ({ veeam }) => {
  expect(veeam.login({ admin: true }).get("/v8/ServiceInstance")).toHaveStatus(200);
});
`
	if err := os.WriteFile(filepath.Join(work, "my-scenarios", "admin.js"), []byte(scenario), 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(),
		"PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"HOME="+home, "ENTRA="+run.EntraURL, "VEEAM="+run.VeeamURL, "CA_FILE="+run.CAFile,
		"VBHARNESS_TARGET=", "VBHARNESS_CONTROL_TOKEN=", "VBHARNESS_MOCK_ADMIN_PASSWORD=", "NO_COLOR=1")
	return &sandbox{dir: work, home: home, env: env}
}

// prelude makes curl fail on HTTP errors (so a broken example cannot pass) unless the
// example asks for the status code itself, and restores the variables and functions that
// earlier blocks of the document defined, as a terminal session would keep them.
const prelude = `__vars0=$(compgen -v | sort)
[ -f "$HOME/.docstate" ] && source "$HOME/.docstate"
curl() { case " $* " in *" -w "*) command curl "$@";; *) command curl --fail-with-body "$@";; esac; }
`

// epilogue saves the block's variables and functions for the next block.
const epilogue = `
{ declare -f; for __v in $(comm -13 <(echo "$__vars0") <(compgen -v | sort)); do
    case "$__v" in __v|__vars0|BASH_*|FUNCNAME|PIPESTATUS|_) ;; *) declare -p "$__v" ;; esac
  done; } > "$HOME/.docstate"
`

var (
	goRunRE     = regexp.MustCompile(`go run \./cmd/vbharness\b`)
	notRunRE    = regexp.MustCompile(`^\s*(go test|go install|task |bash \.ci/run)`)
	mockLineRE  = regexp.MustCompile(`^\s*vbharness mock\b([^&|#]*)(#.*)?$`)
	loginLineRE = regexp.MustCompile(`\bvbharness login\b`)
)

func (s *sandbox) run(t *testing.T, b block) {
	t.Helper()
	var script strings.Builder
	script.WriteString(prelude)
	for _, line := range strings.Split(b.body, "\n") {
		line = goRunRE.ReplaceAllString(line, "vbharness")
		switch {
		case notRunRE.MatchString(line):
			script.WriteString(": # not run by the docs test: " + line + "\n")
		case loginLineRE.MatchString(line):
			// The person who signs in: approve every code after its first poll. Set just
			// before the line, since an earlier command may have reset the mock.
			script.WriteString(`command curl -sf --cacert "$CA_FILE" -H 'Content-Type: application/json' "$ENTRA/_mock/devicecodes/auto-approve" -d '{"after_polls":1}' > /dev/null` + "\n" + line + "\n")
		case mockLineRE.MatchString(line):
			args := mockLineRE.FindStringSubmatch(line)[1]
			fmt.Fprintf(&script, "( timeout 3 vbharness mock%s --entra-addr 127.0.0.1:0 --veeam-addr 127.0.0.1:0 --state-dir \"$HOME/mock2\" > \"$HOME/mock2.out\" 2>&1 || [ $? -eq 124 ] ) && grep -q 'Entra' \"$HOME/mock2.out\"\n", strings.TrimRight(args, " "))
		default:
			script.WriteString(line + "\n")
		}
	}
	script.WriteString(epilogue)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script.String())
	cmd.Dir = s.dir
	cmd.Env = s.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("%s failed (%v):\n--- script\n%s--- output\n%s", b, err, b.body, out)
	}
}
