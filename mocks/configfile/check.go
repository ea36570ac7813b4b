package configfile

import (
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"go.yaml.in/yaml/v4"

	"github.com/vbharness/vbharness/internal/textdist"
)

// checker holds a node tree to a Go type before it is decoded: every mapping key names a
// field (exactly), no key is given twice, and every value has the shape its field needs.
// It also indexes each value's position, so a decoder error can name the value's path.
type checker struct {
	file string
	tag  string // the struct tag that names fields: "yaml" or "json"
	word string // what errors call a key: "key" in files, "field" in JSON bodies
	json bool   // the document is JSON: errors say object and array
	body bool   // a request body: its top level goes unnamed
	seen map[visit]bool
	// at, when not nil, indexes each value's position; decodeError fills it by checking
	// again, so a document that decodes costs no index.
	at map[[2]int]place
}

type visit struct {
	n *yaml.Node
	t reflect.Type
}

// place is where a value is and what it must be.
type place struct {
	path []any
	t    reflect.Type
	n    *yaml.Node
}

func newChecker(file, tag string, isJSON bool) *checker {
	return &checker{file: file, tag: tag, word: "key", json: isJSON, seen: map[visit]bool{}}
}

// Per struct tag, what a type needs: whether it decodes itself, and a struct's fields.
// Types are few and checked often (once per value), so both are kept.
var (
	customTypes sync.Map // typeTag → bool
	structTypes sync.Map // typeTag → structFields
)

type typeTag struct {
	t   reflect.Type
	tag string
}

type structFields struct {
	fields    map[string]reflect.Type
	known     []string
	inlineMap reflect.Type
}

func reflectType(v any) reflect.Type {
	t := reflect.TypeOf(v)
	if t == nil {
		return reflect.TypeFor[any]()
	}
	return t
}

var (
	yamlUnmarshaler = reflect.TypeFor[yaml.Unmarshaler]()
	legacyYAML      = reflect.TypeFor[interface {
		UnmarshalYAML(func(any) error) error
	}]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	nodeType        = reflect.TypeFor[yaml.Node]()
)

// custom reports whether t decodes itself (or is a raw node): its shape is its own
// business, and its errors come back from the decoder.
func (c *checker) custom(t reflect.Type) bool {
	k := typeTag{t, c.tag}
	if v, ok := customTypes.Load(k); ok {
		return v.(bool)
	}
	v := c.decodesItself(t)
	customTypes.Store(k, v)
	return v
}

func (c *checker) decodesItself(t reflect.Type) bool {
	if t == nodeType {
		return true
	}
	ifaces := []reflect.Type{textUnmarshaler}
	if c.tag == "json" {
		ifaces = append(ifaces, jsonUnmarshaler)
	} else {
		ifaces = append(ifaces, yamlUnmarshaler, legacyYAML)
	}
	for _, i := range ifaces {
		if t.Implements(i) || reflect.PointerTo(t).Implements(i) {
			return true
		}
	}
	return false
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

func (c *checker) check(n *yaml.Node, t reflect.Type, path []any) *Error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode {
		// Many aliases may name one anchor: each (value, type) is checked once, so a
		// document of aliases stays linear.
		n = deref(n)
		if n == nil || c.seen[visit{n, t}] {
			return nil
		}
		c.seen[visit{n, t}] = true
	}
	if c.at != nil {
		c.at[[2]int{n.Line, n.Column}] = place{path: slices.Clone(path), t: t, n: n}
	}
	if c.custom(t) || isNull(n) {
		return nil
	}
	switch t.Kind() {
	case reflect.Interface:
		return nil
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return c.shape(n, path, t)
		}
		sf := c.structFields(t)
		return c.mapping(n, path, func(key string) (reflect.Type, bool) {
			if ft, ok := sf.fields[key]; ok {
				return ft, true
			}
			if sf.inlineMap != nil {
				return sf.inlineMap, true
			}
			return nil, false
		}, sf.known)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return c.shape(n, path, t)
		}
		elem := t.Elem()
		return c.mapping(n, path, func(string) (reflect.Type, bool) { return elem, true }, nil)
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && n.Kind == yaml.ScalarNode { // []byte: base64 text
			return nil
		}
		if n.Kind != yaml.SequenceNode {
			return c.shape(n, path, t)
		}
		for i, item := range n.Content {
			if err := c.check(item, t.Elem(), append(path, i)); err != nil {
				return err
			}
		}
		return nil
	default:
		if n.Kind != yaml.ScalarNode {
			return c.shape(n, path, t)
		}
		return nil
	}
}

// mapping checks the keys of mapping n: each must be known (field returns its type) and
// appear once; merge keys (<<) bring in another mapping's keys, which are checked too.
func (c *checker) mapping(n *yaml.Node, path []any, field func(string) (reflect.Type, bool), known []string) *Error {
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			if err := c.merge(v, path, field, known); err != nil {
				return err
			}
			continue
		}
		if k.Kind != yaml.ScalarNode {
			return &Error{File: c.file, Line: k.Line, Col: k.Column, Msg: fmt.Sprintf("a %s in %s is not a single value", c.word, where(path)),
				Fix: "write " + c.word + "s as plain names"}
		}
		ft, ok := field(k.Value)
		if !ok {
			msg := fmt.Sprintf("unknown %s %q in %s", c.word, k.Value, where(path))
			if c.body && len(path) == 0 {
				msg = fmt.Sprintf("unknown %s %q", c.word, k.Value)
			}
			return &Error{File: c.file, Line: k.Line, Col: k.Column, Msg: msg, Fix: fixFor(k.Value, known, c.word)}
		}
		if seen[k.Value] {
			msg := fmt.Sprintf("%s %q appears twice in %s", c.word, k.Value, where(path))
			if c.body && len(path) == 0 {
				msg = fmt.Sprintf("%s %q appears twice", c.word, k.Value)
			}
			return &Error{File: c.file, Line: k.Line, Col: k.Column, Msg: msg, Fix: "keep one of them"}
		}
		seen[k.Value] = true
		if err := c.check(v, ft, append(path, k.Value)); err != nil {
			return err
		}
	}
	return nil
}

// merge checks the mappings a YAML merge key brings in: one mapping or a list of them.
func (c *checker) merge(v *yaml.Node, path []any, field func(string) (reflect.Type, bool), known []string) *Error {
	v = deref(v)
	var maps []*yaml.Node
	switch v.Kind {
	case yaml.MappingNode:
		maps = []*yaml.Node{v}
	case yaml.SequenceNode:
		for _, m := range v.Content {
			maps = append(maps, deref(m))
		}
	}
	for _, m := range maps {
		if m == nil || m.Kind != yaml.MappingNode {
			return &Error{File: c.file, Line: v.Line, Col: v.Column, Msg: fmt.Sprintf("the merge key (<<) in %s must name a mapping", where(path))}
		}
		if c.seen[visit{m, nil}] {
			continue
		}
		c.seen[visit{m, nil}] = true
		if err := c.mapping(m, path, field, known); err != nil {
			return err
		}
	}
	return nil
}

// structFields returns what fields gives for t, computed once per type and tag.
func (c *checker) structFields(t reflect.Type) structFields {
	k := typeTag{t, c.tag}
	if v, ok := structTypes.Load(k); ok {
		return v.(structFields)
	}
	fields, inlineMap := c.fields(t)
	sf := structFields{fields: fields, known: keysOf(fields), inlineMap: inlineMap}
	structTypes.Store(k, sf)
	return sf
}

// fields returns the keys a struct takes (by c.tag) and their types, and the element
// type of an inline map (any key), if there is one.
func (c *checker) fields(t reflect.Type) (map[string]reflect.Type, reflect.Type) {
	out := map[string]reflect.Type{}
	var inlineMap reflect.Type
	for i := range t.NumField() {
		f := t.Field(i)
		tag, hasTag := f.Tag.Lookup(c.tag)
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" && opts == "" {
			continue
		}
		inline := false
		if c.tag == "yaml" {
			inline = slices.Contains(strings.Split(opts, ","), "inline")
		} else {
			inline = f.Anonymous && name == "" && indirect(f.Type).Kind() == reflect.Struct
		}
		if inline {
			switch ft := indirect(f.Type); ft.Kind() {
			case reflect.Struct:
				sub, m := c.fields(ft)
				for k, v := range sub {
					out[k] = v
				}
				if m != nil {
					inlineMap = m
				}
			case reflect.Map:
				inlineMap = ft.Elem()
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" || !hasTag {
			name = f.Name
			if c.tag == "yaml" {
				name = strings.ToLower(name)
			}
		}
		out[name] = f.Type
	}
	return out, inlineMap
}

func indirect(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

func keysOf(m map[string]reflect.Type) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// shape is the error for a value of the wrong kind at path.
func (c *checker) shape(n *yaml.Node, path []any, t reflect.Type) *Error {
	e := &Error{File: c.file, Line: n.Line, Col: n.Column, Msg: where(path) + " must be " + c.want(t)}
	if n.Kind == yaml.ScalarNode {
		e.Msg += fmt.Sprintf(", not %q", n.Value)
	}
	return e
}

// want says, for people, what a value of type t looks like.
func (c *checker) want(t reflect.Type) string {
	t = indirect(t)
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		if c.json {
			return "an object ({…})"
		}
		return "a mapping (key: value lines)"
	case reflect.Slice, reflect.Array:
		if c.json {
			return "an array ([…])"
		}
		return "a list (- item lines)"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "a single value"
}

// decodeError turns the decoder's error into an *Error naming the value's path and what
// it must be.
func (c *checker) decodeError(err error, root *yaml.Node, t reflect.Type) *Error {
	var le *yaml.LoadError
	if !errors.As(err, &le) {
		return &Error{File: c.file, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	var own *Error
	if errors.As(le, &own) { // a type's own UnmarshalYAML returned one
		if own.File == "" {
			own.File = c.file
		}
		if own.Line == 0 {
			own.Line, own.Col = le.Mark.Line, le.Mark.Column
		}
		return own
	}
	e := &Error{File: c.file, Line: le.Mark.Line, Col: le.Mark.Column, Msg: le.Message}
	var te *yaml.TypeError
	if errors.As(le, &te) && len(te.Errors) > 0 { // a type's own UnmarshalYAML in yaml.v3's style: "line N: what"
		e.Msg = te.Errors[0]
		if m := legacyLine.FindStringSubmatch(e.Msg); m != nil {
			if n, _ := strconv.Atoi(m[1]); n != e.Line {
				e.Line, e.Col = n, firstColumn(root, n)
			}
			e.Msg = m[2]
		}
		return e
	}
	c.at, c.seen = map[[2]int]place{}, map[visit]bool{}
	_ = c.check(root, t, nil) // it passed before; this time it indexes the positions
	p, ok := c.at[[2]int{le.Mark.Line, le.Mark.Column}]
	if !ok {
		return e
	}
	if strings.HasPrefix(le.Message, "cannot construct ") && !c.custom(p.t) {
		e.Msg = where(p.path) + " must be " + c.want(p.t)
		if p.n.Kind == yaml.ScalarNode {
			e.Msg += fmt.Sprintf(", not %q", p.n.Value)
		}
		return e
	}
	e.Msg = where(p.path) + ": " + le.Message
	return e
}

// firstColumn is the column of the first value that starts on line in the tree under n,
// or 0.
func firstColumn(n *yaml.Node, line int) int {
	if n == nil || n.Line > line {
		return 0
	}
	col := 0
	if n.Line == line && n.Kind != yaml.DocumentNode {
		col = n.Column
	}
	for _, c := range n.Content {
		if cc := firstColumn(c, line); cc > 0 && (col == 0 || cc < col) {
			col = cc
		}
	}
	return col
}

// legacyLine reads yaml.v3's "line N: message".
var legacyLine = regexp.MustCompile(`^line (\d+): (.*)$`)

// where names a path for people: "the top level", "targets.lab.entra", "jobs[3].name".
func where(path []any) string {
	if len(path) == 0 {
		return "the top level"
	}
	var b strings.Builder
	for _, p := range path {
		switch v := p.(type) {
		case int:
			b.WriteString("[" + strconv.Itoa(v) + "]")
		default:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			fmt.Fprint(&b, v)
		}
	}
	return b.String()
}

// fixFor is the fix for an unknown key: the nearest known one, or the list.
func fixFor(got string, known []string, word string) string {
	if s := Suggest(got, known); s != "" {
		return "did you mean " + s + "?"
	}
	if len(known) == 0 {
		return "nothing is allowed here"
	}
	return "known " + word + "s: " + strings.Join(known, ", ")
}

// Suggest returns the name in known that got most likely meant, or "". A name that
// differs only in case, '_' or '-' ("accessTokenLifeTime", "access_token_lifetime" for
// accessTokenLifetime) is always found; otherwise the nearest by edit distance, if it is
// within a third of got's length (at least 1).
func Suggest(got string, known []string) string {
	fold := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r == '_' || r == '-' {
				return -1
			}
			return unicode.ToLower(r)
		}, s)
	}
	sorted := slices.Clone(known)
	slices.Sort(sorted)
	g := fold(got)
	for _, k := range sorted {
		if fold(k) == g {
			return k
		}
	}
	best, bestD := "", -1
	for _, k := range sorted {
		if d := textdist.Levenshtein(g, fold(k)); bestD < 0 || d < bestD {
			best, bestD = k, d
		}
	}
	if bestD >= 0 && bestD <= max(1, len([]rune(got))/3) {
		return best
	}
	return ""
}

// CheckJSON holds a JSON body to v's type by the rules of Decode for keys and shapes,
// fields named by their json tags, before encoding/json decodes it: encoding/json
// matches names regardless of case, so "accessTokenLifeTime" would silently set
// accessTokenLifetime. It returns nil for a body it cannot parse or an empty one
// (encoding/json reports those), and otherwise the first problem as an *Error whose File
// is empty and whose Fix names the right field.
func CheckJSON(data []byte, v any) *Error {
	root, err := parseJSON("", data)
	if err != nil || root == nil {
		return nil
	}
	c := newChecker("", "json", true)
	c.word, c.body = "field", true
	return c.check(root, reflectType(v), nil)
}
