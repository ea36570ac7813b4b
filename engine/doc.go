// Package engine owns the scenario engine: it loads scenario scripts (JavaScript,
// CommonJS), runs each test in its own goja runtime against a Target, and reports a
// Result with the test's status, JS stack, console output and a redacted HTTP trace.
//
// What lives here: the Loader (compile once per path and content, relative requires
// resolved inside the scenario fs.FS), the runtime (configure: the field name mapper, the
// scenario clock as Date's time source, a seeded Math.random, require, console capture,
// timers and an event loop on the scenario clock), and the modules of the built-in
// "vbharness" module. Modules follow one contract (modules.go, k6's shape): a small host
// holds what they share (the VM, the context, the clock, the scrubber, the target, the
// phase and the helpers); each module is a struct of its own with its own state, whose
// methods are its JS functions; one table lists them, and the exports, the context a test
// receives and the .d.ts check derive from it. The modules are test registration (test,
// test.skip, test.only, beforeEach, afterEach), expect, entra, veeam, mock, clock, http,
// jwt, target, env and console. The Go protocol clients behind entra and veeam live in
// engine/flow, which the CLI reuses; the mock servers live in mocks; choosing targets,
// scheduling tests and writing reports is the runner's job. api.go is the contract with
// the runner.
//
// Registration: Script.Tests evaluates the top level once and checks every test it
// registers. Each Run then evaluates the top level again in the test's fresh runtime, where
// test() registers only the test being run (registry.only). In a file of many plain
// test(...) statements, Run compiles the module without the other tests' statements and
// stops the top level after its own test when only such statements follow
// (registrationTail, tail.go): the cost of one test does not grow with the file.
//
// Goroutine rules: a goja.Runtime is created, used and dropped by the goroutine that
// calls Script.Run (or Script.Tests); no JS value leaves it. Host calls are synchronous
// (the Go code blocks, the script sees a return value, as in k6). The only cross-goroutine
// call is Runtime.Interrupt, made by context.AfterFunc when the run's context ends, and
// every blocking host call (HTTP, sleep, polling, waiting for a timer on a real clock)
// also watches that context, because Interrupt does not stop Go code. Loaders, Scripts
// and compiled programs are safe for concurrent use: many tests of one script may run at
// once, each in its own runtime.
//
// Time: scripts see only the scenario clock (Target.Clock): Date, sleep, timers and the
// device-code polling all read it, so on the in-process mock target an hour of token life
// passes in microseconds. The engine reads the wall clock only to measure Result.Wall and
// exchange durations.
//
// Timeouts: the engine alone decides which wall-clock deadline applies to a test
// (Deadline, called by Script.Run). A test's own timeout option, when it sets one, is its
// deadline, longer or shorter than the run's; otherwise RunOptions.Timeout is, the
// run-wide default its caller passes down unchanged (the runner's --timeout). One meaning
// in every layer: 0 is "not set" (the run's default, then DefaultTimeout, 30 s);
// NoTimeout is "none" (timeout: "none" in scripts, --timeout none on the command line).
// The top level, which Run evaluates before the test, has the run-wide default. Virtual
// time never counts.
//
// Secrets: every token, device or user code, password and assertion a host module sends
// or receives is added to RunOptions.Scrubber; the trace, console capture, messages and
// stacks of a Result are redacted with it. Values the script itself sees are not
// redacted: the script needs them.
package engine
