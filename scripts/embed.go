// Package scripts is the bundled scenario catalogue: the .js scenarios in this folder
// (helper modules under lib/ and lab-only scenarios under lab/ join the embed pattern
// as the catalogue grows), embedded in the binary so that `go install
// …/cmd/vbharness` followed by `vbharness run` works anywhere.
//
// The runner discovers scenarios in FS exactly as it does on disk; the CLI presents its
// paths under "scripts/" so reports name the same files as the repository.
package scripts

import "embed"

// FS holds the bundled scenarios, at paths relative to this folder
// ("modern_auth_login.js").
//
//go:embed *.js lib lab
var FS embed.FS
