package configfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v4"
)

// Error is a problem in a configuration file: where it is, what is wrong and what to do.
type Error struct {
	File string // the file as the user named it
	Line int    // 1-based; 0 when the problem has no single place
	Col  int    // 1-based; 0 when unknown
	Msg  string // what is wrong
	Fix  string // what to do about it; may be empty
	// Err is the sentinel the error unwraps to, if any (see WithKind). ErrEmpty marks an
	// empty file.
	Err error
}

// Error renders "file:line:col: msg; fix", the form editors and terminals open at the
// place.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Col > 0 {
			fmt.Fprintf(&b, ":%d", e.Col)
		}
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	if e.Fix != "" {
		b.WriteString("; ")
		b.WriteString(e.Fix)
	}
	return b.String()
}

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }

// ErrEmpty marks a file that holds no document (nothing, or only comments).
var ErrEmpty = errors.New("the file is empty")

// WithKind returns err with kind as the sentinel its *Error unwraps to, so a package
// keeps its own (errors.Is(err, veeam.ErrInvalidFixtures)). Other errors are wrapped.
func WithKind(err, kind error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		c := *e
		if c.Err != nil && c.Err != kind {
			c.Err = errors.Join(kind, c.Err)
		} else {
			c.Err = kind
		}
		return &c
	}
	return fmt.Errorf("%w: %w", kind, err)
}

// Format is a file's syntax.
type Format int

// The formats Decode reads.
const (
	YAML Format = iota
	JSON
)

// FormatOf decides a file's format: by extension (.json; .yaml or .yml), otherwise JSON
// when the content starts with '{' and YAML when it does not.
func FormatOf(name string, data []byte) Format {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".json":
		return JSON
	case ".yaml", ".yml":
		return YAML
	}
	if bytes.HasPrefix(bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))), []byte("{")) {
		return JSON
	}
	return YAML
}

// Doc is a decoded file: its node tree, for the positions of what its owner refuses.
type Doc struct {
	File   string
	Format Format
	root   *yaml.Node // the top-level value; nil for an empty document
}

// Decode reads data, the content of the file name (the name errors give), as YAML or JSON
// (FormatOf) into v, a pointer to a struct, strictly: see the package documentation for
// the rules. Every error is an *Error. An empty file is an *Error wrapping ErrEmpty, and
// v is left alone.
func Decode(name string, data []byte, v any) (*Doc, error) {
	d := &Doc{File: name, Format: FormatOf(name, data)}
	var err *Error
	if d.Format == JSON {
		d.root, err = parseJSON(name, data)
	} else {
		d.root, err = parseYAML(name, data)
	}
	if err != nil {
		return nil, err
	}
	if d.root == nil {
		return nil, &Error{File: name, Msg: ErrEmpty.Error(), Err: ErrEmpty}
	}
	c := newChecker(name, "yaml", d.Format == JSON)
	if err := c.check(d.root, reflectType(v), nil); err != nil {
		return nil, err
	}
	if derr := d.root.Load(v, yaml.WithKnownFields()); derr != nil {
		return nil, c.decodeError(derr, d.root, reflectType(v))
	}
	return d, nil
}

// parseYAML returns the top-level node of data's single YAML document; nil when there is
// none.
func parseYAML(name string, data []byte) (*yaml.Node, *Error) {
	l, err := yaml.NewLoader(bytes.NewReader(data))
	if err != nil {
		return nil, yamlSyntax(name, err)
	}
	var doc yaml.Node
	if err := l.Load(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, yamlSyntax(name, err)
	}
	var next yaml.Node
	if err := l.Load(&next); !errors.Is(err, io.EOF) {
		e := &Error{File: name, Msg: "the file holds more than one YAML document", Fix: "keep one document: remove the --- line and what follows it, or merge them"}
		if err == nil {
			e.Line, e.Col = next.Line, next.Column
		} else if s := yamlSyntax(name, err); s.Line > 0 {
			return nil, s
		}
		return nil, e
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil, nil
		}
		root = root.Content[0]
	}
	return root, nil
}

// yamlSyntax turns the parser's error into an *Error with its line and column.
func yamlSyntax(name string, err error) *Error {
	e := &Error{File: name, Msg: "malformed YAML: " + strings.TrimPrefix(err.Error(), "yaml: "),
		Fix: "fix the syntax (indent with spaces, not tabs, and quote values that contain ': ' or start with '{', '[', '*', '&' or '@')"}
	var le *yaml.LoadError
	if errors.As(err, &le) {
		e.Msg = "malformed YAML: " + le.Message
		e.Line, e.Col = le.Mark.Line, le.Mark.Column
		switch {
		case le.ContextMark.Line > 0 && strings.Contains(le.Message, "end of stream"):
			// The file ended inside something (a quoted value, a flow mapping): name where
			// that something starts, not the end of the file.
			e.Msg += " " + le.ContextMsg
			e.Line, e.Col = le.ContextMark.Line, le.ContextMark.Column
		case le.ContextMsg != "" && le.ContextMark.Line > 0 && le.ContextMark.Line != le.Mark.Line:
			e.Msg += " (" + le.ContextMsg + " started at line " + strconv.Itoa(le.ContextMark.Line) + ")"
		}
	}
	return e
}

// Pos returns the position of the value at path (mapping keys as strings, sequence
// indexes as ints) for an error about it: the value's own position when it starts on
// its key's line, otherwise the key's (a block mapping under "lifetimes:" is named by
// that line). Where the path leaves the document, the deepest part found is named; an
// empty document gives 0, 0.
func (d *Doc) Pos(path ...any) (line, col int) {
	if d == nil || d.root == nil {
		return 0, 0
	}
	n := deref(d.root)
	line, col = n.Line, n.Column
	for _, p := range path {
		var next *yaml.Node
		switch k := p.(type) {
		case string:
			if key, v := lookup(n, k); v != nil {
				next = v
				line, col = key.Line, key.Column
				if v.Line == key.Line {
					line, col = v.Line, v.Column
				}
			}
		case int:
			if n.Kind == yaml.SequenceNode && k >= 0 && k < len(n.Content) {
				next = deref(n.Content[k])
				line, col = n.Content[k].Line, n.Content[k].Column
			}
		}
		if next == nil {
			return line, col
		}
		n = next
	}
	return line, col
}

// Key is a mapping key as written, with its position.
type Key struct {
	Name      string
	Line, Col int
}

// Keys returns the keys of the mapping at path in file order; nil when there is no
// mapping there.
func (d *Doc) Keys(path ...any) []Key {
	n := d.node(path)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	var out []Key
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		out = append(out, Key{Name: k.Value, Line: k.Line, Col: k.Column})
	}
	return out
}

// Has reports whether the document has a value at path (null counts).
func (d *Doc) Has(path ...any) bool { return d.node(path) != nil }

// node is the (dereferenced) value at path, or nil where the path leaves the document.
func (d *Doc) node(path []any) *yaml.Node {
	if d == nil || d.root == nil {
		return nil
	}
	n := deref(d.root)
	for _, p := range path {
		var next *yaml.Node
		switch k := p.(type) {
		case string:
			_, next = lookup(n, k)
		case int:
			if n.Kind == yaml.SequenceNode && k >= 0 && k < len(n.Content) {
				next = deref(n.Content[k])
			}
		}
		if next == nil {
			return nil
		}
		n = next
	}
	return n
}

// Errorf returns an *Error at the value at path (see Pos).
func (d *Doc) Errorf(path []any, fix, format string, args ...any) *Error {
	l, c := d.Pos(path...)
	return &Error{File: d.File, Line: l, Col: c, Msg: fmt.Sprintf(format, args...), Fix: fix}
}

// lookup finds key in mapping n and returns the key node and its (dereferenced) value.
func lookup(n *yaml.Node, key string) (*yaml.Node, *yaml.Node) {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i], deref(n.Content[i+1])
		}
	}
	return nil, nil
}

// deref follows aliases (to a bounded depth: the parser refuses cycles).
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}
