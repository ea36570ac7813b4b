package scripts_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vbharness/vbharness/mocks/entra"
	"github.com/vbharness/vbharness/mocks/stack"
)

// labMock starts the standalone stack `vbharness mock` runs (HTTPS, free ports, a 1 s
// polling interval, the standing approval a lab's person gives) with the Veeam stubs of
// stubs (a file or a directory; "" for none), and writes a targets file naming it "lab",
// without its control API.
func labMock(t *testing.T, stubs string) (*stack.Running, string) {
	t.Helper()
	dir := t.TempDir()
	entraConfig := filepath.Join(dir, "entra.yaml")
	if err := os.WriteFile(entraConfig, []byte("lifetimes:\n  interval: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run, err := stack.Serve(ctx, stack.ServeOptions{EntraAddr: "127.0.0.1:0", VeeamAddr: "127.0.0.1:0",
		StateDir: filepath.Join(dir, "state"), ConfigFile: entraConfig, StubsFile: stubs})
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
	if err := run.Entra.SetAutoApprove(&entra.AutoApprove{}); err != nil {
		t.Fatal(err)
	}
	targets := filepath.Join(dir, "vbharness.yaml")
	yaml := fmt.Sprintf("targets:\n  lab:\n    entra: { authority: %q, tenant: %s }\n    veeam: { url: %q, ca_file: %q, admin_user: %s }\n",
		run.EntraURL, run.Tenant, run.VeeamURL, run.CAFile, run.AdminUser)
	if err := os.WriteFile(targets, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return run, targets
}

// jwtRE finds a JSON Web Token (every token the mocks issue is one): its header and
// payload, base64url JSON objects.
var jwtRE = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}`)

// Acceptance 2 of issue 17 (through `run --record`): the lab smoke suite recorded
// against a running mock replays into a fresh mock started with --stubs DIR, the suite
// passes against the replay with the recorded answers, and the recording holds no
// secret. It takes a few seconds: each device-code login waits a real polling interval.
func TestTheLabSmokeSuiteRecordsAndReplays(t *testing.T) {
	if testing.Short() {
		t.Skip("real polling intervals; run without -short")
	}
	t.Parallel()
	rec := filepath.Join(t.TempDir(), "recording")

	lab, targets := labMock(t, "")
	env := map[string]string{"VBHARNESS_VEEAM_PASSWORD": lab.AdminPassword}
	code, out := vbharness(t, env, "run", "--config", targets, "--target", "lab", "--root", ".", "lab", "--record", rec)
	if passed, failed, skipped := counts(t, out); code != 0 || passed != 2 || failed != 0 || skipped != 0 {
		t.Fatalf("recording: exit %d:\n%s", code, out)
	}

	// No secret: not the administrator's password, no token, no authorization header.
	ents, err := os.ReadDir(rec)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) < 4 {
		t.Fatalf("the recording holds %d files", len(ents))
	}
	var all strings.Builder
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(rec, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		all.Write(b)
	}
	text := all.String()
	if strings.Contains(text, lab.AdminPassword) || jwtRE.MatchString(text) ||
		strings.Contains(strings.ToLower(text), "bearer ") || strings.Contains(text, "/v8/token") {
		t.Errorf("the recording holds a secret or an auth endpoint:\n%s", text)
	}

	// The replay: a fresh mock (another CA, other keys, other tokens) with the recording.
	replay, targets2 := labMock(t, rec)
	if replay.Stubs != len(ents) {
		t.Errorf("the replay mock loaded %d stubs of %d files", replay.Stubs, len(ents))
	}
	env = map[string]string{"VBHARNESS_VEEAM_PASSWORD": replay.AdminPassword}
	code, out = vbharness(t, env, "run", "--config", targets2, "--target", "lab", "--root", ".", "lab")
	if passed, failed, skipped := counts(t, out); code != 0 || passed != 2 || failed != 0 || skipped != 0 {
		t.Fatalf("replay: exit %d:\n%s", code, out)
	}
	unused := []string{}
	for _, st := range replay.Veeam.Stubs() {
		if st.Hits == 0 {
			unused = append(unused, st.Method+" "+st.Path)
		}
	}
	if len(unused) > 0 {
		t.Errorf("the replay did not use the recorded answers of %v", unused)
	}
}
