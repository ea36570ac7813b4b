package engine

import (
	"context"
	"fmt"
	"os"
	"strings"
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
	var got []string
	for _, e := range res.Trace {
		got = append(got, fmt.Sprintf("%s %s %d", e.Method, strings.TrimPrefix(e.URL, "https://"), e.Status))
	}
	want := []string{
		"POST login.mock/abc.onmicrosoft.com/oauth2/v2.0/devicecode 200",
		"POST login.mock/abc.onmicrosoft.com/oauth2/v2.0/token 200",
		"POST veeam.mock:4443/v8/token 200",
		"GET veeam.mock:4443/v8/Organization 200",
		"GET veeam.mock:4443/v8/Organization 401",
		"POST veeam.mock:4443/v8/token 200",
		"GET veeam.mock:4443/v8/Organization 200",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("trace:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// BenchmarkSketchScenario measures one full modern-auth flow (device code, sign-in,
// polling, jwt-bearer login, an API call, an hour passing, 401, refresh, 200) in a fresh
// runtime on a fresh in-process stack: what one scenario test costs the runner.
func BenchmarkSketchScenario(b *testing.B) {
	s, err := NewLoader(os.DirFS(".")).Load("testdata/sketch.js")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		target, _ := newMockTarget(b)
		res := s.Run(context.Background(), "modern app-only login with refresh", RunOptions{Target: target, Seed: 1})
		if res.Status != StatusPassed {
			b.Fatalf("%s: %s", res.Status, res.Message)
		}
	}
}

// BenchmarkRuntimeSetup measures configure plus the top level of a small script: the
// fixed cost of every test before it does anything.
func BenchmarkRuntimeSetup(b *testing.B) {
	s, err := NewLoader(os.DirFS(".")).Load("testdata/sketch.js")
	if err != nil {
		b.Fatal(err)
	}
	target, _ := newMockTarget(b)
	b.ReportAllocs()
	for b.Loop() {
		r, err := configure(config{ctx: context.Background(), loader: s.loader, file: s.path, target: target, seed: 1})
		if err != nil {
			b.Fatal(err)
		}
		if err := r.runMain(s.prog); err != nil {
			b.Fatal(err)
		}
	}
}
