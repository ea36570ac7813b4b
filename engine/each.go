package engine

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/dop251/goja"
)

// test.each(table)(name, fn, options), Jest's data-driven idiom
// (https://jestjs.io/docs/api#testeachtablename-fn-timeout), also as test.skip.each and
// test.only.each. Every test runs in a fresh runtime that evaluates its file's top level
// again; what keeps a data-driven file's cost per test flat is that table may be a
// function: it is called once, in the runtime that lists the file's tests
// (Script.Tests), its rows kept as JSON by the Script, and a test's runtime takes its own
// row from there without calling it (k6's SharedArray does the same for its VUs). An
// array table is the script's own JavaScript, built again in every test's runtime, but
// that runtime formats and registers only its own row.

// eachSite is one test.each call of a file's top level, as the listing runtime saw it:
// where it was called from, whether its table was a function, and, for a function
// table, the rows it returned (as JSON). Test runtimes match their calls to these in
// order (registry.eachCalls).
type eachSite struct {
	file      string
	line, col int
	fromFn    bool
	rows      []string // fromFn: each row, JSON.stringify'd
	spread    bool     // every row is an array: its elements are the arguments (as Jest's isTable)
	objects   bool     // every row is a non-null object (with no printf token, names read $variable)
}

// eachRef says which test.each call (an index in the listing's eachSites), which call
// of the function it returned (a script may name the same table twice), and which row
// registered a test.
type eachRef struct{ site, call, row int }

// where names the call for messages.
func (s eachSite) where() string { return fmt.Sprintf("%s:%d:%d", s.file, s.line, s.col) }

// maxJSONDepth bounds how deep a function table's row may nest.
const maxJSONDepth = 100

// The sizes test.each refuses with a RangeError, so that no loop or allocation of its
// own in Go (which Runtime.Interrupt cannot stop) runs long: the rows of a table, the
// elements of a row spread as arguments (near V8's limit on arguments), and the values
// of a function table's row.
const (
	maxEachRows      = 1_000_000
	maxEachArgs      = 65_535
	maxEachRowValues = 100_000
)

// each returns test.each (kind "test"), test.skip.each or test.only.each.
func (r registration) each(kind string) func(goja.FunctionCall) goja.Value {
	label := "test.each"
	if kind != "test" {
		label = "test." + kind + ".each"
	}
	return func(call goja.FunctionCall) goja.Value {
		if r.phase != phaseTop {
			r.throw("Error", "%s() must be called at the top level of the script, not inside a test", label)
		}
		site := eachSite{}
		site.file, site.line, site.col = r.caller()
		tableFn, isFn := goja.AssertFunction(call.Argument(0))
		site.fromFn = isFn
		k := r.reg.eachCalls
		r.reg.eachCalls++
		if r.reg.only != nil {
			return r.eachOne(kind, label, k, site, call.Argument(0))
		}
		var rows []goja.Value
		if isFn {
			rows = r.tableRows(label, tableFn, &site)
		} else {
			rows = r.arrayRows(label, call.Argument(0))
		}
		site.spread, site.objects = len(rows) > 0, len(rows) > 0
		for _, row := range rows {
			if !isArray(row) {
				site.spread = false
			}
			if _, isObj := row.(*goja.Object); !isObj {
				site.objects = false
			} else if _, isFn := goja.AssertFunction(row); isFn {
				site.objects = false
			}
		}
		r.reg.eachSites = append(r.reg.eachSites, site)
		calls := 0
		return r.vm.ToValue(func(c goja.FunctionCall) goja.Value {
			calls++
			r.eachAll(kind, label, eachRef{site: k, call: calls - 1}, site, rows, c)
			return goja.Undefined()
		})
	}
}

// eachAll registers a test per row (the listing runtime, or a runtime whose file was
// not listed).
func (r registration) eachAll(kind, label string, at eachRef, site eachSite, rows []goja.Value, call goja.FunctionCall) {
	if r.phase != phaseTop {
		r.throw("Error", "%s(table)() must be called at the top level of the script, not inside a test", label)
	}
	title := r.eachTitle(label, call.Argument(0))
	for i, row := range rows {
		if i&1023 == 0 && r.ctx.Err() != nil {
			r.throwErr(label, r.ctx.Err())
		}
		args := r.args(site, row)
		name := r.eachName(title, args, i, site)
		if name == "" {
			r.throw("TypeError", "%s(table)(name, fn, options): the name of row %d is empty", label, i)
		}
		r.define(kind, label, r.vm.ToValue(name), call.Argument(1), call.Argument(2)).bind(args)
		if r.reg.eachOf == nil {
			r.reg.eachOf = map[string]eachRef{}
		}
		at.row = i
		r.reg.eachOf[name] = at
	}
}

// eachOne is test.each in a test's runtime once the file's tests were listed: it
// registers the runtime's own test, if it came from this call, and nothing else; a
// function table is not called, its row comes from the listing's JSON.
func (r registration) eachOne(kind, label string, k int, site eachSite, table goja.Value) goja.Value {
	if k >= len(r.reg.eachSites) {
		r.throw("Error", "%s at %s: this test's runtime reached a test.each call (the %s of the top level) that listing the file's tests did not; "+
			"the top level must register the same tests every time it runs", label, site.where(), eachOrdinal(k+1))
	}
	listed := r.reg.eachSites[k]
	if listed.file != site.file || listed.line != site.line || listed.col != site.col || listed.fromFn != site.fromFn {
		r.throw("Error", "%s at %s: this test's runtime reached a different test.each call than listing the file's tests did at this point (the %s, at %s then); "+
			"the top level must register the same tests every time it runs", label, site.where(), eachOrdinal(k+1), listed.where())
	}
	if !site.fromFn && !isArray(table) {
		r.arrayRows(label, table) // throws
	}
	only := r.reg.only.String()
	calls := 0
	return r.vm.ToValue(func(call goja.FunctionCall) goja.Value {
		if r.phase != phaseTop {
			r.throw("Error", "%s(table)() must be called at the top level of the script, not inside a test", label)
		}
		calls++
		ref, ok := r.reg.eachOf[only]
		if !ok || ref.site != k || ref.call != calls-1 {
			return goja.Undefined()
		}
		title := r.eachTitle(label, call.Argument(0))
		var row goja.Value
		if listed.fromFn {
			v, err := r.js.jsonParse(goja.Undefined(), r.vm.ToValue(listed.rows[ref.row]))
			if err != nil {
				panic(err)
			}
			row = v
		} else {
			arr := table.(*goja.Object)
			if int64(ref.row) >= arr.Get("length").ToInteger() {
				r.throw("Error", "%s at %s: its table has no row %d in this test's runtime, but had when the file's tests were listed; "+
					"the table must be the same every time the top level runs (for a table that is not, pass a function: test.each(() => rows))", label, site.where(), ref.row)
			}
			row = arr.Get(strconv.Itoa(ref.row))
		}
		args := r.args(listed, row)
		if name := r.eachName(title, args, ref.row, listed); name != only {
			r.throw("Error", "%s at %s: row %d is named %q in this test's runtime but was %q when the file's tests were listed; "+
				"the table must be the same every time the top level runs (for a table that is not, pass a function: test.each(() => rows))", label, site.where(), ref.row, name, only)
		}
		r.define(kind, label, r.reg.only, call.Argument(1), call.Argument(2)).bind(args)
		return goja.Undefined()
	})
}

// args is what a row passes to the test function before the context: its elements when
// every row of the table is an array, else the row itself.
func (r registration) args(s eachSite, row goja.Value) []goja.Value {
	if s.spread && isArray(row) { // a row of a test's runtime may differ from the listed one
		o := row.(*goja.Object)
		n := o.Get("length").ToInteger()
		if n > maxEachArgs {
			r.throw("RangeError", "test.each: a row of %d elements is too long to spread as arguments (at most %d)", n, maxEachArgs)
		}
		out := make([]goja.Value, n)
		for i := range out {
			out[i] = o.Get(strconv.Itoa(i))
		}
		return out
	}
	return []goja.Value{row}
}

// bind makes the test's function receive args before the context its hooks receive.
func (d *testDef) bind(args []goja.Value) {
	if d.fn == nil {
		return
	}
	fn := d.fn
	d.fn = func(this goja.Value, rest ...goja.Value) (goja.Value, error) {
		all := make([]goja.Value, 0, len(args)+len(rest))
		return fn(this, append(append(all, args...), rest...)...)
	}
}

// arrayRows reads an array table.
func (r registration) arrayRows(label string, v goja.Value) []goja.Value {
	if !isArray(v) {
		r.throw("TypeError", "%s(table): table must be an array of rows or a function returning one, not %s", label, r.formatCompact(v, 80))
	}
	o := v.(*goja.Object)
	n := o.Get("length").ToInteger()
	if n > maxEachRows {
		r.throw("RangeError", "%s(table): a table of %d rows is too long (at most %d)", label, n, maxEachRows)
	}
	if n <= 0 { // as Jest does: a table that lost its rows is a mistake, not zero tests
		r.throw("Error", "%s(table): the table is empty; give at least one row", label)
	}
	rows := make([]goja.Value, n)
	for i := range rows {
		rows[i] = o.Get(strconv.Itoa(i))
	}
	return rows
}

// tableRows calls a function table once, checks that it returned an array of JSON
// values, keeps each row as JSON in site, and returns the rows as decoded from it, which
// is what every test's runtime gets.
func (r registration) tableRows(label string, fn goja.Callable, site *eachSite) []goja.Value {
	v, err := fn(goja.Undefined())
	if err != nil {
		panic(err)
	}
	if !isArray(v) {
		r.throw("TypeError", "%s(fn): the table function returned %s, not an array of rows", label, r.formatCompact(v, 80))
	}
	if v.(*goja.Object).Get("length").ToInteger() == 0 {
		r.throw("Error", "%s(fn): the table is empty; give at least one row", label)
	}
	rows := r.arrayRows(label, v)
	site.rows = make([]string, len(rows))
	for i, row := range rows {
		budget := maxEachRowValues
		if why := r.notJSON(row, 0, map[*goja.Object]bool{}, &budget); why != "" {
			r.throw("TypeError", "%s(fn): row %d of the table is not a JSON value: %s. A table function's rows reach each test's runtime as JSON; "+
				"make the value inside the test, or pass an array table", label, i, why)
		}
		s, err := r.js.jsonString(goja.Undefined(), row)
		if err != nil {
			panic(err)
		}
		site.rows[i] = s.String()
		if rows[i], err = r.js.jsonParse(goja.Undefined(), s); err != nil {
			panic(err)
		}
	}
	return rows
}

// notJSON says why v (a row, or a value inside one) is not a JSON value, "" when it
// is: null, booleans, finite numbers, strings, arrays and plain objects of them. The
// reason ends with where in the row the value is ("at [0].f"), built only on failure.
func (r registration) notJSON(v goja.Value, depth int, seen map[*goja.Object]bool, budget *int) string {
	why, path := r.jsonFault(v, depth, seen, budget)
	if why == "" || len(path) == 0 {
		return why
	}
	var b strings.Builder
	for i := len(path) - 1; i >= 0; i-- {
		if b.Len() > 0 && path[i][0] != '[' {
			b.WriteByte('.')
		}
		b.WriteString(path[i])
	}
	return why + " at " + b.String()
}

// jsonFault is notJSON's walk: the reason and the path to the value, innermost first.
func (r registration) jsonFault(v goja.Value, depth int, seen map[*goja.Object]bool, budget *int) (string, []string) {
	if depth > maxJSONDepth {
		return fmt.Sprintf("nested deeper than %d", maxJSONDepth), nil
	}
	if *budget--; *budget < 0 {
		return fmt.Sprintf("more than %d values in one row", maxEachRowValues), nil
	}
	switch {
	case v == nil || goja.IsUndefined(v):
		return "undefined", nil
	case goja.IsNull(v), goja.IsString(v):
		return "", nil
	case goja.IsNumber(v):
		if f := v.ToFloat(); math.IsNaN(f) || math.IsInf(f, 0) {
			return v.String(), nil
		}
		return "", nil
	}
	o, ok := v.(*goja.Object)
	if !ok {
		if _, isBool := v.Export().(bool); isBool {
			return "", nil
		}
		return "a " + typeOf(v), nil
	}
	if _, isFn := goja.AssertFunction(o); isFn {
		return "a function", nil
	}
	if seen[o] {
		return "a cycle", nil
	}
	seen[o] = true
	defer delete(seen, o)
	if isArray(o) {
		n := o.Get("length").ToInteger()
		for i := int64(0); i < n; i++ {
			if why, path := r.jsonFault(o.Get(strconv.FormatInt(i, 10)), depth+1, seen, budget); why != "" {
				return why, append(path, "["+strconv.FormatInt(i, 10)+"]")
			}
		}
		return "", nil
	}
	if p := o.Prototype(); p != nil && !p.SameAs(r.vm.NewObject().Prototype()) || o.ClassName() != "Object" {
		return "a " + o.ClassName() + " object (only plain objects and arrays are JSON)", nil
	}
	for _, k := range o.Keys() {
		if why, path := r.jsonFault(o.Get(k), depth+1, seen, budget); why != "" {
			return why, append(path, k)
		}
	}
	return "", nil
}

func typeOf(v goja.Value) string {
	switch v.(type) {
	case *goja.Symbol:
		return "Symbol"
	}
	if t := v.ExportType(); t != nil && strings.Contains(t.String(), "big.Int") {
		return "BigInt"
	}
	return v.ExportType().String()
}

// eachTitle reads the name template of test.each(table)(name, …).
func (r registration) eachTitle(label string, v goja.Value) string {
	if !goja.IsString(v) || v.String() == "" {
		r.throw("TypeError", "%s(table)(name, fn, options): name must be a non-empty string (it may hold %%s, %%d, %%#, $variable …)", label)
	}
	return v.String()
}

// eachName formats a row's test name as Jest does: with the printf tokens (%p %s %d %i
// %f %j %o %O, each taking the next argument; %# the row's index, %$ its number, %% a
// percent sign), or, when the template has none of them and every row is an object (not
// every one an array), with $variable and $variable.path from the row and $# its index.
func (r registration) eachName(title string, args []goja.Value, index int, site eachSite) string {
	if site.objects && !site.spread && !hasPrintfToken(title) {
		if o, ok := args[0].(*goja.Object); ok { // a row of a test's runtime may differ from the listed one
			return r.eachVariables(title, o, index)
		}
	}
	var b strings.Builder
	next := 0
	for i := 0; i < len(title); i++ {
		c := title[i]
		if c != '%' || i+1 == len(title) {
			b.WriteByte(c)
			continue
		}
		t := title[i+1]
		switch t {
		case '%':
			b.WriteByte('%')
		case '#':
			b.WriteString(strconv.Itoa(index))
		case '$':
			b.WriteString(strconv.Itoa(index + 1))
		case 'p', 's', 'd', 'i', 'f', 'j', 'o', 'O':
			if next >= len(args) {
				b.WriteByte('%')
				b.WriteByte(t)
			} else {
				b.WriteString(r.printfValue(t, args[next]))
				next++
			}
		default:
			b.WriteByte('%')
			continue
		}
		i++
	}
	return b.String()
}

func hasPrintfToken(title string) bool {
	for i := 0; i+1 < len(title); i++ {
		if title[i] != '%' {
			continue
		}
		if strings.IndexByte("psdifjoO#$", title[i+1]) >= 0 {
			return true
		}
		if title[i+1] == '%' {
			i++ // an escaped percent sign
		}
	}
	return false
}

// printfValue renders v for the token %t as Node's util.format does (%p, %o and %O in
// the engine's one-line rendering of values, not Jest's pretty-format).
func (r registration) printfValue(t byte, v goja.Value) string {
	switch t {
	case 's':
		if _, isObj := v.(*goja.Object); isObj {
			if _, isFn := goja.AssertFunction(v); !isFn {
				return r.formatCompact(v, 0)
			}
		}
		return v.String()
	case 'd':
		if _, isObj := v.(*goja.Object); isObj {
			return "NaN"
		}
		return v.ToNumber().String()
	case 'i', 'f':
		name := "parseInt"
		if t == 'f' {
			name = "parseFloat"
		}
		parse, _ := goja.AssertFunction(r.vm.GlobalObject().Get(name))
		if parse == nil {
			return "NaN"
		}
		n, err := parse(goja.Undefined(), r.vm.ToValue(v.String()))
		if err != nil {
			panic(err)
		}
		return n.String()
	case 'j':
		s, err := r.js.jsonString(goja.Undefined(), v)
		if err != nil {
			return "[Circular]"
		}
		if goja.IsUndefined(s) {
			return "undefined"
		}
		return s.String()
	}
	return r.formatCompact(v, 0)
}

// eachVariables replaces $key and $key.path.to.value (key an own property of row, the
// longest run of word characters and dots after it the path) and $# (the row's index).
// A trailing dot is not part of the path (Jest's would be, and then ignored).
func (r registration) eachVariables(title string, o *goja.Object, index int) string {
	keys := o.Keys()
	var b strings.Builder
	for i := 0; i < len(title); i++ {
		if title[i] != '$' {
			b.WriteByte(title[i])
			continue
		}
		rest := title[i+1:]
		if strings.HasPrefix(rest, "#") {
			b.WriteString(strconv.Itoa(index))
			i++
			continue
		}
		key := ""
		for _, k := range keys {
			if k != "" && strings.HasPrefix(rest, k) {
				key = k
				break
			}
		}
		if key == "" {
			b.WriteByte('$')
			continue
		}
		end := len(key)
		for end < len(rest) && (rest[end] == '.' || rest[end] == '_' || isWordByte(rest[end])) {
			end++
		}
		for end > len(key) && rest[end-1] == '.' {
			end--
		}
		v := goja.Value(o)
		for _, seg := range strings.Split(rest[:end], ".") {
			po, ok := v.(*goja.Object)
			if !ok || !hasOwn(po, seg) {
				v = goja.Undefined()
				break
			}
			v = po.Get(seg)
		}
		if _, isObj := v.(*goja.Object); isObj {
			b.WriteString(r.formatCompact(v, 0))
		} else if v == nil {
			b.WriteString("undefined")
		} else {
			b.WriteString(v.String())
		}
		i += end
	}
	return b.String()
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

func hasOwn(o *goja.Object, k string) bool {
	for _, n := range o.GetOwnPropertyNames() {
		if n == k {
			return true
		}
	}
	return false
}

// caller returns the position of the script code that called the registration function
// running now: the first frame that is not native (a helper module may make the call).
func (r registration) caller() (file string, line, col int) {
	for _, f := range r.vm.CaptureCallStack(0, nil) {
		if f.SrcName() == "<native>" {
			continue
		}
		pos := f.Position()
		return f.SrcName(), pos.Line, userColumn(pos.Line, pos.Column)
	}
	return "", 0, 0
}

// eachOrdinal names the nth test.each call of a top level.
func eachOrdinal(n int) string {
	suffix := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suffix = "st"
	case n%10 == 2:
		suffix = "nd"
	case n%10 == 3:
		suffix = "rd"
	}
	return strconv.Itoa(n) + suffix + " test.each call"
}
