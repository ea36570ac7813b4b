package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vbharness/vbharness/mocks/journal"
	"github.com/vbharness/vbharness/mocks/keys"
	"github.com/vbharness/vbharness/mocks/stack"
)

// shutdownGrace is how long `vbharness mock` waits for requests in flight when told to stop.
const shutdownGrace = 5 * time.Second

type mockFlags struct {
	o                 stack.ServeOptions
	listenAll         bool
	printJSON         bool
	journalMiB        int
	controlTokenFile  string
	adminPasswordFile string
}

// Environment variables `vbharness mock` reads its secrets from, so they need not be
// flags, which every user of the machine sees in ps. VBHARNESS_CONTROL_TOKEN is the
// variable `run` reads for a target's control token, so one setting serves both. The
// password has its own: VBHARNESS_VEEAM_PASSWORD may hold a lab's password, and the mock
// prints its own.
const (
	envMockControlToken  = "VBHARNESS_CONTROL_TOKEN"
	envMockAdminPassword = "VBHARNESS_MOCK_ADMIN_PASSWORD"
	// envMockControlTokenFile is the default of --control-token-file, for a container
	// whose token is a mounted secret: the mock and its health probe (`mock health`, the
	// image's HEALTHCHECK) read the same variable.
	envMockControlTokenFile = "VBHARNESS_CONTROL_TOKEN_FILE"
)

func (a *app) mockCommand() *cobra.Command {
	var f mockFlags
	cmd := &cobra.Command{
		Use:   "mock",
		Short: "Serve the mock Entra ID and Veeam REST API until interrupted",
		Long: `mock starts the mock stack: a mock Microsoft Entra ID and a mock Veeam Backup for
Microsoft 365 REST API v8 sharing one clock, over HTTPS with a local CA kept in the
state folder (trust its ca.pem once), and serves until SIGINT or SIGTERM. With
--state-dir, the Veeam mock's organizations, jobs, repositories and every other item
clients create or change, its sessions and tokens, its settings and the clock's offset
are kept in DIR/state.db, written before each answer, so they survive a restart or a
kill -9; POST /_mock/reset clears them.

It prints the URLs, the CA file, the tenant, the client, the users and the Veeam
administrator's user name and password; --print-json prints them as one JSON line,
all of standard output (the banner goes to standard error). The control API (/_mock/ on both servers: clock, device codes, faults, journal)
answers loopback callers only unless a control token is set (--control-token-file,
$VBHARNESS_CONTROL_TOKEN or --control-token); web pages cannot call it. The
administrator's password comes from --admin-password-file, $VBHARNESS_MOCK_ADMIN_PASSWORD
or --admin-password. Flags are visible to every user in ps; files and the environment
are not.

Exit codes: 0 after a clean shutdown, 1 a server failed while serving, 2 usage or
configuration error (including an address already in use).`,
		Example: `  vbharness mock
  vbharness mock --entra-addr 127.0.0.1:0 --veeam-addr 127.0.0.1:0 --print-json
  vbharness mock --state-dir ./mock-state
  vbharness mock --hostname mock.lab.local --control-token-file ~/.config/vbharness/control-token
  vbharness mock --stubs stubs.yaml
  vbharness mock --stubs ./lab-recording
  vbharness mock --listen-all --hostname mock.lab.local --control-token-file /run/secrets/control-token`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Giving a state folder asks for state kept in it; the default folder only
			// keeps the CA, so a plain `vbharness mock` starts fresh every time.
			f.o.Persist = cmd.Flags().Changed("state-dir") && f.o.StateDir != ""
			return a.mock(cmd.Context(), &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.o.EntraAddr, "entra-addr", stack.DefaultEntraAddr, "Entra's listen address; port 0 picks a free port")
	fl.StringVar(&f.o.VeeamAddr, "veeam-addr", stack.DefaultVeeamAddr, "Veeam's listen address; port 0 picks a free port")
	fl.BoolVar(&f.listenAll, "listen-all", false, "listen on every interface (the ports of --entra-addr and --veeam-addr), for a shared lab or a container; needs a control token")
	fl.BoolVar(&f.o.HTTP, "http", false, "serve plain HTTP instead of HTTPS")
	fl.StringVar(&f.o.StateDir, "state-dir", "", "where the CA lives (default vbharness/mock in the user's config folder); when given, also where the mock keeps what clients create and change, across restarts and crashes (state.db)")
	fl.StringSliceVar(&f.o.Hostnames, "hostname", nil, "extra host name for the server certificate (repeatable)")
	fl.StringVar(&f.o.ConfigFile, "config", "", "Entra directory and lifetimes (YAML or JSON)")
	fl.StringVar(&f.o.FixturesFile, "fixtures", "", "Veeam fixtures: organizations, jobs, … (YAML or JSON)")
	fl.StringVar(&f.o.StubsFile, "stubs", "", "Veeam stubs to start with, and to return to on reset: a YAML or JSON file, or a directory of them loaded in name order (a recording: vbharness run --record DIR)")
	fl.StringVar(&f.o.ControlToken, "control-token", "", "require Authorization: Bearer TOKEN on the control API (else loopback callers only); visible in ps: prefer --control-token-file or $"+envMockControlToken)
	fl.StringVar(&f.controlTokenFile, "control-token-file", "", "read the control token from FILE (one line; default $"+envMockControlTokenFile+")")
	fl.StringVar(&f.o.AdminPassword, "admin-password", "", "the Veeam administrator's password (default the mock's built-in one); visible in ps: prefer --admin-password-file or $"+envMockAdminPassword)
	fl.StringVar(&f.adminPasswordFile, "admin-password-file", "", "read the Veeam administrator's password from FILE (one line)")
	fl.StringVar(&f.o.EntraAuthority, "entra-authority", "", "let Veeam verify assertions against this Entra instead of the mock's")
	fl.IntVar(&f.journalMiB, "journal-mib", journal.DefaultMaxBytes>>20, "each server's request journal keeps at most this many MiB (oldest entries dropped first)")
	fl.BoolVar(&f.printJSON, "print-json", false, "print one JSON line with the URLs, CA file and credentials before serving")
	cmd.AddCommand(a.mockHealthCommand())
	return cmd
}

// secret returns a secret given by flag (value), else read from the file given by
// flag+"-file", else from the environment variable env. A file holds one line; its line
// ending is dropped.
func (a *app) secret(value, flag, file, env string) (string, error) {
	switch {
	case value != "" && file != "":
		return "", usage("give %s or %s-file, not both", flag, flag)
	case value != "":
		return value, nil
	case file != "":
		if !filepath.IsAbs(file) {
			file = filepath.Join(a.dir, file)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return "", usage("%s-file: %v", flag, err)
		}
		v := strings.TrimRight(string(b), "\r\n")
		switch {
		case v == "":
			return "", usage("%s-file %s is empty", flag, file)
		case strings.ContainsAny(v, "\r\n"):
			return "", usage("%s-file %s holds more than one line; put the secret alone on the first line", flag, file)
		}
		return v, nil
	}
	return a.env[env], nil
}

// mockInfo is the --print-json line.
type mockInfo struct {
	Entra         string `json:"entra"`
	Veeam         string `json:"veeam"`
	CAFile        string `json:"ca_file"`
	Tenant        string `json:"tenant"`
	ClientID      string `json:"client_id"`
	AdminUser     string `json:"admin_user"`
	AdminPassword string `json:"admin_password"`
}

func (a *app) mock(ctx context.Context, f *mockFlags) error {
	o := f.o
	if f.journalMiB < 1 || f.journalMiB > 1<<20 {
		return usage("--journal-mib %d: give a number of MiB from 1 to %d", f.journalMiB, 1<<20)
	}
	o.JournalBytes = int64(f.journalMiB) << 20
	var err error
	if o.ControlToken == "" && f.controlTokenFile == "" {
		f.controlTokenFile = a.env[envMockControlTokenFile]
	}
	if o.ControlToken, err = a.secret(o.ControlToken, "--control-token", f.controlTokenFile, envMockControlToken); err != nil {
		return err
	}
	if o.AdminPassword, err = a.secret(o.AdminPassword, "--admin-password", f.adminPasswordFile, envMockAdminPassword); err != nil {
		return err
	}
	if f.listenAll {
		for _, p := range []*string{&o.EntraAddr, &o.VeeamAddr} {
			_, port, err := net.SplitHostPort(*p)
			if err != nil {
				return usage("--listen-all: %q is not host:port: %v", *p, err)
			}
			*p = net.JoinHostPort("", port)
		}
	}
	if o.ControlToken == "" && (!stack.LoopbackAddr(o.EntraAddr) || !stack.LoopbackAddr(o.VeeamAddr)) {
		return usage("the mock would listen on %s and %s, which other machines reach, without a control token: "+
			"set $%s or --control-token-file (then every control call needs Authorization: Bearer <token>), or listen on 127.0.0.1",
			o.EntraAddr, o.VeeamAddr, envMockControlToken)
	}
	if o.StateDir == "" && !o.HTTP {
		dir, err := userConfigDir(a.env)
		if err != nil {
			return usage("no default state folder (%v); pass --state-dir", err)
		}
		o.StateDir = filepath.Join(dir, "vbharness", "mock")
	}
	for _, p := range []*string{&o.StateDir, &o.ConfigFile, &o.FixturesFile, &o.StubsFile} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(a.dir, *p)
		}
	}
	o.Logger = slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if n, err := strconv.Atoi(a.env["GOMAXPROCS"]); (err != nil || n <= 0) && a.deps.setProcs != nil {
		// One P more than the signature slots, so that the network keeps moving while
		// every core signs (keys.ServingProcs). A GOMAXPROCS in the environment that the
		// Go runtime takes (a positive number) wins; one it ignores ("", "abc", "0")
		// counts as unset here too.
		a.deps.setProcs(keys.ServingProcs())
	}
	run, err := stack.Serve(ctx, o)
	if err != nil {
		return usage("cannot start the mock: %v", err)
	}
	// Start-up parsed the v8 document and built the Veeam mock's world, about 25 MB of
	// short-lived allocations for 5 MB kept; hand the rest back to the OS now rather than
	// when the scavenger gets to it, so an idle mock stays small (docs/performance.md).
	debug.FreeOSMemory()
	if f.printJSON {
		line, _ := json.Marshal(mockInfo{Entra: run.EntraURL, Veeam: run.VeeamURL, CAFile: run.CAFile, Tenant: run.Tenant,
			ClientID: run.ClientID, AdminUser: run.AdminUser, AdminPassword: run.AdminPassword})
		fmt.Fprintf(a.stdout, "%s\n", line)
	}
	w := a.stdout
	if f.printJSON {
		w = a.stderr // standard output is the one JSON line, for jq and scripts
	}
	fmt.Fprintf(w, "vbharness mock: serving Microsoft Entra ID and the Veeam Backup for Microsoft 365 REST API v8\n")
	fmt.Fprintf(w, "  Entra ID:        %s  (authority; device login page %s/devicelogin)\n", run.EntraURL, run.EntraURL)
	fmt.Fprintf(w, "  Veeam REST API:  %s\n", run.VeeamURL)
	if run.CAFile != "" {
		fmt.Fprintf(w, "  CA file:         %s\n", run.CAFile)
	} else {
		fmt.Fprintf(w, "  TLS:             off (--http)\n")
	}
	if run.StateFile != "" {
		fmt.Fprintf(w, "  state:           %s (kept across restarts; POST /_mock/reset clears it)\n", run.StateFile)
	}
	fmt.Fprintf(w, "  tenant:          %s\n", run.Tenant)
	fmt.Fprintf(w, "  client:          %s\n", run.ClientID)
	fmt.Fprintf(w, "  users:           %s\n", strings.Join(run.Users, ", "))
	fmt.Fprintf(w, "  Veeam admin:     %s / %s\n", run.AdminUser, run.AdminPassword)
	if o.StubsFile != "" {
		fmt.Fprintf(w, "  Veeam stubs:     %d from %s (GET /_mock/stubs; reset returns to them)\n", run.Stubs, o.StubsFile)
	}
	if o.ControlToken != "" {
		fmt.Fprintf(w, "  control API:     /_mock/ on both servers; needs Authorization: Bearer <the control token>\n")
	} else {
		fmt.Fprintf(w, "  control API:     /_mock/ on both servers, loopback callers only\n")
	}
	if f.listenAll || !stack.LoopbackAddr(o.EntraAddr) || !stack.LoopbackAddr(o.VeeamAddr) {
		fmt.Fprintf(w, "  listening:       %s (Entra), %s (Veeam); probes /_mock/live and /_mock/ready answer anyone\n", o.EntraAddr, o.VeeamAddr)
	}
	fmt.Fprintf(w, "Press Ctrl-C to stop.\n")

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-run.Err():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	if err := run.Shutdown(sctx); err != nil && serveErr == nil {
		serveErr = err
	}
	if serveErr != nil {
		return fail("mock: %v", serveErr)
	}
	fmt.Fprintf(a.stderr, "vbharness mock: stopped\n")
	return nil
}
