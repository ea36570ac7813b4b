package engine

import (
	"errors"
	"slices"

	"github.com/dop251/goja"
	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/file"
	"github.com/dop251/goja/token"
)

// A test's runtime evaluates its file's top level (a fresh runtime per test), so a file of
// N tests costs each of them the JavaScript that creates N functions and option objects:
// N² in all. Registering the other tests is already free (registry.only); what is left is
// the script's own JavaScript. This file finds, once per compiled file, the top-level
// statements that do nothing but register a test, so that a test's runtime may leave out
// those of the other tests (registrationTail.without) and stop evaluating the top level
// right after its own test when nothing but such statements follow (stopAfterTarget), with
// the same outcome as evaluating all of it.

// registrationTail is what a file's top level registers without running any code: the
// statements `X(...)` through a top-level const X whose arguments run no code (literals,
// functions, object and array literals of them, top-level names), and the statements after
// which the rest of the top level only registers tests (every statement from there on is
// such a call, also X.skip(...) or X.only(...), or a function declaration, which is
// hoisted and does nothing where it stands).
type registrationTail struct {
	file  *file.File
	prog  *ast.Program         // the parsed module, shared read-only by without
	fn    *ast.FunctionLiteral // its module function
	calls []callStmt           // the statements X(...), in source order
	stmts []tailStmt           // the stopping points, in source order
}

// callStmt is a top-level statement `X(...)` whose arguments run no code.
type callStmt struct {
	index    int    // in fn.Body.List
	callee   string // X
	from, to file.Position
}

// tailStmt is a statement `X(...)`, `X.skip(...)` or `X.only(...)` whose arguments run no
// code, with only such statements (or function declarations) after it.
type tailStmt struct {
	from, to file.Position // the statement, in the wrapped source's coordinates
	dotted   bool          // the rest of the top level calls X.skip or X.only
}

// minLeftOut is how many other tests' statements a runtime must be able to leave out for
// Run to compile a program without them rather than evaluate them: compiling costs about
// as much as evaluating a few dozen.
const minLeftOut = 32

// newRegistrationTail analyses the module prog (the file inside its CommonJS wrapper);
// nil when no statement qualifies.
func newRegistrationTail(prog *ast.Program) *registrationTail {
	var fn *ast.FunctionLiteral
	if len(prog.Body) == 1 {
		if st, ok := prog.Body[0].(*ast.ExpressionStatement); ok {
			fn, _ = st.Expression.(*ast.FunctionLiteral)
		}
	}
	if fn == nil || fn.Body == nil {
		return nil
	}
	f := prog.File
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
	t := &registrationTail{file: f, prog: prog, fn: fn}
	for i, st := range list {
		if es, isExpr := st.(*ast.ExpressionStatement); isExpr {
			if x, dot, pure := registrationCall(es, names); pure && !dot && consts[x] {
				t.calls = append(t.calls, callStmt{index: i, callee: x, from: f.Position(int(st.Idx0()) - f.Base()), to: f.Position(int(st.Idx1()) - f.Base())})
			}
		}
	}
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
	if len(t.stmts) == 0 && len(t.calls) == 0 {
		return nil
	}
	for i, j := 0, len(t.stmts)-1; i < j; i, j = i+1, j-1 {
		t.stmts[i], t.stmts[j] = t.stmts[j], t.stmts[i]
	}
	return t
}

// at returns the stopping point that contains the position line:col, if there is one.
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

// call returns the index in t.calls of the statement that contains line:col.
func (t *registrationTail) call(line, col int) (int, bool) {
	if t == nil {
		return 0, false
	}
	i, _ := slices.BinarySearchFunc(t.calls, file.Position{Line: line, Column: col}, func(c callStmt, p file.Position) int {
		if before(c.to.Line, c.to.Column, p) || (c.to.Line == p.Line && c.to.Column == p.Column) {
			return -1
		}
		return 1
	})
	if i < len(t.calls) && !before(line, col, t.calls[i].from) {
		return i, true
	}
	return 0, false
}

// without compiles the module without the statements of t.calls that call the same X as
// calls[keep], but calls[keep]; nil when that would leave out fewer than minLeftOut. The
// statements left keep their positions, so stack frames and excerpts are the file's.
func (t *registrationTail) without(keep int) (*goja.Program, error) {
	list := t.fn.Body.List
	body := make([]ast.Statement, 0, len(list))
	next := 0
	for i, st := range list {
		if next < len(t.calls) && t.calls[next].index == i {
			c := next
			next++
			if c != keep && t.calls[c].callee == t.calls[keep].callee {
				continue
			}
		}
		body = append(body, st)
	}
	if len(list)-len(body) < minLeftOut {
		return nil, nil
	}
	fn := *t.fn
	fn.Body = &ast.BlockStatement{LeftBrace: t.fn.Body.LeftBrace, List: body, RightBrace: t.fn.Body.RightBrace}
	return goja.CompileAST(&ast.Program{Body: []ast.Statement{&ast.ExpressionStatement{Expression: &fn}}, DeclarationList: t.prog.DeclarationList, File: t.prog.File}, false)
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
	line, col, ok := r.topLevelCaller()
	if !ok {
		return
	}
	s, ok := r.reg.tail.at(line, col)
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

// topLevelCaller returns the position of the script code that called the registration
// function running now, if that code is in the script's own file: the first frame that is
// not native (bound functions, call, apply and Reflect.apply only pass a call on).
func (r registration) topLevelCaller() (line, col int, ok bool) {
	for _, f := range r.vm.CaptureCallStack(0, nil) {
		if f.SrcName() == "<native>" {
			continue
		}
		if f.SrcName() != r.file {
			return 0, 0, false
		}
		pos := f.Position()
		return pos.Line, pos.Column, true
	}
	return 0, 0, false
}

// stopped says err is the throw of stopAfterTarget.
func (g *registry) stopped(err error) bool {
	var ex *goja.Exception
	return g.stop != nil && errors.As(err, &ex) && g.stop.SameAs(ex.Value())
}
