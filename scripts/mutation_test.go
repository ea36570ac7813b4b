package scripts_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vbharness/vbharness/engine"
	"github.com/vbharness/vbharness/mocks/entra"
	"github.com/vbharness/vbharness/mocks/faults"
	"github.com/vbharness/vbharness/mocks/stack"
	"github.com/vbharness/vbharness/mocks/veeam"
	"github.com/vbharness/vbharness/runner"
	"github.com/vbharness/vbharness/runner/config"
	"github.com/vbharness/vbharness/scripts"
)

var update = flag.Bool("update", false, "rewrite the mutation table in docs/writing-scenarios.md from this run")

// The docs file and the markers around the table this test writes into it.
const (
	scenariosDoc = "../docs/writing-scenarios.md"
	tableStart   = "<!-- mutation-table:start (written by go test ./scripts -run CatchesRegressions -update) -->"
	tableEnd     = "<!-- mutation-table:end -->"
)

// mutation is one behaviour of the mocks switched off or faulted, and the tests of the
// catalogue that must turn red because of it ("file › test name"); every other test must
// still pass.
type mutation struct {
	name string // what is broken, for the table
	how  string // how the test breaks it
	// entra and veeam are options for the in-process stack; setup runs on each new stack;
	// wire wraps the transport the scenarios use (a faulty network between them and the
	// mocks, for answers no mock option can give).
	entra []entra.Option
	veeam []veeam.Option
	setup func(*stack.InProcess)
	wire  func(http.RoundTripper) http.RoundTripper
	red   []string
}

// The catalogue's tests, by scenario of issue 6.
const (
	seedFlow       = "modern_auth_login.js › modern app-only login with refresh"
	polling        = "device_code_polling.js › sign-in after three pending polls, never polled faster than the interval"
	declined       = "device_code_errors.js › the person declines: authorization_declined with AADSTS65004"
	codeExpired    = "device_code_errors.js › the device code expires after 15 minutes: expired_token AADSTS70020, and a new code works"
	codeMistyped   = "device_code_errors.js › a mistyped device code: bad_verification_code AADSTS70000"
	codeReused     = "device_code_errors.js › a redeemed device code polled again: expired_token AADSTS70020"
	accessExpiry   = "veeam_token_expiry.js › an access token expires after 60 minutes: 401, refresh, 200, new expiry times"
	spentRefresh   = "veeam_token_expiry.js › a spent refresh token is refused"
	reuseNoRevoke  = "veeam_token_expiry.js › with revokeOnRefreshReuse off, only the spent refresh token is refused"
	expiredRefresh = "veeam_token_expiry.js › a refresh token past its own expiry forces a new login"
	entraRefresh   = "long_running_sessions.js › an Entra refresh gives a fresh assertion that Veeam accepts after the first expired"
	keepAlive      = "long_running_sessions.js › auto-refresh keeps a session alive for five virtual hours with five refreshes"
	tenantAuthOff  = "tenant_authentication.js › with tenant authentication disabled the assertion is refused with a clear message"
	wrongTenant    = "assertion_claims.js › an assertion issued for another tenant is refused"
	noDirectory    = "assertion_claims.js › an assertion without a Directory permission is refused"
	noUser         = "assertion_claims.js › an assertion without a User permission is refused"
	expiredEntra   = "assertion_claims.js › an expired Entra token is refused as assertion"
	foreignKey     = "forged_assertions.js › an assertion signed with a foreign key is refused"
	algNone        = "forged_assertions.js › an unsigned assertion (alg none) is refused"
	alteredClaims  = "forged_assertions.js › an assertion whose claims were altered after signing is refused"
	keyRotation    = "key_rotation.js › Entra key rotation is followed"
	adminLogin     = "admin_login.js › the administrator logs in with a password and refreshes"
	logout         = "logout.js › logout revokes both tokens"
	tenantScope    = "tenant_scope.js › a tenant token cannot reach administrator routes (403 ResourceAccessDenied)"
	jobPaging      = "paging.js › jobs page by limit, offset and _links.next"
	orgPaging      = "paging.js › organizations page by limit, offset and _links.next"
	entra503       = "faults.js › Entra answers 503 once while polling and the flow still completes"
	veeam429       = "faults.js › Veeam's token endpoint answers 429 with Retry-After and the client backs off"
	dropped        = "faults.js › a dropped connection is retried and the call completes"
	operator       = "operator_login.js › a restore operator logs in with grant_type=operator and has tenant scope"
	slowDown       = "strict_rfc8628.js › an early poll gets slow_down and the interval grows by 5 s"
	backOff        = "strict_rfc8628.js › pollToken adds 5 s to its interval after slow_down"
	labTenant      = "lab/smoke.js › a tenant signs in with a device code, reads its organization, refreshes and logs out"
	labAdmin       = "lab/smoke.js › the administrator reads ServiceInstance, organizations and jobs, refreshes and logs out"
	jobOnClock     = "sessions_on_the_clock.js › a job session runs on the clock and the job shows its result"
	syncOnClock    = "sessions_on_the_clock.js › a repository synchronisation runs on the clock"
	antiforgery    = "antiforgery.js › a bearer-only call of an antiforgery login is refused with how to fix the client"
	keepAntiforge  = "antiforgery.js › veeam.login with antiforgery keeps the protection and carries the token"
	flagByDefault  = "antiforgery.js › veeam.login sends disable_antiforgery_token=true by default, and bearer-only calls work"
	monitoring     = "monitoring.js › monitoring: license, licensed users, jobs and each job's last session, repository usage"
	backup         = "backup.js › a backup: create a job, start it, see it run and finish with its log, restore point and lastBackup"
	selfService    = "self_service_restore.js › self-service restore: a tenant explores its mailbox, restores an item, watches it finish and stops the session"
	restoreOp      = "restore_operator.js › a restore operator explores within its RBAC scope and is refused outside it"
	restoreExpiry  = "restore_expiry.js › a restore session outlives the access token: refresh at 61 minutes and the workflow goes on"
	appOnlyNew     = "modern_app_only_organization.js › add a modern app-only organization with a new application, then back it up with app-only tokens"
	appOnlyExist   = "modern_app_only_organization.js › add a modern app-only organization with an existing application it configures"
	certExpiry     = "certificate_expiry.js › a certificate expires after 3 virtual days: the nightly job fails with Entra's error, then recovers once it is renewed"
	restoreCode    = "restore_with_device_code.js › restore a mailbox to its original location with a device code"
	restoreCodeOwn = "restore_with_device_code.js › another organization's token is refused the session's device code and its restore"
)

func settings(change func(*veeam.Settings)) veeam.Option {
	s := veeam.DefaultSettings()
	change(&s)
	return veeam.WithSettings(s)
}

func fault(server func(*stack.InProcess) *faults.Set, r faults.Rule) func(*stack.InProcess) {
	return func(st *stack.InProcess) {
		if _, err := server(st).Add(r); err != nil {
			panic(err)
		}
	}
}

func entraFaults(st *stack.InProcess) *faults.Set { return st.Entra.Control().Faults() }
func veeamFaults(st *stack.InProcess) *faults.Set { return st.Veeam.Control().Faults() }

var mutations = []mutation{
	{name: "Veeam ignores tenantAuthentication", how: "`veeam.Mutations{IgnoreTenantAuthentication}`",
		veeam: []veeam.Option{veeam.WithMutations(veeam.Mutations{IgnoreTenantAuthentication: true})}, red: []string{tenantAuthOff}},
	{name: "Veeam takes unsigned (alg none) assertions", how: "`veeam.Mutations{AcceptUnsignedAssertions}`",
		veeam: []veeam.Option{veeam.WithMutations(veeam.Mutations{AcceptUnsignedAssertions: true})}, red: []string{algNone}},
	{name: "Veeam skips the signature check", how: "setting `claimsOnly: true`",
		veeam: []veeam.Option{settings(func(s *veeam.Settings) { s.ClaimsOnly = true })}, red: []string{foreignKey, alteredClaims}},
	{name: "Veeam skips the assertion's tenant check", how: "`veeam.Mutations{IgnoreAssertionTenant}`",
		veeam: []veeam.Option{veeam.WithMutations(veeam.Mutations{IgnoreAssertionTenant: true})}, red: []string{wrongTenant}},
	{name: "Veeam skips the Directory and User permission checks", how: "`veeam.Mutations{IgnoreAssertionScopes}`",
		veeam: []veeam.Option{veeam.WithMutations(veeam.Mutations{IgnoreAssertionScopes: true})}, red: []string{noDirectory, noUser}},
	{name: "Veeam accepts assertions two hours past their expiry", how: "setting `assertionClockSkew: 7200`",
		veeam: []veeam.Option{settings(func(s *veeam.Settings) { s.AssertionClockSkew = 7200 })}, red: []string{entraRefresh, expiredEntra}},
	{name: "Veeam's access tokens live 30 minutes, not 60", how: "setting `accessTokenLifetime: 1800`",
		veeam: []veeam.Option{settings(func(s *veeam.Settings) { s.AccessTokenLifetime = 1800 })}, red: []string{adminLogin, keepAlive, seedFlow, accessExpiry, restoreExpiry}},
	{name: "Veeam's refresh tokens can be used again", how: "setting `refreshRotation: false`",
		veeam: []veeam.Option{settings(func(s *veeam.Settings) { s.RefreshRotation = false })}, red: []string{spentRefresh, reuseNoRevoke}},
	{name: "Veeam does not revoke a sign-in whose spent refresh token comes back", how: "setting `revokeOnRefreshReuse: false`",
		veeam: []veeam.Option{settings(func(s *veeam.Settings) { s.RevokeOnRefreshReuse = false })}, red: []string{spentRefresh}},
	{name: "Veeam lets bearer-only calls of an antiforgery login through", how: "setting `antiforgery: \"ignore\"`",
		veeam: []veeam.Option{settings(func(s *veeam.Settings) { s.Antiforgery = veeam.AntiforgeryIgnore })}, red: []string{antiforgery, keepAntiforge}},
	{name: "Veeam keeps antiforgery on despite disable_antiforgery_token=true", how: "`veeam.Mutations{IgnoreDisableAntiforgery}`",
		veeam: []veeam.Option{veeam.WithMutations(veeam.Mutations{IgnoreDisableAntiforgery: true})}, red: []string{flagByDefault}},
	{name: "Veeam accepts expired refresh tokens", how: "`veeam.Mutations{IgnoreRefreshTokenExpiry}`",
		veeam: []veeam.Option{veeam.WithMutations(veeam.Mutations{IgnoreRefreshTokenExpiry: true})}, red: []string{expiredRefresh}},
	{name: "Veeam's logout revokes nothing", how: "fault rule: `POST /v8/token/logout` answers 204 for ever",
		setup: fault(veeamFaults, faults.Rule{Method: "POST", Path: "/v8/token/logout", Status: 204, Times: -1}), red: []string{labAdmin, labTenant, logout}},
	{name: "Tenant tokens reach administrator routes", how: "`veeam.Mutations{IgnoreTenantScope}`",
		veeam: []veeam.Option{veeam.WithMutations(veeam.Mutations{IgnoreTenantScope: true})}, red: []string{operator, tenantScope, restoreOp}},
	{name: "Veeam's long-running work takes 10 minutes, not 5", how: "setting `sessionDuration: 600`",
		veeam: []veeam.Option{settings(func(s *veeam.Settings) { s.SessionDuration = 600 })}, red: []string{jobOnClock, syncOnClock, backup, appOnlyNew, appOnlyExist, certExpiry}},
	{name: "Veeam's pages have no `_links.next`", how: "`veeam.Mutations{NoNextLinks}`",
		veeam: []veeam.Option{veeam.WithMutations(veeam.Mutations{NoNextLinks: true})}, red: []string{jobPaging, orgPaging, monitoring, backup}},
	{name: "Veeam's job runs leave no restore point and take no room", how: "`veeam.Mutations{NoRestorePoints}`",
		veeam: []veeam.Option{veeam.WithMutations(veeam.Mutations{NoRestorePoints: true})}, red: []string{backup}},
	{name: "Veeam's jobs back up modern app-only organizations without app-only tokens", how: "`veeam.Mutations{NoAppOnlyTokens}`",
		veeam: []veeam.Option{veeam.WithMutations(veeam.Mutations{NoAppOnlyTokens: true})}, red: []string{appOnlyNew, appOnlyExist, certExpiry}},
	{name: "Veeam's restores ignore the userCode of a restore device code", how: "`veeam.Mutations{IgnoreRestoreUserCode}`",
		veeam: []veeam.Option{veeam.WithMutations(veeam.Mutations{IgnoreRestoreUserCode: true})}, red: []string{restoreCode}},
	{name: "Tenants and restore operators reach others' restore sessions", how: "`veeam.Mutations{IgnoreRestoreSessionOwner}`",
		veeam: []veeam.Option{veeam.WithMutations(veeam.Mutations{IgnoreRestoreSessionOwner: true})}, red: []string{restoreCodeOwn}},
	{name: "Restore operators reach outside their RBAC scope", how: "`veeam.Mutations{IgnoreRbacScope}`",
		veeam: []veeam.Option{veeam.WithMutations(veeam.Mutations{IgnoreRbacScope: true})}, red: []string{restoreOp}},
	{name: "Stopping a restore session does nothing", how: "fault rule: `POST /v8/RestoreSessions/*/Stop` answers 204 for ever",
		setup: fault(veeamFaults, faults.Rule{Method: "POST", Path: "/v8/RestoreSessions/*/Stop", Status: 204, Times: -1}), red: []string{restoreExpiry, selfService}},
	{name: "Entra's signing keys cannot be fetched again (rotation not followed)", how: "fault rule: `GET */discovery/v2.0/keys` answers 503 after the first fetch",
		setup: fault(entraFaults, faults.Rule{Method: "GET", Path: "*/discovery/v2.0/keys", Status: 503, After: 1, Times: -1}), red: []string{keyRotation}},
	{name: "Entra's access tokens live 4000 s, not 3599", how: "`entra.WithLifetimes(AccessToken: 4000 s)`",
		entra: []entra.Option{entra.WithLifetimes(entra.Lifetimes{AccessToken: 4000 * time.Second})}, red: []string{seedFlow}},
	{name: "Entra's device codes live 30 minutes, not 15", how: "`entra.WithLifetimes(DeviceCode: 1800 s)`",
		entra: []entra.Option{entra.WithLifetimes(entra.Lifetimes{DeviceCode: 1800 * time.Second})}, red: []string{codeExpired, seedFlow}},
	{name: "Entra's refresh grant refuses every refresh token", how: "fault rule: `grant_type=refresh_token` answers 400 `invalid_grant` for ever",
		setup: fault(entraFaults, faults.Rule{Method: "POST", Path: "*/oauth2/v2.0/token", Match: map[string]string{"grant_type": "refresh_token"}, Status: 400, Times: -1,
			Body: json.RawMessage(`{"error":"invalid_grant","error_description":"AADSTS50173: The provided grant has expired.","error_codes":[50173]}`)}),
		red: []string{entraRefresh}},
	{name: "Entra speaks the strict RFC 8628 dialect", how: "`entra.WithStrictRFC8628(true)`",
		entra: []entra.Option{entra.WithStrictRFC8628(true)}, red: []string{declined}},
	{name: "Entra calls an unknown device code `invalid_grant`", how: "`entra.Assumptions{UnknownDeviceCode: \"invalid_grant\"}`",
		entra: []entra.Option{entra.WithAssumptions(entra.Assumptions{UnknownDeviceCode: "invalid_grant"})}, red: []string{codeMistyped}},
	{name: "Entra declines where it should say pending", how: "wire: `authorization_pending` answers become `authorization_declined`",
		wire: rewriteEntraError("authorization_pending", "authorization_declined", 65004), red: []string{codeExpired, polling, slowDown}},
	{name: "Entra never says slow_down", how: "wire: `slow_down` answers become `authorization_pending`",
		wire: rewriteEntraError("slow_down", "authorization_pending", 70016), red: []string{backOff, slowDown}},
	{name: "Entra redeems a device code twice", how: "wire: a redeemed code's token is handed out again",
		wire: replayRedeemedCodes, red: []string{codeReused}},
	{name: "Faults do not clear (the server stays down)", how: "wire: an endpoint that answered 429 or 503 or dropped the connection keeps doing so",
		wire: stickyFailures, red: []string{dropped, entra503, veeam429}},
}

// mutatedTarget is the embedded mock target with m applied to every test's stack.
func mutatedTarget(m mutation) *runner.Target {
	return &runner.Target{
		Name: config.MockTarget, Kind: engine.TargetMock, Description: "embedded mocks, mutated: " + m.name,
		Control: true,
		New: func(context.Context) (*engine.Target, func(), error) {
			st := stack.NewInProcess(stack.Options{Entra: m.entra, Veeam: m.veeam})
			if m.setup != nil {
				m.setup(st)
			}
			t := runner.StackTarget(st, nil)
			if m.wire != nil {
				t.HTTPClient = &http.Client{Transport: m.wire(st.Transport)}
			}
			return t, func() {}, nil
		},
	}
}

// runCatalogue runs every test of the embedded catalogue on target and returns the names
// of those that passed and of those that did not ("file › name"), and how many there are.
func runCatalogue(t *testing.T, target *runner.Target) (red []string, total int) {
	t.Helper()
	files, err := runner.Discover(scripts.FS, ".")
	if err != nil {
		t.Fatal(err)
	}
	plan, err := runner.NewPlan(context.Background(), runner.Options{Engine: runner.NewEngine(scripts.FS), Files: files, Target: target, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	outcome := plan.Execute(context.Background())
	for _, r := range outcome.Results {
		if r.Status != engine.StatusPassed {
			red = append(red, r.File+" › "+r.Name)
		}
	}
	sort.Strings(red)
	return red, len(outcome.Results)
}

// Acceptance 4: each scenario fails when the behaviour it proves is broken. The catalogue
// runs once against the unmutated mocks (all green), then once per mutation; exactly the
// tests the mutation names must turn red, and every test of the catalogue must turn red
// under at least one mutation. The table in docs/writing-scenarios.md is this run's
// result (-update rewrites it; without it the test checks the docs still say so).
func TestTheCatalogueCatchesRegressions(t *testing.T) {
	t.Parallel()
	if red, total := runCatalogue(t, mutatedTarget(mutation{name: "nothing"})); len(red) > 0 || total == 0 {
		t.Fatalf("the unmutated catalogue is not green (%d tests): %q", total, red)
	}
	files, _ := runner.Discover(scripts.FS, ".")
	all := map[string]bool{}
	var mu sync.Mutex
	got := make([][]string, len(mutations))
	t.Run("mutations", func(t *testing.T) {
		for i, m := range mutations {
			t.Run(m.name, func(t *testing.T) {
				t.Parallel()
				red, total := runCatalogue(t, mutatedTarget(m))
				mu.Lock()
				got[i] = red
				mu.Unlock()
				want := slices.Sorted(slices.Values(m.red))
				if !slices.Equal(red, want) {
					t.Errorf("%d of %d tests turned red:\n  %s\nwant exactly:\n  %s", len(red), total,
						strings.Join(red, "\n  "), strings.Join(want, "\n  "))
				}
			})
		}
	})
	if t.Failed() {
		return
	}
	for _, red := range got {
		for _, n := range red {
			all[n] = true
		}
	}
	plan, err := runner.NewPlan(context.Background(), runner.Options{Engine: runner.NewEngine(scripts.FS), Files: files, Target: mutatedTarget(mutation{})})
	if err != nil {
		t.Fatal(err)
	}
	var never []string
	keys := plan.Keys()
	for _, k := range keys {
		if n := k.File + " › " + k.Name; !all[n] {
			never = append(never, n)
		}
	}
	if len(never) > 0 {
		t.Errorf("these tests pass whatever is broken; add a mutation that breaks what each proves:\n  %s", strings.Join(never, "\n  "))
	}
	checkTable(t, renderTable(got, len(keys)))
}

// renderTable is the docs' table: one row per mutation with the tests that turned red.
func renderTable(got [][]string, tests int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", tableStart)
	fmt.Fprintf(&b, "%d mutations; each of the catalogue's %d tests turned red under at least one, and under each mutation every other test passed.\n\n", len(mutations), tests)
	b.WriteString("| Mutation | How the test breaks it | Turned red |\n| --- | --- | --- |\n")
	for i, m := range mutations {
		names := make([]string, len(got[i]))
		for j, n := range got[i] {
			names[j] = "`scripts/" + strings.ReplaceAll(n, "|", "\\|") + "`"
		}
		fmt.Fprintf(&b, "| %s | %s | %d: %s |\n", m.name, m.how, len(got[i]), strings.Join(names, "<br>"))
	}
	fmt.Fprintf(&b, "\n%s", tableEnd)
	return b.String()
}

// checkTable compares the docs' table with table, or writes it there with -update.
func checkTable(t *testing.T, table string) {
	t.Helper()
	doc, err := os.ReadFile(scenariosDoc)
	if err != nil {
		t.Fatal(err)
	}
	start, end := bytes.Index(doc, []byte(tableStart)), bytes.Index(doc, []byte(tableEnd))
	if start < 0 || end < start {
		t.Fatalf("%s has no mutation table between %q and %q", scenariosDoc, tableStart, tableEnd)
	}
	current := string(doc[start : end+len(tableEnd)])
	if current == table {
		return
	}
	if !*update {
		t.Errorf("the mutation table in %s is not this run's; rerun with -update.\nwant:\n%s", scenariosDoc, table)
		return
	}
	out := append(append(append([]byte{}, doc[:start]...), table...), doc[end+len(tableEnd):]...)
	if err := os.WriteFile(scenariosDoc, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

// wireFunc adapts a function to http.RoundTripper.
type wireFunc func(*http.Request) (*http.Response, error)

func (f wireFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// isEntraToken reports whether r goes to Entra's token endpoint.
func isEntraToken(r *http.Request) bool {
	return r.URL.Host == "login.mock" && strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token")
}

// readBody reads and restores a request or response body.
func readBody(rc *io.ReadCloser) []byte {
	if *rc == nil {
		return nil
	}
	b, _ := io.ReadAll(*rc)
	(*rc).Close()
	*rc = io.NopCloser(bytes.NewReader(b))
	return b
}

func withBody(resp *http.Response, status int, body []byte) *http.Response {
	resp.StatusCode, resp.Status = status, fmt.Sprintf("%d %s", status, http.StatusText(status))
	resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	resp.Header.Del("Content-Length")
	return resp
}

// rewriteEntraError turns Entra token-endpoint errors `from` into `to` with the AADSTS
// number given.
func rewriteEntraError(from, to string, aadsts int) func(http.RoundTripper) http.RoundTripper {
	return func(next http.RoundTripper) http.RoundTripper {
		return wireFunc(func(r *http.Request) (*http.Response, error) {
			resp, err := next.RoundTrip(r)
			if err != nil || !isEntraToken(r) || resp.StatusCode != http.StatusBadRequest {
				return resp, err
			}
			var e struct {
				Error string `json:"error"`
			}
			if json.Unmarshal(readBody(&resp.Body), &e) != nil || e.Error != from {
				return resp, nil
			}
			body, _ := json.Marshal(map[string]any{"error": to, "error_codes": []int{aadsts},
				"error_description": fmt.Sprintf("AADSTS%d: rewritten from %s by the mutation test.", aadsts, from)})
			return withBody(resp, http.StatusBadRequest, body), nil
		})
	}
}

// replayRedeemedCodes answers a poll of an already redeemed device code with the token
// it was redeemed for, as a server that lets a code be redeemed twice would.
func replayRedeemedCodes(next http.RoundTripper) http.RoundTripper {
	var mu sync.Mutex
	tokens := map[string][]byte{}
	return wireFunc(func(r *http.Request) (*http.Response, error) {
		if !isEntraToken(r) {
			return next.RoundTrip(r)
		}
		form, _ := url.ParseQuery(string(readBody(&r.Body)))
		code := form.Get("device_code")
		resp, err := next.RoundTrip(r)
		if err != nil || code == "" {
			return resp, err
		}
		body := readBody(&resp.Body)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case resp.StatusCode == http.StatusOK:
			tokens[code] = body
		case tokens[code] != nil && bytes.Contains(body, []byte(`"expired_token"`)):
			return withBody(resp, http.StatusOK, tokens[code]), nil
		}
		return resp, nil
	})
}

// stickyFailures makes an endpoint that answered 429 or 503, or whose connection
// dropped, keep failing the same way: a server that does not recover.
func stickyFailures(next http.RoundTripper) http.RoundTripper {
	type failure struct {
		status int
		header http.Header
		body   []byte
		err    error
	}
	var mu sync.Mutex
	failed := map[string]*failure{}
	return wireFunc(func(r *http.Request) (*http.Response, error) {
		key := r.Method + " " + r.URL.Host + r.URL.Path
		if strings.HasPrefix(r.URL.Path, "/_mock/") {
			return next.RoundTrip(r)
		}
		mu.Lock()
		f := failed[key]
		mu.Unlock()
		if f != nil {
			if f.err != nil {
				return nil, f.err
			}
			return withBody(&http.Response{Header: f.header.Clone(), Request: r, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}, f.status, f.body), nil
		}
		resp, err := next.RoundTrip(r)
		switch {
		case err != nil:
			f = &failure{err: err}
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
			f = &failure{status: resp.StatusCode, header: resp.Header.Clone(), body: readBody(&resp.Body)}
		}
		if f != nil {
			mu.Lock()
			failed[key] = f
			mu.Unlock()
		}
		return resp, err
	})
}
