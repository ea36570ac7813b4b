package main

// TestDocsRun keeps the README and docs/ honest: every fenced block that is a command or a
// scenario is executed, and what the docs say a command prints is compared with what it
// prints, so the documentation cannot drift from the product.
//
// Block kinds, by the info string after the opening fence:
//
//	sh                 run with bash -euo pipefail, in order, per document (see sandbox below);
//	                   its annotations are checked (see below)
//	text output        the whole standard output of the sh block right before it (prose may
//	                   stand between them), minus what its annotated commands print
//	js                 a whole scenario: `vbharness run` on it must pass on the embedded mocks;
//	                   one whose first line is `// NAME.js: …` is also saved as NAME.js in the
//	                   document's sandbox, as the reader is told to save it
//	js fragment        part of a scenario: compiled (inside a function) to catch syntax errors
//	go                 compiled against this module with `go build` (see docs_go_test.go): a
//	                   block starting with `package` is a complete file; any other block is
//	                   statements, compiled as a function body that imports the packages it
//	                   names (this module's and the standard library's, by package name)
//	json               must be valid JSON
//	yaml               a targets file (runner/config); `yaml entra-config`,
//	                   `yaml veeam-fixtures` and `yaml veeam-stubs` are loaded by the
//	                   mocks' own loaders; `yaml github-actions`, `yaml gitlab-ci` and
//	                   `yaml k8s` are CI examples: parsed as a workflow, a .gitlab-ci.yml
//	                   or manifests, and every vbharness command in them must parse with
//	                   the CLI's flags (docs_ci_test.go)
//	text               output or prose: not run
//
// Any other info string fails the test, so a new block must say what it is.
//
// Promised outputs. A comment `# → OUTPUT` at the end of a command's last line (a command
// continues over a trailing backslash or pipe and inside open quotes and brackets) promises
// that the command prints exactly OUTPUT on standard output, trailing newlines aside.
// Comment lines `# → LINE` right after the command promise its output line by line:
//
//	curl -s -o /dev/null -w '%{http_code}\n' "$VEEAM/v8/Organization"   # → 401
//	curl -s "$VEEAM/_mock/clock"              # → {"now":"…","virtual":false}
//	vbharness token --target lab              # → ~ ^eyJ[\w-]+\.[\w-]+\.[\w-]+$
//	curl -s "$VEEAM/_mock/faults" | jq -c '.faults[] | {id, action}'
//	# → {"id":"f1","action":"respond"}
//	# → {"id":"f2","action":"drop"}
//
// In OUTPUT, and in a `text output` block, `…` stands for any text (a time, a token, a port)
// and a line that is only `…` for any number of lines, none included; everything else is
// literal. `# → ~ RE` instead searches the output for the Go regular expression RE (anchor it
// with ^ and $). An annotated command's output goes to the comparison, not to the block's
// output. A trailing comment that reads like an output without the arrow (`# 401`,
// `# {"status":"ok"}`) fails the test, so that every stated output is checked. A mismatch
// fails with the doc's line, the command, the promise and the output.
//
// The sh sandbox, one per document: a fresh `vbharness mock` (HTTPS, free ports) whose
// URLs and CA file are in $ENTRA, $VEEAM and $CA_FILE; a working folder holding a
// vbharness.yaml whose targets `localmock` and `lab` both point at that mock (so `login
// --target lab` and `token --target lab` run for real against it, with auto-approve
// standing in for the person), a `my-scenarios/` folder and a copy of the repository's
// `scripts/`; HOME in a temporary folder; `vbharness` on PATH, built from this package.
// `go run ./cmd/vbharness` and a local build's `bin/vbharness` are rewritten to
// `vbharness`. A foreground `vbharness mock` runs on free ports (and, unless the line
// gives --state-dir, its default state folder under the temporary HOME) until it has
// printed its banner, then gets SIGTERM and must exit 0; its standard output is the
// banner, in which those ports and that folder read as the defaults the docs show
// (127.0.0.1:8400, 127.0.0.1:4443, /home/you/.config/vbharness/mock). `curl` fails on
// HTTP errors (unless it asks for the status with -w). `go test`, `go build`, `go
// install`, `task` and `bash .ci/run` lines are not run (this test is part of `go test`,
// the sandbox is not a checkout, and the module is not published); the test checks instead
// that `go test -race ./...` is what .ci/run runs.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
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
	bin := filepath.Dir(binary(t)) // the folder holding vbharness, shared with the other tests
	ci, err := os.ReadFile(filepath.Join("..", "..", ".ci", "run"))
	if err != nil || !strings.Contains(string(ci), "go test -race") {
		t.Fatalf(".ci/run does not run go test -race (err %v)", err)
	}
	docs := map[string][]block{}
	var goBlocks []block
	for name, path := range docFiles(t) {
		docs[name] = readBlocks(t, path, name)
		for _, b := range docs[name] {
			if b.info == "go" {
				goBlocks = append(goBlocks, b)
			}
		}
	}
	t.Run("go blocks", func(t *testing.T) {
		t.Parallel()
		compileGoBlocks(t, goBlocks)
	})
	for name, blocks := range docs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var sb *sandbox
			for i, b := range blocks {
				kind, _, _ := strings.Cut(b.info, " ")
				switch {
				case b.info == "sh":
					if sb == nil {
						sb = newSandbox(t, bin)
					}
					var output *block
					if i+1 < len(blocks) && blocks[i+1].info == "text output" {
						output = &blocks[i+1]
					}
					sb.run(t, b, output)
				case b.info == "text output":
					if i == 0 || blocks[i-1].info != "sh" {
						t.Errorf("%s: a text output block must come right after the sh block whose output it is", b)
					}
				case b.info == "js":
					runScenario(t, bin, b)
					if m := savedAsRE.FindStringSubmatch(b.body); m != nil {
						if sb == nil {
							sb = newSandbox(t, bin)
						}
						sb.save(t, m[1], b.body)
					}
				case b.info == "js fragment":
					if _, err := goja.Compile(b.String(), "(function(){\n"+b.body+"\n})", false); err != nil {
						t.Errorf("%s does not compile: %v", b, err)
					}
				case b.info == "go": // compiled together, in "go blocks"
				case b.info == "go fragment":
					// An excerpt of a package's own code (unexported names): it must parse as
					// declarations, but cannot compile outside its package.
					if _, err := parser.ParseFile(token.NewFileSet(), b.String(), "package p\n"+b.body, parser.SkipObjectResolution); err != nil {
						t.Errorf("%s does not parse as Go declarations: %v", b, err)
					}
				case b.info == "json":
					if !json.Valid([]byte(b.body)) {
						t.Errorf("%s is not valid JSON; mark an illustrative sample ```text", b)
					}
				case kind == "yaml":
					checkYAML(t, b)
				case b.info == "text":
				default:
					t.Errorf("%s: unknown block kind; use sh, text output, js, js fragment, go, go fragment, json, yaml [entra-config|veeam-fixtures|veeam-stubs|github-actions|gitlab-ci|k8s] or text", b)
				}
			}
		})
	}
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
	case "yaml veeam-stubs":
		p := filepath.Join(dir, "stubs.yaml")
		_ = os.WriteFile(p, []byte(b.body), 0o644)
		if _, err := veeam.LoadStubs(p); err != nil {
			t.Errorf("%s is not a valid Veeam stubs file: %v", b, err)
		}
	case "yaml github-actions", "yaml gitlab-ci", "yaml k8s":
		if err := checkCIYAML(strings.TrimPrefix(b.info, "yaml "), b.body); err != nil {
			t.Errorf("%s: %v", b, err)
		}
	default:
		t.Errorf("%s: unknown yaml kind", b)
	}
}

// savedAsRE finds the file name a js block gives itself in its first line.
var savedAsRE = regexp.MustCompile(`^// ([\w-]+\.js):`)

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

// save writes a file of the docs into the working folder.
func (s *sandbox) save(t *testing.T, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(s.dir, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// prelude makes curl fail on HTTP errors (so a broken example cannot pass) unless the
// example asks for the status code itself, restores the variables and functions that
// earlier blocks of the document defined, as a terminal session would keep them, and
// defines how a foreground `vbharness mock` runs (__mock_fg, see the header).
const prelude = `__vars0=$(compgen -v | sort)
[ -f "$HOME/.docstate" ] && source "$HOME/.docstate"
curl() { case " $* " in *" -w "*) command curl "$@";; *) command curl --fail-with-body "$@";; esac; }
__mock_fg() {
  # A previous run's files go first: the forked shell truncates them only when it gets to
  # its redirections, and a banner left from before would let the SIGTERM below reach the
  # shell before it has become vbharness (exit 143, with the old "stopped" still there).
  rm -f "$HOME/mock2.out" "$HOME/mock2.err"
  XDG_CONFIG_HOME= vbharness mock "$@" --entra-addr 127.0.0.1:0 --veeam-addr 127.0.0.1:0 \
      > "$HOME/mock2.out" 2> "$HOME/mock2.err" &
  local pid=$! i rc=0 e v
  for i in $(seq 100); do
    grep -qs '^Press Ctrl-C' "$HOME/mock2.out" "$HOME/mock2.err" && break # stderr with --print-json
    kill -0 "$pid" 2> /dev/null || break
    sleep 0.1
  done
  kill -TERM "$pid" 2> /dev/null || true
  wait "$pid" || rc=$?
  if ! grep -q 'Entra' "$HOME/mock2.out" "$HOME/mock2.err" || [ "$rc" -ne 0 ]; then
    echo "vbharness mock did not start, or did not stop cleanly on SIGTERM (exit $rc):" >&2
    cat "$HOME/mock2.out" "$HOME/mock2.err" >&2
    return 1
  fi
  e=$(cat "$HOME/mock2.out" "$HOME/mock2.err" | grep -o 'Entra ID: *https://127\.0\.0\.1:[0-9]*' | grep -o '[0-9]*$')
  v=$(cat "$HOME/mock2.out" "$HOME/mock2.err" | grep -o 'Veeam REST API: *https://127\.0\.0\.1:[0-9]*' | grep -o '[0-9]*$')
  sed -e "s/127\.0\.0\.1:$e\b/127.0.0.1:8400/g" -e "s/127\.0\.0\.1:$v\b/127.0.0.1:4443/g" \
      -e "s#$HOME/.config/vbharness/mock#/home/you/.config/vbharness/mock#g" "$HOME/mock2.out"
}
`

// epilogue saves the block's variables and functions for the next block.
const epilogue = `
{ declare -f; for __v in $(comm -13 <(echo "$__vars0") <(compgen -v | sort)); do
    case "$__v" in __v|__vars0|BASH_*|FUNCNAME|PIPESTATUS|_) ;; *) declare -p "$__v" ;; esac
  done; } > "$HOME/.docstate"
`

var (
	goRunRE     = regexp.MustCompile(`go run \./cmd/vbharness\b`)
	localBinRE  = regexp.MustCompile(`(^|[\s;&|(])bin/vbharness\b`)
	notRunRE    = regexp.MustCompile(`^\s*(go test|go build|go install|task |bash \.ci/run)`)
	mockLineRE  = regexp.MustCompile(`^\s*vbharness mock\b([^&|#]*)(#.*)?$`)
	loginLineRE = regexp.MustCompile(`\bvbharness login\b`)
)

// rewrite turns one line of a doc's sh block into what the sandbox runs (see the header),
// and says whether it runs at all.
func rewrite(line string) (string, bool) {
	line = goRunRE.ReplaceAllString(line, "vbharness")
	line = localBinRE.ReplaceAllString(line, "${1}vbharness")
	switch {
	case notRunRE.MatchString(line):
		return ": # not run by the docs test: " + line, false
	case loginLineRE.MatchString(line):
		// The person who signs in: approve every code after its first poll. Set just
		// before the line, since an earlier command may have reset the mock.
		return `command curl -sf --cacert "$CA_FILE" -H 'Content-Type: application/json' "$ENTRA/_mock/devicecodes/auto-approve" -d '{"after_polls":1}' > /dev/null` + "\n" + line, true
	case mockLineRE.MatchString(line):
		return "__mock_fg" + strings.TrimRight(mockLineRE.FindStringSubmatch(line)[1], " "), true
	}
	return line, true
}

// run runs an sh block, compares what its annotated commands print with their annotations
// and, given the text output block that follows it, what the block prints with that.
func (s *sandbox) run(t *testing.T, b block, output *block) {
	t.Helper()
	cmds, err := splitCommands(b.body, b.doc, b.line+1)
	if err != nil {
		t.Error(err)
		return
	}
	var wantBlock *expectation
	if output != nil {
		wantBlock, _ = parseExpectation(output.body, true)
	}
	outDir := filepath.Join(s.home, "outputs", strconv.Itoa(b.line))
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		t.Fatal(err)
	}
	var script strings.Builder
	script.WriteString(prelude)
	for i, c := range cmds {
		var text strings.Builder
		runs := true
		for _, line := range c.lines {
			l, ok := rewrite(line)
			runs = runs && ok
			text.WriteString(l + "\n")
		}
		switch {
		case c.want == nil:
			script.WriteString(text.String())
		case !runs:
			t.Errorf("%s:%d: the docs test does not run this command, so its annotation cannot be checked", b.doc, b.line+1+c.last)
		default:
			// Braces, not a subshell: the command's variables stay set for the next ones.
			fmt.Fprintf(&script, "{ %s} > '%s'\n", text.String(), filepath.Join(outDir, strconv.Itoa(i)))
		}
	}
	script.WriteString(epilogue)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script.String())
	cmd.Dir = s.dir
	cmd.Env = s.env
	var stdout strings.Builder
	var all lockedBuffer
	cmd.Stdout = io.MultiWriter(&stdout, &all)
	cmd.Stderr = &all
	runErr := cmd.Run()
	if runErr != nil {
		t.Errorf("%s failed (%v):\n--- script\n%s--- output\n%s", b, runErr, b.body, all.String())
	}
	for i, c := range cmds {
		if c.want == nil {
			continue
		}
		got, err := os.ReadFile(filepath.Join(outDir, strconv.Itoa(i)))
		if err != nil {
			continue // the block stopped before this command: reported above
		}
		if !c.want.match(string(got)) {
			t.Errorf("%s:%d: the output of\n%s\nis\n%s\nbut the doc promises (# %s)\n%s",
				b.doc, b.line+1+c.wantAt, indent(strings.Join(c.lines, "\n")), indent(string(got)),
				arrow, indent(c.want.written))
		}
	}
	if wantBlock != nil && runErr == nil && !wantBlock.match(stdout.String()) {
		t.Errorf("%s:%d: the sh block at line %d prints\n%s\nbut the text output block promises\n%s",
			b.doc, output.line, b.line, indent(stdout.String()), indent(output.body))
	}
}

// indent indents text for a failure message, and shows empty text as such.
func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return "    (nothing)"
	}
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}

// lockedBuffer collects a command's standard output and error, written from two goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
