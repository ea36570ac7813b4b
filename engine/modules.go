package engine

import (
	"strings"

	"github.com/dop251/goja"
)

// The module contract. require("vbharness") is an object whose members are modules: test
// registration, expect, entra, veeam, mock, clock, http, jwt, target, env, console. Each
// module is a struct of its own in its own file (mod_*.go, registry.go, expect.go) that
// embeds the runtime's *host and keeps its own state; its methods are its JS functions.
// Its constructor builds the JS value once per runtime.
//
// Adding a top-level module is one file (the struct, its methods, its constructor) and
// one line in the table below, plus its declaration in vbharness.d.ts, which
// TestDeclarationsMatchTheModule checks for every line of the table.

// moduleDef is one line of the modules table.
type moduleDef struct {
	name    string                   // the member of require("vbharness")
	context bool                     // also a member of the object each test function receives
	new     func(h *host) goja.Value // builds the module for one runtime
}

// modules lists the members of require("vbharness"), in the order scripts see them. The
// context a test receives, the names the error classes join, and the test prelude of the
// engine's own tests all come from this table.
var modules = []moduleDef{
	{"test", false, newTest},
	{"beforeEach", false, newHook("beforeEach")},
	{"afterEach", false, newHook("afterEach")},
	{"expect", true, newExpect},
	{"sleep", true, newSleep},
	{"entra", true, newEntra},
	{"veeam", true, newVeeam},
	{"mock", true, newMock},
	{"clock", true, newClock},
	{"http", true, newHTTP},
	{"jwt", true, newJWT},
	{"target", true, newTarget},
	{"env", true, newEnv},
	{"console", true, newConsole},
}

// errorClasses are the classes the prelude defines, exported after the modules.
var errorClasses = []string{"AssertionError", "EntraError", "VeeamError", "TimeoutError", "RequirementError"}

// exportNames lists every member of require("vbharness"): the modules, then the error
// classes.
func exportNames() []string {
	names := make([]string, 0, len(modules)+len(errorClasses))
	for _, m := range modules {
		names = append(names, m.name)
	}
	return append(names, errorClasses...)
}

// contextNames lists the members of the object a test function receives (plus test, the
// running test).
func contextNames() []string {
	var names []string
	for _, m := range modules {
		if m.context {
			names = append(names, m.name)
		}
	}
	return names
}

// buildExports assembles require("vbharness") for one runtime.
func buildExports(h *host) *goja.Object {
	exp := h.vm.NewObject()
	for _, m := range modules {
		_ = exp.Set(m.name, m.new(h))
	}
	for _, c := range errorClasses {
		_ = exp.Set(c, h.js.errCtors[c])
	}
	return exp
}

// contextObject is what a test function and its hooks receive.
func contextObject(h *host, exports *goja.Object, info TestInfo) *goja.Object {
	c := h.vm.NewObject()
	for _, m := range modules {
		if m.context {
			_ = c.Set(m.name, exports.Get(m.name))
		}
	}
	tags := make([]any, len(info.Tags))
	for i, s := range info.Tags {
		tags[i] = s
	}
	reqs := make([]any, len(info.Requires))
	for i, r := range info.Requires {
		reqs[i] = string(r)
	}
	_ = c.Set("test", h.object(member{"name", info.Name}, member{"file", info.File},
		member{"tags", h.vm.NewArray(tags...)}, member{"requires", h.vm.NewArray(reqs...)}))
	return c
}

// preludeSource defines the engine's error classes. Frames from it are hidden.
var preludeSource = `(function () {
  "use strict";
  function define(name) {
    const E = class extends Error {};
    Object.defineProperty(E.prototype, "name", { value: name, writable: true, configurable: true });
    Object.defineProperty(E, "name", { value: name });
    return E;
  }
  return {` + classList() + `};
})()`

func classList() string {
	var b strings.Builder
	for _, c := range errorClasses {
		b.WriteString("\n    " + c + ": define(\"" + c + "\"),")
	}
	return b.String() + "\n  "
}

var preludeProgram = goja.MustCompile(internalPrefix+"prelude.js", preludeSource, true)
