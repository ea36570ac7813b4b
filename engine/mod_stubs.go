package engine

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/dop251/goja"

	"github.com/vbharness/vbharness/engine/flow"
)

// The Veeam mock's stubs (docs/veeam-mock.md, "Stubs") from scripts: mock.veeam.stub,
// mock.veeam.stubs and mock.veeam.clearStubs, members of the mock module. A stub a test
// adds is removed when the test ends, however it ends (host.atTestEnd), so a running
// mock shared by many tests (a live target with a control API) is left as the test
// found it.

// stubMembers are the stub functions of mock.veeam.
func (m *mockModule) stubMembers() []member {
	return []member{
		m.fn("veeam.stub", m.addStub),
		m.fn("veeam.stubs", func(goja.FunctionCall) goja.Value {
			res, _ := m.controlJSON("veeam", "GET", "/_mock/stubs", nil).(*goja.Object)
			if res == nil {
				return m.vm.NewArray()
			}
			return res.Get("stubs")
		}),
		m.fn("veeam.clearStubs", func(goja.FunctionCall) goja.Value {
			m.controlJSON("veeam", "DELETE", "/_mock/stubs", nil)
			m.stubs = nil
			return goja.Undefined()
		}),
	}
}

// addStub is mock.veeam.stub(spec): POST /_mock/stubs with the spec (delay may be a
// duration string or milliseconds, as everywhere in the API), returning the stub as the
// mock keeps it, with remove().
func (m *mockModule) addStub(call goja.FunctionCall) goja.Value {
	spec, ok := call.Argument(0).(*goja.Object)
	if !ok || spec.ClassName() == "Array" {
		m.throw("TypeError", "mock.veeam.stub needs a stub object such as {method: \"GET\", path: \"/v8/Jobs/{jobId}\", status: 503}")
	}
	body := m.vm.NewObject()
	for _, k := range spec.Keys() {
		v := spec.Get(k)
		if k == "delay" && !goja.IsUndefined(v) && !goja.IsNull(v) {
			v = m.vm.ToValue(m.duration(v, "mock.veeam.stub delay").String())
		}
		_ = body.Set(k, v)
	}
	res, ok := m.controlJSON("veeam", "POST", "/_mock/stubs", body).(*goja.Object)
	if !ok {
		m.throw("Error", "mock.veeam.stub: the mock answered no stub")
	}
	id := res.Get("id").String()
	if len(m.stubs) == 0 {
		m.atTestEnd(m.removeOwnStubs)
	}
	m.stubs = append(m.stubs, id)
	_ = res.Set("remove", func(goja.FunctionCall) goja.Value {
		m.need("stub.remove", RequireControl)
		// Quiet when it is gone already (removed, cleared, or reset): it answers whether
		// this call removed it.
		removed := m.removeStub(id)
		m.stubs = slices.DeleteFunc(m.stubs, func(s string) bool { return s == id })
		return m.vm.ToValue(removed)
	})
	return res
}

// removeStub deletes one stub, reporting whether it was there (404: it was not).
func (m *mockModule) removeStub(id string) bool {
	what := "stub.remove (" + id + ")"
	status, body, err := m.controlDelete(m.ctx, "/_mock/stubs/"+url.PathEscape(id))
	switch {
	case err != nil:
		m.throwErr(what, err)
	case status == http.StatusNotFound:
		return false
	case status >= 300:
		m.throw("Error", "%s: the control API answered HTTP %d: %s", what, status, strings.TrimSpace(string(body)))
	}
	return true
}

// controlDelete sends DELETE path to the Veeam mock's control API, without throwing.
func (m *mockModule) controlDelete(ctx context.Context, path string) (int, []byte, error) {
	h := http.Header{}
	if tok := m.target.Control.Token; tok != "" {
		h.Set("Authorization", "Bearer "+tok)
	}
	resp, err := m.control.Do(ctx, flow.Request{Method: http.MethodDelete, URL: strings.TrimRight(m.target.Control.VeeamURL, "/") + path, Header: h})
	if err != nil {
		return 0, nil, err
	}
	return resp.Status, resp.Body, nil
}

// removeOwnStubs removes the stubs the test added and did not remove, when it has ended
// (atTestEnd). It never throws; it returns which stubs it could not remove, since they
// would still answer later tests on a shared mock (the test's result reports them).
func (m *mockModule) removeOwnStubs(ctx context.Context) error {
	if m.target == nil || m.target.Control == nil {
		return nil
	}
	var errs []error
	for _, id := range m.stubs {
		status, body, err := m.controlDelete(ctx, "/_mock/stubs/"+url.PathEscape(id))
		if err == nil && (status == http.StatusNoContent || status == http.StatusNotFound) {
			continue
		}
		msg := ""
		if err != nil {
			msg = err.Error()
		} else {
			var eb struct {
				Error string `json:"error"`
			}
			msg = "HTTP " + itoa(status)
			if json.Unmarshal(body, &eb) == nil && eb.Error != "" {
				msg += ": " + eb.Error
			}
		}
		errs = append(errs, errors.New("vbharness: the test ended, but its Veeam stub "+id+" could not be removed ("+msg+"); it still answers on the mock"))
	}
	m.stubs = nil
	return errors.Join(errs...)
}
