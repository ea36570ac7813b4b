package engine

import (
	"net/http"
	"testing"

	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/mocks/entra"
	"github.com/vbharness/vbharness/mocks/inproc"
	"github.com/vbharness/vbharness/mocks/veeam"
)

// testStack is an in-process Entra + Veeam stack on one virtual clock.
type testStack struct {
	Clock *clock.Virtual
	Entra *entra.Server
	Veeam *veeam.Server
}

const (
	testEntraURL = "https://login.mock"
	testVeeamURL = "https://veeam.mock:4443"
)

// newMockTarget returns the mock target of one test: a fresh in-process stack, as the
// runner builds it for TargetMock.
func newMockTarget(t testing.TB) (*Target, *testStack) {
	t.Helper()
	clk := clock.NewVirtual(clock.DefaultStart)
	tr := inproc.New()
	client := &http.Client{Transport: tr}
	e := entra.New(clk)
	v := veeam.New(clk, veeam.WithAuthority(testEntraURL), veeam.WithHTTPClient(client))
	tr.Handle("login.mock", e)
	tr.Handle("veeam.mock:4443", v)
	return &Target{
		Name: "mock",
		Kind: TargetMock,
		Entra: EntraTarget{Authority: testEntraURL, Tenant: entra.DefaultTenant, ClientID: entra.AzureCLIClientID,
			Scope: "Directory.AccessAsUser.All User.ReadWrite.All offline_access", User: entra.DefaultAdminUPN},
		Veeam:      VeeamTarget{URL: testVeeamURL, AdminUser: veeam.DefaultAdminUser, AdminPassword: veeam.DefaultAdminPassword, Organization: veeam.DefaultOrganization},
		HTTPClient: client,
		Clock:      clk,
		Control:    &ControlTarget{EntraURL: testEntraURL, VeeamURL: testVeeamURL},
		Env:        map[string]string{"VBHARNESS_GREETING": "hello"},
	}, &testStack{Clock: clk, Entra: e, Veeam: v}
}
