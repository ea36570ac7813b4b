package journal

import (
	"fmt"
	"maps"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestJournalIsBoundedAndFiltered(t *testing.T) {
	t.Parallel()
	j := New(3)
	for i, p := range []string{"/a/token", "/a/devicecode", "/a/token", "/a/token"} {
		j.Record(Entry{Method: "POST", Path: p, Time: time.Unix(int64(i), 0), Fields: map[string]string{"grant_type": "device_code"}})
	}
	if j.Len() != 3 {
		t.Fatalf("len %d, want 3", j.Len())
	}
	all := j.List(Filter{})
	if all[0].Seq != 2 || all[2].Seq != 4 {
		t.Fatalf("oldest entry was not dropped: %+v", all)
	}
	if got := len(j.List(Filter{Path: "/A/TOKEN"})); got != 2 {
		t.Fatalf("path filter matched %d, want 2", got)
	}
	if got := len(j.List(Filter{Field: "grant_type", Value: "refresh_token"})); got != 0 {
		t.Fatalf("field filter matched %d, want 0", got)
	}
	if got := len(j.List(Filter{Since: 3})); got != 1 {
		t.Fatalf("since filter matched %d, want 1", got)
	}
	j.Clear()
	if j.Len() != 0 || j.Record(Entry{}).Seq != 5 {
		t.Fatal("clear must empty the journal and keep sequence numbers growing")
	}
}

// The ring keeps the newest entries in order however many times it wraps, and Clear
// starts it afresh while sequence numbers keep growing.
func TestJournalWrapsManyTimesAndClears(t *testing.T) {
	t.Parallel()
	j := New(4)
	for range 11 {
		j.Record(Entry{Method: "GET", Path: "/x"})
	}
	var seqs []int64
	for _, e := range j.List(Filter{}) {
		seqs = append(seqs, e.Seq)
	}
	if want := []int64{8, 9, 10, 11}; !slices.Equal(seqs, want) {
		t.Fatalf("seqs %v, want %v", seqs, want)
	}
	j.Clear()
	if j.Len() != 0 || len(j.List(Filter{})) != 0 {
		t.Fatalf("after Clear: len %d", j.Len())
	}
	if e := j.Record(Entry{}); e.Seq != 12 || j.Len() != 1 || j.Cap() != 4 {
		t.Fatalf("after Clear: seq %d len %d cap %d", e.Seq, j.Len(), j.Cap())
	}
}

// The field filter keeps exactly the entries with that field (and value, when given):
// a matching value returns those entries and no others, a value or field nothing has
// returns none, and it combines with the other filters.
func TestFieldFilterSelectsExactlyTheMatchingEntries(t *testing.T) {
	t.Parallel()
	j := New(0)
	for _, e := range []Entry{
		{Method: "POST", Path: "/t/oauth2/v2.0/token", Fields: map[string]string{"grant_type": "device_code", "client_id": "a"}},     // 1
		{Method: "POST", Path: "/t/oauth2/v2.0/token", Fields: map[string]string{"grant_type": "refresh_token", "client_id": "a"}},   // 2
		{Method: "POST", Path: "/t/oauth2/v2.0/devicecode", Fields: map[string]string{"client_id": "b", "scope": "openid"}},          // 3
		{Method: "GET", Path: "/t/v2.0/.well-known/openid-configuration"},                                                            // 4: no fields
		{Method: "POST", Path: "/v8/token", Fields: map[string]string{"grant_type": "refresh_token", "refresh_token": "[redacted]"}}, // 5
		{Method: "POST", Path: "/t/oauth2/v2.0/token", Fields: map[string]string{"grant_type": "Refresh_Token"}},                     // 6: another value
	} {
		j.Record(e)
	}
	seqs := func(f Filter) []int64 {
		out := []int64{}
		for _, e := range j.List(f) {
			out = append(out, e.Seq)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		f    Filter
		want []int64
	}{
		{"field and value", Filter{Field: "grant_type", Value: "refresh_token"}, []int64{2, 5}},
		{"field and another value", Filter{Field: "grant_type", Value: "device_code"}, []int64{1}},
		{"value compared exactly", Filter{Field: "grant_type", Value: "Refresh_Token"}, []int64{6}},
		{"field alone: every entry that has it", Filter{Field: "grant_type"}, []int64{1, 2, 5, 6}},
		{"another field", Filter{Field: "client_id", Value: "b"}, []int64{3}},
		{"a redacted value matches as stored", Filter{Field: "refresh_token", Value: "[redacted]"}, []int64{5}},
		{"a value no entry has", Filter{Field: "grant_type", Value: "password"}, []int64{}},
		{"a value of another field", Filter{Field: "grant_type", Value: "openid"}, []int64{}},
		{"a field no entry has", Filter{Field: "username"}, []int64{}},
		{"a field no entry has, with a value others have", Filter{Field: "username", Value: "refresh_token"}, []int64{}},
		{"with a path", Filter{Path: "/v8/", Field: "grant_type", Value: "refresh_token"}, []int64{5}},
		{"with a method", Filter{Method: "GET", Field: "grant_type"}, []int64{}},
		{"with since", Filter{Since: 2, Field: "grant_type", Value: "refresh_token"}, []int64{5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := seqs(tc.f); !slices.Equal(got, tc.want) {
				t.Errorf("%+v selected entries %v, want %v", tc.f, got, tc.want)
			}
		})
	}
}

// Long values, paths and names are cut with a marker saying how much was cut, on a UTF-8
// boundary; past MaxFields the fields kept are the first by name and the rest counted.
func TestEntriesAreBounded(t *testing.T) {
	t.Parallel()
	j := New(0)
	fields := map[string]string{
		"username":               strings.Repeat("a", 1000<<10),
		"scope":                  "x" + strings.Repeat("é", 600), // 1201 bytes: byte 1024 is inside a rune
		"short":                  "kept",
		strings.Repeat("n", 300): "long name",
	}
	e := j.Record(Entry{Method: "POST", Path: "/v8/" + strings.Repeat("p", 2000), Fields: fields})
	if got := e.Fields["username"]; got != strings.Repeat("a", MaxValueBytes)+"…[truncated 999 KiB]" {
		t.Errorf("username kept as %d bytes ending %q", len(got), got[len(got)-30:])
	}
	if got := e.Fields["scope"]; !utf8.ValidString(got) || !strings.HasSuffix(got, "…[truncated 178 bytes]") {
		t.Errorf("scope kept as %q…%q", got[:10], got[len(got)-30:])
	}
	if e.Fields["short"] != "kept" || len(e.Path) > MaxValueBytes+40 || !strings.HasPrefix(e.Path, "/v8/ppp") {
		t.Errorf("short %q, path of %d bytes", e.Fields["short"], len(e.Path))
	}
	if got := e.Fields[strings.Repeat("n", MaxNameBytes)+"…[truncated 172 bytes]"]; got != "long name" {
		t.Errorf("a long field name was not cut: %v", slices.Collect(maps.Keys(e.Fields)))
	}
	many := map[string]string{}
	for i := range MaxFields + 10 {
		many[fmt.Sprintf("f%03d", i)] = "v"
	}
	e = j.Record(Entry{Method: "POST", Path: "/x", Fields: many})
	if len(e.Fields) != MaxFields || e.FieldsOmitted != 10 || e.Fields["f000"] != "v" || e.Fields[fmt.Sprintf("f%03d", MaxFields)] != "" {
		t.Errorf("%d fields kept, %d omitted", len(e.Fields), e.FieldsOmitted)
	}
}

// The journal is bounded by bytes as well as entries: past its byte bound the oldest
// entries go, the newest always stays, and SetMaxBytes trims at once.
func TestJournalIsBoundedByBytes(t *testing.T) {
	t.Parallel()
	j := New(0)
	big := map[string]string{}
	for i := range MaxFields {
		big[fmt.Sprintf("f%02d", i)] = strings.Repeat("x", MaxValueBytes)
	}
	for range 1000 { // about 70 MB had every entry been kept
		j.Record(Entry{Method: "POST", Path: "/token", Fields: big})
	}
	if j.Bytes() > DefaultMaxBytes || j.Len() == 0 || j.Len() >= 1000 {
		t.Fatalf("%d entries of %d bytes; want at most %d bytes", j.Len(), j.Bytes(), DefaultMaxBytes)
	}
	per := j.Bytes() / int64(j.Len())
	if per < MaxFields*MaxValueBytes {
		t.Errorf("an entry of %d bytes of values is estimated at %d bytes", MaxFields*MaxValueBytes, per)
	}
	all := j.List(Filter{})
	if all[len(all)-1].Seq != 1000 || all[0].Seq != int64(1000-len(all)+1) {
		t.Errorf("kept seqs %d…%d, want the newest", all[0].Seq, all[len(all)-1].Seq)
	}
	j.SetMaxBytes(1 << 20)
	if j.Bytes() > 1<<20 || j.MaxBytes() != 1<<20 || j.List(Filter{})[j.Len()-1].Seq != 1000 {
		t.Errorf("after SetMaxBytes(1 MiB): %d bytes, max %d", j.Bytes(), j.MaxBytes())
	}
	j.SetMaxBytes(1)
	if j.Len() != 1 {
		t.Errorf("a bound smaller than one entry keeps %d entries, want the newest", j.Len())
	}
	j.Clear()
	if j.Bytes() != 0 || j.Len() != 0 {
		t.Errorf("after Clear: %d entries, %d bytes", j.Len(), j.Bytes())
	}
}

// A kept value is a copy: a short value parsed out of a large body must not keep the
// body alive.
func TestKeptValuesDoNotPinTheBody(t *testing.T) {
	body := "username=abc&x=" + strings.Repeat("y", 8<<20)
	vals, err := url.ParseQuery(body)
	if err != nil {
		t.Fatal(err)
	}
	j := New(0)
	j.Record(Entry{Method: "POST", Path: "/v8/token", Fields: map[string]string{"username": vals.Get("username")}})
	body, vals = "", nil
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	if m.HeapAlloc > 6<<20 {
		t.Errorf("heap %d MiB after journaling a 3-byte value of an 8 MiB body", m.HeapAlloc>>20)
	}
	runtime.KeepAlive(j)
}
