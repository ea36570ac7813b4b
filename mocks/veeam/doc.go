// Package veeam owns the mock Veeam Backup for Microsoft 365 REST API v8: the server
// that takes a Microsoft Entra ID token response as a jwt-bearer assertion (step 4 of
// Veeam's "Authorization for Organizations with Modern App-Only Authentication"),
// verifies it as a real server would, issues its own RS256 tokens, and serves every
// operation of Veeam's published v8 OpenAPI document behind them.
//
// How it is built:
//   - The document (package spec) is the route table: routing.go builds a
//     case-insensitive tree of its 487 operations, once per process, with 404 and 405
//     answered before authentication.
//   - One table (operations.go), keyed by operationId, decides per operation who may
//     call it (anonymous, administrators, tenants limited to their organization and
//     their own restore sessions, restore operators) and what answers it: a hand-written
//     handler (api.go, token.go), a collection of the world (collections.go), a settings
//     singleton, or a value generated from the response schema.
//   - Every request is validated against the document before a handler runs; handlers
//     return (status, body, error) to one writer (serve.go).
//   - The world (world.go, seed.go) holds the resources as JSON objects: built once per
//     process from Fixtures and from the document, shared read-only, with each server's
//     changes on top, so a new server costs a few maps.
//   - POST /v8/token with the password, refresh_token, jwt-bearer and operator grants
//     (form or JSON bodies), and POST /v8/token/logout. jwt-bearer assertions are
//     checked against the Entra JWKS found through the authority's OpenID configuration
//     (WithAuthority, WithHTTPClient): signature, exp and nbf on the shared clock, tid,
//     the Microsoft Graph audience and the seed's Directory and User permissions, then
//     the organization, its modern app-only authentication and the tenant-authentication
//     setting.
//   - Stubs (stubs.go), WireMock's stub mappings: answers of the caller's own for any
//     operation or exact path, matched before validation and the handler but after
//     authentication, from the control API, WithStubs or a file (LoadStubs).
//   - The common control API of mocks/control under /_mock/, plus /_mock/settings,
//     /_mock/organizations, /_mock/sessions/revoke and /_mock/stubs.
//   - With WithState (persist.go), what clients change (the world's items and settings
//     objects, sessions and tokens, the mock settings) is written through to a Store
//     in one commit per request, before the answer, and LoadState reads it back at the
//     next start. Without it, as in every in-process stack, all of it stays in memory.
//
// What lives elsewhere: the document, its validation and the value generator are
// mocks/veeam/spec; the clock, signing keys, journal, faults, control pipeline, TLS
// CA and the state file (mocks/state, bbolt, behind Store) are the shared packages under mocks/; the mock Entra ID is mocks/entra; the
// `vbharness mock` command that serves both over HTTPS is in cmd. Facts and the
// confirmed/inferred status of every behaviour are in docs/veeam-mock.md, which also
// says where to add things.
//
// A Server is an http.Handler and is safe for concurrent use; use it from plain tests
// with httptest.NewServer(veeam.New(clk, veeam.WithAuthority(entraURL))).
package veeam
