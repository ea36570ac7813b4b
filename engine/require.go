package engine

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/dop251/goja"
)

// requirer is CommonJS require for one runtime: "vbharness" and files relative to the
// requiring one, each evaluated once and cached.
type requirer struct {
	*host
	loader  *Loader // nil allows only "vbharness"
	exports *goja.Object
	modules map[string]*goja.Object // path → module object
}

func (q *requirer) requireFrom(from string) goja.Value {
	return q.named("require", func(call goja.FunctionCall) goja.Value {
		return q.require(from, call.Argument(0).String())
	})
}

func (q *requirer) require(from, spec string) goja.Value {
	if spec == "vbharness" {
		return q.exports
	}
	if !strings.HasPrefix(spec, "./") && !strings.HasPrefix(spec, "../") {
		q.throw("Error", "cannot find module %q (required from %s): only \"vbharness\" and relative paths such as \"./lib/flow.js\" can be required", spec, q.callerPos())
	}
	if q.loader == nil {
		q.throw("Error", "cannot require %q here: this runtime has no scenario directory", spec)
	}
	resolved := path.Join(path.Dir(from), spec)
	if resolved == ".." || strings.HasPrefix(resolved, "../") {
		q.throw("Error", "cannot require %q (required from %s): it is outside the scenario file system; a script may require only files under the folders of the scenario paths it was run with, or under --root", spec, q.callerPos())
	}
	candidates := []string{resolved}
	if !strings.HasSuffix(resolved, ".js") {
		candidates = []string{resolved + ".js", resolved + "/index.js", resolved}
	}
	for _, c := range candidates {
		if m, ok := q.modules[c]; ok {
			return m.Get("exports")
		}
	}
	for _, c := range candidates {
		if !fsValid(c) {
			break
		}
		prog, lerr := q.loader.program(c)
		if lerr != nil && errors.Is(lerr.Err, errNotFound) {
			continue
		}
		if lerr != nil && !strings.HasPrefix(lerr.Message, "SyntaxError") {
			// The file system refused it: outside the folders scripts may require from.
			q.throw("Error", "cannot require %q (required from %s): %v", spec, q.callerPos(), lerr.Err)
		}
		if lerr != nil {
			// The class once: the message is where and what ("lib/bad.js:1:42:
			// Unexpected token ;"), and String(e) adds "SyntaxError: " before it.
			at := *lerr
			at.Message = strings.TrimPrefix(at.Message, "SyntaxError: ")
			panic(q.newError("SyntaxError", at.Error(), nil))
		}
		return q.run(c, prog).Get("exports")
	}
	q.throw("Error", "cannot find module %q (looked for %s) required from %s", spec, resolved, q.callerPos())
	return nil
}

func fsValid(p string) bool { _, err := cleanPath(p); return err == nil && !strings.HasPrefix(p, "..") }

// callerPos names the JS position that called the current host function.
func (h *host) callerPos() string {
	for _, f := range h.vm.CaptureCallStack(0, nil) {
		name := f.SrcName()
		if name == "<native>" || strings.HasPrefix(name, internalPrefix) {
			continue
		}
		pos := f.Position()
		return fmt.Sprintf("%s:%d:%d", name, pos.Line, userColumn(pos.Line, pos.Column))
	}
	return h.file
}

// run evaluates a compiled module once and caches it (before it runs, so cyclic
// requires see the partial exports, as in Node).
func (q *requirer) run(p string, prog *goja.Program) *goja.Object {
	module := q.vm.NewObject()
	exports := q.vm.NewObject()
	_ = module.Set("exports", exports)
	_ = module.Set("id", p)
	q.modules[p] = module
	fnv, err := q.vm.RunProgram(prog)
	if err != nil {
		panic(err)
	}
	fn, _ := goja.AssertFunction(fnv)
	if _, err := fn(exports, exports, q.requireFrom(p), module, q.vm.ToValue(p), q.vm.ToValue(path.Dir(p))); err != nil {
		panic(err)
	}
	return module
}

// runMain evaluates the script's top level, registering its tests.
func (r *runtime) runMain(prog *goja.Program) error {
	r.phase = phaseTop
	return protect(func() { r.req.run(r.file, prog) })
}

// protect runs f, turning the panics of host code (JS exceptions, interrupts) into errors.
func protect(f func()) (err error) {
	defer func() {
		if p := recover(); p != nil {
			if e, ok := p.(error); ok {
				err = e
				return
			}
			if v, ok := p.(goja.Value); ok {
				err = rejection{v}
				return
			}
			panic(p)
		}
	}()
	f()
	return nil
}
