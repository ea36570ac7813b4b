package veeam

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// FuzzAPIRequest sends any method, path segment, query and body to any operation of the
// document, as an administrator: the answer is never a 5xx, every error but a 401 (and
// the token endpoint's OAuth-style ones) is a RESTExceptionInfo, and the server keeps
// working.
func FuzzAPIRequest(f *testing.F) {
	f.Add(uint16(0), uint8(0), "", "", "")
	f.Add(uint16(120), uint8(1), "", "limit=0&offset=-1", `{"name":1}`)
	f.Add(uint16(200), uint8(2), "not-a-guid", "status=x&jobId=%FF", `[`)
	f.Add(uint16(300), uint8(3), "..", "setId=zz", `{"dateTime":"yesterday","type":"Nope"}`)
	f.Add(uint16(400), uint8(0), "%2F", "", "\xff\xfe")
	f.Add(uint16(486), uint8(4), "", "a=b&a=c", `{"":{}}`)
	methods := []string{"GET", "POST", "PUT", "DELETE", "PATCH"}
	f.Fuzz(func(t *testing.T, opIndex uint16, method uint8, segment, query, body string) {
		w := newWalker(t, nil) // a fresh server per input, so a failure reproduces alone
		order := table().order
		rt := order[int(opIndex)%len(order)]
		values := w.pathValues(rt)
		if segment != "" && len(values) > 0 {
			values[int(method)%len(values)] = segment
		}
		esc := make([]string, len(values))
		for i, v := range values {
			esc[i] = url.PathEscape(v)
		}
		target := fillTemplate(rt.template, esc)
		if query != "" {
			target += "?" + query
		}
		req, err := http.NewRequest(methods[int(method)%len(methods)], "https://127.0.0.1:4443"+target, strings.NewReader(body))
		if err != nil {
			return // not a request a client could send
		}
		req.RemoteAddr = "127.0.0.1:50000"
		req.Header.Set("Authorization", "Bearer "+w.tok[admins])
		if body != "" {
			req.Header.Set("Content-Type", jsonType)
		}
		rec := httptest.NewRecorder()
		w.srv.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q: %d %s", req.Method, target, body, rec.Code, rec.Body)
		}
		if rec.Code >= 400 && rec.Code != http.StatusUnauthorized && !isControlPath(req.URL.Path) && rt.op.ID != "token" { // the token endpoint answers OAuth-style
			var v map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil || !slices.Equal(orderedKeys(t, rec.Body.Bytes()), []string{"message", "errorCode", "stackTrace"}) {
				t.Fatalf("%s %s: %d is not a RESTExceptionInfo: %s", req.Method, target, rec.Code, rec.Body)
			}
		}
		health := httptest.NewRecorder()
		w.srv.ServeHTTP(health, httptest.NewRequest("GET", "https://127.0.0.1:4443/v8/Health", nil))
		if health.Code != http.StatusOK {
			t.Fatalf("after %s %s: Health %d", req.Method, target, health.Code)
		}
	})
}
