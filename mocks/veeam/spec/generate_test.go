package spec

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
)

var genNow = time.Date(2026, 1, 5, 9, 0, 0, 123456789, time.UTC)

// validates decodes b as openapi3filter does (numbers as json.Number) and checks it
// against s.
func validates(t *testing.T, where string, s *openapi3.SchemaRef, b []byte, request bool) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Errorf("%s: not JSON: %v\n%s", where, err, b)
		return
	}
	opts := append([]openapi3.SchemaValidationOption{}, filterOptions.SchemaValidationOptions...)
	if request {
		opts = append(opts, openapi3.VisitAsRequest())
	} else {
		opts = append(opts, openapi3.VisitAsResponse())
	}
	if err := s.Value.VisitJSON(v, opts...); err != nil {
		t.Errorf("%s: generated value does not validate: %v\n%s", where, err, b)
	}
}

// Every schema of the document, generated as a response and as a request, validates
// against itself; so does every operation's response and request body.
func TestGeneratedValuesValidate(t *testing.T) {
	t.Parallel()
	d := Doc()
	for _, name := range d.SchemaNames() {
		s := d.Schema(name)
		for _, req := range []bool{false, true} {
			validates(t, name, s, d.Generate(s, Gen{Seed: name, Now: genNow, Request: req}), req)
		}
	}
	for _, op := range d.Operations {
		if op.Response != nil && op.Media == "application/json" {
			validates(t, op.ID+" response", op.Response, d.Generate(op.Response, Gen{Seed: op.ID, Now: genNow, Self: "/v8/x"}), false)
		}
		if op.Body != nil {
			validates(t, op.ID+" body", op.Body, d.Generate(op.Body, Gen{Seed: op.ID, Now: genNow, Request: true}), true)
		}
	}
}

func TestGenerateIsDeterministic(t *testing.T) {
	t.Parallel()
	d := Doc()
	s := d.Schema("RESTJob")
	a := d.Generate(s, Gen{Seed: "job/1", Now: genNow, Self: "/v8/Jobs/1"})
	b := d.Generate(s, Gen{Seed: "job/1", Now: genNow, Self: "/v8/Jobs/1"})
	c := d.Generate(s, Gen{Seed: "job/2", Now: genNow, Self: "/v8/Jobs/1"})
	if !bytes.Equal(a, b) || bytes.Equal(a, c) {
		t.Errorf("same seed: %s / %s; other seed: %s", a, b, c)
	}
	var job map[string]any
	if err := json.Unmarshal(d.Generate(s, Gen{Seed: "job/1", Now: genNow, Fixed: map[string]any{"id": "x", "nope": 1}}), &job); err != nil {
		t.Fatal(err)
	}
	if job["id"] != "x" || job["nope"] != nil {
		t.Errorf("Fixed: %v", job)
	}
	t.Logf("%s", a)
}
