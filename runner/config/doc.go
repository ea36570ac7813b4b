// Package config owns the targets file, vbharness.yaml: where live targets are (a lab
// Veeam server with real Entra, or a separately started `vbharness mock`), how to trust
// them, and which secrets come from the environment.
//
// The file is checked in two steps, both before any test runs. Parse checks the shape
// of the whole file (YAML syntax, known keys, value types, no duplicate targets);
// Resolve checks the one target a run uses (required fields, URLs, the CA file) and
// applies the environment overrides. Every error is an *Error that names the file, the
// line and column, what is wrong and what to do about it.
//
// What lives elsewhere: building HTTP clients and engine targets from a resolved target
// is the runner's (runner.LiveTarget); the embedded mock target needs no file at all.
package config
