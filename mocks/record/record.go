package record

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/vbharness/vbharness/mocks/secret"
	"github.com/vbharness/vbharness/mocks/veeam"
)

// ServiceVeeam is the Service of a Veeam exchange (as contract.ServiceVeeam); only
// these are recorded. An empty Service counts as Veeam.
const ServiceVeeam = "veeam"

// ErrSkipped marks an exchange Add could not turn into a stub (a path outside /v8/, a
// binary or oversized body, a recording that is full). The recording goes on without
// it; callers show the error as a warning.
var ErrSkipped = errors.New("not recorded")

// ErrClosed is returned by Add after Close.
var ErrClosed = errors.New("recording closed")

// Options configure a Recorder.
type Options struct {
	// Dir is where the stub files go: created if missing; it must hold no stub files
	// (*.json, *.yaml, *.yml) yet, so that two recordings never mix.
	Dir string
	// Anonymize replaces GUIDs, e-mail addresses and user principal names, and the
	// values of name fields (display, user, organization names) consistently: the same
	// input, the same placeholder, in paths, queries, headers and bodies alike.
	Anonymize bool
	// Scrubber, if set, holds secrets the run was given or obtained (passwords, client
	// secrets, tokens): they are scrubbed from the recording too. The recorder adds the
	// secrets it learns to a child of it, never to it. nil: only the secrets the
	// exchanges themselves carry.
	Scrubber *secret.Scrubber
}

// Exchange is one request and its answer as a client saw them (bodies whole, not
// redacted): the fields of contract.Exchange, which callers convert.
type Exchange struct {
	Service        string // ServiceVeeam ("veeam") or "entra"; "" counts as Veeam
	Method         string
	URL            *url.URL // as sent: path and query
	RequestHeader  http.Header
	RequestBody    []byte
	Status         int // 0: no answer (transport error): not recorded
	ResponseHeader http.Header
	ResponseBody   []byte
}

// Recorder collects exchanges and writes them as stub files on Close. Safe for
// concurrent use. Exchanges are kept in memory until Close (at most veeam.MaxStubs of
// them, veeam.MaxStubBytes of bodies: what a mock loads), because the order the files
// must load in, and the secrets to scrub, are known only at the end.
type Recorder struct {
	o     Options
	scrub *secret.Scrubber

	mu     sync.Mutex
	list   []entry
	bytes  int
	closed bool
}

// entry is one exchange kept for the recording.
type entry struct {
	seq    int // its place in the recording, from 1
	method string
	path   string
	query  url.Values
	status int
	header http.Header
	body   []byte
	json   bool // body is JSON
}

// New returns a Recorder writing to o.Dir, which it creates if missing.
func New(o Options) (*Recorder, error) {
	if o.Dir == "" {
		return nil, errors.New("record: no directory given")
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	ents, err := os.ReadDir(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	for _, e := range ents {
		if !e.IsDir() && veeam.IsStubsFile(e.Name()) {
			return nil, fmt.Errorf("record: %s already holds stub files (%s); give a new or empty directory, so that two recordings never mix", o.Dir, e.Name())
		}
	}
	r := &Recorder{o: o}
	if o.Scrubber != nil {
		r.scrub = o.Scrubber.Child()
	} else {
		r.scrub = secret.NewScrubber()
	}
	return r, nil
}

// Add records one Veeam exchange as a stub in the format `vbharness mock --stubs` reads.
// Secrets are removed or replaced with placeholders; the auth endpoints are not recorded
// (the mock's own auth chain answers them on replay). Safe for concurrent use.
//
// Every exchange, recorded or not (Entra's too), teaches the recorder the secrets it
// carries, so they are scrubbed from everything the recording holds. Not recorded, with
// a nil error: other services, transport errors (Status 0), the auth endpoints
// (IsAuthPath) and 401 answers (on replay the mock's authentication answers those).
// Errors wrap ErrSkipped for exchanges that cannot be replayed from a stub.
func (r *Recorder) Add(ex Exchange) error {
	r.learn(&ex)
	if ex.Service != "" && ex.Service != ServiceVeeam {
		return nil
	}
	if ex.URL == nil || ex.Status == 0 || ex.Status == http.StatusUnauthorized {
		return nil
	}
	method := strings.ToUpper(ex.Method)
	p := ex.URL.Path
	if len(p) > 1 {
		p = strings.TrimRight(p, "/")
	}
	switch {
	case IsAuthPath(p):
		return nil
	case !strings.HasPrefix(strings.ToLower(p), "/v8/"):
		return fmt.Errorf("%w: %s %s: stubs answer /v8/ paths only", ErrSkipped, method, p)
	case strings.ContainsAny(p, "{}?#") || strings.IndexFunc(p, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0:
		return fmt.Errorf("%w: %s %q: the path holds a brace, '?', '#', a space or a control character, which a stub's exact path cannot", ErrSkipped, method, p)
	case ex.Status < 200 || ex.Status > 599:
		return fmt.Errorf("%w: %s %s: status %d is not one a stub answers with", ErrSkipped, method, p, ex.Status)
	}
	e := entry{method: method, path: p, query: ex.URL.Query(), status: ex.Status, header: ex.ResponseHeader.Clone()}
	if e.header == nil {
		e.header = http.Header{}
	}
	if ex.Status != http.StatusNoContent && ex.Status != http.StatusNotModified && method != http.MethodHead {
		e.body = bytes.Clone(ex.ResponseBody)
	}
	if len(e.body) > 0 {
		e.json = isJSON(e.header.Get("Content-Type"), e.body)
		if !e.json && !utf8.Valid(e.body) {
			return fmt.Errorf("%w: %s %s: a binary body (%s) has no stub form", ErrSkipped, method, p, e.header.Get("Content-Type"))
		}
		if len(e.body) > veeam.MaxStubBody {
			return fmt.Errorf("%w: %s %s: the body (%d bytes) is larger than a stub's %d KiB", ErrSkipped, method, p, len(e.body), veeam.MaxStubBody>>10)
		}
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.closed:
		return ErrClosed
	case len(r.list) >= veeam.MaxStubs:
		return fmt.Errorf("%w: %s %s: the recording holds %d exchanges, the most a mock loads", ErrSkipped, method, p, veeam.MaxStubs)
	case r.bytes+len(e.body) > veeam.MaxStubBytes:
		return fmt.Errorf("%w: %s %s: the recording's bodies would pass %d MiB, the most a mock loads", ErrSkipped, method, p, veeam.MaxStubBytes>>20)
	}
	e.seq = len(r.list) + 1
	r.bytes += len(e.body)
	r.list = append(r.list, e)
	return nil
}

// authPaths are the v8 document's sign-in operations, lower case, "*" a variable: each
// issues or redeems a token or a one-time code (a device code, an authorization code,
// an OAuth sign-in of a mail account) with the mock's own Entra, so a recorded answer
// could not be redeemed on replay; the mock answers them itself, statefully.
var authPaths = []string{
	"/v8/token",                           // Auth: password, refresh_token, jwt-bearer, operator grants
	"/v8/token/logout",                    // Auth: ends the session
	"/v8/token/authcode",                  // Auth: a one-time code for the console
	"/v8/devicecode",                      // Organization: a tenant's device-code sign-in
	"/v8/devicecode/check",                // Organization: redeems it
	"/v8/organizations/*/devicecode",      // OrganizationBackupApplications
	"/v8/azureserviceaccounts/devicecode", // AzureServiceAccounts
	"/v8/restoresessions/*/organization/restoredevicecode", // RestoreSession: a restore's sign-in
	"/v8/*/prepareoauthsignin",                             // the mail settings' OAuth sign-ins
	"/v8/*/completeoauthsignin",
}

// IsAuthPath reports whether p (a URL path) is one of the sign-in operations a
// recording leaves to the mock: POST /v8/token, /v8/token/logout, /v8/token/AuthCode,
// the device-code routes (/v8/DeviceCode, /v8/DeviceCode/check,
// /v8/Organizations/{id}/DeviceCode, /v8/AzureServiceAccounts/DeviceCode,
// /v8/RestoreSessions/{id}/organization/restoreDeviceCode) and the mail settings'
// PrepareOAuthSignIn and CompleteOAuthSignIn.
func IsAuthPath(p string) bool {
	segs := strings.Split(strings.Trim(strings.ToLower(p), "/"), "/")
	for _, a := range authPaths {
		want := strings.Split(strings.Trim(a, "/"), "/")
		if len(want) != len(segs) {
			continue
		}
		ok := true
		for i := range want {
			if want[i] != "*" && want[i] != segs[i] {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func isJSON(ct string, body []byte) bool {
	mt, _, _ := mime.ParseMediaType(ct)
	if mt == "application/json" || strings.HasSuffix(mt, "+json") || mt == "" || mt == "text/json" {
		return json.Valid(body)
	}
	return false
}

// learn teaches the scrubber every secret the exchange carries, both ways
// (secret.Scrubber.LearnExchange).
func (r *Recorder) learn(ex *Exchange) {
	var query url.Values
	if ex.URL != nil {
		query = ex.URL.Query()
	}
	r.scrub.LearnExchange(query, ex.RequestHeader, ex.ResponseHeader, ex.RequestBody, ex.ResponseBody)
}

// Dir returns the directory the recording is written to.
func (r *Recorder) Dir() string { return r.o.Dir }

// Len returns how many exchanges the recording holds so far.
func (r *Recorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.list)
}

// Close finishes the recording (whatever must be written last) and reports how many stubs it wrote.
// It writes one file per stub, named so that the directory's name order is the order the
// mock must load them in (see order), and checks each as the mock will load it. A stub
// the mock would refuse is left out and named in the error; the others are written.
// Closing twice writes nothing more.
func (r *Recorder) Close() (int, error) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return 0, nil
	}
	r.closed = true
	list := r.list
	r.list = nil
	r.mu.Unlock()

	var an *anonymizer
	if r.o.Anonymize {
		an = newAnonymizer()
	}
	stubs := make([]rstub, 0, len(list))
	for _, e := range list {
		stubs = append(stubs, r.prepare(e))
	}
	if an != nil {
		an.collect(stubs)
		for i := range stubs {
			an.apply(&stubs[i])
		}
	}
	ordered := order(stubs)

	var errs []error
	n := 0
	for _, st := range ordered {
		if _, err := veeam.NewStubs(st); err != nil {
			errs = append(errs, fmt.Errorf("record: %s %s (stub %s): %w", st.Method, st.Path, st.ID, err))
			continue
		}
		n++
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(stubFile{Stubs: []veeam.Stub{st}}); err != nil {
			errs = append(errs, fmt.Errorf("record: %s %s: %w", st.Method, st.Path, err))
			n--
			continue
		}
		name := fmt.Sprintf("%04d-%s-%s.json", n, strings.ToLower(st.Method), slug(st.Path))
		if err := os.WriteFile(filepath.Join(r.o.Dir, name), buf.Bytes(), 0o644); err != nil {
			return n - 1, fmt.Errorf("record: %w", err)
		}
	}
	return n, errors.Join(errs...)
}

// stubFile is the file `vbharness mock --stubs` reads.
type stubFile struct {
	Stubs []veeam.Stub `json:"stubs"`
}

// slug is a path as a file name part: lower case letters and digits, '-' between.
func slug(p string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(p) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b.WriteRune(c)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	s := strings.TrimRight(b.String(), "-")
	if len(s) > 60 {
		s = strings.TrimRight(s[:60], "-")
	}
	return s
}

// sortedKeys returns the keys of a query, sorted.
func sortedKeys(q map[string]string) []string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
