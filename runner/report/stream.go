package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"html"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vbharness/vbharness/mocks/secret"
	"github.com/vbharness/vbharness/runner"
)

// A report is written in two steps, so that no format needs the whole run in memory: each
// result is rendered as it finishes (scrubbed field by field, rendered, scrubbed again as
// text) and appended to a spill, and at the end the head, which needs the totals, is
// written followed by the spill. The output is byte for byte what rendering the whole
// outcome at once gives (the golden files are unchanged).

// formatter renders one report format in pieces.
type formatter interface {
	// result renders r, the run's i-th reported result (0-based), onto spill, whose
	// length is at (the offset where r's rendering starts).
	result(spill io.Writer, at int64, i int, r *runner.Result) error
	// assemble writes the whole report to w: what comes before the results, the spill,
	// and what comes after. o is the finished outcome, already scrubbed; n is how many
	// results were rendered.
	assemble(w io.Writer, o *runner.Outcome, spill *io.SectionReader, n int) error
}

func newFormatter(f Format, sharded bool) (formatter, error) {
	switch f {
	case JSON:
		return &jsonFormat{sharded: sharded}, nil
	case JUnit:
		return &junitFormat{index: map[string]int{}}, nil
	case TAP:
		return &tapFormat{}, nil
	case HTML:
		return &htmlFormat{sharded: sharded, tags: map[string]bool{}}, nil
	}
	return nil, fmt.Errorf("unknown report format %q", f)
}

// stream is a report being written: a formatter, a spill and a count of results.
type stream struct {
	f     formatter
	s     *secret.Scrubber
	spill io.Writer
	at    int64
	n     int
	buf   bytes.Buffer
}

// add renders one result onto the spill.
func (st *stream) add(r *runner.Result) error {
	c := *r
	if st.s != nil {
		c.Result = r.Result.MapStrings(st.s.Scrub)
		if r.Tags != nil {
			c.Tags = make([]string, len(r.Tags))
			for j, t := range r.Tags {
				c.Tags[j] = st.s.Scrub(t)
			}
		}
	}
	st.buf.Reset()
	if err := st.f.result(&st.buf, st.at, st.n, &c); err != nil {
		return err
	}
	text := st.buf.String()
	if st.s != nil {
		text = st.s.Scrub(text)
	}
	n, err := io.WriteString(st.spill, text)
	st.at += int64(n)
	st.n++
	return err
}

// finish scrubs the outcome's own strings (its results were rendered already) and
// assembles the report.
func (st *stream) finish(w io.Writer, o *runner.Outcome, spill io.ReaderAt) error {
	head := *o
	head.Results = nil // rendered already; the head needs only their totals
	head.Omitted = runner.Omitted{Counts: o.Counts(), Capped: o.Omitted.Capped, LoadErrors: o.Omitted.LoadErrors}
	for i := range o.Results {
		if o.Results[i].LoadError {
			head.Omitted.LoadErrors++
		}
	}
	h := head.Scrub(st.s)
	var out io.Writer = w
	if st.s != nil {
		// The head and the tail are scrubbed as text too; the spill was, result by result.
		out = &scrubbedPieces{w: w, s: st.s}
	}
	return st.f.assemble(out, h, io.NewSectionReader(spill, 0, st.at), st.n)
}

// scrubbedPieces scrubs each piece written to it, except those copied from the spill
// (an *io.SectionReader's WriteTo is not used: io.Copy calls Write with its chunks, which
// were scrubbed when they were rendered, so they are passed through unscrubbed by
// copySpill instead).
type scrubbedPieces struct {
	w io.Writer
	s *secret.Scrubber
}

func (p *scrubbedPieces) Write(b []byte) (int, error) {
	if _, err := io.WriteString(p.w, p.s.Scrub(string(b))); err != nil {
		return 0, err
	}
	return len(b), nil
}

// copySpill copies the rendered results into w, past any scrubbing wrapper.
func copySpill(w io.Writer, spill *io.SectionReader) error {
	if p, ok := w.(*scrubbedPieces); ok {
		w = p.w
	}
	_, err := io.Copy(w, spill)
	return err
}

// Write renders o in format f to w, with every secret s knows scrubbed.
func Write(w io.Writer, f Format, o *runner.Outcome, s *secret.Scrubber) error {
	fm, err := newFormatter(f, !o.Shard.IsZero())
	if err != nil {
		return err
	}
	var spill bytes.Buffer
	st := &stream{f: fm, s: s, spill: &spill}
	for i := range o.Results {
		if err := st.add(&o.Results[i]); err != nil {
			return err
		}
	}
	return st.finish(w, o, bytes.NewReader(spill.Bytes()))
}

// File is one report file written as the run goes: it implements runner.Observer (add it
// to the run's observers), renders each result as it finishes onto a spill file next to
// the report, and Close writes the report from the spill atomically (a temporary file in
// the same folder, synced, renamed over the path). Until Close the path is untouched: an
// earlier report there stays whole, and a run killed midway leaves no half-written file
// (only a hidden .NAME.spill-* file, which the next Close or Abort of that path does not
// know; they are small and named so that they can be found).
//
// Memory: a File holds one result's rendering at a time, plus for JUnit one small entry
// per scenario file and for HTML the run's distinct tags.
type File struct {
	Spec Spec
	path string // absolute
	sp   *os.File
	bw   *bufio.Writer
	st   *stream
	err  error // the first error of TestFinished, returned by Close
}

// Create starts the report spec at path (absolute), checking that it can be written:
// its folder is created if need be, and a spill file is created in it. sharded says the
// run is one shard (runner.Plan.ShardOf): the JSON report then lists plan indexes.
func Create(spec Spec, path string, sharded bool, s *secret.Scrubber) (*File, error) {
	fm, err := newFormatter(spec.Format, sharded)
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return nil, fmt.Errorf("%s is a folder", path)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	sp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".spill-*")
	if err != nil {
		return nil, err
	}
	spills.Store(sp.Name(), struct{}{})
	bw := bufio.NewWriterSize(sp, 64<<10)
	return &File{Spec: spec, path: path, sp: sp, bw: bw, st: &stream{f: fm, s: s, spill: bw}}, nil
}

// spills holds the names of the spill files of this process's Files not yet closed or
// aborted, for RemoveSpills.
var spills sync.Map

// RemoveSpills removes the spill files of every report File of this process that is
// still open: for a process about to exit without closing them (a second Ctrl-C exits at
// once, without reports), so that it leaves no hidden .NAME.spill-* files behind.
func RemoveSpills() {
	spills.Range(func(name, _ any) bool {
		os.Remove(name.(string))
		spills.Delete(name)
		return true
	})
}

// TestStarted implements runner.Observer.
func (f *File) TestStarted(*runner.Planned) {}

// TestFinished implements runner.Observer: the result is rendered onto the spill. The
// runner calls it from one goroutine at a time, in plan order.
func (f *File) TestFinished(r *runner.Result) {
	if f.err == nil {
		f.err = f.st.add(r)
	}
}

// Close writes the report of the finished (or interrupted) outcome o, atomically, and
// removes the spill. The outcome's Results need not hold the results (runner.Options.
// Keep): the File rendered them as they finished; o gives the totals and the run's facts.
func (f *File) Close(o *runner.Outcome) (err error) {
	defer f.Abort()
	if f.err != nil {
		return f.err
	}
	if err := f.bw.Flush(); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(f.path), "."+filepath.Base(f.path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	w := bufio.NewWriterSize(tmp, 64<<10)
	if err := f.st.finish(w, o, f.sp); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), f.path); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(f.path)); err == nil { // the rename itself, durable
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// Abort removes the spill without writing the report. Safe to call after Close.
func (f *File) Abort() {
	if f.sp == nil {
		return
	}
	f.sp.Close()
	os.Remove(f.sp.Name())
	spills.Delete(f.sp.Name())
	f.sp = nil
}

// ---- JSON

type jsonFormat struct{ sharded bool }

func (j *jsonFormat) result(w io.Writer, _ int64, i int, r *runner.Result) error {
	if i > 0 {
		io.WriteString(w, ",")
	}
	io.WriteString(w, "\n    ")
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("    ", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(newJSONTest(r, j.sharded)); err != nil {
		return err
	}
	_, err := w.Write(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
	return err
}

func (j *jsonFormat) assemble(w io.Writer, o *runner.Outcome, spill *io.SectionReader, n int) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(newJSONReport(o)); err != nil {
		return err
	}
	head, ok := bytes.CutSuffix(b.Bytes(), []byte("[]\n}\n"))
	if !ok {
		return errors.New("internal error: the JSON report does not end in its tests")
	}
	if n == 0 {
		_, err := w.Write(b.Bytes())
		return err
	}
	w.Write(head)
	io.WriteString(w, "[")
	if err := copySpill(w, spill); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n  ]\n}\n")
	return err
}

// ---- TAP

type tapFormat struct{}

func (tapFormat) result(w io.Writer, _ int64, i int, r *runner.Result) error {
	return writeTAPResult(w, i, r)
}

func (tapFormat) assemble(w io.Writer, o *runner.Outcome, spill *io.SectionReader, n int) error {
	fmt.Fprintf(w, "TAP version 13\n1..%d\n", n)
	if err := copySpill(w, spill); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "# %s\n", o.Counts().Summary())
	return err
}

// ---- JUnit

// junitFormat keeps one entry per scenario file: its counts and where its test cases lie
// in the spill (a file's tests normally come together; if not, each run of them is a
// segment, and the suite lists them all, as rendering the whole outcome did).
type junitFormat struct {
	suites []junitSpill
	index  map[string]int
}

type junitSpill struct {
	suite junitSuite // Cases unused
	wall  time.Duration
	segs  [][2]int64 // [start, end) in the spill
}

func (j *junitFormat) result(w io.Writer, at int64, _ int, r *runner.Result) error {
	c := *r
	c.Result = r.Result.MapStrings(xmlSafe)
	c.Tags = nil
	for _, t := range r.Tags {
		c.Tags = append(c.Tags, xmlSafe(t))
	}
	r = &c
	si, ok := j.index[r.File]
	if !ok {
		si = len(j.suites)
		j.index[r.File] = si
		j.suites = append(j.suites, junitSpill{suite: junitSuite{Name: r.File}})
	}
	s := &j.suites[si]
	tc, kind := junitCaseOf(r)
	s.suite.Tests++
	switch kind {
	case "failure":
		s.suite.Failures++
	case "error":
		s.suite.Errors++
	case "skipped":
		s.suite.Skipped++
	}
	s.wall += r.Wall
	var b bytes.Buffer
	b.WriteString("\n")
	enc := xml.NewEncoder(&b)
	enc.Indent("    ", "  ")
	if err := enc.EncodeElement(tc, xml.StartElement{Name: xml.Name{Local: "testcase"}}); err != nil {
		return err
	}
	if n := len(s.segs); n > 0 && s.segs[n-1][1] == at {
		s.segs[n-1][1] = at + int64(b.Len())
	} else {
		s.segs = append(s.segs, [2]int64{at, at + int64(b.Len())})
	}
	_, err := w.Write(b.Bytes())
	return err
}

func (j *junitFormat) assemble(w io.Writer, o *runner.Outcome, spill *io.SectionReader, _ int) error {
	target := xmlSafe(o.Target.Name)
	c := o.Counts()
	doc := junitSuites{Name: "vbharness", Tests: c.Total(), Failures: c.Failed, Errors: c.Errored + c.TimedOut,
		Skipped: c.Skipped, Time: seconds(o.Elapsed)}
	io.WriteString(w, xml.Header)
	var b bytes.Buffer
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	if len(j.suites) == 0 {
		w.Write(b.Bytes())
		_, err := io.WriteString(w, "\n")
		return err
	}
	head, ok := bytes.CutSuffix(b.Bytes(), []byte("</testsuites>"))
	if !ok {
		return errors.New("internal error: the JUnit report does not end in its suites")
	}
	w.Write(head)
	for i := range j.suites {
		s := &j.suites[i]
		s.suite.Time = seconds(s.wall)
		s.suite.Timestamp = o.Started.UTC().Format("2006-01-02T15:04:05")
		s.suite.Properties = &junitProps{[]junitProperty{
			{"target", target},
			{"seed", strconv.FormatInt(o.Seed, 10)},
		}}
		b.Reset()
		b.WriteString("\n")
		enc := xml.NewEncoder(&b)
		enc.Indent("  ", "  ")
		if err := enc.EncodeElement(s.suite, xml.StartElement{Name: xml.Name{Local: "testsuite"}}); err != nil {
			return err
		}
		open, ok := bytes.CutSuffix(b.Bytes(), []byte("\n  </testsuite>"))
		if !ok {
			return errors.New("internal error: a JUnit suite does not end as expected")
		}
		w.Write(open)
		for _, seg := range s.segs {
			if err := copySpill(w, io.NewSectionReader(spill, seg[0], seg[1]-seg[0])); err != nil {
				return err
			}
		}
		io.WriteString(w, "\n  </testsuite>")
	}
	_, err := io.WriteString(w, "\n</testsuites>\n")
	return err
}

// ---- HTML

type htmlFormat struct {
	sharded bool
	tags    map[string]bool
}

func (h *htmlFormat) result(w io.Writer, _ int64, i int, r *runner.Result) error {
	t := newJSONTest(r, h.sharded)
	for _, tag := range t.Tags {
		h.tags[tag] = true
	}
	blob, err := json.Marshal(htmlTest{jsonTest: t, Marks: marks(t.Trace, t.Tokens)})
	if err != nil {
		return err
	}
	if i > 0 {
		io.WriteString(w, ",")
	}
	_, err = w.Write(blob)
	return err
}

func (h *htmlFormat) assemble(w io.Writer, o *runner.Outcome, spill *io.SectionReader, n int) error {
	rep := newJSONReport(o)
	rep.Tests = nil
	data := htmlData{jsonReport: rep, Tags: []string{}, Tests: []htmlTest{}}
	for tag := range h.tags {
		data.Tags = append(data.Tags, tag)
	}
	slices.Sort(data.Tags)
	// json.Marshal escapes <, > and & (and U+2028/U+2029), so no string of the run can
	// end the <script> element that holds the document.
	blob, err := json.Marshal(data)
	if err != nil {
		return err
	}
	head, ok := bytes.CutSuffix(blob, []byte("[]}"))
	if !ok {
		return errors.New("internal error: the HTML report's document does not end in its tests")
	}
	title := "vbharness report: " + o.Counts().Summary() + " on " + o.Target.Name
	rp := strings.NewReplacer(
		"{{TITLE}}", html.EscapeString(title),
		"{{CSS}}", htmlCSS,
		"{{JS}}", htmlJS,
	)
	pageHead, pageTail, _ := strings.Cut(htmlShell, "{{DATA}}")
	io.WriteString(w, rp.Replace(pageHead))
	w.Write(head)
	io.WriteString(w, "[")
	if err := copySpill(w, spill); err != nil {
		return err
	}
	io.WriteString(w, "]}")
	_, err = io.WriteString(w, rp.Replace(pageTail))
	return err
}
