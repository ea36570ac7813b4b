package engine

import "github.com/dop251/goja"

func init() {
	// __goPanic panics in Go the way a bug inside goja does (an index out of range), so
	// tests can check that such a panic is one test's error (engineFailure).
	testGlobals = func(vm *goja.Runtime) {
		_ = vm.Set("__goPanic", func() {
			var none []int
			_ = none[len(none)+1]
		})
	}
}
