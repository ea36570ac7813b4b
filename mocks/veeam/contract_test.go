package veeam_test

import (
	"net/http"
	"testing"

	"github.com/vbharness/vbharness/mocks/contract"
	"github.com/vbharness/vbharness/mocks/veeam"
)

// The mock's own tests double as the contract checker's agreement test: every exchange
// the end-to-end tests (stack.send) and the handler tests (testEnv.do) make is checked
// by mocks/contract, and a violation fails the test. A request the mock refused with a
// 4xx is not a violation (see mocks/contract), so the negative tests pass through.
func init() {
	checker := contract.New()
	veeam.CheckExchange = func(t testing.TB, service string, req *http.Request, reqBody []byte, status int, header http.Header, body []byte) {
		t.Helper()
		ex := contract.Exchange{Service: service, Method: req.Method, URL: req.URL, RequestHeader: req.Header, RequestBody: reqBody, Status: status, ResponseHeader: header, ResponseBody: body}
		for _, v := range checker.Check(ex) {
			t.Errorf("contract: %s", v)
		}
	}
}
