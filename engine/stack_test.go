package engine

import (
	"testing"

	"github.com/vbharness/vbharness/engine/flow"
	"github.com/vbharness/vbharness/mocks/stack"
)

// newMockTarget returns the mock target of one test: a fresh in-process stack, as the
// runner builds it for TargetMock.
func newMockTarget(t testing.TB) (*Target, *stack.InProcess) {
	t.Helper()
	s := stack.NewInProcess(stack.Options{})
	return &Target{
		Name: "mock",
		Kind: TargetMock,
		Entra: EntraTarget{EntraSettings: flow.EntraSettings{Authority: s.EntraURL, Tenant: s.Tenant, ClientID: s.ClientID,
			Scope: "Directory.AccessAsUser.All User.ReadWrite.All offline_access"}, User: s.User},
		Veeam:      VeeamTarget{URL: s.VeeamURL, AdminUser: s.AdminUser, AdminPassword: s.AdminPassword, Organization: s.Tenant},
		HTTPClient: s.Client,
		Clock:      s.Clock,
		Control:    &ControlTarget{EntraURL: s.EntraURL, VeeamURL: s.VeeamURL},
		Env:        map[string]string{"VBHARNESS_GREETING": "hello"},
	}, s
}
