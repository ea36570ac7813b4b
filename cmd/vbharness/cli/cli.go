package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/runner"
)

// Exit codes shared by every command (run adds 3 for a script that failed to load).
const (
	exitOK          = runner.ExitOK
	exitFailed      = runner.ExitFailed
	exitUsage       = runner.ExitUsage
	exitInterrupted = runner.ExitInterrupted
)

// Main runs the vbharness command line with args (without the program name), the given
// standard streams and environment, and returns the process exit code. Cancelling ctx
// (SIGINT or SIGTERM in main) interrupts the command: `run` stops its tests and writes
// its reports, `mock` shuts its servers down.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, env map[string]string) int {
	dir, err := os.Getwd()
	if err != nil {
		fmt.Fprintf(stderr, "vbharness: %v\n", err)
		return exitUsage
	}
	return (&app{args: args, stdin: stdin, stdout: stdout, stderr: stderr, env: env, dir: dir, deps: defaultDeps()}).main(ctx)
}

// app is one invocation.
type app struct {
	args           []string
	stdin          io.Reader
	stdout, stderr io.Writer
	env            map[string]string
	dir            string // working directory: vbharness.yaml and relative paths
	deps           deps
}

// deps are what an invocation is built from; tests replace them.
type deps struct {
	// newEngine returns the scenario engine for a file system; nil when this build has
	// no engine.
	newEngine func(fsys fs.FS) runner.Engine
	// mockTarget returns the embedded mock target, exposing env's VBHARNESS_* variables
	// to scenarios; nil when this build has no mocks.
	mockTarget func(env map[string]string) *runner.Target
	// catalogue is the bundled scenario catalogue, with paths under scripts/.
	catalogue fs.FS
	// clock measures the run's elapsed time and, for login, the countdown.
	clock clock.Clock
	// terminal reports whether w is a terminal.
	terminal func(w io.Writer) bool
	// setProcs sets GOMAXPROCS for `vbharness mock` (keys.ServingProcs); nil leaves
	// it, as in-process tests do, whose process is not the mock's.
	setProcs func(n int)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// exitError carries a command's exit code through cobra.
type exitError struct {
	code int
	err  error // printed as "vbharness: err" unless nil
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usage is a usage or configuration error (exit 2).
func usage(format string, a ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, a...)}
}

// fail is a command failure (exit 1).
func fail(format string, a ...any) error {
	return &exitError{code: exitFailed, err: fmt.Errorf(format, a...)}
}

// exit ends a command with code, having printed everything itself.
func exit(code int) error { return &exitError{code: code} }

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

func (a *app) main(ctx context.Context) int {
	root := a.rootCommand()
	root.SetArgs(a.args)
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(a.stderr, "vbharness: %v\n", ee.err)
		}
		return ee.code
	}
	// cobra's own errors: unknown commands and flags, wrong argument counts.
	fmt.Fprintf(a.stderr, "vbharness: %v\nRun 'vbharness --help' for usage.\n", err)
	return exitUsage
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "vbharness",
		Short: "Test harness for the Veeam Backup for Microsoft 365 REST API's modern authentication",
		Long: `vbharness runs JavaScript scenarios that drive the Microsoft Entra ID device-code
flow, the Veeam Backup for Microsoft 365 /v8/token exchange, token expiry and refresh,
against embedded mocks (the default) or a lab server.

  vbharness run                    run the bundled scenarios against the embedded mocks
  vbharness run ./my-scenarios     run your own
  vbharness mock                   start the mock Entra ID and Veeam servers
  vbharness login --target lab     sign in for real and keep the Veeam tokens
  vbharness token --target lab     print a valid Veeam access token (for curl)

Reference: docs/cli.md.`,
		Version:           version(),
		SilenceUsage:      true,
		SilenceErrors:     true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SetOut(a.stderr)
			_ = cmd.Help()
			return exit(exitUsage)
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return usage("%v\nRun 'vbharness --help' for usage.", err)
	})
	root.AddCommand(a.runCommand(), a.reportCommand(), a.loginCommand(), a.tokenCommand())
	if c := a.mockCommand(); c != nil {
		root.AddCommand(c)
	}
	root.AddCommand(a.proxyCommand())
	return root
}

// Check parses a vbharness command line (without the program name) as Main would,
// without running it: an unknown command or flag, a flag value of the wrong type or a
// wrong number of arguments is an error. The docs test checks the commands of the CI
// examples (docs/ci.md) with it.
func Check(args []string) error {
	a := &app{args: args, stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, env: map[string]string{}, deps: defaultDeps()}
	root := a.rootCommand()
	cmd, rest, err := root.Find(args)
	if err != nil {
		return err
	}
	if cmd == root && len(rest) > 0 {
		return fmt.Errorf("unknown command %q for \"vbharness\"", rest[0])
	}
	if err := cmd.ParseFlags(rest); err != nil {
		return fmt.Errorf("vbharness %s: %w", cmd.Name(), err)
	}
	if cmd.Args != nil {
		if err := cmd.Args(cmd, cmd.Flags().Args()); err != nil {
			return fmt.Errorf("vbharness %s: %w", cmd.Name(), err)
		}
	}
	return nil
}
