package engine

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"

	"github.com/dop251/goja"
	"github.com/dop251/goja/parser"

	"github.com/vbharness/vbharness/engine/flow"
	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/mocks/secret"
)

// wall is the engine's one real clock: it measures Result.Wall and exchange durations,
// never scenario time.
var wall clock.Clock = clock.NewReal()

// config is what configure needs to build a runtime.
type config struct {
	ctx    context.Context
	loader *Loader // resolves relative requires; nil allows only "vbharness"
	file   string  // the script being run, as stack frames name it
	target *Target // nil while collecting tests
	scrub  *secret.Scrubber
	out    io.Writer // live sign-in prompts
	seed   int64
	// maxMemory is the run's memory limit in bytes (RunOptions.MaxMemory): a single
	// string or array a builtin would build larger than it is refused up front. 0: no
	// such check.
	maxMemory int64
	record    func(service string, ex *flow.Exchange) // RunOptions.Record
}

// runtime is one scenario runtime: the host its modules share, the event loop, the
// CommonJS module cache, and require("vbharness"). It is used by exactly one goroutine,
// the one that built it; only the VM's Interrupt may be called from elsewhere
// (context.AfterFunc).
type runtime struct {
	*host
	loop    *eventLoop
	req     *requirer
	exports *goja.Object // require("vbharness")
}

// errTimedOut is the value a runtime is interrupted with when its context ends.
var errTimedOut = errors.New("timed out")

// MaxCallStackSize is the deepest JavaScript call stack a scenario may build. Deeper
// recursion fails the test as errored with a RangeError ("Maximum call stack size
// exceeded") instead of growing the runtime until the process runs out of memory.
// Scenarios rarely nest more than a few dozen calls. The bound is kept low because
// unwinding recursion that passes through native functions (a callback of forEach, a
// toString) costs time quadratic in the depth: 0.2 s at 2 000 frames, 3 s at 10 000.
const MaxCallStackSize = 2000

// configure builds and configures a runtime: the field-name mapper, the scenario clock as
// time source, the seeded Math.random, the error classes, the modules, require, the
// console and timer globals. Script.Tests, Script.Run and the test helper runtime all
// call it; nothing else configures a goja.Runtime.
func configure(cfg config) (*runtime, error) {
	if cfg.ctx == nil {
		cfg.ctx = context.Background()
	}
	if cfg.scrub == nil {
		cfg.scrub = secret.NewScrubber()
	}
	if cfg.out == nil {
		cfg.out = io.Discard
	}
	vm := goja.New()
	h := &host{vm: vm, ctx: cfg.ctx, target: cfg.target, scrub: cfg.scrub, out: cfg.out, file: cfg.file, reg: newRegistry(), maxAlloc: cfg.maxMemory, record: cfg.record}
	switch {
	case cfg.target == nil:
		h.clock = collectClock
	case cfg.target.Clock != nil:
		h.clock = cfg.target.Clock
	case cfg.target.Kind == TargetMock:
		h.clock = clock.NewVirtual(clock.DefaultStart)
	default:
		h.clock = clock.NewReal()
	}
	if cfg.target != nil {
		h.tl = newTimeline(h.clock.Now(), cfg.target)
		h.clock = recordingClock{Clock: h.clock, h: h}
	}
	client := httpClient(cfg.target)
	h.http = &flow.HTTP{Client: client, Wall: wall, Clock: h.clock, Observe: h.observe, Secret: h.scrub.AddAs, Redact: h.scrub.Scrub, UserAgent: "vbharness"}
	h.control = &flow.HTTP{Client: client, Secret: h.scrub.AddAs, Redact: h.scrub.Scrub, UserAgent: "vbharness"}

	r := &runtime{host: h, loop: newEventLoop(h)}
	vm.SetFieldNameMapper(goja.TagFieldNameMapper("json", true))
	vm.SetTimeSource(h.clock.Now)
	rng := rand.New(rand.NewPCG(uint64(cfg.seed), uint64(cfg.seed)^0x9e3779b97f4a7c15))
	vm.SetRandSource(rng.Float64)
	vm.SetPromiseRejectionTracker(r.loop.trackRejection)
	vm.SetMaxCallStackSize(MaxCallStackSize)
	vm.SetSourceCheck(checkSource)
	vm.SetParserOptions(parser.WithMaxDepth(parserDepth))

	if err := h.installKit(); err != nil {
		return nil, err
	}
	r.exports = buildExports(h)
	h.exports = r.exports
	r.req = &requirer{host: h, loader: cfg.loader, exports: r.exports, modules: map[string]*goja.Object{}}
	_ = vm.Set("console", r.exports.Get("console"))
	r.loop.install()
	if testGlobals != nil {
		testGlobals(vm)
	}
	return r, nil
}

// testGlobals, set once by the package's tests before any runs (export_test.go), adds
// globals to every runtime: a host function that panics in Go as goja's bugs do.
var testGlobals func(vm *goja.Runtime)

// collectClock is the clock of a runtime that has no target (collecting tests): Date works
// and is the same on every machine.
var collectClock clock.Clock = clock.NewVirtual(clock.DefaultStart)

// installKit runs the prelude (the error classes) and keeps JSON.parse and stringify.
func (h *host) installKit() error {
	v, err := h.vm.RunProgram(preludeProgram)
	if err != nil {
		return fmt.Errorf("engine prelude: %w", err)
	}
	obj := v.ToObject(h.vm)
	h.js.errCtors = map[string]goja.Value{}
	for _, k := range obj.Keys() {
		h.js.errCtors[k] = obj.Get(k)
	}
	h.js.symService = goja.NewSymbol("service")
	json := h.vm.Get("JSON").ToObject(h.vm)
	h.js.jsonParse, _ = goja.AssertFunction(json.Get("parse"))
	h.js.jsonString, _ = goja.AssertFunction(json.Get("stringify"))
	h.installLimits() // after keeping JSON's originals: the engine's own calls need no bound
	return nil
}

var (
	defaultClient  = &http.Client{}
	insecureClient = &http.Client{Transport: insecureTransport()}
)

func insecureTransport() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // only when the target says so
	return t
}

// httpClient is the target's client: its own (TLS settings or the in-process transport),
// else one that skips verification when the target says so, else Go's default.
func httpClient(t *Target) *http.Client {
	if t != nil && t.HTTPClient != nil {
		return t.HTTPClient
	}
	if t != nil && t.InsecureSkipVerify {
		return insecureClient
	}
	return defaultClient
}

// Clients returns the protocol clients of target t, sending through h and reading clk:
// the one constructor of flow clients from a target, used by the engine's modules and by
// `vbharness login` and `token`. A nil target (collecting tests) gives clients of flow's
// defaults, which are never called.
func (t *Target) Clients(h *flow.HTTP, clk clock.Clock) (*flow.Entra, *flow.Veeam) {
	var t0 Target
	if t == nil {
		t = &t0
	}
	return &flow.Entra{HTTP: h, Clock: clk, EntraSettings: t.Entra.EntraSettings}, &flow.Veeam{HTTP: h, Clock: clk, URL: t.Veeam.URL}
}

// Credentials returns the secrets the target was given, all credentials (see
// mocks/secret): the admin password, the control token, and the values of environment
// variables whose names say they are secret (secret.IsEnv). Run hands them to the
// scrubber before the test starts.
func (t *Target) Credentials() []string {
	out := []string{t.Veeam.AdminPassword}
	if t.Control != nil {
		out = append(out, t.Control.Token)
	}
	for k, v := range t.Env {
		if secret.IsEnv(k) {
			out = append(out, v)
		}
	}
	return out
}

// Organization is the client_id of Veeam's jwt-bearer grant: the target's organization,
// else its Entra tenant.
func (t *Target) Organization() string {
	if t.Veeam.Organization != "" {
		return t.Veeam.Organization
	}
	return t.Entra.Tenant
}
