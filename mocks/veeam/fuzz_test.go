package veeam

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

var fuzzContentTypes = []string{formType, jsonType, "application/json; charset=utf-8", "text/plain", "", "multipart/form-data; boundary=x"}

// FuzzTokenEndpoint throws arbitrary form and JSON bodies at POST /v8/token. Whatever
// arrives, the server answers 200 with a token pair that works, or a 400 in the OAuth
// shape with a known error code; it never panics (the pipeline would turn a panic into
// a 500) and every answer still matches Veeam's OpenAPI document.
func FuzzTokenEndpoint(f *testing.F) {
	e := newTestServer(f)
	assertion := tokenResponseJSON(e.entra.mint(f, entraToken{}))
	refresh := e.adminLogin().RefreshToken
	pw := url.QueryEscape(DefaultAdminPassword)
	for _, s := range []struct {
		ct   uint8
		body string
	}{
		{0, "grant_type=password&username=Administrator&password=" + pw},
		{0, "grant_type=password&username=VBO%5CAdministrator&password=" + pw + "&disable_antiforgery_token=true"},
		{1, `{"grant_type":"password","username":"Administrator","password":"` + DefaultAdminPassword + `","disable_antiforgery_token":true}`},
		{0, seedForm(DefaultOrganization, assertion)},
		{1, `{"grant_type":"` + GrantJWTBearer + `","client_id":"abc.onmicrosoft.com","assertion":` + assertion + `}`},
		{0, seedForm(DefaultOrganization, `{"access_token":"a.b.c"}`)},
		{0, seedForm(LegacyOrganization, "{}")},
		{0, "grant_type=refresh_token&refresh_token=" + refresh},
		{1, `{"grant_type":"refresh_token","refresh_token":null}`},
		{0, "grant_type=operator&client_id=a.b&assertion=x.y.z"},
		{0, "grant_type=password&username=" + LegacyOrganizationAccount + "&password=" + url.QueryEscape(LegacyOrganizationPassword)},
		{1, `{"grant_type":["password"],"username":{"a":1}}`},
		{3, "grant_type=password"},
		{4, ""},
		{0, "%zz=&grant_type=%"},
		{1, `{"disable_antiforgery_token":"maybe","grant_type":"password"}`},
	} {
		f.Add(s.ct, s.body)
	}
	f.Fuzz(func(t *testing.T, ct uint8, body string) {
		ctype := fuzzContentTypes[int(ct)%len(fuzzContentTypes)]
		req := httptest.NewRequest("POST", "https://127.0.0.1:4443/v8/token", strings.NewReader(body))
		req.RemoteAddr = "127.0.0.1:50000"
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		w := httptest.NewRecorder()
		e.srv.ServeHTTP(w, req)
		if !json.Valid(w.Body.Bytes()) {
			t.Fatalf("%d with a body that is not JSON: %q", w.Code, w.Body)
		}
		switch w.Code {
		case http.StatusOK:
			var tr tokenResponse
			if err := json.Unmarshal(w.Body.Bytes(), &tr); err != nil || tr.AccessToken == "" || tr.RefreshToken == "" || tr.ExpiresIn != 3600 {
				t.Fatalf("200 without a usable token pair: %s", w.Body)
			}
			probe := httptest.NewRequest("GET", "https://127.0.0.1:4443/v8/RestoreSessions", nil)
			probe.Header.Set("Authorization", "Bearer "+tr.AccessToken)
			pw := httptest.NewRecorder()
			e.srv.ServeHTTP(pw, probe)
			if pw.Code != http.StatusOK {
				t.Fatalf("an issued access token got %d", pw.Code)
			}
		case http.StatusBadRequest:
			dec := json.NewDecoder(bytes.NewReader(w.Body.Bytes()))
			dec.DisallowUnknownFields()
			var oe oauthError
			if err := dec.Decode(&oe); err != nil || oe.ErrorDescription == "" {
				t.Fatalf("400 not in the OAuth shape: %s", w.Body)
			}
			if got := orderedKeys(t, w.Body.Bytes()); !reflect.DeepEqual(got, []string{"error", "error_description"}) {
				t.Fatalf("400 keys %v", got)
			}
			switch oe.Error {
			case oauthInvalidGrant, oauthInvalidRequest, oauthUnsupportedGrant:
			default:
				t.Fatalf("unknown OAuth error %q", oe.Error)
			}
		default:
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		if _, err := validateResponse(t, e.srv, "POST", "/v8/token", ctype, body, w); err != nil {
			t.Fatal(err)
		}
	})
}
