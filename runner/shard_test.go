package runner_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vbharness/vbharness/engine"
	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/runner"
	"github.com/vbharness/vbharness/runner/runnertest"
)

func TestParseShard(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, arg string
		env       map[string]string
		want      runner.Shard
		err       string // part of the error; "" for none
	}{
		{name: "i/n", arg: "2/3", want: runner.Shard{Index: 2, Total: 3}},
		{name: "one shard", arg: "1/1", want: runner.Shard{Index: 1, Total: 1}},
		{name: "index 0 is refused: shards count from 1", arg: "0/3", err: "the shard index must be from 1 to 3"},
		{name: "index past the count", arg: "4/3", err: "the shard index must be from 1 to 3"},
		{name: "no shards", arg: "1/0", err: "the shard count must be at least 1"},
		{name: "zero of zero", arg: "0/0", err: "the shard count must be at least 1"},
		{name: "not numbers", arg: "a/b", err: "want i/n"},
		{name: "no slash", arg: "3", err: "want i/n"},
		{name: "negative", arg: "-1/3", err: "the shard index must be from 1 to 3"},
		{name: "auto without environment", arg: "auto", env: map[string]string{}, err: "--shard auto found no shard in the environment"},
		{name: "auto from VBHARNESS_SHARD", arg: "auto", env: map[string]string{"VBHARNESS_SHARD": "3/4"}, want: runner.Shard{Index: 3, Total: 4}},
		{name: "auto with a bad VBHARNESS_SHARD", arg: "auto", env: map[string]string{"VBHARNESS_SHARD": "5/4"}, err: "$VBHARNESS_SHARD \"5/4\""},
		{name: "auto from GitLab (1-based)", arg: "auto", env: map[string]string{"CI_NODE_INDEX": "1", "CI_NODE_TOTAL": "2"}, want: runner.Shard{Index: 1, Total: 2}},
		{name: "auto from GitLab, total missing", arg: "auto", env: map[string]string{"CI_NODE_INDEX": "1"}, err: "GitLab sets CI_NODE_INDEX and CI_NODE_TOTAL together"},
		{name: "auto from Kubernetes (0-based)", arg: "auto", env: map[string]string{"JOB_COMPLETION_INDEX": "0", "VBHARNESS_SHARD_TOTAL": "3"}, want: runner.Shard{Index: 1, Total: 3}},
		{name: "auto from Kubernetes, last index", arg: "auto", env: map[string]string{"JOB_COMPLETION_INDEX": "2", "VBHARNESS_SHARD_TOTAL": "3"}, want: runner.Shard{Index: 3, Total: 3}},
		{name: "auto from Kubernetes, index past the count", arg: "auto", env: map[string]string{"JOB_COMPLETION_INDEX": "3", "VBHARNESS_SHARD_TOTAL": "3"}, err: "the shard index must be from 1 to 3"},
		{name: "auto from Kubernetes without a count", arg: "auto", env: map[string]string{"JOB_COMPLETION_INDEX": "0"}, err: "but not VBHARNESS_SHARD_TOTAL"},
		{name: "VBHARNESS_SHARD wins over CI variables", arg: "auto", env: map[string]string{"VBHARNESS_SHARD": "1/2", "CI_NODE_INDEX": "2", "CI_NODE_TOTAL": "2"}, want: runner.Shard{Index: 1, Total: 2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := runner.ParseShard(c.arg, c.env)
			if c.err != "" {
				if err == nil || !errors.Is(err, runner.ErrShard) || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("ParseShard(%q) = %v, %v; want an ErrShard containing %q", c.arg, got, err, c.err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("ParseShard(%q) = %v, %v; want %v", c.arg, got, err, c.want)
			}
		})
	}
}

// keys returns n test keys over a few files, in plan order.
func keys(n int) []runner.TestKey {
	out := make([]runner.TestKey, n)
	for i := range out {
		out[i] = runner.TestKey{File: fmt.Sprintf("scripts/f%02d.js", i/4), Name: fmt.Sprintf("test %d", i)}
	}
	return out
}

func TestAssignWithoutDurationsDealsTestsEvenly(t *testing.T) {
	t.Parallel()
	for _, total := range []int{1, 2, 3, 7, 40} {
		for _, tests := range []int{0, 1, 5, 33, 100} {
			got := runner.Assign(keys(tests), nil, total)
			count := make([]int, total)
			for _, s := range got {
				count[s]++
			}
			if slices.Max(count)-slices.Min(count) > 1 {
				t.Errorf("%d tests over %d shards: %v tests per shard, want counts within one", tests, total, count)
			}
		}
	}
}

func TestAssignDependsOnTheTestsNotTheirOrder(t *testing.T) {
	t.Parallel()
	k := keys(57)
	d := runner.Durations{}
	rng := rand.New(rand.NewPCG(1, 2))
	for i, key := range k {
		if i%5 != 0 { // some tests unknown to the report
			d[key] = time.Duration(rng.IntN(5000)) * time.Millisecond
		}
	}
	want := map[runner.TestKey]int{}
	for i, s := range runner.Assign(k, d, 7) {
		want[k[i]] = s
	}
	for round := range 5 {
		shuffled := slices.Clone(k)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		for i, s := range runner.Assign(shuffled, d, 7) {
			if want[shuffled[i]] != s {
				t.Fatalf("round %d: %v went to shard %d, in plan order to %d", round, shuffled[i], s, want[shuffled[i]])
			}
		}
	}
}

func TestAssignBalancesByDuration(t *testing.T) {
	t.Parallel()
	// One slow file and many quick tests: counted evenly, one shard would get the slow
	// tests; by duration, every shard stays within the greedy's bound (mean + longest).
	k := keys(40)
	d := runner.Durations{}
	var sum, longest time.Duration
	for i, key := range k {
		w := 100 * time.Millisecond
		if i < 4 {
			w = 10 * time.Second
		}
		d[key] = w
		sum += w
		longest = max(longest, w)
	}
	// The best splits: 2 shards 21.8s each; 3 shards, two slow tests share one (20s);
	// 7 shards, one slow test each on four and the quick ones on the rest (10s).
	best := map[int]time.Duration{2: 21800 * time.Millisecond, 3: 20 * time.Second, 7: 10 * time.Second}
	for _, total := range []int{2, 3, 7} {
		load := make([]time.Duration, total)
		for i, s := range runner.Assign(k, d, total) {
			load[s] += d[k[i]]
		}
		if bound := sum/time.Duration(total) + longest; slices.Max(load) > bound {
			t.Errorf("%d shards: loads %v, the longest over %v", total, load, bound)
		}
		if slices.Max(load) != best[total] {
			t.Errorf("%d shards: loads %v, want the longest %v", total, load, best[total])
		}
	}
}

// shardScripts is a catalogue-like set of fake scripts: passing, failing and skipped
// tests, a requirement the target lacks, a script that fails to load.
func shardScripts() map[string]*runnertest.Script {
	s := map[string]*runnertest.Script{
		"broken.js": {LoadErr: errors.New("broken.js:1:1 SyntaxError")},
		"req.js": {Tests: []runnertest.Test{
			{Info: engine.TestInfo{Name: "needs live", Requires: []engine.Requirement{engine.RequireLive}}},
			{Info: engine.TestInfo{Name: "needs control", Requires: []engine.Requirement{engine.RequireControl}}},
			{Info: engine.TestInfo{Name: "unknown requirement", Requires: []engine.Requirement{"teleport"}}},
		}},
	}
	for f := range 6 {
		var tests []runnertest.Test
		for i := range 5 {
			name := fmt.Sprintf("test %d", i)
			switch {
			case f == 2 && i == 1:
				tests = append(tests, runnertest.Fail(name))
			case f == 3 && i == 4:
				tests = append(tests, runnertest.Test{Info: engine.TestInfo{Name: name, Skip: true, SkipReason: "later"}})
			default:
				tests = append(tests, runnertest.Pass(name))
			}
		}
		s[fmt.Sprintf("f%d.js", f)] = &runnertest.Script{Tests: tests}
	}
	return s
}

func TestShardsRunEveryTestOnceAndMergeToTheWholeRun(t *testing.T) {
	t.Parallel()
	scripts := shardScripts()
	whole, _ := run(t, context.Background(), scripts, runner.Options{Seed: 5})
	for _, n := range []int{1, 2, 3, 7, 50} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			var shards []*runner.Outcome
			ran := map[string]int{}
			for i := 1; i <= n; i++ {
				eng := &runnertest.Engine{Scripts: scripts}
				files := make([]string, 0, len(scripts))
				for f := range scripts {
					files = append(files, f)
				}
				slices.Sort(files)
				p, err := runner.NewPlan(context.Background(), runner.Options{Engine: eng, Files: files,
					Target: (&runnertest.Target{}).Runner(), Seed: 5, Clock: clock.NewVirtual(time.Time{})})
				if err != nil {
					t.Fatal(err)
				}
				if err := p.Shard(runner.Shard{Index: i, Total: n}, nil); err != nil {
					t.Fatal(err)
				}
				o := p.Execute(context.Background())
				for _, c := range eng.Calls() {
					ran[c.File+" › "+c.Test]++
				}
				shards = append(shards, o)
			}
			for _, c := range []string{"f0.js › test 0", "f2.js › test 1", "req.js › needs control"} {
				if ran[c] != 1 {
					t.Errorf("%s ran %d times over %d shards, want once", c, ran[c], n)
				}
			}
			for name, times := range ran {
				if times != 1 {
					t.Errorf("%s ran %d times", name, times)
				}
			}
			slices.Reverse(shards) // merge takes the shards in any order
			m, err := runner.Merge(shards)
			if err != nil {
				t.Fatal(err)
			}
			if m.Counts() != whole.Counts() || m.ExitCode() != whole.ExitCode() || len(m.Results) != len(whole.Results) {
				t.Fatalf("merged: %+v exit %d, %d results; whole run: %+v exit %d, %d results",
					m.Counts(), m.ExitCode(), len(m.Results), whole.Counts(), whole.ExitCode(), len(whole.Results))
			}
			for i := range m.Results {
				g, w := m.Results[i], whole.Results[i]
				if g.File != w.File || g.Name != w.Name || g.Status != w.Status || g.SkipReason != w.SkipReason || g.Seed != w.Seed {
					t.Errorf("result %d: merged %s › %s %s %q seed %d, whole run %s › %s %s %q seed %d", i,
						g.File, g.Name, g.Status, g.SkipReason, g.Seed, w.File, w.Name, w.Status, w.SkipReason, w.Seed)
				}
			}
		})
	}
}

func TestMergeRefusesWhatIsNotTheShardsOfOneRun(t *testing.T) {
	t.Parallel()
	scripts := shardScripts()
	shard := func(i, n int, opts runner.Options) *runner.Outcome {
		eng := &runnertest.Engine{Scripts: scripts}
		files := opts.Files
		if files == nil {
			for f := range scripts {
				files = append(files, f)
			}
			slices.Sort(files)
		}
		opts.Engine, opts.Files, opts.Clock = eng, files, clock.NewVirtual(time.Time{})
		if opts.Target == nil {
			opts.Target = (&runnertest.Target{}).Runner()
		}
		p, err := runner.NewPlan(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			if err := p.Shard(runner.Shard{Index: i, Total: n}, nil); err != nil {
				t.Fatal(err)
			}
		}
		return p.Execute(context.Background())
	}
	other := (&runnertest.Target{}).Runner()
	other.Name = "lab"
	cases := []struct {
		name string
		outs []*runner.Outcome
		err  string
	}{
		{"no reports", nil, "no reports"},
		{"a shard missing", []*runner.Outcome{shard(1, 3, runner.Options{}), shard(3, 3, runner.Options{})}, "shard 2/3 missing"},
		{"a shard twice", []*runner.Outcome{shard(1, 2, runner.Options{}), shard(1, 2, runner.Options{}), shard(2, 2, runner.Options{})}, "shard 1/2 is given twice"},
		{"a whole run", []*runner.Outcome{shard(0, 0, runner.Options{})}, "is not a shard"},
		{"different counts", []*runner.Outcome{shard(1, 2, runner.Options{}), shard(2, 3, runner.Options{})}, "split differently"},
		{"different targets", []*runner.Outcome{shard(1, 2, runner.Options{}), shard(2, 2, runner.Options{Target: other})}, "ran on target mock, shard 2/2 on target lab"},
		{"different files", []*runner.Outcome{shard(1, 2, runner.Options{}), shard(2, 2, runner.Options{Files: []string{"f0.js"}})}, "ran different files, filters or tags"},
	}
	for _, c := range cases {
		_, err := runner.Merge(c.outs)
		if err == nil || !errors.Is(err, runner.ErrMerge) || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: Merge = %v, want an ErrMerge containing %q", c.name, err, c.err)
		}
	}
}

func TestShardKeepsRequirementsAndExclusiveTests(t *testing.T) {
	t.Parallel()
	// On a live target with a control API, a control test runs alone; a shard keeps
	// that rule and the skip reasons of the tests it holds.
	scripts := shardScripts()
	live := (&runnertest.Target{}).Runner()
	live.Name, live.Kind = "localmock", engine.TargetLive
	whole, _ := run(t, context.Background(), scripts, runner.Options{Target: live})
	reasons := map[string]string{}
	for _, r := range whole.Results {
		reasons[r.File+" › "+r.Name] = string(r.Status) + " " + r.SkipReason + r.Message
	}
	for i := 1; i <= 3; i++ {
		files := slices.Sorted(func(yield func(string) bool) {
			for f := range scripts {
				if !yield(f) {
					return
				}
			}
		})
		p, err := runner.NewPlan(context.Background(), runner.Options{Engine: &runnertest.Engine{Scripts: scripts}, Files: files,
			Target: live, Clock: clock.NewVirtual(time.Time{})})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Shard(runner.Shard{Index: i, Total: 3}, nil); err != nil {
			t.Fatal(err)
		}
		if err := p.Shard(runner.Shard{Index: i, Total: 3}, nil); err == nil {
			t.Error("a plan cut to a shard was cut again")
		}
		for _, r := range p.Execute(context.Background()).Results {
			if got := string(r.Status) + " " + r.SkipReason + r.Message; got != reasons[r.File+" › "+r.Name] {
				t.Errorf("shard %d/3: %s › %s is %q, in the whole run %q", i, r.File, r.Name, got, reasons[r.File+" › "+r.Name])
			}
		}
	}
}
