package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/vbharness/vbharness/engine"
	"github.com/vbharness/vbharness/runner"
	"github.com/vbharness/vbharness/runner/runnertest"
)

func TestRunShardUsageErrorsExit2BeforeAnyTestRuns(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		args   []string
		env    map[string]string
		stderr string
	}{
		{"index past the count", []string{"run", "scenarios", "--shard", "4/3"}, nil, `vbharness: invalid shard: --shard "4/3": the shard index must be from 1 to 3`},
		{"index 0", []string{"run", "scenarios", "--shard", "0/3"}, nil, `--shard "0/3": the shard index must be from 1 to 3`},
		{"no shards", []string{"run", "scenarios", "--shard", "1/0"}, nil, `--shard "1/0": the shard count must be at least 1`},
		{"not numbers", []string{"run", "scenarios", "--shard", "a/b"}, nil, `--shard "a/b": want i/n, the i-th of n shards counted from 1 (1/3, 2/3, 3/3), or auto`},
		{"auto with no environment", []string{"run", "scenarios", "--shard", "auto"}, nil, "--shard auto found no shard in the environment: set VBHARNESS_SHARD=i/n"},
		{"auto on Kubernetes without a count", []string{"run", "scenarios", "--shard", "auto"}, map[string]string{"JOB_COMPLETION_INDEX": "1"}, "JOB_COMPLETION_INDEX=1 is set (a Kubernetes Indexed Job) but not VBHARNESS_SHARD_TOTAL"},
		{"durations without a shard", []string{"run", "scenarios", "--shard-durations", "last.json"}, nil, "--shard-durations balances --shard; give --shard i/n or --shard auto with it"},
		{"durations from a missing file", []string{"run", "scenarios", "--shard", "1/2", "--shard-durations", "last.json"}, nil, "vbharness: --shard-durations: open "},
		{"durations from a file that is not a JSON report", []string{"run", "scenarios", "--shard", "1/2", "--shard-durations", "scenarios/login.js"}, nil, "login.js: not a vbharness JSON report"},
		{"merge without reports", []string{"report", "merge"}, nil, "requires at least 1 arg"},
		{"merge of a file that is not a report", []string{"report", "merge", "scenarios/login.js"}, nil, "not a vbharness JSON report"},
		{"merge with a bad report format", []string{"report", "merge", "x.json", "--report", "pdf=x.pdf"}, nil, `unknown format "pdf"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, passing())
			for k, v := range c.env {
				f.env[k] = v
			}
			r := f.run(c.args...)
			if r.code != runner.ExitUsage || !strings.Contains(r.stderr, c.stderr) {
				t.Errorf("exit %d, stderr\n%s\nwant 2 and\n%s", r.code, r.stderr, c.stderr)
			}
			if len(f.ran()) != 0 {
				t.Errorf("tests ran despite the usage error: %q", f.ran())
			}
		})
	}
}

func TestRunShardAutoReadsTheCIEnvironment(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		env    map[string]string
		header string
	}{
		{"GitHub Actions matrix through VBHARNESS_SHARD", map[string]string{"VBHARNESS_SHARD": "2/3"}, "1 test (shard 2/3 of 3)"},
		{"GitLab parallel:", map[string]string{"CI_NODE_INDEX": "3", "CI_NODE_TOTAL": "3"}, "1 test (shard 3/3 of 3)"},
		{"Kubernetes Indexed Job", map[string]string{"JOB_COMPLETION_INDEX": "0", "VBHARNESS_SHARD_TOTAL": "2"}, "2 tests (shard 1/2 of 3)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, passing())
			for k, v := range c.env {
				f.env[k] = v
			}
			r := f.run("run", "scenarios", "--shard", "auto")
			if r.code != 0 || !strings.Contains(r.stdout, "vbharness run: "+c.header+" in 2 files") {
				t.Errorf("exit %d, want 0 and a header with %q\n%s%s", r.code, c.header, r.stdout, r.stderr)
			}
		})
	}
}

func TestRunAnEmptyShardPasses(t *testing.T) {
	t.Parallel()
	// A CI matrix wider than the catalogue: the shards with no test pass.
	f := newFixture(t, passing())
	r := f.run("run", "scenarios", "--shard", "5/5", "--report", "json=s5.json")
	if r.code != 0 || r.lastLine() != "0 passed, 0 failed, 0 skipped" || len(f.ran()) != 0 {
		t.Errorf("exit %d, last line %q, ran %q\n%s", r.code, r.lastLine(), f.ran(), r.stderr)
	}
}

// recordingEngine is the real engine, with its real loading and registering, whose tests
// pass at once and are recorded: what the runner ran, without the cost of running it.
type recordingEngine struct {
	runner.Engine
	mu  *sync.Mutex
	ran *[]string
}

type recordingScript struct {
	runner.Script
	e    recordingEngine
	file string
}

func (e recordingEngine) Load(path string) (runner.Script, error) {
	s, err := e.Engine.Load(path)
	if err != nil {
		return nil, err
	}
	return recordingScript{s, e, path}, nil
}

func (s recordingScript) Run(_ context.Context, test string, opts engine.RunOptions) *engine.Result {
	s.e.mu.Lock()
	*s.e.ran = append(*s.e.ran, s.file+" › "+test)
	s.e.mu.Unlock()
	return &engine.Result{Name: test, File: s.file, Status: engine.StatusPassed, Seed: opts.Seed}
}

// reportTests reads a JSON report's summary, exit code and tests.
type reportTests struct {
	ExitCode int            `json:"exit_code"`
	Summary  map[string]int `json:"summary"`
	Tests    []struct {
		File, Name, Status string
		Seed               int64
	} `json:"tests"`
}

func readReportTests(t *testing.T, path string) reportTests {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r reportTests
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return r
}

func TestShardsOfTheCatalogueRunEveryTestOnce(t *testing.T) {
	t.Parallel()
	var (
		mu  sync.Mutex
		ran []string
	)
	f := newFixture(t, nil)
	d := f.deps()
	d.newEngine = func(fsys fs.FS) runner.Engine { return recordingEngine{runner.NewEngine(fsys), &mu, &ran} }
	if r := f.runWith(d, "run", "--seed", "42", "--report", "json=whole.json"); r.code != 0 {
		t.Fatalf("the whole catalogue: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	whole := slices.Clone(ran)
	slices.Sort(whole)
	if len(whole) < 20 {
		t.Fatalf("the catalogue ran %d tests", len(whole))
	}
	wholeReport := readReportTests(t, filepath.Join(f.dir, "whole.json"))
	for _, n := range []int{1, 2, 3, 7} {
		mu.Lock()
		ran = nil
		mu.Unlock()
		var reports []string
		for i := 1; i <= n; i++ {
			p := fmt.Sprintf("shard-%d-of-%d.json", i, n)
			r := f.runWith(d, "run", "--seed", "42", "--shard", fmt.Sprintf("%d/%d", i, n), "--report", "json="+p)
			if r.code != 0 {
				t.Fatalf("shard %d/%d: exit %d\n%s%s", i, n, r.code, r.stdout, r.stderr)
			}
			reports = append(reports, p)
		}
		got := slices.Clone(ran)
		slices.Sort(got)
		if !slices.Equal(got, whole) {
			t.Errorf("%d shards ran %d tests, the whole run %d; every test must run exactly once:\nshards: %q\nwhole:  %q", n, len(got), len(whole), got, whole)
		}
		merged := fmt.Sprintf("merged-%d.json", n)
		r := f.runWith(d, append(append([]string{"report", "merge"}, reports...), "--report", "json="+merged)...)
		if r.code != 0 || r.lastLine() != fmt.Sprintf("%d passed, 0 failed, 0 skipped", len(whole)) {
			t.Fatalf("merge of %d shards: exit %d\n%s%s", n, r.code, r.stdout, r.stderr)
		}
		m := readReportTests(t, filepath.Join(f.dir, merged))
		if fmt.Sprint(m.Summary) != fmt.Sprint(wholeReport.Summary) || fmt.Sprint(m.Tests) != fmt.Sprint(wholeReport.Tests) {
			t.Errorf("merge of %d shards differs from the whole run:\n%+v\n%+v", n, m, wholeReport)
		}
	}
}

func TestShardsOfTheCatalogueMergeToTheTotalsOfTheWholeRun(t *testing.T) {
	t.Parallel()
	// The real engine and mocks: the catalogue in three shards, merged, against the
	// catalogue run whole.
	f := newFixture(t, nil)
	d := f.realEngine()
	if r := f.runWith(d, "run", "--seed", "7", "--report", "json=whole.json"); r.code != 0 {
		t.Fatalf("the whole catalogue: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	args := []string{"report", "merge"}
	for i := 1; i <= 3; i++ {
		p := fmt.Sprintf("s%d.json", i)
		if r := f.runWith(d, "run", "--seed", "7", "--shard", fmt.Sprintf("%d/3", i), "--report", "json="+p); r.code != 0 {
			t.Fatalf("shard %d/3: exit %d\n%s%s", i, r.code, r.stdout, r.stderr)
		}
		args = append(args, p)
	}
	r := f.runWith(d, append(args, "--report", "json=merged.json", "--report", "junit=merged.xml", "--report", "tap=merged.tap")...)
	whole, merged := readReportTests(t, filepath.Join(f.dir, "whole.json")), readReportTests(t, filepath.Join(f.dir, "merged.json"))
	if r.code != whole.ExitCode || merged.ExitCode != whole.ExitCode || fmt.Sprint(merged.Summary) != fmt.Sprint(whole.Summary) {
		t.Errorf("merged: exit %d, report exit %d, summary %v; whole run: exit %d, summary %v\n%s%s",
			r.code, merged.ExitCode, merged.Summary, whole.ExitCode, whole.Summary, r.stdout, r.stderr)
	}
	if fmt.Sprint(merged.Tests) != fmt.Sprint(whole.Tests) {
		t.Errorf("merged tests (file, name, status, seed) differ from the whole run's:\n%v\n%v", merged.Tests, whole.Tests)
	}
	for _, p := range []string{"merged.xml", "merged.tap"} {
		if st, err := os.Stat(filepath.Join(f.dir, p)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", p, err)
		}
	}
}

func TestReportMergeExitsWithTheWholeRunsCode(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]*runnertest.Script{
		"a.js": {Tests: []runnertest.Test{runnertest.Pass("one"), runnertest.Fail("two"), runnertest.Pass("three")}},
	})
	var reports []string
	for i := 1; i <= 2; i++ {
		p := fmt.Sprintf("s%d.json", i)
		f.run("run", "a.js", "--shard", fmt.Sprintf("%d/2", i), "--report", "json="+p)
		reports = append(reports, p)
	}
	r := f.run(append([]string{"report", "merge"}, reports...)...)
	if r.code != 1 || r.lastLine() != "2 passed, 1 failed, 0 skipped" {
		t.Errorf("exit %d, last line %q; want 1 and the whole run's summary\n%s", r.code, r.lastLine(), r.stderr)
	}
	r = f.run("report", "merge", reports[0])
	if r.code != 2 || !strings.Contains(r.stderr, "vbharness: report merge: cannot merge: shard 2/2 missing; give the reports of all 2 shards") {
		t.Errorf("one shard of two: exit %d\n%s", r.code, r.stderr)
	}
}

func TestCheckParsesCommandLinesWithoutRunningThem(t *testing.T) {
	t.Parallel()
	good := [][]string{
		{"run", "--shard", "auto", "--seed", "12", "--report", "json=shard.json"},
		{"run", "./scenarios", "--shard", "2/3", "--shard-durations", "last.json"},
		{"report", "merge", "a.json", "b.json", "--report", "junit=results.xml"},
		{"mock", "--http"},
	}
	for _, args := range good {
		if err := Check(args); err != nil {
			t.Errorf("Check(%q) = %v", args, err)
		}
	}
	bad := map[string][]string{
		"unknown flag: --shrad":                        {"run", "--shrad", "1/2"},
		`unknown command "rnu"`:                        {"rnu"},
		"requires at least 1 arg":                      {"report", "merge"},
		`invalid argument "x"`:                         {"run", "--seed", "x"},
		`unknown command "merg"`:                       {"report", "merg"},
		"unknown flag: --shard":                        {"mock", "--shard", "1/2"},
		"unknown shorthand flag":                       {"report", "merge", "a.json", "-x"},
		`unknown command "extra" for "vbharness mock"`: {"mock", "extra"},
	}
	for want, args := range bad {
		if err := Check(args); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Check(%q) = %v, want an error containing %q", args, err, want)
		}
	}
}
