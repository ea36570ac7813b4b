// Package config owns the targets file, vbharness.yaml: where live targets are (a lab
// Veeam server with real Entra, or a separately started `vbharness mock`), how to trust
// them, and which secrets come from the environment.
//
// The file is checked in two steps, both before any test runs. Parse checks the shape
// of the whole file through the strict decoder every configuration file shares
// (mocks/configfile: syntax, known keys matched exactly with "did you mean" for a typo,
// value types, no key twice) and the target names; Resolve checks the one target a run
// uses (required fields, URLs, the CA file) and applies the environment overrides. Every
// error is an *Error that names the file, the line and column, what is wrong and what to
// do about it.
//
// What lives elsewhere: building HTTP clients and engine targets from a resolved target
// is the runner's (runner.LiveTarget), and so are a running mock's defaults
// (runner.MockDefaults): this package imports no mock server (mocks/imports_test.go).
// The embedded mock target needs no file at all.
package config
