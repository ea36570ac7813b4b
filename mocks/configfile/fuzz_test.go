package configfile_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/vbharness/vbharness/mocks/configfile"
)

// FuzzDecode feeds both syntaxes arbitrary bytes: Decode returns a value or an *Error
// naming the file, and never panics.
func FuzzDecode(f *testing.F) {
	f.Add("f.yaml", []byte("targets:\n  lab:\n    entra: {tenant: abc, client_id: x}\n    settings: {a: [1, {b: c}]}\nitems: [{name: a}]\ncustom: ok\n"))
	f.Add("f.json", []byte(`{"targets": {"lab": {"entra": {"tenant": "abc"}, "tags": ["a"]}}, "items": [{"name": "a"}]}`))
	f.Add("f.yaml", []byte("a: &a [*a, *a]\ntargets: *a\n"))
	f.Add("f.yaml", []byte("targets: {<<: [{lab: {}}, *x]}\n"))
	f.Add("f.json", []byte("{\"targets\": {\"a\": {\"retries\": 1e400}}}"))
	f.Add("f.json", []byte("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["))
	f.Add("f.yaml", []byte("\t- \xff"))
	f.Add("f", []byte{})
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		if name == "" {
			name = "f"
		}
		var v file
		_, err := configfile.Decode(name, data, &v)
		if err == nil {
			return
		}
		var e *configfile.Error
		if !errors.As(err, &e) || !strings.HasPrefix(err.Error(), name) {
			t.Fatalf("the error is not a *configfile.Error naming the file: %v", err)
		}
	})
}
