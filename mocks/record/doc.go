// Package record owns recordings: Veeam exchanges (a `vbharness run --record DIR`, a
// `vbharness proxy --record DIR`) written as stub files that `vbharness mock --stubs DIR`
// replays. It decides what is recorded (not the auth endpoints, which the mock's own
// auth chain answers on replay), how secrets are taken out (through mocks/secret: its
// field kinds and a scrubber of every secret the exchanges carried), how a recording is
// normalised so that replay is deterministic (volatile headers dropped, JSON re-encoded
// with sorted keys, repeated requests answered in the order they were recorded), and how
// ids and names are anonymised consistently.
//
// The stub format and its matching rules are mocks/veeam's (stubs.go); docs/veeam-mock.md
// ("Recordings") describes the files and the replay rules. What crosses the wire is
// captured by the callers: the engine (run) and mocks/proxy (proxy).
package record
