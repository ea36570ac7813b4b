package spec

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
)

// Gen says how Document.Generate builds a value. The same Gen gives the same bytes.
type Gen struct {
	// Seed is what every value derives from, with its property path: uuids, numbers,
	// choices of enum values and array lengths. Callers use the operationId and the path
	// parameters, or a collection and an item's index.
	Seed string
	// Now is the clock reading date-times are generated around, in whole seconds: up
	// to 30 days before it, ordered within an object (starts before ends), and expiries
	// and next runs up to a month after it (dateTime).
	Now time.Time
	// Request generates a request body: readOnly properties are left out. Otherwise
	// writeOnly properties are.
	Request bool
	// Fixed gives top-level properties their values (encoded with encoding/json); only
	// properties the schema declares are written.
	Fixed map[string]any
	// Self, when set, is written as _links.self.href where the schema has _links.
	Self string
}

// Generation limits: optional properties are filled in objects up to optionalDepth
// levels below the top, and nothing is generated below maxDepth (an object there is {},
// an array []), so recursive schemas end.
const (
	optionalDepth = 2
	maxDepth      = 10
)

// Generate returns a JSON value for s that validates against it: every required
// property is filled, optional ones too near the top, enumerations take one of their
// values, formats are honoured (uuid, date-time on the clock with at most seven
// fractional digits as .NET writes them, base64 for byte), arrays have one to three
// items, nullable values are never null, and a discriminated schema is generated as one
// of the schemas its mapping names.
func (d *Document) Generate(s *openapi3.SchemaRef, g Gen) []byte {
	gn := &generator{d: d, g: g}
	gn.value(s, "", "", 0, nil)
	return gn.buf.Bytes()
}

type generator struct {
	d     *Document
	g     Gen
	buf   bytes.Buffer
	stack []*openapi3.Schema
}

// hash is the 128-bit FNV-1a of the seed and a property path.
func (gn *generator) hash(path string) [16]byte {
	h := fnv.New128a()
	h.Write([]byte(gn.g.Seed))
	h.Write([]byte{0})
	h.Write([]byte(path))
	var out [16]byte
	h.Sum(out[:0])
	return out
}

func (gn *generator) num(path string) uint64 {
	h := gn.hash(path)
	return binary.BigEndian.Uint64(h[:8])
}

// UUID derives a version-5-shaped GUID from a seed: the same seed gives the same id.
func UUID(seed string) string {
	gn := generator{g: Gen{Seed: seed}}
	return gn.uuid("")
}

func (gn *generator) uuid(path string) string {
	u := gn.hash(path)
	u[6] = (u[6] & 0x0f) | 0x50 // version 5
	u[8] = (u[8] & 0x3f) | 0x80 // RFC 4122 variant
	return FormatGUID(u)
}

// FormatGUID writes 16 bytes as a lower-case hyphenated GUID.
func FormatGUID(u [16]byte) string {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:16])
	return string(b[:])
}

// FormatTime writes t as .NET's JSON serializer does: UTC, at most seven fractional
// digits, trailing zeros dropped.
func FormatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.9999999Z")
}

func (gn *generator) value(s *openapi3.SchemaRef, path, name string, depth int, fixed map[string]any) {
	if s == nil || s.Value == nil {
		gn.buf.WriteString("{}")
		return
	}
	v := s.Value
	if dsc := gn.d.disc[v]; dsc != nil && len(dsc.keys) > 0 && depth < maxDepth {
		key := dsc.keys[gn.num(path+"#type")%uint64(len(dsc.keys))]
		if target := dsc.mapping[key]; target != nil && target.Value != v {
			f := map[string]any{dsc.property: key}
			for k, x := range fixed {
				f[k] = x
			}
			gn.value(target, path, name, depth, f)
			return
		}
	}
	switch {
	case len(v.Enum) > 0:
		gn.write(v.Enum[gn.num(path)%uint64(len(v.Enum))])
	case v.Type.Is(openapi3.TypeString):
		gn.write(gn.str(v, path, name))
	case v.Type.Is(openapi3.TypeInteger):
		gn.buf.WriteString(strconv.FormatUint(gn.integer(v, path, name), 10))
	case v.Type.Is(openapi3.TypeNumber):
		gn.buf.WriteString(strconv.FormatFloat(float64(gn.num(path)%10000)/100, 'f', -1, 64))
	case v.Type.Is(openapi3.TypeBoolean):
		gn.buf.WriteString(strconv.FormatBool(gn.num(path)&1 == 1))
	case v.Type.Is(openapi3.TypeArray):
		gn.array(v, path, name, depth)
	default:
		gn.object(v, path, depth, fixed)
	}
}

func (gn *generator) write(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte("null")
	}
	gn.buf.Write(b)
}

func (gn *generator) str(v *openapi3.Schema, path, name string) string {
	switch v.Format {
	case "uuid":
		return gn.uuid(path)
	case "date-time":
		return FormatTime(gn.dateTime(path, name))
	case "byte":
		return "dmJoYXJuZXNz" // base64 of "vbharness"
	case "password":
		return "Passw0rd-" + strconv.FormatUint(gn.num(path)%10000, 10)
	}
	low := strings.ToLower(name)
	tag := strconv.FormatUint(gn.num(path)%0x10000, 16)
	switch {
	case strings.Contains(low, "email") || low == "upn" || low == "userprincipalname" || low == "mail":
		return "user-" + tag + "@abc.onmicrosoft.com"
	case strings.HasSuffix(low, "url") || strings.HasSuffix(low, "uri"):
		return "https://vb365.tech.local/" + tag
	case low == "href":
		return "/v8"
	case strings.HasSuffix(low, "time"): // a time of day such as dailyTime
		n := gn.num(path)
		return fmt.Sprintf("%02d:%02d:00", n%24, (n/24)%60)
	case strings.HasSuffix(low, "id"):
		return gn.uuid(path)
	case low == "":
		return "value-" + tag
	}
	return name + "-" + tag
}

// Roles of a date-time property, from the words of its name (timeRole).
const (
	timeAny    = iota // no order with the others: up to 30 days before Now
	timeStart         // starts a span: startTime, from, creationTime, firstBackuptime, sent
	timeEnd           // ends it: endTime, to, lastModified, dueDate, received
	timeFuture        // after Now: expirationTime, immutabilityExpiresOn, nextRun
)

// timeWords are the words of property names that give a date-time its role.
var timeWords = map[string]int{
	"start": timeStart, "begin": timeStart, "from": timeStart, "created": timeStart, "creation": timeStart,
	"first": timeStart, "issued": timeStart, "sent": timeStart,
	"end": timeEnd, "to": timeEnd, "modified": timeEnd, "modification": timeEnd, "due": timeEnd,
	"last": timeEnd, "received": timeEnd, "finished": timeEnd,
	"expires": timeFuture, "expiration": timeFuture, "expiry": timeFuture, "next": timeFuture, "until": timeFuture,
}

// timeRole is the role of a date-time property: its first word (camelCase, or after a
// dot) that timeWords knows.
func timeRole(name string) int {
	start := 0
	for i := 0; i <= len(name); i++ {
		if i == len(name) || name[i] == '.' || (i > start && name[i] >= 'A' && name[i] <= 'Z') {
			if r, ok := timeWords[strings.ToLower(name[start:i])]; ok {
				return r
			}
			start = i
			if i < len(name) && name[i] == '.' {
				start++
			}
		}
	}
	return timeAny
}

// dateTime is a generated date-time, ordered within its object by role: every start of
// an object is one moment (2 h to 30 days before Now, from the object's path), every end
// half an hour to two hours after it (so before Now), every expiry or next run a day to
// a month after Now, and any other time up to 30 days before Now. So no generated end
// precedes its start, nothing modified precedes its creation, and nothing expires before
// it was made.
func (gn *generator) dateTime(path, name string) time.Time {
	now := gn.g.Now.Truncate(time.Second)
	obj := path[:max(strings.LastIndexByte(path, '/'), 0)]
	switch role := timeRole(name); role {
	case timeStart, timeEnd:
		t := now.Add(-2*time.Hour - time.Duration(gn.num(obj+"#start")%(30*24*3600-7200))*time.Second)
		if role == timeEnd {
			t = t.Add(30*time.Minute + time.Duration(gn.num(path)%5400)*time.Second)
		}
		return t
	case timeFuture:
		return now.Add(24*time.Hour + time.Duration(gn.num(path)%(30*24*3600))*time.Second)
	}
	return now.Add(-time.Duration(gn.num(path)%(30*24*3600)) * time.Second)
}

func (gn *generator) integer(v *openapi3.Schema, path, name string) uint64 {
	n := gn.num(path)
	low := strings.ToLower(name)
	switch {
	case low == "etag":
		return 1 + n%20
	case strings.Contains(low, "percent"):
		return n % 101
	case v.Format == "int64" || strings.HasSuffix(low, "bytes") || strings.HasSuffix(low, "size"):
		return n % 1_000_000_000
	}
	return n % 100
}

func (gn *generator) array(v *openapi3.Schema, path, name string, depth int) {
	gn.buf.WriteByte('[')
	if depth < maxDepth && v.Items != nil {
		n := 1 + int(gn.num(path+"#len")%3)
		if gn.recursing(v.Items.Value) {
			n = 0 // a recursive structure (a folder of folders) ends here
		}
		item := singular(name)
		for i := range n {
			if i > 0 {
				gn.buf.WriteByte(',')
			}
			gn.value(v.Items, path+"/"+strconv.Itoa(i), item, depth+1, nil)
		}
	}
	gn.buf.WriteByte(']')
}

func singular(name string) string {
	if s, ok := strings.CutSuffix(name, "ies"); ok {
		return s + "y"
	}
	return strings.TrimSuffix(name, "s")
}

// recursing reports whether s is already being generated further up.
func (gn *generator) recursing(s *openapi3.Schema) bool {
	return s != nil && slices.Contains(gn.stack, s)
}

// objectView is an object schema with its allOf parts merged.
type objectView struct {
	names    []string
	props    map[string]*openapi3.SchemaRef
	required map[string]bool
}

func (gn *generator) view(v *openapi3.Schema) objectView {
	ov := objectView{props: map[string]*openapi3.SchemaRef{}, required: map[string]bool{}}
	var add func(s *openapi3.Schema)
	add = func(s *openapi3.Schema) {
		for _, part := range s.AllOf {
			if part.Value != nil {
				add(part.Value)
			}
		}
		names := gn.d.order[s]
		if names == nil {
			for k := range s.Properties {
				names = append(names, k)
			}
			slices.Sort(names)
		}
		for _, k := range names {
			if _, ok := ov.props[k]; !ok {
				ov.names = append(ov.names, k)
			}
			ov.props[k] = s.Properties[k]
		}
		for _, r := range s.Required {
			ov.required[r] = true
		}
	}
	add(v)
	return ov
}

func (gn *generator) object(v *openapi3.Schema, path string, depth int, fixed map[string]any) {
	if depth >= maxDepth {
		gn.buf.WriteString("{}")
		return
	}
	recursive := gn.recursing(v)
	gn.stack = append(gn.stack, v)
	defer func() { gn.stack = gn.stack[:len(gn.stack)-1] }()
	ov := gn.view(v)
	if depth == 0 && fixed == nil {
		fixed = gn.g.Fixed
	} else if depth == 0 {
		for k, x := range gn.g.Fixed {
			if _, ok := fixed[k]; !ok {
				fixed[k] = x
			}
		}
	}
	gn.buf.WriteByte('{')
	first := true
	member := func(k string) {
		if !first {
			gn.buf.WriteByte(',')
		}
		first = false
		gn.write(k)
		gn.buf.WriteByte(':')
	}
	for _, k := range ov.names {
		p := ov.props[k]
		if p == nil || p.Value == nil {
			continue
		}
		pv := p.Value
		if (gn.g.Request && pv.ReadOnly) || (!gn.g.Request && pv.WriteOnly) {
			continue
		}
		if !gn.g.Request && pv.Format == "password" && !ov.required[k] {
			continue // a server does not send passwords back
		}
		if x, ok := fixed[k]; ok {
			member(k)
			gn.write(x)
			continue
		}
		if k == "_actions" && !ov.required[k] {
			// A generated action's uri would name no route: the server's actions are
			// its own to write (as _links are).
			continue
		}
		if k == "_links" {
			switch {
			case depth == 0 && gn.g.Self != "" && !gn.g.Request:
				member(k)
				gn.write(map[string]map[string]string{"self": {"href": gn.g.Self}})
			case ov.required[k]:
				member(k)
				gn.buf.WriteString("{}")
			}
			continue
		}
		if !ov.required[k] && (depth > optionalDepth || recursive) {
			continue
		}
		member(k)
		gn.value(p, path+"/"+k, k, depth+1, nil)
	}
	if len(ov.names) == 0 && v.AdditionalProperties.Schema != nil && !recursive {
		member("item1")
		gn.value(v.AdditionalProperties.Schema, path+"/item1", "item1", depth+1, nil)
	}
	gn.buf.WriteByte('}')
}
