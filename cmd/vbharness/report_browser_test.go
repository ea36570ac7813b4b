package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browserPath finds headless Chromium. When there is none, the test fails where
// VBHARNESS_REQUIRE_BROWSER=1 (.ci/run sets it, after installing Debian's chromium) and
// is skipped elsewhere, saying how to get one.
func browserPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("VBHARNESS_REQUIRE_BROWSER") == "1" {
		t.Fatal("no Chromium on PATH, and VBHARNESS_REQUIRE_BROWSER=1 requires the browser test to run (apt-get install -y chromium)")
	}
	t.Skip("no Chromium on PATH: the HTML report's browser test needs one (apt-get install -y chromium); CI installs it and sets VBHARNESS_REQUIRE_BROWSER=1")
	return ""
}

// The parts of the JSON report the browser test checks the page against.
type jsonRun struct {
	Summary map[string]int `json:"summary"`
	Tests   []struct {
		Name    string `json:"name"`
		Status  string `json:"status"`
		Message string `json:"message"`
		Stack   string `json:"stack"`
		Excerpt *struct {
			Line  int `json:"line"`
			Lines []struct {
				N    int    `json:"n"`
				Text string `json:"text"`
			} `json:"lines"`
		} `json:"excerpt"`
		Trace []struct {
			URL            string            `json:"url"`
			Status         int               `json:"status"`
			AtMS           float64           `json:"at_ms"`
			RequestBody    string            `json:"request_body"`
			RequestHeaders map[string]string `json:"request_headers"`
			ResponseBody   string            `json:"response_body"`
			Uses           []string          `json:"uses"`
			Issues         []string          `json:"issues"`
		} `json:"trace"`
		Tokens []jsonToken `json:"tokens"`
		Clock  []jsonStep  `json:"clock"`
	} `json:"tests"`
}

type jsonToken struct {
	ID        string   `json:"id"`
	Kind      string   `json:"kind"`
	IssuedMS  float64  `json:"issued_ms"`
	ExpiresMS *float64 `json:"expires_ms"`
}

type jsonStep struct {
	AtMS float64 `json:"at_ms"`
	ByMS float64 `json:"by_ms"`
	How  string  `json:"how"`
}

// What the page shows of one test's timeline, read from the DOM.
type pageBar struct {
	Token, Kind     string
	Issued, Expires float64
	HasExpiry       bool
}
type pageMark struct {
	X     int
	Token string
	Kind  string
	At    float64
}
type pageBreak struct{ From, To float64 }
type pageTimeline struct {
	Bars   []pageBar
	Marks  []pageMark
	Breaks []pageBreak
}

const readTimeline = `(function (i) {
  const root = document.getElementById("test-" + i);
  const num = (e, a) => Number(e.getAttribute(a));
  return {
    Bars: [...root.querySelectorAll("rect.bar")].map(b => ({Token: b.dataset.token, Kind: b.dataset.kind,
      Issued: num(b, "data-issued-ms"), Expires: num(b, "data-expires-ms"), HasExpiry: b.hasAttribute("data-expires-ms")})),
    Marks: [...root.querySelectorAll("g.mark")].map(m => ({X: num(m, "data-x"), Token: m.dataset.token || "", Kind: m.dataset.kind, At: num(m, "data-at-ms")})),
    Breaks: [...root.querySelectorAll("g.break.advance")].map(b => ({From: num(b, "data-from-ms"), To: num(b, "data-to-ms")})),
  };
})`

// TestHTMLReportInABrowser runs testdata/report (a refresh, a refused refresh token, a
// failing test, a skipped one) with --report json and --report html, opens the HTML from
// disk in headless Chromium through the DevTools protocol, and checks the page against
// the JSON report: the totals and filters, every test's token bars (ids, kinds, issue
// and expiry times), its marks (one per token a request carried or a response issued,
// refusals for 401 and invalid_grant), the clock advance drawn as a break, the failing
// test's error and script excerpt, and a mark's exchange. With
// VBHARNESS_UPDATE_SCREENSHOT=1 it saves docs/img/report.png.
func TestHTMLReportInABrowser(t *testing.T) {
	chrome := browserPath(t)
	dir := t.TempDir()
	jsonPath, htmlPath := filepath.Join(dir, "report.json"), filepath.Join(dir, "report.html")
	cmd := exec.Command(binary(t), "run", "testdata/report", "--seed", "7", "--report", "json="+jsonPath, "--report", "html="+htmlPath)
	out, err := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != 1 {
		t.Fatalf("run exited %d (%v), want 1 (one test fails)\n%s", code, err, out)
	}
	var rep jsonRun
	raw, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(htmlPath)
	if err != nil {
		t.Fatal(err)
	}
	// A JWT's header and payload in the page would be a token that escaped redaction.
	if m := regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}`).Find(page); m != nil {
		t.Errorf("the HTML report holds a JWT: %.40s…", m)
	}
	if n := len(rep.Tests); n != 4 {
		t.Fatalf("%d tests in the JSON report, want 4", n)
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome), chromedp.NoSandbox, chromedp.WindowSize(1280, 1000),
		chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	defer cancelTimeout()

	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+htmlPath), chromedp.WaitVisible(chromedp.CSS("#tests .test"))); err != nil {
		t.Fatalf("open the report: %v", err)
	}
	title := run(t, ctx, chromedp.Title())
	totals := run(t, ctx, chromedp.Evaluate[map[string]string](`Object.fromEntries([...document.querySelectorAll("#totals .total")].map(e => [e.dataset.count, e.querySelector("b").textContent]))`))
	if !strings.Contains(title, "2 passed, 1 failed, 1 skipped") {
		t.Errorf("title %q lacks the summary", title)
	}
	for k, v := range map[string]string{"total": "4", "passed": "2", "failed": "1", "skipped": "1"} {
		if totals[k] != v {
			t.Errorf("summary shows %s %q, want %s (%v)", k, totals[k], v, totals)
		}
	}

	failing := -1
	for i, tst := range rep.Tests {
		if tst.Status == "failed" {
			failing = i
		}
		if len(tst.Trace) == 0 {
			continue
		}
		if err := chromedp.Do(ctx,
			chromedp.Click(chromedp.CSS(fmt.Sprintf("#test-%d > .head", i))),
			chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf("#test-%d svg.timeline", i))),
		); err != nil {
			t.Fatalf("test %q: open it: %v", tst.Name, err)
		}
		got := run(t, ctx, chromedp.Evaluate[pageTimeline](fmt.Sprintf("%s(%d)", readTimeline, i)))
		// Bars: one per token of the JSON report, same id, kind and times.
		if len(got.Bars) != len(tst.Tokens) {
			t.Errorf("test %q: %d bars, the JSON report has %d tokens", tst.Name, len(got.Bars), len(tst.Tokens))
		}
		kinds := map[string]bool{}
		for j := range min(len(got.Bars), len(tst.Tokens)) {
			b, k := got.Bars[j], tst.Tokens[j]
			kinds[k.Kind] = true
			if b.Token != k.ID || b.Kind != k.Kind || b.Issued != k.IssuedMS || b.HasExpiry != (k.ExpiresMS != nil) || (k.ExpiresMS != nil && b.Expires != *k.ExpiresMS) {
				t.Errorf("test %q: bar %+v, token %+v (expires %v)", tst.Name, b, k, k.ExpiresMS)
			}
		}
		for _, k := range []string{"entra_access", "entra_refresh", "veeam_access", "veeam_refresh"} {
			if !kinds[k] {
				t.Errorf("test %q: no %s bar (bars %+v)", tst.Name, k, got.Bars)
			}
		}
		// Marks, derived here from the JSON trace on their own: each token a request
		// carried and each a response issued; a 401 or invalid_grant refuses what the
		// request carried; a request with no known token is one mark of its own.
		var want []pageMark
		for x, ex := range tst.Trace {
			refused := ex.Status == 401 || strings.Contains(ex.ResponseBody, `"error":"invalid_grant"`)
			for _, id := range ex.Uses {
				k := "use"
				if refused {
					k = "refusal"
				} else if strings.Contains(ex.RequestBody, "grant_type=refresh_token") && strings.Contains(tokenKind(tst.Tokens, id), "refresh") {
					k = "refresh"
				}
				want = append(want, pageMark{X: x, Token: id, Kind: k, At: ex.AtMS})
			}
			for _, id := range ex.Issues {
				want = append(want, pageMark{X: x, Token: id, Kind: "issue", At: ex.AtMS})
			}
			if len(ex.Uses) == 0 && len(ex.Issues) == 0 {
				k := "other"
				if refused {
					k = "refusal"
				}
				want = append(want, pageMark{X: x, Kind: k, At: ex.AtMS})
			}
		}
		if !slices.Equal(got.Marks, want) {
			t.Errorf("test %q: marks on the page\n%+v\nwant, from the JSON trace,\n%+v", tst.Name, got.Marks, want)
		}
		count := func(kind string) (n int) {
			for _, m := range got.Marks {
				if m.Kind == kind {
					n++
				}
			}
			return n
		}
		switch tst.Name {
		case "an hour later the token is refreshed":
			if count("refusal") != 1 || count("refresh") != 1 {
				t.Errorf("test %q: %d refusals and %d refreshes, want 1 and 1", tst.Name, count("refusal"), count("refresh"))
			}
		case "a refreshed token outlives its hour (it does not)":
			if count("refusal") != 2 || count("refresh") != 1 {
				t.Errorf("test %q: %d refusals and %d refreshes, want 2 (401s) and 1", tst.Name, count("refusal"), count("refresh"))
			}
		case "a spent refresh token is refused":
			if count("refusal") != 1 || count("refresh") != 1 {
				t.Errorf("test %q: %d refusals and %d refreshes, want 1 (invalid_grant) and 1", tst.Name, count("refusal"), count("refresh"))
			}
		}
		// Every clock advance is drawn as a break inside it, and every break lies in one.
		for _, s := range tst.Clock {
			if s.How != "advance" {
				continue
			}
			if !slices.ContainsFunc(got.Breaks, func(b pageBreak) bool { return b.From >= s.AtMS && b.To <= s.AtMS+s.ByMS }) {
				t.Errorf("test %q: the advance %+v is drawn as no break (%+v)", tst.Name, s, got.Breaks)
			}
		}
		for _, b := range got.Breaks {
			if !slices.ContainsFunc(tst.Clock, func(s jsonStep) bool {
				return s.How == "advance" && b.From >= s.AtMS && b.To <= s.AtMS+s.ByMS
			}) {
				t.Errorf("test %q: break %+v is no clock advance", tst.Name, b)
			}
		}
	}

	// The failing test: its error, the excerpt at its failing line, and the exchange
	// behind its refusal mark.
	if failing < 0 || rep.Tests[failing].Excerpt == nil {
		t.Fatalf("no failing test with an excerpt in the JSON report")
	}
	ft := rep.Tests[failing]
	sel := fmt.Sprintf("#test-%d", failing)
	message := run(t, ctx, chromedp.Text(chromedp.CSS(sel+" .error .message")))
	failLine := run(t, ctx, chromedp.Text(chromedp.CSS(sel+" .excerpt .src.fail")))
	if message != ft.Message {
		t.Errorf("the page shows the error %q, the JSON report %q", message, ft.Message)
	}
	wantLine := ""
	for _, l := range ft.Excerpt.Lines {
		if l.N == ft.Excerpt.Line {
			wantLine = fmt.Sprint(l.N) + l.Text
		}
	}
	if !strings.Contains(ft.Stack, fmt.Sprintf("session.js:%d:", ft.Excerpt.Line)) || !strings.Contains(wantLine, `toHaveStatus(200)`) {
		t.Errorf("the excerpt's line %d is not the stack's first frame (%q) or not the failing expect (%q)", ft.Excerpt.Line, ft.Stack, wantLine)
	}
	if failLine != wantLine {
		t.Errorf("the page marks the line %q, want %q", failLine, wantLine)
	}
	var refused int = -1
	for x, ex := range ft.Trace {
		if ex.Status == 401 {
			refused = x
		}
	}
	if refused < 0 {
		t.Fatal("the failing test's trace has no 401")
	}
	// The last refusal is the one the test failed on.
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`%s g.mark.refusal[data-x="%d"]`, sel, refused))),
		chromedp.WaitVisible(chromedp.CSS(sel+" .exchange")),
	); err != nil {
		t.Fatalf("failing test: click its refusal: %v", err)
	}
	panel := run(t, ctx, chromedp.Text(chromedp.CSS(sel+" .exchange")))
	ex := ft.Trace[refused]
	auth := ex.RequestHeaders["Authorization"]
	if !strings.Contains(panel, ex.URL) || !strings.Contains(panel, "401") || !strings.Contains(auth, "[redacted …") || !strings.Contains(panel, "Authorization: "+auth) {
		t.Errorf("the refusal's exchange panel does not show %s → 401 with the redacted %q:\n%s", ex.URL, auth, panel)
	}

	if os.Getenv("VBHARNESS_UPDATE_SCREENSHOT") == "1" {
		// The failing test open, the others closed: quality 100 is a PNG.
		for i, tst := range rep.Tests {
			if i != failing && len(tst.Trace) > 0 {
				if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(fmt.Sprintf("#test-%d > .head", i)))); err != nil {
					t.Fatal(err)
				}
			}
		}
		png := run(t, ctx, chromedp.FullScreenshot(100))
		if err := os.WriteFile(filepath.Join("..", "..", "docs", "img", "report.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// Filters: "Failed" leaves the failing test; the tag "lab" the skipped one.
	const visibleRows = `[...document.querySelectorAll("#tests .test")].filter(e => !e.hidden).map(e => e.dataset.status)`
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#filters button[data-filter="failed"]`))); err != nil {
		t.Fatal(err)
	}
	visible := run(t, ctx, chromedp.Evaluate[[]string](visibleRows))
	if !slices.Equal(visible, []string{"failed"}) {
		t.Errorf("with the Failed filter the page shows %v, want [failed]", visible)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#filters button[data-filter="all"]`)),
		chromedp.SetValue(chromedp.CSS(`#tag-filter`), "lab"),
	); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, chromedp.Evaluate[bool](`document.getElementById("tag-filter").dispatchEvent(new Event("change"))`))
	visible = run(t, ctx, chromedp.Evaluate[[]string](visibleRows))
	if !slices.Equal(visible, []string{"skipped"}) {
		t.Errorf("with the tag lab the page shows %v, want [skipped]", visible)
	}
}

func tokenKind(tokens []jsonToken, id string) string {
	for _, k := range tokens {
		if k.ID == id {
			return k.Kind
		}
	}
	return ""
}

// run runs one browser action and returns its value, failing the test on an error.
func run[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
