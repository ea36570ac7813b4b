package cli

import (
	"fmt"
	"io"
	"net/url"
	"sync"

	"github.com/vbharness/vbharness/engine/flow"
	"github.com/vbharness/vbharness/mocks/record"
	"github.com/vbharness/vbharness/mocks/secret"
)

// recording is `vbharness run --record DIR`: a recorder the run's tests hand every
// exchange to, and the exchanges it could not record, shown when it closes.
type recording struct {
	rec *record.Recorder

	mu      sync.Mutex
	skipped []string // the first maxSkipShown reasons
	nSkip   int
}

// maxSkipShown is how many exchanges that could not be recorded are named.
const maxSkipShown = 5

func newRecording(dir string, anonymize bool, scrub *secret.Scrubber) (*recording, error) {
	r, err := record.New(record.Options{Dir: dir, Anonymize: anonymize, Scrubber: scrub})
	if err != nil {
		return nil, err
	}
	return &recording{rec: r}, nil
}

// hook is the run's Record option; nil without a recording.
func (r *recording) hook() func(string, *flow.Exchange) {
	if r == nil {
		return nil
	}
	return r.add
}

func (r *recording) add(service string, ex *flow.Exchange) {
	u, err := url.Parse(ex.URL)
	if err != nil {
		return
	}
	err = r.rec.Add(record.Exchange{Service: service, Method: ex.Method, URL: u,
		RequestHeader: ex.RequestHeader, RequestBody: ex.RequestBody, Status: ex.Status,
		ResponseHeader: ex.ResponseHeader, ResponseBody: ex.ResponseBody})
	if err == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.nSkip++
	if len(r.skipped) < maxSkipShown {
		r.skipped = append(r.skipped, err.Error())
	}
}

// close writes the recording and says what it holds on w; it reports whether the
// recording was written whole.
func (r *recording) close(w io.Writer) bool {
	n, err := r.rec.Close()
	fmt.Fprintf(w, "vbharness: recorded %d stubs in %s (vbharness mock --stubs %s replays them)\n", n, r.rec.Dir(), r.rec.Dir())
	for _, s := range r.skipped {
		fmt.Fprintf(w, "vbharness: %s\n", s)
	}
	if r.nSkip > len(r.skipped) {
		fmt.Fprintf(w, "vbharness: … and %d more exchanges not recorded\n", r.nSkip-len(r.skipped))
	}
	if err != nil {
		for _, e := range unjoin(err) {
			fmt.Fprintf(w, "vbharness: %v\n", e)
		}
		return false
	}
	return true
}

// unjoin lists the errors errors.Join joined, or err alone.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
