package proxy

import (
	"fmt"
	"net/http"
	"net/url"
)

// Service names of an exchange, as mocks/contract names them.
const (
	ServiceVeeam = "veeam"
	ServiceEntra = "entra"
)

// Exchange is one request and its answer as the client saw them (bodies whole, not
// redacted): the shape of contract.Exchange.
type Exchange struct {
	Service        string
	Method         string
	URL            *url.URL
	RequestHeader  http.Header
	RequestBody    []byte
	Status         int // 0: no answer (transport error)
	ResponseHeader http.Header
	ResponseBody   []byte
}

// Violation is one way an exchange breaks the contract: the shape of contract.Violation.
type Violation struct {
	Service   string `json:"service"`
	Side      string `json:"side"`
	Operation string `json:"operation,omitempty"`
	Method    string `json:"method"`
	Path      string `json:"path"`
	Status    int    `json:"status,omitempty"`
	Pointer   string `json:"pointer"`
	Expected  string `json:"expected"`
	Received  string `json:"received"`
}

// String is the violation on one line.
func (v Violation) String() string {
	op := ""
	if v.Operation != "" {
		op = " (" + v.Operation + ")"
	}
	st := ""
	if v.Side == "response" && v.Status != 0 {
		st = fmt.Sprintf(" %d", v.Status)
	}
	return fmt.Sprintf("%s %s%s %s%s %s: expected %s, received %s", v.Method, v.Path, op, v.Side, st, v.Pointer, v.Expected, v.Received)
}

// Checker validates an exchange against the contract (contract.Checker). It must be
// safe for concurrent use.
type Checker interface {
	Check(ex Exchange) []Violation
}

// Recorder saves a Veeam exchange as a stub (record.Recorder, through an adapter). It
// must be safe for concurrent use.
type Recorder interface {
	Add(ex Exchange) error
}
