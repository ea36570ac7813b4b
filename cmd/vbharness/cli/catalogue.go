package cli

import (
	"io/fs"
	"strings"

	"github.com/vbharness/vbharness/scripts"
)

// catalogueDir is where the bundled catalogue appears: the same paths as in the
// repository, so reports and stack traces name scripts/modern_auth_login.js.
const catalogueDir = "scripts"

// subdirFS presents fsys as the folder dir of a larger file system.
type subdirFS struct {
	dir  string
	fsys fs.FS
}

// Open implements fs.FS.
func (s subdirFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	if name == s.dir {
		return s.fsys.Open(".")
	}
	if rest, ok := strings.CutPrefix(name, s.dir+"/"); ok {
		return s.fsys.Open(rest)
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

func catalogue() fs.FS { return subdirFS{dir: catalogueDir, fsys: scripts.FS} }
