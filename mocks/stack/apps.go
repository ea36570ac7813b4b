package stack

import (
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/vbharness/vbharness/mocks/entra"
	"github.com/vbharness/vbharness/mocks/veeam"
)

// appCertLifetime is how long a certificate the Veeam mock generates for an
// application is valid [I: VB365's self-signed certificate lifetime is not published].
const appCertLifetime = 365 * 24 * time.Hour

// entraApps is the Entra mock's applications API as the Veeam mock's directory
// (veeam.EntraApplications): what a real VB365 does with Graph calls (modern-app-only.md
// §3.2), done on the mock's directory.
type entraApps struct{ e *entra.Server }

var _ veeam.EntraApplications = entraApps{}

// certificate is cert, or a new self-signed one valid from the Entra clock's now.
func (a entraApps) certificate(name string, cert *x509.Certificate) (*x509.Certificate, error) {
	if cert != nil {
		return cert, nil
	}
	now := a.e.Clock().Now()
	ac, err := entra.GenerateAppCertificate(name, now, now.Add(appCertLifetime))
	if err != nil {
		return nil, err
	}
	return ac.Cert, nil
}

// RegisterApplication registers a tenant-bound application with VB365's permissions,
// consented, and "Allow public client flows" on, as VB365 sets it for device-code
// restores (modern-app-only.md §3.1 [C]).
func (a entraApps) RegisterApplication(tenant, name string, cert *x509.Certificate) (string, *x509.Certificate, error) {
	cert, err := a.certificate(name, cert)
	if err != nil {
		return "", nil, err
	}
	info, err := a.e.RegisterApplication(entra.App{
		DisplayName: name, Tenant: tenant, PublicClient: true,
		Certificates: []entra.Certificate{{Cert: cert}},
		Permissions:  entra.VB365ApplicationPermissions(),
	})
	if err != nil {
		return "", nil, err
	}
	return info.AppID, cert, nil
}

// ConfigureApplication registers the certificate on an existing application and grants
// it VB365's permissions.
func (a entraApps) ConfigureApplication(tenant, appID string, cert *x509.Certificate) (*x509.Certificate, error) {
	cert, err := a.certificate("Veeam Backup for Microsoft 365", cert)
	if err != nil {
		return nil, err
	}
	_, err = a.e.ConfigureApplication(tenant, appID, entra.Certificate{Cert: cert}, entra.VB365ApplicationPermissions())
	if errors.Is(err, entra.ErrUnknownApplication) {
		return nil, fmt.Errorf("%w: %w", veeam.ErrNoApplication, err)
	}
	return cert, err
}
