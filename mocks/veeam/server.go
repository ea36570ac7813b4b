package veeam

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/mocks/control"
	"github.com/vbharness/vbharness/mocks/keys"
)

// Default administrator account. The password is a fixed development value for
// in-process stacks; `vbharness mock` passes a generated one through WithAdmin.
const (
	// DefaultAdminUser is the administrator's user name, as in the seed's tokens.
	DefaultAdminUser = "Administrator"
	// DefaultAdminPassword is the administrator's password unless WithAdmin sets one.
	DefaultAdminPassword = "vbharness-Passw0rd!"
)

// Server is the mock Veeam Backup for Microsoft 365 REST API v8. It implements
// http.Handler and is safe for concurrent use.
type Server struct {
	clk       clock.Clock
	ctl       *control.Control
	handler   http.Handler
	eventsMu  sync.Mutex // restoreEvent's order and insert, one at a time
	settings  *settingsStore
	world     *world
	stubs     *stubSet
	timeline  *timeline // long-running work on the clock (clocked.go)
	sessions  *sessionStore
	tokens    *tokenService
	entra     *entraKeys
	keys      *keys.Set
	authority string
	// The Entra client (devicecode.go, orgadd.go): the client and public client id of
	// its device codes, the codes it keeps, and the directory it registers
	// applications in.
	entraClient  *http.Client
	deviceClient string
	logins       *deviceLogins
	apps         EntraApplications
	appCreds     *appCredentials // the keys of the applications of organizations it added (apponly.go)
	mut          Mutations       // for testing the tests only
	p            *persister      // the state file's writer (WithState); nil keeps everything in memory
	initial      struct {
		settings Settings
		world    *worldState
		key      *keys.Key
		stubs    []*stub
	}
}

// config collects the options; New applies defaults, then options, then precomputes.
type config struct {
	authority    string
	client       *http.Client
	admin        credentials
	settings     Settings
	fixtures     *Fixtures
	controlToken string
	issuer       string
	logger       *slog.Logger
	maxSessions  int
	stubs        Stubs
	mutations    Mutations
	state        *SavedState
	deviceClient string            // WithDeviceCodeClient
	apps         EntraApplications // WithEntraApplications
}

// Option configures a Server. Options never fail; parse files (LoadFixtures) first.
type Option func(*config)

// WithAuthority sets the Entra origin assertions are verified against, e.g.
// "https://login.mock". Keys are discovered at
// {origin}/{tenant}/v2.0/.well-known/openid-configuration → jwks_uri, with the
// organization's msid as tenant. Default DefaultAuthority (the real Entra ID).
func WithAuthority(origin string) Option { return func(c *config) { c.authority = origin } }

// WithHTTPClient sets the client for discovery and JWKS fetches (in-process stacks
// pass one with an inproc transport; TLS tests one trusting the test CA). Default: a
// client with a 10 s timeout.
func WithHTTPClient(hc *http.Client) Option { return func(c *config) { c.client = hc } }

// WithAdmin sets the administrator account for grant_type=password. Default
// DefaultAdminUser / DefaultAdminPassword. The user name matches case-insensitively,
// with or without a DOMAIN\ prefix.
func WithAdmin(user, password string) Option {
	return func(c *config) { c.admin = credentials{user: user, password: password} }
}

// WithSettings sets the initial settings (Reset returns to them). Out-of-range values
// fall back to DefaultSettings' values.
func WithSettings(s Settings) Option { return func(c *config) { c.settings = s } }

// WithFixtures replaces DefaultFixtures (Reset returns to them). Use LoadFixtures to
// read and validate a file first.
func WithFixtures(f Fixtures) Option { return func(c *config) { c.fixtures = &f } }

// WithControlToken requires `Authorization: Bearer <tok>` on the /_mock/ control API,
// which otherwise answers loopback callers only.
func WithControlToken(tok string) Option { return func(c *config) { c.controlToken = tok } }

// WithIssuer fixes the iss claim of issued tokens. Default: the request's host without
// its port, as the seed's tokens show ("127.0.0.1").
func WithIssuer(host string) Option { return func(c *config) { c.issuer = host } }

// WithLogger sets where refusals and internal errors are logged (never secrets).
// Default: discarded.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithMaxSessions bounds the session store (default DefaultMaxSessions).
func WithMaxSessions(n int) Option { return func(c *config) { c.maxSessions = n } }

// WithStubs gives the server stubs it starts with, and returns to on Reset (NewStubs,
// LoadStubs). Default: none.
func WithStubs(st Stubs) Option { return func(c *config) { c.stubs = st } }

// New returns a mock Veeam server on clk, the clock its stack shares.
func New(clk clock.Clock, opts ...Option) *Server {
	cfg := config{
		authority: DefaultAuthority,
		admin:     credentials{user: DefaultAdminUser, password: DefaultAdminPassword},
		settings:  DefaultSettings(),
	}
	for _, o := range opts {
		o(&cfg)
	}
	signing := keys.NewSet(keys.Pooled(1), 0, 10) // Veeam's own signing keys: pooled key 1
	if cfg.client == nil {
		cfg.client = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.DiscardHandler)
	}
	if cfg.admin.user == "" {
		cfg.admin.user = DefaultAdminUser
	}
	// The default world is built once per process and shared read-only (each server
	// keeps its own changes), unless the clock starts elsewhere than clock.DefaultStart.
	// Fixtures a caller gives keep their own times.
	var base *worldState
	if cfg.fixtures != nil {
		base = buildWorld(cfg.fixtures.normalized(), clock.DefaultStart)
	} else {
		base = worldFor(clk.Now())
	}

	s := &Server{
		clk:       clk,
		settings:  &settingsStore{},
		world:     newWorld(base),
		stubs:     &stubSet{},
		timeline:  newTimeline(),
		sessions:  newSessionStore(cfg.maxSessions),
		entra:     newEntraKeys(cfg.authority, cfg.client, cfg.mutations),
		keys:      signing,
		authority: strings.TrimRight(cfg.authority, "/"),
		mut:       cfg.mutations,

		entraClient: cfg.client, deviceClient: cmp.Or(cfg.deviceClient, DefaultDeviceCodeClientID),
		logins: newDeviceLogins(), apps: cfg.apps, appCreds: newAppCredentials(),
	}
	s.settings.set(cfg.settings)
	s.initial.settings = s.settings.get()
	s.initial.world = base
	s.initial.key = signing.Active()
	s.initial.stubs = cfg.stubs.list
	s.stubs.reset(s.initial.stubs)
	s.scheduleFixtureJobs() // a restored state's own steps join these; stale ones do nothing
	if cfg.state != nil {
		s.restore(cfg.state, cfg.logger)
	}
	s.ctl = control.New(control.Options{
		Server:   "veeam",
		Clock:    clk,
		Token:    cfg.controlToken,
		Reset:    s.Reset,
		TooLarge: s.tooLarge,
		Internal: func(w http.ResponseWriter, _ *http.Request) {
			writeError(w, "", &apiError{Status: http.StatusInternalServerError, Message: "An internal error occurred."})
		},
	})
	s.tokens = &tokenService{
		clk: clk, keys: signing, sessions: s.sessions, orgs: s, entra: s.entra,
		settings: s.settings, admin: cfg.admin, issuer: cfg.issuer, log: cfg.logger, mut: cfg.mutations,
	}

	// The API's routes are the document's (table()) and the control API's a gorilla/mux
	// router (controlRoutes()), both built once per process and shared by every server.
	s.handler = s.ctl.Wrap(http.HandlerFunc(s.serve))
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Control returns the server's pipeline and common control API (journal, faults,
// clock, reset).
func (s *Server) Control() *control.Control { return s.ctl }

// Reset drops every session and token, forgets cached Entra keys, and restores the
// initial fixtures, settings, signing key and stubs (those WithStubs gave, their
// counters at zero). A server with a state file (WithState) also clears it, so a
// restart after a reset starts from the fixtures too. Stubs are never kept in the state
// file. (Control().Reset also clears the journal and faults, then calls this.)
func (s *Server) Reset() {
	if s.p != nil {
		s.p.mu.Lock()
		defer s.p.mu.Unlock()
	}
	s.sessions.reset()
	s.stubs.reset(s.initial.stubs)
	s.entra.reset()
	s.logins.reset()
	s.appCreds.reset()
	s.timeline.reset()
	s.world.reset(s.initial.world)
	s.settings.set(s.initial.settings)
	s.keys.Reset(s.initial.key)
	if s.p != nil {
		s.p.clear()
	}
	s.scheduleFixtureJobs()
}

// Settings returns the current settings.
func (s *Server) Settings() Settings { return s.settings.get() }

// UpdateSettings replaces the settings; out-of-range values fall back to defaults. A
// failure to save them (WithState) is logged.
func (s *Server) UpdateSettings(set Settings) {
	_ = s.saving(func() error { s.settings.set(set); return nil })
}

// AddOrganization adds an organization as POST /_mock/organizations does: the id is
// generated when empty, the fields are validated as fixtures are (ErrInvalidFixtures),
// defaults are filled in, and a taken name, id or msid is refused. Reset removes it. With
// WithState a failure to save it wraps ErrNotSaved.
func (s *Server) AddOrganization(o Organization) (Organization, error) {
	if o.ID == "" {
		o.ID = newGUID()
	}
	f := Fixtures{Organizations: []Organization{o}}
	if err := f.Validate(); err != nil {
		return Organization{}, err
	}
	var added Organization
	err := s.saving(func() (err error) {
		added, err = s.addOrganization(f.normalized().Organizations[0])
		return err
	})
	return added, err
}

// errDuplicate marks an organization that is already added.
var errDuplicate = errors.New("already exists")

// addOrganization stores a normalised organization, refusing a duplicate name, id or
// msid.
func (s *Server) addOrganization(o Organization) (Organization, error) {
	s.world.mu.Lock() // one check-and-add at a time; the reads below take no lock of their own
	defer s.world.mu.Unlock()
	for _, it := range s.world.listLocked("/v8/organizations") {
		x := organizationOf(it)
		switch {
		case strings.EqualFold(x.Name, o.Name):
			return Organization{}, fmt.Errorf("organization %s %w", o.Name, errDuplicate)
		case x.ID == o.ID:
			return Organization{}, fmt.Errorf("an organization with id %s %w", o.ID, errDuplicate)
		case o.MSID != "" && x.MSID == o.MSID:
			return Organization{}, fmt.Errorf("organization %s with msid %s %w", x.Name, o.MSID, errDuplicate)
		}
	}
	raw, err := json.Marshal(organizationWire(o))
	if err != nil {
		return Organization{}, err
	}
	it, err := newItem("/v8/Organizations/"+o.ID, o.ID, raw, orgSecrets{ModernAppOnly: o.ModernAppOnly, Account: o.Account, Password: o.Password})
	if err != nil {
		return Organization{}, err
	}
	s.world.putLocked(it)
	return o, nil
}

// RevokeSessions revokes the sessions of userName (case-insensitive), or all sessions
// when it is empty, and returns how many were revoked. With WithState a failure to save
// the revocation is logged (revokeSessions returns it).
func (s *Server) RevokeSessions(userName string) int {
	n, _ := s.revokeSessions(userName)
	return n
}

func (s *Server) revokeSessions(userName string) (n int, err error) {
	err = s.saving(func() error { n = s.sessions.revokeUser(userName); return nil })
	return n, err
}

// tooLarge answers a body over the 1 MiB limit: a 400 token error on /v8/token (same
// shape as every token error), 413 RESTExceptionInfo elsewhere.
func (s *Server) tooLarge(w http.ResponseWriter, r *http.Request) {
	msg := "The request body is larger than 1 MiB."
	if isControlPath(r.URL.Path) {
		control.WriteError(w, http.StatusRequestEntityTooLarge, msg)
		return
	}
	var m match
	if table().tree.resolve(r.URL.Path, &m) && m.leaf.route(http.MethodPost) == table().byID["token"] {
		writeError(w, s.settings.get().ErrorStyle, invalidRequest("%s", msg))
		return
	}
	writeError(w, "", &apiError{Status: http.StatusRequestEntityTooLarge, Code: codeValidation, Message: msg})
}

// notFound answers a path no route serves: 404 RESTExceptionInfo with a null
// errorCode [I], before any authentication (an anonymous GET /v7/ServiceInstance gets
// 404 on a v8-only server, veeam.md §3 [R]).
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	if isControlPath(r.URL.Path) {
		control.WriteError(w, http.StatusNotFound, "no control route "+r.URL.Path)
		return
	}
	writeError(w, "", &apiError{Status: http.StatusNotFound, Message: "No HTTP resource was found that matches the request URI '" + r.URL.Path + "'."})
}

// methodNotAllowed answers a known path with a method it does not serve: 405 with
// Allow listing the methods served there, before any authentication.
func (s *Server) methodNotAllowed(w http.ResponseWriter, r *http.Request, allow string) {
	w.Header().Set("Allow", allow)
	if isControlPath(r.URL.Path) {
		control.WriteError(w, http.StatusMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path+"; use "+allow)
		return
	}
	writeError(w, "", &apiError{Status: http.StatusMethodNotAllowed,
		Message: "The requested resource does not support http method '" + r.Method + "'."})
}
