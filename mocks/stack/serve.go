package stack

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/mocks/entra"
	"github.com/vbharness/vbharness/mocks/keys"
	"github.com/vbharness/vbharness/mocks/metrics"
	"github.com/vbharness/vbharness/mocks/state"
	"github.com/vbharness/vbharness/mocks/tlsca"
	"github.com/vbharness/vbharness/mocks/veeam"
)

// Default listen addresses of the standalone stack. 4443 is the real Veeam REST API port.
const (
	DefaultEntraAddr = "127.0.0.1:8400"
	DefaultVeeamAddr = "127.0.0.1:4443"
)

// Timeouts of the standalone servers, so slow or idle clients cannot hold connections
// for ever.
const (
	ReadHeaderTimeout = 10 * time.Second
	ReadTimeout       = 30 * time.Second
	IdleTimeout       = 120 * time.Second
	MaxHeaderBytes    = 64 << 10
)

// ServeOptions configure Serve. Files (Config, Fixtures, Stubs) are parsed by Serve, before any
// listener opens, so a bad file is reported without side effects.
type ServeOptions struct {
	EntraAddr      string   // default DefaultEntraAddr; port 0 picks a free port
	VeeamAddr      string   // default DefaultVeeamAddr; port 0 picks a free port
	HTTP           bool     // plain HTTP instead of HTTPS
	StateDir       string   // where the CA lives; required unless HTTP
	Persist        bool     // keep the Veeam mock's state and the clock in StateDir (state.db) across restarts
	Hostnames      []string // extra names (or IPs) for the server certificate
	ControlToken   string   // require Authorization: Bearer <token> on /_mock/ (else loopback only)
	AdminPassword  string   // Veeam administrator password (default veeam.DefaultAdminPassword)
	EntraAuthority string   // Veeam verifies assertions against this Entra instead of the local mock
	ConfigFile     string   // Entra directory and lifetimes (entra.LoadConfig)
	FixturesFile   string   // Veeam fixtures (veeam.LoadFixtures)
	StubsFile      string   // Veeam stubs the mock starts with and returns to on reset (veeam.LoadStubs)
	JournalBytes   int64    // each server's journal keeps at most this many bytes (default journal.DefaultMaxBytes)
	Logger         *slog.Logger

	// ReadHeaderTimeout, ReadTimeout and IdleTimeout replace the package defaults of the
	// same names when set (tests of slow clients use short ones). The read-header timeout
	// also bounds the TLS handshake.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	IdleTimeout       time.Duration
}

// Running is a started standalone stack.
type Running struct {
	EntraURL      string
	VeeamURL      string
	CAFile        string // empty over plain HTTP
	StateFile     string // the state file when Persist is set, else empty
	Tenant        string
	ClientID      string
	Users         []string
	AdminUser     string
	AdminPassword string
	Stubs         int // how many stubs the Veeam mock started with (StubsFile)
	Clock         *clock.Real
	Entra         *entra.Server
	Veeam         *veeam.Server
	// Metrics counts both servers' requests; either server serves it at /_mock/metrics.
	Metrics *metrics.Metrics

	servers []*http.Server
	done    chan error
	db      *state.DB
}

// ErrNeedsToken is returned by Serve for a listen address off the loopback without a
// control token: whoever reaches the mock could otherwise not be told from its operator.
var ErrNeedsToken = errors.New("a control token is required")

// Serve starts both mocks on their listeners and returns once they accept connections.
// ctx bounds start-up only; call Shutdown to stop. A listen address that is not on the
// loopback (a wildcard such as 0.0.0.0 or :4443, or a LAN address) needs a ControlToken:
// ErrNeedsToken otherwise.
func Serve(ctx context.Context, o ServeOptions) (*Running, error) {
	if o.EntraAddr == "" {
		o.EntraAddr = DefaultEntraAddr
	}
	if o.VeeamAddr == "" {
		o.VeeamAddr = DefaultVeeamAddr
	}
	if o.AdminPassword == "" {
		o.AdminPassword = veeam.DefaultAdminPassword
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{{&o.ReadHeaderTimeout, ReadHeaderTimeout}, {&o.ReadTimeout, ReadTimeout}, {&o.IdleTimeout, IdleTimeout}} {
		if *d.v <= 0 {
			*d.v = d.def
		}
	}
	if o.ControlToken == "" {
		for _, a := range []string{o.EntraAddr, o.VeeamAddr} {
			if !LoopbackAddr(a) {
				return nil, fmt.Errorf("%w to listen on %s, which other machines reach: give the mock a control token (--control-token-file or $VBHARNESS_CONTROL_TOKEN), or listen on 127.0.0.1", ErrNeedsToken, a)
			}
		}
	}
	keys.Warm(2) // Entra's and Veeam's signing keys, generated side by side while the files load
	entraOpts := []entra.Option{entra.WithLogger(o.Logger), entra.WithControlToken(o.ControlToken)}
	dir := entra.DefaultDirectory()
	if o.ConfigFile != "" {
		cfg, err := entra.LoadConfig(o.ConfigFile)
		if err != nil {
			return nil, err
		}
		dir = cfg.Directory
		entraOpts = append(entraOpts, entra.WithDirectory(cfg.Directory), entra.WithLifetimes(cfg.Lifetimes))
	}
	veeamOpts := []veeam.Option{veeam.WithLogger(o.Logger), veeam.WithControlToken(o.ControlToken),
		veeam.WithAdmin(veeam.DefaultAdminUser, o.AdminPassword)}
	if o.FixturesFile != "" {
		fx, err := veeam.LoadFixtures(o.FixturesFile)
		if err != nil {
			return nil, err
		}
		veeamOpts = append(veeamOpts, veeam.WithFixtures(fx))
	}
	clk := clock.NewReal()
	var mockClock clock.Clock = clk
	var db *state.DB
	if o.Persist {
		if o.StateDir == "" {
			return nil, errors.New("keeping state needs a state directory")
		}
		var saved *veeam.SavedState
		var err error
		if db, clk, mockClock, saved, err = openState(o.StateDir, o.Logger); err != nil {
			return nil, err
		}
		veeamOpts = append(veeamOpts, veeam.WithState(saved))
	}
	started := false
	defer func() {
		if !started && db != nil {
			db.Close()
		}
	}()
	var stubs veeam.Stubs
	if o.StubsFile != "" {
		var err error
		if stubs, err = veeam.LoadStubs(o.StubsFile); err != nil {
			return nil, err
		}
		veeamOpts = append(veeamOpts, veeam.WithStubs(stubs))
	}

	lc := net.ListenConfig{}
	el, err := lc.Listen(ctx, "tcp", o.EntraAddr)
	if err != nil {
		return nil, fmt.Errorf("entra mock: listen on %s: %w", o.EntraAddr, err)
	}
	vl, err := lc.Listen(ctx, "tcp", o.VeeamAddr)
	if err != nil {
		el.Close()
		return nil, fmt.Errorf("veeam mock: listen on %s: %w (is a Veeam server or another mock already on that port? use --veeam-addr 127.0.0.1:0)", o.VeeamAddr, err)
	}
	scheme := "https"
	if o.HTTP {
		scheme = "http"
	}
	run := &Running{
		EntraURL: fmt.Sprintf("%s://%s", scheme, publicAddr(el, o.Hostnames)),
		VeeamURL: fmt.Sprintf("%s://%s", scheme, publicAddr(vl, o.Hostnames)),
		Tenant:   entra.DefaultTenant, ClientID: entra.AzureCLIClientID,
		AdminUser: veeam.DefaultAdminUser, AdminPassword: o.AdminPassword,
		Stubs: stubs.Len(), Clock: clk, done: make(chan error, 2), db: db,
	}
	if db != nil {
		run.StateFile = db.Path()
	}
	for _, t := range dir.Tenants {
		for _, u := range t.Users {
			run.Users = append(run.Users, u.UPN)
		}
	}
	sort.Strings(run.Users)

	var tlsConf *tls.Config
	client := &http.Client{Timeout: 10 * time.Second}
	if !o.HTTP {
		if o.StateDir == "" {
			el.Close()
			vl.Close()
			return nil, errors.New("a state directory is required for HTTPS (it holds the CA)")
		}
		hosts := certHosts(o.Hostnames, el, vl)
		// The CA and certificate are checked by clients against their wall clocks, so
		// they are made on the wall clock, not on the mock's (which a saved offset may
		// have moved ahead).
		wall := clock.NewReal()
		ca, caFile, err := tlsca.LoadOrCreate(o.StateDir, wall.Now(), hosts...)
		if err != nil {
			el.Close()
			vl.Close()
			return nil, err
		}
		for _, n := range ca.Notes {
			o.Logger.Warn(n)
		}
		cert, err := ca.Issue(wall.Now(), hosts...)
		if err != nil {
			el.Close()
			vl.Close()
			return nil, err
		}
		run.CAFile = caFile
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12}}
	}
	authority := run.EntraURL
	if o.EntraAuthority != "" {
		authority = strings.TrimRight(o.EntraAuthority, "/")
		if o.EntraAuthority != run.EntraURL {
			client = &http.Client{Timeout: 10 * time.Second} // the real Entra: system roots
		}
	}
	run.Entra = entra.New(mockClock, append([]entra.Option{entra.WithBaseURL(run.EntraURL)}, entraOpts...)...)
	if authority == run.EntraURL { // the Veeam mock registers applications in its own Entra mock only
		veeamOpts = append(veeamOpts, veeam.WithEntraApplications(entraApps{run.Entra}))
	}
	run.Veeam = veeam.New(mockClock, append([]veeam.Option{veeam.WithAuthority(authority), veeam.WithHTTPClient(client)}, veeamOpts...)...)
	linkResets(run.Entra, run.Veeam)
	run.Metrics = metrics.New()
	run.Metrics.Attach(run.Entra.Control())
	run.Metrics.Attach(run.Veeam.Control())
	run.Entra.Control().AllowHosts(ownNames(el, o.Hostnames)...)
	run.Veeam.Control().AllowHosts(ownNames(vl, o.Hostnames)...)
	run.Entra.Control().Journal().SetMaxBytes(o.JournalBytes)
	run.Veeam.Control().Journal().SetMaxBytes(o.JournalBytes)

	for _, p := range []struct {
		l net.Listener
		h http.Handler
	}{{el, run.Entra}, {vl, run.Veeam}} {
		srv := &http.Server{
			Handler:           p.h,
			ReadHeaderTimeout: o.ReadHeaderTimeout,
			ReadTimeout:       o.ReadTimeout,
			IdleTimeout:       o.IdleTimeout,
			MaxHeaderBytes:    MaxHeaderBytes,
			// TLS handshake failures and panics outside the pipeline: the operator
			// must see them, and the CLI's handler shows Warn and above.
			ErrorLog: slog.NewLogLogger(o.Logger.Handler(), slog.LevelWarn),
		}
		quiet := &unusedConns{conns: map[net.Conn]bool{}}
		srv.ConnState = quiet.track
		srv.RegisterOnShutdown(quiet.closeAll)
		l := p.l
		if tlsConf != nil {
			l = tls.NewListener(l, tlsConf)
		}
		run.servers = append(run.servers, srv)
		go func() {
			if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				run.done <- err
			}
		}()
	}
	started = true
	return run, nil
}

// unusedConns are a server's connections that have not sent a request yet. Shutdown
// waits for a connection in that state as for one with a request in flight, for up to
// 5 s (net/http treats it as idle only after that), and Go's HTTP clients open such
// connections as spares when they race a dial against a connection coming free; a
// client's spare then held a test's 5 s shutdown to its deadline under load. Nothing is
// in flight on them, so shutting down closes them at once.
type unusedConns struct {
	mu    sync.Mutex
	conns map[net.Conn]bool
}

// track is the server's ConnState hook: a connection is unused from its accept to its
// first request.
func (u *unusedConns) track(c net.Conn, st http.ConnState) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if st == http.StateNew {
		u.conns[c] = true
	} else {
		delete(u.conns, c)
	}
}

// closeAll closes the unused connections; Shutdown calls it once its listeners are
// closed, so no new one comes.
func (u *unusedConns) closeAll() {
	u.mu.Lock()
	defer u.mu.Unlock()
	for c := range u.conns {
		_ = c.Close()
		delete(u.conns, c)
	}
}

// Err returns a channel that yields an error if a server stops unexpectedly.
func (r *Running) Err() <-chan error { return r.done }

// Shutdown stops both servers, waiting for in-flight requests until ctx ends, then
// closes the state file.
func (r *Running) Shutdown(ctx context.Context) error {
	r.Entra.Control().SetStopping()
	r.Veeam.Control().SetStopping()
	var errs []error
	for _, s := range r.servers {
		if err := s.Shutdown(ctx); err != nil {
			errs = append(errs, err)
			s.Close()
		}
	}
	if r.db != nil {
		// Every request either finished (and committed) or was cut off; a commit still
		// running holds the database until it ends, and Close waits for it.
		if err := r.db.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// certHosts are the names and addresses the server certificate (and the CA's name
// constraints) cover besides localhost and the loopback: the --hostname names and the
// listeners' own addresses when they are specific. On a wildcard listen, the machine's
// other addresses need --hostname: they change, and each change would make a new CA.
func certHosts(hostnames []string, ls ...net.Listener) []string {
	hosts := slices.Clone(hostnames)
	for _, l := range ls {
		host, _, _ := net.SplitHostPort(l.Addr().String())
		if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() && !ip.IsLoopback() && !slices.Contains(hosts, ip.String()) {
			hosts = append(hosts, ip.String())
		}
	}
	return hosts
}

// ownNames are the names and addresses a server is reached by, which its control API
// accepts in Host besides localhost and the loopback addresses: the --hostname names,
// and the listener's address, or on a wildcard listen every address of the machine's
// interfaces.
func ownNames(l net.Listener, hostnames []string) []string {
	names := append([]string(nil), hostnames...)
	host, _, _ := net.SplitHostPort(l.Addr().String())
	ip := net.ParseIP(host)
	if ip != nil && !ip.IsUnspecified() {
		return append(names, ip.String())
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			names = append(names, n.IP.String())
		}
	}
	return names
}

// publicAddr is the host:port put in the printed URLs: the listener's own IP when it is a
// specific address, else (a wildcard listen) the first --hostname, else 127.0.0.1.
func publicAddr(l net.Listener, hostnames []string) string {
	host, port, _ := net.SplitHostPort(l.Addr().String())
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
		if len(hostnames) > 0 && hostnames[0] != "" {
			host = hostnames[0]
		}
	}
	return net.JoinHostPort(host, port)
}

// LoopbackAddr reports whether a listen address (host:port) is on the loopback:
// localhost or a loopback IP. A wildcard or an empty host is not.
func LoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
