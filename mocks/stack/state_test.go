package stack

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vbharness/vbharness/mocks/state"
)

// servePersistent starts a standalone stack keeping its state in dir, with a client that
// trusts its CA.
func servePersistent(t testing.TB, dir string) (*Running, client) {
	t.Helper()
	run, err := Serve(context.Background(), ServeOptions{EntraAddr: "127.0.0.1:0", VeeamAddr: "127.0.0.1:0", StateDir: dir, Persist: true})
	if err != nil {
		t.Fatal(err)
	}
	pemBytes, err := os.ReadFile(run.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	ct, _ := t.(*testing.T)
	return run, client{t: ct, hc: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
}

// The clock's offset is kept with the state: after a restart the clock is still ahead by
// what was advanced (so a token that expired before the restart stays expired), and the
// CA is still made on the wall clock. Reset clears the Veeam state but, as without a
// state file, leaves the clock where it is.
func TestPersistentStackKeepsItsClockAndResetClearsItsState(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "state")
	run, c := servePersistent(t, dir)
	if run.StateFile != filepath.Join(dir, state.FileName) {
		t.Errorf("StateFile = %q", run.StateFile)
	}
	login := url.Values{"grant_type": {"password"}, "username": {run.AdminUser}, "password": {run.AdminPassword}}
	_, tok := c.do("POST", run.VeeamURL+"/v8/token", login, "", "")
	access := tok["access_token"].(string)
	if st, _ := c.do("POST", run.VeeamURL+"/v8/ProxyPools", nil, `{"name":"kept","description":"d","proxyIds":[]}`, access); st != http.StatusCreated {
		t.Fatalf("create: %d", st)
	}
	if st, _ := c.do("POST", run.EntraURL+"/_mock/clock/advance", nil, `{"duration":"61m"}`, ""); st != http.StatusOK {
		t.Fatal("advance")
	}
	_ = run.Shutdown(context.Background())

	run, c = servePersistent(t, dir)
	defer run.Shutdown(context.Background())
	if off := run.Clock.Offset(); off != 61*time.Minute {
		t.Errorf("clock offset after the restart = %v, want 61m", off)
	}
	if st, _ := c.do("GET", run.VeeamURL+"/v8/ProxyPools", nil, "", access); st != http.StatusUnauthorized {
		t.Errorf("an access token expired by the advance before the restart: %d, want 401", st)
	}
	_, tok = c.do("POST", run.VeeamURL+"/v8/token", login, "", "")
	access = tok["access_token"].(string)
	if !poolNamed(c, run, access, "kept") {
		t.Error("the pool created before the restart is gone")
	}
	if st, _ := c.do("POST", run.VeeamURL+"/_mock/reset", nil, "", ""); st != http.StatusOK {
		t.Fatal("reset")
	}
	_ = run.Shutdown(context.Background())

	run, c = servePersistent(t, dir)
	defer run.Shutdown(context.Background())
	_, tok = c.do("POST", run.VeeamURL+"/v8/token", login, "", "")
	if poolNamed(c, run, tok["access_token"].(string), "kept") {
		t.Error("the pool survived a reset and a restart")
	}
	if off := run.Clock.Offset(); off != 61*time.Minute {
		t.Errorf("clock offset after reset and restart = %v, want 61m (reset leaves the clock)", off)
	}
}

func poolNamed(c client, run *Running, access, name string) bool {
	_, page := c.do("GET", run.VeeamURL+"/v8/ProxyPools?limit=1000", nil, "", access)
	res, _ := page["results"].([]any)
	for _, r := range res {
		if m, _ := r.(map[string]any); m["name"] == name {
			return true
		}
	}
	return false
}

// A second stack on a state folder in use fails at once with ErrLocked and opens no
// listener; without Persist, the same folder serves (it only holds the CA).
func TestASecondPersistentStackOnTheSameFolderFails(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	run, _ := servePersistent(t, dir)
	defer run.Shutdown(context.Background())
	_, err := Serve(context.Background(), ServeOptions{EntraAddr: "127.0.0.1:0", VeeamAddr: "127.0.0.1:0", StateDir: dir, Persist: true})
	if !errors.Is(err, state.ErrLocked) || !strings.Contains(err.Error(), dir) {
		t.Errorf("second Serve = %v, want ErrLocked naming %s", err, dir)
	}
	other, err := Serve(context.Background(), ServeOptions{EntraAddr: "127.0.0.1:0", VeeamAddr: "127.0.0.1:0", StateDir: dir})
	if err != nil {
		t.Fatalf("a stack without Persist on the folder: %v", err)
	}
	_ = other.Shutdown(context.Background())
}

// BenchmarkWriteRequest is one authenticated write over HTTPS (PUT /v8/ProxyPools/{id},
// which changes one item and bumps its eTag) against `vbharness mock` without and with
// --state-dir: the difference is the cost of the commit (a bbolt transaction, fsynced)
// and of serialising writes.
func BenchmarkWriteRequest(b *testing.B) {
	for _, persist := range []bool{false, true} {
		name := "memory"
		if persist {
			name = "state-dir"
		}
		b.Run(name, func(b *testing.B) {
			run, err := Serve(context.Background(), ServeOptions{EntraAddr: "127.0.0.1:0", VeeamAddr: "127.0.0.1:0",
				StateDir: filepath.Join(b.TempDir(), "state"), Persist: persist})
			if err != nil {
				b.Fatal(err)
			}
			defer run.Shutdown(context.Background())
			pemBytes, _ := os.ReadFile(run.CAFile)
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM(pemBytes)
			hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: 4}}
			resp, err := hc.PostForm(run.VeeamURL+"/v8/token", url.Values{"grant_type": {"password"}, "username": {run.AdminUser}, "password": {run.AdminPassword}, "disable_antiforgery_token": {"true"}})
			if err != nil {
				b.Fatal(err)
			}
			var tok struct {
				AccessToken string `json:"access_token"`
			}
			decodeBody(b, resp, &tok)
			req, _ := http.NewRequest("POST", run.VeeamURL+"/v8/ProxyPools", strings.NewReader(`{"name":"bench","description":"d","proxyIds":[]}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
			resp, err = hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var created struct {
				ID string `json:"id"`
			}
			if resp.StatusCode != http.StatusCreated {
				b.Fatalf("POST /v8/ProxyPools: %d", resp.StatusCode)
			}
			decodeBody(b, resp, &created)
			u := run.VeeamURL + "/v8/ProxyPools/" + created.ID
			body := `{"name":"bench","description":"changed","proxyIds":[]}`
			b.ResetTimer()
			for b.Loop() {
				req, _ := http.NewRequest("PUT", u, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
				resp, err := hc.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusNoContent {
					b.Fatalf("PUT: %d", resp.StatusCode)
				}
			}
		})
	}
}

func decodeBody(b *testing.B, resp *http.Response, v any) {
	b.Helper()
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		b.Fatalf("%s: %v", resp.Request.URL, err)
	}
}
