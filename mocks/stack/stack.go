// Package stack assembles a whole mock world: the Entra mock and the Veeam mock sharing
// one clock, with Veeam verifying assertions against that Entra.
//
// NewInProcess builds the private stack of one scenario: a virtual clock and an in-memory
// transport (no sockets, no TLS), so thousands can run in one process. Serve starts the
// standalone stack behind `vbharness mock`: real listeners, HTTPS from a local CA kept in a
// state directory, and a real clock whose offset the control API advances.
//
// In both, POST /_mock/reset on either server resets the whole stack (both servers' state,
// journals and faults); the clock is left where it is.
package stack

import (
	"net/http"
	"time"

	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/mocks/entra"
	"github.com/vbharness/vbharness/mocks/inproc"
	"github.com/vbharness/vbharness/mocks/veeam"
)

// Origins of the in-process stack. They are not resolvable names: only the stack's own
// transport serves them.
const (
	EntraURL = "https://login.mock"
	VeeamURL = "https://veeam.mock:4443"
)

// InProcess is one scenario's private mock stack.
type InProcess struct {
	Clock         *clock.Virtual
	Entra         *entra.Server
	Veeam         *veeam.Server
	Transport     *inproc.Transport
	Client        *http.Client // reaches both mocks through Transport
	EntraURL      string
	VeeamURL      string
	Tenant        string // the default tenant, also the Veeam organization
	ClientID      string // the Azure CLI public client
	User          string // the tenant's default user
	AdminUser     string
	AdminPassword string
}

// Options configure NewInProcess; the zero value gives the defaults.
type Options struct {
	Start time.Time      // virtual clock start; clock.DefaultStart if zero
	Entra []entra.Option // appended after the stack's own options
	Veeam []veeam.Option // appended after the stack's own options
}

// NewInProcess returns a fresh stack on its own virtual clock. Signing keys are shared
// process-wide by the mocks, so this costs no key generation.
func NewInProcess(o Options) *InProcess {
	clk := clock.NewVirtual(o.Start)
	tr := inproc.New()
	client := &http.Client{Transport: tr}
	e := entra.New(clk, append([]entra.Option{entra.WithBaseURL(EntraURL)}, o.Entra...)...)
	v := veeam.New(clk, append([]veeam.Option{veeam.WithAuthority(EntraURL), veeam.WithHTTPClient(client),
		veeam.WithEntraApplications(entraApps{e})}, o.Veeam...)...)
	tr.Handle("login.mock", e)
	tr.Handle("veeam.mock:4443", v)
	e.Control().AllowHosts("login.mock")
	v.Control().AllowHosts("veeam.mock")
	linkResets(e, v)
	return &InProcess{
		Clock: clk, Entra: e, Veeam: v, Transport: tr, Client: client,
		EntraURL: EntraURL, VeeamURL: VeeamURL,
		Tenant: entra.DefaultTenant, ClientID: entra.AzureCLIClientID, User: entra.DefaultAdminUPN,
		AdminUser: veeam.DefaultAdminUser, AdminPassword: veeam.DefaultAdminPassword,
	}
}

// linkResets makes POST /_mock/reset on either server reset both.
func linkResets(e *entra.Server, v *veeam.Server) {
	resetBoth := func() {
		e.Reset()
		v.Reset()
		e.Control().Journal().Clear()
		e.Control().Faults().Clear()
		v.Control().Journal().Clear()
		v.Control().Faults().Clear()
	}
	e.Control().SetReset(resetBoth)
	v.Control().SetReset(resetBoth)
}
