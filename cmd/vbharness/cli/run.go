package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/vbharness/vbharness/engine"
	"github.com/vbharness/vbharness/mocks/secret"
	"github.com/vbharness/vbharness/runner"
	"github.com/vbharness/vbharness/runner/config"
	"github.com/vbharness/vbharness/runner/report"
)

// EnvTarget names the default target when --target is not given.
const EnvTarget = "VBHARNESS_TARGET"

type runFlags struct {
	target   string
	config   string
	parallel int
	timeout  time.Duration
	filter   string
	tags     []string
	failFast bool
	seed     int64
	verbose  bool
	noColor  bool
	reports  []string
	maxMem   string
	shard    string
	durFile  string
	root     string

	record    string // --record DIR
	anonymize bool   // --anonymize
	contract  string
}

func (a *app) runCommand() *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run [paths…]",
		Short: "Run scenarios (default: the bundled catalogue against the embedded mocks)",
		Long: `Run discovers scenario files (*.js; files under a lib/ folder are helper modules)
in the given files and folders, or runs the bundled catalogue when no path is given,
and runs every test in its own runtime. On the embedded mock target (the default) each
test also gets its own in-process Entra and Veeam mocks with a virtual clock.

Exit codes: 0 all passed, 1 a test failed, 2 usage or configuration error,
3 a script failed to load, 130 interrupted.`,
		Example: `  vbharness run
  vbharness run --filter refresh --report junit=results.xml
  vbharness run ./scenarios --target lab --tag smoke
  vbharness run --shard 2/3 --shard-durations last.json --report json=shard-2.json
  vbharness run scripts/lab --root scripts --target lab --record ./lab-recording`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.run(cmd.Context(), cmd, args, &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.target, "target", "", `target to run against: "mock" (the embedded mocks) or a name from the targets file (default $`+EnvTarget+` or mock)`)
	fl.StringVar(&f.config, "config", "", "targets file (default ./"+config.FileName+")")
	fl.IntVarP(&f.parallel, "parallel", "p", 0, "tests to run at once (default the number of CPUs)")
	f.timeout = engine.DefaultTimeout
	fl.Var((*timeoutFlag)(&f.timeout), "timeout", "wall-clock limit per test unless the test sets its own, or none (virtual time does not count)")
	fl.StringVar(&f.filter, "filter", "", "run only tests whose name matches this regular expression")
	fl.StringSliceVar(&f.tags, "tag", nil, "run only tests with this tag (repeatable or comma-separated; !tag excludes)")
	fl.BoolVar(&f.failFast, "fail-fast", false, "start no more tests after the first failure")
	fl.Int64Var(&f.seed, "seed", 0, "run seed, to reproduce a run (default random; the header prints it)")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "print console output and HTTP traces of passing tests too")
	fl.BoolVar(&f.noColor, "no-color", false, "plain output without colours (also NO_COLOR=1)")
	fl.StringArrayVar(&f.reports, "report", nil, "write a report: junit=FILE, json=FILE, tap=FILE or html=FILE (repeatable)")
	fl.StringVar(&f.shard, "shard", "", `run only share i of n of the tests ("2/3"), or "auto": the share the CI's environment names (docs/ci.md)`)
	fl.StringVar(&f.durFile, "shard-durations", "", "balance --shard by the test durations of this JSON report of an earlier run (--report json=FILE)")
	fl.StringVar(&f.root, "root", "", "folder whose files scripts may require (default: the folders of the scenario paths given)")
	fl.StringVar(&f.record, "record", "", "save every Veeam exchange of the run as a stub file in DIR (new or empty), secrets removed: `vbharness mock --stubs DIR` replays it (docs/veeam-mock.md, Recordings)")
	fl.BoolVar(&f.anonymize, "anonymize", false, "with --record: replace GUIDs, names and e-mail addresses consistently")
	fl.StringVar(&f.contract, "contract", "", "what a contract violation does (docs/contract.md): fail, warn or off (default fail on the mocks, warn on a live target)")
	fl.StringVar(&f.maxMem, "max-memory", "2GiB", "heap the scenarios may use before the longest-running one is stopped as errored (e.g. 512MiB, 4GiB; 0 for no limit)")
	return cmd
}

func (a *app) run(ctx context.Context, cmd *cobra.Command, args []string, f *runFlags) error {
	// Everything that can be wrong with the invocation is checked before a test runs.
	if f.parallel < 0 {
		return usage("--parallel must be 0 (the number of CPUs) or more, got %d", f.parallel)
	}
	timeout := f.timeout // a positive duration, or engine.NoTimeout (--timeout none)
	maxMemory, err := parseSize(f.maxMem)
	if err != nil {
		return usage("--max-memory %q: %v", f.maxMem, err)
	}
	if maxMemory == 0 {
		maxMemory = -1 // runner: no limit
	}
	var contractMode engine.ContractMode
	if f.contract != "" {
		if contractMode, err = engine.ParseContractMode(f.contract); err != nil {
			return usage("--contract %q: want fail, warn or off", f.contract)
		}
	}
	var filter *regexp.Regexp
	if f.filter != "" {
		if filter, err = regexp.Compile(f.filter); err != nil {
			return usage("--filter %q is not a regular expression: %v", f.filter, err)
		}
	}
	var specs []report.Spec
	for _, r := range f.reports {
		s, err := report.ParseSpec(r)
		if err != nil {
			return usage("%v", err)
		}
		specs = append(specs, s)
	}
	seed := f.seed
	if !cmd.Flags().Changed("seed") {
		seed = runner.NewRunSeed()
	} else if seed < 0 || seed > runner.MaxSeed {
		return usage("--seed must be between 0 and %d (2^53-1), got %d", int64(runner.MaxSeed), seed)
	}
	var shard runner.Shard
	var durations runner.Durations
	if f.shard != "" {
		if shard, err = runner.ParseShard(f.shard, a.env); err != nil {
			return usage("%v", err)
		}
	}
	if f.durFile != "" {
		if f.shard == "" {
			return usage("--shard-durations balances --shard; give --shard i/n or --shard auto with it")
		}
		prev, err := a.readReport(f.durFile, "--shard-durations")
		if err != nil {
			return err
		}
		durations = runner.DurationsOf(prev)
	}
	if a.deps.newEngine == nil {
		return usage("this build of vbharness has no scenario engine")
	}

	scrub := secret.NewScrubber()
	scrub.AddCredential(runner.SecretEnv(a.env)...)
	target, err := a.target(ctx, f.target, f.config, scrub)
	if err != nil {
		return err
	}
	fsys, files, show, err := a.scenarios(args, f.root)
	if err != nil {
		return err
	}
	if f.anonymize && f.record == "" {
		return usage("--anonymize anonymises a recording; give --record DIR with it")
	}
	var rec *recording
	if f.record != "" {
		dir := f.record
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(a.dir, dir)
		}
		if rec, err = newRecording(dir, f.record, f.anonymize, scrub); err != nil {
			return usage("--record %s: %v", f.record, err)
		}
	}
	outs, err := a.createReports(specs, !shard.IsZero(), scrub)
	if err != nil {
		return err
	}
	defer func() {
		for _, o := range outs {
			o.Abort() // a report not written (a usage error after this point) leaves nothing behind
		}
	}()

	term := a.deps.terminal(a.stdout)
	con := report.NewConsole(a.stdout, report.ConsoleOptions{
		Color:    term && !f.noColor && a.env["NO_COLOR"] == "" && a.env["TERM"] != "dumb",
		Live:     term && a.env["TERM"] != "dumb",
		Verbose:  f.verbose,
		Clock:    a.deps.clock,
		Scrubber: scrub,
	})
	plan, err := runner.NewPlan(ctx, runner.Options{
		Engine: a.deps.newEngine(fsys), Files: files, Target: target,
		Parallel: f.parallel, Timeout: timeout, Filter: filter, Tags: f.tags, FailFast: f.failFast, Seed: seed, Contract: contractMode,
		Clock: a.deps.clock, Scrubber: scrub, Observer: observers(con, outs), Prompt: con.Prompt(), MaxMemory: maxMemory, ShowPath: show,
		// The console and every report file hear each result as it finishes; the run
		// keeps only what the console's summary shows in detail, so its memory does not
		// grow with the number of tests.
		Keep: con.Details, KeepMax: report.DetailsKept,
		Record: rec.hook(),
	})
	if err != nil {
		return usage("%v", err)
	}
	if plan.Selected() == 0 && plan.LoadErrors == 0 {
		if filter != nil || len(f.tags) > 0 {
			return usage("no test matches --filter %q --tag %q (%d tests found in %d files)", f.filter, strings.Join(f.tags, ","), plan.Discovered, plan.Files)
		}
		return usage("the scenario files register no tests (%d files)", plan.Files)
	}
	if !shard.IsZero() {
		// A shard with no test (more shards than tests) is a run that passes: a CI
		// matrix wider than the catalogue must not fail for it.
		if err := plan.Shard(shard, durations); err != nil {
			return usage("%v", err)
		}
	}

	con.Header(plan)
	var outcome *runner.Outcome
	if term {
		outcome = withTicker(con, func() *runner.Outcome { return plan.Execute(ctx) })
	} else {
		outcome = plan.Execute(ctx)
	}
	code := outcome.ExitCode()
	for _, o := range outs {
		if err := o.Close(outcome); err != nil {
			fmt.Fprintf(a.stderr, "vbharness: cannot write the %s report %s: %v\n", o.Spec.Format, o.Spec.Path, err)
			code = max(code, exitUsage)
		}
	}
	con.Summary(outcome.Scrub(scrub))
	if rec != nil && !rec.close(a.stderr, "vbharness") {
		code = max(code, exitUsage)
	}
	return exit(code)
}

// withTicker redraws the console's progress line while run runs.
func withTicker(con *report.Console, run func() *runner.Outcome) *runner.Outcome {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				con.Tick()
			}
		}
	}()
	o := run()
	close(done)
	<-stopped
	return o
}

// target resolves the --target name to a runner target, adding the target's secrets to
// scrub. Every problem is a configuration error (exit 2).
func (a *app) target(ctx context.Context, name, configFlag string, scrub *secret.Scrubber) (*runner.Target, error) {
	if name == "" {
		name = a.env[EnvTarget]
	}
	if name == "" {
		name = config.MockTarget
	}
	if name == config.MockTarget {
		if configFlag != "" { // an explicit file is checked even when it is not needed
			if _, err := a.loadConfig(configFlag, "--config"); err != nil {
				return nil, err
			}
		}
		if a.deps.mockTarget == nil {
			return nil, usage("this build of vbharness has no embedded mocks; use --target with a live target")
		}
		return a.deps.mockTarget(a.env), nil
	}
	r, err := a.resolve(name, configFlag)
	if err != nil {
		return nil, err
	}
	scrub.AddCredential(r.Secrets...)
	t, err := runner.LiveTarget(ctx, r, a.env)
	if err != nil {
		return nil, usage("target %s: %v", name, err)
	}
	return t, nil
}

// loadConfig finds and parses the targets file; why says what it is needed for.
func (a *app) loadConfig(configFlag, why string) (*config.File, error) {
	p, err := config.Find(a.dir, configFlag)
	if errors.Is(err, config.ErrNotFound) {
		return nil, usage("%s needs a targets file, but %v; create %s (see docs/cli.md) or pass --config", why, err, config.FileName)
	}
	if err != nil {
		return nil, usage("%v", err)
	}
	display := configFlag
	if display == "" {
		display = config.FileName
	}
	f, err := config.Load(p, display)
	if err != nil {
		return nil, usage("%v", err)
	}
	return f, nil
}

// resolve loads the targets file and resolves a live target in it, with a running
// mock's defaults filled in (runner.MockDefaults).
func (a *app) resolve(name, configFlag string) (*config.Resolved, error) {
	f, err := a.loadConfig(configFlag, fmt.Sprintf("target %q", name))
	if err != nil {
		return nil, err
	}
	r, err := f.Resolve(name, a.env)
	if err != nil {
		return nil, usage("%v", err)
	}
	runner.MockDefaults(r)
	return r, nil
}

// scenarios returns the file system the engine reads and the scenario files in it: the
// bundled catalogue when no path is given, otherwise the given files and folders, seen
// from their common folder with the working directory (and --root), so paths, seeds and
// reports name files as before. What a script may require is bounded separately (issue
// 15 item 6): only files under the folders of the scenario paths given, or under
// rootFlag (--root) when set; symbolic links are resolved before the check
// (boundedFS). When the common folder is not the working directory, show names each
// file as it opens from the shell (runner.Options.ShowPath); otherwise show is nil.
func (a *app) scenarios(args []string, rootFlag string) (fsys fs.FS, files []string, show func(string) string, err error) {
	if len(args) == 0 {
		if rootFlag != "" {
			return nil, nil, nil, usage("--root bounds what the scenario paths given may require; give the paths too (the bundled catalogue needs no --root)")
		}
		files, err := runner.Discover(a.deps.catalogue, catalogueDir)
		if err != nil {
			return nil, nil, nil, usage("the bundled catalogue: %v", err)
		}
		return a.deps.catalogue, files, nil, nil
	}
	abs := make([]string, len(args))
	var allowed []string // the folders scripts may require from, symbolic links resolved
	root := a.dir
	for i, p := range args {
		if !filepath.IsAbs(p) {
			p = filepath.Join(a.dir, p)
		}
		p = filepath.Clean(p)
		st, err := os.Stat(p)
		if err != nil {
			return nil, nil, nil, usage("%s: no such file or folder", args[i])
		}
		abs[i] = p
		d := p
		if !st.IsDir() {
			d = filepath.Dir(p)
		}
		root = commonDir(root, d)
		if real, err := filepath.EvalSymlinks(d); err == nil {
			allowed = append(allowed, real)
		}
	}
	boundary := "the folders of the scenario paths given"
	if rootFlag != "" {
		r := rootFlag
		if !filepath.IsAbs(r) {
			r = filepath.Join(a.dir, r)
		}
		real, err := filepath.EvalSymlinks(filepath.Clean(r))
		if err != nil {
			return nil, nil, nil, usage("--root %s: no such folder", rootFlag)
		}
		for i, d := range allowed {
			if !within(real, d) {
				return nil, nil, nil, usage("%s is outside --root %s; give a --root that holds every scenario path", args[i], rootFlag)
			}
		}
		allowed = []string{real}
		root = commonDir(root, filepath.Clean(r))
		boundary = "--root " + rootFlag
	}
	roots := make([]string, len(abs))
	for i, p := range abs {
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return nil, nil, nil, usage("%s: %v", args[i], err)
		}
		roots[i] = filepath.ToSlash(rel)
	}
	bfs := boundedFS{FS: os.DirFS(root), dir: root, allowed: allowed, boundary: boundary}
	fsys = bfs
	files, err = runner.Discover(fsys, roots...)
	if err != nil {
		if errors.Is(err, runner.ErrNoScenarios) {
			return nil, nil, nil, usage("no scenario files (*.js outside lib/ folders) in %s", strings.Join(args, ", "))
		}
		return nil, nil, nil, usage("%v", err)
	}
	// A file found by walking a folder that is a symbolic link to somewhere outside the
	// boundary is skipped with a warning: it was not asked for, and failing the whole run
	// for it (a load error, exit 3) stopped every other file. A file named on the command
	// line is run, and its load error says why it cannot be.
	named := map[string]bool{}
	for _, r := range roots {
		named[r] = true
	}
	kept := files[:0]
	for _, f := range files {
		real, err := filepath.EvalSymlinks(filepath.Join(root, filepath.FromSlash(f)))
		if err == nil && !named[f] && !bfs.inside(real) {
			fmt.Fprintf(a.stderr, "vbharness: skipping %s: a symbolic link to %s, outside %s (--root widens it)\n", f, real, boundary)
			continue
		}
		kept = append(kept, f)
	}
	if files = kept; len(files) == 0 {
		return nil, nil, nil, usage("no scenario files (*.js outside lib/ folders) in %s: every one found is a symbolic link outside %s", strings.Join(args, ", "), boundary)
	}
	if root != a.dir {
		show = shellPaths(root, a.dir)
	}
	return fsys, files, show, nil
}

// errOutsideRoot marks a file a script may not require (boundedFS).
var errOutsideRoot = errors.New("outside the folders scripts may require from")

// boundedFS is the scenario file system: it opens only files whose real path (symbolic
// links resolved) is under one of allowed, and refuses the others with errOutsideRoot,
// naming the boundary.
type boundedFS struct {
	fs.FS
	dir      string   // the folder FS reads, absolute
	allowed  []string // absolute, symbolic links resolved
	boundary string   // what the user gave, for the message
}

func (b boundedFS) Open(name string) (fs.File, error) {
	if fs.ValidPath(name) {
		if real, err := filepath.EvalSymlinks(filepath.Join(b.dir, filepath.FromSlash(name))); err == nil && !b.inside(real) {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf("%w (%s); it resolves to %s", errOutsideRoot, b.boundary, real)}
		}
	}
	return b.FS.Open(name)
}

func (b boundedFS) inside(real string) bool {
	for _, d := range b.allowed {
		if within(d, real) {
			return true
		}
	}
	// The folders leading to an allowed one (discovery walks them) hold nothing to read.
	for _, d := range b.allowed {
		if within(real, d) {
			return true
		}
	}
	return false
}

// within reports whether p is dir or under it (both absolute and clean).
func within(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// shellPaths returns a runner.Options.ShowPath for a file system rooted at root: a file
// under dir (the working directory) is named relative to it, any other by its absolute
// path. A path that names no file under root is returned as it is. Safe for concurrent
// use.
func shellPaths(root, dir string) func(string) string {
	var (
		mu   sync.Mutex
		seen = map[string]string{}
	)
	return func(p string) string {
		mu.Lock()
		defer mu.Unlock()
		if s, ok := seen[p]; ok {
			return s
		}
		s := p
		abs := filepath.Join(root, filepath.FromSlash(p))
		if st, err := os.Stat(abs); err == nil && !st.IsDir() {
			s = abs
			if rel, err := filepath.Rel(dir, abs); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				s = rel
			}
		}
		seen[p] = s
		return s
	}
}

// commonDir returns the deepest folder containing both a and b (absolute, clean).
func commonDir(a, b string) string {
	for {
		if within(a, b) {
			return a
		}
		parent := filepath.Dir(a)
		if parent == a {
			return a
		}
		a = parent
	}
}

// createReports starts every report file before the run, so a path that cannot be
// written is a usage error rather than a lost report at the end. Each file hears the
// run's results as they finish and is written, atomically, when it is closed.
func (a *app) createReports(specs []report.Spec, sharded bool, scrub *secret.Scrubber) ([]*report.File, error) {
	var out []*report.File
	for _, s := range specs {
		p := s.Path
		if !filepath.IsAbs(p) {
			p = filepath.Join(a.dir, p)
		}
		f, err := report.Create(s, p, sharded, scrub)
		if err != nil {
			for _, o := range out {
				o.Abort()
			}
			return nil, usage("--report %s=%s: %v", s.Format, s.Path, err)
		}
		out = append(out, f)
	}
	return out, nil
}

// observers is the console followed by every report file, as one runner.Observer.
func observers(con *report.Console, files []*report.File) runner.Observer {
	obs := fanOut{con}
	for _, f := range files {
		obs = append(obs, f)
	}
	return obs
}

// fanOut passes each event to every observer in order. The runner calls it from one
// goroutine at a time, and so it calls them.
type fanOut []runner.Observer

func (f fanOut) TestStarted(t *runner.Planned) {
	for _, o := range f {
		o.TestStarted(t)
	}
}

func (f fanOut) TestFinished(r *runner.Result) {
	for _, o := range f {
		o.TestFinished(r)
	}
}

// sizeUnits are the suffixes --max-memory accepts, longest first.
var sizeUnits = []struct {
	suffix string
	bytes  int64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
	{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"b", 1},
}

// parseSize reads a byte size: a whole number with an optional unit (KiB, MiB, GiB,
// TiB, or KB, MB, GB, TB; K, M, G mean KiB, MiB, GiB), case-insensitive.
func parseSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range sizeUnits {
		if rest, ok := strings.CutSuffix(t, u.suffix); ok {
			t, mult = strings.TrimSpace(rest), u.bytes
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 {
		return 0, errors.New("give a size such as 512MiB, 2GiB or 0 for no limit")
	}
	if n > math.MaxInt64/mult {
		return 0, errors.New("the size is too large")
	}
	return n * mult, nil
}

// timeoutFlag is --timeout: a positive duration, or "none" (engine.NoTimeout). 0 and
// negative durations are refused: 0 means "the default" in every layer, and on the
// command line the default is what leaving the flag out gives.
type timeoutFlag time.Duration

func (t *timeoutFlag) String() string {
	if time.Duration(*t) == engine.NoTimeout {
		return "none"
	}
	return time.Duration(*t).String()
}

func (t *timeoutFlag) Set(s string) error {
	if strings.EqualFold(strings.TrimSpace(s), "none") {
		*t = timeoutFlag(engine.NoTimeout)
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return fmt.Errorf("give a duration such as 30s or 5m, or none for no limit")
	}
	*t = timeoutFlag(d)
	return nil
}

func (t *timeoutFlag) Type() string { return "duration" }
