package engine

import (
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dop251/goja"
)

func itoa(i int) string { return strconv.Itoa(i) }

// maxFormatDepth bounds how deep value rendering descends.
const maxFormatDepth = 8

// formatPretty renders v for assertion messages and diffs, like jest's pretty-format:
// strings quoted, object keys sorted, containers that do not fit on one short line spread
// over several with two-space indents.
func (r *host) formatPretty(v goja.Value) string {
	var b strings.Builder
	r.writeValue(&b, v, 0, true, map[*goja.Object]bool{})
	return b.String()
}

// formatCompact renders v on one line, cut to limit runes (0: no limit). A cut text is
// scrubbed first: cutting a secret in half would hide it from the scrubber.
func (r *host) formatCompact(v goja.Value, limit int) string {
	var b strings.Builder
	r.writeValue(&b, v, 0, false, map[*goja.Object]bool{})
	if limit <= 0 {
		return b.String()
	}
	return r.cut(b.String(), limit)
}

// cut scrubs s and shortens it to limit runes. Every text the engine shortens for a
// message goes through it.
func (r *host) cut(s string, limit int) string {
	s = r.scrub.Scrub(s)
	if rs := []rune(s); len(rs) > limit {
		s = string(rs[:limit-1]) + "…"
	}
	return s
}

const oneLineWidth = 60

func (r *host) writeValue(b *strings.Builder, v goja.Value, depth int, pretty bool, seen map[*goja.Object]bool) {
	switch {
	case v == nil || goja.IsUndefined(v):
		b.WriteString("undefined")
		return
	case goja.IsNull(v):
		b.WriteString("null")
		return
	case goja.IsString(v):
		b.WriteString(strconv.Quote(v.String()))
		return
	case goja.IsBigInt(v):
		b.WriteString(v.String())
		b.WriteString("n")
		return
	}
	obj, ok := v.(*goja.Object)
	if !ok {
		if goja.IsNumber(v) && v.ToFloat() == 0 && math.Signbit(v.ToFloat()) {
			b.WriteString("-0")
			return
		}
		b.WriteString(v.String())
		return
	}
	switch obj.ClassName() {
	case "Function":
		name := obj.Get("name")
		if name == nil || name.String() == "" {
			b.WriteString("[Function]")
		} else {
			b.WriteString("[Function " + name.String() + "]")
		}
		return
	case "Date":
		if t, ok := obj.Export().(time.Time); ok {
			b.WriteString("Date(" + t.UTC().Format("2006-01-02T15:04:05.000Z") + ")")
		} else {
			b.WriteString("Date(Invalid)")
		}
		return
	case "RegExp":
		b.WriteString(obj.String())
		return
	case "Error":
		b.WriteString("[" + obj.String() + "]")
		return
	case "Promise":
		b.WriteString("Promise {}")
		return
	}
	if seen[obj] {
		b.WriteString("[Circular]")
		return
	}
	if depth >= maxFormatDepth {
		if obj.ClassName() == "Array" {
			b.WriteString("[Array]")
		} else {
			b.WriteString("[Object]")
		}
		return
	}
	seen[obj] = true
	defer delete(seen, obj)

	isArray := obj.ClassName() == "Array"
	var items []string
	if isArray {
		n := int(obj.Get("length").ToInteger())
		for i := 0; i < n; i++ {
			var ib strings.Builder
			r.writeValue(&ib, obj.Get(itoa(i)), depth+1, pretty, seen)
			items = append(items, ib.String())
		}
	} else {
		keys := obj.Keys()
		sort.Strings(keys)
		for _, k := range keys {
			var ib strings.Builder
			ib.WriteString(strconv.Quote(k))
			ib.WriteString(": ")
			r.writeValue(&ib, obj.Get(k), depth+1, pretty, seen)
			items = append(items, ib.String())
		}
	}
	open, close := "{", "}"
	if isArray {
		open, close = "[", "]"
	}
	if len(items) == 0 {
		b.WriteString(open + close)
		return
	}
	oneLine := open + strings.Join(items, ", ") + close
	if !isArray {
		oneLine = open + " " + strings.Join(items, ", ") + " " + close
	}
	if !pretty || (len(oneLine) <= oneLineWidth && !strings.Contains(oneLine, "\n")) {
		b.WriteString(oneLine)
		return
	}
	indent := strings.Repeat("  ", depth+1)
	b.WriteString(open + "\n")
	for _, it := range items {
		b.WriteString(indent)
		b.WriteString(it)
		b.WriteString(",\n")
	}
	b.WriteString(strings.Repeat("  ", depth))
	b.WriteString(close)
}

// deepEqual is jest's toEqual: recursive structural equality that ignores properties whose
// value is undefined; primitives compare with SameValueZero (NaN equals NaN).
func (r *host) deepEqual(a, b goja.Value) bool {
	return r.equal(a, b, map[[2]*goja.Object]bool{})
}

func (r *host) equal(a, b goja.Value, seen map[[2]*goja.Object]bool) bool {
	ao, aok := a.(*goja.Object)
	bo, bok := b.(*goja.Object)
	if !aok || !bok {
		if aok != bok {
			return false
		}
		if a.StrictEquals(b) {
			return true
		}
		return goja.IsNumber(a) && goja.IsNumber(b) && a.ToFloat() != a.ToFloat() && b.ToFloat() != b.ToFloat()
	}
	if ao == bo {
		return true
	}
	r.enterNested("toEqual of values") // it recursed in Go without bound (and without a deadline)
	defer r.leaveNested()
	if len(seen)%1024 == 1023 {
		r.checkCtx("toEqual")
	}
	pair := [2]*goja.Object{ao, bo}
	if seen[pair] {
		return true
	}
	seen[pair] = true
	if ao.ClassName() != bo.ClassName() {
		return false
	}
	switch ao.ClassName() {
	case "Function", "Promise":
		return false
	case "Date":
		at, _ := ao.Export().(time.Time)
		bt, _ := bo.Export().(time.Time)
		return at.Equal(bt)
	case "RegExp":
		return ao.String() == bo.String()
	case "Array":
		n := ao.Get("length").ToInteger()
		if n != bo.Get("length").ToInteger() {
			return false
		}
		for i := 0; i < int(n); i++ {
			if !r.equal(orUndefined(ao.Get(itoa(i))), orUndefined(bo.Get(itoa(i))), seen) {
				return false
			}
		}
		return true
	}
	ak, bk := definedKeys(ao), definedKeys(bo)
	if len(ak) != len(bk) {
		return false
	}
	for k := range ak {
		if !bk[k] {
			return false
		}
		if !r.equal(ao.Get(k), bo.Get(k), seen) {
			return false
		}
	}
	return true
}

func orUndefined(v goja.Value) goja.Value {
	if v == nil {
		return goja.Undefined()
	}
	return v
}

func definedKeys(o *goja.Object) map[string]bool {
	keys := o.Keys()
	out := make(map[string]bool, len(keys))
	for _, k := range keys {
		if v := o.Get(k); v != nil && !goja.IsUndefined(v) {
			out[k] = true
		}
	}
	return out
}

// lineDiff renders a line diff of expected and actual, jest style: "- " lines are only in
// expected, "+ " lines only in actual.
func lineDiff(expected, actual string) string {
	a, b := strings.Split(expected, "\n"), strings.Split(actual, "\n")
	// Longest common subsequence table; the rendered values are small.
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out strings.Builder
	out.WriteString("- Expected\n+ Received\n\n")
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			out.WriteString("  " + a[i] + "\n")
			i++
			j++
		case i < len(a) && (j == len(b) || lcs[i+1][j] >= lcs[i][j+1]):
			out.WriteString("- " + a[i] + "\n")
			i++
		default:
			out.WriteString("+ " + b[j] + "\n")
			j++
		}
	}
	return strings.TrimRight(out.String(), "\n")
}
