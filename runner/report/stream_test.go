package report_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/vbharness/vbharness/runner"
	"github.com/vbharness/vbharness/runner/report"
)

// Issue 16 item 2 and issue 15 item 2: a report file hears each result as it finishes
// and is written at Close from its spill, atomically. The run's outcome then needs to
// hold none of the results (runner.Options.Keep), only their totals, and the file is
// byte for byte what report.Write renders from the whole outcome (the golden files).
func TestAReportFileStreamsAndIsWrittenAtomically(t *testing.T) {
	t.Parallel()
	for _, f := range report.Formats {
		t.Run(string(f), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, "out", "report."+string(f))
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte("the last run's report"), 0o644); err != nil {
				t.Fatal(err)
			}
			o := fixture()
			file, err := report.Create(report.Spec{Format: f, Path: path}, path, false, scrubber())
			if err != nil {
				t.Fatal(err)
			}
			for i := range o.Results {
				file.TestFinished(&o.Results[i])
			}
			if got, _ := os.ReadFile(path); string(got) != "the last run's report" {
				t.Fatalf("the report was touched before Close: %.60q", got)
			}
			// What a run with Keep hands to Close: the totals, no results.
			streamed := *o
			streamed.Results = nil
			streamed.Omitted = runner.Omitted{Counts: o.Counts()}
			for i := range o.Results {
				if o.Results[i].LoadError {
					streamed.Omitted.LoadErrors++
				}
			}
			if err := file.Close(&streamed); err != nil {
				t.Fatal(err)
			}
			var want bytes.Buffer
			if err := report.Write(&want, f, fixture(), scrubber()); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want.Bytes()) {
				t.Errorf("the streamed report differs from report.Write's (%d and %d bytes)", len(got), want.Len())
			}
			if names := dirNames(t, filepath.Dir(path)); !slices.Equal(names, []string{"report." + string(f)}) {
				t.Errorf("the folder holds %q after Close, want the report alone (no spill, no temporary file)", names)
			}
		})
	}
}

// A run that ends without writing its reports (a usage error, a crash before Close)
// leaves the report that was there whole, and no spill.
func TestAnAbortedReportLeavesTheOldOneAndNoSpill(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "r.json")
	if err := os.WriteFile(path, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	file, err := report.Create(report.Spec{Format: report.JSON, Path: path}, path, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	o := fixture()
	file.TestFinished(&o.Results[0])
	if names := dirNames(t, dir); len(names) != 2 {
		t.Errorf("while the run goes the folder holds %q, want the report and its spill", names)
	}
	file.Abort()
	if got, _ := os.ReadFile(path); string(got) != "{}" {
		t.Errorf("the old report became %q", got)
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"r.json"}) {
		t.Errorf("after Abort the folder holds %q", names)
	}
	if _, err := report.Create(report.Spec{Format: report.JSON, Path: dir}, dir, false, nil); err == nil {
		t.Error("Create accepted a folder as the report's path")
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}
