package record_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/vbharness/vbharness/mocks/record"
	"github.com/vbharness/vbharness/mocks/veeam"
)

// retainedHeap returns the live heap after a collection.
func retainedHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkRecordGrowth shows how a recording's time and memory grow with the number
// of exchanges it is handed, at three sizes 10x apart (docs/performance.md, "Growth"):
// n GETs of distinct jobs (/v8/Jobs/<id>, a 200 with a Job of about 230 bytes), each
// its own stub. It reports the time of Add per exchange (add-ns/exchange), the heap the
// recorder holds before Close (retained-B, the heap before it was built subtracted),
// the time of Close per stub written (close-ns/stub: normalising, checking each stub as
// the mock loads it, one file each) and the stubs written. Past veeam.MaxStubs (1 000)
// exchanges Add refuses the rest (ErrSkipped), so the largest size shows the bound.
//
//	go test -run '^$' -bench RecordGrowth -benchtime 1x ./mocks/record/
func BenchmarkRecordGrowth(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run("n="+strconv.Itoa(n), func(b *testing.B) {
			var retained uint64
			var add, closing time.Duration
			wrote := 0
			for i := range b.N {
				before := retainedHeap()
				rec, err := record.New(record.Options{Dir: filepath.Join(b.TempDir(), "rec"+strconv.Itoa(i))})
				if err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				for j := range n {
					id := fmt.Sprintf("%08x-4d5f-4a6b-9c7d-0e1f2a3b4c5d", j)
					body := `{"id":"` + id + `","name":"Daily ` + strconv.Itoa(j) + `","lastStatus":"Success","eTag":3,"isEnabled":true,"_links":{"self":{"href":"/v8/Jobs/` + id + `"}}}`
					if err := rec.Add(ex("GET", "https://lab/v8/Jobs/"+id, 200, body)); err != nil && !(errors.Is(err, record.ErrSkipped) && j >= veeam.MaxStubs) {
						b.Fatal(err)
					}
				}
				add += time.Since(start)
				retained = retainedHeap() - before
				start = time.Now()
				if wrote, err = rec.Close(); err != nil {
					b.Fatal(err)
				}
				closing += time.Since(start)
				if want := min(n, veeam.MaxStubs); wrote != want {
					b.Fatalf("%d stubs written, want %d", wrote, want)
				}
			}
			b.ReportMetric(float64(add.Nanoseconds())/float64(b.N*n), "add-ns/exchange")
			b.ReportMetric(float64(closing.Nanoseconds())/float64(b.N*wrote), "close-ns/stub")
			b.ReportMetric(float64(retained), "retained-B")
			b.ReportMetric(float64(wrote), "stubs")
			b.ReportMetric(0, "ns/op")
		})
	}
}
