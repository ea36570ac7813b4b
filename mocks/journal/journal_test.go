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
