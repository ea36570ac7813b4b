package journal

import (
	"slices"
	"testing"
	"time"
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
