package report

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vbharness/vbharness/engine"
	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/mocks/secret"
	"github.com/vbharness/vbharness/runner"
)

// ConsoleOptions configure the console reporter.
type ConsoleOptions struct {
	// Color turns on ANSI colours (a terminal without --no-color or NO_COLOR).
	Color bool
	// Live draws a progress line (running, passed, failed, skipped, elapsed) that is
	// redrawn on every event and by Tick. Only for a terminal.
	Live bool
	// Verbose prints console output and the HTTP trace of passing tests too.
	Verbose bool
	// Clock measures elapsed time for the progress line; default a real clock.
	Clock clock.Clock
	// Scrubber, if set, scrubs everything written.
	Scrubber *secret.Scrubber
	// BodyLimit caps the request and response bodies the trace prints; 0 means 2048
	// bytes, a negative value means no limit. Report files always hold whole bodies.
	BodyLimit int
	// TraceEnds is how many exchanges of a test's HTTP trace the console shows at each
	// end when the trace is longer than twice that plus one; 0 means 3, a negative value
	// means all. Verbose shows all. Report files always hold the whole trace.
	TraceEnds int
}

// Console is the console reporter: it implements runner.Observer and prints the header,
// a line per finished test and, at the end, the details and the summary line. Its
// methods are safe for concurrent use (Tick runs on a ticker goroutine).
type Console struct {
	w    io.Writer
	o    ConsoleOptions
	mu   sync.Mutex
	t0   time.Time
	live bool // a progress line is on screen

	running, passed, failed, skipped int
}

// NewConsole returns a console reporter writing to w.
func NewConsole(w io.Writer, o ConsoleOptions) *Console {
	if o.Clock == nil {
		o.Clock = clock.NewReal()
	}
	if o.BodyLimit == 0 {
		o.BodyLimit = 2048
	}
	if o.TraceEnds == 0 {
		o.TraceEnds = 3
	}
	return &Console{w: w, o: o, t0: o.Clock.Now()}
}

const (
	red    = "31"
	green  = "32"
	yellow = "33"
	bold   = "1"
	dim    = "2"
)

func (c *Console) paint(code, s string) string {
	if !c.o.Color || s == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// write prints s, scrubbed, keeping the progress line below it.
func (c *Console) write(s string) {
	if c.o.Scrubber != nil {
		s = c.o.Scrubber.Scrub(s)
	}
	c.writeRaw(s)
}

// writeRaw prints s as it is, keeping the progress line below it.
func (c *Console) writeRaw(s string) {
	if c.live {
		io.WriteString(c.w, "\r\x1b[2K")
		c.live = false
	}
	io.WriteString(c.w, s)
}

func (c *Console) progress() {
	if !c.o.Live {
		return
	}
	if c.live {
		io.WriteString(c.w, "\r\x1b[2K")
	}
	el := c.o.Clock.Now().Sub(c.t0).Round(100 * time.Millisecond)
	fmt.Fprintf(c.w, "%s running %d · %s · %s · %s skipped · %s",
		c.paint(bold, "▶"), c.running,
		c.paint(green, fmt.Sprintf("%d passed", c.passed)),
		c.paint(red, fmt.Sprintf("%d failed", c.failed)),
		c.paint(yellow, fmt.Sprint(c.skipped)), el)
	c.live = true
}

// Header prints what the run is about to do. insecure adds a warning line.
func (c *Console) Header(p *runner.Plan) {
	c.mu.Lock()
	defer c.mu.Unlock()
	o := p.Options()
	t := o.Target
	timeout := "none"
	if o.Timeout > 0 {
		timeout = o.Timeout.String()
	}
	desc := t.Name
	if t.Description != "" {
		desc += " (" + t.Description + ")"
	}
	tests := plural(p.Selected(), "test")
	if s := p.ShardOf(); !s.IsZero() {
		tests += fmt.Sprintf(" (shard %v of %d)", s, p.Unsharded)
	}
	c.write(fmt.Sprintf("vbharness run: %s in %s on target %s\nparallel %d · timeout %s · seed %d\n",
		tests, plural(p.Files, "file"), desc, o.Parallel, timeout, o.Seed))
	if t.InsecureSkipVerify {
		c.write(c.paint(yellow, fmt.Sprintf("warning: TLS certificate verification is OFF for target %s (insecure_skip_verify: true)", t.Name)) + "\n")
	}
	c.write("\n")
	c.progress()
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// TestStarted implements runner.Observer.
func (c *Console) TestStarted(*runner.Planned) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.running++
	c.progress()
}

// TestFinished implements runner.Observer.
func (c *Console) TestFinished(r *runner.Result) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case r.Status == engine.StatusSkipped:
		c.skipped++
	case r.LoadError:
		c.failed++
	default:
		c.running--
		if r.Failed() {
			c.failed++
		} else {
			c.passed++
		}
	}
	c.write(c.line(r))
	c.progress()
}

// Tick redraws the progress line so its elapsed time moves.
func (c *Console) Tick() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.live {
		c.progress()
	}
}

// Prompt returns a writer for live sign-in prompts that keeps the progress line intact.
// What it writes is not scrubbed: a prompt is for the person at the terminal, and
// carries the user code they must type (the scrubber knows it, as every code the run
// obtained), as `vbharness login` shows it.
func (c *Console) Prompt() io.Writer { return promptWriter{c} }

type promptWriter struct{ c *Console }

func (p promptWriter) Write(b []byte) (int, error) {
	p.c.mu.Lock()
	defer p.c.mu.Unlock()
	p.c.writeRaw(string(b))
	p.c.progress()
	return len(b), nil
}

func (c *Console) label(s engine.Status, load bool) string {
	switch {
	case load:
		return c.paint(red, "LOAD   ")
	case s == engine.StatusPassed:
		return c.paint(green, "PASS   ")
	case s == engine.StatusFailed:
		return c.paint(red, "FAIL   ")
	case s == engine.StatusErrored:
		return c.paint(red, "ERROR  ")
	case s == engine.StatusTimedOut:
		return c.paint(red, "TIMEOUT")
	case s == engine.StatusSkipped:
		return c.paint(yellow, "SKIP   ")
	}
	return string(s)
}

// line is the one-line account of a finished test.
func (c *Console) line(r *runner.Result) string {
	var b strings.Builder
	b.WriteString(c.label(r.Status, r.LoadError))
	b.WriteString(" ")
	if r.LoadError {
		if !strings.HasPrefix(r.Message, r.File) {
			b.WriteString(r.File)
			b.WriteString(": ")
		}
		b.WriteString(firstLine(r.Message))
		b.WriteString("\n")
		return b.String()
	}
	b.WriteString(printable(displayName(r)))
	switch r.Status {
	case engine.StatusSkipped:
		b.WriteString(c.paint(dim, " — "+r.SkipReason))
	default:
		d := " " + Duration(r.Wall)
		if r.Virtual > 0 {
			d += " (virtual " + VirtualDuration(r.Virtual) + ")"
		}
		b.WriteString(c.paint(dim, d))
	}
	b.WriteString("\n")
	return b.String()
}

// Duration formats a wall-clock duration for people: 0ms, 800µs, 12ms, 1.234s, 2m3.5s.
func Duration(d time.Duration) string {
	switch {
	case d > 0 && d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.3fs", d.Seconds())
	default:
		return d.Round(100 * time.Millisecond).String()
	}
}

// VirtualDuration formats time that passed on a scenario clock, in whole seconds once it
// reaches a second: 1h1m0s.
func VirtualDuration(d time.Duration) string {
	if d < time.Second {
		return Duration(d)
	}
	return d.Round(time.Second).String()
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// Summary prints the details of every failure (and, with Verbose, of every test that
// ran), the footer and, last and alone on its line, "N passed, N failed, N skipped".
// o should be the scrubbed outcome; the console's scrubber runs again regardless.
func (c *Console) Summary(o *runner.Outcome) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	for i := range o.Results {
		r := &o.Results[i]
		if !c.Details(r) {
			continue
		}
		b.WriteString("\n")
		c.details(&b, r)
	}
	if n := o.Omitted.Capped; n > 0 {
		fmt.Fprintf(&b, "\n… and the details of %s more: the run keeps %d in memory; --report json=FILE (or junit, tap, html) has every test\n",
			plural(n, "test"), len(o.Results))
	}
	cn := o.Counts()
	loads := o.Omitted.LoadErrors // scripts that failed to load: counted errored, but no seed reproduces them
	for i := range o.Results {
		if o.Results[i].LoadError {
			loads++
		}
	}
	b.WriteString("\n")
	if cn.AllFailed() > 0 {
		var parts []string
		if n := cn.Failed - o.Contract.Failed; n > 0 {
			parts = append(parts, plural(n, "assertion failure"))
		}
		if n := o.Contract.Failed; n > 0 {
			parts = append(parts, plural(n, "contract failure"))
		}
		if n := cn.Errored - loads; n > 0 {
			parts = append(parts, fmt.Sprintf("%d errored", n))
		}
		if cn.TimedOut > 0 {
			parts = append(parts, fmt.Sprintf("%d timed out", cn.TimedOut))
		}
		if loads > 0 {
			parts = append(parts, plural(loads, "script")+" failed to load")
		}
		switch {
		case cn.AllFailed() > loads:
			fmt.Fprintf(&b, "failed: %s; reproduce with --seed %d\n", strings.Join(parts, ", "), o.Seed)
		case loads == 1:
			fmt.Fprintf(&b, "failed: %s; fix it and run again\n", strings.Join(parts, ", "))
		default:
			fmt.Fprintf(&b, "failed: %s; fix them and run again\n", strings.Join(parts, ", "))
		}
	}
	if o.Stopped {
		b.WriteString("--fail-fast stopped the run after the first failure\n")
	}
	if o.Interrupted {
		b.WriteString(c.paint(yellow, "interrupted: tests that had not started were not run") + "\n")
	}
	if line := o.Contract.Line(); line != "" {
		b.WriteString(line + "\n")
	}
	fmt.Fprintf(&b, "finished in %s\n", Duration(o.Elapsed))
	b.WriteString(cn.Summary())
	b.WriteString("\n")
	c.write(b.String())
}

// Details reports whether the summary shows r in detail: every failure and, with
// Verbose, every passing test that printed or made requests; and every test with a
// contract violation (warn mode), so each violation is seen with its pointer. The CLI keeps only these
// results of a run (runner.Options.Keep), at most DetailsKept of them.
func (c *Console) Details(r *runner.Result) bool {
	return r.Failed() || len(r.Violations) > 0 || (c.o.Verbose && r.Status == engine.StatusPassed && (len(r.Console) > 0 || len(r.Trace) > 0))
}

// DetailsKept is how many results the console summary shows in detail at most: a run of
// any length keeps only these in memory (the report files have every test).
const DetailsKept = 100

func (c *Console) details(b *strings.Builder, r *runner.Result) {
	head := fmt.Sprintf("── %s %s", strings.TrimSpace(c.label(r.Status, r.LoadError)), printable(displayName(r)))
	if r.LoadError {
		head = fmt.Sprintf("── %s %s", strings.TrimSpace(c.label(r.Status, true)), r.File)
	}
	b.WriteString(c.paint(bold, head))
	b.WriteString("\n")
	if r.Message != "" {
		indent(b, r.Message, "   ")
	}
	if r.Expected != "" || r.Actual != "" {
		b.WriteString("   " + c.paint(green, "expected: "+r.Expected) + "\n")
		b.WriteString("   " + c.paint(red, "actual:   "+r.Actual) + "\n")
	}
	if r.Stack != "" {
		indent(b, r.Stack, "     ")
	}
	if !r.LoadError && r.Status != engine.StatusSkipped {
		fmt.Fprintf(b, "   %s\n", c.paint(dim, fmt.Sprintf("wall %s · virtual %s · seed %d", Duration(r.Wall), VirtualDuration(r.Virtual), r.Seed)))
	}
	if n := len(r.Violations); n > 0 {
		fmt.Fprintf(b, "   contract (%s):\n", plural(n, "violation"))
		for i, v := range r.Violations {
			if i == maxViolationsShown {
				fmt.Fprintf(b, "     … %d more (--report json=FILE has them all)\n", n-i)
				break
			}
			indent(b, c.paint(yellow, v.String()), "     ")
		}
	}
	if len(r.Console) > 0 {
		b.WriteString("   console:\n")
		for _, l := range r.Console {
			indent(b, fmt.Sprintf("%-5s %s", l.Level, l.Text), "     ")
		}
	}
	if n, ends := len(r.Trace), c.o.TraceEnds; n > 0 {
		// A polling or paging test can make thousands of exchanges: the console keeps the
		// first ones (how it began) and the last ones (what failed), and says where the
		// rest is.
		if c.o.Verbose || ends < 0 || n <= 2*ends+1 {
			fmt.Fprintf(b, "   http trace (%s):\n", plural(n, "exchange"))
			writeTrace(b, r.Trace, "     ", c.o.BodyLimit)
			return
		}
		fmt.Fprintf(b, "   http trace (%d exchanges; the first %d and the last %d are shown: -v or --report json=FILE has them all):\n", n, ends, ends)
		writeTrace(b, r.Trace[:ends], "     ", c.o.BodyLimit)
		fmt.Fprintf(b, "     … %d more exchanges …\n", n-2*ends)
		writeTraceFrom(b, r.Trace[n-ends:], n-ends, "     ", c.o.BodyLimit)
	}
}

func indent(b *strings.Builder, text, prefix string) {
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		b.WriteString(strings.TrimRight(prefix+l, " "))
		b.WriteString("\n")
	}
}

// writeTrace renders HTTP exchanges: request line, status and duration, then the
// headers (> sent, < received, sorted) and the bodies, cut at limit bytes (limit < 0:
// no cut; 0: whole).
func writeTrace(b *strings.Builder, trace []engine.Exchange, prefix string, limit int) {
	writeTraceFrom(b, trace, 0, prefix, limit)
}

// writeTraceFrom is writeTrace numbering the exchanges from first+1.
func writeTraceFrom(b *strings.Builder, trace []engine.Exchange, first int, prefix string, limit int) {
	for i, x := range trace {
		status := fmt.Sprint(x.Status)
		if x.Error != "" {
			status = "error: " + x.Error
		}
		fmt.Fprintf(b, "%s%d. %s %s → %s (%s)\n", prefix, first+i+1, x.Method, x.URL, status, Duration(time.Duration(x.DurationMS*float64(time.Millisecond))))
		headers(b, prefix+"   > ", x.RequestHeaders)
		body(b, prefix+"   > ", x.RequestBody, limit)
		headers(b, prefix+"   < ", x.ResponseHeaders)
		body(b, prefix+"   < ", x.ResponseBody, limit)
		for _, v := range x.Contract {
			fmt.Fprintf(b, "%s   ! contract: %s\n", prefix, v)
		}
	}
}

// maxViolationsShown is how many of a test's contract violations the console lists.
const maxViolationsShown = 20

func headers(b *strings.Builder, prefix string, h map[string]string) {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(b, "%s%s: %s\n", prefix, k, h[k])
	}
}

func body(b *strings.Builder, prefix, s string, limit int) {
	if s == "" {
		return
	}
	if limit > 0 && len(s) > limit {
		s = s[:limit] + fmt.Sprintf("… (%d more bytes)", len(s)-limit)
	}
	b.WriteString(strings.TrimRight(prefix, " "))
	b.WriteString("\n")
	indent(b, s, prefix)
}
