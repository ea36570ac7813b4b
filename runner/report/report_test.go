package report_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vbharness/vbharness/engine"
	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/mocks/contract"
	"github.com/vbharness/vbharness/mocks/secret"
	"github.com/vbharness/vbharness/runner"
	"github.com/vbharness/vbharness/runner/report"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// Secrets the fixture's tests "obtained"; no report may contain them.
const (
	accessToken  = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2dyYXBoIn0.c2lnbmF0dXJlLWZpeHR1cmU"
	refreshToken = "0.AUoA-refresh-token-fixture-9Qa7"
	deviceCode   = "DAQABAAEAAAD-device-code-fixture-K2zX"
	userCode     = "GH7K2QPLM"
	password     = "Adm1n-P@ssw0rd!"
)

func scrubber() *secret.Scrubber {
	s := secret.NewScrubber()
	s.Add(accessToken, refreshToken, deviceCode, userCode)
	s.AddCredential(password) // redacted whole, unlike the tokens

	return s
}

// fixture is an outcome with every status, a load error, console output, an HTTP trace
// and secrets in every field a test can fill.
func fixture() *runner.Outcome {
	start := clock.DefaultStart
	return &runner.Outcome{
		Target:   runner.TargetInfo{Name: "mock", Kind: engine.TargetMock, Description: "embedded mocks, virtual clock"},
		Seed:     1234,
		Parallel: 8,
		Timeout:  30 * time.Second,
		Files:    3,
		Started:  start,
		Elapsed:  1234567 * time.Microsecond,
		Contract: runner.ContractSummary{Mode: engine.ContractFail, Violations: 3, Tests: 2, Failed: 1},
		Results: []runner.Result{
			{Result: engine.Result{Name: "modern app-only login with refresh", File: "scripts/modern_auth_login.js", Status: engine.StatusPassed,
				Wall: 12300 * time.Microsecond, Virtual: 61*time.Minute + 10*time.Second, Seed: 111,
				Console: []engine.ConsoleLine{{Level: "log", Text: "signed in as admin@abc.onmicrosoft.com"}},
				// A test whose contract option is "warn": passed, with a violation.
				Violations: []contract.Violation{{Service: "veeam", Side: "response", Operation: "Organization_Get", Method: "GET", Path: "/v8/Organization",
					Status: 200, Pointer: "/_links/next/href", Expected: "a /v8/ link on a /v8/ answer", Received: `"/v7/Organization?offset=30"`}}},
				Tags: []string{"smoke"}},
			{Result: engine.Result{Name: "job status from the lab", File: "scripts/modern_auth_login.js", Status: engine.StatusFailed,
				Message: `contract: GET /v8/Jobs/{jobId} (Job_GetById) response 200 /lastStatus: expected one of Stopped, Running, Success, received "Bogus" (and 1 more)`,
				Wall:    3 * time.Millisecond, Seed: 666, ContractFailed: true,
				Trace: []engine.Exchange{{Method: "GET", URL: "https://veeam.mock:4443/v8/Jobs/5b5cbeb5-7a8e-4c5b-9d0a-1f2e3d4c5b6a", Status: 200,
					ResponseBody: `{"lastStatus":"Bogus","name":null}`, DurationMS: 0.4, AtMS: 10,
					Contract: []string{`GET /v8/Jobs/{jobId} (Job_GetById) response 200 /lastStatus: expected one of Stopped, Running, Success, received "Bogus"`,
						`GET /v8/Jobs/{jobId} (Job_GetById) response 200 /name: expected a string, not null, received null`}}},
				Violations: []contract.Violation{
					{Service: "veeam", Side: "response", Operation: "Job_GetById", Method: "GET", Path: "/v8/Jobs/{jobId}", Status: 200,
						Pointer: "/lastStatus", Expected: "one of Stopped, Running, Success", Received: `"Bogus"`},
					{Service: "veeam", Side: "response", Operation: "Job_GetById", Method: "GET", Path: "/v8/Jobs/{jobId}", Status: 200,
						Pointer: "/name", Expected: "a string, not null", Received: "null"},
				}}},
			{Result: engine.Result{Name: "refresh after expiry <401> & \"quotes\"", File: "scripts/modern_auth_login.js", Status: engine.StatusFailed,
				Message: "expected status 200, got 401 (token " + accessToken + ")", Expected: "200", Actual: "401",
				Stack: "at scripts/modern_auth_login.js:14:3 (refresh after expiry)\nat scripts/lib/session.js:8:10",
				Wall:  4 * time.Millisecond, Virtual: 61 * time.Minute, Seed: 222,
				Console: []engine.ConsoleLine{{Level: "warn", Text: "refresh token " + refreshToken}},
				Trace: []engine.Exchange{
					{Method: "POST", URL: "https://login.mock/abc.onmicrosoft.com/oauth2/v2.0/token",
						RequestHeaders: map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
						RequestBody:    "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=" + deviceCode,
						Status:         200, ResponseHeaders: map[string]string{"Content-Type": "application/json"},
						ResponseBody: `{"token_type":"Bearer","expires_in":3599,"access_token":"` + accessToken + `","refresh_token":"` + refreshToken + `"}`,
						DurationMS:   0.8, AtMS: 5000, Issues: []string{"t1", "t2"}},
					{Method: "GET", URL: "https://veeam.mock:4443/v8/Organization",
						RequestHeaders: map[string]string{"Authorization": "Bearer " + accessToken},
						Status:         401, DurationMS: 0.3, AtMS: 3665000, Uses: []string{"t1"}},
				},
				Tokens: []engine.Token{
					{ID: "t1", Kind: engine.EntraAccess, Redacted: secret.RedactToken(accessToken), IssuedMS: 5000, IatMS: ptr(-295000.0),
						ExpiresMS: ptr(3604000.0), ExpiryFrom: "exp", Exchange: 0},
					{ID: "t2", Kind: engine.EntraRefresh, Redacted: secret.RedactToken(refreshToken), IssuedMS: 5000, Exchange: 0},
				},
				Clock: []engine.ClockStep{{AtMS: 0, ByMS: 5000, How: "wait"}, {AtMS: 5000, ByMS: 3660000, How: "advance"}},
				Excerpt: &engine.Excerpt{File: "scripts/modern_auth_login.js", Line: 14, Column: 3, Lines: []engine.ExcerptLine{
					{N: 13, Text: "  clock.advance(\"61m\");"},
					{N: 14, Text: "  expect(session.get(\"/v8/Organization\")).toHaveStatus(200); // " + password},
					{N: 15, Text: "});"},
				}}},
				Tags: []string{"refresh"}},
			{Result: engine.Result{Name: "device code # user code " + userCode, File: "scripts/errors.js", Status: engine.StatusErrored,
				Message: "TypeError: Cannot read property 'status' of undefined", Stack: "at scripts/errors.js:3:9",
				Wall: 2 * time.Millisecond, Seed: 333}},
			{Result: engine.Result{Name: "slow poll", File: "scripts/errors.js", Status: engine.StatusTimedOut,
				Message: "timed out after 30s", Stack: "at scripts/errors.js:9:1", Wall: 30 * time.Second, Virtual: 15 * time.Minute, Seed: 444,
				Trace: []engine.Exchange{{Method: "POST", URL: "https://login.mock/abc.onmicrosoft.com/oauth2/v2.0/token", Error: "context deadline exceeded", DurationMS: 30000}}}},
			{Result: engine.Result{Name: "advance the clock on a lab", File: "scripts/errors.js", Status: engine.StatusSkipped,
				SkipReason: "needs a controllable clock (requires: clock); target lab has none", Seed: 555}},
			{Result: engine.Result{Name: runner.LoadErrorName, File: "scripts/broken.js", Status: engine.StatusErrored,
				Message: "scripts/broken.js:3:7: SyntaxError: Unexpected token (password " + password + ")"}, LoadError: true},
		},
	}
}

func ptr[T any](v T) *T { return &v }

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test ./runner/report -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./runner/report -update rewrites it after a deliberate change)\n--- got ---\n%s", name, got)
	}
}

func noSecrets(t *testing.T, name string, out []byte) {
	t.Helper()
	for _, s := range []string{accessToken, refreshToken, deviceCode, userCode, password} {
		if bytes.Contains(out, []byte(s)) {
			t.Errorf("%s contains the secret %q", name, s)
		}
	}
	if !bytes.Contains(out, []byte("[redacted")) {
		t.Errorf("%s holds no redaction marker; the fixture's secrets should appear redacted", name)
	}
}

func TestReportFormatsMatchTheirGoldenFilesAndHoldNoSecrets(t *testing.T) {
	t.Parallel()
	for _, f := range report.Formats {
		t.Run(string(f), func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			if err := report.Write(&buf, f, fixture(), scrubber()); err != nil {
				t.Fatal(err)
			}
			ext := map[report.Format]string{report.JUnit: "xml", report.JSON: "json", report.TAP: "tap", report.HTML: "html"}[f]
			golden(t, "report."+ext, buf.Bytes())
			noSecrets(t, string(f), buf.Bytes())
		})
	}
}

func TestConsoleMatchesItsGoldenFiles(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		opts report.ConsoleOptions
	}{
		{"console-plain.txt", report.ConsoleOptions{}},
		{"console-verbose.txt", report.ConsoleOptions{Verbose: true}},
		{"console-color.txt", report.ConsoleOptions{Color: true}},
		{"console-live.txt", report.ConsoleOptions{Color: true, Live: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			o := fixture()
			s := scrubber()
			c.opts.Clock = clock.NewVirtual(o.Started)
			c.opts.Scrubber = s
			con := report.NewConsole(&buf, c.opts)
			con.Header(planFor(t, o))
			for i := range o.Results {
				r := &o.Results[i]
				if r.Status != engine.StatusSkipped && !r.LoadError {
					con.TestStarted(&runner.Planned{File: r.File, Info: engine.TestInfo{Name: r.Name}})
				}
				con.TestFinished(r)
			}
			con.Summary(o.Scrub(s))
			golden(t, c.name, buf.Bytes())
			noSecrets(t, c.name, buf.Bytes())
			lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
			if last := lines[len(lines)-1]; last != "1 passed, 5 failed, 1 skipped" {
				t.Errorf("last line = %q, want the summary alone on its line", last)
			}
		})
	}
}

func TestParseSpec(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]report.Spec{
		"junit=out/results.xml": {Format: report.JUnit, Path: "out/results.xml"},
		"json=r.json":           {Format: report.JSON, Path: "r.json"},
		"tap=a=b.tap":           {Format: report.TAP, Path: "a=b.tap"},
	} {
		if got, err := report.ParseSpec(in); err != nil || got != want {
			t.Errorf("ParseSpec(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for in, msg := range map[string]string{
		"junit":        "want FORMAT=FILE",
		"junit=":       "want FORMAT=FILE",
		"pdf=x.pdf":    `unknown format "pdf"; known formats: junit, json, tap, html`,
		"=results.xml": `unknown format ""`,
	} {
		if _, err := report.ParseSpec(in); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("ParseSpec(%q) error = %v, want %q", in, err, msg)
		}
	}
}

func TestDurations(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		0: "0ms", 800 * time.Microsecond: "800µs", 12 * time.Millisecond: "12ms", 1234 * time.Millisecond: "1.234s",
		125 * time.Second: "2m5s",
	} {
		if got := report.Duration(d); got != want {
			t.Errorf("Duration(%v) = %q, want %q", d, got, want)
		}
	}
	if got := report.VirtualDuration(61*time.Minute + 400*time.Millisecond); got != "1h1m0s" {
		t.Errorf("VirtualDuration = %q", got)
	}
}

func TestJUnitStaysWellFormedWithAwkwardText(t *testing.T) {
	t.Parallel()
	o := &runner.Outcome{Started: clock.DefaultStart, Results: []runner.Result{{Result: engine.Result{
		Name: "a]]>b", File: "x.js", Status: engine.StatusFailed, Message: "bad \x00 byte",
		Stack:   "at x.js:1:1 ]]> <![CDATA[",
		Console: []engine.ConsoleLine{{Level: "log", Text: "\x1b[31mred\x1b[0m ]]>"}},
	}}}}
	var buf bytes.Buffer
	if err := report.Write(&buf, report.JUnit, o, nil); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Suites []struct {
			Cases []struct {
				Name    string `xml:"name,attr"`
				Failure struct {
					Text string `xml:",chardata"`
				} `xml:"failure"`
				Out string `xml:"system-out"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("JUnit report is not well-formed XML: %v\n%s", err, buf.Bytes())
	}
	tc := doc.Suites[0].Cases[0]
	if tc.Name != "a]]>b" || !strings.Contains(tc.Failure.Text, "]]> <![CDATA[") || tc.Out != "[log] \uFFFD[31mred\uFFFD[0m ]]>\n" {
		t.Errorf("round trip lost text: %+v", tc)
	}
}

func TestJSONReportIsValidJSON(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := report.Write(&buf, report.JSON, fixture(), scrubber()); err != nil {
		t.Fatal(err)
	}
	var v struct {
		Summary  struct{ Total, Passed, Failed, Errored, TimedOut, Skipped int }
		Contract struct {
			Mode                      string
			Violations, Tests, Failed int
		}
		Tests []struct {
			Status         string
			Violations     []struct{ Pointer string }
			ContractFailed bool `json:"contract_failed"`
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	if v.Summary.Total != 7 || len(v.Tests) != 7 || v.Tests[4].Status != "timed out" {
		t.Errorf("summary %+v, %d tests", v.Summary, len(v.Tests))
	}
	if c := v.Contract; c.Mode != "fail" || c.Violations != 3 || c.Tests != 2 || c.Failed != 1 {
		t.Errorf("contract summary %+v, want mode fail, 3 violations in 2 tests, 1 failed", c)
	}
	if len(v.Tests) > 1 && (len(v.Tests[1].Violations) != 2 || v.Tests[1].Violations[0].Pointer != "/lastStatus" || !v.Tests[1].ContractFailed) {
		t.Errorf("test 2: violations %+v, contract_failed %v; want /lastStatus first, failed by the contract", v.Tests[1].Violations, v.Tests[1].ContractFailed)
	}
}
