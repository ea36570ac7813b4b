package veeam

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/vbharness/vbharness/mocks/veeam/spec"
)

var update = flag.Bool("update", false, "rewrite the coverage table in docs/veeam-mock.md from the table")

// The docs file and the markers around the coverage table.
const (
	mockDoc       = "../../docs/veeam-mock.md"
	coverageStart = "<!-- coverage:start (written by go test ./mocks/veeam -run TestCoverageTable -update) -->"
	coverageEnd   = "<!-- coverage:end -->"
)

// coverageTable renders, per operation of the document, what answers it: stateful
// (a hand-written handler, a collection of the world, a settings object) or generated
// from the response schema; and who may call it.
func coverageTable() string {
	var b strings.Builder
	counts := map[string]int{}
	for _, rt := range table().order {
		counts[answerOf(rt)]++
	}
	fmt.Fprintf(&b, "%d operations: %d stateful, %d generated, %d stub-only.\n\n", len(table().order), counts["stateful"], counts["generated"], counts["stub-only"])
	b.WriteString("| Method | Path | operationId | Answer | By | Who |\n|---|---|---|---|---|---|\n")
	for _, rt := range table().order {
		by := rt.how
		if rt.coll != nil {
			by = "collection `" + rt.coll.list + "`"
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s | %s | %s |\n", rt.method, rt.template, rt.op.ID, answerOf(rt), by, whoOf(rt))
	}
	return b.String()
}

// answerOf is the coverage column: stateful, generated, or stub-only (an operation only
// a stub can answer; none yet).
func answerOf(rt *route) string {
	if rt.how == "generated" {
		return "generated"
	}
	return "stateful"
}

func whoOf(rt *route) string {
	if rt.who == 0 {
		return "anonymous"
	}
	var names []string
	for _, c := range []callers{admins, tenants, operators} {
		if rt.who&c != 0 {
			names = append(names, callerName(c))
		}
	}
	who := strings.Join(names, ", ")
	if rt.own {
		who = "administrator; tenant, operator: own session"
	}
	return who
}

// Acceptance 7 of issue 11: docs/veeam-mock.md's coverage table is the table's, row for
// row. -update rewrites it.
func TestCoverageTable(t *testing.T) {
	doc, err := os.ReadFile(mockDoc)
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	start, end := strings.Index(text, coverageStart), strings.Index(text, coverageEnd)
	if start < 0 || end < start {
		t.Fatalf("%s has no coverage markers %q … %q", mockDoc, coverageStart, coverageEnd)
	}
	want := coverageTable()
	got := text[start+len(coverageStart)+1 : end]
	if got == want {
		return
	}
	if *update {
		text = text[:start+len(coverageStart)+1] + want + text[end:]
		if err := os.WriteFile(mockDoc, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("the coverage table in %s is stale; run go test ./mocks/veeam -run TestCoverageTable -update", mockDoc)
}

// Every list/item pair of the document (a path with GET, or an item path, and the same
// path with one more variable) is a declared collection, and every declaration names
// such a pair: nothing is forgotten, nothing invented.
func TestEveryCollectionIsDeclared(t *testing.T) {
	t.Parallel()
	paths := map[string]map[string]bool{} // shape → methods
	for _, op := range spec.Doc().Operations {
		sh := shape(op.Path)
		if paths[sh] == nil {
			paths[sh] = map[string]bool{}
		}
		paths[sh][op.Method] = true
	}
	declared := map[string]bool{}
	for _, c := range collections {
		declared[shape(c.list)] = true
		if !strings.HasPrefix(shape(c.item), shape(c.list)+"/{}") || strings.Count(shape(c.item), "/") != strings.Count(shape(c.list), "/")+1 {
			t.Errorf("%s: item %s is not the list plus one variable", c.list, c.item)
		}
		if paths[shape(c.list)] == nil || paths[shape(c.item)] == nil {
			t.Errorf("%s: not both paths are in the document", c.list)
		}
	}
	for sh, methods := range paths {
		item := paths[sh+"/{}"]
		if item == nil || !(methods[http.MethodGet] || item[http.MethodGet]) {
			continue
		}
		if !declared[sh] {
			t.Errorf("the document's collection %s (GET %v, item %v) is not declared in collections", sh, methods, item)
		}
	}
	if len(collections) != 80 {
		t.Errorf("%d collections, the document has 80 list/item pairs", len(collections))
	}
}

// GET /swagger/docs/v8 serves the document as published, to anyone.
func TestTheDocumentIsServed(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	w := e.do("GET", "/swagger/docs/v8", "", "")
	if w.Code != 200 || w.Body.String() != string(spec.JSON()) || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
		t.Errorf("GET /swagger/docs/v8: %d %s, %d bytes", w.Code, w.Header().Get("Content-Type"), w.Body.Len())
	}
	if w := e.do("POST", "/swagger/docs/v8", "", ""); w.Code != 405 || w.Header().Get("Allow") != "GET" {
		t.Errorf("POST /swagger/docs/v8: %d Allow %q", w.Code, w.Header().Get("Allow"))
	}
	if w := e.do("GET", "/Swagger/Docs/V8/", "", ""); w.Code != 200 {
		t.Errorf("case-insensitive: %d", w.Code)
	}
}

// Every hand-written entry names an operation of the document: a typo would leave the
// operation generated and the entry unused.
func TestHandWrittenEntriesNameOperations(t *testing.T) {
	t.Parallel()
	for id, o := range handWritten {
		rt := table().byID[id]
		if rt == nil {
			t.Errorf("handWritten names %q, which is not an operationId of the document", id)
			continue
		}
		if o.handle != nil && rt.how == "generated" {
			t.Errorf("%s: its handler is not used", id)
		}
	}
}
