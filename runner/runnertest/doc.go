// Package runnertest provides a fake engine and a fake target for tests of the runner,
// its reports and the CLI, so scheduling, skips, filters, fail-fast, exit codes and
// report formats can be tested without JavaScript. Tests that need real scripts use the
// real engine with .js fixtures in testdata/. Watchdog bounds the tests that rely on a
// run's default timeout, so a broken default fails them in seconds instead of hanging.
//
// What lives elsewhere: the real engine is package engine (runner.NewEngine), the real
// mock target is runner.MockTarget.
package runnertest
