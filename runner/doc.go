// Package runner turns scenario scripts into a test run: it discovers scenario files,
// collects the tests they register, decides which to run and which to skip (and why),
// runs the rest on a pool of workers with a fresh runtime and, on the embedded mock
// target, a fresh in-process mock stack per test, and returns the results in a stable
// order together with the run's exit code. A run can be cut into shards for many machines
// (Plan.Shard: a stable, optionally duration-balanced share) and the shards' outcomes
// joined back into the whole run's (Merge).
//
// What lives elsewhere: the JavaScript runtime and the `vbharness` module are the
// engine's (package engine, reached here through the small Engine and Script
// interfaces so scheduling can be tested with a fake); the targets file is parsed by
// runner/config; console, JUnit, JSON and TAP output is runner/report; the command line
// is cmd/vbharness/cli. The runner never prints: it reports progress to an Observer.
//
// Goroutines: Plan.Execute runs tests on Options.Parallel worker goroutines and calls the
// Observer from one goroutine at a time. A test's Script.Run is called on the worker
// that owns the test; the runner shares nothing between tests but the run's Scrubber
// and, on live targets, the target's HTTP client and clock.
package runner
