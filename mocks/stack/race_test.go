//go:build race

package stack

// raceEnabled reports a -race build, whose instrumented copies make the 500 MB journal
// flood take a minute and a half; such builds send a tenth of it.
const raceEnabled = true
