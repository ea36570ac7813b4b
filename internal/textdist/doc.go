// Package textdist measures how far apart two names are, for the "did you mean" hints of
// the scenario engine (a typo in a vbharness name) and of the mocks' configuration files
// (a misspelt field). What counts as close, and which name to suggest, stays with each
// caller; this package only measures.
package textdist
