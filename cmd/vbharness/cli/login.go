package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vbharness/vbharness/engine"
	"github.com/vbharness/vbharness/engine/flow"
	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/mocks/secret"
	"github.com/vbharness/vbharness/runner"
	"github.com/vbharness/vbharness/runner/config"
)

// refreshMargin is how long before expiry `token` refreshes rather than hand out a token
// that is about to stop working.
const refreshMargin = 60 * time.Second

type loginFlags struct {
	target    string
	config    string
	tokenFile string
	scope     string
	show      bool
	refresh   bool
}

// command is the vbharness command line that does cmd for target with the same targets
// and token files as this one, for hints a person copies: a hint that left out
// --token-file would read another file and fail.
func (f *loginFlags) command(cmd, target string) string {
	parts := []string{"vbharness", cmd, "--target", shellQuote(target)}
	if f.config != "" {
		parts = append(parts, "--config", shellQuote(f.config))
	}
	if f.tokenFile != "" {
		parts = append(parts, "--token-file", shellQuote(f.tokenFile))
	}
	return strings.Join(parts, " ")
}

// shellQuote quotes s for a POSIX shell when it holds anything but plain path characters.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@%+=,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func (a *app) addLoginFlags(cmd *cobra.Command, f *loginFlags) {
	fl := cmd.Flags()
	fl.StringVar(&f.target, "target", "", "live target from the targets file (default $"+EnvTarget+")")
	fl.StringVar(&f.config, "config", "", "targets file (default ./"+config.FileName+")")
	fl.StringVar(&f.tokenFile, "token-file", "", "where the Veeam tokens are kept (default $"+EnvTokenFile+" or vbharness/tokens.json in the user's config folder)")
}

func (a *app) loginCommand() *cobra.Command {
	var f loginFlags
	cmd := &cobra.Command{
		Use:   "login --target NAME",
		Short: "Sign in with the device-code flow and keep the Veeam tokens",
		Long: `login runs the modern app-only flow for a person at a terminal: it asks Microsoft
Entra ID for a device code and shows Microsoft's message with the URL and the code,
counts down until the code expires while it polls, exchanges the Entra token response
at Veeam's /v8/token (jwt-bearer) and saves the Veeam token pair to the token file,
written atomically with mode 0600. Tokens are never printed unless --show-tokens is given.

Against a running 'vbharness mock', approve the code on its /devicelogin page or
through its control API (POST /_mock/devicecodes/approve).

Exit codes: 0 signed in, 1 sign-in failed (declined, expired, refused), 2 usage or
configuration error, 130 interrupted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.login(cmd.Context(), &f) },
	}
	a.addLoginFlags(cmd, &f)
	cmd.Flags().StringVar(&f.scope, "scope", "", "scopes to request (default the target's entra.scope)")
	cmd.Flags().BoolVar(&f.show, "show-tokens", false, "also print the Veeam access and refresh tokens")
	return cmd
}

func (a *app) tokenCommand() *cobra.Command {
	var f loginFlags
	cmd := &cobra.Command{
		Use:   "token --target NAME",
		Short: "Print a valid Veeam access token, refreshing it when it has expired",
		Long: `token prints the saved Veeam access token of a target on standard output, alone on
its line, for use with curl:

  curl -H "Authorization: Bearer $(vbharness token --target lab)" https://…/v8/Organization

When the token has expired (or expires within a minute) token refreshes it with the saved
refresh token first and saves the new pair. When there is no saved token, or Veeam
refuses the refresh token, it says that a new 'vbharness login' is needed and exits 1.

Exit codes: 0 a token was printed, 1 a new login is needed, 2 usage or configuration
error, 130 interrupted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.token(cmd.Context(), &f) },
	}
	a.addLoginFlags(cmd, &f)
	cmd.Flags().BoolVar(&f.refresh, "refresh", false, "refresh the token even if it is still valid")
	return cmd
}

// liveSession is what login and token share: the target in the engine's model, its
// protocol clients on the target's clock, and a scrubber that has learnt every secret
// they handled.
type liveSession struct {
	t     *engine.Target
	clk   clock.Clock
	entra *flow.Entra
	veeam *flow.Veeam
	scrub *secret.Scrubber
	path  string // token file
}

func (a *app) liveSession(ctx context.Context, cmdName string, f *loginFlags) (*liveSession, error) {
	name := f.target
	if name == "" {
		name = a.env[EnvTarget]
	}
	if name == "" {
		return nil, usage("%s needs --target NAME, a live target from %s (a running `vbharness mock` or a lab server)", cmdName, config.FileName)
	}
	if name == config.MockTarget {
		return nil, usage("%s needs a live target: the embedded mocks live only as long as one run. Start `vbharness mock`, add it to %s (see docs/cli.md) and pass its name", cmdName, config.FileName)
	}
	r, err := a.resolve(name, f.config)
	if err != nil {
		return nil, err
	}
	path, err := a.tokenFilePath(f.tokenFile)
	if err != nil {
		return nil, err
	}
	scrub := secret.NewScrubber()
	scrub.AddCredential(r.Secrets...)
	scrub.AddCredential(runner.SecretEnv(a.env)...)
	t, err := runner.EngineTarget(ctx, r, a.env)
	if err != nil {
		return nil, usage("target %s: %v", name, err)
	}
	scrub.AddCredential(t.Credentials()...)
	h := &flow.HTTP{Client: t.HTTPClient, Secret: scrub.AddAs, UserAgent: "vbharness/" + version()}
	e, v := t.Clients(h, t.Clock)
	return &liveSession{t: t, clk: t.Clock, entra: e, veeam: v, scrub: scrub, path: path}, nil
}

// failure turns a protocol error into a command error with every secret scrubbed;
// a cancelled context is an interrupt.
func (s *liveSession) failure(ctx context.Context, what string, err error, hint string) error {
	if ctx.Err() != nil {
		return &exitError{code: exitInterrupted, err: fmt.Errorf("%s: interrupted", what)}
	}
	msg := s.scrub.Scrub(err.Error())
	if hint != "" {
		msg += "; " + hint
	}
	return &exitError{code: exitFailed, err: fmt.Errorf("%s: %s", what, msg)}
}

func (a *app) login(ctx context.Context, f *loginFlags) error {
	s, err := a.liveSession(ctx, "login", f)
	if err != nil {
		return err
	}
	name := s.t.Name
	again := fmt.Sprintf("run `%s` to try again", f.command("login", name))
	dc, err := s.entra.DeviceCode(ctx, flow.DeviceCodeRequest{Scope: f.scope})
	if err != nil {
		return s.failure(ctx, "device code", err, "")
	}
	fmt.Fprintf(a.stderr, "%s\n\n", dc.Message)
	stop := a.countdown(s.clk, dc.ExpiresAt())
	tok, err := s.entra.PollToken(ctx, dc, flow.PollOptions{})
	stop()
	if err != nil {
		var ee *flow.EntraError
		if errors.As(err, &ee) {
			switch ee.Code {
			case "authorization_declined", "access_denied":
				return s.failure(ctx, "sign-in", errors.New("the sign-in was declined"), again)
			case "expired_token":
				return s.failure(ctx, "sign-in", errors.New("the code expired before anyone signed in"), again)
			}
		}
		return s.failure(ctx, "sign-in", err, again)
	}
	fmt.Fprintln(a.stderr, "Signed in to Microsoft Entra ID; exchanging the token at Veeam…")
	sess, err := s.veeam.LoginAssertion(ctx, s.t.Organization(), string(tok.Raw))
	if err != nil {
		return s.failure(ctx, "veeam /v8/token", err, "check that the organization "+s.t.Organization()+" uses modern app-only authentication and that tenant authentication is enabled")
	}
	vt := sess.Token()
	saved := &savedToken{
		VeeamURL: s.t.Veeam.URL, Organization: s.t.Organization(),
		EntraUser: jwtUser(tok.AccessToken), VeeamUser: vt.UserName,
		TokenType: vt.TokenType, AccessToken: vt.AccessToken, RefreshToken: vt.RefreshToken,
		IssuedAt: vt.IssuedAt, ExpiresAt: vt.ExpiresAt,
	}
	if err := s.save(name, saved); err != nil {
		return err
	}
	now := s.clk.Now()
	w := a.stdout
	fmt.Fprintf(w, "Signed in to Veeam Backup for Microsoft 365 at %s\n", s.t.Veeam.URL)
	if saved.EntraUser != "" {
		fmt.Fprintf(w, "  Entra user:    %s\n", saved.EntraUser)
	}
	if saved.VeeamUser != "" {
		fmt.Fprintf(w, "  Veeam user:    %s\n", saved.VeeamUser)
	}
	fmt.Fprintf(w, "  organization:  %s\n", saved.Organization)
	fmt.Fprintf(w, "  access token:  expires %s (in %s)\n", saved.ExpiresAt.UTC().Format(time.DateTime+" MST"), saved.ExpiresAt.Sub(now).Round(time.Second))
	fmt.Fprintf(w, "  token file:    %s\n", s.path)
	if f.show {
		fmt.Fprintf(w, "  access_token:  %s\n  refresh_token: %s\n", saved.AccessToken, saved.RefreshToken)
	} else {
		fmt.Fprintf(w, "Run `%s` to print the access token.\n", f.command("token", name))
	}
	return nil
}

// save stores one target's tokens in the token file.
func (s *liveSession) save(target string, t *savedToken) error {
	all, err := readTokens(s.path)
	if err != nil {
		all = &savedTokens{Targets: map[string]*savedToken{}} // a damaged file is replaced
	}
	all.Targets[target] = t
	if err := writeTokens(s.path, all); err != nil {
		return fail("cannot save the tokens to %s: %v", s.path, err)
	}
	return nil
}

func (a *app) token(ctx context.Context, f *loginFlags) error {
	s, err := a.liveSession(ctx, "token", f)
	if err != nil {
		return err
	}
	name := s.t.Name
	login := fmt.Sprintf("run `%s` to sign in", f.command("login", name))
	all, err := readTokens(s.path)
	if err != nil {
		return fail("%v; %s", err, login)
	}
	t := all.Targets[name]
	switch {
	case t == nil || t.AccessToken == "":
		return fail("a new login is needed: there are no saved tokens for target %s in %s; %s", name, s.path, login)
	case t.VeeamURL != s.t.Veeam.URL:
		return fail("a new login is needed: the saved tokens of target %s were issued by %s, but the target now points at %s; %s",
			name, t.VeeamURL, s.t.Veeam.URL, login)
	}
	s.scrub.Add(t.AccessToken, t.RefreshToken)
	now := s.clk.Now()
	if f.refresh || !now.Before(t.ExpiresAt.Add(-refreshMargin)) {
		if t.RefreshToken == "" {
			return fail("a new login is needed: the access token expired at %s and there is no refresh token; %s", t.ExpiresAt.UTC().Format(time.DateTime+" MST"), login)
		}
		vt, err := s.veeam.RefreshToken(ctx, t.RefreshToken)
		if err != nil {
			if ctx.Err() != nil {
				return s.failure(ctx, "refresh", err, "")
			}
			return s.failure(ctx, "a new login is needed: Veeam refused the saved refresh token", err, login)
		}
		t.AccessToken, t.TokenType, t.IssuedAt, t.ExpiresAt = vt.AccessToken, vt.TokenType, vt.IssuedAt, vt.ExpiresAt
		if vt.RefreshToken != "" {
			t.RefreshToken = vt.RefreshToken
		}
		if err := s.save(name, t); err != nil {
			return err
		}
		fmt.Fprintf(a.stderr, "vbharness: refreshed the access token of target %s; it expires %s\n", name, t.ExpiresAt.UTC().Format(time.DateTime+" MST"))
	}
	fmt.Fprintln(a.stdout, t.AccessToken)
	return nil
}

// countdown shows the time left to sign in until the returned stop is called: a line
// redrawn every second on a terminal, one line otherwise.
func (a *app) countdown(clk clock.Clock, expires time.Time) (stop func()) {
	left := func() time.Duration { return max(expires.Sub(clk.Now()), 0).Round(time.Second) }
	if !a.deps.terminal(a.stderr) {
		fmt.Fprintf(a.stderr, "Waiting for the sign-in; the code expires in %s.\n", left())
		return func() {}
	}
	draw := func(w io.Writer) {
		d := left()
		fmt.Fprintf(w, "\r\x1b[2KWaiting for the sign-in… the code expires in %d:%02d", int(d.Minutes()), int(d.Seconds())%60)
	}
	draw(a.stderr)
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				fmt.Fprint(a.stderr, "\r\x1b[2K")
				return
			case <-t.C:
				draw(a.stderr)
			}
		}
	}()
	return func() { close(done); <-stopped }
}

// jwtUser reads the user name claim of an Entra access token for the summary. It does
// not verify the token: the value is only shown, never trusted.
func jwtUser(tok string) string {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c map[string]any
	if json.Unmarshal(payload, &c) != nil {
		return ""
	}
	for _, k := range []string{"upn", "preferred_username", "unique_name", "email"} {
		if v, ok := c[k].(string); ok && v != "" {
			return v
		}
	}
	return ""
}
