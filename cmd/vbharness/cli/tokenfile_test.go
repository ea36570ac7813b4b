package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// The token file is replaced atomically: while writers race, a reader only ever sees
// one writer's whole file, never a mix or a half; the file keeps mode 0600 in a 0700
// folder; no temporary file is left behind; and a write that cannot finish (the target
// path is a folder) leaves the old file as it was.
func TestTokenFileIsWrittenAtomicallyWithMode0600(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "cfg", "vbharness")
	path := filepath.Join(dir, "tokens.json")
	file := func(i int) *savedTokens {
		return &savedTokens{Targets: map[string]*savedToken{"lab": {
			VeeamURL: "https://veeam.example:4443", TokenType: "bearer",
			AccessToken: fmt.Sprintf("access-%03d-%s", i, strings.Repeat("a", 4000)), RefreshToken: fmt.Sprintf("refresh-%03d", i)}}}
	}
	if err := writeTokens(path, file(0)); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	readerDone := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				readerDone <- nil
				return
			default:
			}
			got, err := readTokens(path)
			if err != nil {
				readerDone <- fmt.Errorf("a reader saw a broken file: %v", err)
				return
			}
			lab := got.Targets["lab"]
			if lab == nil || lab.AccessToken[len("access-"):len("access-")+3] != lab.RefreshToken[len("refresh-"):] {
				readerDone <- fmt.Errorf("a reader saw a mix of two writes: %+v", lab)
				return
			}
		}
	}()
	for i := 1; i <= 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := writeTokens(path, file(i)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	close(stop)
	if err := <-readerDone; err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "tokens.json" {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("the folder holds %q, want only tokens.json", names)
	}
	if runtime.GOOS != "windows" {
		if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("token file mode %v (%v), want 0600", st.Mode().Perm(), err)
		}
		if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
			t.Errorf("token folder mode %v (%v), want 0700", st.Mode().Perm(), err)
		}
	}

	// A write that fails before the rename leaves the old file whole.
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blocked := filepath.Join(dir, "blocked.json")
	if err := os.Mkdir(blocked, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(blocked, "x"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := writeTokens(blocked, file(99)); err == nil {
		t.Fatal("writing over a non-empty folder succeeded")
	}
	after, err := os.ReadFile(path)
	if err != nil || string(after) != string(before) {
		t.Error("a failed write changed the token file")
	}
	if matches, _ := filepath.Glob(filepath.Join(dir, ".tokens-*")); len(matches) != 0 {
		t.Errorf("a failed write left %q behind", matches)
	}
	var check savedTokens
	if err := json.Unmarshal(after, &check); err != nil {
		t.Fatal(err)
	}
}
