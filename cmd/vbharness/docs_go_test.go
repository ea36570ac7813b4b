package main

// The docs' go blocks are compiled against this module, so a block that calls a function
// that does not exist, or passes the wrong arguments, fails TestDocsRun.

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// goOverlayDir is where, inside the module, the blocks are compiled from: each block is one
// package under it that exists only in `go build -overlay`, so nothing is written to the
// repository.
const goOverlayDir = "zz_docs_go_blocks"

// compileGoBlocks builds every go block with one `go build`. A block that starts with
// `package` is a complete file; any other block is statements, compiled as the body of a
// function whose imports are the packages the statements name (this module's packages and
// the standard library's, by package name; a name that two packages share must be written
// as a complete file), and whose top-level variables count as used. A `//line` directive
// makes the compiler report errors at the doc's own lines.
func compileGoBlocks(t *testing.T, blocks []block) {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	pkgs, err := importableByName(root)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	overlay := map[string]string{}
	var targets []string
	for i, b := range blocks {
		src, err := goSource(b, pkgs)
		if err != nil {
			t.Errorf("%s: %v", b, err)
			continue
		}
		file := filepath.Join(tmp, fmt.Sprintf("block%d.go", i))
		if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		dir := fmt.Sprintf("%s/b%d", goOverlayDir, i)
		overlay[filepath.Join(root, dir, "block.go")] = file
		targets = append(targets, "./"+dir)
	}
	if len(targets) == 0 {
		return
	}
	ov, _ := json.Marshal(map[string]any{"Replace": overlay})
	ovFile := filepath.Join(tmp, "overlay.json")
	if err := os.WriteFile(ovFile, ov, 0o644); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"build", "-overlay", ovFile, "-o", os.DevNull}, targets...)
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		var msgs []string
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if !strings.HasPrefix(line, "# ") { // the overlay package's name: no help to a reader
				msgs = append(msgs, line)
			}
		}
		t.Errorf("go blocks do not compile against the module (%v):\n%s", err, strings.Join(msgs, "\n"))
	}
}

// importableByName maps package names to the import paths of this module's packages and
// the standard library's (internal and vendored packages left out).
func importableByName(root string) (map[string][]string, error) {
	cmd := exec.Command("go", "list", "-f", "{{.Name}} {{.ImportPath}}", "std", "./...")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %w", err)
	}
	byName := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		name, path, _ := strings.Cut(line, " ")
		if name == "main" || strings.Contains(path, "internal") || strings.HasPrefix(path, "vendor/") {
			continue
		}
		byName[name] = append(byName[name], path)
	}
	return byName, nil
}

// goSource turns a go block into a file of its own package.
func goSource(b block, pkgs map[string][]string) (string, error) {
	directive := fmt.Sprintf("//line %s:%d\n", b.doc, b.line+1)
	if strings.HasPrefix(strings.TrimSpace(b.body), "package ") {
		return directive + b.body, nil
	}
	fset := token.NewFileSet()
	wrapped := "package p\nfunc _() {\n" + directive + b.body + "\n}\n"
	f, err := parser.ParseFile(fset, b.doc, wrapped, 0)
	if err != nil {
		return "", fmt.Errorf("not Go statements (nor a file starting with package): %w", err)
	}
	fn := f.Decls[0].(*ast.FuncDecl)
	var imports []string
	seen := map[string]bool{}
	var lookupErr error
	ast.Inspect(fn, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		// An identifier the fragment does not declare itself is a package's name.
		id, ok := sel.X.(*ast.Ident)
		if !ok || id.Obj != nil || seen[id.Name] {
			return true
		}
		seen[id.Name] = true
		switch paths := pkgs[id.Name]; len(paths) {
		case 0: // not a package: the compiler will say what it is not
		case 1:
			imports = append(imports, paths[0])
		default:
			lookupErr = fmt.Errorf("%s: %q names %d packages (%s): write the block as a complete file with its imports",
				fset.Position(id.Pos()), id.Name, len(paths), strings.Join(paths, ", "))
		}
		return true
	})
	if lookupErr != nil {
		return "", lookupErr
	}
	// Variables the fragment declares for the reader to use next are used.
	var uses []string
	for _, st := range fn.Body.List {
		switch st := st.(type) {
		case *ast.AssignStmt:
			if st.Tok == token.DEFINE {
				for _, e := range st.Lhs {
					if id, ok := e.(*ast.Ident); ok && id.Name != "_" {
						uses = append(uses, "_ = "+id.Name)
					}
				}
			}
		case *ast.DeclStmt:
			if gd, ok := st.Decl.(*ast.GenDecl); ok && gd.Tok == token.VAR {
				for _, spec := range gd.Specs {
					for _, id := range spec.(*ast.ValueSpec).Names {
						if id.Name != "_" {
							uses = append(uses, "_ = "+id.Name)
						}
					}
				}
			}
		}
	}
	slices.Sort(imports)
	var src strings.Builder
	src.WriteString("package docblock\n\nimport (\n")
	for _, p := range imports {
		fmt.Fprintf(&src, "\t%q\n", p)
	}
	src.WriteString(")\n\nfunc _() {\n" + directive + b.body + "\n" + strings.Join(uses, "\n") + "\n}\n")
	return src.String(), nil
}

func TestGoSource(t *testing.T) {
	pkgs := map[string][]string{
		"time":  {"time"},
		"entra": {"github.com/vbharness/vbharness/mocks/entra"},
		"rand":  {"crypto/rand", "math/rand"},
	}
	for _, tc := range []struct {
		name, body string
		want       []string // in the generated file
		err        string
	}{
		{"statements import the packages they name", "clk := time.Now()\nsrv := entra.New(nil)\n",
			[]string{`"time"`, `"github.com/vbharness/vbharness/mocks/entra"`, "//line x.md:4\n", "_ = clk\n_ = srv"}, ""},
		{"a local variable is no package", "time := 1\n_ = time.String\n", []string{"import (\n)"}, ""},
		{"a complete file is kept", "package demo\n\nfunc f() {}\n", []string{"//line x.md:4\npackage demo\n"}, ""},
		{"a shared package name needs a complete file", "_ = rand.Int()\n", nil, `"rand" names 2 packages`},
		{"not Go", "func {\n", nil, "not Go statements"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := goSource(block{doc: "x.md", line: 3, info: "go", body: tc.body}, pkgs)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(src, w) {
					t.Errorf("the generated file lacks %q:\n%s", w, src)
				}
			}
		})
	}
}
