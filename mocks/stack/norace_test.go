//go:build !race

package stack

// raceEnabled reports a -race build (see race_test.go).
const raceEnabled = false
