package cli

import (
	"fmt"
	"io"
	"net/url"
	"sync"

	"github.com/vbharness/vbharness/engine/flow"
	"github.com/vbharness/vbharness/mocks/proxy"
	"github.com/vbharness/vbharness/mocks/record"
	"github.com/vbharness/vbharness/mocks/secret"
)

// recording is `vbharness run --record DIR`: a recorder the run's tests hand every
// exchange to, and the exchanges it could not record, shown when it closes.
type recording struct {
	rec   *record.Recorder
	shown string // the directory as the user named it

	mu      sync.Mutex
	skipped []string // the first maxSkipShown reasons
	nSkip   int
}

// maxSkipShown is how many exchanges that could not be recorded are named.
const maxSkipShown = 5

func newRecording(dir, shown string, anonymize bool, scrub *secret.Scrubber) (*recording, error) {
	r, err := record.New(record.Options{Dir: dir, Anonymize: anonymize, Scrubber: scrub})
	if err != nil {
		return nil, err
	}
	return &recording{rec: r, shown: shown}, nil
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
	r.addExchange(record.Exchange{Service: service, Method: ex.Method, URL: u,
		RequestHeader: ex.RequestHeader, RequestBody: ex.RequestBody, Status: ex.Status,
		ResponseHeader: ex.ResponseHeader, ResponseBody: ex.ResponseBody})
}

// Add is the proxy's Recorder (`vbharness proxy --record DIR`); the two Exchange types
// have the same fields. An exchange a stub cannot hold is a warning shown by close, as
// on `vbharness run --record`, not an error that fails the recording.
func (r *recording) Add(ex proxy.Exchange) error {
	r.addExchange(record.Exchange(ex))
	return nil
}

// addExchange records ex, or notes why it could not be.
func (r *recording) addExchange(ex record.Exchange) {
	err := r.rec.Add(ex)
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

// close writes the recording and says what it holds on w, each line starting with
// prefix ("vbharness", "vbharness proxy"); it reports whether the recording was
// written whole.
func (r *recording) close(w io.Writer, prefix string) bool {
	n, err := r.rec.Close()
	fmt.Fprintf(w, "%s: recorded %s in %s (vbharness mock --stubs %s replays them)\n", prefix, countOf(n, "stub"), r.shown, r.shown)
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.skipped {
		fmt.Fprintf(w, "%s: %s\n", prefix, s)
	}
	if r.nSkip > len(r.skipped) {
		fmt.Fprintf(w, "%s: … and %d more exchanges not recorded\n", prefix, r.nSkip-len(r.skipped))
	}
	if err != nil {
		for _, e := range unjoin(err) {
			fmt.Fprintf(w, "%s: %v\n", prefix, e)
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
