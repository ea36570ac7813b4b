package report_test

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/vbharness/vbharness/runner"
	"github.com/vbharness/vbharness/runner/report"
)

func TestReadJSONGivesBackTheOutcomeItWasWrittenFrom(t *testing.T) {
	t.Parallel()
	for _, sharded := range []bool{false, true} {
		want := fixture().Scrub(scrubber())
		want.Files = 3 // the files the results name, which is all a report keeps
		if sharded {
			want.Shard, want.Planned = runner.Shard{Index: 2, Total: 3}, 17
			for i := range want.Results {
				want.Results[i].PlanIndex = 3*i + 1
			}
		}
		var buf bytes.Buffer
		if err := report.Write(&buf, report.JSON, want, nil); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(buf.String(), `"shard"`) != sharded || strings.Contains(buf.String(), `"plan_index"`) != sharded {
			t.Errorf("sharded %v: the report's shard fields:\n%s", sharded, buf.String())
		}
		got, err := report.ReadJSON(&buf)
		if err != nil {
			t.Fatal(err)
		}
		got.Started, want.Started = got.Started.UTC(), want.Started.UTC()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("sharded %v: read back\n%+v\nwritten\n%+v", sharded, got, want)
		}
	}
}

func TestReadJSONRefusesWhatIsNotAReport(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"":                                "not a vbharness JSON report",
		"<testsuites/>":                   "not a vbharness JSON report",
		`{"tool":"k6"}`:                   `tool "k6"`,
		`{"tool":"vbharness","schema":2}`: "schema 2",
		`{"tool":"vbharness","schema":1,"started":"yesterday"}`:                                                                                   "is not an RFC 3339 time",
		`{"tool":"vbharness","schema":1,"started":"2026-01-01T00:00:00Z","tests":[{"name":"x","status":"great"}]}`:                                `status "great"`,
		`{"tool":"vbharness","schema":1,"started":"2026-01-01T00:00:00Z","shard":{"index":4,"total":3}}`:                                          "is not a shard",
		`{"tool":"vbharness","schema":1,"started":"2026-01-01T00:00:00Z","shard":{"index":1,"total":3},"tests":[{"name":"x","status":"passed"}]}`: "without plan_index",
	}
	for in, want := range cases {
		_, err := report.ReadJSON(strings.NewReader(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ReadJSON(%q) = %v, want an error containing %q", in, err, want)
		}
	}
}
