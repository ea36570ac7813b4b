// Package mocks is the root of vbharness's offline world: a mock Microsoft Entra ID
// (mocks/entra) and a mock Veeam Backup for Microsoft 365 REST API v8 (mocks/veeam).
//
// The subpackages hold what both mocks share: one clock per stack (clock), signing keys
// and JWKS (keys), fault injection (faults), the request journal (journal), the
// `/_mock/` control API and request pipeline (control), the local TLS CA (tlsca), the
// redaction of secrets (secret), an in-memory HTTP transport (inproc), the strict
// decoder of every configuration file (configfile) and the state file a standalone mock
// keeps with --state-dir (state). The stack package assembles a whole
// Entra + Veeam stack; the proxy package is the validation proxy that stands in front
// of a real server (`vbharness proxy`).
//
// Import rule: nothing under mocks imports engine, runner or cmd, so the mocks are
// usable from plain Go tests: httptest.NewServer(entra.New(...)).
package mocks
