//go:build unix

package engine

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user and system, every thread) the test process has used:
// what a benchmark costs on a shared machine, where wall time also counts the waiting.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
