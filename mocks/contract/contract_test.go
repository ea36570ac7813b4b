package contract

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

const (
	jobID   = "5b5cbeb5-7a8e-4c5b-9d0a-1f2e3d4c5b6a"
	jsonCT  = "application/json; charset=utf-8"
	formCT  = "application/x-www-form-urlencoded"
	aJWT    = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2dyYXBoIn0.c2lnbmF0dXJlc2lnbmF0dXJl"
	goodJob = `{"id":"` + jobID + `","name":"Daily","lastStatus":"Success","eTag":3,"isEnabled":true,"_links":{"self":{"href":"/v8/Jobs/` + jobID + `"}}}`
)

// exchange builds an Exchange with JSON bodies.
func exchange(service, method, rawURL, reqCT, reqBody string, status int, respBody string) Exchange {
	u, err := url.Parse(rawURL)
	if err != nil {
		panic(err)
	}
	rh := http.Header{}
	if reqCT != "" {
		rh.Set("Content-Type", reqCT)
	}
	h := http.Header{}
	if respBody != "" {
		h.Set("Content-Type", jsonCT)
	}
	return Exchange{Service: service, Method: method, URL: u, RequestHeader: rh, RequestBody: []byte(reqBody), Status: status, ResponseHeader: h, ResponseBody: []byte(respBody)}
}

// want is one expected violation: side, pointer and fragments of expected and received.
type want struct {
	side, pointer, expected, received string
}

func TestCheck(t *testing.T) {
	t.Parallel()
	c := New()
	veeamURL := "https://lab:4443"
	cases := []struct {
		name string
		ex   Exchange
		want []want
	}{
		{"a conforming job passes",
			exchange(ServiceVeeam, "GET", veeamURL+"/v8/Jobs/"+jobID, "", "", 200, goodJob), nil},
		{"paths match case-insensitively, as the mock routes",
			exchange(ServiceVeeam, "GET", veeamURL+"/V8/jobs/"+jobID+"/", "", "", 200, goodJob), nil},
		{"missing required property",
			exchange(ServiceVeeam, "GET", veeamURL+"/v8/Jobs", "", "", 200, `{"offset":0,"limit":30}`),
			[]want{{"response", "/results", `required property "results"`, "nothing"}}},
		{"wrong type",
			exchange(ServiceVeeam, "GET", veeamURL+"/v8/Jobs/"+jobID, "", "", 200, strings.Replace(goodJob, `"eTag":3`, `"eTag":"3"`, 1)),
			[]want{{"response", "/eTag", "an integer", `a string "3"`}}},
		{"unknown enum value",
			exchange(ServiceVeeam, "GET", veeamURL+"/v8/Jobs/"+jobID, "", "", 200, strings.Replace(goodJob, `"Success"`, `"Bogus"`, 1)),
			[]want{{"response", "/lastStatus", "one of Stopped, Running, Success", `"Bogus"`}}},
		{"null where non-nullable",
			exchange(ServiceVeeam, "GET", veeamURL+"/v8/Jobs/"+jobID, "", "", 200, strings.Replace(goodJob, `"Daily"`, `null`, 1)),
			[]want{{"response", "/name", "a string, not null", "null"}}},
		{"every violation of a body is reported, each with its pointer",
			exchange(ServiceVeeam, "GET", veeamURL+"/v8/Jobs", "", "", 200, `{"offset":0,"limit":30,"results":[`+strings.Replace(goodJob, `"Success"`, `"Bogus"`, 1)+`,`+strings.Replace(goodJob, `"eTag":3`, `"eTag":true`, 1)+`]}`),
			[]want{{"response", "/results/0/lastStatus", "one of", `"Bogus"`}, {"response", "/results/1/eTag", "an integer", "a boolean true"}}},
		{"undeclared success status",
			exchange(ServiceVeeam, "GET", veeamURL+"/v8/Jobs/"+jobID, "", "", 202, goodJob),
			[]want{{"response", "", "a status the operation declares (200, default)", "202"}}},
		{"an error status falls to default",
			exchange(ServiceVeeam, "GET", veeamURL+"/v8/Jobs/"+jobID, "", "", 404, `{"message":"Job not found.","errorCode":"ResourceNotFound","stackTrace":null}`), nil},
		{"error body: the stricter view requires message and errorCode",
			exchange(ServiceVeeam, "GET", veeamURL+"/v8/Jobs/"+jobID, "", "", 404, `{"stackTrace":null}`),
			[]want{{"response", "/message", `required property "message"`, "nothing"}, {"response", "/errorCode", `required property "errorCode"`, "nothing"}}},
		{"error body: errorCode from the document's enum",
			exchange(ServiceVeeam, "GET", veeamURL+"/v8/Jobs/"+jobID, "", "", 404, `{"message":"no","errorCode":"NoSuchCode"}`),
			[]want{{"response", "/errorCode", "one of ProxyOffline", `"NoSuchCode"`}}},
		{"a 401 with an empty body is what real servers send",
			exchange(ServiceVeeam, "GET", veeamURL+"/v8/Jobs/"+jobID, "", "", 401, ""), nil},
		{"204 with a body",
			exchange(ServiceVeeam, "DELETE", veeamURL+"/v8/Jobs/"+jobID, "", "", 204, `{}`),
			[]want{{"response", "", "no body", "a 2-byte body"}}},
		{"a /v7/ link on a /v8/ answer",
			exchange(ServiceVeeam, "GET", veeamURL+"/v8/Jobs", "", "", 200, `{"offset":0,"limit":30,"results":[],"_links":{"self":{"href":"/v8/Jobs"},"next":{"href":"/v7/Jobs?offset=30"}}}`),
			[]want{{"response", "/_links/next/href", "a /v8/ link", `"/v7/Jobs?offset=30"`}}},
		{"a request body that breaks the document, accepted by the server",
			exchange(ServiceVeeam, "PUT", veeamURL+"/v8/Jobs/"+jobID, jsonCT, `{"name":5}`, 204, ""),
			[]want{{"request", "/name", "a string", "5"}}},
		{"a bad query parameter, accepted by the server",
			exchange(ServiceVeeam, "GET", veeamURL+"/v8/Jobs?limit=many", "", "", 200, `{"offset":0,"limit":30,"results":[],"_links":{"self":{"href":"/v8/Jobs"}}}`),
			[]want{{"request", "?limit", "integer", `"many"`}}},
		{"a bad request refused with a 4xx is the server doing its job",
			exchange(ServiceVeeam, "PUT", veeamURL+"/v8/Jobs/"+jobID, jsonCT, `{"name":5}`, 400, `{"message":"The request body is not valid.","errorCode":"ParameterValidationFailure"}`), nil},
		{"the token endpoint's OAuth error shape passes",
			exchange(ServiceVeeam, "POST", veeamURL+"/v8/token", formCT, "grant_type=password&username=a&password=b", 400, `{"error":"invalid_grant","error_description":"Bad credentials."}`), nil},
		{"an unknown path is not checked",
			exchange(ServiceVeeam, "GET", veeamURL+"/v8/NoSuchThing", "", "", 200, `{}`), nil},
		{"no answer: the response is not checked",
			exchange(ServiceVeeam, "GET", veeamURL+"/v8/Jobs/"+jobID, "", "", 0, ""), nil},

		{"Entra token success passes",
			exchange(ServiceEntra, "POST", "https://login/t/oauth2/v2.0/token", formCT, "grant_type=refresh_token&scope=User.Read+offline_access", 200,
				`{"token_type":"Bearer","scope":"User.Read","expires_in":3599,"ext_expires_in":3599,"access_token":"`+aJWT+`","refresh_token":"1.AXkA"}`), nil},
		{"Entra token: expires_in of the wrong type",
			exchange(ServiceEntra, "POST", "https://login/t/oauth2/v2.0/token", formCT, "grant_type=client_credentials", 200,
				`{"token_type":"Bearer","expires_in":"3599","access_token":"`+aJWT+`"}`),
			[]want{{"response", "/expires_in", "an integer", `a string "3599"`}}},
		{"Entra token: refresh_token missing although offline_access was asked",
			exchange(ServiceEntra, "POST", "https://login/t/oauth2/v2.0/token", formCT, "grant_type=refresh_token&scope=User.Read+offline_access", 200,
				`{"token_type":"Bearer","expires_in":3599,"access_token":"`+aJWT+`"}`),
			[]want{{"response", "/refresh_token", `required property "refresh_token"`, "nothing"}}},
		{"Entra device code: a field missing",
			exchange(ServiceEntra, "POST", "https://login/t/oauth2/v2.0/devicecode", formCT, "client_id=x", 200,
				`{"user_code":"ABCD1234","device_code":"DAQABAAEAAAD","verification_uri":"https://login/devicelogin","expires_in":900,"message":"To sign in…"}`),
			[]want{{"response", "/interval", `required property "interval"`, "nothing"}}},
		{"Entra error: error_codes must be integers",
			exchange(ServiceEntra, "POST", "https://login/t/oauth2/v2.0/token", formCT, "", 400,
				`{"error":"authorization_pending","error_description":"AADSTS70016: pending","error_codes":["70016"],"timestamp":"2026-01-05 09:00:00Z","trace_id":"t","correlation_id":"c"}`),
			[]want{{"response", "/error_codes/0", "an integer", `"70016"`}}},
		{"Entra's other paths are not checked",
			exchange(ServiceEntra, "GET", "https://login/t/v2.0/.well-known/openid-configuration", "", "", 200, `{}`), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := c.Check(tc.ex)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d violations, want %d:\n%s", len(got), len(tc.want), lines(got))
			}
			for i, w := range tc.want {
				g := got[i]
				if g.Side != w.side || g.Pointer != w.pointer || !strings.Contains(g.Expected, w.expected) || !strings.Contains(g.Received, w.received) {
					t.Errorf("violation %d = %s\nwant side %s, pointer %q, expected ~%q, received ~%q", i, g, w.side, w.pointer, w.expected, w.received)
				}
				if g.Service != tc.ex.Service || g.Method != tc.ex.Method {
					t.Errorf("violation %d names %s %s, want %s %s", i, g.Service, g.Method, tc.ex.Service, tc.ex.Method)
				}
			}
		})
	}
}

func lines(vs []Violation) string {
	var b strings.Builder
	for _, v := range vs {
		b.WriteString("  " + v.String() + "\n")
	}
	return b.String()
}

func TestViolationNamesOperationAndTemplate(t *testing.T) {
	t.Parallel()
	ex := exchange(ServiceVeeam, "GET", "https://lab/v8/jobs/"+jobID, "", "", 200, strings.Replace(goodJob, `"Success"`, `"Bogus"`, 1))
	got := New().Check(ex)
	if len(got) != 1 {
		t.Fatalf("got %v", got)
	}
	want := `GET /v8/Jobs/{jobId} (Job_GetById) response 200 /lastStatus: expected one of Stopped, Running, Success, Failed, Warning, NotConfigured, Disconnected, Queued, received "Bogus"`
	if s := got[0].String(); s != want {
		t.Errorf("String() =\n%s\nwant\n%s", s, want)
	}
}

func TestReceivedIsClippedAndNeverASecret(t *testing.T) {
	t.Parallel()
	c := New()
	long := strings.Repeat("word ", 40)
	cases := []struct {
		name   string
		ex     Exchange
		absent string // must not appear in Received
		maxLen int
	}{
		{"a long value is clipped",
			exchange(ServiceVeeam, "GET", "https://lab/v8/Jobs/"+jobID, "", "", 200, `{"name":"x","lastStatus":"`+long+`"}`), long, maxReceived + 8},
		{"a token-shaped value is redacted",
			exchange(ServiceVeeam, "GET", "https://lab/v8/Jobs/"+jobID, "", "", 200, `{"lastStatus":"`+aJWT+`"}`), aJWT[:20], 0},
		{"a value under a secret name is redacted",
			exchange(ServiceEntra, "POST", "https://login/t/oauth2/v2.0/token", formCT, "", 200, `{"token_type":"Bearer","expires_in":1,"access_token":12345678}`), "12345678", 0},
		{"a value holding a secret-named property is redacted",
			exchange(ServiceVeeam, "PUT", "https://lab/v8/Jobs/"+jobID, jsonCT, `{"name":{"password":"hunter2hunter2"}}`, 204, ""), "hunter2", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := c.Check(tc.ex)
			for _, v := range got {
				if strings.Contains(v.Received, tc.absent) || strings.Contains(v.String(), tc.absent) {
					t.Errorf("violation shows %q: %s", tc.absent, v)
				}
				if tc.maxLen > 0 && len([]rune(v.Received)) > tc.maxLen {
					t.Errorf("Received is %d characters, want at most %d", len([]rune(v.Received)), tc.maxLen)
				}
			}
			if len(got) == 0 {
				t.Fatalf("no violation: the case checks nothing")
			}
		})
	}
}

func TestLooksLikeToken(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{
		aJWT:                                    true,
		"0.AXkAq2Zf3L8c9K1mT4vW7yB5nJ2hR6sD0pE": true,
		jobID:                                   false,
		"/v8/Jobs/" + jobID + "/start":          false,
		"Success":                               false,
		"The quick brown fox jumps over 12 lazy dogs": false,
	} {
		if got := looksLikeToken(s); got != want {
			t.Errorf("looksLikeToken(%q) = %v, want %v", s, got, want)
		}
	}
}

// A request body the document refuses as a whole is described, never quoted: a form or a
// broken JSON body may hold a password.
func TestARefusedBodyIsNotQuoted(t *testing.T) {
	t.Parallel()
	ex := exchange(ServiceVeeam, "PUT", "https://lab/v8/Jobs/"+jobID, jsonCT, `{"password":"hunter2hunter2",`, 204, "")
	got := New().Check(ex)
	if len(got) != 1 || got[0].Side != SideRequest {
		t.Fatalf("got %v, want one request violation", got)
	}
	if strings.Contains(got[0].String(), "hunter2") || !strings.Contains(got[0].Received, "not JSON") {
		t.Errorf("violation %s", got[0])
	}
}

// An error status with no body at all (a bare fault) is reported as an empty body, not as a
// wrong media type.
func TestAnEmptyErrorBodyIsReportedAsSuch(t *testing.T) {
	t.Parallel()
	ex := exchange(ServiceVeeam, "POST", "https://lab/v8/token", formCT, "grant_type=password&username=u&password=p", 503, "")
	got := New().Check(ex)
	if len(got) != 1 || got[0].Received != "an empty body" || got[0].Pointer != "" || !strings.HasPrefix(got[0].Expected, "a body (") {
		t.Errorf("got %v", got)
	}
}

// TestAViolationIsOneLine: the proxy prints each violation as one line on standard
// error, and an Entra violation names the path the client sent: a client that sent
// %0A in its path wrote lines of its own ("contract: GET /v8/Jobs … FORGED") among the
// proxy's. Control characters are escaped, as Go quotes them.
func TestAViolationIsOneLine(t *testing.T) {
	t.Parallel()
	v := Violation{Service: ServiceEntra, Side: SideResponse, Operation: "token", Method: "POST",
		Path: "/abc\ncontract: GET /v8/Jobs (Job_Get) FORGED\r\x1b[2K/oauth2/v2.0/token", Status: 200,
		Pointer: "/access_token", Expected: "the required property \"access_token\" (a string)", Received: "nothing"}
	got := v.String()
	want := `POST /abc\ncontract: GET /v8/Jobs (Job_Get) FORGED\r\x1b[2K/oauth2/v2.0/token (token) response 200 /access_token: expected the required property "access_token" (a string), received nothing`
	if got != want {
		t.Errorf("String() =\n%s\nwant\n%s", got, want)
	}
}
