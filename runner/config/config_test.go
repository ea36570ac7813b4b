package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vbharness/vbharness/mocks/tlsca"
	"github.com/vbharness/vbharness/runner/config"
)

const good = `targets:
  lab:
    entra: { authority: https://login.microsoftonline.com, tenant: abc.onmicrosoft.com,
             client_id: 04b07795-8ddb-461a-bbee-02f9e1bf7b46,
             scope: "Directory.AccessAsUser.All User.ReadWrite.All offline_access" }
    veeam: { url: https://abc.tech.local:4443, ca_file: lab-ca.pem }
  localmock:
    entra: { authority: "https://127.0.0.1:8400/", tenant: abc.onmicrosoft.com, user: admin@abc.onmicrosoft.com }
    veeam: { url: https://127.0.0.1:4443, admin_user: Administrator }
    control: {}
    insecure_skip_verify: true
    settings: { organization_name: abc, retries: 3 }
`

// writeCA writes a fresh CA certificate to dir/name.
func writeCA(t *testing.T, dir, name string) {
	t.Helper()
	ca, err := tlsca.New(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), ca.PEM(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestParseAndResolveTheIssueExample(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeCA(t, dir, "lab-ca.pem")
	f, err := config.Parse("vbharness.yaml", dir, []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(f.Names, ",") != "lab,localmock" {
		t.Errorf("names = %q", f.Names)
	}
	lab, err := f.Resolve("lab", map[string]string{config.EnvVeeamPassword: "s3cret-password"})
	if err != nil {
		t.Fatal(err)
	}
	if lab.CAFile != filepath.Join(dir, "lab-ca.pem") || lab.RootCAs == nil {
		t.Errorf("relative ca_file resolved to %q (pool %v), want it next to the config file", lab.CAFile, lab.RootCAs != nil)
	}
	if lab.Control != nil || lab.InsecureSkipVerify {
		t.Errorf("lab: control %v, insecure %v; want neither", lab.Control, lab.InsecureSkipVerify)
	}
	if lab.Veeam.AdminPassword != "s3cret-password" || len(lab.Secrets) != 1 {
		t.Errorf("password from env not applied: %q, secrets %d", lab.Veeam.AdminPassword, len(lab.Secrets))
	}

	lm, err := f.Resolve("localmock", map[string]string{config.EnvControlToken: "control-token-1"})
	if err != nil {
		t.Fatal(err)
	}
	want := config.Control{Entra: "https://127.0.0.1:8400", Veeam: "https://127.0.0.1:4443", Token: "control-token-1"}
	if lm.Control == nil || *lm.Control != want {
		t.Errorf("control = %+v, want %+v (defaults from entra.authority and veeam.url, token from env)", lm.Control, want)
	}
	// Protocol defaults are engine/flow's to fill, not the targets file's.
	if !lm.InsecureSkipVerify || lm.Entra.ClientID != "" || lm.Entra.Scope != "" {
		t.Errorf("localmock = %+v", lm.Target)
	}
	if lm.Settings["retries"] != 3 || lm.Settings["organization_name"] != "abc" {
		t.Errorf("settings = %v", lm.Settings)
	}
	if f.Targets["localmock"].Control.Token != "" {
		t.Error("Resolve changed the parsed file")
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		yaml string
		want string
	}{
		{"malformed YAML names the line", "targets:\n  lab:\n    entra: {tenant: x\n    veeam: y\n",
			"vbharness.yaml:4:10: malformed YAML: did not find expected ',' or '}' (while parsing a flow mapping started at line 3); fix the syntax"},
		{"a tab names the line", "targets:\n\tlab: {}\n",
			"vbharness.yaml:2:1: malformed YAML: found character that cannot start any token; fix the syntax"},
		{"an empty file", "", "vbharness.yaml: the file is empty; add a targets: mapping"},
		{"no targets key", "target:\n  lab: {}\n", `vbharness.yaml:1:1: unknown key "target" in the top level; did you mean targets?`},
		{"targets is a list", "targets:\n  - lab\n", "vbharness.yaml:2:3: targets must be a mapping (key: value lines)"},
		{"an unknown key in a target", "targets:\n  lab:\n    entra: {tenant: x}\n    veam: {url: https://x}\n",
			`vbharness.yaml:4:5: unknown key "veam" in targets.lab; did you mean veeam?`},
		{"an unknown key in entra", "targets:\n  lab:\n    entra: {tenant: x, clientid: y}\n",
			`vbharness.yaml:3:24: unknown key "clientid" in targets.lab.entra; did you mean client_id?`},
		{"an unknown key in veeam", "targets:\n  lab:\n    veeam:\n      url: https://x\n      password: hunter2\n",
			`vbharness.yaml:5:7: unknown key "password" in targets.lab.veeam; known keys: admin_user, ca_file, organization, url`},
		{"a key that differs only in case", "targets:\n  lab:\n    Entra: {tenant: x}\n",
			`vbharness.yaml:3:5: unknown key "Entra" in targets.lab; did you mean entra?`},
		{"a key like none lists the known ones", "targets:\n  lab:\n    veeam: {password: x}\n",
			`vbharness.yaml:3:13: unknown key "password" in targets.lab.veeam; known keys: admin_user, ca_file, organization, url`},
		{"insecure_skip_verify must be a boolean", "targets:\n  lab:\n    insecure_skip_verify: maybe\n",
			"vbharness.yaml:3:27: targets.lab.insecure_skip_verify must be true or false"},
		{"a nested value where a string belongs", "targets:\n  lab:\n    entra: {tenant: [a, b]}\n",
			"vbharness.yaml:3:21: targets.lab.entra.tenant must be a single value"},
		{"the mock name is reserved", "targets:\n  mock:\n    entra: {tenant: x}\n",
			`vbharness.yaml:2:3: the target name "mock" is reserved for the embedded mocks`},
		{"a target defined twice", "targets:\n  lab: {}\n  lab: {}\n", `vbharness.yaml:3:3: key "lab" appears twice in targets; keep one of them`},
		{"a key given twice", "targets:\n  lab:\n    entra: {tenant: a, tenant: b}\n", `vbharness.yaml:3:24: key "tenant" appears twice in targets.lab.entra`},
		{"settings must be a mapping", "targets:\n  lab:\n    settings: 3\n", "vbharness.yaml:3:15: targets.lab.settings must be a mapping"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := config.Parse("vbharness.yaml", t.TempDir(), []byte(c.yaml))
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("error = %v, want *config.Error", err)
			}
			if !strings.HasPrefix(err.Error(), c.want) {
				t.Errorf("error =\n  %s\nwant prefix\n  %s", err, c.want)
			}
		})
	}
}

func TestResolveErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "not-a-cert.pem"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	const file = `targets:
  lab:
    entra: { tenant: abc.onmicrosoft.com }
    veeam: { url: https://abc.tech.local:4443, ca_file: missing-ca.pem }
  garbage:
    entra: { tenant: abc.onmicrosoft.com }
    veeam: { url: https://abc.tech.local:4443, ca_file: not-a-cert.pem }
  notenant:
    veeam: { url: https://abc.tech.local:4443 }
  nourl:
    entra: { tenant: abc.onmicrosoft.com }
  badurl:
    entra: { tenant: abc.onmicrosoft.com }
    veeam: { url: abc.tech.local:4443 }
  badcontrol:
    entra: { tenant: abc.onmicrosoft.com }
    veeam: { url: https://abc.tech.local:4443 }
    control: { entra: "8400" }
`
	f, err := config.Parse("vbharness.yaml", dir, []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		target, want string
	}{
		{"lab2", `vbharness.yaml: unknown target "lab2"; known targets: mock (built in), lab, garbage, notenant, nourl, badurl, badcontrol; pass one of them to --target`},
		{"lab", "vbharness.yaml:4:57: targets.lab.veeam.ca_file cannot be read: " + filepath.Join(dir, "missing-ca.pem") + ": no such file or directory; point ca_file at the PEM file"},
		{"garbage", "vbharness.yaml:7:57: targets.garbage.veeam.ca_file holds no PEM certificate"},
		{"notenant", "vbharness.yaml:8:3: targets.notenant.entra.tenant is missing; set it to the tenant's domain"},
		{"nourl", "vbharness.yaml:10:3: targets.nourl.veeam.url is missing"},
		{"badurl", `vbharness.yaml:14:19: targets.badurl.veeam.url is not a URL: "abc.tech.local:4443" has no http:// or https:// scheme`},
		{"badcontrol", `vbharness.yaml:18:23: targets.badcontrol.control.entra is not a URL`},
	}
	for _, c := range cases {
		_, err := f.Resolve(c.target, nil)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("Resolve(%s) error =\n  %v\nwant prefix\n  %s", c.target, err, c.want)
		}
	}
}

func TestFind(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := config.Find(dir, ""); !errors.Is(err, config.ErrNotFound) {
		t.Errorf("no file: error = %v, want ErrNotFound", err)
	}
	if _, err := config.Find(dir, "other.yaml"); err == nil || !strings.HasPrefix(err.Error(), "other.yaml: cannot read the targets file") {
		t.Errorf("missing --config: error = %v", err)
	}
	p := filepath.Join(dir, config.FileName)
	if err := os.WriteFile(p, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := config.Find(dir, ""); err != nil || got != p {
		t.Errorf("Find = %q, %v; want %q", got, err, p)
	}
	f, err := config.Load(p, "vbharness.yaml")
	if err != nil || f.Dir != dir {
		t.Errorf("Load: dir %q, err %v", f.Dir, err)
	}
}

func TestCAFileUnderHomeIsExpanded(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".config", "vbharness", "mock"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeCA(t, filepath.Join(home, ".config", "vbharness", "mock"), "ca.pem")
	f, err := config.Parse("vbharness.yaml", t.TempDir(), []byte(`targets:
  localmock:
    entra: { authority: https://127.0.0.1:8400, tenant: abc.onmicrosoft.com }
    veeam: { url: https://127.0.0.1:4443, ca_file: ~/.config/vbharness/mock/ca.pem }
`))
	if err != nil {
		t.Fatal(err)
	}
	r, err := f.Resolve("localmock", map[string]string{"HOME": home})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(home, ".config", "vbharness", "mock", "ca.pem"); r.CAFile != want {
		t.Fatalf("ca_file resolved to %q, want %q", r.CAFile, want)
	}
}
