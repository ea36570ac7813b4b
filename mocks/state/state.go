package state

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// FileName is the state file's name in the state folder.
const FileName = "state.db"

// Version is the version of the file's own layout: a meta bucket holding the layout
// version and each bucket's record version, beside the buckets. Bump it when that
// layout changes; a bucket's records have their owner's version (Bucket).
const Version = 1

// LockTimeout is how long Open waits for the file's lock before it reports ErrLocked.
// bbolt retries the lock every 50 ms; a mock that holds it holds it until it stops, so
// waiting longer only delays the error.
const LockTimeout = 500 * time.Millisecond

// Errors Open and Bucket wrap; their messages name the file and what to do.
var (
	// ErrLocked: another process (another mock on the same folder) holds the file.
	ErrLocked = errors.New("the state file is in use")
	// ErrCorrupt: the file is not a readable bbolt database, or not a vbharness state
	// file, or a record in it cannot be read.
	ErrCorrupt = errors.New("the state file is damaged")
	// ErrVersion: the file, or one of its buckets, was written in another format.
	ErrVersion = errors.New("the state file has another format")
	// ErrUnwritable: the folder or the file cannot be created or written.
	ErrUnwritable = errors.New("the state file cannot be written")
)

var (
	metaBucket = []byte("meta")
	layoutKey  = []byte("layout")
)

// DB is an open state file. Its methods are safe for concurrent use; bbolt runs one
// writing transaction at a time.
type DB struct {
	bolt *bolt.DB
	path string
}

// Open opens (creating it if need be) the state file in dir, creating dir with mode
// 0700 and the file with mode 0600: the file holds live tokens and organization
// passwords. It checks the file's layout version and walks its pages (bbolt's
// consistency check), so a damaged file is reported here rather than by a later read.
func Open(dir string) (*DB, error) {
	path := filepath.Join(dir, FileName)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, unwritable(path, dir, err)
	}
	_, statErr := os.Stat(path)
	fresh := errors.Is(statErr, fs.ErrNotExist)
	db, err := openBolt(path)
	if err != nil {
		switch {
		case errors.Is(err, berrors.ErrTimeout):
			return nil, fmt.Errorf("%w: %s is held by another process, most likely another vbharness mock started with --state-dir %s; "+
				"stop that mock, or give this one another --state-dir", ErrLocked, path, dir)
		case errors.Is(err, fs.ErrPermission), errors.Is(err, syscall.EROFS), errors.Is(err, syscall.ENOTDIR), errors.Is(err, syscall.EISDIR):
			return nil, unwritable(path, dir, err)
		default:
			return nil, corrupt(path, err)
		}
	}
	d := &DB{bolt: db, path: path}
	if err := d.init(); err != nil {
		db.Close()
		return nil, err
	}
	if fresh {
		// The new file's directory entry must be durable too, or a crash could lose the
		// file after its first commit said it was written.
		if err := syncDir(dir); err != nil {
			db.Close()
			return nil, unwritable(path, dir, err)
		}
	}
	return d, nil
}

// openBolt opens the file, turning a panic of bbolt on a damaged file into an error.
func openBolt(path string) (db *bolt.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, fmt.Errorf("%v", r)
		}
	}()
	return bolt.Open(path, 0o600, &bolt.Options{Timeout: LockTimeout})
}

// init writes the layout version into a new file, or checks an existing file's: its
// pages, its meta bucket and the layout version.
func (d *DB) init() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = corrupt(d.path, fmt.Errorf("%v", r))
		}
	}()
	err = d.bolt.View(func(tx *bolt.Tx) error {
		for e := range tx.Check() {
			return e
		}
		return nil
	})
	if err != nil {
		return corrupt(d.path, err)
	}
	return d.update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(metaBucket)
		if meta == nil {
			empty := true
			_ = tx.ForEach(func([]byte, *bolt.Bucket) error { empty = false; return nil })
			if !empty {
				return corrupt(d.path, errors.New("it has no meta bucket: it is not a vbharness state file"))
			}
			meta, err := tx.CreateBucket(metaBucket)
			if err != nil {
				return err
			}
			return meta.Put(layoutKey, []byte(strconv.Itoa(Version)))
		}
		return d.checkVersion(meta.Get(layoutKey), "the file", Version)
	})
}

// checkVersion compares a stored version with the one this build reads.
func (d *DB) checkVersion(stored []byte, what string, want int) error {
	n, err := strconv.Atoi(string(stored))
	if err != nil {
		return corrupt(d.path, fmt.Errorf("the version of %s is %q, not a number", what, stored))
	}
	if n != want {
		return fmt.Errorf("%w: %s holds %s in format version %d, and this vbharness reads version %d; "+
			"run the vbharness that wrote it, or move the file away to start from the fixtures (its state is then lost)",
			ErrVersion, d.path, what, n, want)
	}
	return nil
}

// update runs fn in a writing transaction, turning a failed commit into ErrUnwritable.
func (d *DB) update(fn func(tx *bolt.Tx) error) error {
	err := d.bolt.Update(fn)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrCorrupt), errors.Is(err, ErrVersion):
		return err
	}
	return unwritable(d.path, filepath.Dir(d.path), err)
}

// Path returns the file's path.
func (d *DB) Path() string { return d.path }

// Close releases the file and its lock.
func (d *DB) Close() error { return d.bolt.Close() }

// Bucket opens the bucket name, whose records are in the owner's format version. A new
// bucket is created with that version; an existing one written in another version is
// ErrVersion.
func (d *DB) Bucket(name string, version int) (*Bucket, error) {
	b := &Bucket{db: d, name: []byte(name)}
	versionKey := []byte("version/" + name)
	err := d.update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(metaBucket)
		stored := meta.Get(versionKey)
		if stored == nil {
			if tx.Bucket(b.name) != nil {
				return corrupt(d.path, fmt.Errorf("bucket %s has no version", name))
			}
			if _, err := tx.CreateBucket(b.name); err != nil {
				return err
			}
			return meta.Put(versionKey, []byte(strconv.Itoa(version)))
		}
		if err := d.checkVersion(stored, "its "+name+" records", version); err != nil {
			return err
		}
		if tx.Bucket(b.name) == nil {
			return corrupt(d.path, fmt.Errorf("bucket %s is missing", name))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}

// Bucket is one owner's records, opened by DB.Bucket.
type Bucket struct {
	db   *DB
	name []byte
}

// Each calls fn for every record, in key order, with copies of the key and value. An
// error from fn stops the walk and is returned as it is.
func (b *Bucket) Each(fn func(key, val []byte) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = corrupt(b.db.path, fmt.Errorf("reading bucket %s: %v", b.name, r))
		}
	}()
	return b.db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(b.name).ForEach(func(k, v []byte) error {
			return fn(append([]byte(nil), k...), append([]byte(nil), v...))
		})
	})
}

// Get returns one record's value, or nil.
func (b *Bucket) Get(key string) ([]byte, error) {
	var out []byte
	err := b.db.bolt.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(b.name).Get([]byte(key)); v != nil {
			out = append([]byte(nil), v...)
		}
		return nil
	})
	return out, err
}

// Commit writes every change in one transaction, durably (bbolt fsyncs before Commit
// returns): a key with a nil value is deleted, any other is stored. Either all of them
// are written or, after an error or a crash, none.
func (b *Bucket) Commit(changes map[string][]byte) error {
	if len(changes) == 0 {
		return nil
	}
	return b.db.update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(b.name)
		for k, v := range changes {
			var err error
			if v == nil {
				err = bk.Delete([]byte(k))
			} else {
				err = bk.Put([]byte(k), v)
			}
			if err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
		}
		return nil
	})
}

// Clear deletes every record of the bucket in one transaction.
func (b *Bucket) Clear() error {
	return b.db.update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(b.name); err != nil {
			return err
		}
		_, err := tx.CreateBucket(b.name)
		return err
	})
}

func corrupt(path string, err error) error {
	return fmt.Errorf("%w: %s cannot be read (%v); move it away to start from the fixtures (its state is then lost), "+
		"or put back a copy of it", ErrCorrupt, path, err)
}

func unwritable(path, dir string, err error) error {
	return fmt.Errorf("%w: %s (%v); make the folder %s writable by this user, or give another --state-dir",
		ErrUnwritable, path, err, dir)
}

// syncDir makes a new file's directory entry durable. Windows cannot open a directory
// for syncing; NTFS journals the entry.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
