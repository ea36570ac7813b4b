package stack

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vbharness/vbharness/mocks/entra"
	"github.com/vbharness/vbharness/mocks/journal"
)

// contosoDirectory is the default directory plus a tenant the Veeam mock's world does
// not hold, with its Global Administrator.
const contosoDirectory = `tenants:
  - domain: abc.onmicrosoft.com
    id: 6f1c2a9e-3b7d-4c55-9a0e-2d8b1f4e7c31
    users:
      - {upn: admin@abc.onmicrosoft.com, object_id: 9d2b0c4e-5a1f-4e7b-8c3d-1f0a6b2e4d58, roles: [Global Administrator]}
  - domain: contoso.onmicrosoft.com
    id: 2c1d9b7e-8f3a-4e21-b5c6-0a9d8e7f6b5c
    users:
      - {upn: megan@contoso.onmicrosoft.com, object_id: 1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b, roles: [Global Administrator]}
`

// Inside a stack, in process and as `vbharness mock` serves it (HTTPS from the local
// CA), the Veeam mock is a client of its own Entra mock: its device code is one the
// Entra mock issued, approved through the Entra control API, and the organization added
// with it registers an application the Entra directory lists. The Entra journal holds
// the Veeam mock's requests.
func TestVeeamIsAnEntraClient(t *testing.T) {
	t.Parallel()
	for _, tc := range entraClientTargets(t) {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tg := tc.start(t)
			c := client{t: t, hc: tg.hc}
			st, login := c.do("POST", tg.veeamURL+"/v8/token", url.Values{"grant_type": {"password"}, "username": {"Administrator"},
				"password": {"vbharness-Passw0rd!"}, "disable_antiforgery_token": {"true"}}, "", "")
			at, _ := login["access_token"].(string)
			if st != 200 || at == "" {
				t.Fatalf("login: %d %v", st, login)
			}
			st, dc := c.do("POST", tg.veeamURL+"/v8/DeviceCode", nil, `{"targetRegion":"Worldwide"}`, at)
			code, _ := dc["userCode"].(string)
			if st != 200 || code == "" || dc["verificationUrl"] != tg.entraURL+"/devicelogin" {
				t.Fatalf("POST /v8/DeviceCode: %d %v", st, dc)
			}
			if st, b := c.do("POST", tg.entraURL+"/_mock/devicecodes/approve", nil, `{"user_code":"`+code+`","user":"megan@contoso.onmicrosoft.com"}`, ""); st != 200 {
				t.Fatalf("approve: %d %v", st, b)
			}
			if st, b := c.do("POST", tg.veeamURL+"/v8/DeviceCode/check", nil, `{"userCode":"`+code+`"}`, at); st != 200 || b["authenticated"] != true {
				t.Fatalf("check: %d %v", st, b)
			}
			st, org := c.do("POST", tg.veeamURL+"/v8/Organizations", nil, `{"type":"Office365","isExchangeOnline":true,"userCode":"`+code+
				`","newApplicationName":"Contoso backup","exchangeOnlineSettings":{"useApplicationOnlyAuth":true}}`, at)
			exo, _ := org["exchangeOnlineSettings"].(map[string]any)
			appID, _ := exo["applicationId"].(string)
			if st != 201 || org["name"] != "contoso.onmicrosoft.com" || appID == "" {
				t.Fatalf("POST /v8/Organizations: %d %v", st, org)
			}
			if st, app := c.do("GET", tg.entraURL+"/_mock/applications/"+appID, nil, "", ""); st != 200 || app["display_name"] != "Contoso backup" || app["tenant"] != "contoso.onmicrosoft.com" {
				t.Errorf("the Entra control API's application %s: %d %v", appID, st, app)
			}
			var seen []string
			for _, e := range tg.e.Control().Journal().List(journal.Filter{}) {
				if strings.HasPrefix(e.Path, "/organizations/") {
					seen = append(seen, e.Method+" "+e.Path)
				}
				if v := e.Fields["device_code"]; v != "" && !strings.Contains(v, "redacted") {
					t.Errorf("the Entra journal holds a device code: %q", v)
				}
			}
			if strings.Join(seen, ",") != "POST /organizations/oauth2/v2.0/devicecode,POST /organizations/oauth2/v2.0/token" {
				t.Errorf("the Entra journal's requests from the Veeam mock: %v", seen)
			}
		})
	}
}

// entraClientTarget is a stack whose Veeam mock is a client of its Entra mock, with the
// contoso directory: its URLs, a client that trusts it and its Entra server.
type entraClientTarget struct {
	entraURL, veeamURL string
	hc                 *http.Client
	e                  *entra.Server
}

// entraClientTargets are the two ways such a stack runs: in process, and as `vbharness
// mock` serves it (HTTPS from the local CA, a state folder).
func entraClientTargets(t *testing.T) []struct {
	name  string
	start func(t *testing.T) entraClientTarget
} {
	t.Helper()
	cfgFile := filepath.Join(t.TempDir(), "directory.yaml")
	if err := os.WriteFile(cfgFile, []byte(contosoDirectory), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := entra.LoadConfig(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	return []struct {
		name  string
		start func(t *testing.T) entraClientTarget
	}{
		{"in process", func(t *testing.T) entraClientTarget {
			s := NewInProcess(Options{Entra: []entra.Option{entra.WithDirectory(cfg.Directory)}})
			return entraClientTarget{s.EntraURL, s.VeeamURL, s.Client, s.Entra}
		}},
		{"vbharness mock", func(t *testing.T) entraClientTarget {
			run, err := Serve(context.Background(), ServeOptions{EntraAddr: "127.0.0.1:0", VeeamAddr: "127.0.0.1:0",
				StateDir: filepath.Join(t.TempDir(), "state"), ConfigFile: cfgFile})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = run.Shutdown(context.Background()) })
			pemCA, err := os.ReadFile(run.CAFile)
			if err != nil {
				t.Fatal(err)
			}
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM(pemCA)
			tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
			t.Cleanup(tr.CloseIdleConnections)
			return entraClientTarget{run.EntraURL, run.VeeamURL, &http.Client{Transport: tr}, run.Entra}
		}},
	}
}
