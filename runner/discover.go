package runner

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// ErrNoScenarios is returned by Discover when the paths it was given hold no scenario.
var ErrNoScenarios = errors.New("no scenario files found")

// HelperDir is the name of folders that hold helper modules (`require("./lib/x.js")`)
// rather than scenarios; Discover never returns a file under one unless it is named
// explicitly.
const HelperDir = "lib"

// IsScenario reports whether a path found while walking a folder is a scenario file: a
// .js file that is not under a lib/ folder, a hidden folder or node_modules.
func IsScenario(p string) bool {
	if !strings.HasSuffix(p, ".js") {
		return false
	}
	dirs := strings.Split(path.Dir(p), "/")
	for _, d := range dirs {
		if skipDir(d) {
			return false
		}
	}
	return !strings.HasPrefix(path.Base(p), ".")
}

func skipDir(name string) bool {
	return name == HelperDir || name == "node_modules" || (strings.HasPrefix(name, ".") && name != "." && name != "..")
}

// Discover returns the scenario files under roots (slash-separated paths in fsys; "."
// is the whole file system), sorted and without duplicates. A root that names a file is
// taken as a scenario whatever folder it is in, but it must end in .js; a root that
// names a folder is walked for scenario files (see IsScenario). A missing root is an
// error wrapping fs.ErrNotExist; roots that hold no scenario at all return
// ErrNoScenarios.
func Discover(fsys fs.FS, roots ...string) ([]string, error) {
	if len(roots) == 0 {
		roots = []string{"."}
	}
	seen := map[string]bool{}
	var files []string
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			files = append(files, p)
		}
	}
	for _, root := range roots {
		root = path.Clean(root)
		st, err := fs.Stat(fsys, root)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", root, err)
		}
		if !st.IsDir() {
			if !strings.HasSuffix(root, ".js") {
				return nil, fmt.Errorf("%s: not a scenario file (scenarios are .js files)", root)
			}
			add(root)
			continue
		}
		err = fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if p != root && skipDir(d.Name()) {
					return fs.SkipDir
				}
				return nil
			}
			if strings.HasSuffix(p, ".js") && !strings.HasPrefix(d.Name(), ".") {
				add(p)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", root, err)
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: %w", strings.Join(roots, ", "), ErrNoScenarios)
	}
	sort.Strings(files)
	return files, nil
}
