package engine

import (
	"context"
	"os"
	"testing"
	"time"
)

func TestSketchScenario(t *testing.T) {
	t.Parallel()
	s, err := NewLoader(os.DirFS(".")).Load("testdata/sketch.js")
	if err != nil {
		t.Fatal(err)
	}
	target, _ := newMockTarget(t)
	res := s.Run(context.Background(), "modern app-only login with refresh", RunOptions{Target: target, Timeout: 10 * time.Second})
	if res.Status != StatusPassed {
		t.Fatalf("status %s: %s\n%s", res.Status, res.Message, res.Stack)
	}
	if res.Virtual <= time.Hour {
		t.Errorf("virtual time %v, want more than an hour of token life", res.Virtual)
	}
	for _, e := range res.Trace {
		t.Logf("%s %s %d %s -> %s", e.Method, e.URL, e.Status, e.RequestBody, e.ResponseBody)
	}
}
