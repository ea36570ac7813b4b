package engine

import (
	"io/fs"
	"strings"
)

// excerptContext is how many lines an Excerpt shows on either side of the failing one.
const excerptContext = 2

// excerpt returns the lines of the script f names around f's line, read from the loader's
// file system; nil when f names no line or no readable file. The text is not scrubbed:
// callers scrub it with the test's other strings.
func (l *Loader) excerpt(f frame) *Excerpt {
	if f.file == "" || f.line <= 0 {
		return nil
	}
	p, err := cleanPath(f.file)
	if err != nil {
		return nil
	}
	src, err := fs.ReadFile(l.fsys, p)
	if err != nil {
		return nil
	}
	return excerptOf(f.file, string(src), f.line, f.col)
}

// excerptOf cuts the lines around line (1-based) out of src.
func excerptOf(file, src string, line, col int) *Excerpt {
	lines := strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n")
	if line > len(lines) {
		return nil
	}
	x := &Excerpt{File: file, Line: line, Column: col}
	for n := max(1, line-excerptContext); n <= min(len(lines), line+excerptContext); n++ {
		text := lines[n-1]
		if len(text) > 200 {
			text = text[:200] + "…"
		}
		x.Lines = append(x.Lines, ExcerptLine{N: n, Text: text})
	}
	return x
}

// Map returns a copy of x with f applied to its file name and every line; nil for nil.
func (x *Excerpt) Map(f func(string) string) *Excerpt {
	if x == nil {
		return nil
	}
	c := *x
	c.File = f(x.File)
	c.Lines = make([]ExcerptLine, len(x.Lines))
	for i, l := range x.Lines {
		c.Lines[i] = ExcerptLine{N: l.N, Text: f(l.Text)}
	}
	return &c
}
