package runner

import (
	"crypto/rand"
	"encoding/binary"
	"hash/fnv"
	"math/big"
)

// MaxSeed is the largest seed vbharness uses or accepts, 2^53-1: every seed is an
// integer a JSON reader holds exactly in a float64 (jq, JavaScript), so the JSON report's
// seeds can be read back and typed after --seed.
const MaxSeed = 1<<53 - 1

// TestSeed derives the seed of one test from the run seed and the test's identity (its
// file and name), so that `--seed N` reproduces every test of a run, including when a
// filter selects only some of them, and two tests of one run never share a seed by
// construction. The result is in [1, MaxSeed].
func TestSeed(run int64, file, name string) int64 {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(run))
	h.Write(b[:])
	h.Write([]byte(file))
	h.Write([]byte{0})
	h.Write([]byte(name))
	s := int64(h.Sum64() & MaxSeed) // 53 bits: exact in JSON readers
	if s == 0 {
		s = 1 // 0 would tell the engine to pick a seed of its own
	}
	return s
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
