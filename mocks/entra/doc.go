// Package entra is the mock Microsoft Entra ID (login.microsoftonline.com) of
// vbharness: the device-code flow, refresh and discovery, faithful enough that MSAL
// for Go, msal-node and golang.org/x/oauth2 work against it unchanged except for the
// authority URL.
//
// It owns the directory model (tenants, users, apps; DefaultDirectory, LoadDirectory),
// including the applications directory of modern app-only authentication (apps with a
// home tenant, certificate and secret credentials, application permissions per
// resource and admin consent: applications.go), the protocol endpoints (OpenID
// configuration, JWKS, instance discovery, devicecode, token with the device_code,
// refresh_token and client_credentials grants, the last with a secret or an RFC 7523
// certificate assertion: assertion.go), the browser device login page at /devicelogin,
// and the Entra part of the control API (/_mock/devicecodes, /_mock/users/revoke,
// /_mock/keys/rotate, /_mock/settings, /_mock/applications). The Veeam mock registers
// and reads applications through the Server's Go methods (RegisterApplication,
// Application, GenerateAppCertificate, DefaultAppCertificate).
//
// What lives elsewhere: the clock (mocks/clock), signing keys and JWKS rendering
// (mocks/keys), the request pipeline and the common control routes (mocks/control,
// which also owns the journal and faults), TLS (mocks/tlsca) and the mock Veeam
// server (mocks/veeam). The facts the mock follows are recorded in
// docs/entra-mock.md, with each assumption and the switch that changes it.
//
// Usage from a plain Go test:
//
//	clk := clock.NewVirtual(time.Time{})
//	srv := httptest.NewTLSServer(entra.New(clk))
//	// authority: srv.URL + "/" + entra.DefaultTenant
//
// Every handler reads the clock once per request. State (device codes, revocation
// epochs, settings) sits behind mutexes; refresh tokens are sealed with a per-server
// key rather than stored, so the mock's memory stays bounded.
package entra
