package runner

import (
	"context"
	"maps"

	"github.com/vbharness/vbharness/engine"
	"github.com/vbharness/vbharness/engine/flow"
	"github.com/vbharness/vbharness/mocks/entra"
	"github.com/vbharness/vbharness/mocks/keys"
	"github.com/vbharness/vbharness/mocks/stack"
	"github.com/vbharness/vbharness/runner/config"
)

// MockTarget returns the embedded mock target (--target mock, the default). Every test
// gets its own in-process stack (stack.NewInProcess): a mock Entra ID and a mock Veeam
// REST API sharing one virtual clock, with their own state, reached through an in-memory
// transport (no sockets, no ports), so tests cannot see each other. Signing keys are shared process-wide by the mocks themselves.
// env's VBHARNESS_* variables are exposed to scenarios.
func MockTarget(env map[string]string) *Target {
	// Every stack signs with pooled keys 0 (Entra) and 1 (Veeam), and its Entra holds the
	// default application's certificate: generate the three keys now, side by side,
	// while the scripts load, instead of one after the other in the first test.
	keys.Warm(2)
	entra.Warm()
	scriptEnv := ScriptEnv(env)
	return &Target{
		Name:        config.MockTarget,
		Kind:        engine.TargetMock,
		Description: "embedded mocks, virtual clock",
		Control:     true,
		New: func(context.Context) (*engine.Target, func(), error) {
			return StackTarget(stack.NewInProcess(stack.Options{}), scriptEnv), func() {}, nil
		},
	}
}

// StackTarget is the engine target of one in-process stack: its Entra and Veeam through
// the stack's in-memory transport, on the stack's virtual clock, with its control API.
// env becomes the scripts' env (a copy).
func StackTarget(st *stack.InProcess, env map[string]string) *engine.Target {
	return &engine.Target{
		Name:       config.MockTarget,
		Kind:       engine.TargetMock,
		Entra:      engine.EntraTarget{EntraSettings: flow.EntraSettings{Authority: st.EntraURL, Tenant: st.Tenant, ClientID: st.ClientID}, User: st.User},
		Veeam:      engine.VeeamTarget{URL: st.VeeamURL, AdminUser: st.AdminUser, AdminPassword: st.AdminPassword, Organization: st.Tenant},
		HTTPClient: st.Client,
		Clock:      st.Clock,
		Control:    &engine.ControlTarget{EntraURL: st.EntraURL, VeeamURL: st.VeeamURL},
		Env:        maps.Clone(env),
	}
}
