package entra

import (
	"context"
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
	origin     originRule
	log        *slog.Logger
	defaultDir Directory
	settings   *settingsBox
	store      *store
	seals      *sealBox
	jtis       *jtiCache
	// the endpoints' handlers, which the process's one route table (routes) calls for
	// the server a request is for
	disc   *discoveryHandler
	codes  *deviceCodeHandler
	tokens *tokenHandler
	login  *loginHandler
}

// runtimeSettings are the knobs PUT /_mock/settings changes. Handlers copy them once
// per request.
type runtimeSettings struct {
	strict bool
	life   Lifetimes
	assume Assumptions
}

// settingsBox holds the current settings and the ones Reset restores. Safe for
// concurrent use.
type settingsBox struct {
	mu       sync.RWMutex
	cur, def runtimeSettings
}

func (b *settingsBox) get() runtimeSettings {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.cur
}

// update applies f to the current settings atomically; an error leaves them as they were.
func (b *settingsBox) update(f func(runtimeSettings) (runtimeSettings, error)) (runtimeSettings, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	next, err := f(b.cur)
	if err != nil {
		return b.cur, err
	}
	b.cur = next
	return next, nil
}

func (b *settingsBox) reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cur = b.def
}

// sealBox holds the sealer of refresh tokens; renew (on Reset) makes every issued
// refresh token garbage. Safe for concurrent use.
type sealBox struct {
	p atomic.Pointer[sealer]
}

func newSealBox() *sealBox {
	b := &sealBox{}
	b.renew()
	return b
}

func (b *sealBox) get() *sealer { return b.p.Load() }
func (b *sealBox) renew()       { b.p.Store(newSealer()) }

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
	signing := keys.NewSet(keys.Pooled(0), keys.DefaultOverlap, 2)
	def := runtimeSettings{strict: c.strict, life: c.lifetimes.withDefaults(), assume: c.assumptions.withDefaults()}
	s := &Server{
		clk:        clk,
		keys:       signing,
		initialKey: signing.Active(),
		origin:     originRule{base: c.baseURL},
		log:        c.logger,
		defaultDir: c.dir.clone(),
		settings:   &settingsBox{cur: def, def: def},
		seals:      newSealBox(),
		jtis:       newJTICache(),
	}
	s.store = newStore(newDirectory(s.defaultDir))
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
	s.disc = &discoveryHandler{clk: s.clk, store: s.store, keys: s.keys, origin: s.origin}
	s.codes = &deviceCodeHandler{clk: s.clk, store: s.store, settings: s.settings, origin: s.origin, log: s.log}
	s.tokens = &tokenHandler{clk: s.clk, store: s.store, keys: s.keys, seals: s.seals, settings: s.settings, origin: s.origin, log: s.log, jtis: s.jtis}
	csrfKey := make([]byte, 32)
	_, _ = rand.Read(csrfKey)
	s.login = &loginHandler{clk: s.clk, store: s.store, csrfKey: csrfKey, log: s.log}
	s.handler = s.ctl.Wrap(http.HandlerFunc(s.route))
	return s
}

// serverKey is the context key under which a request carries the Server it is for.
type serverKey struct{}

// route serves r through the process's route table, for s.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	sharedRoutes().ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), serverKey{}, s)))
}

// self is the Server a request is for (route put it in the context).
func self(r *http.Request) *Server { return r.Context().Value(serverKey{}).(*Server) }

// on adapts a function of the request's Server to a handler of the shared route table.
func on(f func(*Server, http.ResponseWriter, *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { f(self(r), w, r) }
}

// sharedRoutes is the route table, built once per process: gorilla/mux compiles a
// regexp for every route, which per server was most of the cost of a mock stack.
var sharedRoutes = sync.OnceValue(routes)

// routes is the endpoint list, in the order entra.md §0 gives it. Every handler finds
// its Server with self (on); nothing here belongs to one server.
func routes() *mux.Router {
	r := mux.NewRouter()
	r.NotFoundHandler = on(func(s *Server, w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, control.Prefix+"/") {
			control.WriteError(w, http.StatusNotFound, "no control route "+r.Method+" "+r.URL.Path)
			return
		}
		writeOAuthError(w, r, s.clk.Now(), errNotFound(r.URL.Path))
	})
	r.MethodNotAllowedHandler = on(func(s *Server, w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Allow", control.AllowedMethods(r, req))
		if strings.HasPrefix(req.URL.Path, control.Prefix+"/") {
			control.WriteError(w, http.StatusMethodNotAllowed, req.Method+" is not allowed on "+req.URL.Path+"; use "+w.Header().Get("Allow"))
			return
		}
		writeOAuthError(w, req, s.clk.Now(), errMethodNotAllowed(req.Method))
	})
	mountControl(control.Mount(r, func(req *http.Request) *control.Control { return self(req).ctl }))
	// The metrics of a standalone mock count requests by route template, never by raw
	// path, which clients choose (tenants, unknown paths).
	r.Use(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if rt := mux.CurrentRoute(req); rt != nil {
				if tpl, err := rt.GetPathTemplate(); err == nil {
					control.SetRoute(req, tpl)
				}
			}
			next.ServeHTTP(w, req)
		})
	})

	// CORS preflights first, so OPTIONS never reaches a handler that would refuse it.
	for _, p := range []struct{ path, methods string }{
		{"/{tenant}/v2.0/.well-known/openid-configuration", corsGET},
		{"/{tenant}/discovery/v2.0/keys", corsGET},
		{"/{tenant}/discovery/keys", corsGET},
		{"/{tenant}/discovery/instance", corsGET},
		{"/{tenant}/oauth2/v2.0/devicecode", corsPOST},
		{"/{tenant}/oauth2/v2.0/token", corsPOST},
	} {
		r.HandleFunc(p.path, preflight(p.methods)).Methods(http.MethodOptions)
	}

	r.HandleFunc("/{tenant}/v2.0/.well-known/openid-configuration", on(func(s *Server, w http.ResponseWriter, r *http.Request) {
		s.disc.openIDConfiguration(w, r)
	})).Methods(http.MethodGet)
	jwks := on(func(s *Server, w http.ResponseWriter, r *http.Request) { s.disc.jwks(w, r) })
	r.HandleFunc("/{tenant}/discovery/v2.0/keys", jwks).Methods(http.MethodGet)
	r.HandleFunc("/{tenant}/discovery/keys", jwks).Methods(http.MethodGet)
	r.HandleFunc("/{tenant}/discovery/instance", on(func(s *Server, w http.ResponseWriter, r *http.Request) {
		s.disc.instance(w, r)
	})).Methods(http.MethodGet)

	// Token endpoints route on the path only: msal-node appends ?client-request-id=…
	// and MSAL for Go a bare "?". Any method reaches the handler, which answers
	// AADSTS900561 for anything but POST.
	r.Handle("/{tenant}/oauth2/v2.0/devicecode", on(func(s *Server, w http.ResponseWriter, r *http.Request) { s.codes.ServeHTTP(w, r) }))
	r.Handle("/{tenant}/oauth2/v2.0/token", on(func(s *Server, w http.ResponseWriter, r *http.Request) { s.tokens.ServeHTTP(w, r) }))

	r.HandleFunc("/devicelogin", on(func(s *Server, w http.ResponseWriter, r *http.Request) { s.login.get(w, r) })).
		Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/devicelogin", on(func(s *Server, w http.ResponseWriter, r *http.Request) { s.login.post(w, r) })).
		Methods(http.MethodPost)
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
// revocations, remembered assertion jtis and the auto-approve rule, and restores the
// directory (with its applications and their credentials), settings and signing key
// the server was built with. The journal and faults are the Control's
// (POST /_mock/reset clears them too).
func (s *Server) Reset() {
	s.settings.reset()
	s.store.reset(newDirectory(s.defaultDir))
	s.seals.renew()
	s.jtis.reset()
	s.keys.Reset(s.initialKey)
}

// Directory returns a copy of the directory the server serves.
func (s *Server) Directory() Directory { return s.store.directory().src.clone() }

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

// originRule computes the public origin: WithBaseURL's, else derived per request.
type originRule struct {
	base string
}

// of returns the origin for r. A derived origin is https when the request came over
// TLS or names https in its URL (as requests through mocks/inproc do), else http, with
// r.Host (or "localhost" when the Host header is not a plain host[:port]).
func (o originRule) of(r *http.Request) string {
	if o.base != "" {
		return o.base
	}
	scheme := "http"
	if r.TLS != nil || r.URL.Scheme == "https" {
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
