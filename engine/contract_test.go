package engine

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"
)

// The run's --contract mode, a test's contract option and what a violation does to the
// result (testdata/contract.js): fail fails a test that would pass, naming the first
// violation; warn records the violations and leaves the status; off checks nothing; a
// test may loosen the run's mode, never tighten it.
func TestContractModes(t *testing.T) {
	t.Parallel()
	s := load(t, "contract.js")
	const off = "a stubbed answer off the contract"
	cases := []struct {
		name       string
		test       string
		run        ContractMode
		status     Status
		violations int
	}{
		{"fail mode fails the test, naming the first violation", off, ContractFail, StatusFailed, 2},
		{"warn mode records the violations and the test passes", off, ContractWarn, StatusPassed, 2},
		{"off checks nothing", off, ContractOff, StatusPassed, 0},
		{"no mode is off", off, "", StatusPassed, 0},
		{"a test's warn loosens the run's fail", "the same, with the test's contract option warn", ContractFail, StatusPassed, 2},
		{"a test's off turns the checks off", "the same, with the test's contract option off", ContractFail, StatusPassed, 0},
		{"a conforming flow has no violation in fail mode", "a conforming sign-in and list", ContractFail, StatusPassed, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			target, _ := newMockTarget(t)
			res := s.Run(context.Background(), tc.test, RunOptions{Target: target, Contract: tc.run})
			if res.Status != tc.status || len(res.Violations) != tc.violations {
				t.Fatalf("%s, %d violations (%v); want %s, %d\n%s", res.Status, len(res.Violations), res.Violations, tc.status, tc.violations, res.Message)
			}
			if tc.status == StatusFailed {
				if !res.ContractFailed || !strings.HasPrefix(res.Message, "contract: GET /v8/Jobs/{jobId} (Job_GetById) response 200 /lastStatus: expected one of") || !strings.HasSuffix(res.Message, "(and 1 more)") {
					t.Errorf("message %q, contract failed %v", res.Message, res.ContractFailed)
				}
			} else if res.ContractFailed {
				t.Errorf("ContractFailed set on a %s test", res.Status)
			}
			if tc.violations == 0 {
				return
			}
			if p := res.Violations[0].Pointer + " " + res.Violations[1].Pointer; p != "/lastStatus /name" {
				t.Errorf("pointers %q, want /lastStatus /name", p)
			}
			var lines []string
			for _, x := range res.Trace {
				lines = append(lines, x.Contract...)
			}
			if len(lines) != 2 || !strings.Contains(lines[1], "/name: expected a string, not null, received null") {
				t.Errorf("the trace shows %q", lines)
			}
		})
	}
}

func TestContractOptionRefusesUnknownModes(t *testing.T) {
	t.Parallel()
	l := NewLoader(fstest.MapFS{"bad_contract.js": {Data: []byte(`const { test } = require("vbharness");
test("a", () => {}, { contract: "strict" });
`)}})
	s, err := l.Load("bad_contract.js")
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Tests(context.Background())
	want := `bad_contract.js:2:5: TypeError: test("a"): option contract must be "fail", "warn" or "off" (it may loosen the run's --contract, never tighten it), not strict`
	if err == nil || err.Error() != want {
		t.Errorf("Tests = %v\nwant %s", err, want)
	}
}

func TestEffectiveContract(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ run, test, want ContractMode }{
		{ContractFail, "", ContractFail},
		{ContractFail, ContractWarn, ContractWarn},
		{ContractWarn, ContractFail, ContractWarn}, // never tightened
		{ContractWarn, ContractOff, ContractOff},
		{"", ContractFail, ContractOff},
	} {
		if got := EffectiveContract(tc.run, tc.test); got != tc.want {
			t.Errorf("EffectiveContract(%q, %q) = %q, want %q", tc.run, tc.test, got, tc.want)
		}
	}
}
