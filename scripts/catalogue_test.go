package scripts_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vbharness/vbharness/cmd/vbharness/cli"
	"github.com/vbharness/vbharness/engine"
	"github.com/vbharness/vbharness/mocks/entra"
	"github.com/vbharness/vbharness/mocks/stack"
)

// vbharness runs the command line in-process, as `go run ./cmd/vbharness args…` would
// from this folder, and returns the exit code and standard output.
func vbharness(tb testing.TB, env map[string]string, args ...string) (int, string) {
	tb.Helper()
	var out, errb bytes.Buffer
	code := cli.Main(context.Background(), args, strings.NewReader(""), &out, &errb, env)
	if errb.Len() > 0 {
		tb.Logf("stderr of vbharness %s:\n%s", strings.Join(args, " "), errb.String())
	}
	return code, out.String()
}

// summary is the run's last line, "N passed, N failed, N skipped".
var summary = regexp.MustCompile(`(?m)^(\d+) passed, (\d+) failed, (\d+) skipped\n?\z`)

func counts(tb testing.TB, out string) (passed, failed, skipped int) {
	tb.Helper()
	m := summary.FindStringSubmatch(out)
	if m == nil {
		tb.Fatalf("no summary line at the end of the output:\n%s", out)
	}
	fmt.Sscan(m[1]+" "+m[2]+" "+m[3], &passed, &failed, &skipped)
	return passed, failed, skipped
}

// BenchmarkCatalogue is `vbharness run` with no arguments: the whole bundled catalogue
// against the embedded mocks, with the default parallelism (one worker per CPU), through
// the command line in-process. Every iteration must pass.
//
//	go test -run '^$' -bench Catalogue -benchtime 10x ./scripts/
func BenchmarkCatalogue(b *testing.B) {
	tests := 0
	for b.Loop() {
		code, out := vbharness(b, map[string]string{}, "run")
		passed, failed, skipped := counts(b, out)
		if code != 0 || failed != 0 || skipped != 0 {
			b.Fatalf("exit %d:\n%s", code, out)
		}
		tests = passed
	}
	b.ReportMetric(float64(tests), "tests/op")
}

// TestTheCatalogueIsGreenOnTheEmbeddedMocks is acceptance 1 without the timing: every test
// of the bundled catalogue passes, none is skipped.
func TestTheCatalogueIsGreenOnTheEmbeddedMocks(t *testing.T) {
	t.Parallel()
	code, out := vbharness(t, map[string]string{}, "run")
	if passed, failed, skipped := counts(t, out); code != 0 || failed != 0 || skipped != 0 || passed < 30 {
		t.Errorf("exit %d:\n%s", code, out)
	}
}

// servedMock starts the standalone stack `vbharness mock` runs (HTTPS from a fresh CA,
// free ports, a temporary state folder) with a 1 s polling interval, so each device-code
// login takes a second of wall time rather than five, and writes a targets file naming
// it twice: "localmock" with its control API and "lab" without, as a lab server is.
func servedMock(t *testing.T) (*stack.Running, string) {
	t.Helper()
	dir := t.TempDir()
	entraConfig := filepath.Join(dir, "entra.yaml")
	if err := os.WriteFile(entraConfig, []byte("lifetimes:\n  interval: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run, err := stack.Serve(ctx, stack.ServeOptions{EntraAddr: "127.0.0.1:0", VeeamAddr: "127.0.0.1:0",
		StateDir: filepath.Join(dir, "state"), ConfigFile: entraConfig})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := run.Shutdown(ctx); err != nil {
			t.Error(err)
		}
	})
	server := fmt.Sprintf(`entra: { authority: %q, tenant: %s }
    veeam: { url: %q, ca_file: %q, admin_user: %s }`, run.EntraURL, run.Tenant, run.VeeamURL, run.CAFile, run.AdminUser)
	targets := filepath.Join(dir, "vbharness.yaml")
	yaml := fmt.Sprintf("targets:\n  localmock:\n    %s\n    control: {}\n  lab:\n    %s\n", server, server)
	if err := os.WriteFile(targets, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return run, targets
}

var skipLine = regexp.MustCompile(`(?m)^SKIP +(.+?) — (.*)$`)

// Acceptance 2: the whole catalogue passes against a separately started mock as a live
// target, the clock-dependent tests moving its clock through the control API; and on the
// same mock seen as a lab server (no control section), scripts/lab passes and every other
// test that needs the clock or the control API is skipped with its reason, the rest pass.
// It takes about a minute of wall time: on a live target every device-code login waits a
// real polling interval and the tests that need the clock or the control API run one at a
// time.
func TestTheCatalogueAgainstARunningMock(t *testing.T) {
	if testing.Short() {
		t.Skip("about a minute of real polling intervals; run without -short")
	}
	t.Parallel()
	run, targets := servedMock(t)
	env := map[string]string{"VBHARNESS_VEEAM_PASSWORD": run.AdminPassword}

	t.Run("with its control API", func(t *testing.T) {
		code, out := vbharness(t, env, "run", "--config", targets, "--target", "localmock")
		passed, failed, skipped := counts(t, out)
		// Only the tests that need a private stack ("isolated") skip on a shared mock.
		isolated := strings.Count(out, "only the embedded mocks give each test a fresh, private stack")
		if code != 0 || failed != 0 || skipped != isolated || passed < 30 {
			t.Errorf("exit %d, %d skipped (%d of them isolated):\n%s", code, skipped, isolated, out)
		}
	})

	// Without control, signIn waits for a person: the mock's standing approval plays them.
	if err := run.Entra.SetAutoApprove(&entra.AutoApprove{}); err != nil {
		t.Fatal(err)
	}
	t.Run("as a lab server: scripts/lab", func(t *testing.T) {
		code, out := vbharness(t, env, "run", "--config", targets, "--target", "lab", "--root", ".", "lab") // --root: lab/ requires ../lib
		if passed, failed, skipped := counts(t, out); code != 0 || passed != 2 || failed != 0 || skipped != 0 {
			t.Errorf("exit %d:\n%s", code, out)
		}
	})
	t.Run("as a lab server: the catalogue", func(t *testing.T) {
		code, out := vbharness(t, env, "run", "--config", targets, "--target", "lab")
		passed, failed, skipped := counts(t, out)
		if code != 0 || failed != 0 || passed == 0 || skipped == 0 {
			t.Errorf("exit %d:\n%s", code, out)
		}
		skips := skipLine.FindAllStringSubmatch(out, -1)
		if len(skips) != skipped {
			t.Errorf("%d SKIP lines for %d skipped tests:\n%s", len(skips), skipped, out)
		}
		// The reasons a lab lacks what a test needs, as the engine's requirements table
		// words them: the clock and the control API, nothing else.
		lab := engine.Capabilities{Kind: engine.TargetLive}
		reasons := map[string]bool{}
		for _, r := range []engine.Requirement{engine.RequireClock, engine.RequireControl} {
			why, _ := lab.Check("lab", []engine.Requirement{r})
			reasons[why] = true
		}
		for _, s := range skips {
			if !reasons[s[2]] {
				t.Errorf("%s skipped for another reason: %s", s[1], s[2])
			}
		}
	})
}
