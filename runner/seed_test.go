package runner_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/vbharness/vbharness/runner"
)

// TestSeedsSurviveJSONNumbers is issue 12 defect 4: per-test seeds were 63-bit, above
// 2^53, so jq and JavaScript read the JSON report's seeds rounded and `--seed` could not
// be checked against them. Every seed is now below 2^53 (an exact float64) and not 0
// (which the engine reads as "pick one").
func TestSeedsSurviveJSONNumbers(t *testing.T) {
	t.Parallel()
	for i := range 2000 {
		s := runner.TestSeed(int64(i), fmt.Sprintf("dir/f%d.js", i%7), fmt.Sprintf("test %d", i))
		if s <= 0 || s > runner.MaxSeed {
			t.Fatalf("TestSeed(%d, …) = %d, outside [1, 2^53-1]", i, s)
		}
		var f float64 // how jq and JavaScript read a JSON number
		if err := json.Unmarshal([]byte(fmt.Sprint(s)), &f); err != nil || int64(f) != s {
			t.Fatalf("seed %d reads back as %v from JSON", s, int64(f))
		}
	}
	if runner.MaxSeed != 1<<53-1 {
		t.Errorf("MaxSeed = %d", runner.MaxSeed)
	}
	for range 100 {
		if s := runner.NewRunSeed(); s < 1 || s > runner.MaxSeed {
			t.Fatalf("NewRunSeed = %d", s)
		}
	}
}
