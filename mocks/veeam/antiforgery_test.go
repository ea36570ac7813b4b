package veeam

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// Issue 19 item 1, Veeam side: antiforgery as a real server enforces it by default
// (veeam.md §1.6 [C]). A login without disable_antiforgery_token=true answers its
// antiforgery token in a cookie and a header [A: names]; its tokens then work only with
// it, on API calls and on refresh, and a request without it gets 400 with a message
// that says how to fix the client. The flag at login, or antiforgery "ignore", turns it
// off.
func TestAntiforgery(t *testing.T) {
	t.Parallel()
	login := "grant_type=password&username=Administrator&password=" + url.QueryEscape(DefaultAdminPassword)
	fix := []string{"send disable_antiforgery_token=true at login, or the antiforgery token", "XSRF-TOKEN cookie", "X-XSRF-TOKEN header"}
	// A request of a step: an API call or a refresh, with the headers given ($XSRF is the
	// login's antiforgery token, $OTHER another session's).
	type request struct {
		refresh bool
		hdr     []string
	}
	call := func(hdr ...string) request { return request{hdr: hdr} }
	refresh := func(hdr ...string) request { return request{refresh: true, hdr: hdr} }
	type step struct {
		name   string
		req    request
		want   int
		saying []string
	}
	for _, tc := range []struct {
		name     string
		settings string // PUT /_mock/settings before the login
		form     string
		issued   bool // the login answers an antiforgery token
		claim    string
		steps    []step
	}{
		{name: "enforced by default: a call needs the antiforgery token in the header or the cookie", form: login, issued: true, claim: "True", steps: []step{
			{"a call with the bearer token only", call(), 400, append([]string{"this access token was issued with antiforgery protection"}, fix...)},
			{"a call with a wrong antiforgery token", call("X-XSRF-TOKEN", "not-it"), 400, fix},
			{"a call with another session's antiforgery token", call("Cookie", "XSRF-TOKEN=$OTHER"), 400, fix},
			{"a call with the header", call("X-XSRF-TOKEN", "$XSRF"), 200, nil},
			{"a call with the cookie", call("Cookie", "XSRF-TOKEN=$XSRF"), 200, nil},
		}},
		{name: "refresh keeps the requirement and a refused refresh spends nothing", form: login, issued: true, claim: "True", steps: []step{
			{"a refresh with the refresh token only", refresh(), 400, append([]string{"this refresh token was issued with antiforgery protection"}, fix...)},
			{"the same refresh with the cookie", refresh("Cookie", "XSRF-TOKEN=$XSRF"), 200, nil},
		}},
		{name: "disable_antiforgery_token=true at login turns it off for that session", form: login + "&disable_antiforgery_token=true", claim: "False", steps: []step{
			{"a call with the bearer token only", call(), 200, nil},
			{"a refresh with the refresh token only", refresh(), 200, nil},
		}},
		{name: "antiforgery ignore lets bearer-only calls and refreshes through", settings: `{"antiforgery":"ignore"}`, form: login, issued: true, claim: "True", steps: []step{
			{"a call with the bearer token only", call(), 200, nil},
			{"a refresh with the refresh token only", refresh(), 200, nil},
		}},
		{name: "the cookie and header names are settable", settings: `{"antiforgeryCookie":"VBM-AF","antiforgeryHeader":"X-VBM-AF"}`, form: login, issued: true, claim: "True", steps: []step{
			{"the default header name", call("X-XSRF-TOKEN", "$XSRF"), 400, []string{"VBM-AF cookie", "X-VBM-AF header"}},
			{"the configured header", call("X-VBM-AF", "$XSRF"), 200, nil},
			{"the configured cookie", call("Cookie", "VBM-AF=$XSRF"), 200, nil},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newTestServer(t)
			e.bare = true
			if tc.settings != "" {
				if w := e.do("PUT", "/_mock/settings", jsonType, tc.settings); w.Code != 200 {
					t.Fatalf("settings: %d %s", w.Code, w.Body)
				}
			}
			set := e.srv.Settings()
			tr, xsrf := antiforgeryLogin(t, e, tc.form, set, tc.issued)
			_, other := antiforgeryLogin(t, e, login, set, true)
			if got := decodeClaims(t, tr.AccessToken).Antiforgery; got != tc.claim {
				t.Errorf("antiforgery claim %q, want %q", got, tc.claim)
			}
			for _, s := range tc.steps {
				hdr := make([]string, len(s.req.hdr))
				for i, h := range s.req.hdr {
					hdr[i] = strings.NewReplacer("$XSRF", xsrf, "$OTHER", other).Replace(h)
				}
				var w *httptest.ResponseRecorder
				if s.req.refresh {
					w = e.do("POST", "/v8/token", formType, "grant_type=refresh_token&refresh_token="+tr.RefreshToken, hdr...)
				} else {
					w = e.do("GET", "/v8/Jobs?limit=1", "", "", append(bearer(tr.AccessToken), hdr...)...)
				}
				if w.Code != s.want {
					t.Errorf("%s: %d %s, want %d", s.name, w.Code, w.Body, s.want)
				}
				for _, word := range s.saying {
					if !strings.Contains(w.Body.String(), word) {
						t.Errorf("%s: the answer %s does not say %q", s.name, w.Body, word)
					}
				}
			}
		})
	}
}

// antiforgeryLogin signs in with form and returns the token response and the
// antiforgery token it answered in the header, checking the cookie carries the same.
func antiforgeryLogin(t *testing.T, e *testEnv, form string, set Settings, issued bool) (tokenResponse, string) {
	t.Helper()
	w := e.do("POST", "/v8/token", formType, form)
	if w.Code != 200 {
		t.Fatalf("login: %d %s", w.Code, w.Body)
	}
	tr := decode[tokenResponse](t, w)
	xsrf := w.Header().Get(set.AntiforgeryHeader)
	var cookie *http.Cookie
	for _, c := range (&http.Response{Header: w.Header()}).Cookies() {
		if c.Name == set.AntiforgeryCookie {
			cookie = c
		}
	}
	if issued != (xsrf != "") || issued != (cookie != nil) {
		t.Fatalf("login answered header %q and cookie %v; want an antiforgery token: %v", xsrf, cookie, issued)
	}
	if cookie != nil && (cookie.Value != xsrf || cookie.Path != "/" || !cookie.Secure || cookie.SameSite != http.SameSiteStrictMode) {
		t.Errorf("cookie %v: want the header's value, Path=/, Secure over HTTPS, SameSite=Strict", cookie)
	}
	return tr, xsrf
}

// The antiforgery settings refuse values a server cannot run with, and change nothing.
func TestAntiforgerySettingsAreChecked(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ body, want string }{
		{`{"antiforgery":"off"}`, `antiforgery must be \"enforce\" or \"ignore\", got \"off\"`},
		{`{"antiforgeryCookie":"a b"}`, `antiforgeryCookie must be a cookie name`},
		{`{"antiforgeryHeader":""}`, `antiforgeryHeader must be a header name`},
	} {
		e := newTestServer(t)
		before := e.srv.Settings()
		if w := e.do("PUT", "/_mock/settings", jsonType, tc.body); w.Code != 400 || !strings.Contains(w.Body.String(), tc.want) {
			t.Errorf("PUT %s = %d %s; want 400 saying %s", tc.body, w.Code, w.Body, tc.want)
		}
		if after := e.srv.Settings(); after != before {
			t.Errorf("a refused PUT changed the settings")
		}
	}
	if s := DefaultSettings(); s.Antiforgery != AntiforgeryEnforce || s.AntiforgeryCookie != "XSRF-TOKEN" || s.AntiforgeryHeader != "X-XSRF-TOKEN" {
		t.Errorf("defaults %q %q %q, want enforce, XSRF-TOKEN, X-XSRF-TOKEN", s.Antiforgery, s.AntiforgeryCookie, s.AntiforgeryHeader)
	}
}
