package state

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func open(t *testing.T, dir string) *DB {
	t.Helper()
	db, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Records committed are read back after the file is closed and opened again; a nil value
// deletes; Clear empties one bucket and leaves the others.
func TestCommitEachAndClear(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "state")
	db := open(t, dir)
	a, err := db.Bucket("a", 3)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := db.Bucket("b", 1)
	if err := a.Commit(map[string][]byte{"k1": []byte("v1"), "k2": []byte("v2"), "k3": []byte("")}); err != nil {
		t.Fatal(err)
	}
	if err := a.Commit(map[string][]byte{"k2": nil}); err != nil {
		t.Fatal(err)
	}
	_ = b.Commit(map[string][]byte{"x": []byte("1")})
	db.Close()

	db = open(t, dir)
	a, err = db.Bucket("a", 3)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	_ = a.Each(func(k, v []byte) error { got = append(got, string(k)+"="+string(v)); return nil })
	if strings.Join(got, ",") != "k1=v1,k3=" {
		t.Errorf("records after reopening: %v", got)
	}
	if err := a.Clear(); err != nil {
		t.Fatal(err)
	}
	got = nil
	_ = a.Each(func(k, v []byte) error { got = append(got, string(k)); return nil })
	b, _ = db.Bucket("b", 1)
	if v, _ := b.Get("x"); len(got) != 0 || string(v) != "1" {
		t.Errorf("after Clear of a: a holds %v, b's x = %q", got, v)
	}
	if fi, err := os.Stat(db.Path()); err != nil || (runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600) {
		t.Errorf("state file mode: %v %v, want 0600", fi.Mode(), err)
	}
}

// Every way a state folder cannot be used is an error that names the file and says what
// to do, and a second mock on the same folder fails within the lock timeout instead of
// hanging.
func TestOpenRefusesWithAClearError(t *testing.T) {
	t.Parallel()
	type setup func(t *testing.T, dir string)
	writeFile := func(data []byte) setup {
		return func(t *testing.T, dir string) {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, FileName), data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	foreignBolt := func(t *testing.T, dir string) {
		_ = os.MkdirAll(dir, 0o700)
		db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("theirs")); return err })
		db.Close()
	}
	otherLayout := func(t *testing.T, dir string) {
		db := open(t, dir)
		_ = db.bolt.Update(func(tx *bolt.Tx) error { return tx.Bucket(metaBucket).Put(layoutKey, []byte("99")) })
		db.Close()
	}
	for _, c := range []struct {
		name    string
		setup   setup
		want    error
		message string
	}{
		{"a file that is not a database", writeFile([]byte(strings.Repeat("not bbolt ", 2000))), ErrCorrupt, "move it away"},
		{"a database that is not a state file", foreignBolt, ErrCorrupt, "not a vbharness state file"},
		{"a file of another layout version", otherLayout, ErrVersion, "format version 99, and this vbharness reads version 1"},
		{"a folder that is a file", func(t *testing.T, dir string) { _ = os.WriteFile(dir, nil, 0o600) }, ErrUnwritable, "give another --state-dir"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "state")
			c.setup(t, dir)
			db, err := Open(dir)
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), filepath.Join(dir, FileName)) || !strings.Contains(err.Error(), c.message) {
				t.Errorf("Open = %v\nwant %v naming the file and saying %q", err, c.want, c.message)
			}
		})
	}
}

// Records of another format version are refused when their bucket is opened.
func TestBucketOfAnotherVersionIsRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := open(t, dir)
	if _, err := db.Bucket("veeam", 1); err != nil {
		t.Fatal(err)
	}
	_, err := db.Bucket("veeam", 2)
	if !errors.Is(err, ErrVersion) || !strings.Contains(err.Error(), "its veeam records in format version 1, and this vbharness reads version 2") {
		t.Errorf("Bucket = %v", err)
	}
}

// A second Open of a folder in use fails after LockTimeout with ErrLocked, naming the
// folder and the fix.
func TestASecondOpenFailsFast(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	open(t, dir)
	start := time.Now()
	_, err := Open(dir)
	took := time.Since(start)
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "--state-dir "+dir) || !strings.Contains(err.Error(), "stop that mock") {
		t.Errorf("second Open = %v", err)
	}
	if took > 10*LockTimeout {
		t.Errorf("second Open took %v", took)
	}
}

// A folder this user may not write is ErrUnwritable. Root may write anywhere, so the
// test needs another user.
func TestAFolderThatCannotBeWritten(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" || os.Geteuid() == 0 {
		t.Skip("needs a non-root POSIX user: root writes read-only folders")
	}
	parent := t.TempDir()
	if err := os.Chmod(parent, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(parent, 0o700) })
	for _, dir := range []string{parent, filepath.Join(parent, "state")} {
		_, err := Open(dir)
		if !errors.Is(err, ErrUnwritable) || !strings.Contains(err.Error(), "make the folder") || !strings.Contains(err.Error(), filepath.Join(dir, FileName)) {
			t.Errorf("Open(%s) = %v", dir, err)
		}
	}
}
