package runner

import (
	"crypto/rand"
	"encoding/binary"
	"hash/fnv"
	"math/big"
)

// TestSeed derives the seed of one test from the run seed and the test's identity (its
// file and name), so that `--seed N` reproduces every test of a run, including when a
// filter selects only some of them, and two tests of one run never share a seed by
// construction. The result is never negative.
func TestSeed(run int64, file, name string) int64 {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(run))
	h.Write(b[:])
	h.Write([]byte(file))
	h.Write([]byte{0})
	h.Write([]byte(name))
	return int64(h.Sum64() &^ (1 << 63))
}

// NewRunSeed returns a fresh random run seed in [1, 2^31), short enough to type back
// after `--seed`.
func NewRunSeed() int64 {
	n, err := rand.Int(rand.Reader, big.NewInt(1<<31-1))
	if err != nil {
		return 1
	}
	return n.Int64() + 1
}
