// Package veeam owns the mock Veeam Backup for Microsoft 365 REST API v8: the server
// that takes a Microsoft Entra ID token response as a jwt-bearer assertion (step 4 of
// Veeam's "Authorization for Organizations with Modern App-Only Authentication"),
// verifies it as a real server would, and issues its own RS256 tokens.
//
// What it serves:
//   - POST /v8/token with the password, refresh_token, jwt-bearer and operator grants
//     (form or JSON bodies; paths match case-insensitively), and POST /v8/token/logout.
//     jwt-bearer assertions are checked against the Entra JWKS found through the
//     authority's OpenID configuration (WithAuthority, WithHTTPClient): signature, exp
//     and nbf on the shared clock, tid, the Microsoft Graph audience and the seed's
//     Directory and User permissions, then the organization, its modern app-only
//     authentication and the tenant-authentication setting.
//   - The resources behind the token (service instance, organizations, jobs and their
//     actions, job sessions, repositories, proxies, restore sessions, the tenant's
//     /v8/Organization and /v8/Organization/Explore) with Veeam's paging and errors,
//     seeded from Fixtures.
//   - The common control API of mocks/control under /_mock/, plus /_mock/settings,
//     /_mock/organizations and /_mock/sessions/revoke.
//
// What lives elsewhere: the clock, signing keys, journal, faults, control pipeline and
// TLS CA are the shared packages under mocks/; the mock Entra ID is mocks/entra; the
// `vbharness mock` command that serves both over HTTPS is in cmd. Facts and the
// confirmed/inferred status of every behaviour are in docs/veeam-mock.md.
//
// A Server is an http.Handler and is safe for concurrent use; use it from plain tests
// with httptest.NewServer(veeam.New(clk, veeam.WithAuthority(entraURL))).
package veeam
