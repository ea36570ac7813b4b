package control

import (
	"encoding/json"
	"mime"
	"net/url"
	"testing"
)

// FuzzParseFields feeds the pipeline's body parser (every token request of both mocks
// goes through it, and the journal and fault matching read its result) arbitrary content
// types and bodies. It never panics; a form yields the first value of each field as
// url.ParseQuery reads them, a JSON object each member, and anything else nil.
func FuzzParseFields(f *testing.F) {
	f.Add("application/x-www-form-urlencoded", "grant_type=device_code&client_id=x&device_code=y")
	f.Add("application/x-www-form-urlencoded; charset=utf-8", "a=1&a=2&b=%zz")
	f.Add("application/x-www-form-urlencoded", "assertion=%7B%22access_token%22%3A%22a.b.c%22%7D")
	f.Add("application/json", `{"grant_type":"password","username":"Administrator","n":1,"o":{"x":[1,2]},"z":null}`)
	f.Add("application/json; charset=utf-8", `{"a":"\ud800","a":"dup"}`)
	f.Add("application/json", `[1,2,3]`)
	f.Add("text/plain", "grant_type=password")
	f.Add("", "")
	f.Add("application/x-www-form-urlencoded;;;", "\xff\xfe=\x00")
	f.Fuzz(func(t *testing.T, contentType, body string) {
		got := ParseFields(contentType, []byte(body))
		if got == nil {
			return
		}
		// The content type decides how the body is read: a JSON object such as
		// {"0":"="} is also a valid form, and must not be judged as one.
		switch mt, _, _ := mime.ParseMediaType(contentType); mt {
		case "application/x-www-form-urlencoded":
			vals, err := url.ParseQuery(body)
			if err != nil || len(vals) != len(got) {
				t.Fatalf("%d fields from a form that url.ParseQuery reads as %d (%v): %q", len(got), len(vals), err, body)
			}
			for k, v := range vals {
				if got[k] != v[0] {
					t.Fatalf("field %q = %q, want the first value %q", k, got[k], v[0])
				}
			}
		case "application/json":
			var obj map[string]json.RawMessage
			if err := json.Unmarshal([]byte(body), &obj); err != nil || len(obj) != len(got) {
				t.Fatalf("%d fields from a body that is not a JSON object of as many members: %q", len(got), body)
			}
		default:
			t.Fatalf("%d fields from content type %q, which is neither a form nor JSON", len(got), contentType)
		}
	})
}
