package veeam

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/mocks/keys"
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
			probe.Header.Set(DefaultAntiforgeryHeader, w.Header().Get(DefaultAntiforgeryHeader)) // "" after disable_antiforgery_token=true
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
	// Signed by the mock Entra and whole, but each refused for one reason.
	now := e.clk.Now()
	none := "none"
	unsigned := e.entra.mint(f, entraToken{alg: "none", kid: &none})
	for _, bad := range []struct {
		why string // documents the seed
		tok entraToken
	}{
		{"expired a second ago", entraToken{claims: map[string]any{"exp": now.Add(-time.Second).Unix()}}},
		{"expired an hour ago", entraToken{claims: map[string]any{"exp": now.Add(-time.Hour).Unix(), "nbf": now.Add(-2 * time.Hour).Unix()}}},
		{"no exp", entraToken{drop: []string{"exp"}}},
		{"not valid yet", entraToken{claims: map[string]any{"nbf": now.Add(time.Minute).Unix()}}},
		{"no Directory or User permission", entraToken{claims: map[string]any{"scp": "email openid profile"}}},
		{"no Directory permission", entraToken{claims: map[string]any{"scp": "User.ReadWrite.All offline_access"}}},
		{"no User permission", entraToken{claims: map[string]any{"scp": "Directory.AccessAsUser.All"}}},
		{"look-alike permissions", entraToken{claims: map[string]any{"scp": "Directory.AccessAsUser.All.Extra User.Read2"}}},
		{"another tenant", entraToken{claims: map[string]any{"tid": LegacyOrganizationMSID}}},
		{"not Graph", entraToken{claims: map[string]any{"aud": "https://management.azure.com"}}},
		{"a key the mock Entra does not publish", entraToken{key: keys.Pooled(3)}},
	} {
		f.Add(tokenResponseJSON(e.entra.mint(f, bad.tok)))
	}
	f.Add(tokenResponseJSON(unsigned[:strings.LastIndexByte(unsigned, '.')+1])) // alg none, no signature
	goodAssertion := tokenResponseJSON(good)
	f.Fuzz(func(t *testing.T, assertion string) {
		w := postToken(e.srv, seedForm(DefaultOrganization, assertion))
		checkAssertionAnswer(t, w, assertion)
		why := e.judgeAssertion(assertion)
		if w.Code == http.StatusOK && why != nil {
			t.Fatalf("signed in with an assertion whose access token %v", why)
		}
		if assertion == goodAssertion && w.Code != http.StatusOK {
			t.Fatalf("the mock Entra's own valid token response was refused: %d %s", w.Code, w.Body)
		}
	})
}

// judgeAssertion decides, without the mock's code, whether the seed's login must accept
// an assertion (docs/veeam-mock.md, "jwt-bearer checks"): a JSON object whose
// access_token is an RS256 JWT signed with a key the mock Entra publishes; exp present,
// exp, nbf and iat JSON numbers where present (not strings), exp not passed and nbf
// reached on the shared clock (assertionClockSkew 0); tid the default organization's
// tenant, aud Microsoft Graph, and scp holding a Directory and a User permission. It
// returns why not, or nil. Duplicate JSON keys count as encoding/json
// reads them (the last one wins). The fuzzers hold the mock to it one way: a 200 for an
// assertion it refuses fails; the mock's own valid seed must get 200.
func (e *testEnv) judgeAssertion(assertion string) error {
	var doc map[string]json.RawMessage
	if json.Unmarshal([]byte(assertion), &doc) != nil {
		return errors.New("is not in a JSON object")
	}
	var access string
	if raw, ok := doc["access_token"]; !ok || json.Unmarshal(raw, &access) != nil || access == "" {
		return errors.New("is missing")
	}
	parts := strings.Split(access, ".")
	if len(parts) != 3 {
		return fmt.Errorf("has %d parts", len(parts))
	}
	var header struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	hb, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[0], "="))
	if err != nil || json.Unmarshal(hb, &header) != nil {
		return errors.New("has no JSON header")
	}
	if header.Alg != "RS256" {
		return fmt.Errorf("has alg %q", header.Alg)
	}
	now := e.clk.Now()
	var pub *rsa.PublicKey
	for _, k := range e.entra.keys.JWKS(now, "") {
		if k.Kid == header.Kid {
			pub, _ = k.PublicKey()
		}
	}
	if pub == nil {
		return fmt.Errorf("is signed with kid %q, which the mock Entra does not publish", header.Kid)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err != nil || rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) != nil {
		return errors.New("has a signature that does not verify")
	}
	var claims map[string]json.RawMessage // the last of duplicate keys wins, as in the mock
	cb, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil || json.Unmarshal(cb, &claims) != nil {
		return errors.New("has claims that are not a JSON object")
	}
	// Checks 8 and 13 of the table: exp, nbf and iat, where present, are JSON numbers
	// (not strings, though golang-jwt's NumericDate would read "123"); exp is present
	// (null is absent, as it leaves a *NumericDate nil) and not passed; nbf is reached.
	secs := float64(now.UnixNano()) / 1e9
	num := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	times := map[string]float64{}
	for _, name := range []string{"exp", "nbf", "iat"} {
		raw, ok := claims[name]
		if !ok || string(raw) == "null" {
			continue
		}
		var n json.Number
		if c := strings.TrimSpace(string(raw)); c == "" || c[0] == '"' || json.Unmarshal(raw, &n) != nil {
			return fmt.Errorf("has an %s claim that is not a JSON number: %s", name, raw)
		}
		v, err := n.Float64()
		if err != nil {
			return fmt.Errorf("has an %s claim out of range: %s", name, raw)
		}
		times[name] = v
	}
	exp, hasExp := times["exp"]
	nbf, hasNbf := times["nbf"]
	var tid, scp string
	for name, into := range map[string]*string{"tid": &tid, "scp": &scp} {
		if raw, ok := claims[name]; ok && json.Unmarshal(raw, into) != nil {
			return fmt.Errorf("has a %s claim that is not a string: %s", name, raw)
		}
	}
	switch {
	case !hasExp:
		return errors.New("has no exp claim")
	// RFC 7519 §4.1.4: the current time must be before exp.
	case secs >= exp:
		return fmt.Errorf("expired at %s (the clock reads %s)", num(exp), num(secs))
	// RFC 7519 §4.1.5: not before nbf. Dates count in whole seconds (golang-jwt's
	// NumericDate precision), so a fractional nbf is reached at its whole second.
	case hasNbf && secs < math.Floor(nbf):
		return fmt.Errorf("is not valid before %s (the clock reads %s)", num(nbf), num(secs))
	case !strings.EqualFold(tid, DefaultOrganizationMSID):
		return fmt.Errorf("is for tenant %q", tid)
	}
	var auds []string
	if json.Unmarshal(claims["aud"], &auds) != nil {
		var one string
		if json.Unmarshal(claims["aud"], &one) != nil {
			return errors.New("has an aud that is neither a string nor strings")
		}
		auds = []string{one}
	}
	if !slices.ContainsFunc(auds, func(a string) bool {
		return strings.EqualFold(a, graphAppID) || strings.EqualFold(strings.TrimRight(a, "/"), graphResource)
	}) {
		return fmt.Errorf("is for audience %v, not Microsoft Graph", auds)
	}
	holds := func(perms ...string) bool {
		for _, s := range strings.Fields(scp) {
			for _, p := range perms {
				if strings.EqualFold(s, p) {
					return true
				}
			}
		}
		return false
	}
	if !holds("Directory.Read.All", "Directory.ReadWrite.All", "Directory.AccessAsUser.All") {
		return fmt.Errorf("has scp %q, without a Directory permission", scp)
	}
	if !holds("User.Read", "User.ReadWrite", "User.ReadBasic.All", "User.Read.All", "User.ReadWrite.All") {
		return fmt.Errorf("has scp %q, without a User permission", scp)
	}
	return nil
}

// FuzzEntraTokenClaims signs arbitrary JOSE headers and claims with the mock Entra's
// real key, so the fuzzer reaches every claim check behind the signature: alg, kid,
// exp, nbf, tid, aud and scp in every JSON type, and left out. A 200 must mean the
// header said RS256 and the claims carry an exp, hold exp/nbf/iat as JSON numbers, are
// unexpired and valid already on the clock, name the organization's tenant and Graph,
// and hold a Directory and a User permission (judgeAssertion); nothing else signs a
// tenant in. Each property has a seed that breaks it alone, so the seed corpus (go test
// without -fuzz) fails when the mock stops checking it.
func FuzzEntraTokenClaims(f *testing.F) {
	e := newTestServer(f)
	key := e.entra.keys.Active()
	now := e.clk.Now()
	hdr := func(alg, kid string, extra string) string {
		return `{"typ":"JWT","alg":` + strconv.Quote(alg) + `,"kid":` + strconv.Quote(kid) + extra + `}`
	}
	// claimsWithout is a valid token's claims without the claim drop (""; none), with
	// over appended (a later duplicate key wins).
	claimsWithout := func(drop, over string) string {
		var b strings.Builder
		for _, c := range [][2]string{
			{"aud", strconv.Quote(graphAppID)}, {"tid", strconv.Quote(DefaultOrganizationMSID)},
			{"iat", strconv.FormatInt(now.Unix()-300, 10)}, {"nbf", strconv.FormatInt(now.Unix()-300, 10)},
			{"exp", strconv.FormatInt(now.Unix()+3600, 10)},
			{"scp", `"Directory.AccessAsUser.All User.ReadWrite.All"`}, {"upn", `"admin@abc.onmicrosoft.com"`},
		} {
			if c[0] != drop {
				b.WriteString(`,"` + c[0] + `":` + c[1])
			}
		}
		return "{" + strings.TrimPrefix(b.String()+over, ",") + "}"
	}
	claimsJSON := func(over string) string { return claimsWithout("", over) }
	goodHeader, goodClaims := hdr("RS256", key.KID, ""), claimsJSON("")
	f.Add(goodHeader, goodClaims)
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
	f.Add(hdr("RS256", key.KID, ""), claimsJSON(`,"exp":`+strconv.FormatInt(now.Unix()-1, 10)))
	f.Add(hdr("RS256", key.KID, ""), claimsJSON(`,"exp":`+strconv.FormatInt(now.Unix(), 10)))
	f.Add(hdr("RS256", key.KID, ""), claimsJSON(`,"exp":`+strconv.FormatInt(now.Unix()-86400, 10)+`,"nbf":0`))
	f.Add(hdr("RS256", key.KID, ""), claimsJSON(`,"exp":null`))
	f.Add(hdr("RS256", key.KID, ""), claimsJSON(`,"scp":"email openid profile"`))
	f.Add(hdr("RS256", key.KID, ""), claimsJSON(`,"scp":"Directory.Read.All"`))
	f.Add(hdr("RS256", key.KID, ""), claimsJSON(`,"scp":"User.Read"`))
	f.Add(hdr("RS256", key.KID, ""), claimsJSON(`,"scp":"directory.read.all user.read"`))
	f.Add(hdr("RS256", key.KID, ""), claimsJSON(`,"scp":""`))
	f.Add(hdr("RS256", key.KID, ""), claimsJSON(`,"exp":"`+strconv.FormatInt(now.Unix()+3600, 10)+`"`))
	f.Add(hdr("RS256", key.KID, ""), claimsJSON(`,"exp":`+strconv.FormatInt(now.Unix(), 10)+`.5,"nbf":`+strconv.FormatInt(now.Unix(), 10)+`.5`))
	// exp is required (check 13): left out, null (absent to NumericDate), or only under
	// another name.
	f.Add(hdr("RS256", key.KID, ""), claimsWithout("exp", ""))
	f.Add(hdr("RS256", key.KID, ""), claimsWithout("exp", `,"exp":null`))
	f.Add(hdr("RS256", key.KID, ""), claimsWithout("exp", `,"expires_on":`+strconv.FormatInt(now.Unix()+3600, 10)))
	// exp is a JSON number (check 8), in the future: not a string holding one, nor
	// another JSON type.
	f.Add(hdr("RS256", key.KID, ""), claimsWithout("exp", `,"exp":"`+strconv.FormatInt(now.Unix()+3600, 10)+`"`))
	f.Add(hdr("RS256", key.KID, ""), claimsWithout("exp", `,"exp":true`))
	f.Add(hdr("RS256", key.KID, ""), claimsWithout("exp", `,"exp":[`+strconv.FormatInt(now.Unix()+3600, 10)+`]`))
	f.Add(hdr("RS256", key.KID, ""), claimsWithout("exp", `,"exp":{"value":`+strconv.FormatInt(now.Unix()+3600, 10)+`}`))
	f.Add(hdr("RS256", key.KID, ""), claimsWithout("nbf", `,"nbf":"`+strconv.FormatInt(now.Unix()-300, 10)+`"`))
	f.Add(hdr("RS256", key.KID, ""), claimsWithout("iat", `,"iat":"`+strconv.FormatInt(now.Unix()-300, 10)+`"`))
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
		why := e.judgeAssertion(assertion)
		if w.Code == http.StatusOK && why != nil {
			t.Fatalf("signed in although the access token %v; header %s, claims %s", why, header, claims)
		}
		if header == goodHeader && claims == goodClaims && w.Code != http.StatusOK {
			t.Fatalf("the valid seed was refused: %d %s", w.Code, w.Body)
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
		xsrf := w.Header().Get(DefaultAntiforgeryHeader)
		req = httptest.NewRequest("GET", "https://127.0.0.1:4443/v8/Organizations", nil)
		req.Header.Set("Authorization", "Bearer "+tr.AccessToken)
		req.Header.Set(DefaultAntiforgeryHeader, xsrf)
		w = httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			t.Fatalf("GET /v8/Organizations with accepted fixtures: %d %s", w.Code, w.Body)
		}
	})
}
