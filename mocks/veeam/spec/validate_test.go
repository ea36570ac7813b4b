package spec

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// Invalid requests are refused with a message that names the parameter or the body
// property and what was expected.
func TestValidateRequest(t *testing.T) {
	t.Parallel()
	d := Doc()
	const job = "6f1c2a9e-3b7d-4c55-9a0e-2d8b1f4e7c31"
	for _, tc := range []struct {
		name, op, query, ctype, body string
		path                         map[string]string
		wantIn, wantName             string
		contains                     []string // "" wantIn: valid
	}{
		{name: "a valid start", op: "Job_StartAction", path: map[string]string{"jobId": job}, ctype: "application/json", body: `{"full":true}`},
		{name: "start with no body binds defaults", op: "Job_StartAction", path: map[string]string{"jobId": job}},
		{name: "a body without a Content-Type is JSON", op: "Job_StartAction", path: map[string]string{"jobId": job}, body: `{"full":true}`},
		{name: "a path id that is not a GUID", op: "Job_GetById", path: map[string]string{"jobId": "42"},
			wantIn: "path", wantName: "jobId", contains: []string{"'42'", "jobId", "GUID"}},
		{name: "an unknown enum value in the query", op: "JobSession_Get", query: "status=Sleeping",
			wantIn: "query", wantName: "status", contains: []string{"'Sleeping'", "status", "one of Stopped, Running"}},
		{name: "a query integer that is not one", op: "Job_Get", query: "limit=ten",
			wantIn: "query", wantName: "limit", contains: []string{"'ten'", "limit", "integer"}},
		{name: "a query date-time that is not one", op: "JobSession_Get", query: "endTimeLowerBound=yesterday",
			wantIn: "query", wantName: "endTimeLowerBound", contains: []string{"'yesterday'", "date-time"}},
		{name: "a missing required query parameter", op: "AmazonS3ObjectStorage_GetBuckets",
			wantIn: "query", wantName: "accountId", contains: []string{"accountId is required"}},
		{name: "a missing required body property", op: "Job_Add", ctype: "application/json", body: `{"organizationId":"` + job + `","backupType":"EntireOrganization"}`,
			wantIn: "body", wantName: "/repositoryId", contains: []string{"/repositoryId", "required"}},
		{name: "a body of the wrong type", op: "Job_Add", ctype: "application/json", body: `[1,2]`,
			wantIn: "body", wantName: "/", contains: []string{"at /:", "an object", "not an array"}},
		{name: "a wrong enum value in the body", op: "Job_Add", ctype: "application/json", body: `{"organizationId":"` + job + `","repositoryId":"` + job + `","backupType":"Everything"}`,
			wantIn: "body", wantName: "/backupType", contains: []string{"/backupType", "one of EntireOrganization, SelectedItems"}},
		{name: "a nested property of the wrong type", op: "Job_StartAction", path: map[string]string{"jobId": job}, ctype: "application/json", body: `{"full":"yes"}`,
			wantIn: "body", wantName: "/full", contains: []string{"/full", "true or false"}},
		{name: "a required body that cannot be empty", op: "Job_Add",
			wantIn: "body", contains: []string{"request body is required", "RESTCreateBackupJob"}},
		{name: "a body that is not JSON", op: "Job_StartAction", path: map[string]string{"jobId": job}, ctype: "application/json", body: `{"full":`,
			wantIn: "body", contains: []string{"not valid JSON"}},
		{name: "an empty value of an optional integer is not an integer", op: "Job_Get", query: "limit=",
			wantIn: "query", wantName: "limit", contains: []string{"The value '' is not valid for limit", "integer"}},
		{name: "an empty value of a required GUID is not a GUID", op: "AmazonS3ObjectStorage_GetBuckets", query: "accountId=",
			wantIn: "query", wantName: "accountId", contains: []string{"The value '' is not valid for accountId", "GUID"}},
		{name: "a second JSON value after the body", op: "Job_StartAction", path: map[string]string{"jobId": job}, ctype: "application/json", body: `{"full":true}{"full":"bad"}`,
			wantIn: "body", contains: []string{"not one JSON value", "offset 13"}},
		{name: "text after the body", op: "Job_StartAction", path: map[string]string{"jobId": job}, ctype: "application/json", body: `{"full":true} trailing`,
			wantIn: "body", contains: []string{"not one JSON value", "offset 14"}},
		{name: "an array after a valid body", op: "Job_Add", ctype: "application/json", body: `{"name":"j","organizationId":"` + job + `","repositoryId":"` + job + `","backupType":"EntireOrganization"} [1,2]`,
			wantIn: "body", contains: []string{"not one JSON value"}},
		{name: "white space around the body is fine", op: "Job_StartAction", path: map[string]string{"jobId": job}, ctype: "application/json", body: " {\"full\":true}\r\n "},
		{name: "a body in another media type", op: "Job_StartAction", path: map[string]string{"jobId": job}, ctype: "text/plain", body: `full`,
			wantIn: "body", contains: []string{`"text/plain"`, "application/json"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op := d.Operation(tc.op)
			r := httptest.NewRequest(op.Method, "https://127.0.0.1:4443"+op.Path+"?"+tc.query, nil)
			if tc.ctype != "" {
				r.Header.Set("Content-Type", tc.ctype)
			}
			q, _ := url.ParseQuery(tc.query)
			err := op.ValidateRequest(r, tc.path, op.NormalizeQuery(q), []byte(tc.body))
			if tc.wantIn == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			re, ok := err.(*RequestError)
			if !ok {
				t.Fatalf("got %T %v, want a *RequestError", err, err)
			}
			if re.In != tc.wantIn || re.Name != tc.wantName {
				t.Errorf("in %q name %q, want %q %q: %s", re.In, re.Name, tc.wantIn, tc.wantName, re.Message)
			}
			for _, c := range tc.contains {
				if !strings.Contains(re.Message, c) {
					t.Errorf("message %q lacks %q", re.Message, c)
				}
			}
		})
	}
}

// ASP.NET binds query names, enums and booleans case-insensitively.
func TestNormalizeQuery(t *testing.T) {
	t.Parallel()
	op := Doc().Operation("JobSession_Get")
	q, _ := url.ParseQuery("JobId=A&STATUS=succeeded&Limit=2&other=x")
	got := op.NormalizeQuery(q)
	if got.Get("jobId") != "A" || got.Get("status") != "Succeeded" || got.Get("limit") != "2" || got.Get("other") != "x" || got.Has("JobId") {
		t.Errorf("NormalizeQuery = %v", got)
	}
	if q.Get("STATUS") != "succeeded" {
		t.Errorf("the input changed: %v", q)
	}
	same, _ := url.ParseQuery("jobId=a&limit=2")
	if got := op.NormalizeQuery(same); got.Encode() != same.Encode() {
		t.Errorf("a canonical query changed: %v", got)
	}
	org := Doc().Operation("Organization_Get")
	if got := org.NormalizeQuery(url.Values{"extendedview": {"TRUE"}}); got.Get("extendedView") != "true" {
		t.Errorf("boolean: %v", got)
	}
}

func TestValidateResponse(t *testing.T) {
	t.Parallel()
	d := Doc()
	json := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	si := d.Operation("ServiceInstance_Get")
	for _, tc := range []struct {
		name   string
		op     *Operation
		status int
		header http.Header
		body   string
		ok     bool
	}{
		{"a valid body", si, 200, json, `{"installationId":"6f1c2a9e-3b7d-4c55-9a0e-2d8b1f4e7c31","version":"8.0.5.20"}`, true},
		{"an id that is not a GUID", si, 200, json, `{"installationId":"x","version":"8"}`, false},
		{"another success status", si, 201, json, `{}`, false},
		{"an error body", si, 404, json, `{"message":"m","errorCode":"ResourceNotFound","stackTrace":null}`, true},
		{"an error code outside the enum", si, 400, json, `{"message":"m","errorCode":"Nope","stackTrace":null}`, false},
		{"an empty 401", si, 401, http.Header{}, ``, true},
		{"a 401 with a body", si, 401, json, `{}`, false},
		{"a binary answer", d.Operation("Reports_GenerateLicenseOverviewAction"), 200, http.Header{"Content-Type": {"application/octet-stream"}}, "%PDF", true},
		{"a binary answer as JSON", d.Operation("Reports_GenerateLicenseOverviewAction"), 200, json, "{}", false},
		{"a 204 with a body", d.Operation("Job_StopAction"), 204, http.Header{}, "x", false},
	} {
		err := tc.op.ValidateResponse(tc.status, tc.header, []byte(tc.body))
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}
