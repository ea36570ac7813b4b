package report

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/vbharness/vbharness/runner"
)

// Format is a report file format.
type Format string

// The report file formats.
const (
	JUnit Format = "junit"
	JSON  Format = "json"
	TAP   Format = "tap"
	HTML  Format = "html"
)

// Formats lists the report file formats in the order help texts name them.
var Formats = []Format{JUnit, JSON, TAP, HTML}

// Spec is one --report flag: a format and the file to write.
type Spec struct {
	Format Format
	Path   string
}

// ParseSpec parses a --report value, FORMAT=FILE.
func ParseSpec(s string) (Spec, error) {
	f, p, ok := strings.Cut(s, "=")
	if !ok || p == "" {
		return Spec{}, fmt.Errorf("--report %q: want FORMAT=FILE, e.g. junit=results.xml", s)
	}
	for _, known := range Formats {
		if Format(f) == known {
			return Spec{Format: known, Path: p}, nil
		}
	}
	return Spec{}, fmt.Errorf("--report %q: unknown format %q; known formats: junit, json, tap, html", s, f)
}

// ms converts a duration to milliseconds with microsecond precision.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// displayName is how reports name a test: file › name.
func displayName(r *runner.Result) string { return r.File + " › " + r.Name }

// printable is s for a terminal line: each control character (a line break, an escape
// sequence's ESC, U+2028 and U+2029, the bidirectional overrides) written as its Go
// escape, so a test's name (a test.each row's, say) cannot start a line of its own that
// reads as another test's result, or recolour the ones after it.
func printable(s string) string {
	if strings.IndexFunc(s, needsEscape) < 0 {
		return s
	}
	var b strings.Builder
	for _, c := range s {
		if needsEscape(c) {
			q := strconv.QuoteRune(c) // '\n', '\x1b', '\u2028'
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// needsEscape reports whether printable escapes c: a control character, a line or
// paragraph separator, or a bidirectional embedding, override or isolate.
func needsEscape(c rune) bool {
	return unicode.IsControl(c) || c == '\u2028' || c == '\u2029' || (c >= '\u202a' && c <= '\u202e') || (c >= '\u2066' && c <= '\u2069')
}
