package entra

import (
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/mux"

	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/mocks/control"
	"github.com/vbharness/vbharness/mocks/keys"
)

// Server is the mock Microsoft Entra ID. It implements http.Handler: the route table
// wrapped in the control pipeline (panic recovery, the 1 MiB body limit, the journal,
// faults). Safe for concurrent use; every time value comes from the clock given to
// New, read once per request.
type Server struct {
	clk        clock.Clock
	ctl        *control.Control
	handler    http.Handler
	keys       *keys.Set
	initialKey *keys.Key
	baseURL    string
	log        *slog.Logger
	defaultDir Directory
	defaults   runtimeSettings
	csrfKey    []byte

	mu       sync.RWMutex
	settings runtimeSettings

	store *store
	seal  atomic.Pointer[sealer]
}

// runtimeSettings are the knobs PUT /_mock/settings changes. Handlers copy them once
// per request.
type runtimeSettings struct {
	strict bool
	life   Lifetimes
	assume Assumptions
}

// New returns a mock Entra reading time from clk. Defaults come first (the default
// directory, pooled key 0, Entra's dialect and lifetimes), then opts, then the
// precomputed route table.
func New(clk clock.Clock, opts ...Option) *Server {
	c := config{
		dir:    DefaultDirectory(),
		logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	for _, o := range opts {
		o(&c)
	}
	if c.keys == nil {
		c.keys = keys.NewSet(keys.Pooled(0), keys.DefaultOverlap, 2)
	}
	s := &Server{
		clk:        clk,
		keys:       c.keys,
		initialKey: c.keys.Active(),
		baseURL:    c.baseURL,
		log:        c.logger,
		defaultDir: c.dir.clone(),
		defaults:   runtimeSettings{strict: c.strict, life: c.lifetimes.withDefaults(), assume: c.assumptions.withDefaults()},
		csrfKey:    make([]byte, 32),
	}
	_, _ = rand.Read(s.csrfKey)
	s.settings = s.defaults
	s.store = newStore(newDirectory(s.defaultDir))
	s.seal.Store(newSealer())
	s.ctl = control.New(control.Options{
		Server:   "entra",
		Clock:    clk,
		Token:    c.controlToken,
		Reset:    s.Reset,
		TooLarge: s.tooLarge,
		Internal: func(w http.ResponseWriter, r *http.Request) {
			writeOAuthError(w, r, s.clk.Now(), errInternal())
		},
	})
	s.handler = s.ctl.Wrap(s.routes())
	return s
}

// routes is the endpoint list, in the order entra.md §0 gives it.
func (s *Server) routes() *mux.Router {
	r := mux.NewRouter()
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, control.Prefix+"/") {
			control.WriteError(w, http.StatusNotFound, "no control route "+r.Method+" "+r.URL.Path)
			return
		}
		writeOAuthError(w, r, s.clk.Now(), errNotFound(r.URL.Path))
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, control.Prefix+"/") {
			control.WriteError(w, http.StatusMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path)
			return
		}
		writeOAuthError(w, r, s.clk.Now(), errMethodNotAllowed(r.Method))
	})
	s.mountControl(s.ctl.Mount(r))

	disc := &discoveryHandler{srv: s}
	r.HandleFunc("/{tenant}/v2.0/.well-known/openid-configuration", disc.openIDConfiguration).Methods(http.MethodGet)
	r.HandleFunc("/{tenant}/discovery/v2.0/keys", disc.jwks).Methods(http.MethodGet)
	r.HandleFunc("/{tenant}/discovery/keys", disc.jwks).Methods(http.MethodGet)
	r.HandleFunc("/{tenant}/discovery/instance", disc.instance).Methods(http.MethodGet)

	// Token endpoints route on the path only: msal-node appends ?client-request-id=…
	// and MSAL for Go a bare "?". Any method reaches the handler, which answers
	// AADSTS900561 for anything but POST.
	r.Handle("/{tenant}/oauth2/v2.0/devicecode", &deviceCodeHandler{srv: s})
	r.Handle("/{tenant}/oauth2/v2.0/token", &tokenHandler{srv: s})

	login := &loginHandler{srv: s}
	r.HandleFunc("/devicelogin", login.get).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/devicelogin", login.post).Methods(http.MethodPost)
	r.Handle("/device", http.RedirectHandler("/devicelogin", http.StatusFound))
	return r
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Control returns the server's control pipeline: its journal, faults and clock.
func (s *Server) Control() *control.Control { return s.ctl }

// Keys returns the signing keys; POST /_mock/keys/rotate rotates them.
func (s *Server) Keys() *keys.Set { return s.keys }

// Clock returns the clock the server reads.
func (s *Server) Clock() clock.Clock { return s.clk }

// Reset forgets device codes, refresh tokens (by changing the key that seals them),
// revocations and the auto-approve rule, and restores the directory, settings and
// signing key the server was built with. The journal and faults are the Control's
// (POST /_mock/reset clears them too).
func (s *Server) Reset() {
	s.mu.Lock()
	s.settings = s.defaults
	s.mu.Unlock()
	s.store.reset(newDirectory(s.defaultDir))
	s.seal.Store(newSealer())
	s.keys.Reset(s.initialKey)
}

// Directory returns a copy of the directory the server serves.
func (s *Server) Directory() Directory { return s.store.directory().src.clone() }

func (s *Server) current() runtimeSettings {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.settings
}

// tooLarge answers a body over the limit: Entra's shape on protocol paths, the
// control API's shape under /_mock/.
func (s *Server) tooLarge(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, control.Prefix+"/") {
		control.WriteError(w, http.StatusRequestEntityTooLarge, "request body is larger than 1 MiB")
		return
	}
	writeOAuthError(w, r, s.clk.Now(), errTooLarge())
}

var hostRE = regexp.MustCompile(`^[A-Za-z0-9.\-]+(:[0-9]+)?$|^\[[0-9A-Fa-f:.]+\](:[0-9]+)?$`)

// origin is the public origin for r: WithBaseURL's, else derived from the request.
func (s *Server) origin(r *http.Request) string {
	if s.baseURL != "" {
		return s.baseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := r.Host
	if !hostRE.MatchString(host) {
		host = "localhost"
	}
	return scheme + "://" + strings.ToLower(host)
}

// resolveTenant maps a tenant path segment to a tenant. alias is true for common and
// organizations (t is nil then). errCode is the error value for an unknown tenant:
// invalid_tenant on discovery, invalid_request on the token endpoints (entra.md §1).
func resolveTenant(dir *directory, seg, errCode string) (t *Tenant, alias bool, e *oauthError) {
	switch strings.ToLower(seg) {
	case tenantCommon, tenantOrganizations:
		return nil, true, nil
	}
	if t, ok := dir.tenant(seg); ok {
		return t, false, nil
	}
	if isGUID(seg) || domainRE.MatchString(seg) || strings.EqualFold(seg, "consumers") {
		return nil, false, errUnknownTenant(errCode, seg)
	}
	return nil, false, errMalformedTenant(errCode, seg)
}

// seconds renders a duration as the integer seconds the wire carries.
func seconds(d time.Duration) int64 { return int64(d / time.Second) }
