// Package cli is the vbharness command line: `run`, `report merge`, `mock`, `login` and `token`, built
// with cobra. Main takes the arguments, standard streams and environment and returns the
// exit code, so every command runs in-process in tests; cmd/vbharness/main.go only wires
// the process (os.Args, os.Stdin/Stdout/Stderr, the environment and SIGINT/SIGTERM) to
// it and calls os.Exit.
//
// The package wires, it does not implement: test discovery, scheduling, targets and
// reports are runner's, the JavaScript runtime is engine's, the protocol clients used by
// login and token are engine/flow's, and the mock servers are mocks'. The reference for
// every command, flag, exit code and environment variable is docs/cli.md.
package cli
