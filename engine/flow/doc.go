// Package flow owns the Go protocol clients of the modern-auth chain that vbharness tests:
// Microsoft Entra ID's device-code grant (device code, RFC 8628 polling, refresh,
// discovery, JWKS) and the Veeam Backup for Microsoft 365 REST API's /v8/token grants
// (jwt-bearer assertion, password, operator, refresh), logout and authenticated requests
// with automatic refresh and `_links.next` paging.
//
// The package is pure Go: no JavaScript, no engine types. The scenario engine wraps it in
// its `entra` and `veeam` modules, and the CLI's `vbharness login` and `vbharness token`
// commands call it directly.
//
// Every call takes a context and returns when it ends; every wait (the device-code polling
// interval, slow_down back-off, expiry) runs on the caller's clock.Clock, so on a virtual
// clock a 15-minute device-code expiry passes in microseconds. Time is read from that clock
// only; the wall clock is used only to measure how long an HTTP exchange took, and only
// when HTTP.Wall is set.
//
// Clients hold no goroutines. Entra and Veeam values are safe for concurrent use once
// configured; a Session serialises its own token updates.
package flow
