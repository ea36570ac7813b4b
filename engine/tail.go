package engine

import (
	"errors"

	"github.com/dop251/goja"
	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/file"
	"github.com/dop251/goja/token"
)

// A test's runtime evaluates its file's whole top level (a fresh runtime per test), so a
// file of N tests costs each of them the JavaScript that creates N functions and option
// objects: N² in all. Registering the other tests is already free (registry.only); what is
// left is the script's own JavaScript. This file decides, once per compiled file, where
// the rest of the top level can do nothing but register other tests, so that a test's
// runtime may stop evaluating it there, right after registering its own test, with the
// same outcome as evaluating it to the end.

// registrationTail lists the top-level statements of a file after which the rest of the
// top level only registers tests: every statement from there on is a call of test,
// test.skip or test.only (through the same const binding) whose arguments evaluate without
// running any code (literals, functions, object and array literals of them, top-level
// names), or a function declaration (hoisted: the statement itself does nothing).
type registrationTail struct {
	file  *file.File
	stmts []tailStmt // in source order
}

// tailStmt is a statement `X(...)`, `X.skip(...)` or `X.only(...)` whose arguments run no
// code, with only such statements (or function declarations) after it.
type tailStmt struct {
	from, to file.Position // the statement, in the wrapped source's coordinates
	dotted   bool          // the rest of the top level calls X.skip or X.only
}

// newRegistrationTail analyses the module function fn (the file inside its CommonJS
// wrapper); nil when no statement qualifies.
func newRegistrationTail(f *file.File, fn *ast.FunctionLiteral) *registrationTail {
	if fn == nil || fn.Body == nil {
		return nil
	}
	list := fn.Body.List
	names := map[string]bool{"undefined": true}
	consts := map[string]bool{}
	for _, p := range fn.ParameterList.List {
		bindingNames(p.Target, names)
	}
	for _, s := range list {
		switch s := s.(type) {
		case *ast.VariableStatement:
			for _, b := range s.List {
				bindingNames(b.Target, names)
			}
		case *ast.LexicalDeclaration:
			for _, b := range s.List {
				bindingNames(b.Target, names)
				if s.Token == token.CONST {
					bindingNames(b.Target, consts)
				}
			}
		case *ast.FunctionDeclaration:
			if s.Function.Name != nil {
				names[string(s.Function.Name.Name)] = true
			}
		case *ast.ClassDeclaration:
			if s.Class.Name != nil {
				names[string(s.Class.Name.Name)] = true
			}
		}
	}
	t := &registrationTail{file: f}
	callee, dotted, ok := "", false, true // what the statements after the current one call
	for i := len(list) - 1; i >= 0 && ok; i-- {
		switch s := list[i].(type) {
		case *ast.FunctionDeclaration, *ast.EmptyStatement:
			continue
		case *ast.ExpressionStatement:
			x, dot, pure := registrationCall(s, names)
			if !pure || !consts[x] || (callee != "" && callee != x) {
				ok = false
				continue
			}
			t.stmts = append(t.stmts, tailStmt{from: f.Position(int(s.Idx0()) - f.Base()), to: f.Position(int(s.Idx1()) - f.Base()), dotted: dotted})
			callee, dotted = x, dotted || dot
		default:
			ok = false
		}
	}
	if len(t.stmts) == 0 {
		return nil
	}
	for i, j := 0, len(t.stmts)-1; i < j; i, j = i+1, j-1 {
		t.stmts[i], t.stmts[j] = t.stmts[j], t.stmts[i]
	}
	return t
}

// at returns the statement that contains the position line:col, if it is one of t's.
func (t *registrationTail) at(line, col int) (tailStmt, bool) {
	if t == nil {
		return tailStmt{}, false
	}
	for _, s := range t.stmts {
		if before(line, col, s.from) || !before(line, col, s.to) {
			continue
		}
		return s, true
	}
	return tailStmt{}, false
}

func before(line, col int, p file.Position) bool {
	return line < p.Line || (line == p.Line && col < p.Column)
}

// registrationCall reads s as `X(args)`, `X.skip(args)` or `X.only(args)`: X, whether it
// is one of the dotted forms, and whether it is such a call whose arguments run no code.
func registrationCall(s *ast.ExpressionStatement, names map[string]bool) (x string, dotted, ok bool) {
	call, isCall := s.Expression.(*ast.CallExpression)
	if !isCall {
		return "", false, false
	}
	switch c := call.Callee.(type) {
	case *ast.Identifier:
		x = string(c.Name)
	case *ast.DotExpression:
		id, isID := c.Left.(*ast.Identifier)
		if !isID || (c.Identifier.Name != "skip" && c.Identifier.Name != "only") {
			return "", false, false
		}
		x, dotted = string(id.Name), true
	default:
		return "", false, false
	}
	for _, a := range call.ArgumentList {
		if !inert(a, names) {
			return "", false, false
		}
	}
	return x, dotted, true
}

// inert says evaluating e runs no code and changes nothing but creating values: literals,
// templates without substitutions, function literals (created, not called), object literals
// with fixed keys and array literals without spread, of inert values, and names declared at
// the top level (reading them calls no getter).
func inert(e ast.Expression, names map[string]bool) bool {
	switch e := e.(type) {
	case *ast.StringLiteral, *ast.NumberLiteral, *ast.BooleanLiteral, *ast.NullLiteral,
		*ast.FunctionLiteral, *ast.ArrowFunctionLiteral:
		return true
	case *ast.TemplateLiteral:
		return e.Tag == nil && len(e.Expressions) == 0
	case *ast.Identifier:
		return names[string(e.Name)]
	case *ast.UnaryExpression:
		_, num := e.Operand.(*ast.NumberLiteral)
		return num && (e.Operator == token.MINUS || e.Operator == token.PLUS)
	case *ast.ArrayLiteral:
		for _, v := range e.Value {
			if v != nil && !inert(v, names) {
				return false
			}
		}
		return true
	case *ast.ObjectLiteral:
		for _, p := range e.Value {
			switch p := p.(type) {
			case *ast.PropertyKeyed:
				if p.Computed || !inert(p.Value, names) {
					return false
				}
			case *ast.PropertyShort:
				if p.Initializer != nil || !names[string(p.Name.Name)] {
					return false
				}
			default:
				return false
			}
		}
		return true
	}
	return false
}

// bindingNames adds the names a binding target declares to into.
func bindingNames(t ast.BindingTarget, into map[string]bool) {
	switch t := t.(type) {
	case *ast.Identifier:
		into[string(t.Name)] = true
	case *ast.ObjectPattern:
		for _, p := range t.Properties {
			switch p := p.(type) {
			case *ast.PropertyShort:
				into[string(p.Name.Name)] = true
			case *ast.PropertyKeyed:
				if bt, ok := p.Value.(ast.BindingTarget); ok {
					bindingNames(bt, into)
				}
			}
		}
		if bt, ok := t.Rest.(ast.BindingTarget); ok {
			bindingNames(bt, into)
		}
	case *ast.ArrayPattern:
		for _, e := range t.Elements {
			if bt, ok := e.(ast.BindingTarget); ok {
				bindingNames(bt, into)
			}
		}
		if bt, ok := t.Rest.(ast.BindingTarget); ok {
			bindingNames(bt, into)
		}
	}
}

// stopAfterTarget ends the top level of a test's runtime right after it registered the
// test it runs, when the rest of the top level would only register other tests: the
// runtime then throws r.reg.stop, which Run takes for a top level that ran to the end.
// Checked here, at run time: the call came straight from a statement of registrationTail
// (not from a function, so no try/catch of the script can see the throw), through test
// itself for the dotted forms, and test.skip and test.only are still the engine's own (the
// rest of the top level calls them).
func (r registration) stopAfterTarget(kind string, call goja.FunctionCall) {
	if r.reg.tail == nil {
		return
	}
	var caller *goja.StackFrame
	frames := r.vm.CaptureCallStack(0, nil)
	for i := range frames {
		if frames[i].SrcName() != "<native>" {
			caller = &frames[i]
			break
		}
	}
	if caller == nil || caller.SrcName() != r.file {
		return
	}
	pos := caller.Position()
	s, ok := r.reg.tail.at(pos.Line, pos.Column)
	if !ok {
		return
	}
	if kind != "test" && !call.This.SameAs(r.reg.testFn) {
		return
	}
	if s.dotted && (!r.reg.testFn.Get("skip").SameAs(r.reg.skipFn) || !r.reg.testFn.Get("only").SameAs(r.reg.onlyFn)) {
		return
	}
	r.reg.stop = r.vm.NewObject()
	panic(r.reg.stop)
}

// stopped says err is the throw of stopAfterTarget.
func (g *registry) stopped(err error) bool {
	var ex *goja.Exception
	return g.stop != nil && errors.As(err, &ex) && g.stop.SameAs(ex.Value())
}
