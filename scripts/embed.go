// Package scripts is the bundled scenario catalogue: the .js scenarios in this folder,
// the helper modules they require from lib/ (never run as scenarios), and the lab smoke
// suite in lab/ (`vbharness run --root scripts scripts/lab --target lab`), embedded in
// the binary so that `go install …/cmd/vbharness` followed by `vbharness run` works anywhere.
// docs/writing-scenarios.md says what each file proves.
//
// The runner discovers scenarios in FS exactly as it does on disk; the CLI presents its
// paths under "scripts/" so reports name the same files as the repository. The tests here
// run the catalogue: BenchmarkCatalogue (acceptance 1), against a running mock with and
// without its control API (acceptance 2), and against mutated mocks (acceptance 4).
package scripts

import "embed"

// FS holds the bundled scenarios and their helpers, at paths relative to this folder
// ("modern_auth_login.js", "lib/flow.js", "lab/smoke.js").
//
//go:embed *.js lib lab
var FS embed.FS
