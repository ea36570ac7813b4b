package runner_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
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

// fullFlow is the seed's flow end to end (device code → assertion → Veeam → expiry →
// refresh), plus checks that the test's stack saw only this test: one device code,
// its own, and exactly its own three API calls.
const fullFlow = `const { test, expect } = require("vbharness");

test("copy %[1]d: full flow", ({ entra, veeam, clock, mock }) => {
  const code = entra.deviceCode();
  entra.signIn(code);
  const assertion = entra.pollToken(code);
  const session = veeam.login({ assertion });
  expect(session.get("/v8/Organization").status).toBe(200);
  clock.advance("61m");
  expect(session.get("/v8/Organization", { autoRefresh: false }).status).toBe(401);
  session.refresh();
  expect(session.get("/v8/Organization").status).toBe(200);
  const codes = mock.deviceCodes().devicecodes;
  expect(codes.length).toBe(1);
  expect(codes[0].user_code).toBe(code.user_code);
  expect(mock.veeam.requests({ path: "/v8/Organization" }).length).toBe(3);
  console.log("copy %[1]d done");
}, { requires: ["clock", "control"] });
`

// TestTwoHundredFullFlowsInParallelDoNotCrossTalk is issue 5's acceptance 2: 200 copies
// of a full-flow scenario with --parallel 8 under -race, no failure, no cross-talk.
func TestTwoHundredFullFlowsInParallelDoNotCrossTalk(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("200 full flows; skipped with -short")
	}
	dir := t.TempDir()
	for i := range 200 {
		p := filepath.Join(dir, "copies", fmt.Sprintf("flow_%03d.js", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(fmt.Sprintf(fullFlow, i)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fsys := os.DirFS(dir)
	files, err := runner.Discover(fsys, "copies")
	if err != nil {
		t.Fatal(err)
	}
	p, err := runner.NewPlan(context.Background(), runner.Options{
		Engine: runner.NewEngine(fsys), Files: files, Target: runner.MockTarget(nil),
		Parallel: 8, Seed: 5, Clock: clock.NewVirtual(time.Time{}),
	})
	if err != nil {
		t.Fatal(err)
	}
	o := p.Execute(context.Background())
	if c := o.Counts(); c.Passed != 200 || c.Total() != 200 {
		for _, r := range o.Results {
			if r.Status != engine.StatusPassed {
				t.Errorf("%s: %s %s\n%s", r.File, r.Status, r.Message, r.Stack)
				break
			}
		}
		t.Fatalf("counts = %+v, want 200 passed", c)
	}
	for i, r := range o.Results {
		want := fmt.Sprintf("copy %d: full flow", i)
		if r.Name != want || len(r.Console) != 1 || r.Console[0].Text != fmt.Sprintf("copy %d done", i) {
			t.Fatalf("result %d = %q with console %v, want %q and only its own console line", i, r.Name, r.Console, want)
		}
		if r.Virtual < 61*time.Minute {
			t.Errorf("%s: virtual time %v, want over an hour", r.Name, r.Virtual)
		}
	}
}

// issuedSecrets wraps a transport and keeps every secret the mock servers hand out.
type issuedSecrets struct {
	next http.RoundTripper
	mu   sync.Mutex
	seen []string
}

func (s *issuedSecrets) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := s.next.RoundTrip(req)
	if err != nil || resp.Body == nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return resp, err
	}
	var fields map[string]any
	if json.Unmarshal(body, &fields) == nil {
		s.mu.Lock()
		for _, k := range []string{"access_token", "refresh_token", "id_token", "device_code", "user_code"} {
			if v, ok := fields[k].(string); ok && v != "" {
				s.seen = append(s.seen, v)
			}
		}
		s.mu.Unlock()
	}
	return resp, nil
}

// TestNoReportOfAFailingFlowHoldsAnIssuedToken runs a flow that fails after it
// obtained every kind of token, having logged them and put one in its assertion, and
// scans the console output and every report format for any token the mocks issued.
func TestNoReportOfAFailingFlowHoldsAnIssuedToken(t *testing.T) {
	t.Parallel()
	const leaky = `const { test, expect } = require("vbharness");
test("leaks everything it can", ({ entra, veeam, clock }) => {
  const code = entra.deviceCode();
  console.log("device code", code.device_code, "user code", code.user_code);
  entra.signIn(code);
  const assertion = entra.pollToken(code);
  console.log("entra tokens", JSON.stringify(assertion));
  const session = veeam.login({ assertion });
  clock.advance("61m");
  session.refresh();
  console.warn("veeam tokens", session.accessToken, session.refreshToken);
  expect(session.accessToken).toBe("something else entirely");
}, { requires: ["clock"] });
`
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "leaky.js"), []byte(leaky), 0o644); err != nil {
		t.Fatal(err)
	}
	rec := &issuedSecrets{}
	base := runner.MockTarget(nil)
	tgt := *base
	tgt.New = func(ctx context.Context) (*engine.Target, func(), error) {
		et, release, err := base.New(ctx)
		if err != nil {
			return nil, nil, err
		}
		c := *et.HTTPClient
		rec.next = c.Transport
		c.Transport = rec
		et.HTTPClient = &c
		return et, release, nil
	}
	scrub := secret.NewScrubber()
	fsys := os.DirFS(dir)
	var console bytes.Buffer
	con := report.NewConsole(&console, report.ConsoleOptions{Verbose: true, Scrubber: scrub, Clock: clock.NewVirtual(time.Time{})})
	p, err := runner.NewPlan(context.Background(), runner.Options{
		Engine: runner.NewEngine(fsys), Files: []string{"leaky.js"}, Target: &tgt, Parallel: 1,
		Scrubber: scrub, Observer: con, Clock: clock.NewVirtual(time.Time{}),
	})
	if err != nil {
		t.Fatal(err)
	}
	con.Header(p)
	o := p.Execute(context.Background())
	if r := o.Results[0]; r.Status != engine.StatusFailed || len(r.Trace) == 0 || len(r.Console) < 3 {
		t.Fatalf("the flow should fail after logging: %s %q, %d exchanges, console %v", r.Status, r.Message, len(r.Trace), r.Console)
	}
	con.Summary(o.Scrub(scrub))
	outputs := map[string][]byte{"console": console.Bytes()}
	for _, f := range report.Formats {
		var buf bytes.Buffer
		if err := report.Write(&buf, f, o, scrub); err != nil {
			t.Fatal(err)
		}
		outputs[string(f)] = buf.Bytes()
	}
	rec.mu.Lock()
	issued := append([]string(nil), rec.seen...)
	rec.mu.Unlock()
	if len(issued) < 6 {
		t.Fatalf("the mocks issued only %d secrets; the flow did not run as intended", len(issued))
	}
	for name, out := range outputs {
		for _, s := range issued {
			if bytes.Contains(out, []byte(s)) {
				t.Errorf("%s holds an issued secret ending %q", name, s[len(s)-6:])
			}
		}
		if !bytes.Contains(out, []byte("[redacted")) {
			t.Errorf("%s holds no redaction marker", name)
		}
		if name == "console" && !strings.Contains(string(out), "── FAIL leaky.js › leaks everything it can") {
			t.Errorf("console lacks the failure:\n%s", out)
		}
	}
}
