package runner_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vbharness/vbharness/engine"
	"github.com/vbharness/vbharness/runner"
)

// benchFlow is the full flow the runner benchmarks measure, per test: device code →
// sign-in → the token response as assertion → Veeam jwt-bearer login → an API call →
// 61 minutes pass → 401 → refresh → 200 → logout → 401. It costs five RS256 signatures
// (Entra's access token; Veeam's access and refresh token, twice) and one verification.
const benchFlow = `test(%q, ({ entra, veeam, clock }) => {
  const code = entra.deviceCode({ scope: "Directory.AccessAsUser.All User.ReadWrite.All offline_access" });
  entra.signIn(code);
  const assertion = entra.pollToken(code);
  const session = veeam.login({ assertion });
  expect(session.get("/v8/Organization")).toHaveStatus(200);
  clock.advance("61m");
  expect(session.get("/v8/Organization", { autoRefresh: false })).toHaveStatus(401);
  session.refresh();
  expect(session.get("/v8/Organization")).toHaveStatus(200);
  session.logout();
  expect(session.get("/v8/Organization", { autoRefresh: false })).toHaveStatus(401);
}, { requires: ["clock"] });
`

// benchTestsPerFile is how many tests each generated file registers, as a catalogue
// file with a handful of tests would.
const benchTestsPerFile = 10

// writeFlows writes n full-flow tests into files of benchTestsPerFile under dir/flows.
func writeFlows(tb testing.TB, dir string, n int) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "flows"), 0o755); err != nil {
		tb.Fatal(err)
	}
	for f := 0; f*benchTestsPerFile < n; f++ {
		var b strings.Builder
		b.WriteString("const { test, expect } = require(\"vbharness\");\n\n")
		for i := f * benchTestsPerFile; i < min(n, (f+1)*benchTestsPerFile); i++ {
			fmt.Fprintf(&b, benchFlow, fmt.Sprintf("full flow %d", i+1))
		}
		p := filepath.Join(dir, "flows", fmt.Sprintf("flow_%05d.js", f))
		if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

// timing records each test's wall time as the runner sees it: from TestStarted (before
// the test's mock stack is built) to TestFinished.
type timing struct {
	mu      sync.Mutex
	started map[string]time.Time
	walls   []time.Duration
	failed  []string
}

func (t *timing) TestStarted(p *runner.Planned) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.started[p.File+"\x00"+p.Info.Name] = time.Now()
}

func (t *timing) TestFinished(r *runner.Result) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if start, ok := t.started[r.File+"\x00"+r.Name]; ok {
		t.walls = append(t.walls, time.Since(start))
	}
	if r.Status != engine.StatusPassed {
		t.failed = append(t.failed, fmt.Sprintf("%s › %s: %s %s", r.File, r.Name, r.Status, r.Message))
	}
}

// quantile returns the q-quantile of ds (sorted in place).
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[min(len(ds)-1, int(q*float64(len(ds))))]
}

// benchRun runs b.N full-flow tests (one operation is one test) on the embedded mock
// target with parallel workers, and reports the median and 90th percentile of the
// tests' wall times. ns/op is the run's wall time per test, plan and discovery
// included, so 1 000 tests take 1 000 × ns/op; -benchtime 1000x runs exactly that.
func benchRun(b *testing.B, parallel int) { benchRunContract(b, parallel, "") }

// benchRunContract is benchRun with the run's contract mode ("" the target's default:
// fail on the embedded mocks).
func benchRunContract(b *testing.B, parallel int, contract engine.ContractMode) {
	dir := b.TempDir()
	writeFlows(b, dir, b.N)
	fsys := os.DirFS(dir)
	tm := &timing{started: map[string]time.Time{}}
	b.ReportAllocs()
	b.ResetTimer()
	files, err := runner.Discover(fsys, "flows")
	if err != nil {
		b.Fatal(err)
	}
	p, err := runner.NewPlan(context.Background(), runner.Options{
		Engine: runner.NewEngine(fsys), Files: files, Target: runner.MockTarget(nil),
		Parallel: parallel, Seed: 1, Observer: tm, Contract: contract,
	})
	if err != nil {
		b.Fatal(err)
	}
	o := p.Execute(context.Background())
	b.StopTimer()
	if c := o.Counts(); c.Passed != b.N {
		b.Fatalf("%d of %d tests passed: %s", c.Passed, b.N, strings.Join(tm.failed, "\n"))
	}
	b.ReportMetric(float64(quantile(tm.walls, 0.5).Microseconds())/1000, "ms/test-median")
	b.ReportMetric(float64(quantile(tm.walls, 0.9).Microseconds())/1000, "ms/test-p90")
}

// BenchmarkFullFlow is one full-flow test after another (--parallel 1): ns/op and
// ms/test-median are what one test costs. Target: median under 15 ms.
func BenchmarkFullFlow(b *testing.B) { benchRun(b, 1) }

// BenchmarkFullFlowParallel2 is the same with --parallel 2 on the machine's cores.
// Target: 1 000 tests in under 10 s, measured with -benchtime 1000x.
func BenchmarkFullFlowParallel2(b *testing.B) { benchRun(b, 2) }

// BenchmarkFullFlowParallel2ContractOff is BenchmarkFullFlowParallel2 with --contract off:
// what the contract checks of every exchange cost (docs/performance.md).
func BenchmarkFullFlowParallel2ContractOff(b *testing.B) { benchRunContract(b, 2, engine.ContractOff) }
