package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vbharness/vbharness/mocks/stack"
	"github.com/vbharness/vbharness/mocks/tlsca"
)

type healthFlags struct {
	entraAddr, veeamAddr string
	http                 bool
	stateDir             string
	tokenFile            string
	timeout              time.Duration
}

// mockHealthCommand is `vbharness mock health`: the container's health probe. A
// scratch image has no curl, so the binary probes itself.
func (a *app) mockHealthCommand() *cobra.Command {
	var f healthFlags
	cmd := &cobra.Command{
		Use:   "health",
		Short: "Check that a running mock on this machine answers (a container's HEALTHCHECK)",
		Long: `health asks GET /_mock/health of both servers of a vbharness mock running on this
machine (at 127.0.0.1 and the ports of --entra-addr and --veeam-addr, whatever host they
name), trusting the CA in --state-dir, with the control token of --control-token-file,
$VBHARNESS_CONTROL_TOKEN_FILE or $VBHARNESS_CONTROL_TOKEN when the mock has one. Give it the flags the mock was started
with. It prints nothing when both answer and exits 0; otherwise it says what failed and
exits 1.

Exit codes: 0 healthy, 1 not healthy, 2 usage error.`,
		Example: `  vbharness mock health
  vbharness mock health --state-dir /var/lib/vbharness --control-token-file /run/secrets/control-token`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.mockHealth(cmd.Context(), &f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.entraAddr, "entra-addr", stack.DefaultEntraAddr, "the mock's --entra-addr (only the port is used)")
	fl.StringVar(&f.veeamAddr, "veeam-addr", stack.DefaultVeeamAddr, "the mock's --veeam-addr (only the port is used)")
	fl.BoolVar(&f.http, "http", false, "the mock serves plain HTTP (--http)")
	fl.StringVar(&f.stateDir, "state-dir", "", "the mock's --state-dir, whose ca.pem is trusted (default as for vbharness mock)")
	fl.StringVar(&f.tokenFile, "control-token-file", "", "read the control token from FILE (default $"+envMockControlTokenFile+", else the token in $"+envMockControlToken+")")
	fl.DurationVar(&f.timeout, "timeout", 5*time.Second, "how long each server may take to answer")
	return cmd
}

func (a *app) mockHealth(ctx context.Context, f *healthFlags) error {
	if f.tokenFile == "" {
		f.tokenFile = a.env[envMockControlTokenFile]
	}
	token, err := a.secret("", "--control-token", f.tokenFile, envMockControlToken)
	if err != nil {
		return err
	}
	if f.timeout <= 0 {
		return usage("--timeout must be more than 0, got %v", f.timeout)
	}
	client := &http.Client{Timeout: f.timeout}
	scheme := "http"
	if !f.http {
		scheme = "https"
		dir := f.stateDir
		if dir == "" {
			cfg, err := userConfigDir(a.env)
			if err != nil {
				return usage("no default state folder (%v); pass --state-dir", err)
			}
			dir = filepath.Join(cfg, "vbharness", "mock")
		}
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(a.dir, dir)
		}
		pem, err := os.ReadFile(filepath.Join(dir, tlsca.CAFileName))
		if err != nil {
			return fail("mock health: cannot read the mock's CA: %v (give the mock's --state-dir)", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fail("mock health: %s holds no PEM certificate", filepath.Join(dir, tlsca.CAFileName))
		}
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	}
	var problems []string
	for _, s := range []struct{ name, addr string }{{"entra", f.entraAddr}, {"veeam", f.veeamAddr}} {
		_, port, err := net.SplitHostPort(s.addr)
		if err != nil {
			return usage("--%s-addr %q is not host:port", s.name, s.addr)
		}
		u := scheme + "://" + net.JoinHostPort("127.0.0.1", port) + "/_mock/health"
		if err := probe(ctx, client, u, token); err != nil {
			problems = append(problems, fmt.Sprintf("%s (%s): %v", s.name, u, err))
		}
	}
	if len(problems) > 0 {
		return fail("mock health: %s", strings.Join(problems, "; "))
	}
	return nil
}

func probe(ctx context.Context, c *http.Client, url, token string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return nil
}
