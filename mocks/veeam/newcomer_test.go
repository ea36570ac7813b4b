package veeam

import (
	"strings"
	"testing"
)

// The defects a newcomer found using `vbharness mock` from the docs alone (issue 11,
// branch i11-fixes), each reproduced as reported.

// Item 2: a body that is more than one JSON value is refused, and nothing is stored:
// the first value alone is not what the client sent.
func TestBodyWithTrailingDataIsRefused(t *testing.T) {
	t.Parallel()
	e := newActionEnv(t, nil)
	before := e.call("GET", "/v8/HistorySettings", "", 200)
	org, repo := firstID(e, "/v8/Organizations"), firstID(e, "/v8/BackupRepositories")
	job := `{"name":"trailing","organizationId":"` + org + `","repositoryId":"` + repo + `","backupType":"EntireOrganization"}`
	for _, tc := range []struct{ name, method, path, body string }{
		{"a second object", "PUT", "/v8/HistorySettings", `{"keeponlyLast":4}{"keeponlyLast":"bad"}`},
		{"text after the object", "PUT", "/v8/HistorySettings", `{"keeponlyLast":3} trailing`},
		{"an array after a valid job", "POST", "/v8/Jobs", job + ` [1,2]`},
	} {
		w := e.do(tc.method, tc.path, jsonType, tc.body, e.tok...)
		if w.Code != 400 || !strings.Contains(w.Body.String(), `"errorCode":"ParameterValidationFailure"`) || !strings.Contains(w.Body.String(), "not one JSON value") {
			t.Errorf("%s: %s %s = %d %s; want 400 ParameterValidationFailure naming the extra data", tc.name, tc.method, tc.path, w.Code, w.Body)
		}
	}
	if after := e.call("GET", "/v8/HistorySettings", "", 200); field(after, "keeponlyLast") != field(before, "keeponlyLast") {
		t.Errorf("keeponlyLast changed from %v to %v by refused requests", field(before, "keeponlyLast"), field(after, "keeponlyLast"))
	}
	page := e.call("GET", "/v8/Jobs?limit=10000", "", 200)
	for _, j := range page["results"].([]any) {
		if j.(map[string]any)["name"] == "trailing" {
			t.Errorf("a refused POST /v8/Jobs created job %v", j.(map[string]any)["id"])
		}
	}
}
