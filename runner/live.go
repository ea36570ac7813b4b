package runner

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strings"
	"time"

	"github.com/vbharness/vbharness/engine"
	"github.com/vbharness/vbharness/engine/flow"
	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/mocks/control"
	"github.com/vbharness/vbharness/mocks/secret"
	"github.com/vbharness/vbharness/runner/config"
)

// EnvPrefix is the prefix of the environment variables scenarios see as env.
const EnvPrefix = "VBHARNESS_"

// ScriptEnv returns the VBHARNESS_* variables of env, which scenarios see as env.
func ScriptEnv(env map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range env {
		if strings.HasPrefix(k, EnvPrefix) {
			out[k] = v
		}
	}
	return out
}

// SecretEnv returns the values of the VBHARNESS_* variables that mocks/secret counts as
// secret (secret.IsEnv), for the run's scrubber: credentials.
func SecretEnv(env map[string]string) []string {
	var out []string
	for k, v := range ScriptEnv(env) {
		if secret.IsEnv(k) {
			out = append(out, v)
		}
	}
	return out
}

// HTTPClient returns the client for a live target: TLS verification against the system
// roots plus the target's CA file, or none at all when insecure is set. Requests end
// with their context; there is no client-wide timeout.
func HTTPClient(r *config.Resolved) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: r.RootCAs, InsecureSkipVerify: r.InsecureSkipVerify, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr}
}

// EngineTarget converts a target of the targets file into the engine's target model,
// engine.Target: the one conversion from runner/config, used by LiveTarget (every test of
// a run) and by `vbharness login` and `token`. Protocol defaults (authority, client id,
// scope) stay empty here: engine/flow fills them.
//
// A target with a control section is a running `vbharness mock`: EngineTarget first fills
// in what the file leaves out with the mock's defaults (MockDefaults, which changes r).
// EngineTarget then checks that the
// control API answers, and moves the clock to the mock's time (which an earlier run may
// have advanced), so that scenarios and servers agree on the time; an unreachable control
// API is an error.
func EngineTarget(ctx context.Context, r *config.Resolved, env map[string]string) (*engine.Target, error) {
	MockDefaults(r)
	client := HTTPClient(r)
	clk, err := TargetClock(ctx, client, r)
	if err != nil {
		return nil, err
	}
	t := &engine.Target{
		Name: r.Name,
		Kind: engine.TargetLive,
		Entra: engine.EntraTarget{EntraSettings: flow.EntraSettings{Authority: r.Entra.Authority, Tenant: r.Entra.Tenant,
			ClientID: r.Entra.ClientID, Scope: r.Entra.Scope}, User: r.Entra.User},
		Veeam: engine.VeeamTarget{URL: r.Veeam.URL, AdminUser: r.Veeam.AdminUser, AdminPassword: r.Veeam.AdminPassword,
			Organization: r.Veeam.Organization},
		HTTPClient:         client,
		Clock:              clk,
		InsecureSkipVerify: r.InsecureSkipVerify,
		Env:                ScriptEnv(env),
		Settings:           r.Settings,
	}
	if r.Control != nil {
		t.Control = &engine.ControlTarget{EntraURL: r.Control.Entra, VeeamURL: r.Control.Veeam, Token: r.Control.Token}
	}
	return t, nil
}

// LiveTarget returns the runner target for a resolved live target. Every test gets a
// copy of one engine target (EngineTarget): one HTTP client, and one real clock shared
// by all tests. A target with a control API (a running `vbharness mock`) offers the clock
// and the control API to tests' requirements.
func LiveTarget(ctx context.Context, r *config.Resolved, env map[string]string) (*Target, error) {
	et, err := EngineTarget(ctx, r, env)
	if err != nil {
		return nil, err
	}
	desc := fmt.Sprintf("live: Entra %s, Veeam %s, real clock", et.Entra.WithDefaults().Authority, et.Veeam.URL)
	if et.Control != nil {
		desc += " and control API"
	} else {
		desc += ", no control API"
	}
	return &Target{
		Name:               r.Name,
		Kind:               engine.TargetLive,
		Description:        desc,
		Control:            et.Control != nil,
		InsecureSkipVerify: r.InsecureSkipVerify,
		New: func(context.Context) (*engine.Target, func(), error) {
			t := *et
			t.Env = maps.Clone(et.Env)
			if et.Control != nil {
				c := *et.Control
				t.Control = &c
			}
			return &t, func() {}, nil
		},
	}, nil
}

// TargetClock returns the clock for a live target: the wall clock, moved to a running
// mock's time when the target has a control API (an earlier run may have advanced the
// mock's clock). An unreachable control API is an error.
func TargetClock(ctx context.Context, client *http.Client, r *config.Resolved) (*clock.Real, error) {
	clk := clock.NewReal()
	if r.Control == nil {
		return clk, nil
	}
	now, err := mockNow(ctx, client, r.Control)
	if err != nil {
		return nil, err
	}
	if d := now.Sub(clk.Now()); d > time.Second {
		clk.Advance(d)
	}
	return clk, nil
}

// mockNow asks a running mock's control API for its clock.
func mockNow(ctx context.Context, client *http.Client, c *config.Control) (time.Time, error) {
	u := c.Entra + control.Prefix + "/clock"
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return time.Time{}, err
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	fail := func(format string, a ...any) error {
		return fmt.Errorf("the control API at %s does not answer: %s; start `vbharness mock`, check control: in the targets file, or remove control: for a lab server",
			u, fmt.Sprintf(format, a...))
	}
	resp, err := client.Do(req)
	if err != nil {
		return time.Time{}, fail("%v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return time.Time{}, fail("HTTP %d %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	var st control.ClockState
	if err := json.Unmarshal(body, &st); err != nil {
		return time.Time{}, fail("unexpected answer: %v", err)
	}
	now, err := time.Parse(time.RFC3339Nano, st.Now)
	if err != nil {
		return time.Time{}, fail("unexpected time %q", st.Now)
	}
	return now, nil
}
