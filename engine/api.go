package engine

// This file is the contract between the engine and its callers (runner, cmd). The runner
// is built against these names in parallel with the engine; change them only together.

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/mocks/secret"
)

// ErrMemoryLimit marks the cause a caller cancels a test's context with when the process
// ran out of its memory allowance (the runner's --max-memory): Run then reports the test
// as errored with the cause's message, not as timed out.
var ErrMemoryLimit = errors.New("memory limit exceeded")

// TargetKind says where a scenario's endpoints live.
type TargetKind string

const (
	// TargetMock is the embedded in-process mock stack (one per test, virtual clock).
	TargetMock TargetKind = "mock"
	// TargetLive is anything reached over the network: a lab server with real Entra, or a
	// separately started `vbharness mock`.
	TargetLive TargetKind = "live"
)

// EntraTarget is how a scenario reaches Microsoft Entra ID.
type EntraTarget struct {
	Authority string `json:"authority"`      // origin, e.g. https://login.microsoftonline.com (no tenant)
	Tenant    string `json:"tenant"`         // e.g. abc.onmicrosoft.com
	ClientID  string `json:"client_id"`      // default 04b07795-8ddb-461a-bbee-02f9e1bf7b46
	Scope     string `json:"scope"`          // default "Directory.AccessAsUser.All User.ReadWrite.All offline_access"
	User      string `json:"user,omitempty"` // default user for mock sign-in
}

// VeeamTarget is how a scenario reaches the Veeam Backup for Microsoft 365 REST API.
type VeeamTarget struct {
	URL           string `json:"url"` // origin, e.g. https://abc.tech.local:4443
	AdminUser     string `json:"admin_user,omitempty"`
	AdminPassword string `json:"-"`
	Organization  string `json:"organization,omitempty"` // client_id for jwt-bearer; default Entra tenant
}

// ControlTarget locates the mock control API (/_mock/) of both servers.
type ControlTarget struct {
	EntraURL string // origin of the Entra mock
	VeeamURL string // origin of the Veeam mock
	Token    string // control token, if the mock requires one
}

// Target is everything a scenario needs to know about where it runs.
type Target struct {
	Name               string
	Kind               TargetKind
	Entra              EntraTarget
	Veeam              VeeamTarget
	HTTPClient         *http.Client   // TLS settings (CA file, insecure) or the in-process transport
	Clock              clock.Clock    // the scenario clock: the stack's virtual clock on TargetMock
	Control            *ControlTarget // nil when no control API is reachable
	InsecureSkipVerify bool
	Env                map[string]string // VBHARNESS_* variables, exposed to scripts as env
	Settings           map[string]any    // extra target settings, exposed to scripts as target.settings
}

// Requirement names something a test needs from its target.
type Requirement string

const (
	// RequireClock: the test advances time (clock.advance), so the target's clock must be
	// controllable (the embedded mocks, or a `vbharness mock` with its control API).
	RequireClock Requirement = "clock"
	// RequireControl: the test uses the mock module (approve, faults, journal, settings).
	RequireControl Requirement = "control"
	// RequireLive: the test only makes sense against a live target.
	RequireLive Requirement = "live"
)

// TestInfo describes one registered test.
type TestInfo struct {
	Name       string
	File       string
	Tags       []string
	Timeout    time.Duration // the test's own timeout option; 0 when it sets none (or 0): RunOptions.Timeout applies
	Requires   []Requirement
	Skip       bool   // test.skip
	SkipReason string // reason given to test.skip, if any
	Only       bool   // test.only
}

// Status is a test's outcome.
type Status string

const (
	StatusPassed   Status = "passed"
	StatusFailed   Status = "failed"    // an assertion failed
	StatusErrored  Status = "errored"   // an exception other than an assertion, or a load error
	StatusTimedOut Status = "timed out" // the deadline passed or the run was cancelled
	StatusSkipped  Status = "skipped"
)

// ConsoleLine is one console.* call of a scenario.
type ConsoleLine struct {
	Level string `json:"level"` // log, info, warn, error
	Text  string `json:"text"`  // redacted
}

// Exchange is one HTTP request made by a host module, with secrets redacted.
type Exchange struct {
	Method          string            `json:"method"`
	URL             string            `json:"url"`
	RequestHeaders  map[string]string `json:"request_headers,omitempty"`
	RequestBody     string            `json:"request_body,omitempty"`
	Status          int               `json:"status"`
	ResponseHeaders map[string]string `json:"response_headers,omitempty"`
	ResponseBody    string            `json:"response_body,omitempty"`
	DurationMS      float64           `json:"duration_ms"`
	Error           string            `json:"error,omitempty"`
	// AtMS is when the request was sent, in milliseconds on the scenario clock (virtual
	// or real) since the test began: what the HTML report's timeline lays it out by.
	AtMS float64 `json:"at_ms"`
	// Uses names the tokens (Result.Tokens ids) the request carried: a bearer token, a
	// refresh_token, an assertion or the access token inside one.
	Uses []string `json:"uses,omitempty"`
	// Issues names the tokens the response issued.
	Issues []string `json:"issues,omitempty"`
}

// Result is the outcome of one test.
type Result struct {
	Name       string
	File       string
	Status     Status
	Message    string // one line: what went wrong
	Stack      string // JS stack, file.js:line:col frames
	Expected   string // assertion failures only
	Actual     string // assertion failures only
	SkipReason string
	Console    []ConsoleLine
	Trace      []Exchange
	// Tokens lists every token a response of the trace issued, in order of issue; Clock
	// every step the scenario clock took apart from requests (clock.advance, sleeps,
	// timers, polling). Together with Exchange.AtMS they are a token's life on the
	// scenario clock. Neither ever holds a secret.
	Tokens []Token
	Clock  []ClockStep
	// Excerpt is the script source around the failing line (the first frame of Stack) of
	// a test that did not pass; nil when no frame names a readable script.
	Excerpt *Excerpt
	Wall    time.Duration
	Virtual time.Duration // time that passed on the scenario clock
	Seed    int64
}

// RunOptions configure one test run.
type RunOptions struct {
	Target *Target
	Seed   int64 // seeds Math.random
	// Timeout is the run-wide default deadline (wall clock) of a test that sets no timeout
	// option of its own; 0 means none. Run applies the test's own option instead when it
	// has one: callers pass the default, never a test's option (see the package doc).
	Timeout  time.Duration
	Scrubber *secret.Scrubber // every secret the run obtains is added here; may be nil
	Out      io.Writer        // where live sign-in prompts go (a person at a terminal); may be nil
}

// Runner-facing entry points, implemented in the engine package:
//
//	func NewLoader(fsys fs.FS) *Loader
//	    Compiles scripts from fsys once, cached by path and content.
//	func (l *Loader) Load(path string) (*Script, error)
//	    Syntax errors and missing files return a *LoadError naming file:line:col.
//	func (s *Script) Tests(ctx context.Context) ([]TestInfo, error)
//	    Evaluates the top level in a throwaway runtime to collect the tests it registers.
//	func (s *Script) Run(ctx context.Context, test string, opts RunOptions) *Result
//	    Runs one registered test in a fresh runtime; never panics. Decides the test's
//	    deadline: its own timeout option, else opts.Timeout.
var _ = context.Background
