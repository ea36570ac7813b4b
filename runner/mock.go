package runner

import (
	"context"
	"net/http"

	"github.com/vbharness/vbharness/engine"
	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/mocks/entra"
	"github.com/vbharness/vbharness/mocks/inproc"
	"github.com/vbharness/vbharness/mocks/veeam"
	"github.com/vbharness/vbharness/runner/config"
)

// Origins of the embedded mocks. They are served by an in-memory transport, never by
// a socket, so they need no ports and cannot clash between tests.
const (
	MockEntraURL = "https://login.mock"
	MockVeeamURL = "https://veeam.mock:4443"
)

// MockTarget returns the embedded mock target (--target mock, the default). Every test
// gets its own in-process stack: a mock Entra ID and a mock Veeam REST API sharing one
// virtual clock, with their own state, reached through an in-memory transport, so tests
// cannot see each other. Signing keys are shared process-wide by the mocks themselves.
// env's VBHARNESS_* variables are exposed to scenarios.
func MockTarget(env map[string]string) *Target {
	scriptEnv := ScriptEnv(env)
	return &Target{
		Name:        config.MockTarget,
		Kind:        engine.TargetMock,
		Description: "embedded mocks, virtual clock",
		Clock:       true,
		Control:     true,
		New: func(context.Context) (*engine.Target, func(), error) {
			st := newInProcess()
			env := make(map[string]string, len(scriptEnv))
			for k, v := range scriptEnv {
				env[k] = v
			}
			return &engine.Target{
				Name: config.MockTarget,
				Kind: engine.TargetMock,
				Entra: engine.EntraTarget{Authority: st.EntraURL, Tenant: st.Tenant, ClientID: st.ClientID,
					Scope: config.DefaultScope, User: st.User},
				Veeam: engine.VeeamTarget{URL: st.VeeamURL, AdminUser: st.AdminUser, AdminPassword: st.AdminPassword,
					Organization: st.Tenant},
				HTTPClient: st.Client,
				Clock:      st.Clock,
				Control:    &engine.ControlTarget{EntraURL: st.EntraURL, VeeamURL: st.VeeamURL},
				Env:        env,
			}, func() {}, nil
		},
	}
}

// inProcess is one in-process stack, the shape of the lead's stack.InProcess: when
// mocks/stack lands, newInProcess becomes stack.NewInProcess.
type inProcess struct {
	Clock                    *clock.Virtual
	Client                   *http.Client
	EntraURL, VeeamURL       string
	Tenant, ClientID, User   string
	AdminUser, AdminPassword string
}

func newInProcess() *inProcess {
	clk := clock.NewVirtual(clock.DefaultStart)
	tr := inproc.New()
	client := &http.Client{Transport: tr}
	tr.Handle("login.mock", entra.New(clk))
	tr.Handle("veeam.mock:4443", veeam.New(clk, veeam.WithAuthority(MockEntraURL), veeam.WithHTTPClient(client)))
	return &inProcess{
		Clock: clk, Client: client, EntraURL: MockEntraURL, VeeamURL: MockVeeamURL,
		Tenant: entra.DefaultTenant, ClientID: entra.AzureCLIClientID, User: entra.DefaultAdminUPN,
		AdminUser: veeam.DefaultAdminUser, AdminPassword: veeam.DefaultAdminPassword,
	}
}
