package engine

import (
	"strings"
	"testing"
)

func TestMatchersPass(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, src string }{
		{"toBe compares with Object.is", `expect(1).toBe(1); expect("a").toBe("a"); expect(NaN).toBe(NaN); const o = {}; expect(o).toBe(o);`},
		{"not negates", `expect(1).not.toBe(2); expect({}).not.toBe({}); expect([1]).not.toEqual([2]);`},
		{"toEqual is structural", `expect({a: [1, {b: 2}], d: new Date(5)}).toEqual({d: new Date(5), a: [1, {b: 2}]});`},
		{"toEqual ignores undefined properties", `expect({a: 1, b: undefined}).toEqual({a: 1});`},
		{"toMatch takes a RegExp or a substring", `expect("abbbc").toMatch(/ab+c/); expect("abc").toMatch("bc"); expect("abc").not.toMatch(/z/);`},
		{"toContain searches arrays and strings", `expect([1, "x", NaN]).toContain("x"); expect([NaN]).toContain(NaN); expect("hello").toContain("ell"); expect([1]).not.toContain(2);`},
		{"toHaveProperty follows paths", `const v = {a: {b: 2, c: [1]}}; expect(v).toHaveProperty("a.b"); expect(v).toHaveProperty("a.b", 2); expect(v).toHaveProperty(["a", "c"], [1]); expect(v).not.toHaveProperty("a.z");`},
		{"toHaveLength reads length", `expect([1, 2]).toHaveLength(2); expect("abc").toHaveLength(3);`},
		{"comparisons", `expect(2).toBeGreaterThan(1); expect(2).toBeGreaterThanOrEqual(2); expect(1).toBeLessThan(2); expect(2).toBeLessThanOrEqual(2); expect(new Date(2)).toBeGreaterThan(new Date(1)); expect(1).not.toBeGreaterThan(1); expect(1).not.toBeLessThan(1);`},
		{"definedness and truthiness", `expect(0).toBeDefined(); expect(undefined).toBeUndefined(); expect(null).toBeNull(); expect("x").toBeTruthy(); expect("").toBeFalsy(); expect(null).not.toBeUndefined();`},
		{"toBeInstanceOf", `expect(new TypeError("x")).toBeInstanceOf(Error); expect({}).not.toBeInstanceOf(Error);`},
		{"toThrow with nothing, text, RegExp or class", `const f = () => { throw new TypeError("boom here"); }; expect(f).toThrow(); expect(f).toThrow("boom"); expect(f).toThrow(/bo+m/); expect(f).toThrow(TypeError); expect(() => 1).not.toThrow(); expect(f).not.toThrow(RangeError);`},
		{"toHaveStatus reads a response", `expect({status: 204, body: ""}).toHaveStatus(204); expect({status: 401, body: ""}).not.toHaveStatus(200);`},
		{"toHaveEntraError reads errors, responses and throwing functions", `
			expect({error: "authorization_declined", aadsts: 70000}).toHaveEntraError("authorization_declined", 70000);
			expect({status: 400, body: '{"error":"invalid_grant","error_description":"AADSTS50173: revoked"}'}).toHaveEntraError("invalid_grant", 50173);
			expect({status: 400, body: '{"error":"invalid_grant","error_codes":[70008]}'}).toHaveEntraError("invalid_grant");
			expect(() => { const e = new EntraError("x"); e.error = "expired_token"; throw e; }).toHaveEntraError("expired_token");
			expect({status: 200, body: "{}"}).not.toHaveEntraError("invalid_grant");`},
		{"toHaveVeeamError reads both Veeam shapes", `
			expect({errorCode: "ResourceAccessDenied", status: 403}).toHaveVeeamError("ResourceAccessDenied");
			expect({status: 403, body: '{"message":"denied","errorCode":"ResourceAccessDenied","stackTrace":null}'}).toHaveVeeamError("ResourceAccessDenied");
			expect({status: 400, body: '{"error":"invalid_grant","error_description":"bad"}'}).toHaveVeeamError("invalid_grant");
			expect({status: 401, body: ""}).not.toHaveVeeamError("invalid_grant");`},
	}
	tr := newTestRuntime(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr.t = t
			tr.run(c.src)
		})
	}
}

func TestMatcherFailures(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, src        string
		message          string // exact
		expected, actual string // exact, when not empty
	}{
		{"toBe names both values", `expect(401).toBe(200)`, "toBe: expected 401 to be 200", "200", "401"},
		{"not.toBe", `expect(1).not.toBe(1)`, "toBe: expected 1 not to be 1", "not 1", "1"},
		{"toBe on equal objects suggests toEqual", `expect({a: 1}).toBe({a: 1})`,
			"toBe: expected { \"a\": 1 } to be { \"a\": 1 }\n\nThe values are equal but not the same object; use toEqual to compare structure.", "", ""},
		{"toEqual shows a diff", `expect({name: "abc", jobs: [1, 2], deep: {x: "a long string to push this past one line"}}).toEqual({name: "abc", jobs: [1, 3], deep: {x: "a long string to push this past one line"}})`,
			"toEqual: received value does not equal the expected value\n\n- Expected\n+ Received\n\n  {\n    \"deep\": { \"x\": \"a long string to push this past one line\" },\n-   \"jobs\": [1, 3],\n+   \"jobs\": [1, 2],\n    \"name\": \"abc\",\n  }", "", ""},
		{"not.toEqual", `expect([1]).not.toEqual([1])`, "toEqual: expected [1] not to equal [1]", "not [1]", "[1]"},
		{"toMatch", `expect("abc").toMatch(/z+/)`, `toMatch: expected "abc" to match /z+/`, "/z+/", `"abc"`},
		{"toMatch on a non-string", `expect(5).toMatch(/5/)`, "toMatch: received value must be a string, got 5", "", ""},
		{"toContain", `expect([1, 2]).toContain(3)`, "toContain: expected [1, 2] to contain 3", "3", "[1, 2]"},
		{"toHaveProperty missing", `expect({a: {}}).toHaveProperty("a.b")`, `toHaveProperty: expected { "a": {} } to have property "a.b"`, "a.b", ""},
		{"toHaveProperty value", `expect({a: {b: 1}}).toHaveProperty("a.b", 2)`, "toHaveProperty: expected property \"a.b\" to equal 2, got 1\n\n- Expected\n+ Received\n\n- 2\n+ 1", "2", "1"},
		{"toHaveLength", `expect([1]).toHaveLength(2)`, "toHaveLength: expected length 2, got 1", "2", "1"},
		{"toBeGreaterThan", `expect(1).toBeGreaterThan(2)`, "expected 1 > 2", "> 2", "1"},
		{"toBeLessThanOrEqual", `expect(3).toBeLessThanOrEqual(2)`, "expected 3 <= 2", "<= 2", "3"},
		{"comparing a non-number", `expect(undefined).toBeGreaterThan(2)`, "expected numbers to compare with >, got undefined and 2", "", ""},
		{"toBeDefined", `expect(undefined).toBeDefined()`, "expected undefined to be defined", "defined", "undefined"},
		{"toBeNull", `expect(0).toBeNull()`, "expected 0 to be null", "null", "0"},
		{"not.toBeTruthy", `expect(1).not.toBeTruthy()`, "expected 1 not to be truthy", "not truthy", "1"},
		{"toBeInstanceOf", `expect("x").toBeInstanceOf(Error)`, `toBeInstanceOf: expected "x" to be an instance of Error`, "Error", `"x"`},
		{"toThrow when nothing is thrown", `expect(() => 1).toThrow()`, "toThrow: expected the function to throw, but it did not throw", "to throw", "no exception"},
		{"toThrow with the wrong message", `expect(() => { throw new Error("nope"); }).toThrow("boom")`,
			`toThrow: expected the function to throw an error containing "boom", but it threw [Error: nope]`, "", "[Error: nope]"},
		{"not.toThrow", `expect(() => { throw new Error("x"); }).not.toThrow()`, "toThrow: expected the function not to throw, but it threw [Error: x]", "", ""},
		{"toHaveStatus shows the body", `expect({status: 401, body: '{"message":"denied"}', method: "GET", url: "https://veeam.mock:4443/v8/Jobs"}).toHaveStatus(200)`,
			"toHaveStatus: expected HTTP status 200, got 401 from GET https://veeam.mock:4443/v8/Jobs\n\nResponse body:\n{\"message\":\"denied\"}", "200", "401"},
		{"toHaveStatus on an empty body", `expect({status: 500, body: ""}).toHaveStatus(200)`, "toHaveStatus: expected HTTP status 200, got 500\n\nResponse body:\n(empty body)", "", ""},
		{"toHaveStatus on something else", `expect(42).toHaveStatus(200)`, "toHaveStatus: received value is not an HTTP response (it has no numeric status): 42", "", ""},
		{"toHaveEntraError with another code", `expect({error: "authorization_pending", aadsts: 70016}).toHaveEntraError("authorization_declined", 70000)`,
			"toHaveEntraError: expected Entra error authorization_declined (AADSTS70000), got authorization_pending (AADSTS70016)", "authorization_declined (AADSTS70000)", "authorization_pending (AADSTS70016)"},
		{"toHaveEntraError when the function returns", `expect(() => 5).toHaveEntraError("expired_token")`,
			"toHaveEntraError: expected Entra error expired_token, but the function returned 5 instead of throwing", "", "the function returned 5 instead of throwing"},
		{"toHaveVeeamError when a plain Error is thrown", `expect(() => { throw new Error("nope"); }).toHaveVeeamError("ResourceNotFound")`,
			"toHaveVeeamError: expected Veeam error ResourceNotFound, but received [Error: nope]", "", "received [Error: nope]"},
		{"toHaveEntraError on a success response", `expect({status: 200, body: "{}"}).toHaveEntraError("invalid_grant")`,
			"toHaveEntraError: expected Entra error invalid_grant, but the response (HTTP 200) carries no error code", "", ""},
		{"toHaveVeeamError", `expect({status: 401, body: '{"error":"invalid_grant","error_description":"The refresh token is invalid."}'}).toHaveVeeamError("ResourceAccessDenied")`,
			"toHaveVeeamError: expected Veeam error ResourceAccessDenied, got invalid_grant [HTTP 401]\n\nmessage: The refresh token is invalid.", "ResourceAccessDenied", "invalid_grant [HTTP 401]"},
	}
	tr := newTestRuntime(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr.t = t
			res := tr.failing(c.src)
			if res.Status != StatusFailed {
				t.Fatalf("status = %s (%s), want failed", res.Status, res.Message)
			}
			if res.Message != c.message {
				t.Errorf("message:\n%s\nwant:\n%s", res.Message, c.message)
			}
			if c.expected != "" && res.Expected != c.expected {
				t.Errorf("expected = %q, want %q", res.Expected, c.expected)
			}
			if c.actual != "" && res.Actual != c.actual {
				t.Errorf("actual = %q, want %q", res.Actual, c.actual)
			}
			if !strings.HasPrefix(res.Stack, "at snippet.js:1:") {
				t.Errorf("stack %q does not point at the snippet's line", res.Stack)
			}
		})
	}
}

func TestMatcherMisuseIsAnError(t *testing.T) {
	t.Parallel()
	tr := newTestRuntime(t)
	for _, src := range []string{
		`expect(5).toThrow()`,
		`expect("x").toMatch(5)`,
		`expect({}).toBeInstanceOf(5)`,
	} {
		res := tr.failing(src)
		if res.Status != StatusErrored || res.Message[:10] != "TypeError:" {
			t.Errorf("%s: %s %q, want a TypeError", src, res.Status, res.Message)
		}
	}
}

// TestToHaveEntraErrorChecksTheAADSTSNumber uses a real error response of the Entra mock
// (polling before sign-in: 400 authorization_pending, AADSTS70016): the matcher passes
// with the right code and number, and with the right code but another number it fails,
// naming both numbers. A matcher that ignored its second argument would pass both.
func TestToHaveEntraErrorChecksTheAADSTSNumber(t *testing.T) {
	t.Parallel()
	tr := newTestRuntime(t)
	tr.run(`
		const code = entra.deviceCode();
		globalThis.pending = http.post(target.entra.authority + "/" + target.entra.tenant + "/oauth2/v2.0/token", { form: {
			grant_type: "urn:ietf:params:oauth:grant-type:device_code", client_id: target.entra.clientId, device_code: code.device_code } });
		expect(pending).toHaveStatus(400);
		expect(pending).toHaveEntraError("authorization_pending", 70016);`)

	if err := tr.exec(`expect(pending).toHaveEntraError("authorization_pending", 70000)`); err == nil {
		t.Errorf("toHaveEntraError(\"authorization_pending\", 70000) passed on an AADSTS70016 response")
	} else {
		res := tr.result(err)
		const want = "toHaveEntraError: expected Entra error authorization_pending (AADSTS70000), got authorization_pending (AADSTS70016) [HTTP 400]"
		if first, _, _ := strings.Cut(res.Message, "\n"); res.Status != StatusFailed || first != want {
			t.Errorf("%s:\n%s\nwant failed, starting:\n%s", res.Status, res.Message, want)
		}
		if res.Expected != "authorization_pending (AADSTS70000)" || res.Actual != "authorization_pending (AADSTS70016) [HTTP 400]" {
			t.Errorf("expected %q, actual %q", res.Expected, res.Actual)
		}
	}
	if err := tr.exec(`expect(pending).not.toHaveEntraError("authorization_pending", 70000)`); err != nil {
		t.Errorf("not.toHaveEntraError(\"authorization_pending\", 70000) failed on an AADSTS70016 response: %s", tr.result(err).Message)
	}
}

// TestProtocolErrorMatchersTellTheServicesApart is issue 12's defect 1: both services
// answer invalid_grant, so toHaveEntraError passed on a VeeamError or a Veeam /v8/token
// response, and toHaveVeeamError on an EntraError: "Entra refused" could pass when Veeam
// refused. Each matcher now accepts only its own service's errors and responses, and its
// failure says which service answered.
func TestProtocolErrorMatchersTellTheServicesApart(t *testing.T) {
	t.Parallel()
	tr := newTestRuntime(t)
	tr.run(`globalThis.veeamRefusal = (() => { try { veeam.login({username: "Administrator", password: "wrong-password"}); } catch (e) { return e; } })();
		globalThis.entraRefusal = (() => { try { entra.refresh("not-a-token"); } catch (e) { return e; } })();
		globalThis.veeamAnswer = veeam.token({grant_type: "password", username: "Administrator", password: "nope-nope"});
		globalThis.entraAnswer = entra.raw.token({grant_type: "refresh_token", client_id: target.entra.clientId, refresh_token: "nope"});
		globalThis.entraOverHTTP = http.post(target.entra.authority + "/" + target.entra.tenant + "/oauth2/v2.0/token", {form: {grant_type: "refresh_token", client_id: target.entra.clientId, refresh_token: "nope"}});
		// Each matcher still takes its own service's errors and answers.
		expect(veeamRefusal).toHaveVeeamError("invalid_grant");
		expect(veeamAnswer).toHaveVeeamError("invalid_grant");
		expect(entraRefusal).toHaveEntraError("invalid_grant");
		expect(entraAnswer).toHaveEntraError("invalid_grant");
		expect(entraOverHTTP).toHaveEntraError("invalid_grant");
		expect(veeamRefusal).not.toHaveEntraError("invalid_grant");
		expect(entraAnswer).not.toHaveVeeamError("invalid_grant");`)
	cases := []struct{ src, want string }{
		{`expect(veeamRefusal).toHaveEntraError("invalid_grant")`, "toHaveEntraError: expected Entra error invalid_grant, but Veeam answered: invalid_grant [HTTP 400] (a VeeamError)"},
		{`expect(veeamAnswer).toHaveEntraError("invalid_grant")`, "toHaveEntraError: expected Entra error invalid_grant, but Veeam answered: invalid_grant [HTTP 400] (the response to POST https://veeam.mock:4443/v8/token)"},
		{`expect(() => entra.refresh("not-a-token")).toHaveVeeamError("invalid_grant")`, "toHaveVeeamError: expected Veeam error invalid_grant, but Entra answered: invalid_grant (AADSTS9002313) [HTTP 400] (an EntraError)"},
		{`expect(entraAnswer).toHaveVeeamError("invalid_grant")`, "toHaveVeeamError: expected Veeam error invalid_grant, but Entra answered: invalid_grant (AADSTS9002313) [HTTP 400] (the response to POST https://login.mock/abc.onmicrosoft.com/oauth2/v2.0/token)"},
		{`expect(entraOverHTTP).toHaveVeeamError("invalid_grant")`, "toHaveVeeamError: expected Veeam error invalid_grant, but Entra answered: invalid_grant (AADSTS9002313) [HTTP 400] (the response to POST https://login.mock/abc.onmicrosoft.com/oauth2/v2.0/token)"},
	}
	for _, c := range cases {
		err := tr.exec(c.src)
		if err == nil {
			t.Errorf("%s passed", c.src)
			continue
		}
		res := tr.result(err)
		if first, _, _ := strings.Cut(res.Message, "\n"); res.Status != StatusFailed || first != c.want {
			t.Errorf("%s:\n%s %s\nwant failed, starting:\n%s", c.src, res.Status, res.Message, c.want)
		}
	}
}

// TestANegatedMatcherSaysNotInExpected is issue 12's defect 16: a failing
// .not.toThrow() reported "expected: to throw". A negated matcher's expected value now
// says what was expected, as jest does: "not to throw", "not 2".
func TestANegatedMatcherSaysNotInExpected(t *testing.T) {
	t.Parallel()
	tr := newTestRuntime(t)
	for src, want := range map[string]string{
		`expect(() => { throw new Error("x"); }).not.toThrow()`:    "not to throw",
		`expect(() => { throw new Error("x"); }).not.toThrow(/x/)`: "not to throw an error matching /x/",
		`expect(2).not.toBe(2)`:                                    "not 2",
		`expect(veeam.token({grant_type: "password", username: "Administrator", password: "nope-nope"})).not.toHaveVeeamError("invalid_grant")`: "not invalid_grant",
	} {
		if res := tr.failing(src); res.Status != StatusFailed || res.Expected != want {
			t.Errorf("%s: %s, expected %q, want %q", src, res.Status, res.Expected, want)
		}
	}
}
