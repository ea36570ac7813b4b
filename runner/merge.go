package runner

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrMerge wraps every error Merge returns: the outcomes are not the shards of one run.
var ErrMerge = errors.New("cannot merge")

// Merge joins the outcomes of the shards of one run (1/n … n/n, in any order) into the
// outcome the whole run would have had: every result once, in the whole plan's order, so
// the counts and the exit code are those of an unsharded run. It refuses outcomes that
// are not the shards of one run: a whole run, shards of different counts, targets or seeds, a
// shard missing or given twice, or results that do not cover the plan exactly once (a
// shard's plan differed: other files, filter or tags). An interrupted shard may lack the
// tests it never started; the merged outcome is then interrupted too.
//
// The merged run started when the first shard started and lasted until the last one
// finished. The seed is the one every shard ran with (shards with different seeds are
// refused: the merged seed would not reproduce their tests); parallelism and timeout are
// the first shard's; Files is the largest count, or the
// files the results name if more.
func Merge(outs []*Outcome) (*Outcome, error) {
	if len(outs) == 0 {
		return nil, fmt.Errorf("%w: no reports", ErrMerge)
	}
	byIndex := map[int]*Outcome{}
	first := outs[0]
	for _, o := range outs {
		switch {
		case o.Shard.IsZero():
			return nil, fmt.Errorf("%w: a report of a whole run (not --shard) is not a shard", ErrMerge)
		case o.Shard.Total != first.Shard.Total:
			return nil, fmt.Errorf("%w: shard %v and shard %v are from runs split differently", ErrMerge, first.Shard, o.Shard)
		case o.Target.Name != first.Target.Name:
			return nil, fmt.Errorf("%w: shard %v ran on target %s, shard %v on target %s", ErrMerge, first.Shard, first.Target.Name, o.Shard, o.Target.Name)
		case o.Seed != first.Seed:
			return nil, fmt.Errorf("%w: shard %v ran with seed %d, shard %v with seed %d: the merged report's seed would not reproduce every test; run every shard with the same --seed (docs/ci.md)",
				ErrMerge, first.Shard, first.Seed, o.Shard, o.Seed)
		case o.Planned != first.Planned:
			return nil, fmt.Errorf("%w: shard %v planned %d tests, shard %v planned %d: the shards ran different files, filters or tags",
				ErrMerge, first.Shard, first.Planned, o.Shard, o.Planned)
		case byIndex[o.Shard.Index] != nil:
			return nil, fmt.Errorf("%w: shard %v is given twice", ErrMerge, o.Shard)
		}
		byIndex[o.Shard.Index] = o
	}
	var missing []string
	for i := 1; i <= first.Shard.Total; i++ {
		if byIndex[i] == nil {
			missing = append(missing, Shard{i, first.Shard.Total}.String())
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: shard %s missing; give the reports of all %d shards", ErrMerge, strings.Join(missing, ", "), first.Shard.Total)
	}

	m := &Outcome{
		Target: first.Target, Seed: first.Seed, Parallel: first.Parallel, Timeout: first.Timeout,
		Started: first.Started,
	}
	end := first.Started.Add(first.Elapsed)
	seen := make([]bool, first.Planned)
	for i := 1; i <= first.Shard.Total; i++ {
		o := byIndex[i]
		if o.Started.Before(m.Started) {
			m.Started = o.Started
		}
		if e := o.Started.Add(o.Elapsed); e.After(end) {
			end = e
		}
		m.Files = max(m.Files, o.Files)
		m.Interrupted = m.Interrupted || o.Interrupted
		m.Stopped = m.Stopped || o.Stopped
		m.Contract.Mode = o.Contract.Mode
		m.Contract.Violations += o.Contract.Violations
		m.Contract.Tests += o.Contract.Tests
		m.Contract.Failed += o.Contract.Failed
		for _, r := range o.Results {
			if r.PlanIndex < 0 || r.PlanIndex >= first.Planned {
				return nil, fmt.Errorf("%w: shard %v has %s › %s at position %d of a plan of %d", ErrMerge, o.Shard, r.File, r.Name, r.PlanIndex, first.Planned)
			}
			if seen[r.PlanIndex] {
				return nil, fmt.Errorf("%w: %s › %s (position %d) ran in two shards", ErrMerge, r.File, r.Name, r.PlanIndex)
			}
			seen[r.PlanIndex] = true
			m.Results = append(m.Results, r)
		}
	}
	if !m.Interrupted {
		for i, ok := range seen {
			if !ok {
				return nil, fmt.Errorf("%w: no shard ran the test at position %d of the plan", ErrMerge, i)
			}
		}
	}
	files := map[string]bool{}
	for i := range m.Results {
		files[m.Results[i].File] = true
	}
	m.Files = max(m.Files, len(files))
	// Positions are unique; sorting by them restores the whole plan's order. The merged
	// outcome is a whole run, so they go.
	sort.Slice(m.Results, func(a, b int) bool { return m.Results[a].PlanIndex < m.Results[b].PlanIndex })
	for i := range m.Results {
		m.Results[i].PlanIndex = 0
	}
	m.Elapsed = max(end.Sub(m.Started), 0)
	return m, nil
}
