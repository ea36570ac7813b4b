package runner_test

import (
	"context"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/vbharness/vbharness/engine"
	"github.com/vbharness/vbharness/engine/flow"
	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/mocks/control"
	"github.com/vbharness/vbharness/mocks/entra"
	"github.com/vbharness/vbharness/mocks/veeam"
	"github.com/vbharness/vbharness/runner"
	"github.com/vbharness/vbharness/runner/config"
)

// controlServer serves a control API over TLS whose clock is two hours ahead.
func controlServer(t *testing.T, token string) (*httptest.Server, *x509.CertPool) {
	t.Helper()
	clk := clock.NewReal()
	clk.Advance(2 * time.Hour)
	r := mux.NewRouter()
	control.New(control.Options{Server: "entra", Clock: clk, Token: token}).Mount(r)
	srv := httptest.NewTLSServer(r)
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	return srv, pool
}

func resolved(name, url string, pool *x509.CertPool, ctl *config.Control) *config.Resolved {
	return &config.Resolved{Target: config.Target{
		Name:    name,
		Entra:   config.Entra{Authority: url, Tenant: "abc.onmicrosoft.com"},
		Veeam:   config.Veeam{URL: url, Organization: "abc.onmicrosoft.com", AdminPassword: "pw-from-env"},
		Control: ctl,
	}, RootCAs: pool}
}

func TestLiveTargetOnARunningMockHasClockAndControlAndTheMocksTime(t *testing.T) {
	t.Parallel()
	srv, pool := controlServer(t, "tok-123456")
	env := map[string]string{"VBHARNESS_X": "1", "HOME": "/root"}
	tgt, err := runner.LiveTarget(context.Background(), resolved("localmock", srv.URL, pool,
		&config.Control{Entra: srv.URL, Veeam: srv.URL, Token: "tok-123456"}), env)
	if err != nil {
		t.Fatal(err)
	}
	if c := tgt.Capabilities(); !c.Control || c.Kind != engine.TargetLive {
		t.Errorf("capabilities = %+v, want a live target with control", c)
	}
	a, _, err := tgt.New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b, _, _ := tgt.New(context.Background())
	if a == b || a.Control == b.Control || a.Clock != b.Clock || a.HTTPClient != b.HTTPClient {
		t.Error("tests should get copies of one target sharing the clock and the HTTP client")
	}
	if ahead := a.Clock.Now().Sub(time.Now()); ahead < 119*time.Minute {
		t.Errorf("target clock is %v ahead of the wall clock, want the mock's two hours", ahead)
	}
	if a.Control.Token != "tok-123456" || a.Veeam.AdminPassword != "pw-from-env" || a.Env["VBHARNESS_X"] != "1" || a.Env["HOME"] != "" {
		t.Errorf("target = %+v", a)
	}
}

func TestLiveTargetWithoutControlSkipsClockTests(t *testing.T) {
	t.Parallel()
	tgt, err := runner.LiveTarget(context.Background(), resolved("lab", "https://abc.tech.local:4443", nil, nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	if tgt.Control {
		t.Error("a lab target claims the control API")
	}
	if got, _ := tgt.Capabilities().Check(tgt.Name, []engine.Requirement{engine.RequireClock}); got != `requires clock: target "lab" has no controllable clock (only the embedded mocks and a running vbharness mock have one)` {
		t.Errorf("skip reason = %q", got)
	}
	if !strings.Contains(tgt.Description, "no control API") {
		t.Errorf("description = %q", tgt.Description)
	}
}

func TestLiveTargetFailsEarlyWhenTheControlAPIDoesNotAnswer(t *testing.T) {
	t.Parallel()
	srv, pool := controlServer(t, "right-token")
	cases := map[string]*config.Resolved{
		"wrong control token":   resolved("m", srv.URL, pool, &config.Control{Entra: srv.URL, Veeam: srv.URL, Token: "wrong-token"}),
		"untrusted certificate": resolved("m", srv.URL, nil, &config.Control{Entra: srv.URL, Veeam: srv.URL, Token: "right-token"}),
	}
	for name, r := range cases {
		_, err := runner.LiveTarget(context.Background(), r, nil)
		if err == nil || !strings.Contains(err.Error(), "does not answer") || !strings.Contains(err.Error(), "start `vbharness mock`") {
			t.Errorf("%s: error = %v", name, err)
		}
	}
	insecure := resolved("m", srv.URL, nil, &config.Control{Entra: srv.URL, Veeam: srv.URL, Token: "right-token"})
	insecure.InsecureSkipVerify = true
	if _, err := runner.LiveTarget(context.Background(), insecure, nil); err != nil {
		t.Errorf("insecure_skip_verify should accept the untrusted certificate: %v", err)
	}
}

func TestHTTPClientVerifiesTLSAgainstTheCAFile(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	for name, c := range map[string]struct {
		r      *config.Resolved
		wantOK bool
	}{
		"trusted through the CA file": {resolved("x", srv.URL, pool, nil), true},
		"system roots only":           {resolved("x", srv.URL, nil, nil), false},
	} {
		resp, err := runner.HTTPClient(c.r).Get(srv.URL)
		if err == nil {
			resp.Body.Close()
		}
		if (err == nil) != c.wantOK {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestSecretEnv(t *testing.T) {
	t.Parallel()
	got := runner.SecretEnv(map[string]string{"VBHARNESS_VEEAM_PASSWORD": "p1", "VBHARNESS_CONTROL_TOKEN": "t1",
		"VBHARNESS_CLIENT_SECRET": "s1", "VBHARNESS_TENANT": "abc", "OTHER_PASSWORD": "x"})
	if len(got) != 3 {
		t.Errorf("SecretEnv = %q, want the password, token and secret", got)
	}
}

// TestARunningMocksTargetDefaultsToTheMocksAdministrator: a target with a control
// section is a running `vbharness mock`, whose documented administrator veeam.login({admin:
// true}) uses unless the file or VBHARNESS_VEEAM_PASSWORD says otherwise; a lab gets no
// credentials it was not given. The Veeam organization defaults to the tenant.
func TestARunningMocksTargetDefaultsToTheMocksAdministrator(t *testing.T) {
	t.Parallel()
	srv, pool := controlServer(t, "")
	f, err := config.Parse("vbharness.yaml", t.TempDir(), []byte(`targets:
  localmock:
    entra: { authority: `+srv.URL+`, tenant: abc.onmicrosoft.com }
    veeam: { url: `+srv.URL+` }
    control: {}
  lab:
    entra: { tenant: abc.onmicrosoft.com }
    veeam: { url: https://abc.tech.local:4443 }
`))
	if err != nil {
		t.Fatal(err)
	}
	target := func(name string, env map[string]string) *engine.Target {
		t.Helper()
		r, err := f.Resolve(name, env)
		if err != nil {
			t.Fatal(err)
		}
		r.RootCAs = pool
		et, err := runner.EngineTarget(context.Background(), r, env)
		if err != nil {
			t.Fatal(err)
		}
		return et
	}
	m := target("localmock", nil)
	if m.Veeam.AdminUser != veeam.DefaultAdminUser || m.Veeam.AdminPassword != veeam.DefaultAdminPassword || m.Organization() != "abc.onmicrosoft.com" {
		t.Errorf("mock target admin = %q/%q, organization %q; want the mock's defaults and the tenant", m.Veeam.AdminUser, m.Veeam.AdminPassword, m.Organization())
	}
	if m2 := target("localmock", map[string]string{config.EnvVeeamPassword: "from-env-123"}); m2.Veeam.AdminPassword != "from-env-123" {
		t.Errorf("VBHARNESS_VEEAM_PASSWORD did not override the default: %q", m2.Veeam.AdminPassword)
	}
	lab := target("lab", nil)
	if lab.Veeam.AdminUser != "" || lab.Veeam.AdminPassword != "" {
		t.Errorf("a lab target got admin credentials it was never given: %q/%q", lab.Veeam.AdminUser, lab.Veeam.AdminPassword)
	}
	if es := lab.Entra.WithDefaults(); es.Authority != flow.DefaultAuthority || es.ClientID != flow.DefaultClientID || es.Scope != flow.DefaultScope {
		t.Errorf("lab entra settings with flow's defaults = %+v", es)
	}
}

// TestARunningMocksTargetNamesItsDefaultUser is issue 12's defect 3: on a running mock's
// target, target.entra.user was "" while veeam.adminUser was filled in. It is the user
// entra.signIn approves as: the mock's default user, unless the file names one.
func TestARunningMocksTargetNamesItsDefaultUser(t *testing.T) {
	t.Parallel()
	srv, pool := controlServer(t, "")
	for _, c := range []struct{ user, want string }{{"", entra.DefaultAdminUPN}, {"user: megan@abc.onmicrosoft.com, ", "megan@abc.onmicrosoft.com"}} {
		f, err := config.Parse("vbharness.yaml", t.TempDir(), []byte("targets:\n  localmock:\n    entra: { "+c.user+"authority: "+srv.URL+", tenant: abc.onmicrosoft.com }\n    veeam: { url: "+srv.URL+" }\n    control: {}\n"))
		if err != nil {
			t.Fatal(err)
		}
		r, err := f.Resolve("localmock", nil)
		if err != nil {
			t.Fatal(err)
		}
		r.RootCAs = pool
		tgt, err := runner.LiveTarget(context.Background(), r, nil)
		if err != nil {
			t.Fatal(err)
		}
		et, _, _ := tgt.New(context.Background())
		if et.Entra.User != c.want || et.Veeam.AdminUser != veeam.DefaultAdminUser {
			t.Errorf("entra.user %q, veeam.adminUser %q; want %q and the mock's %q", et.Entra.User, et.Veeam.AdminUser, c.want, veeam.DefaultAdminUser)
		}
	}
}
