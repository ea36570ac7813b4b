package config

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParse feeds the targets file parser arbitrary bytes: it returns a file or an
// *Error naming the file, never panics, and a file it accepts lists each target once,
// under its own name, never the reserved "mock".
func FuzzParse(f *testing.F) {
	f.Add([]byte(`targets:
  lab:
    entra:
      authority: https://login.microsoftonline.com
      tenant: abc.onmicrosoft.com
      client_id: 04b07795-8ddb-461a-bbee-02f9e1bf7b46
      scope: "Directory.AccessAsUser.All User.ReadWrite.All offline_access"
      user: admin@abc.onmicrosoft.com
    veeam:
      url: https://abc.tech.local:4443
      ca_file: lab-ca.pem
      admin_user: Administrator
      organization: abc.onmicrosoft.com
    insecure_skip_verify: false
    settings: { any: value }
  localmock:
    entra: { authority: "https://127.0.0.1:8400", tenant: abc.onmicrosoft.com }
    veeam: { url: "https://127.0.0.1:4443", ca_file: /home/me/ca.pem }
    control: { entra: "https://127.0.0.1:8400", veeam: "https://127.0.0.1:4443", token: abc }
`))
	f.Add([]byte("targets:\n  mock: {}\n"))
	f.Add([]byte("targets:\n  lab: {}\n  lab: {}\n"))
	f.Add([]byte("targets: [1, 2]\n"))
	f.Add([]byte("targets:\n  lab:\n    veeam: {cafile: x}\n"))
	f.Add([]byte("a: &a [*a, *a, *a, *a]\ntargets: *a\n"))
	f.Add([]byte("targets:\n  lab:\n    entra: {tenant: x\n"))
	f.Add([]byte("\t- \xff"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("vbharness.yaml", t.TempDir(), data)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || !strings.HasPrefix(err.Error(), "vbharness.yaml") {
				t.Fatalf("the error is not a config.Error naming the file: %v", err)
			}
			return
		}
		if len(file.Names) != len(file.Targets) {
			t.Fatalf("%d names for %d targets", len(file.Names), len(file.Targets))
		}
		for _, name := range file.Names {
			if tg := file.Targets[name]; tg == nil || tg.Name != name || name == MockTarget {
				t.Fatalf("target %q is listed wrongly: %+v", name, tg)
			}
		}
	})
}
