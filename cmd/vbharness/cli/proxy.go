package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/vbharness/vbharness/engine"
	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/mocks/contract"
	"github.com/vbharness/vbharness/mocks/proxy"
	"github.com/vbharness/vbharness/mocks/stack"
	"github.com/vbharness/vbharness/mocks/tlsca"
)

// defaultProxyListen is where `vbharness proxy` listens: the real Veeam REST API's port
// on the loopback, so a client's URL changes only in its host.
const defaultProxyListen = "127.0.0.1:4443"

type proxyFlags struct {
	upstream, entraUpstream string
	listen                  string
	caFile                  string
	upstreamTimeout         time.Duration
	stateDir                string
	hostnames               []string
	record                  string
	anonymize               bool
	reports                 []string
	contract                string
	controlToken            string
	controlTokenFile        string
}

func (a *app) proxyCommand() *cobra.Command {
	var f proxyFlags
	cmd := &cobra.Command{
		Use:   "proxy --upstream URL",
		Short: "Forward a client to a Veeam server, checking every exchange against the v8 contract",
		Long: `proxy is a validation proxy: point an integration at it instead of the Veeam
Backup for Microsoft 365 server (and, with --entra-upstream, instead of Microsoft Entra
ID too) and it forwards every request, the token endpoints included, over HTTPS on both
sides, and sends the server's answers back as they came. On the side it checks each
request and answer against the published v8 document (and Entra's against the shapes
the Entra mock documents), prints each violation as one line on standard error,
journals every exchange with tokens, codes and passwords redacted, and serves the
violations and the journal as JSON at GET /_proxy/violations and GET /_proxy/requests
(loopback callers only unless a control token is set).

Its own certificate comes from the local CA of ` + "`vbharness mock`" + ` (in --state-dir; the
CA file's path is printed at start). The upstream is trusted through --ca-file plus the
system's roots. Requests whose path is not Veeam's (/v8/, /v7/, /v6/, /swagger, /health,
/_mock/) go to --entra-upstream when it is given.

On SIGINT or SIGTERM it writes the --report files (json=FILE: counts and violations;
junit=FILE: one test case per operation seen) and exits.

Exit codes: 0 after a clean stop (in --contract warn mode, whatever it found), 1 in
--contract fail mode with violations, or when the listener failed while serving, 2
usage or configuration error.`,
		Example: `  vbharness proxy --upstream https://vb365.lab.local:4443 --ca-file lab-ca.pem
  vbharness proxy --upstream https://vb365.lab.local:4443 --entra-upstream https://login.microsoftonline.com --report junit=contract.xml
  vbharness proxy --upstream https://127.0.0.1:4443 --listen 127.0.0.1:5443 --record recorded/`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.proxy(cmd.Context(), &f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.upstream, "upstream", "", "the Veeam server's origin, https://host:port (required)")
	fl.StringVar(&f.entraUpstream, "entra-upstream", "", "send requests whose path is not Veeam's to this Entra origin (https://login.microsoftonline.com, a mock's URL)")
	fl.StringVar(&f.listen, "listen", defaultProxyListen, "the proxy's listen address; port 0 picks a free port")
	fl.StringVar(&f.caFile, "ca-file", "", "trust the upstream's certificates signed by this CA (PEM), besides the system's roots")
	fl.DurationVar(&f.upstreamTimeout, "upstream-timeout", 2*time.Minute, "how long an upstream may take to start its answer before the client gets 502 (the body may take longer)")
	fl.StringVar(&f.stateDir, "state-dir", "", "where the local CA lives (default vbharness/mock in the user's config folder, the one `vbharness mock` uses)")
	fl.StringSliceVar(&f.hostnames, "hostname", nil, "extra host name for the proxy's certificate (repeatable)")
	fl.StringVar(&f.record, "record", "", "save every Veeam exchange as a stub in DIR, for `vbharness mock --stubs DIR`")
	fl.BoolVar(&f.anonymize, "anonymize", false, "with --record, replace ids and names consistently")
	fl.StringArrayVar(&f.reports, "report", nil, "on stop, write a report: junit=FILE or json=FILE (repeatable)")
	fl.StringVar(&f.contract, "contract", "warn", "fail: exit 1 when any exchange broke the contract (and JUnit failures); warn: report only")
	fl.StringVar(&f.controlToken, "control-token", "", "require Authorization: Bearer TOKEN on /_proxy/ (else loopback callers only); visible in ps: prefer --control-token-file or $"+envMockControlToken)
	fl.StringVar(&f.controlTokenFile, "control-token-file", "", "read the control token from FILE (one line)")
	return cmd
}

// proxyReport is one --report file.
type proxyReport struct{ format, path string }

func (a *app) proxy(ctx context.Context, f *proxyFlags) error {
	up, err := parseOrigin("--upstream", f.upstream)
	if err != nil {
		return err
	}
	var entraUp *url.URL
	if f.entraUpstream != "" {
		if entraUp, err = parseOrigin("--entra-upstream", f.entraUpstream); err != nil {
			return err
		}
	}
	// Read as run reads it (any case, spaces trimmed); off has no meaning for a proxy
	// whose work is the check.
	mode, err := engine.ParseContractMode(f.contract)
	if err != nil || mode == engine.ContractOff {
		return usage("--contract %q: give fail or warn", f.contract)
	}
	f.contract = string(mode)
	var reports []proxyReport
	for _, r := range f.reports {
		format, path, ok := strings.Cut(r, "=")
		if !ok || path == "" || (format != "junit" && format != "json") {
			return usage("--report %q: give junit=FILE or json=FILE", r)
		}
		if !filepath.IsAbs(path) {
			path = filepath.Join(a.dir, path)
		}
		// Created now, so a path that cannot be written is a usage error, not a report
		// lost at the end; written on stop.
		fh, err := os.Create(path)
		if err != nil {
			return usage("--report %s: %v", r, err)
		}
		fh.Close()
		reports = append(reports, proxyReport{format, path})
	}
	token, err := a.secret(f.controlToken, "--control-token", f.controlTokenFile, envMockControlToken)
	if err != nil {
		return err
	}
	if token == "" && !stack.LoopbackAddr(f.listen) {
		return usage("the proxy would listen on %s, which other machines reach, without a control token: set $%s or --control-token-file, or listen on 127.0.0.1",
			f.listen, envMockControlToken)
	}
	if f.upstreamTimeout <= 0 {
		return usage("--upstream-timeout must be positive, not %v", f.upstreamTimeout)
	}
	transport, err := a.upstreamTransport(f.caFile)
	if err != nil {
		return err
	}
	transport.ResponseHeaderTimeout = f.upstreamTimeout // a hung upstream answers 502, not never
	if f.stateDir == "" {
		dir, err := userConfigDir(a.env)
		if err != nil {
			return usage("no default state folder (%v); pass --state-dir", err)
		}
		f.stateDir = filepath.Join(dir, "vbharness", "mock")
	} else if !filepath.IsAbs(f.stateDir) {
		f.stateDir = filepath.Join(a.dir, f.stateDir)
	}

	opts := []proxy.Option{proxy.WithTransport(transport), proxy.WithControlToken(token),
		proxy.WithLogger(slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))}
	if entraUp != nil {
		opts = append(opts, proxy.WithEntraUpstream(entraUp))
	}
	opts = append(opts, proxy.WithChecker(contract.New()))
	var stderrMu sync.Mutex
	opts = append(opts, proxy.WithViolationHandler(func(v proxy.Finding) {
		stderrMu.Lock()
		defer stderrMu.Unlock()
		fmt.Fprintf(a.stderr, "contract: %s\n", v.Violation.String())
	}))
	var rec *recording
	switch {
	case f.anonymize && f.record == "":
		return usage("--anonymize anonymises a recording; give --record DIR with it")
	case f.record != "":
		dir := f.record
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(a.dir, dir)
		}
		if rec, err = newRecording(dir, f.record, f.anonymize, nil); err != nil {
			return usage("--record %s: %v", f.record, err)
		}
		opts = append(opts, proxy.WithRecorder(rec))
	}

	wall := clock.NewReal()
	hosts := append([]string{}, f.hostnames...)
	if h, _, err := net.SplitHostPort(f.listen); err == nil && h != "" && net.ParseIP(h) != nil && !net.ParseIP(h).IsLoopback() && !net.ParseIP(h).IsUnspecified() {
		hosts = append(hosts, h)
	}
	ca, caFile, err := tlsca.LoadOrCreate(f.stateDir, wall.Now(), hosts...)
	if err != nil {
		return usage("cannot load the local CA: %v", err)
	}
	for _, n := range ca.Notes {
		fmt.Fprintf(a.stderr, "vbharness proxy: %s\n", n)
	}
	cert, err := ca.Issue(wall.Now(), hosts...)
	if err != nil {
		return usage("cannot issue the proxy's certificate: %v", err)
	}
	l, err := (&net.ListenConfig{}).Listen(ctx, "tcp", f.listen)
	if err != nil {
		return usage("cannot listen on %s: %v (is a mock or another proxy already on that port? use --listen 127.0.0.1:0)", f.listen, err)
	}
	p := proxy.New(up, opts...)
	srv := &http.Server{
		Handler:           p,
		ReadHeaderTimeout: stack.ReadHeaderTimeout,
		ReadTimeout:       stack.ReadTimeout, // a client trickling its request holds no handler for ever
		IdleTimeout:       stack.IdleTimeout,
		MaxHeaderBytes:    stack.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(slog.NewTextHandler(a.stderr, nil), slog.LevelWarn),
	}
	done := make(chan error, 1)
	go func() {
		err := srv.Serve(tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}))
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			done <- err
		}
	}()

	w := a.stdout
	fmt.Fprintf(w, "vbharness proxy: checking every exchange against the Veeam v8 contract\n")
	fmt.Fprintf(w, "  listening:       https://%s\n", l.Addr())
	fmt.Fprintf(w, "  Veeam upstream:  %s\n", up)
	if entraUp != nil {
		fmt.Fprintf(w, "  Entra upstream:  %s  (every path that is not Veeam's)\n", entraUp)
	}
	fmt.Fprintf(w, "  CA file:         %s\n", caFile)
	fmt.Fprintf(w, "  contract:        %s (each violation on standard error; GET /_proxy/violations)\n", f.contract)
	fmt.Fprintf(w, "  journal:         GET /_proxy/requests (secrets redacted)\n")
	if rec != nil {
		fmt.Fprintf(w, "  recording:       %s\n", f.record)
	}
	for _, r := range reports {
		fmt.Fprintf(w, "  report:          %s=%s (written on stop)\n", r.format, r.path)
	}
	fmt.Fprintf(w, "Press Ctrl-C to stop.\n")

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-done:
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); errors.Is(err, context.DeadlineExceeded) {
		// A slow upstream still owes answers: cut those requests off (their clients get
		// no answer) rather than fail a stop that was asked for.
		srv.Close()
		fmt.Fprintf(a.stderr, "vbharness proxy: requests still waiting for the upstream after %s were cut off\n", shutdownGrace)
	} else if err != nil && serveErr == nil {
		serveErr = err
	}
	p.Close()
	var failures []string
	if rec != nil && !rec.close(a.stderr, "vbharness proxy") {
		failures = append(failures, fmt.Sprintf("the recording in %s is incomplete", f.record))
	}
	sum := p.Summary(f.contract)
	for _, r := range reports {
		if err := writeProxyReport(r, sum); err != nil {
			failures = append(failures, fmt.Sprintf("cannot write the %s report %s: %v", r.format, r.path, err))
		}
	}
	var bounds string // what the proxy's bounds left out of its reports, if anything
	if n := sum.Stats.ViolationsDropped; n > 0 {
		bounds += fmt.Sprintf("; the oldest %s dropped, the newest %d kept", countOf(n, "violation"), len(sum.Violations))
	}
	if n := sum.Stats.ExchangesFolded; n > 0 {
		bounds += fmt.Sprintf("; %s to paths outside the v8 document folded into %q", countOf(n, "exchange"), proxy.OtherPaths)
	}
	fmt.Fprintf(a.stderr, "vbharness proxy: stopped after %s (%d Veeam, %d Entra, %d unchecked), %s%s\n",
		countOf(sum.Stats.Exchanges, "exchange"), sum.Stats.Veeam, sum.Stats.Entra, sum.Stats.Unchecked,
		countOf(sum.Stats.Violations, "contract violation"), bounds)
	switch {
	case serveErr != nil:
		failures = append(failures, fmt.Sprintf("the listener failed: %v", serveErr))
	case f.contract == "fail" && sum.Stats.Violations > 0:
		failures = append(failures, countOf(sum.Stats.Violations, "contract violation")+" (--contract fail)")
	}
	if len(failures) > 0 {
		return fail("proxy: %s", strings.Join(failures, "; "))
	}
	return nil
}

// parseOrigin reads an upstream flag: an http or https URL with a host.
func parseOrigin(flag, s string) (*url.URL, error) {
	u, err := url.Parse(s)
	switch {
	case s == "":
		return nil, usage("%s is required: the server's origin, such as https://vb365.lab.local:4443", flag)
	case err != nil:
		return nil, usage("%s %q: %v", flag, s, err)
	case (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		return nil, usage("%s %q: give an origin such as https://vb365.lab.local:4443", flag, s)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return nil, usage("%s %q: give an origin without user, query or fragment", flag, s)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	return u, nil
}

// upstreamTransport returns the transport to the upstreams: the system's roots plus
// the CA file's certificates.
func (a *app) upstreamTransport(caFile string) (*http.Transport, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	if caFile == "" {
		return t, nil
	}
	if !filepath.IsAbs(caFile) {
		caFile = filepath.Join(a.dir, caFile)
	}
	pemBytes, err := os.ReadFile(caFile)
	if err != nil {
		return nil, usage("--ca-file: %v", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pemBytes) {
		return nil, usage("--ca-file %s holds no PEM certificate", caFile)
	}
	t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return t, nil
}

// writeProxyReport writes one report file.
func writeProxyReport(r proxyReport, sum proxy.Summary) error {
	fh, err := os.Create(r.path)
	if err != nil {
		return err
	}
	if r.format == "junit" {
		err = sum.WriteJUnit(fh)
	} else {
		err = sum.WriteJSON(fh)
	}
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	return err
}

// countOf is n and what, plural unless n is 1: "1 exchange", "2 exchanges".
func countOf(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}
