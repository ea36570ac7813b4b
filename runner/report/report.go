package report

import (
	"fmt"
	"strings"
	"time"

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
