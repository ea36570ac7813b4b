// Package report owns what a run looks like to people and to CI: the console output (a
// header, a line per test, a live progress line on a terminal, the failures in detail
// and the closing "N passed, N failed, N skipped" line) and the JUnit XML, JSON, TAP and
// HTML report files. The HTML report is one page (html/: its shell, style and script,
// embedded) that renders the JSON report's document, plus each test's timeline marks.
//
// Every format goes through the run's secret.Scrubber twice: the outcome is scrubbed
// field by field before it is rendered (so escaping cannot hide a secret from the
// scrubber), and the rendered text is scrubbed again. Nothing a run obtained or was given
// reaches a report whole.
//
// What lives elsewhere: running tests and computing the outcome is the runner's; the
// report formats' field lists are documented in docs/cli.md, and golden files in
// testdata/ keep them stable (go test ./runner/report -update rewrites them).
package report
