package main

// Output promises in the docs' sh blocks: splitting a block into its commands, reading the
// `# → …` annotations, and matching outputs against them. The syntax is described in the
// header of docs_test.go.

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// shellCommand is one top-level command of an sh block: the lines it spans (a command
// continues over a trailing `\`, `|` or `&&`, and while a quote, `$(…)`, `(…)`, `{ …; }`
// or `${…}` is open), with its annotation, if any, cut off the last line.
type shellCommand struct {
	first, last int      // indices of its first and last line in the block's body
	lines       []string // the lines, the annotation removed
	want        *expectation
	wantAt      int      // index of the annotation's (first) line
	wantLines   []string // the annotation's lines, as written after the arrow
	wantOwnLine bool     // the annotation is on lines of its own after the command
	code        bool     // the lines hold code, not only blanks and comments
}

// expectation is what an annotation or a `text output` block promises a command prints.
type expectation struct {
	written string         // as the doc writes it, for messages
	re      *regexp.Regexp // the whole (normalised) output must match
	search  bool           // the `~ RE` form: re is searched in the output, not anchored
}

// arrow starts an annotation: a comment on the last line of a command, or comments on the
// lines right after it, one per line of output.
const arrow = "→"

// outputLikeRE finds comments that state an output without the arrow (`# 401`,
// `# {"status":"ok"}`), which the test could not check: they must be written as annotations.
var outputLikeRE = regexp.MustCompile(`^#\s*(\d{3}\b|[{\[])`)

// splitCommands splits an sh block's body into commands and reads their annotations. Errors
// name the doc's line: the body's first line is line first of doc.
func splitCommands(body, doc string, first int) ([]shellCommand, error) {
	lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
	var (
		out []shellCommand
		cur *shellCommand
		lx  shellLexer
	)
	for i, line := range lines {
		if cur == nil {
			cur = &shellCommand{first: i}
		}
		cut := lx.scanLine(line)
		code, comment := line, ""
		if cut >= 0 {
			code, comment = line[:cut], line[cut:]
		}
		code = strings.TrimRight(code, " \t")
		open := len(lx.stack) > 0 || strings.HasSuffix(code, "\\") || strings.HasSuffix(code, "|") || strings.HasSuffix(code, "&&")
		note, annotated := strings.CutPrefix(strings.TrimLeft(strings.TrimPrefix(comment, "#"), " "), arrow)
		note = strings.TrimPrefix(note, " ")
		switch {
		case annotated && open:
			return nil, fmt.Errorf("%s:%d: an annotation (# %s) must be on the last line of its command or on the lines after it", doc, first+i, arrow)
		case annotated && code == "":
			// A line of output of the command before.
			var prev *shellCommand
			if len(out) > 0 {
				prev = &out[len(out)-1]
			}
			switch {
			case prev == nil || !prev.code || prev.last+len(prev.wantLines) != i-1 && prev.last != i-1:
				return nil, fmt.Errorf("%s:%d: an annotation (# %s) on a line of its own must follow its command or the annotation lines after it", doc, first+i, arrow)
			case len(prev.wantLines) > 0 && !prev.wantOwnLine:
				return nil, fmt.Errorf("%s:%d: this command's annotation is already at the end of its line", doc, first+i)
			}
			if len(prev.wantLines) == 0 {
				prev.wantAt = i
			}
			prev.wantOwnLine = true
			prev.wantLines = append(prev.wantLines, note)
			cur = nil
			continue
		case annotated:
			cur.wantAt = i
			cur.wantLines = []string{note}
			line = code
		case code != "" && outputLikeRE.MatchString(comment):
			return nil, fmt.Errorf("%s:%d: the comment %q reads like a promised output; write it as `# %s %s` so that it is checked",
				doc, first+i, comment, arrow, strings.TrimSpace(comment[1:]))
		}
		cur.lines = append(cur.lines, line)
		cur.code = cur.code || code != ""
		if !open {
			cur.last = i
			out = append(out, *cur)
			cur = nil
		}
	}
	if cur != nil {
		return nil, fmt.Errorf("%s:%d: the command starting here is not finished (an open quote, bracket or continuation)", doc, first+cur.first)
	}
	for i := range out {
		c := &out[i]
		if len(c.wantLines) == 0 {
			continue
		}
		text := strings.Join(c.wantLines, "\n")
		if strings.HasPrefix(text, "~ ") && len(c.wantLines) > 1 {
			return nil, fmt.Errorf("%s:%d: a regular expression (# %s ~) takes one line", doc, first+c.wantAt, arrow)
		}
		want, err := parseExpectation(text, false)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", doc, first+c.wantAt, err)
		}
		c.want = want
	}
	return out, nil
}

// shellLexer follows bash's quoting across the lines of a block, enough to know where a
// command ends and where a comment starts: it tracks single and double quotes, `$(…)` and
// `(…)`, brace groups and `${…}`, and backslash escapes.
type shellLexer struct {
	stack []byte // '\'', '"', '(', '{' (a group) or '$' (${…})
}

func (lx *shellLexer) top() byte {
	if len(lx.stack) == 0 {
		return 0
	}
	return lx.stack[len(lx.stack)-1]
}

func (lx *shellLexer) push(c byte) { lx.stack = append(lx.stack, c) }
func (lx *shellLexer) pop()        { lx.stack = lx.stack[:len(lx.stack)-1] }

// wordStart reports whether s[i] begins a shell word.
func wordStart(s string, i int) bool {
	return i == 0 || strings.IndexByte(" \t;|&(", s[i-1]) >= 0
}

// scanLine advances over one line and returns the offset of the comment that ends it, or -1.
func (lx *shellLexer) scanLine(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		next := byte(0)
		if i+1 < len(s) {
			next = s[i+1]
		}
		switch lx.top() {
		case '\'':
			if c == '\'' {
				lx.pop()
			}
			continue
		case '$':
			if c == '}' {
				lx.pop()
			}
			continue
		case '"':
			switch {
			case c == '\\':
				i++
			case c == '"':
				lx.pop()
			case c == '$' && next == '(':
				lx.push('(')
				i++
			case c == '$' && next == '{':
				lx.push('$')
				i++
			}
			continue
		}
		switch {
		case c == '\\':
			i++
		case c == '\'' || c == '"':
			lx.push(c)
		case c == '$' && next == '(':
			lx.push('(')
			i++
		case c == '$' && next == '{':
			lx.push('$')
			i++
		case c == '(':
			lx.push('(')
		case c == ')' && lx.top() == '(':
			lx.pop()
		case c == '{' && wordStart(s, i) && (next == 0 || next == ' ' || next == '\t'):
			lx.push('{')
		case c == '}' && lx.top() == '{' && wordStart(s, i):
			lx.pop()
		case c == '#' && wordStart(s, i):
			return i
		}
	}
	return -1
}

// parseExpectation reads a promised output: `~ RE` is a Go regular expression searched in the
// output; anything else is the output itself, where `…` stands for any text and a line that
// is only `…` for any number of lines, none included. block says the text is a whole
// `text output` block (so the `~` form is not available).
func parseExpectation(s string, block bool) (*expectation, error) {
	if rest, ok := strings.CutPrefix(s, "~ "); ok && !block {
		re, err := regexp.Compile(rest)
		if err != nil {
			return nil, fmt.Errorf("the annotation's regular expression: %w", err)
		}
		return &expectation{written: s, re: re, search: true}, nil
	}
	text := strings.TrimRight(s, "\n")
	if text == "" {
		return &expectation{written: s, re: regexp.MustCompile(`^$`)}, nil
	}
	var pat strings.Builder
	pat.WriteString("^")
	for _, line := range strings.Split(text, "\n") {
		if line == "…" {
			pat.WriteString(`(?s:.*\n)?`)
			continue
		}
		for i, part := range strings.Split(line, "…") {
			if i > 0 {
				pat.WriteString(`(?s:.*)`)
			}
			pat.WriteString(regexp.QuoteMeta(part))
		}
		pat.WriteString(`\n`)
	}
	pat.WriteString("$")
	return &expectation{written: s, re: regexp.MustCompile(pat.String())}, nil
}

// match reports whether out, a command's standard output, is what e promises. Trailing
// newlines do not count.
func (e *expectation) match(out string) bool {
	out = strings.TrimRight(out, "\n")
	if e.search {
		return e.re.MatchString(out)
	}
	if out != "" {
		out += "\n"
	}
	return e.re.MatchString(out)
}

func TestShellCommands(t *testing.T) {
	type cmd struct {
		first, last int
		want        string
	}
	for _, tc := range []struct {
		name string
		body string
		want []cmd
	}{
		{"one command per line", "a\nb # → x\n\nc # a note", []cmd{{0, 0, ""}, {1, 1, "x"}, {2, 2, ""}, {3, 3, ""}}},
		{"a backslash continues the command", "curl a \\\n  -d b   # → 401\nnext", []cmd{{0, 1, "401"}, {2, 2, ""}}},
		{"a pipe at the end continues it", "a |\n  jq . # → 1", []cmd{{0, 1, "1"}}},
		{"single quotes span lines", "curl -d '{\"a\":1,\n  \"b\":2}' # → {}", []cmd{{0, 1, "{}"}}},
		{"a hash inside quotes is no comment", "echo '# → no' \"# → no\" # → yes", []cmd{{0, 0, "yes"}}},
		{"a function body", "f() {\n  curl x | jq -r .a\n}\nX=$(f)", []cmd{{0, 2, ""}, {3, 3, ""}}},
		{"command substitution in double quotes", "curl -d \"{\\\"c\\\":\\\"$(echo \"$DC\" | jq -r .c)\\\"}\" # → ok", []cmd{{0, 0, "ok"}}},
		{"${#x} is no comment", "echo ${#x} $# # → 3", []cmd{{0, 0, "3"}}},
		{"annotation lines after the command", "a\n# → {\n# →   \"b\": 1\n# → }\nc", []cmd{{0, 0, "{\n  \"b\": 1\n}"}, {4, 4, ""}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := splitCommands(tc.body+"\n", "x.md", 1)
			if err != nil {
				t.Fatal(err)
			}
			var gotc []cmd
			for _, c := range got {
				w := ""
				if c.want != nil {
					w = c.want.written
				}
				gotc = append(gotc, cmd{c.first, c.last, w})
			}
			if fmt.Sprint(gotc) != fmt.Sprint(tc.want) {
				t.Errorf("got %v, want %v", gotc, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		name, body, err string
	}{
		{"an annotation inside a command", "curl a \\ # → 1\n  b", "must be on the last line"},
		{"an annotation alone", "# → 1", "must follow its command"},
		{"an annotation after a blank line", "a\n\n# → 1", "must follow its command"},
		{"annotations at the end and after", "a # → 1\n# → 2", "already at the end of its line"},
		{"a regular expression over lines", "a\n# → ~ 1\n# → 2", "takes one line"},
		{"an unfinished quote", "echo 'a\n", "not finished"},
		{"a status in a plain comment", "curl -w '%{http_code}' x   # 401", "write it as `# → 401`"},
		{"JSON in a plain comment", `curl x # {"status":"ok"}`, "reads like a promised output"},
		{"a bad regular expression", "x # → ~ (", "regular expression"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := splitCommands(tc.body+"\n", "x.md", 1)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("error %v, want one containing %q", err, tc.err)
			}
		})
	}
}

func TestExpectationMatch(t *testing.T) {
	for _, tc := range []struct {
		name, want, out string
		match           bool
	}{
		{"exact", "401", "401\n", true},
		{"exact, another value", "401", "200\n", false},
		{"exact, more output", "401", "401\n401\n", false},
		{"exact, a prefix only", "40", "401", false},
		{"an ellipsis in a line", `{"now":"…","virtual":false}`, `{"now":"2026-01-05T09:00:00Z","virtual":false}`, true},
		{"an ellipsis keeps the rest exact", `{"now":"…","virtual":false}`, `{"now":"x","virtual":true}`, false},
		{"an ellipsis line takes lines", "a\n…\nz", "a\nb\nc\nz\n", true},
		{"an ellipsis line takes none", "a\n…\nz", "a\nz", true},
		{"an ellipsis line keeps the ends", "a\n…\nz", "a\nb\ny", false},
		{"an ellipsis starts the output", "… passed, 0 failed, 0 skipped", "run: 3 tests\n\n3 passed, 0 failed, 0 skipped\n", true},
		{"no ellipsis for a count", "… passed, 0 failed, 0 skipped", "3 passed, 10 failed, 0 skipped\n", false},
		{"regular expression", `~ ^eyJ[\w-]+\.[\w-]+\.[\w-]+$`, "eyJa.b-c.d_e\n", true},
		{"regular expression, no match", `~ ^eyJ[\w-]+\.[\w-]+\.[\w-]+$`, "eyJa.b\n", false},
		{"metacharacters are literal", "a.b (c) [d]*", "a.b (c) [d]*", true},
		{"metacharacters are literal, no match", "a.b", "axb", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := parseExpectation(tc.want, false)
			if err != nil {
				t.Fatal(err)
			}
			if got := e.match(tc.out); got != tc.match {
				t.Errorf("%q matching %q: %v, want %v", tc.want, tc.out, got, tc.match)
			}
		})
	}
}
