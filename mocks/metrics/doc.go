// Package metrics owns the Prometheus metrics of a standalone mock stack (`vbharness
// mock`): requests by server, method, route template and status, their latency,
// tokens issued by kind and refusals by error code, plus the Go runtime's and the
// process's own metrics. It observes the control pipeline (control.SetObserver) and
// serves GET /_mock/metrics (control.SetMetrics); the mocks themselves know nothing of
// it, and in-process stacks (one per scenario) do not use it.
//
// Cardinality is bounded by construction: routes are templates the servers declare
// (never the raw path), methods outside the HTTP set are "other", token kinds are a
// fixed list, and at most MaxCodes distinct error codes are kept (then "other").
package metrics
