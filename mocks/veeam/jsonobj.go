package veeam

import (
	"bytes"
	"encoding/json"
	"errors"
)

// object is a JSON object as its members in order, each value kept as raw JSON, so a
// stored resource can be read and changed without losing the order its fields were
// written in (the document's, as .NET writes them).
type object []member

type member struct {
	key string
	val json.RawMessage
}

var errNotObject = errors.New("not a JSON object")

// parseObject splits a JSON object into its members. The values alias raw.
func parseObject(raw []byte) (object, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errNotObject
	}
	var o object
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := t.(string)
		start := dec.InputOffset()
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, err
		}
		// The raw value without the white space and colon before it.
		val := bytes.TrimLeft(raw[start:dec.InputOffset()], " \t\r\n:")
		o = append(o, member{key: key, val: val})
	}
	return o, nil
}

// get returns a member's raw value, or nil.
func (o object) get(key string) json.RawMessage {
	for _, m := range o {
		if m.key == key {
			return m.val
		}
	}
	return nil
}

// str returns a string member's value ("" if absent or not a string).
func (o object) str(key string) string {
	v := o.get(key)
	if len(v) < 2 || v[0] != '"' {
		return ""
	}
	if bytes.IndexByte(v, '\\') < 0 {
		return string(v[1 : len(v)-1])
	}
	var s string
	_ = json.Unmarshal(v, &s)
	return s
}

// text returns a member as text for comparisons: a string's value, or the JSON of
// anything else (true, 12); "" if absent.
func (o object) text(key string) string {
	v := o.get(key)
	if len(v) > 0 && v[0] == '"' {
		return o.str(key)
	}
	return string(v)
}

// set replaces a member's value, or appends the member.
func (o *object) set(key string, val json.RawMessage) {
	for i := range *o {
		if (*o)[i].key == key {
			(*o)[i].val = val
			return
		}
	}
	*o = append(*o, member{key: key, val: val})
}

// setValue encodes v and sets it.
func (o *object) setValue(key string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	o.set(key, b)
}

// del removes a member.
func (o *object) del(key string) {
	for i := range *o {
		if (*o)[i].key == key {
			*o = append((*o)[:i], (*o)[i+1:]...)
			return
		}
	}
}

// bytes encodes the object.
func (o object) bytes() []byte {
	var b bytes.Buffer
	o.writeMembers(&b)
	b.WriteByte('}')
	return b.Bytes()
}

// writeMembers writes the object without its closing brace, so members can follow.
func (o object) writeMembers(b *bytes.Buffer) {
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		writeKey(b, m.key)
		b.WriteByte(':')
		b.Write(m.val)
	}
}

// writeKey writes a JSON string; plain ASCII keys, nearly all of them, without
// encoding/json.
func writeKey(b *bytes.Buffer, k string) {
	for i := 0; i < len(k); i++ {
		if c := k[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			enc, _ := json.Marshal(k)
			b.Write(enc)
			return
		}
	}
	b.WriteByte('"')
	b.WriteString(k)
	b.WriteByte('"')
}
