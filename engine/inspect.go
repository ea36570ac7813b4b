package engine

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/dop251/goja"
)

// console.* prints its arguments as Node's console does (util.format and util.inspect,
// for the cases scenarios meet): a first string argument may hold %s %d %i %f %j %o %O %c
// and %%; other strings print as they are; everything else is inspected: objects and
// arrays in insertion order, { a: 1, 'content-type': 'x' }, Map(1) { 'a' => 1 },
// Set(2) { 1, 2 }, [Function: name], accessors as [Getter], class instances with their
// class name, <ref *1> … [Circular *1], nesting past depth 2 as [Object], one line when it
// fits in 80 columns. Matcher messages keep their own, jest-like rendering (format.go).

// inspectDepth is how deep inspect descends, as Node's default.
const inspectDepth = 2

// inspectWidth is the width a value must fit to be printed on one line (Node's
// breakLength).
const inspectWidth = 80

// formatArgs renders console arguments as util.format does.
func (h *host) formatArgs(args []goja.Value) string {
	var parts []string
	rest := args
	if len(args) > 0 && goja.IsString(args[0]) {
		var first string
		first, rest = h.applyFormat(args[0].String(), args[1:])
		parts = append(parts, first)
	}
	for _, a := range rest {
		if goja.IsString(a) {
			parts = append(parts, a.String())
		} else {
			parts = append(parts, h.cut(h.inspect(a), maxConsoleValue))
		}
	}
	return strings.Join(parts, " ")
}

var formatSpec = regexp.MustCompile(`%[sdifjoOc%]`)

// applyFormat replaces format specifiers in f with args, in order, and returns what is
// left of args.
func (h *host) applyFormat(f string, args []goja.Value) (string, []goja.Value) {
	out := formatSpec.ReplaceAllStringFunc(f, func(spec string) string {
		if spec == "%%" {
			return "%"
		}
		if len(args) == 0 {
			return spec
		}
		a := args[0]
		args = args[1:]
		switch spec[1] {
		case 's':
			if goja.IsString(a) {
				return a.String()
			}
			if _, isObj := a.(*goja.Object); isObj {
				return h.cut(h.inspectAt(a, 1), maxConsoleValue)
			}
			return h.primitive(a, false)
		case 'd', 'i':
			if goja.IsBigInt(a) {
				return a.String() + "n"
			}
			if _, isObj := a.(*goja.Object); isObj {
				return "NaN"
			}
			n := a.ToFloat()
			if spec[1] == 'i' && !math.IsNaN(n) && !math.IsInf(n, 0) {
				n = math.Trunc(n)
			}
			return h.primitive(h.vm.ToValue(n), false)
		case 'f':
			if _, isObj := a.(*goja.Object); isObj {
				return "NaN"
			}
			return h.primitive(h.vm.ToValue(a.ToFloat()), false)
		case 'j':
			s, err := h.js.jsonString(goja.Undefined(), a)
			if err != nil {
				return "[Circular]"
			}
			return orUndefined(s).String()
		case 'o', 'O':
			return h.cut(h.inspect(a), maxConsoleValue)
		case 'c':
			return "" // CSS, for browsers
		}
		return spec
	})
	return out, args
}

// inspect renders v as util.inspect does with Node's defaults.
func (h *host) inspect(v goja.Value) string { return h.inspectAt(v, inspectDepth) }

func (h *host) inspectAt(v goja.Value, depth int) string {
	in := &inspector{h: h, maxDepth: depth, ids: map[*goja.Object]int{}}
	return in.value(v, 0, 0)
}

type inspector struct {
	h        *host
	maxDepth int
	stack    []*goja.Object       // objects being rendered, outermost first
	ids      map[*goja.Object]int // objects a [Circular *n] points at
	nextID   int
	current  int           // depth of the object whose rendering started last (Node's ctx.currentDepth)
	describe goja.Callable // Object.getOwnPropertyDescriptor, looked up when needed
	from     goja.Callable // Array.from
}

// compact is Node's default inspect option compact: 3, an object is printed on one line
// only when it holds at most this many levels of objects.
const compact = 3

// primitive renders a value that is not an object; quote says whether strings get
// quotes (inside objects) or not (top-level arguments).
func (h *host) primitive(v goja.Value, quote bool) string {
	switch {
	case v == nil || goja.IsUndefined(v):
		return "undefined"
	case goja.IsNull(v):
		return "null"
	case goja.IsString(v):
		if quote {
			return quoteJS(v.String())
		}
		return v.String()
	case goja.IsBigInt(v):
		return v.String() + "n"
	case isSymbol(v):
		return "Symbol(" + v.String() + ")"
	case goja.IsNumber(v):
		if f := v.ToFloat(); f == 0 && math.Signbit(f) {
			return "-0"
		}
	}
	return v.String()
}

func isSymbol(v goja.Value) bool { _, ok := v.(*goja.Symbol); return ok }

// quoteJS quotes a string as Node does: single quotes, or double quotes when the string
// holds a single quote and no double quote.
func quoteJS(s string) string {
	q := byte('\'')
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == rune(q) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20:
			b.WriteString(`\x` + strconv.FormatInt(int64(r)+0x100, 16)[1:])
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

var identifier = regexp.MustCompile(`^[A-Za-z_$][\w$]*$`)

func (in *inspector) key(k string) string {
	if identifier.MatchString(k) {
		return k
	}
	return quoteJS(k)
}

// value renders v at nesting depth, indented by indent columns.
func (in *inspector) value(v goja.Value, depth, indent int) string {
	o, ok := v.(*goja.Object)
	if !ok {
		return in.h.primitive(v, true)
	}
	kind := in.kind(o)
	switch kind {
	case "Function":
		return in.function(o, depth, indent)
	case "Date":
		if t, ok := o.Export().(time.Time); ok {
			return t.UTC().Format("2006-01-02T15:04:05.000Z")
		}
		return "Invalid Date"
	case "RegExp":
		return o.String()
	case "Promise":
		return in.promise(o, depth, indent)
	case "Error":
		return in.errorValue(o, depth, indent)
	}
	for _, a := range in.stack {
		if a == o {
			id, ok := in.ids[o]
			if !ok {
				in.nextID++
				id = in.nextID
				in.ids[o] = id
			}
			return "[Circular *" + strconv.Itoa(id) + "]"
		}
	}
	prefix := ""
	if name := in.className(o); name != "" {
		prefix = name + " "
	}
	if kind == "Object" && len(o.Keys()) == 0 {
		return prefix + "{}" // empty objects print whole at any depth, as in Node
	}
	if kind == "Array" && o.Get("length").ToInteger() == 0 && len(o.Keys()) == 0 {
		return "[]"
	}
	if depth > in.maxDepth {
		switch kind {
		case "Array", "Map", "Set":
			return "[" + kind + "]"
		}
		if name := in.className(o); name != "" {
			return "[" + name + "]"
		}
		return "[Object]"
	}
	in.stack = append(in.stack, o)
	in.current = depth
	var s string
	switch kind {
	case "Array":
		s = in.array(o, depth, indent)
	case "Map":
		s = in.mapOrSet(o, depth, indent, true)
	case "Set":
		s = in.mapOrSet(o, depth, indent, false)
	default:
		s = in.reduce(prefix+"{", "}", in.properties(o, nil, depth, indent), depth, indent, false)
	}
	in.stack = in.stack[:len(in.stack)-1]
	if id, ok := in.ids[o]; ok {
		s = "<ref *" + strconv.Itoa(id) + "> " + s
	}
	return s
}

// kind is how o is rendered: Function, Date, RegExp, Promise, Error, Array, Map, Set, or
// Object.
func (in *inspector) kind(o *goja.Object) string {
	switch c := o.ClassName(); c {
	case "Function", "Date", "RegExp", "Promise", "Error", "Array":
		return c
	}
	if o.ExportType() == promiseType {
		return "Promise"
	}
	for _, c := range []string{"Map", "Set"} {
		if ctor, ok := in.h.vm.Get(c).(*goja.Object); ok && in.h.vm.InstanceOf(o, ctor) {
			return c
		}
	}
	return "Object"
}

// className is the name of o's class when it is not a plain object, as Node shows it.
func (in *inspector) className(o *goja.Object) string {
	p := o.Prototype()
	if p == nil {
		return "[Object: null prototype]"
	}
	if p == in.h.vm.Get("Object").ToObject(in.h.vm).Get("prototype") {
		return ""
	}
	if c, ok := p.Get("constructor").(*goja.Object); ok {
		if n := c.Get("name"); n != nil && n.String() != "" && n.String() != "Object" {
			return n.String()
		}
	}
	return ""
}

// properties renders o's own enumerable string-keyed properties, in insertion order;
// skip leaves some out (an array's indices).
func (in *inspector) properties(o *goja.Object, skip map[string]bool, depth, indent int) []string {
	var out []string
	for _, k := range o.Keys() {
		if skip[k] {
			continue
		}
		out = append(out, in.key(k)+": "+in.property(o, k, depth, indent))
	}
	return out
}

// property renders one property: accessors as [Getter], [Setter] or [Getter/Setter],
// without calling them.
func (in *inspector) property(o *goja.Object, k string, depth, indent int) string {
	if in.describe == nil {
		in.describe, _ = goja.AssertFunction(in.h.vm.Get("Object").ToObject(in.h.vm).Get("getOwnPropertyDescriptor"))
	}
	if d, err := in.describe(goja.Undefined(), o, in.h.vm.ToValue(k)); err == nil {
		if do, ok := d.(*goja.Object); ok {
			g, s := do.Get("get"), do.Get("set")
			hasG, hasS := g != nil && !goja.IsUndefined(g), s != nil && !goja.IsUndefined(s)
			switch {
			case hasG && hasS:
				return "[Getter/Setter]"
			case hasG:
				return "[Getter]"
			case hasS:
				return "[Setter]"
			}
		}
	}
	return in.value(o.Get(k), depth+1, indent+2)
}

func (in *inspector) array(o *goja.Object, depth, indent int) string {
	n := int(o.Get("length").ToInteger())
	const maxItems = 100
	items := make([]string, 0, min(n, maxItems)+1)
	indices := map[string]bool{}
	for i := 0; i < n; i++ {
		indices[itoa(i)] = true
		if i < maxItems {
			items = append(items, in.value(orUndefined(o.Get(itoa(i))), depth+1, indent+2))
		}
	}
	numeric := true // Node right-aligns grouped columns of numbers
	for i := 0; i < n && numeric; i++ {
		e := o.Get(itoa(i))
		numeric = e != nil && (goja.IsNumber(e) || goja.IsBigInt(e))
	}
	items, grouped := groupArray(items, max(n-maxItems, 0), indent, numeric)
	items = append(items, in.properties(o, indices, depth, indent)...)
	prefix := ""
	if name := in.className(o); name != "" && name != "Array" {
		prefix = name + "(" + strconv.Itoa(n) + ") "
	}
	return in.reduce(prefix+"[", "]", items, depth, indent, grouped)
}

func (in *inspector) mapOrSet(o *goja.Object, depth, indent int, isMap bool) string {
	if in.from == nil {
		in.from, _ = goja.AssertFunction(in.h.vm.Get("Array").ToObject(in.h.vm).Get("from"))
	}
	var items []string
	size := 0
	if arr, err := in.from(goja.Undefined(), o); err == nil {
		ao := arr.ToObject(in.h.vm)
		size = int(ao.Get("length").ToInteger())
		for i := 0; i < size; i++ {
			e := ao.Get(itoa(i))
			if isMap {
				pair := e.ToObject(in.h.vm)
				items = append(items, in.value(pair.Get("0"), depth+1, indent+2)+" => "+in.value(pair.Get("1"), depth+1, indent+2))
			} else {
				items = append(items, in.value(e, depth+1, indent+2))
			}
		}
	}
	kind := "Set"
	if isMap {
		kind = "Map"
	}
	return in.reduce(kind+"("+strconv.Itoa(size)+") {", "}", items, depth, indent, false)
}

func (in *inspector) function(o *goja.Object, depth, indent int) string {
	name := ""
	if n := o.Get("name"); n != nil {
		name = n.String()
	}
	kind := "Function"
	if c, ok := o.Get("constructor").(*goja.Object); ok {
		if n := c.Get("name"); n != nil && strings.HasSuffix(n.String(), "Function") {
			kind = n.String() // AsyncFunction, GeneratorFunction
		}
	}
	base := "[" + kind + " (anonymous)]"
	if strings.HasPrefix(strings.TrimSpace(o.String()), "class") {
		base = "[class " + name + "]"
	} else if name != "" {
		base = "[" + kind + ": " + name + "]"
	}
	if depth > in.maxDepth || len(o.Keys()) == 0 {
		return base
	}
	in.stack = append(in.stack, o)
	in.current = depth
	defer func() { in.stack = in.stack[:len(in.stack)-1] }()
	return in.reduce(base+" {", "}", in.properties(o, nil, depth, indent), depth, indent, false)
}

func (in *inspector) promise(o *goja.Object, depth, indent int) string {
	p, ok := o.Export().(*goja.Promise)
	if !ok {
		return "Promise {}"
	}
	switch p.State() {
	case goja.PromiseStatePending:
		return "Promise { <pending> }"
	case goja.PromiseStateRejected:
		return "Promise { <rejected> " + in.value(p.Result(), depth+1, indent+2) + " }"
	}
	return "Promise { " + in.value(p.Result(), depth+1, indent+2) + " }"
}

// errorValue renders an error as its name and message, then its own properties (an
// EntraError's error, aadsts, status…); the stack is left to the test's report.
func (in *inspector) errorValue(o *goja.Object, depth, indent int) string {
	head := o.String()
	if depth > in.maxDepth {
		return "[" + head + "]"
	}
	props := in.properties(o, map[string]bool{"stack": true, "message": true}, depth, indent)
	if len(props) == 0 {
		return head
	}
	return in.reduce(head+" {", "}", props, depth, indent, false)
}

// reduce joins a container's entries as Node's reduceToSingleString does (compact: 3,
// breakLength: 80): on one line when the container holds at most compact levels of
// objects below it and the entries, with Node's allowance for the braces and
// indentation, fit in 80 columns; else one entry per line, indented by two. grouped says
// the entries went through groupArray (an array of more than six): they are lines
// already, never joined on one.
func (in *inspector) reduce(open, close string, items []string, depth, indent int, grouped bool) string {
	if len(items) == 0 {
		return open + close
	}
	if !grouped && in.current-depth < compact {
		start := len(items) + indent + len(open) + 10
		total := len(items) + start
		fits := total+len(items) <= inspectWidth
		for _, it := range items {
			total += len(it)
			fits = fits && total <= inspectWidth
		}
		if one := strings.Join(items, ", "); fits && !strings.Contains(one, "\n") {
			return open + " " + one + " " + close
		}
	}
	pad := "\n" + strings.Repeat(" ", indent)
	return open + pad + "  " + strings.Join(items, ","+pad+"  ") + pad + close
}

// groupArray lays the entries of an array of more than six out in columns, as Node's
// groupArrayElements does; more is how many items were left out ("... n more items",
// kept on a line of its own). Numbers are right-aligned, other entries left-aligned.
// It returns the entries unchanged, and false, when they do not suit columns.
func groupArray(items []string, more, indent int, numeric bool) ([]string, bool) {
	moreLine := "... " + strconv.Itoa(more) + " more items"
	if len(items) <= 6 {
		if more > 0 {
			return append(items, moreLine), false
		}
		return items, false
	}
	grouped := false
	const sep = 2 // a comma and a space
	total, maxLen := 0, 0
	for _, it := range items {
		total += len(it) + sep
		maxLen = max(maxLen, len(it))
	}
	actualMax := maxLen + sep
	out := items
	outputLen := len(items)
	if more > 0 {
		outputLen++ // Node counts the "more items" line among the entries here
	}
	if actualMax*3+indent < inspectWidth && (float64(total)/float64(actualMax) > 5 || maxLen <= 6) {
		averageBias := math.Sqrt(float64(actualMax) - float64(total)/float64(outputLen))
		biasedMax := math.Max(float64(actualMax)-3-averageBias, 1)
		columns := min(
			int(math.Round(math.Sqrt(2.5*biasedMax*float64(len(items)))/biasedMax)),
			(inspectWidth-indent)/actualMax,
			compact*4,
			15,
		)
		if columns > 1 {
			grouped = true
			widths := make([]int, columns)
			for c := 0; c < columns; c++ {
				for j := c; j < len(items); j += columns {
					widths[c] = max(widths[c], len(items[j]))
				}
				widths[c] += sep
			}
			out = nil
			for i := 0; i < len(items); i += columns {
				end := min(i+columns, len(items))
				var line strings.Builder
				for j := i; j < end-1; j++ {
					cell := items[j] + ", "
					if numeric {
						line.WriteString(strings.Repeat(" ", max(widths[j-i]-len(cell), 0)) + cell)
					} else {
						line.WriteString(cell + strings.Repeat(" ", max(widths[j-i]-len(cell), 0)))
					}
				}
				last := items[end-1]
				if numeric {
					last = strings.Repeat(" ", max(widths[end-1-i]-sep-len(last), 0)) + last
				}
				line.WriteString(last)
				out = append(out, line.String())
			}
		}
	}
	if more > 0 {
		out = append(out, moreLine)
	}
	return out, grouped
}
