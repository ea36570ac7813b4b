package runner_test

import (
	"slices"
	"testing"

	"github.com/vbharness/vbharness/mocks/veeam"
	"github.com/vbharness/vbharness/runner"
	"github.com/vbharness/vbharness/runner/config"
)

func TestAMockTargetDefaultsToTheMocksAdministrator(t *testing.T) {
	t.Parallel()
	f, err := config.Parse("vbharness.yaml", t.TempDir(), []byte(`targets:
  localmock:
    entra: { authority: https://127.0.0.1:8400, tenant: abc.onmicrosoft.com }
    veeam: { url: https://127.0.0.1:4443 }
    control: {}
  named:
    entra: { authority: https://127.0.0.1:8400, tenant: abc.onmicrosoft.com }
    veeam: { url: https://127.0.0.1:4443, admin_user: operator }
    control:
  lab:
    entra: { authority: https://login.microsoftonline.com, tenant: abc.onmicrosoft.com }
    veeam: { url: https://abc.tech.local:4443 }
`))
	if err != nil {
		t.Fatal(err)
	}
	resolve := func(name string, env map[string]string) *config.Resolved {
		t.Helper()
		r, err := f.Resolve(name, env)
		if err != nil {
			t.Fatal(err)
		}
		runner.MockDefaults(r)
		return r
	}
	m := resolve("localmock", nil)
	if m.Veeam.AdminUser != veeam.DefaultAdminUser || m.Veeam.AdminPassword != veeam.DefaultAdminPassword {
		t.Errorf("mock target admin = %q/%q, want the mock's defaults", m.Veeam.AdminUser, m.Veeam.AdminPassword)
	}
	if !slices.Contains(m.Secrets, veeam.DefaultAdminPassword) {
		t.Errorf("the default password is not among the secrets to scrub: %q", m.Secrets)
	}
	m2 := resolve("localmock", map[string]string{config.EnvVeeamPassword: "from-env-123"})
	if m2.Veeam.AdminPassword != "from-env-123" || slices.Contains(m2.Secrets, veeam.DefaultAdminPassword) {
		t.Errorf("VBHARNESS_VEEAM_PASSWORD did not override the default: %q (secrets %q)", m2.Veeam.AdminPassword, m2.Secrets)
	}
	if n := resolve("named", nil); n.Veeam.AdminUser != "operator" || n.Control == nil {
		t.Errorf("a named administrator was replaced, or control: alone was not a mock: %+v", n.Target)
	}
	lab := resolve("lab", nil)
	if lab.Veeam.AdminUser != "" || lab.Veeam.AdminPassword != "" {
		t.Errorf("a lab target got admin credentials it was never given: %q/%q", lab.Veeam.AdminUser, lab.Veeam.AdminPassword)
	}
}
