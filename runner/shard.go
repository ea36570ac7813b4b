package runner

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Shard is one share of a run split over Total machines: Index runs from 1 to Total.
// The zero Shard means the whole run.
type Shard struct {
	Index, Total int
}

// String is the shard as --shard takes it: "2/3".
func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Total) }

// IsZero reports whether s is the whole run (no sharding).
func (s Shard) IsZero() bool { return s.Total == 0 }

// ErrShard wraps every error ParseShard returns.
var ErrShard = errors.New("invalid shard")

// Environment variables --shard auto reads, in the order it tries them.
const (
	// EnvShard holds "i/n" (1-based), for any CI: GitHub Actions passes its matrix
	// values through it (docs/ci.md).
	EnvShard = "VBHARNESS_SHARD"
	// EnvShardTotal is the shard count that goes with Kubernetes' JOB_COMPLETION_INDEX
	// (an Indexed Job's completions, which the pod is not told).
	EnvShardTotal = "VBHARNESS_SHARD_TOTAL"
	// GitLab CI's parallel: jobs: CI_NODE_INDEX is 1-based.
	EnvGitLabIndex = "CI_NODE_INDEX"
	EnvGitLabTotal = "CI_NODE_TOTAL"
	// A Kubernetes Indexed Job's pod index, 0-based.
	EnvK8sIndex = "JOB_COMPLETION_INDEX"
)

// ParseShard reads a --shard value: "i/n" with 1 ≤ i ≤ n, or "auto", which takes the
// shard from env: VBHARNESS_SHARD ("i/n"), else GitLab's CI_NODE_INDEX/CI_NODE_TOTAL,
// else Kubernetes' JOB_COMPLETION_INDEX (0-based) with VBHARNESS_SHARD_TOTAL. Every
// error wraps ErrShard and says what to give instead.
func ParseShard(s string, env map[string]string) (Shard, error) {
	if s != "auto" {
		return parseShard(s, "--shard")
	}
	if v := env[EnvShard]; v != "" {
		return parseShard(v, "--shard auto: $"+EnvShard)
	}
	if idx, total := env[EnvGitLabIndex], env[EnvGitLabTotal]; idx != "" || total != "" {
		if idx == "" || total == "" {
			return Shard{}, fmt.Errorf("%w: --shard auto: GitLab sets %s and %s together (a job with parallel:), got %s=%q %s=%q",
				ErrShard, EnvGitLabIndex, EnvGitLabTotal, EnvGitLabIndex, idx, EnvGitLabTotal, total)
		}
		return parseShard(idx+"/"+total, "--shard auto: $"+EnvGitLabIndex+"/$"+EnvGitLabTotal)
	}
	if idx := env[EnvK8sIndex]; idx != "" {
		total := env[EnvShardTotal]
		if total == "" {
			return Shard{}, fmt.Errorf("%w: --shard auto: %s=%s is set (a Kubernetes Indexed Job) but not %s; set it to the Job's completions",
				ErrShard, EnvK8sIndex, idx, EnvShardTotal)
		}
		i, err := strconv.Atoi(idx)
		if err != nil || i < 0 {
			return Shard{}, fmt.Errorf("%w: --shard auto: %s=%q is not an index from 0", ErrShard, EnvK8sIndex, idx)
		}
		return parseShard(strconv.Itoa(i+1)+"/"+total, fmt.Sprintf("--shard auto: $%s+1/$%s", EnvK8sIndex, EnvShardTotal))
	}
	return Shard{}, fmt.Errorf("%w: --shard auto found no shard in the environment: set %s=i/n, or run under GitLab parallel: (%s, %s) "+
		"or a Kubernetes Indexed Job (%s with %s)", ErrShard, EnvShard, EnvGitLabIndex, EnvGitLabTotal, EnvK8sIndex, EnvShardTotal)
}

func parseShard(s, what string) (Shard, error) {
	is, ns, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(strings.TrimSpace(is))
	n, err2 := strconv.Atoi(strings.TrimSpace(ns))
	switch {
	case !ok || err1 != nil || err2 != nil:
		return Shard{}, fmt.Errorf("%w: %s %q: want i/n, the i-th of n shards counted from 1 (1/3, 2/3, 3/3), or auto", ErrShard, what, s)
	case n < 1:
		return Shard{}, fmt.Errorf("%w: %s %q: the shard count must be at least 1", ErrShard, what, s)
	case i < 1 || i > n:
		return Shard{}, fmt.Errorf("%w: %s %q: the shard index must be from 1 to %d", ErrShard, what, s, n)
	}
	return Shard{Index: i, Total: n}, nil
}

// TestKey names a test across runs and machines: its file as results show it, and its
// name.
type TestKey struct{ File, Name string }

// Durations are the wall times of a previous run's tests, which balance the shards.
type Durations map[TestKey]time.Duration

// DurationsOf returns the wall times of an outcome's results.
func DurationsOf(o *Outcome) Durations {
	d := make(Durations, len(o.Results))
	for i := range o.Results {
		r := &o.Results[i]
		d[TestKey{r.File, r.Name}] = r.Wall
	}
	return d
}

// Shard keeps the plan's share of shard s and leaves the rest out; call it after NewPlan
// and before Execute. The shares of 1/n … n/n together hold every test of the plan
// (and every script that failed to load) exactly once, whatever n is, and are the same
// on every machine: they depend only on the plan (files sorted, tests as registered, with
// the filter and tags applied) and on d, never on map order or timing.
//
// Balance: each test weighs its duration in d (looked up by the file as results show it
// and the name); a test d does not know weighs the mean of those it knows, and with no
// durations every test weighs the same, so the shards differ by at most one test. Tests
// go heaviest first to the lightest shard (ties: the lower shard), the classic greedy
// that keeps the longest shard within 4/3 of the best split.
func (p *Plan) Shard(s Shard, d Durations) error {
	if s.Total < 1 || s.Index < 1 || s.Index > s.Total {
		return fmt.Errorf("%w: %d/%d", ErrShard, s.Index, s.Total)
	}
	if !p.shard.IsZero() {
		return fmt.Errorf("%w: the plan is already shard %v", ErrShard, p.shard)
	}
	keys := p.Keys() // transient: the whole plan's names, once
	for i := range keys {
		keys[i].File = p.showPath(keys[i].File)
	}
	assign := Assign(keys, d, s.Total)
	i, entries, loadErrors := 0, 0, 0
	for _, f := range p.files {
		f.keep = []int32{}
		for j := range f.size() {
			if assign[i] == s.Index-1 {
				f.keep = append(f.keep, int32(j))
				entries++
				if f.loadErr != nil {
					loadErrors++
				}
			}
			i++
		}
		f.keep = slices.Clip(f.keep)
	}
	p.Unsharded, p.planned = p.entries-p.LoadErrors, p.entries
	p.entries, p.LoadErrors, p.shard = entries, loadErrors, s
	return nil
}

// ShardOf returns the shard the plan was cut to, or the zero Shard.
func (p *Plan) ShardOf() Shard { return p.shard }

func (p *Plan) showPath(f string) string {
	if p.opts.ShowPath != nil {
		return p.opts.ShowPath(f)
	}
	return f
}

// Assign splits tests over n shards and returns each test's shard, from 0 to n-1 (see
// Plan.Shard for the rule). keys may repeat (a file registering a name twice); the
// position in keys then decides. The result depends only on keys, d and n.
func Assign(keys []TestKey, d Durations, n int) []int {
	weight := make([]time.Duration, len(keys))
	var known, sum time.Duration
	var nKnown int
	for i, k := range keys {
		if w, ok := d[k]; ok {
			weight[i], sum = w, sum+w
			nKnown++
		} else {
			weight[i] = -1
		}
	}
	known = time.Millisecond // no durations at all: equal weights
	if nKnown > 0 {
		known = sum / time.Duration(nKnown)
	}
	for i := range weight {
		if weight[i] < 0 {
			weight[i] = known
		}
	}
	order := make([]int, len(keys))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		x, y := order[a], order[b]
		if weight[x] != weight[y] {
			return weight[x] > weight[y]
		}
		if keys[x].File != keys[y].File {
			return keys[x].File < keys[y].File
		}
		if keys[x].Name != keys[y].Name {
			return keys[x].Name < keys[y].Name
		}
		return x < y
	})
	load := make([]time.Duration, n)
	count := make([]int, n)
	out := make([]int, len(keys))
	for _, i := range order {
		best := 0
		for s := 1; s < n; s++ {
			// Lightest shard; among equals the one with fewer tests, then the lower.
			if load[s] < load[best] || (load[s] == load[best] && count[s] < count[best]) {
				best = s
			}
		}
		out[i] = best
		load[best] += weight[i]
		count[best]++
	}
	return out
}
