package report

import (
	_ "embed"
	"encoding/json"
	"strings"

	"github.com/vbharness/vbharness/engine"
)

// The HTML report's page: a shell, its style and its script, embedded so the report is
// one file that opens from disk with no network.
var (
	//go:embed html/report.html
	htmlShell string
	//go:embed html/report.css
	htmlCSS string
	//go:embed html/report.js
	htmlJS string
)

// htmlData is the one JSON document the page renders from. Tests are rendered when they
// are opened, so a report of thousands of tests opens at once.
type htmlData struct {
	jsonReport
	Tags  []string   `json:"tags"`  // every tag of the run, sorted, for the tag filter
	Tests []htmlTest `json:"tests"` // shadows jsonReport.Tests
}

// htmlTest is a test as the JSON report has it, plus the marks of its timeline.
type htmlTest struct {
	jsonTest
	Marks []htmlMark `json:"marks,omitempty"`
}

// htmlMark is one mark on a test's token timeline: exchange Exchange seen on the row of
// token Token ("" for the row of requests that carried no known token).
type htmlMark struct {
	Exchange int     `json:"x"`
	Token    string  `json:"token,omitempty"`
	Kind     string  `json:"kind"` // use, refresh, refusal, issue, other
	AtMS     float64 `json:"at_ms"`
}

// marks classifies every exchange of a trace for the timeline: each token a request
// carried is used (or refreshed, when it is the refresh token of a refresh_token grant),
// each token a response issued is an issue, a 401 or an invalid_grant answer is a
// refusal of what the request carried, and a request that carried and got no known
// token is a mark on the row of other requests.
func marks(trace []engine.Exchange, tokens []engine.Token) []htmlMark {
	kind := map[string]engine.TokenKind{}
	for _, t := range tokens {
		kind[t.ID] = t.Kind
	}
	var out []htmlMark
	for i := range trace {
		x := &trace[i]
		refused := x.Status == 401 || (x.Status == 400 && invalidGrant(x.ResponseBody))
		refresh := strings.Contains(x.RequestBody, "grant_type=refresh_token") || strings.Contains(x.RequestBody, `"grant_type":"refresh_token"`)
		for _, id := range x.Uses {
			k := "use"
			switch {
			case refused:
				k = "refusal"
			case refresh && strings.HasSuffix(string(kind[id]), "_refresh"):
				k = "refresh"
			}
			out = append(out, htmlMark{Exchange: i, Token: id, Kind: k, AtMS: x.AtMS})
		}
		for _, id := range x.Issues {
			out = append(out, htmlMark{Exchange: i, Token: id, Kind: "issue", AtMS: x.AtMS})
		}
		if len(x.Uses) == 0 && len(x.Issues) == 0 {
			k := "other"
			if refused {
				k = "refusal"
			}
			out = append(out, htmlMark{Exchange: i, Kind: k, AtMS: x.AtMS})
		}
	}
	return out
}

// invalidGrant reports whether a response body is an OAuth error invalid_grant.
func invalidGrant(body string) bool {
	if !strings.Contains(body, "invalid_grant") {
		return false
	}
	var e struct {
		Error string `json:"error"`
	}
	return json.Unmarshal([]byte(body), &e) == nil && e.Error == "invalid_grant"
}
