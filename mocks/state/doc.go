// Package state owns the durable state file of a standalone `vbharness mock` started with
// --state-dir: state.db in that folder, a bbolt database (go.etcd.io/bbolt, the
// embedded transactional key/value store etcd keeps), whose commits are atomic and
// fsynced, so a process killed at any moment leaves either the last committed state or
// the one before it, never a half-written one.
//
// The file holds named buckets of opaque records. Each owner of a bucket (the Veeam mock's
// world, sessions and settings; the stack's clock) encodes its own records and names the
// version of their format when it opens its bucket; the file's own layout has a version
// too. Both are checked at Open and Bucket, so a file written in another format is
// refused with an error that says so, rather than misread.
//
// Open takes the file's lock (bbolt's flock) with a short timeout: a second mock on the
// same folder fails at once with an error naming the folder, instead of hanging. Errors
// wrap ErrLocked, ErrCorrupt, ErrVersion or ErrUnwritable and say what to do.
//
// What lives elsewhere: what the records mean is their owner's (mocks/veeam's
// LoadState, mocks/stack's clock); the CA in the same folder is mocks/tlsca's. The per-test
// in-process stacks keep everything in memory and never open a state file.
package state
