package proxy

import "github.com/vbharness/vbharness/mocks/contract"

// Service names of an exchange.
const (
	ServiceVeeam = contract.ServiceVeeam
	ServiceEntra = contract.ServiceEntra
)

// Exchange is one request and its answer as the client saw them (contract.Exchange).
type Exchange = contract.Exchange

// Violation is one way an exchange breaks the contract (contract.Violation).
type Violation = contract.Violation

// Checker validates an exchange against the contract; *contract.Checker is one. It
// must be safe for concurrent use.
type Checker interface {
	Check(ex Exchange) []Violation
}

// Recorder saves a Veeam exchange as a stub (the CLI adapts record.Recorder, whose
// Exchange has the same fields); it is handed Entra's exchanges too, to learn their
// secrets, and records none of them. It must be safe for concurrent use.
type Recorder interface {
	Add(ex Exchange) error
}
