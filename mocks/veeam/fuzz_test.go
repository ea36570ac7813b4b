package veeam

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/vbharness/vbharness/mocks/clock"
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

// FuzzAssertion throws arbitrary assertions at the seed's jwt-bearer login: the answer
// is 200 only for an assertion whose access token the mock Entra signed for the
// organization's tenant, Graph and the seed's permissions; anything else is a 400 in
// the OAuth shape. Seeds cover the refusals of TestJWTBearerRefusesEveryBadAssertion.
func FuzzAssertion(f *testing.F) {
	e := newTestServer(f)
	good := e.entra.mint(f, entraToken{})
	f.Add(tokenResponseJSON(good))
	f.Add(`{"access_token":` + strconv.Quote(good) + `}`)
	f.Add(good)
	f.Add(`{"access_token":""}`)
	f.Add(`{"access_token":null,"access_token":"` + good + `"}`)
	f.Add(`{"access_token":"a.b.c"}`)
	f.Add(`{"access_token":"..."}`)
	f.Add(`{"access_token":"eyJhbGciOiJub25lIn0.e30."}`)
	f.Add(`{"access_token":"` + strings.Repeat("A", 5000) + `.e30.x"}`)
	f.Add(`[]`)
	f.Add(`"string"`)
	f.Add(`{"access_token":{"nested":true}}`)
	f.Add("{\"access_token\":\"\xff\xfe.\xff.\xff\"}")
	f.Fuzz(func(t *testing.T, assertion string) {
		w := postToken(e.srv, seedForm(DefaultOrganization, assertion))
		checkAssertionAnswer(t, w, assertion)
	})
}

// FuzzEntraTokenClaims signs arbitrary JOSE headers and claims with the mock Entra's
// real key, so the fuzzer reaches every claim check behind the signature: alg, kid,
// exp, nbf, tid, aud and scp in every JSON type. A 200 must mean the header said RS256
// and the claims name the organization's tenant and Graph; nothing else signs a
// tenant in.
func FuzzEntraTokenClaims(f *testing.F) {
	e := newTestServer(f)
	key := e.entra.keys.Active()
	now := e.clk.Now()
	hdr := func(alg, kid string, extra string) string {
		return `{"typ":"JWT","alg":` + strconv.Quote(alg) + `,"kid":` + strconv.Quote(kid) + extra + `}`
	}
	claimsJSON := func(over string) string {
		return `{"aud":"` + graphAppID + `","tid":"` + DefaultOrganizationMSID + `","iat":` + strconv.FormatInt(now.Unix()-300, 10) +
			`,"nbf":` + strconv.FormatInt(now.Unix()-300, 10) + `,"exp":` + strconv.FormatInt(now.Unix()+3600, 10) +
			`,"scp":"Directory.AccessAsUser.All User.ReadWrite.All","upn":"admin@abc.onmicrosoft.com"` + over + `}`
	}
	f.Add(hdr("RS256", key.KID, ""), claimsJSON(""))
	f.Add(hdr("none", key.KID, ""), claimsJSON(""))
	f.Add(hdr("HS256", key.KID, ""), claimsJSON(""))
	f.Add(hdr("RS256", "../../etc/passwd", ""), claimsJSON(""))
	f.Add(hdr("RS256", key.KID, `,"jku":"https://evil.example/keys","x5u":"https://evil.example/cert"`), claimsJSON(""))
	f.Add(hdr("RS256", key.KID, ""), claimsJSON(`,"tid":"`+LegacyOrganizationMSID+`"`))
	f.Add(hdr("RS256", key.KID, ""), claimsJSON(`,"exp":"soon"`))
	f.Add(hdr("RS256", key.KID, ""), claimsJSON(`,"exp":1e300`))
	f.Add(hdr("RS256", key.KID, ""), claimsJSON(`,"nbf":99999999999`))
	f.Add(hdr("RS256", key.KID, ""), claimsJSON(`,"aud":["`+graphResource+`","x"]`))
	f.Add(hdr("RS256", key.KID, ""), claimsJSON(`,"scp":["Directory.Read.All"]`))
	f.Add(hdr("RS256", key.KID, ""), `[]`)
	f.Add(`{"alg":"RS256","alg":"none"}`, claimsJSON(""))
	f.Fuzz(func(t *testing.T, header, claims string) {
		input := base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + base64.RawURLEncoding.EncodeToString([]byte(claims))
		sum := sha256.Sum256([]byte(input))
		sig, err := rsa.SignPKCS1v15(rand.Reader, key.Private, crypto.SHA256, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		access := input + "." + base64.RawURLEncoding.EncodeToString(sig)
		assertion := tokenResponseJSON(access)
		w := postToken(e.srv, seedForm(DefaultOrganization, assertion))
		checkAssertionAnswer(t, w, assertion)
		if w.Code != http.StatusOK {
			return
		}
		var h struct {
			Alg string `json:"alg"`
		}
		var c struct {
			TID string          `json:"tid"`
			Aud json.RawMessage `json:"aud"`
		}
		if json.Unmarshal([]byte(header), &h) != nil || h.Alg != "RS256" {
			t.Fatalf("signed in with header %s", header)
		}
		if json.Unmarshal([]byte(claims), &c) != nil || !strings.EqualFold(c.TID, DefaultOrganizationMSID) || !strings.Contains(strings.ToLower(string(c.Aud)), graphAppID) && !strings.Contains(strings.ToLower(string(c.Aud)), graphResource) {
			t.Fatalf("signed in with claims %s", claims)
		}
	})
}

// postToken posts a form to /v8/token from loopback, straight to the handler.
func postToken(srv *Server, form string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", "https://127.0.0.1:4443/v8/token", strings.NewReader(form))
	req.RemoteAddr = "127.0.0.1:50000"
	req.Header.Set("Content-Type", formType)
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, req)
	return w
}

// checkAssertionAnswer accepts a 200 with a usable token pair or a 400 in the OAuth
// shape, and nothing else.
func checkAssertionAnswer(t *testing.T, w *httptest.ResponseRecorder, assertion string) {
	t.Helper()
	switch w.Code {
	case http.StatusOK:
		var tr tokenResponse
		if err := json.Unmarshal(w.Body.Bytes(), &tr); err != nil || tr.AccessToken == "" || tr.RefreshToken == "" {
			t.Fatalf("200 without a token pair: %s", w.Body)
		}
	case http.StatusBadRequest:
		var oe oauthError
		if err := json.Unmarshal(w.Body.Bytes(), &oe); err != nil || oe.ErrorDescription == "" || (oe.Error != oauthInvalidGrant && oe.Error != oauthInvalidRequest) {
			t.Fatalf("400 not in the OAuth shape: %s", w.Body)
		}
	default:
		t.Fatalf("status %d for assertion %q: %s", w.Code, assertion, w.Body)
	}
}

// FuzzFixtures feeds LoadFixtures' parser arbitrary YAML and JSON: it returns fixtures
// or an error naming the file (ErrInvalidFixtures), never panics, and fixtures it
// accepts make a server that answers an administrator's GET /v8/Organizations.
func FuzzFixtures(f *testing.F) {
	f.Add([]byte(`serviceInstance: {installationId: 11111111-2222-4333-8444-555555555555}
organizations:
  - id: 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
    name: contoso.onmicrosoft.com
    msid: 3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f
    modernAppOnly: true
    isExchangeOnline: true
repositories:
  - {id: 5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b, name: Repo, path: 'C:\Repo', retentionType: ItemLevel,
     retentionPeriodType: Daily, retentionFrequencyType: Daily, capacityBytes: 100, freeSpaceBytes: 50}
jobs:
  - id: 7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d
    name: Contoso mail
    backupType: EntireOrganization
    organizationId: 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
    repositoryId: 5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b
    schedulePolicy: {type: Daily, dailyTime: "22:00:00"}
    isEnabled: true
    lastStatus: Success
`), false)
	def, err := json.Marshal(DefaultFixtures())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(def, true)
	f.Add([]byte("organizations:\n  - id: x\n    name: contoso.onmicrosoft.com\n"), false)
	f.Add([]byte("jobs: [{id: 7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d, repositoryId: nope}]\n"), false)
	f.Add([]byte(`{"organizations":[{"id":"0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d","name":"a","modernAppOnly":true}]}`), true)
	f.Add([]byte("a: &a [*a, *a, *a]\nb: *a\n"), false)
	f.Add([]byte("{"), true)
	f.Add([]byte("\xff\xfe"), false)
	clk := clock.NewVirtual(clock.DefaultStart)
	f.Fuzz(func(t *testing.T, data []byte, isJSON bool) {
		name := "fixtures.yaml"
		if isJSON {
			name = "fixtures.json"
		}
		fx, err := parseFixtures(name, data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), name) {
				t.Fatalf("the error does not name the file: %v", err)
			}
			return
		}
		srv := New(clk, WithFixtures(fx), WithAuthority("https://login.invalid"))
		req := httptest.NewRequest("POST", "https://127.0.0.1:4443/v8/token", strings.NewReader("grant_type=password&username=Administrator&password="+url.QueryEscape(DefaultAdminPassword)))
		req.Header.Set("Content-Type", formType)
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		var tr tokenResponse
		if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &tr) != nil {
			t.Fatalf("administrator login with accepted fixtures: %d %s", w.Code, w.Body)
		}
		req = httptest.NewRequest("GET", "https://127.0.0.1:4443/v8/Organizations", nil)
		req.Header.Set("Authorization", "Bearer "+tr.AccessToken)
		w = httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			t.Fatalf("GET /v8/Organizations with accepted fixtures: %d %s", w.Code, w.Body)
		}
	})
}
