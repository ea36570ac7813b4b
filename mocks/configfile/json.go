package configfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"sort"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v4"
)

// maxJSONDepth bounds the nesting of a JSON document (encoding/json's own decoder
// stops at 10000; a configuration file never nests past a handful).
const maxJSONDepth = 200

// parseJSON reads data with encoding/json's tokenizer into the node tree a YAML parser
// would give (mappings, sequences, scalars tagged !!str, !!int, !!float, !!bool, !!null),
// with each value's line and column, so one checker and one decoder serve both formats.
// nil means an empty file.
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
		return nil, p.errAt(int64(off), "malformed JSON: the file is not UTF-8 text", "save the file as UTF-8")
	}
	p.dec = json.NewDecoder(bytes.NewReader(data))
	p.dec.UseNumber()
	root, err := p.value(0)
	if err != nil {
		return nil, err
	}
	if at := p.skip(" \t\r\n"); at < int64(len(p.data)) {
		return nil, p.errAt(at, "malformed JSON: there is more after the top-level value", "remove it, or wrap the values in one object")
	}
	return root, nil
}

type jsonParser struct {
	name  string
	data  []byte
	lines []int
	dec   *json.Decoder
}

// start is the offset of the next token: past whitespace and the ',' or ':' the
// tokenizer consumes with the previous one.
func (p *jsonParser) start() int64 { return p.skip(" \t\r\n,:") }

// skip returns the offset of the first byte from the tokenizer's position on that is not
// in set.
func (p *jsonParser) skip(set string) int64 {
	off := p.dec.InputOffset()
	for off < int64(len(p.data)) && strings.IndexByte(set, p.data[off]) >= 0 {
		off++
	}
	return off
}

func (p *jsonParser) value(depth int) (*yaml.Node, *Error) {
	if depth > maxJSONDepth {
		return nil, p.errAt(p.start(), "malformed JSON: values are nested too deeply", "")
	}
	at := p.start()
	tok, err := p.dec.Token()
	if err != nil {
		return nil, p.syntax(at, err)
	}
	line, col := p.pos(at)
	n := &yaml.Node{Line: line, Column: col}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			n.Kind, n.Tag, n.Style = yaml.MappingNode, "!!map", yaml.FlowStyle
			for p.dec.More() {
				kat := p.start()
				ktok, err := p.dec.Token()
				if err != nil {
					return nil, p.syntax(kat, err)
				}
				kl, kc := p.pos(kat)
				key := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Style: yaml.DoubleQuotedStyle, Value: ktok.(string), Line: kl, Column: kc}
				v, verr := p.value(depth + 1)
				if verr != nil {
					return nil, verr
				}
				n.Content = append(n.Content, key, v)
			}
		case '[':
			n.Kind, n.Tag, n.Style = yaml.SequenceNode, "!!seq", yaml.FlowStyle
			for p.dec.More() {
				v, verr := p.value(depth + 1)
				if verr != nil {
					return nil, verr
				}
				n.Content = append(n.Content, v)
			}
		}
		end := p.start()
		if _, err := p.dec.Token(); err != nil { // the closing delimiter
			return nil, p.syntax(end, err)
		}
	case string:
		n.Kind, n.Tag, n.Style, n.Value = yaml.ScalarNode, "!!str", yaml.DoubleQuotedStyle, t
	case json.Number:
		n.Kind, n.Tag, n.Value = yaml.ScalarNode, "!!int", t.String()
		if strings.ContainsAny(n.Value, ".eE") {
			n.Tag = "!!float"
		}
	case bool:
		n.Kind, n.Tag, n.Value = yaml.ScalarNode, "!!bool", "false"
		if t {
			n.Value = "true"
		}
	case nil:
		n.Kind, n.Tag, n.Value = yaml.ScalarNode, "!!null", "null"
	}
	return n, nil
}

// syntax turns a tokenizer error into an *Error at its offset (at, when it has none).
func (p *jsonParser) syntax(at int64, err error) *Error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return p.errAt(se.Offset, "malformed JSON: "+se.Error(), "fix the syntax (a missing comma, quote or bracket is usual)")
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return p.errAt(int64(len(p.data)), "malformed JSON: the file ends before its last value does", "close every { and [ and every string")
	}
	return p.errAt(at, "malformed JSON: "+err.Error(), "")
}

func (p *jsonParser) errAt(off int64, msg, fix string) *Error {
	l, c := p.pos(off)
	return &Error{File: p.name, Line: l, Col: c, Msg: msg, Fix: fix}
}

// pos converts a byte offset to a 1-based line and column (in characters).
func (p *jsonParser) pos(off int64) (line, col int) {
	off = max(0, min(off, int64(len(p.data))))
	i := sort.SearchInts(p.lines, int(off)+1) - 1 // the last line starting at or before off
	return i + 1, utf8.RuneCount(p.data[p.lines[i]:off]) + 1
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
