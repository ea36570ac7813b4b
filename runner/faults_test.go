package runner_test

import (
	"context"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vbharness/vbharness/engine"
	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/mocks/faults"
	"github.com/vbharness/vbharness/mocks/stack"
	"github.com/vbharness/vbharness/runner"
	"github.com/vbharness/vbharness/runner/config"
	"github.com/vbharness/vbharness/runner/runnertest"
)

// faultFlow is the seed flow with logout against a running mock; the faulted copy and
// the clean copy that follows it are the same test.
const faultFlow = `const { test, expect } = require("vbharness");
test("flow", ({ entra, veeam }) => {
  const code = entra.deviceCode();
  entra.signIn(code);
  const session = veeam.login({ assertion: entra.pollToken(code) });
  expect(session.get("/v8/Organization")).toHaveStatus(200);
  session.refresh();
  expect(session.get("/v8/Organization")).toHaveStatus(200);
  session.logout();
});
`

// TestFaultsOnALiveMockAreReportedAsTheFailuresTheyAre runs the seed flow through the
// runner against a standalone stack (Serve, loopback HTTPS) with one fault rule firing
// once: the faulted test is reported failed, errored or timed out with a message naming
// what went wrong (or passes, where the client rides the fault out), and the same flow
// right after it passes, so the fault left the mock's state as it was.
func TestFaultsOnALiveMockAreReportedAsTheFailuresTheyAre(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("waits real polling intervals; skipped with -short")
	}
	cases := []struct {
		name   string
		veeam  bool // the rule goes on the Veeam mock, else on Entra
		rule   faults.Rule
		status engine.Status
		parts  []string
	}{
		{"a 500 from Entra's devicecode endpoint", false, faults.Rule{Path: "/*/oauth2/v2.0/devicecode", Status: 500}, engine.StatusErrored, []string{"500"}},
		// entra.pollToken waits out a transient answer as its Retry-After asks, so this flow
		// completes: the fault is reported as passing through, not as a failure.
		{"a 429 from Entra's token endpoint, waited out", false, faults.Rule{Path: "/*/oauth2/v2.0/token", Status: 429, Headers: map[string]string{"Retry-After": "2"}}, engine.StatusPassed, nil},
		{"a body that is not JSON from the devicecode endpoint", false, faults.Rule{Path: "/*/oauth2/v2.0/devicecode", Action: faults.ActionMalformed}, engine.StatusErrored, []string{"devicecode"}},
		{"a 503 from Veeam's token endpoint", true, faults.Rule{Path: "/v8/token", Status: 503}, engine.StatusErrored, []string{"503"}},
		{"a dropped connection on the refresh", true, faults.Rule{Path: "/v8/token", Match: map[string]string{"grant_type": "refresh_token"}, Action: faults.ActionDrop}, engine.StatusErrored, []string{"/v8/token"}},
		{"a response cut short on GET /v8/Organization", true, faults.Rule{Method: "GET", Path: "/v8/organization", Action: faults.ActionTruncate}, engine.StatusErrored, []string{"session.get: unexpected EOF"}},
		{"a 500 on GET /v8/Organization", true, faults.Rule{Method: "GET", Path: "/v8/organization", Status: 500}, engine.StatusFailed, []string{"expected HTTP status 200, got 500"}},
		{"a delay longer than the test's timeout", true, faults.Rule{Path: "/v8/token", Delay: "60s"}, engine.StatusTimedOut, []string{"timed out after 10s"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "entra.yaml"), []byte("lifetimes: {interval: 1}\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{"1_faulted.js", "2_clean.js"} {
				if err := os.WriteFile(filepath.Join(dir, f), []byte(faultFlow), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			run, err := stack.Serve(ctx, stack.ServeOptions{EntraAddr: "127.0.0.1:0", VeeamAddr: "127.0.0.1:0",
				StateDir: filepath.Join(dir, "state"), ConfigFile: filepath.Join(dir, "entra.yaml")})
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = run.Shutdown(context.Background()) }()
			pem, err := os.ReadFile(run.CAFile)
			if err != nil {
				t.Fatal(err)
			}
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM(pem)
			tgt, err := runner.LiveTarget(ctx, &config.Resolved{Target: config.Target{
				Name:    "localmock",
				Entra:   config.Entra{Authority: run.EntraURL, Tenant: run.Tenant, ClientID: run.ClientID},
				Veeam:   config.Veeam{URL: run.VeeamURL, Organization: run.Tenant, AdminUser: run.AdminUser, AdminPassword: run.AdminPassword},
				Control: &config.Control{Entra: run.EntraURL, Veeam: run.VeeamURL},
			}, RootCAs: pool}, nil)
			if err != nil {
				t.Fatal(err)
			}
			set := run.Entra.Control().Faults()
			if c.veeam {
				set = run.Veeam.Control().Faults()
			}
			rule := c.rule
			rule.ID, rule.Times = "the-fault", 1
			if _, err := set.Add(rule); err != nil {
				t.Fatal(err)
			}
			fsys := os.DirFS(dir)
			p, err := runner.NewPlan(ctx, runner.Options{
				Engine: runner.NewEngine(fsys), Files: []string{"1_faulted.js", "2_clean.js"}, Target: tgt,
				Parallel: 1, Seed: 3, Timeout: 10 * time.Second, Clock: clock.NewReal(),
				// A fault's answer is off the contract on purpose (a bare 429 from Entra);
				// what this test judges is how the fault itself is reported.
				Contract: engine.ContractWarn,
			})
			if err != nil {
				t.Fatal(err)
			}
			// Each test ends within its 10s --timeout (generous, for a loaded machine); the
			// delay case relies on it. The watchdog makes a default that never fires fail
			// here, saying so, before the 60s delay ends.
			runCtx := runnertest.Watchdog(t, ctx, 45*time.Second)
			o := p.Execute(runCtx)
			runnertest.CheckWatchdog(t, runCtx, "the faulted flow and the clean one, each under a 10s --timeout,")
			if len(o.Results) != 2 {
				t.Fatalf("%d results, want 2", len(o.Results))
			}
			faulted, clean := o.Results[0], o.Results[1]
			t.Logf("reported: %s: %s", faulted.Status, faulted.Message)
			if faulted.Status != c.status {
				t.Errorf("faulted test: status %s, want %s: %s", faulted.Status, c.status, faulted.Message)
			}
			for _, part := range c.parts {
				if !strings.Contains(faulted.Message, part) {
					t.Errorf("faulted test: message %q does not contain %q", faulted.Message, part)
				}
			}
			if clean.Status != engine.StatusPassed {
				t.Errorf("the same flow after the fault: %s: %s\n%s", clean.Status, clean.Message, clean.Stack)
			}
			if got := set.List(); len(got) != 1 || got[0].Fired != 1 {
				t.Errorf("fault rules after the run: %+v, want the rule fired once", got)
			}
		})
	}
}
