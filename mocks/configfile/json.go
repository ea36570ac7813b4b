package configfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v4"
)

// maxJSONDepth bounds the nesting of a JSON document (encoding/json's own decoder
// stops at 10000; a configuration file never nests past a handful).
const maxJSONDepth = 200

// parseJSON reads data into the node tree a YAML parser would give (mappings,
// sequences, scalars tagged !!str, !!int, !!float, !!bool, !!null), with each value's
// line and column, so one checker and one decoder serve both formats. encoding/json
// judges the syntax (json.Valid, and its error's offset when invalid); the tree is then
// built by a scanner that may trust it, and strings with escapes are unquoted by
// encoding/json, so JSON means what it means in JSON. nil means an empty file.
func parseJSON(name string, data []byte) (*yaml.Node, *Error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	p := &jsonParser{name: name, data: data, lines: lineStarts(data)}
	if !utf8.Valid(data) {
		off := 0
		for off < len(data) {
			r, size := utf8.DecodeRune(data[off:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			off += size
		}
		return nil, p.errAt(off, "malformed JSON: the file is not UTF-8 text", "save the file as UTF-8")
	}
	if !json.Valid(data) {
		return nil, p.syntax()
	}
	return p.value(0)
}

type jsonParser struct {
	name  string
	data  []byte
	lines []int
	off   int // the scanner's position

	// The last position computed: values come in order, so the next column is counted
	// on from it (a minified file is one long line).
	lastOff, lastLine, lastCol int
}

// syntax is the error for data that json.Valid refused, at the offset encoding/json
// names.
func (p *jsonParser) syntax() *Error {
	var v any
	err := json.Unmarshal(p.data, &v)
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se) && strings.HasPrefix(se.Error(), "invalid character") && strings.Contains(se.Error(), "after top-level value"):
		return p.errAt(int(se.Offset)-1, "malformed JSON: there is more after the top-level value", "remove it, or wrap the values in one object")
	case errors.As(err, &se) && se.Error() == "unexpected end of JSON input":
		return p.errAt(len(p.data), "malformed JSON: the file ends before its last value does", "close every { and [ and every string")
	case errors.As(err, &se):
		return p.errAt(int(se.Offset)-1, "malformed JSON: "+se.Error(), "fix the syntax (a missing comma, quote or bracket is usual)")
	case err != nil:
		return p.errAt(0, "malformed JSON: "+err.Error(), "")
	}
	return p.errAt(0, "malformed JSON", "")
}

// skip moves past whitespace and the separators (',' and ':') valid JSON has between
// values; the syntax is already known to be right.
func (p *jsonParser) skip() {
	for p.off < len(p.data) {
		switch p.data[p.off] {
		case ' ', '\t', '\r', '\n', ',', ':':
			p.off++
			continue
		}
		return
	}
}

// value scans the value at the scanner's position.
func (p *jsonParser) value(depth int) (*yaml.Node, *Error) {
	p.skip()
	if depth > maxJSONDepth {
		return nil, p.errAt(p.off, "malformed JSON: values are nested too deeply", "")
	}
	line, col := p.pos(p.off)
	n := &yaml.Node{Line: line, Column: col}
	switch c := p.data[p.off]; c {
	case '{', '[':
		n.Kind, n.Tag, n.Style = yaml.MappingNode, "!!map", yaml.FlowStyle
		end := byte('}')
		if c == '[' {
			n.Kind, n.Tag, end = yaml.SequenceNode, "!!seq", ']'
		}
		p.off++
		for p.skip(); p.data[p.off] != end; p.skip() {
			if c == '{' {
				key, err := p.value(depth + 1) // a string: valid JSON
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, key)
			}
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, v)
		}
		p.off++
	case '"':
		start := p.off
		escaped := false
		for p.off++; p.data[p.off] != '"'; p.off++ {
			if p.data[p.off] == '\\' {
				escaped = true
				p.off++
			}
		}
		p.off++
		n.Kind, n.Tag, n.Style = yaml.ScalarNode, "!!str", yaml.DoubleQuotedStyle
		n.Value = string(p.data[start+1 : p.off-1])
		if escaped {
			_ = json.Unmarshal(p.data[start:p.off], &n.Value) // valid JSON: cannot fail
		}
	default: // a number, true, false or null
		start := p.off
		for p.off < len(p.data) && !strings.ContainsRune(" \t\r\n,:]}", rune(p.data[p.off])) {
			p.off++
		}
		n.Kind, n.Value = yaml.ScalarNode, string(p.data[start:p.off])
		switch {
		case n.Value == "true" || n.Value == "false":
			n.Tag = "!!bool"
		case n.Value == "null":
			n.Tag = "!!null"
		case strings.ContainsAny(n.Value, ".eE"):
			n.Tag = "!!float"
		default:
			n.Tag = "!!int"
		}
	}
	return n, nil
}

func (p *jsonParser) errAt(off int, msg, fix string) *Error {
	l, c := p.pos(off)
	return &Error{File: p.name, Line: l, Col: c, Msg: msg, Fix: fix}
}

// pos converts a byte offset to a 1-based line and column (in characters).
func (p *jsonParser) pos(off int) (line, col int) {
	off = max(0, min(off, len(p.data)))
	i := sort.SearchInts(p.lines, off+1) - 1 // the last line starting at or before off
	start := p.lines[i]
	col = 1
	if p.lastLine == i+1 && p.lastOff >= start && p.lastOff <= off {
		start, col = p.lastOff, p.lastCol
	}
	col += utf8.RuneCount(p.data[start:off])
	p.lastOff, p.lastLine, p.lastCol = off, i+1, col
	return i + 1, col
}

// lineStarts returns the offset at which each line of data starts.
func lineStarts(data []byte) []int {
	out := []int{0}
	for i, b := range data {
		if b == '\n' {
			out = append(out, i+1)
		}
	}
	return out
}
