package engine

import (
	"reflect"

	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/file"
)

// goja maps a bytecode position to the source position of the last expression compiled
// before it: statements have no position of their own. A loop that evaluates no
// expression (`for(;;){}`, `while (true);`, `do {} while (1)`) compiles to a bare jump,
// so an interrupt inside it (a timeout, Ctrl-C) was reported at whatever expression came
// before the loop: a top-level `for(;;){}` on line 3 showed up as 1:8, the require on
// line 1 (issue 15 attack, D5). markSpinLoops gives each such loop an expression at its
// own keyword, so the interrupt's stack frame names the loop.

// markSpinLoops finds, anywhere in n, the loops whose test is absent or a constant and
// whose body evaluates no expression, and makes their body the expression `undefined`
// positioned at the loop's keyword. Reading the global undefined has no effect (it is
// neither writable nor configurable), and these loops only spin: they never end by
// themselves, so a load and a pop per turn cost nothing anyone waits for.
func markSpinLoops(n any) {
	seen := map[uintptr]bool{}
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Interface:
			if !v.IsNil() {
				walk(v.Elem())
			}
		case reflect.Pointer:
			if v.IsNil() || seen[v.Pointer()] {
				return
			}
			seen[v.Pointer()] = true
			switch s := v.Interface().(type) {
			case *ast.ForStatement:
				if s.Update == nil && constantTest(s.Test) && evaluatesNothing(s.Body) {
					s.Body = spinMarker(s.For)
				}
			case *ast.WhileStatement:
				if constantTest(s.Test) && evaluatesNothing(s.Body) {
					s.Body = spinMarker(s.While)
				}
			case *ast.DoWhileStatement:
				if constantTest(s.Test) && evaluatesNothing(s.Body) {
					s.Body = spinMarker(s.Do)
				}
			}
			walk(v.Elem())
		case reflect.Struct:
			if v.Type().PkgPath() != reflect.TypeFor[ast.Program]().PkgPath() {
				return // file.File, unistring and the like: no statements inside
			}
			for i := range v.NumField() {
				walk(v.Field(i))
			}
		case reflect.Slice:
			for i := range v.Len() {
				walk(v.Index(i))
			}
		}
	}
	walk(reflect.ValueOf(n))
}

// constantTest says a loop's test compiles to no code of its own: absent, or a literal
// (with a unary operator, as in `while (!0)`).
func constantTest(e ast.Expression) bool {
	switch e := e.(type) {
	case nil:
		return true
	case *ast.BooleanLiteral, *ast.NumberLiteral, *ast.StringLiteral, *ast.NullLiteral:
		return true
	case *ast.UnaryExpression:
		return constantTest(e.Operand)
	}
	return false
}

// evaluatesNothing says s is empty: blocks of empty statements.
func evaluatesNothing(s ast.Statement) bool {
	switch s := s.(type) {
	case *ast.EmptyStatement:
		return true
	case *ast.BlockStatement:
		for _, x := range s.List {
			if !evaluatesNothing(x) {
				return false
			}
		}
		return true
	}
	return false
}

// spinMarker is the body markSpinLoops gives a loop whose keyword is at idx.
func spinMarker(idx file.Idx) ast.Statement {
	return &ast.ExpressionStatement{Expression: &ast.Identifier{Name: "undefined", Idx: idx}}
}
