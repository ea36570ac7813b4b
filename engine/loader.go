package engine

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/dop251/goja"
	"github.com/dop251/goja/parser"
)

// moduleWrapperPrefix turns a file into a CommonJS module function. It shares the file's
// first line, so line numbers are the file's own; columns on line 1 are corrected by
// len(moduleWrapperPrefix) wherever a position is reported.
const moduleWrapperPrefix = "(function (exports, require, module, __filename, __dirname) {"

// moduleWrapperSuffix closes the wrapper on a line of its own, after the file's last line
// (which may end in a // comment).
const moduleWrapperSuffix = "\n})"

// internalPrefix names the engine's own JavaScript (frames from it are hidden in reports).
const internalPrefix = "vbharness:"

// Loader compiles scenario files from a file system, once per path and content. A Loader
// is safe for concurrent use; the programs it returns may run in many runtimes at once.
type Loader struct {
	fsys fs.FS

	mu    sync.Mutex
	progs map[string]compiled // path → the latest content compiled for it
}

type compiled struct {
	sum  [sha256.Size]byte
	prog *goja.Program
	tail *registrationTail
	err  *LoadError
}

// NewLoader returns a Loader reading scripts and their relative requires from fsys.
// Paths are fs.FS paths: slash-separated and unrooted ("scenarios/login.js").
func NewLoader(fsys fs.FS) *Loader {
	return &Loader{fsys: fsys, progs: map[string]compiled{}}
}

// LoadError is a script that could not be loaded: a missing file, a syntax error, or (from
// Script.Tests) an exception thrown by the script's top level. Line and Column are 1-based
// and 0 when unknown.
type LoadError struct {
	File    string
	Line    int
	Column  int
	Message string
	Stack   string   // JS stack of a top-level exception, file.js:line:col frames
	Excerpt *Excerpt // the source around Line, when it is known
	Err     error    // the underlying error, if any
}

// Error implements error: "file.js:line:col: message".
func (e *LoadError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Line, e.Column)
	}
	b.WriteString(": ")
	b.WriteString(e.Message)
	return b.String()
}

// Unwrap returns the underlying error.
func (e *LoadError) Unwrap() error { return e.Err }

// Script is a compiled scenario file.
type Script struct {
	loader *Loader
	path   string
	prog   *goja.Program
	tail   *registrationTail // where Run may end the top level early

	testsMu  sync.Mutex
	tests    []TestInfo
	testsErr error
	testsOK  bool
	// collected says Tests evaluated the top level without error: every registration
	// was checked, so Run registers only the test it runs (registry.only). from (set
	// before collected) maps a test to the statement of tail.calls that registered it.
	collected atomic.Bool
	from      map[string]int
	each      *eachListing
}

// eachListing is what listing found of a file's test.each calls: each call, with the rows
// of a function table as JSON, and which call and row registered each test. Test runtimes
// read it (never write it) once the file is collected.
type eachListing struct {
	sites []eachSite
	of    map[string]eachRef
}

// Path returns the script's path in the loader's file system, as its stack frames name it.
func (s *Script) Path() string { return s.path }

// Load compiles the script at p (cached by path and content). A missing file or a syntax
// error returns a *LoadError naming file:line:col.
func (l *Loader) Load(p string) (*Script, error) {
	clean, err := cleanPath(p)
	if err != nil {
		return nil, &LoadError{File: p, Message: err.Error(), Err: err}
	}
	c, lerr := l.compile(clean)
	if lerr != nil {
		return nil, lerr
	}
	return &Script{loader: l, path: clean, prog: c.prog, tail: c.tail}, nil
}

func cleanPath(p string) (string, error) {
	c := path.Clean(strings.TrimPrefix(p, "./"))
	if !fs.ValidPath(c) || c == "." {
		return "", fmt.Errorf("%q is not a path inside the scenario directory (use slash-separated relative paths)", p)
	}
	return c, nil
}

// errNotFound marks a missing script or module.
var errNotFound = errors.New("file does not exist")

// program reads p and returns its compiled module function, compiling only when the
// content changed since the last call.
func (l *Loader) program(p string) (*goja.Program, *LoadError) {
	c, lerr := l.compile(p)
	return c.prog, lerr
}

// compile reads p and returns it compiled, compiling only when the content changed since
// the last call.
func (l *Loader) compile(p string) (compiled, *LoadError) {
	src, err := fs.ReadFile(l.fsys, p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return compiled{}, &LoadError{File: p, Message: errNotFound.Error(), Err: errNotFound}
		}
		return compiled{}, &LoadError{File: p, Message: err.Error(), Err: err}
	}
	sum := sha256.Sum256(src)
	l.mu.Lock()
	c, ok := l.progs[p]
	l.mu.Unlock()
	if ok && c.sum == sum {
		return c, c.err
	}
	prog, tail, lerr := compileModule(p, string(src))
	if lerr != nil && lerr.Line > 0 {
		lerr.Excerpt = excerptOf(lerr.File, string(src), lerr.Line, lerr.Column)
	}
	c = compiled{sum: sum, prog: prog, tail: tail, err: lerr}
	l.mu.Lock()
	l.progs[p] = c
	l.mu.Unlock()
	return c, lerr
}

// compileModule compiles src as a CommonJS module function named p, so stack frames show
// p, and finds where its top level only registers tests (newRegistrationTail).
func compileModule(p, src string) (*goja.Program, *registrationTail, *LoadError) {
	if line, col, msg, bad := nestingError(src); bad {
		return nil, nil, &LoadError{File: p, Line: line, Column: col, Message: "SyntaxError: " + msg +
			" (vbharness refuses it before parsing: goja's parser would exhaust the stack and end the run)"}
	}
	wrapped := moduleWrapperPrefix + src + moduleWrapperSuffix
	ast, err := parser.ParseFile(nil, p, wrapped, 0, parser.WithDisableSourceMaps, parser.WithMaxDepth(parserDepth))
	if err != nil {
		le := &LoadError{File: p, Message: "SyntaxError: " + err.Error(), Err: err}
		var list parser.ErrorList
		if errors.As(err, &list) && len(list) > 0 {
			pos := list[0].Position
			le.Line, le.Column = pos.Line, userColumn(pos.Line, pos.Column)
			le.Message = "SyntaxError: " + list[0].Message
			if line, col, past := pastTheEnd(src, le.Line, le.Column); past {
				le.Line, le.Column = line, col
				switch list[0].Message {
				case "Unexpected token }", "Unexpected token )", "Unexpected end of input":
					le.Message = "SyntaxError: Unexpected end of input" // the file's, not the wrapper's
				}
			}
		}
		return nil, nil, le
	}
	markSpinLoops(ast)
	prog, err := goja.CompileAST(ast, false)
	if err != nil {
		le := &LoadError{File: p, Message: err.Error(), Err: err}
		var se *goja.CompilerSyntaxError
		if errors.As(err, &se) && se.File != nil {
			pos := se.File.Position(se.Offset)
			le.Line, le.Column = pos.Line, userColumn(pos.Line, pos.Column)
			le.Message = "SyntaxError: " + se.Message
		}
		return nil, nil, le
	}
	return prog, newRegistrationTail(ast), nil
}

// pastTheEnd says the position line:col (the file's own, from userColumn) is in the module
// wrapper's suffix, after the file's last character: where the parser stops when the file
// ends too soon (an unclosed bracket). It returns the position just after the file's last
// character that is not white space, so the error names the file's end, not a line the
// file does not have (a 2-line file was reported at bad.js:4:3).
func pastTheEnd(src string, line, col int) (endLine, endCol int, past bool) {
	lines := strings.Split(src, "\n")
	if line < len(lines) || (line == len(lines) && col <= len(lines[len(lines)-1])) {
		return 0, 0, false
	}
	trimmed := strings.TrimRight(src, " \t\r\n")
	lines = strings.Split(trimmed, "\n")
	last := strings.TrimSuffix(lines[len(lines)-1], "\r")
	return len(lines), len(last) + 1, true
}

// userColumn maps a column in wrapped source to the file's own column.
func userColumn(line, col int) int {
	if line == 1 {
		col -= len(moduleWrapperPrefix)
		if col < 1 {
			col = 1
		}
	}
	return col
}

// Tests evaluates the script's top level in a throwaway runtime and returns the tests it
// registers, in registration order. The result is kept per Script (except when ctx ended
// first). An exception at the top level (a failed require, a duplicate test name, a
// throw) is a *LoadError.
func (s *Script) Tests(ctx context.Context) ([]TestInfo, error) {
	s.testsMu.Lock()
	defer s.testsMu.Unlock()
	if !s.testsOK {
		tests, from, each, err := s.collect(ctx)
		if err != nil && ctx.Err() != nil {
			return nil, err
		}
		s.tests, s.testsErr, s.testsOK = tests, err, true
		if err == nil {
			s.from, s.each = from, each
			s.collected.Store(true)
		}
	}
	if s.testsErr != nil {
		return nil, s.testsErr
	}
	out := make([]TestInfo, len(s.tests))
	copy(out, s.tests)
	return out, nil
}
