package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vbharness/vbharness/engine"
	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/mocks/secret"
	"github.com/vbharness/vbharness/runner"
	"github.com/vbharness/vbharness/runner/report"
)

// tokenRecorder keeps every token field of the token responses that pass through it, so
// the test knows the secrets the run must hide without asking the code under test.
type tokenRecorder struct {
	next   http.RoundTripper
	mu     sync.Mutex
	tokens map[string]string // field@path → value
}

func (rec *tokenRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := rec.next.RoundTrip(req)
	if err != nil || !strings.HasSuffix(req.URL.Path, "/token") {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	var fields map[string]any
	if json.Unmarshal(body, &fields) == nil {
		rec.mu.Lock()
		for _, k := range []string{"access_token", "refresh_token", "id_token"} {
			if v, ok := fields[k].(string); ok && v != "" {
				rec.tokens[k+"@"+req.URL.Path] = v
			}
		}
		rec.mu.Unlock()
	}
	return resp, nil
}

// TestTokensFetchedWithRawHTTPAreRedacted runs testdata/scenarios/raw_tokens.js through the
// real engine on the embedded mocks: it fetches tokens from Entra's token endpoint and from
// Veeam's /v8/token with the raw http module and logs them. No token may appear whole in
// the test's console capture, in the console report (verbose, which prints the console of
// passing tests) or in any report file. Only the engine's learning of secrets from JSON
// response bodies can hide them: entra.* and veeam.* are not used for these tokens.
func TestTokensFetchedWithRawHTTPAreRedacted(t *testing.T) {
	t.Parallel()
	rec := &tokenRecorder{tokens: map[string]string{}}
	target := runner.MockTarget(nil)
	newTarget := target.New
	target.New = func(ctx context.Context) (*engine.Target, func(), error) {
		tg, release, err := newTarget(ctx)
		if err != nil {
			return nil, nil, err
		}
		rec.next = tg.HTTPClient.Transport
		tg.HTTPClient = &http.Client{Transport: rec}
		return tg, release, nil
	}
	fsys := os.DirFS("testdata")
	scrub := secret.NewScrubber()
	p, err := runner.NewPlan(context.Background(), runner.Options{
		Engine: runner.NewEngine(fsys), Files: []string{"scenarios/raw_tokens.js"}, Target: target,
		Parallel: 1, Seed: 5, Clock: clock.NewVirtual(time.Time{}), Scrubber: scrub,
	})
	if err != nil {
		t.Fatal(err)
	}
	var console bytes.Buffer
	con := report.NewConsole(&console, report.ConsoleOptions{Verbose: true, Scrubber: scrub, Clock: clock.NewVirtual(time.Time{})})
	con.Header(p)
	o := p.Execute(context.Background())
	if len(o.Results) != 1 || o.Results[0].Status != engine.StatusPassed {
		t.Fatalf("results %+v, want the scenario to pass", o.Results)
	}
	r := &o.Results[0]
	con.TestFinished(r)
	con.Summary(o.Scrub(scrub))

	// The access and refresh tokens of Entra and of Veeam.
	if len(rec.tokens) != 4 {
		t.Fatalf("recorded tokens %v, want 4 (the test would prove little)", slices.Sorted(maps.Keys(rec.tokens)))
	}
	if len(r.Console) != 6 {
		t.Fatalf("console capture has %d lines, want 6: %+v", len(r.Console), r.Console)
	}
	outputs := map[string]string{"console report": console.String()}
	for i, l := range r.Console {
		outputs[fmt.Sprintf("console capture line %d", i+1)] = l.Text
		if !strings.Contains(l.Text, "[redacted") {
			t.Errorf("console capture line %d (%.24q…) holds no redaction marker", i+1, l.Text)
		}
	}
	for _, f := range report.Formats {
		var buf bytes.Buffer
		if err := report.Write(&buf, f, o, scrub); err != nil {
			t.Fatal(err)
		}
		outputs[string(f)+" report"] = buf.String()
	}
	for _, where := range slices.Sorted(maps.Keys(outputs)) {
		for _, field := range slices.Sorted(maps.Keys(rec.tokens)) {
			if strings.Contains(outputs[where], rec.tokens[field]) {
				t.Errorf("the %s holds the %s whole", where, field)
			}
		}
	}
}
