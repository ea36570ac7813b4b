package veeam

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// Each quirk a recorded lab can show is reproducible with a setting: nulls in
// non-nullable fields, numeric fields sent as strings, /v7/ next-links on /v8/ pages.
// The token endpoint keeps its shape, so clients still sign in.
func TestQuirkSettings(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		settings string
		check    func(t *testing.T, page map[string]any)
	}{
		{"nulls in non-nullable fields", `{"nullProperties":"name, description"}`, func(t *testing.T, page map[string]any) {
			job := page["results"].([]any)[0].(map[string]any)
			if v, ok := job["name"]; !ok || v != nil {
				t.Errorf("name = %v (present %v), want null", v, ok)
			}
			if job["id"] == nil || page["limit"] != json.Number("1") {
				t.Errorf("other properties changed: %v", page)
			}
		}},
		{"named numbers as strings", `{"numbersAsStrings":"limit"}`, func(t *testing.T, page map[string]any) {
			if page["limit"] != "1" || page["offset"] != json.Number("0") {
				t.Errorf("limit %#v, offset %#v; want \"1\" and 0", page["limit"], page["offset"])
			}
		}},
		{"every number as a string", `{"numbersAsStrings":"*"}`, func(t *testing.T, page map[string]any) {
			if page["limit"] != "1" || page["offset"] != "0" {
				t.Errorf("limit %#v, offset %#v; want strings", page["limit"], page["offset"])
			}
		}},
		{"/v7/ next-links", `{"v7NextLinks":true}`, func(t *testing.T, page map[string]any) {
			links := page["_links"].(map[string]any)
			next := links["next"].(map[string]any)["href"].(string)
			self := links["self"].(map[string]any)["href"].(string)
			if !strings.HasPrefix(next, "/v7/Jobs?") || !strings.HasPrefix(self, "/v8/Jobs?") {
				t.Errorf("next %q, self %q; want next on /v7/, self on /v8/", next, self)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newTestServer(t)
			if w := e.send("PUT", "/_mock/settings", jsonType, c.settings); w.Code != http.StatusOK {
				t.Fatalf("PUT /_mock/settings %s: %d %s", c.settings, w.Code, w.Body)
			}
			tr := e.bearerOnlyLogin()
			if tr.AccessToken == "" || tr.ExpiresIn <= 0 {
				t.Fatalf("token response %+v", tr)
			}
			w := e.send("GET", "/v8/Jobs?limit=1", "", "", bearer(tr.AccessToken)...)
			if w.Code != 200 {
				t.Fatalf("GET /v8/Jobs: %d %s", w.Code, w.Body)
			}
			dec := json.NewDecoder(w.Body)
			dec.UseNumber()
			var page map[string]any
			if err := dec.Decode(&page); err != nil {
				t.Fatal(err)
			}
			c.check(t, page)
			// Off again, the answer is the document's.
			e.send("PUT", "/_mock/settings", jsonType, `{"nullProperties":"","numbersAsStrings":"","v7NextLinks":false}`)
			e.do("GET", "/v8/Jobs?limit=1", "", "", bearer(tr.AccessToken)...)
		})
	}
}

func TestQuirkSettingsRefuseBadNames(t *testing.T) {
	t.Parallel()
	e := newTestServer(t)
	for _, body := range []string{`{"nullProperties":"a b"}`, `{"nullProperties":"*"}`, `{"numbersAsStrings":"x,{y}"}`} {
		if w := e.send("PUT", "/_mock/settings", jsonType, body); w.Code != 400 || !strings.Contains(w.Body.String(), "property names separated by commas") {
			t.Errorf("PUT %s: %d %s", body, w.Code, w.Body)
		}
	}
	if s := e.srv.Settings(); s.NullProperties != "" || s.NumbersAsStrings != "" {
		t.Errorf("refused settings were kept: %+v", s)
	}
}
