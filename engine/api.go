package engine

// This file is the contract between the engine and its callers (runner, cmd). The runner
// is built against these names in parallel with the engine; change them only together.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/vbharness/vbharness/engine/flow"
	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/mocks/contract"
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

// EntraTarget is how a scenario reaches Microsoft Entra ID: the settings of the Entra
// client (authority, tenant, client id, scope; empty fields take engine/flow's defaults),
// and who signs in.
type EntraTarget struct {
	flow.EntraSettings
	User string `json:"user,omitempty"` // who entra.signIn approves as on a mock; empty: the mock's default user
}

// VeeamTarget is how a scenario reaches the Veeam Backup for Microsoft 365 REST API.
type VeeamTarget struct {
	URL           string `json:"url"` // origin, e.g. https://abc.tech.local:4443
	AdminUser     string `json:"admin_user,omitempty"`
	AdminPassword string `json:"-"`
	Organization  string `json:"organization,omitempty"` // client_id for jwt-bearer; default: the Entra tenant (Target.Organization)
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
	// RequireIsolated: the test needs a fresh, private stack: exact virtual time, fixture
	// counts, journal counts. Only the embedded mocks give each test one; a running
	// `vbharness mock` (shared by the whole run) and a lab skip the test.
	RequireIsolated Requirement = "isolated"
)

// DefaultTimeout is a test's wall-clock deadline when neither the test nor the run sets
// one. Virtual time never counts.
const DefaultTimeout = 30 * time.Second

// NoTimeout, as a test's timeout option (TestInfo.Timeout) or the run's default
// (RunOptions.Timeout, runner.Options.Timeout), means no deadline at all. It is the one
// spelling of "none" in every layer; 0 always means "not set: the default applies". In
// scripts it is timeout: "none" (or Infinity); on the command line, --timeout none.
const NoTimeout time.Duration = -1

// Deadline decides which wall-clock limit applies to a test: its own timeout option
// (test) when it sets one, else the run's default (run), where 0 means DefaultTimeout.
// The result is positive, or NoTimeout. The engine alone calls it for tests (Script.Run);
// the runner calls it with test 0 to bound the top level and to show the run's limit.
func Deadline(test, run time.Duration) time.Duration {
	d := test
	if d == 0 {
		d = run
	}
	switch {
	case d == 0:
		return DefaultTimeout
	case d < 0:
		return NoTimeout
	}
	return d
}

// TestInfo describes one registered test.
type TestInfo struct {
	Name       string
	File       string
	Tags       []string
	Timeout    time.Duration // the test's own timeout option: 0 when it sets none (RunOptions.Timeout applies), NoTimeout for "none"
	Requires   []Requirement
	Skip       bool   // test.skip
	SkipReason string // reason given to test.skip, if any
	Only       bool   // test.only
	// Contract is the test's own contract option ("warn" or "off"), which loosens the
	// run's mode for this test (see EffectiveContract); "" when it sets none.
	Contract ContractMode `json:",omitempty"`
	// Line and Column are where the test was registered (its test(...) call) in File, the
	// file's own 1-based position; 0 when unknown. The runner names it when it has no
	// other position for the test (a test it abandoned).
	Line, Column int
}

// ContractMode is what a contract violation does to a test (docs/contract.md).
type ContractMode string

const (
	// ContractOff checks nothing.
	ContractOff ContractMode = "off"
	// ContractWarn records violations in the result and the reports; the test's status
	// is its own.
	ContractWarn ContractMode = "warn"
	// ContractFail records violations, and a test that would pass fails with a message
	// naming the first one.
	ContractFail ContractMode = "fail"
)

// ParseContractMode reads a mode as --contract and the test option spell it: fail, warn
// or off (any case).
func ParseContractMode(s string) (ContractMode, error) {
	switch m := ContractMode(strings.ToLower(strings.TrimSpace(s))); m {
	case ContractOff, ContractWarn, ContractFail:
		return m, nil
	}
	return "", fmt.Errorf("contract mode %q: want fail, warn or off", s)
}

// EffectiveContract is the mode that applies to a test: the run's mode, loosened by the
// test's own option (a test may turn fail into warn, or either into off, never warn into
// fail). "" counts as off for the run and as unset for the test.
func EffectiveContract(run, test ContractMode) ContractMode {
	rank := map[ContractMode]int{"": 0, ContractOff: 0, ContractWarn: 1, ContractFail: 2}
	m := run
	if test != "" && rank[test] < rank[m] {
		m = test
	}
	if rank[m] == 0 {
		return ContractOff
	}
	return m
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
	// Contract lists the exchange's contract violations, one line each
	// (contract.Violation.String); nil when it kept the contract or was not checked.
	Contract []string `json:"contract,omitempty"`
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
	// Violations are the ways the test's exchanges with the target broke the published
	// contract (mocks/contract), in the order they happened; nil when none did or the
	// contract mode is off. In ContractFail mode a passing test with a violation fails,
	// and Contract is set.
	Violations []contract.Violation
	// ContractFailed reports that the test failed because of Violations (fail mode), not
	// because of an assertion or an error.
	ContractFailed bool
}

// MapStrings returns a copy of r with f applied to every string the test produced: its
// name, file, message, stack, expected and actual values, skip reason, console lines,
// every part of every exchange (URL, header names and values, bodies, error), the script
// excerpt and the tokens' redaction markers. It is the
// one visitor of a result's text: the engine scrubs a finished result with it, and the
// reports scrub and escape through it (runner.Outcome.MapStrings). The copy shares no
// slice or map with r.
func (r Result) MapStrings(f func(string) string) Result {
	r.Name, r.File, r.Message, r.Stack = f(r.Name), f(r.File), f(r.Message), f(r.Stack)
	r.Expected, r.Actual, r.SkipReason = f(r.Expected), f(r.Actual), f(r.SkipReason)
	if r.Console != nil {
		lines := make([]ConsoleLine, len(r.Console))
		for i, l := range r.Console {
			lines[i] = ConsoleLine{Level: f(l.Level), Text: f(l.Text)}
		}
		r.Console = lines
	}
	if r.Trace != nil {
		trace := make([]Exchange, len(r.Trace))
		for i, x := range r.Trace {
			x.Method, x.URL, x.Error = f(x.Method), f(x.URL), f(x.Error)
			x.RequestBody, x.ResponseBody = f(x.RequestBody), f(x.ResponseBody)
			x.RequestHeaders, x.ResponseHeaders = mapHeaders(x.RequestHeaders, f), mapHeaders(x.ResponseHeaders, f)
			x.Uses, x.Issues = slices.Clone(x.Uses), slices.Clone(x.Issues)
			if x.Contract != nil {
				lines := make([]string, len(x.Contract))
				for j, l := range x.Contract {
					lines[j] = f(l)
				}
				x.Contract = lines
			}
			trace[i] = x
		}
		r.Trace = trace
	}
	r.Excerpt = r.Excerpt.Map(f)
	if r.Tokens != nil {
		tokens := make([]Token, len(r.Tokens))
		for i, t := range r.Tokens {
			t.Redacted = f(t.Redacted)
			tokens[i] = t
		}
		r.Tokens = tokens
	}
	r.Clock = slices.Clone(r.Clock)
	if r.Violations != nil {
		vs := make([]contract.Violation, len(r.Violations))
		for i, v := range r.Violations {
			v.Service, v.Side, v.Operation, v.Method = f(v.Service), f(v.Side), f(v.Operation), f(v.Method)
			v.Path, v.Pointer, v.Expected, v.Received = f(v.Path), f(v.Pointer), f(v.Expected), f(v.Received)
			vs[i] = v
		}
		r.Violations = vs
	}
	return r
}

func mapHeaders(h map[string]string, f func(string) string) map[string]string {
	if h == nil {
		return nil
	}
	out := make(map[string]string, len(h))
	for k, v := range h {
		out[f(k)] = f(v)
	}
	return out
}

// RunOptions configure one test run.
type RunOptions struct {
	Target *Target
	Seed   int64 // seeds Math.random
	// Timeout is the run-wide default deadline (wall clock) of a test that sets no timeout
	// option of its own: 0 means DefaultTimeout, NoTimeout none (see Deadline). Run
	// applies the test's own option instead when it has one: callers pass the default,
	// never a test's option (see the package doc).
	Timeout  time.Duration
	Scrubber *secret.Scrubber // every secret the run obtains is added here; may be nil
	Out      io.Writer        // where live sign-in prompts go (a person at a terminal); may be nil
	// MaxMemory is the run's memory limit in bytes (the runner's --max-memory), or 0 for
	// none. A builtin asked to build one string or array larger than it in a single call
	// ("x".repeat(2**30), padStart, padEnd, Array fill and join) throws a RangeError
	// instead of allocating it before the runner's watchdog could stop the test.
	MaxMemory int64
	// Contract is the run's contract mode: every exchange with the target's Veeam server
	// or Entra authority is checked against the published contract (mocks/contract) in
	// ContractWarn and ContractFail; "" is ContractOff. A test's own contract option may
	// loosen it (EffectiveContract).
	Contract ContractMode
	// Started, when set, is called once the test's own deadline starts: when its body is
	// about to run, after the top level. A runner that watches for a test stuck in a
	// native call counts the test's own timeout from then, not from Run's start.
	Started func()
	// Record, when set, hears every exchange the test's modules make (not the control
	// API's), whole and unredacted, before the trace redacts it: service is "veeam" for
	// the target's Veeam origin, "entra" for its Entra authority, else "". It is called on
	// the test's goroutine; a run's tests call it concurrently. `vbharness run --record`
	// (mocks/record) uses it.
	Record func(service string, ex *flow.Exchange)
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
//	    deadline: Deadline(its own timeout option, opts.Timeout).
var _ = context.Background
