package spec

import (
	"net/http/httptest"
	"net/url"
	"testing"
)

// BenchmarkValidateRequest is what checking one request against the document costs,
// for the shapes of request the mock sees: a path id, a filtered page, a JSON body.
// docs/performance.md has the figures.
func BenchmarkValidateRequest(b *testing.B) {
	d := Doc()
	const id = "6f1c2a9e-3b7d-4c55-9a0e-2d8b1f4e7c31"
	for _, bc := range []struct {
		name, op, query string
		path            map[string]string
		body            []byte
	}{
		{name: "path id", op: "Job_GetById", path: map[string]string{"jobId": id}},
		{name: "four query parameters", op: "JobSession_Get", query: "jobId=" + id + "&status=Succeeded&endTimeLowerBound=2026-01-01T00:00:00Z&limit=10"},
		{name: "small JSON body", op: "Job_StartAction", path: map[string]string{"jobId": id}, body: []byte(`{"full":true}`)},
		{name: "2.6 kB JSON body", op: "Job_Add", body: d.Generate(d.Operation("Job_Add").Body, Gen{Seed: "bench", Request: true})},
	} {
		b.Run(bc.name, func(b *testing.B) {
			op := d.Operation(bc.op)
			r := httptest.NewRequest(op.Method, "https://127.0.0.1:4443"+op.Path+"?"+bc.query, nil)
			if bc.body != nil {
				r.Header.Set("Content-Type", "application/json")
			}
			q, _ := url.ParseQuery(bc.query)
			b.ReportAllocs()
			for b.Loop() {
				if err := op.ValidateRequest(r, bc.path, op.NormalizeQuery(q), bc.body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
