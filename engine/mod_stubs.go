package engine

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/dop251/goja"

	"github.com/vbharness/vbharness/engine/flow"
)

// The Veeam mock's stubs (docs/veeam-mock.md, "Stubs") from scripts: mock.veeam.stub,
// mock.veeam.stubs and mock.veeam.clearStubs. A stub a test adds is removed when the
// test ends, however it ends, so a running mock shared by many tests (a live target
// with a control API) is left as the test found it.

// stubCleanupTimeout bounds removing a test's stubs when it ends.
const stubCleanupTimeout = 5 * time.Second

// stubFunctions adds the stub functions to mock.veeam.
func (r *rt) stubFunctions(s *goja.Object) {
	r.setControlFn(s, "mock.veeam.stub", r.addStub)
	r.setControlFn(s, "mock.veeam.stubs", func(goja.FunctionCall) goja.Value {
		res, _ := r.controlJSON("veeam", "GET", "/_mock/stubs", nil).(*goja.Object)
		if res == nil {
			return r.vm.NewArray()
		}
		return res.Get("stubs")
	})
	r.setControlFn(s, "mock.veeam.clearStubs", func(goja.FunctionCall) goja.Value {
		r.controlJSON("veeam", "DELETE", "/_mock/stubs", nil)
		r.ownStubs = nil
		return goja.Undefined()
	})
}

// addStub is mock.veeam.stub(spec): POST /_mock/stubs with the spec (delay may be a
// duration string or milliseconds, as everywhere in the API), returning the stub as the
// mock keeps it, with remove().
func (r *rt) addStub(call goja.FunctionCall) goja.Value {
	spec, ok := call.Argument(0).(*goja.Object)
	if !ok || spec.ClassName() == "Array" {
		r.throw("TypeError", "mock.veeam.stub needs a stub object such as {method: \"GET\", path: \"/v8/Jobs/{jobId}\", status: 503}")
	}
	body := r.vm.NewObject()
	for _, k := range spec.Keys() {
		v := spec.Get(k)
		if k == "delay" && !goja.IsUndefined(v) && !goja.IsNull(v) {
			v = r.vm.ToValue(r.duration(v, "mock.veeam.stub delay").String())
		}
		_ = body.Set(k, v)
	}
	res, ok := r.controlJSON("veeam", "POST", "/_mock/stubs", body).(*goja.Object)
	if !ok {
		r.throw("Error", "mock.veeam.stub: the mock answered no stub")
	}
	id := res.Get("id").String()
	r.ownStubs = append(r.ownStubs, id)
	_ = res.Set("remove", func(goja.FunctionCall) goja.Value {
		r.needControl("stub.remove")
		// Quiet when it is gone already (removed, cleared, or reset): it answers whether
		// this call removed it.
		removed := r.removeStub(id)
		r.ownStubs = slices.DeleteFunc(r.ownStubs, func(s string) bool { return s == id })
		return r.vm.ToValue(removed)
	})
	return res
}

// removeStub deletes one stub, reporting whether it was there (404: it was not).
func (r *rt) removeStub(id string) bool {
	what := "stub.remove (" + id + ")"
	status, body, err := r.controlDelete(r.ctx, "/_mock/stubs/"+url.PathEscape(id))
	switch {
	case err != nil:
		r.throwErr(what, err)
	case status == http.StatusNotFound:
		return false
	case status >= 300:
		r.throw("Error", "%s: the control API answered HTTP %d: %s", what, status, strings.TrimSpace(string(body)))
	}
	return true
}

// controlDelete sends DELETE path to the Veeam mock's control API.
func (r *rt) controlDelete(ctx context.Context, path string) (int, []byte, error) {
	h := http.Header{}
	if tok := r.target.Control.Token; tok != "" {
		h.Set("Authorization", "Bearer "+tok)
	}
	resp, err := r.control.Do(ctx, flow.Request{Method: http.MethodDelete, URL: strings.TrimRight(r.target.Control.VeeamURL, "/") + path, Header: h})
	if err != nil {
		return 0, nil, err
	}
	return resp.Status, resp.Body, nil
}

// removeOwnStubs removes the stubs the test added and did not remove, when the test has
// ended (passed, failed, timed out or interrupted: ctx may be done, so the removal gets
// its own short deadline). It never throws; a stub it cannot remove is reported on the
// test's console, since it would still answer later tests on a shared mock.
func (r *rt) removeOwnStubs(ctx context.Context) {
	if len(r.ownStubs) == 0 || r.target == nil || r.target.Control == nil {
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stubCleanupTimeout)
	defer cancel()
	for _, id := range r.ownStubs {
		status, body, err := r.controlDelete(cctx, "/_mock/stubs/"+url.PathEscape(id))
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
		r.console = append(r.console, ConsoleLine{Level: "warn",
			Text: "vbharness: the test ended, but its Veeam stub " + id + " could not be removed (" + msg + "); it still answers on the mock"})
	}
	r.ownStubs = nil
}
