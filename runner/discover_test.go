package runner_test

import (
	"errors"
	"io/fs"
	"slices"
	"testing"
	"testing/fstest"

	"github.com/vbharness/vbharness/runner"
)

func TestDiscover(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{
		"scripts/b.js":              {},
		"scripts/a.js":              {},
		"scripts/lib/helper.js":     {},
		"scripts/lab/live.js":       {},
		"scripts/lab/lib/x.js":      {},
		"scripts/.hidden/x.js":      {},
		"scripts/node_modules/m.js": {},
		"scripts/notes.md":          {},
		"scripts/index.d.ts":        {},
		"other/c.js":                {},
		"empty/readme.txt":          {},
	}
	cases := []struct {
		name  string
		roots []string
		want  []string
		err   error
	}{
		{"a folder yields its scenarios sorted, without lib, hidden folders or node_modules",
			[]string{"scripts"}, []string{"scripts/a.js", "scripts/b.js", "scripts/lab/live.js"}, nil},
		{"no root means the whole file system", nil,
			[]string{"other/c.js", "scripts/a.js", "scripts/b.js", "scripts/lab/live.js"}, nil},
		{"a file named explicitly is a scenario even under lib", []string{"scripts/lib/helper.js"},
			[]string{"scripts/lib/helper.js"}, nil},
		{"a lib folder named explicitly is walked", []string{"scripts/lib"}, []string{"scripts/lib/helper.js"}, nil},
		{"overlapping roots are deduplicated", []string{"scripts/a.js", "scripts", "other"},
			[]string{"other/c.js", "scripts/a.js", "scripts/b.js", "scripts/lab/live.js"}, nil},
		{"a missing path is not found", []string{"nope"}, nil, fs.ErrNotExist},
		{"a folder without scenarios is an error", []string{"empty"}, nil, runner.ErrNoScenarios},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := runner.Discover(fsys, c.roots...)
			if c.err != nil {
				if !errors.Is(err, c.err) {
					t.Fatalf("Discover(%q) error = %v, want %v", c.roots, err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("Discover(%q) = %q, want %q", c.roots, got, c.want)
			}
		})
	}
}

func TestDiscoverRejectsAFileThatIsNotJavaScript(t *testing.T) {
	t.Parallel()
	_, err := runner.Discover(fstest.MapFS{"notes.md": {}}, "notes.md")
	if err == nil || !contains(err.Error(), "not a scenario file") {
		t.Fatalf("error = %v, want 'not a scenario file'", err)
	}
}

func TestIsScenario(t *testing.T) {
	t.Parallel()
	for p, want := range map[string]bool{
		"a.js": true, "x/y/a.js": true, "lib/a.js": false, "x/lib/y/a.js": false,
		"a.ts": false, ".a.js": false, ".git/a.js": false, "libs/a.js": true,
	} {
		if got := runner.IsScenario(p); got != want {
			t.Errorf("IsScenario(%q) = %v, want %v", p, got, want)
		}
	}
}
