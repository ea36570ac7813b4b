package spec

import (
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// kinDoc is the document as kin-openapi's own loader reads it: the reference the fast
// loader is checked against. Loaded once per test binary (it takes about a second).
var kinDoc = sync.OnceValues(func() (*openapi3.T, error) {
	return openapi3.NewLoader().LoadFromData(JSON())
})

func TestLoad(t *testing.T) {
	t.Parallel()
	d, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(d.Operations); n != 487 {
		t.Errorf("%d operations, want 487", n)
	}
	if n := d.T.Paths.Len(); n != 419 {
		t.Errorf("%d paths, want 419", n)
	}
	if n := len(d.SchemaNames()); n != 475 {
		t.Errorf("%d schemas, want 475", n)
	}
	var anon []string
	for _, op := range d.Operations {
		if op.Anonymous {
			anon = append(anon, op.ID)
		}
		if d.Operation(op.ID) != op {
			t.Errorf("Operation(%q) is not the indexed operation", op.ID)
		}
	}
	if want := []string{"token", "Health_Get", "RestorePortalSettings_Get"}; !reflect.DeepEqual(anon, want) {
		t.Errorf("anonymous operations %v, want %v", anon, want)
	}
	start := d.Operation("Job_StartAction")
	if start.Method != "POST" || start.Path != "/v8/Jobs/{jobId}/start" || start.Status != 200 || start.Media != "application/json" ||
		start.Response.Ref != "#/components/schemas/RESTJobSession" || len(start.PathParams) != 1 || start.PathParams[0].Name != "jobId" ||
		start.Body == nil || !start.BodyRequired {
		t.Errorf("Job_StartAction = %+v", start)
	}
	if p := d.Operation("JobSession_Get").Query("JOBID"); p == nil || p.Name != "jobId" {
		t.Errorf("Query(JOBID) = %v", p)
	}
	if got := d.Properties(d.Schema("RESTServiceInstance").Value); !reflect.DeepEqual(got, []string{"installationId", "version"}) {
		t.Errorf("RESTServiceInstance properties in order: %v", got)
	}
}

// The fast loader builds the same model as kin-openapi's loader: every operation with
// the same parameters, bodies and responses, and every schema with the same keywords,
// reached through the same references.
func TestLoaderAgreesWithKinOpenAPI(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("kin-openapi's loader takes seconds under -race")
	}
	want, err := kinDoc()
	if err != nil {
		t.Fatal(err)
	}
	d := Doc()
	seen := map[[2]*openapi3.Schema]bool{}
	n := 0
	for path, item := range want.Paths.Map() {
		for method, wop := range item.Operations() {
			n++
			op := d.Operation(wop.OperationID)
			if op == nil || op.Method != method || op.Path != path {
				t.Errorf("%s %s (%s): got %+v", method, path, wop.OperationID, op)
				continue
			}
			where := op.ID
			gop := op.Route.Operation
			if len(gop.Parameters) != len(wop.Parameters) {
				t.Errorf("%s: %d parameters, want %d", where, len(gop.Parameters), len(wop.Parameters))
				continue
			}
			for i, wp := range wop.Parameters {
				gp := gop.Parameters[i].Value
				if gp.Name != wp.Value.Name || gp.In != wp.Value.In || gp.Required != wp.Value.Required {
					t.Errorf("%s: parameter %d = %s in %s, want %s in %s", where, i, gp.Name, gp.In, wp.Value.Name, wp.Value.In)
				}
				compareSchemas(t, where+" parameter "+gp.Name, gp.Schema, wp.Value.Schema, seen)
			}
			switch {
			case (gop.RequestBody == nil) != (wop.RequestBody == nil):
				t.Errorf("%s: request body presence differs", where)
			case gop.RequestBody != nil:
				gb, wb := gop.RequestBody.Value, wop.RequestBody.Value
				if gb.Required != wb.Required || len(gb.Content) != len(wb.Content) {
					t.Errorf("%s: request body required %v/%v, %d/%d media types", where, gb.Required, wb.Required, len(gb.Content), len(wb.Content))
				}
				for ct, wm := range wb.Content {
					if gm := gb.Content[ct]; gm == nil {
						t.Errorf("%s: request body lacks %s", where, ct)
					} else {
						compareSchemas(t, where+" body "+ct, gm.Schema, wm.Schema, seen)
					}
				}
			}
			if gop.Responses.Len() != wop.Responses.Len() {
				t.Errorf("%s: %d responses, want %d", where, gop.Responses.Len(), wop.Responses.Len())
			}
			for code, wr := range wop.Responses.Map() {
				gr := gop.Responses.Value(code)
				if gr == nil || len(gr.Value.Content) != len(wr.Value.Content) {
					t.Errorf("%s: response %s differs", where, code)
					continue
				}
				for ct, wm := range wr.Value.Content {
					if gm := gr.Value.Content[ct]; gm == nil {
						t.Errorf("%s: response %s lacks %s", where, code, ct)
					} else {
						compareSchemas(t, where+" response "+code, gm.Schema, wm.Schema, seen)
					}
				}
			}
			if x, _ := wop.Extensions["x-anonymous"].(bool); x != op.Anonymous {
				t.Errorf("%s: anonymous %v, want %v", where, op.Anonymous, x)
			}
		}
	}
	if n != len(d.Operations) {
		t.Errorf("kin-openapi reads %d operations, the loader %d", n, len(d.Operations))
	}
	for name, w := range want.Components.Schemas {
		got := d.Schema(name)
		if got == nil {
			t.Errorf("schema %s is missing", name)
			continue
		}
		compareSchemas(t, "schema "+name, &openapi3.SchemaRef{Value: got.Value}, w, seen)
	}
}

func compareSchemas(t *testing.T, where string, got, want *openapi3.SchemaRef, seen map[[2]*openapi3.Schema]bool) {
	t.Helper()
	if (got == nil) != (want == nil) {
		t.Errorf("%s: schema presence differs", where)
		return
	}
	if got == nil {
		return
	}
	if got.Ref != want.Ref {
		t.Errorf("%s: $ref %q, want %q", where, got.Ref, want.Ref)
	}
	g, w := got.Value, want.Value
	key := [2]*openapi3.Schema{g, w}
	if seen[key] {
		return
	}
	seen[key] = true
	same := func(field string, a, b any) {
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: %s = %v, want %v", where, field, a, b)
		}
	}
	same("type", g.Type, w.Type)
	same("format", g.Format, w.Format)
	same("enum", g.Enum, w.Enum)
	same("required", g.Required, w.Required)
	same("nullable", g.Nullable, w.Nullable)
	same("readOnly", g.ReadOnly, w.ReadOnly)
	same("writeOnly", g.WriteOnly, w.WriteOnly)
	same("default", g.Default, w.Default)
	same("additionalProperties.has", g.AdditionalProperties.Has, w.AdditionalProperties.Has)
	for _, f := range []struct {
		name string
		a, b any
	}{{"pattern", g.Pattern, w.Pattern}, {"min", g.Min, w.Min}, {"max", g.Max, w.Max}, {"oneOf", len(g.OneOf), len(w.OneOf)},
		{"anyOf", len(g.AnyOf), len(w.AnyOf)}, {"not", g.Not == nil, w.Not == nil}, {"minItems", g.MinItems, w.MinItems},
		{"maxItems", g.MaxItems, w.MaxItems}, {"uniqueItems", g.UniqueItems, w.UniqueItems}} {
		same(f.name, f.a, f.b)
	}
	gk, wk := keys(g.Properties), keys(w.Properties)
	same("properties", gk, wk)
	for _, k := range wk {
		compareSchemas(t, where+"."+k, g.Properties[k], w.Properties[k], seen)
	}
	compareSchemas(t, where+"[]", g.Items, w.Items, seen)
	compareSchemas(t, where+"{}", g.AdditionalProperties.Schema, w.AdditionalProperties.Schema, seen)
	same("allOf", len(g.AllOf), len(w.AllOf))
	for i := range min(len(g.AllOf), len(w.AllOf)) {
		compareSchemas(t, fmt.Sprintf("%s.allOf[%d]", where, i), g.AllOf[i], w.AllOf[i], seen)
	}
	if w.Discriminator != nil {
		dsc := Doc().disc[g]
		if dsc == nil || dsc.property != w.Discriminator.PropertyName || len(dsc.mapping) != len(w.Discriminator.Mapping) {
			t.Errorf("%s: discriminator %+v, want %+v", where, dsc, w.Discriminator)
		}
	}
}

func keys(m openapi3.Schemas) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// The document is parsed in tens of milliseconds (kin-openapi's loader: about a second).
func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parse(document); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkKinOpenAPILoader(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := openapi3.NewLoader().LoadFromData(JSON()); err != nil {
			b.Fatal(err)
		}
	}
}
