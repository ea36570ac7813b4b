package cli

import (
	"net/url"
	"path/filepath"
	"strings"
	"testing"
)

func TestMockOffTheLoopbackNeedsAControlToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	for _, args := range [][]string{
		{"mock", "--listen-all", "--entra-addr", "127.0.0.1:0", "--veeam-addr", "127.0.0.1:0", "--state-dir", "s"},
		{"mock", "--entra-addr", "0.0.0.0:0", "--veeam-addr", "127.0.0.1:0", "--state-dir", "s"},
	} {
		r := f.run(args...)
		if r.code != 2 || !strings.Contains(r.stderr, "which other machines reach, without a control token: set $VBHARNESS_CONTROL_TOKEN or --control-token-file") {
			t.Errorf("%q: exit %d, stderr %q; want 2 and the reason", args, r.code, r.stderr)
		}
	}
	if r := f.run("mock", "--listen-all", "--entra-addr", "nonsense", "--control-token", "t"); r.code != 2 || !strings.Contains(r.stderr, `--listen-all: "nonsense" is not host:port`) {
		t.Errorf("a bad address with --listen-all: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestMockListenAllWithATokenAndItsHealthProbe(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.env["VBHARNESS_CONTROL_TOKEN"] = "lab-control-token-0123456789"
	info, m := serveMock(t, f, "--listen-all", "--hostname", "mock.lab.test")
	if !strings.HasPrefix(info.Entra, "https://mock.lab.test:") || !strings.HasPrefix(info.Veeam, "https://mock.lab.test:") {
		t.Errorf("URLs %q, %q; want the --hostname name", info.Entra, info.Veeam)
	}
	port := func(u string) string {
		p, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		return p.Port()
	}
	// The probe as a container's HEALTHCHECK runs it: the mock's flags, the token from
	// the environment.
	health := []string{"mock", "health", "--entra-addr", ":" + port(info.Entra), "--veeam-addr", ":" + port(info.Veeam),
		"--state-dir", filepath.Join(f.dir, "state")}
	if r := f.run(health...); r.code != 0 || r.stdout != "" || r.stderr != "" {
		t.Errorf("health of a serving mock: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	g := newFixture(t, nil) // no token
	g.dir = f.dir
	if r := g.run(health...); r.code != 1 || !strings.Contains(r.stderr, "status 401") {
		t.Errorf("health without the token: exit %d, stderr %q; want 1 and the refusal", r.code, r.stderr)
	}
	if r := f.run("mock", "health", "--veeam-addr", ":"+port(info.Veeam), "--entra-addr", ":1", "--state-dir", filepath.Join(f.dir, "state")); r.code != 1 ||
		!strings.Contains(r.stderr, "vbharness: mock health: entra (https://127.0.0.1:1/_mock/health)") {
		t.Errorf("health with Entra down: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := f.run("mock", "health", "--state-dir", filepath.Join(f.dir, "nowhere")); r.code != 1 || !strings.Contains(r.stderr, "cannot read the mock's CA") {
		t.Errorf("health without the CA: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := m.stop(); r.code != 0 || !strings.Contains(r.stderr, "probes /_mock/live and /_mock/ready answer anyone") { // the banner: stderr with --print-json
		t.Errorf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
