package engine

import (
	"fmt"
	"slices"
	"strings"
)

// Capabilities are what a target offers, as far as requirements are concerned. A Target
// has them (Target.Capabilities); the runner knows them before it builds a test's target.
type Capabilities struct {
	Kind    TargetKind
	Control bool // the mock control API (/_mock/) is reachable
}

// requirement is one line of the requirements table.
type requirement struct {
	name Requirement
	// met says whether a target with these capabilities offers it.
	met func(Capabilities) bool
	// lacks says why a target (named by %q) does not.
	lacks string
	// offers names what the target must offer, for a test that did not declare it.
	offers string
	// alone: on a target every test of a run shares, a test with this requirement
	// changes what the others see (the clock, settings, faults, the journal), so it runs
	// alone.
	alone bool
}

// requirements is every requirement a test can declare: the one place that says what
// each means. The runner (plan and schedule) and the engine (Run, and the host calls
// that need one) all read it.
var requirements = []requirement{
	{RequireClock, func(c Capabilities) bool { return c.Kind == TargetMock || c.Control },
		"target %q has no controllable clock (only the embedded mocks and a running vbharness mock have one)",
		"a controllable clock", true},
	{RequireControl, func(c Capabilities) bool { return c.Control },
		"target %q has no mock control API", "the mock control API", true},
	{RequireLive, func(c Capabilities) bool { return c.Kind == TargetLive },
		"target %q is the embedded mocks", "a live target", false},
	{RequireIsolated, func(c Capabilities) bool { return c.Kind == TargetMock },
		"target %q is shared by every test of the run; only the embedded mocks give each test a fresh, private stack",
		"a fresh, private stack", false},
}

func lookupRequirement(r Requirement) (requirement, bool) {
	for _, q := range requirements {
		if q.name == r {
			return q, true
		}
	}
	return requirement{}, false
}

// Requirements lists every requirement a test can declare, in the order docs name them.
func Requirements() []Requirement {
	out := make([]Requirement, len(requirements))
	for i, q := range requirements {
		out[i] = q.name
	}
	return out
}

// Check says whether a test that declares reqs can run on the target named target with
// these capabilities: an error for a requirement vbharness does not know (a typo fails
// the test rather than skipping it in silence), else the skip reason of the first
// requirement the target lacks, else "".
func (c Capabilities) Check(target string, reqs []Requirement) (skip string, err error) {
	for _, r := range reqs {
		if _, ok := lookupRequirement(r); !ok {
			known := make([]string, len(requirements))
			for i, q := range requirements {
				known[i] = string(q.name)
			}
			return "", fmt.Errorf("unknown requirement %q (known: %s)", string(r), strings.Join(known, ", "))
		}
	}
	for _, r := range reqs {
		if q, _ := lookupRequirement(r); !q.met(c) {
			return fmt.Sprintf("requires %s: "+q.lacks, q.name, target), nil
		}
	}
	return "", nil
}

// RunsAlone reports whether a test that declares reqs must run alone on a target whose
// servers every test of the run shares.
func RunsAlone(reqs []Requirement) bool {
	for _, r := range reqs {
		if q, ok := lookupRequirement(r); ok && q.alone {
			return true
		}
	}
	return false
}

// Capabilities returns what t offers.
func (t *Target) Capabilities() Capabilities {
	return Capabilities{Kind: t.Kind, Control: t.Control != nil}
}

// Satisfies reports whether the target meets a requirement and, when it does not, why.
func (t *Target) Satisfies(req Requirement) (bool, string) {
	skip, err := t.Capabilities().Check(t.Name, []Requirement{req})
	if err != nil {
		return false, err.Error()
	}
	return skip == "", skip
}

// need refuses a host call that needs req when the running test did not declare it, or
// when the target does not offer it: a RequirementError naming the requirement, on every
// target, so a test that forgot requires fails on the embedded mocks too instead of
// passing there and failing on a lab.
func (h *host) need(what string, req Requirement) {
	h.needTest(what)
	q, _ := lookupRequirement(req)
	if h.test == nil || !slices.Contains(h.test.Requires, req) {
		h.throw("RequirementError", "%s needs requires: [%q] on the test; declare it, and targets without %s skip the test instead of failing it", what, string(req), q.offers)
	}
	if !q.met(h.target.Capabilities()) {
		h.throw("RequirementError", "%s: requires %s: "+q.lacks, what, req, h.target.Name)
	}
}
