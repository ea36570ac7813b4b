package spec

import (
	"encoding/json"
	"testing"
	"time"
)

// orderedPairs are the date-time properties of the document that name the two ends of
// one span, earlier first: an object that has both must not end before it starts, be
// modified before it was made, or expire before it was backed up.
var orderedPairs = [][2]string{
	{"startTime", "endTime"}, {"creationTime", "endTime"}, {"startDate", "dueDate"},
	{"startOfInterval", "endOfInterval"}, {"from", "to"}, {"sent", "received"},
	{"createdTime", "lastModifiedTime"}, {"createdTime", "modified"}, {"createdTime", "lastModified"},
	{"creationTime", "modificationTime"}, {"creationTime", "lastModified"},
	{"firstBackuptime", "lastBackuptime"}, {".issued", ".expires"},
	{"backupTime", "immutabilityExpiresOn"}, {"creationTime", "expirationTime"}, {"startTime", "expirationTime"},
}

// Issue 13 recheck: every success body the generator makes for the document's
// operations, under several seeds, keeps each ordered pair in order (a mail item's
// endTime was before its startTime, a restore point's immutabilityExpiresOn before its
// backupTime), and carries no _actions, whose generated uris named no route.
func TestGeneratedTimesAreInOrder(t *testing.T) {
	t.Parallel()
	d := Doc()
	now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	pairs, bodies := 0, 0
	for _, op := range d.Operations {
		if op.Response == nil {
			continue
		}
		for _, seed := range []string{"a", "b", "c", "d"} {
			var v any
			if err := json.Unmarshal(d.Generate(op.Response, Gen{Seed: op.ID + seed, Now: now}), &v); err != nil {
				t.Fatalf("%s: %v", op.ID, err)
			}
			bodies++
			walkObjects(v, "", func(path string, o map[string]any) {
				if _, ok := o["_actions"]; ok {
					t.Errorf("%s%s: generated _actions %v", op.ID, path, o["_actions"])
				}
				for _, p := range orderedPairs {
					a, aok := o[p[0]].(string)
					b, bok := o[p[1]].(string)
					if !aok || !bok {
						continue
					}
					ta, ea := time.Parse(time.RFC3339Nano, a)
					tb, eb := time.Parse(time.RFC3339Nano, b)
					if ea != nil || eb != nil {
						continue // not a date-time here
					}
					pairs++
					if tb.Before(ta) {
						t.Errorf("%s%s: %s %s is before %s %s", op.ID, path, p[1], b, p[0], a)
					}
				}
			})
		}
	}
	if pairs < 100 {
		t.Fatalf("checked %d pairs in %d bodies; the walk found too few to mean anything", pairs, bodies)
	}
	t.Logf("%d ordered pairs in %d generated bodies", pairs, bodies)
}

// walkObjects calls fn on every JSON object under v with its path.
func walkObjects(v any, path string, fn func(path string, o map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		fn(path, x)
		for k, e := range x {
			walkObjects(e, path+"/"+k, fn)
		}
	case []any:
		for _, e := range x {
			walkObjects(e, path+"/[]", fn)
		}
	}
}
