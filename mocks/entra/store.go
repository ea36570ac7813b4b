package entra

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// Sentinel errors of the device-code operations (Server.Approve, Deny, SetDialect
// and the control API, which maps them to 404, 409 and 400).
var (
	ErrUnknownUserCode = errors.New("unknown user code")
	ErrCodeNotPending  = errors.New("device code is not pending")
	ErrUnknownUser     = errors.New("unknown user")
)

// Device code states, as GET /_mock/devicecodes reports them.
const (
	StatePending  = "pending"
	StateApproved = "approved"
	StateDenied   = "denied"
	StateRedeemed = "redeemed"
	StateExpired  = "expired"
)

// Bounds of the device-code store. Codes are kept for one extra lifetime after they
// expire (so a late poll still gets expired_token), then purged. A code that is live
// (pending or approved, and not expired) is never dropped to make room: anyone may ask
// for device codes, so dropping live ones would let a flood end a person's sign-in
// (issue 15). When a client in a tenant holds MaxDeviceCodesPerClient codes, or the
// store holds MaxDeviceCodes, the oldest finished code (expired, redeemed or denied) of
// that client, or of anyone, makes room; if every one is live, the request is refused
// with 429 and a Retry-After until the oldest of them expires.
const (
	MaxDeviceCodes          = 10000
	MaxDeviceCodesPerClient = 2500 // per client id and tenant ("organizations" for common and organizations)
)

// deviceCode is one issued code. Guarded by store.mu.
type deviceCode struct {
	deviceCode string
	userCode   string
	tenant     *Tenant // nil when requested on common or organizations
	clientID   string
	scope      scopeRequest
	issued     time.Time
	expires    time.Time
	interval   time.Duration
	state      string
	polls      int
	lastPoll   time.Time
	strict     *bool // per-code dialect override; nil follows the server setting
	userTenant *Tenant
	user       *User
}

// DeviceCodeInfo is one device code as the control API lists it. The device code
// itself is a secret and never listed.
type DeviceCodeInfo struct {
	UserCode  string   `json:"user_code"`        // the code a person types
	State     string   `json:"state"`            // StatePending, StateApproved, StateDenied, StateRedeemed or StateExpired
	ClientID  string   `json:"client_id"`        // the client that requested the code
	Scopes    []string `json:"scopes"`           // the requested scopes, as sent
	PollCount int      `json:"poll_count"`       // token-endpoint polls so far
	User      string   `json:"user,omitempty"`   // the UPN that approved, once approved
	Tenant    string   `json:"tenant"`           // tenant domain, or "organizations" for common/organizations
	ExpiresAt string   `json:"expires_at"`       // RFC 3339, on the server clock
	Interval  int64    `json:"interval"`         // current polling interval in seconds (strict dialect grows it)
	Strict    *bool    `json:"strict,omitempty"` // per-code dialect override; absent follows the server
}

// AutoApprove is the standing instruction of POST /_mock/devicecodes/auto-approve:
// approve every pending code (current and future) for User (empty: the code's
// tenant's default user) after AfterPolls polls or once After has passed since issue
// on the server clock.
type AutoApprove struct {
	User       string        // UPN to approve as; empty means each code's tenant's default user
	AfterPolls int           // approve at the poll after this many polls (0: the first poll succeeds)
	After      time.Duration // with ByTime: approve once this long has passed since the code was issued
	ByTime     bool          // After applies instead of AfterPolls
}

// userEpoch is a user's revocation state: refresh tokens sealed with an older epoch
// are refused (AADSTS50173).
type userEpoch struct {
	epoch uint64
	since time.Time
}

// store holds the mutable protocol state. Every method is safe for concurrent use.
type store struct {
	mu      sync.Mutex
	dir     *directory
	codes   map[string]*deviceCode // by device code
	byUser  map[string]*deviceCode // by user code
	order   []*deviceCode          // issue order, oldest first; may hold removed codes
	inserts int
	auto    *AutoApprove
	epochs  map[string]userEpoch // lower-case UPN → epoch
	perKey  map[string]int       // principal (see principal) → codes stored
	blocked map[string]time.Time // principal ("" for the whole store) → no finished code before then
	limit   int
	perKey1 int // codes one principal may hold
}

func newStore(dir *directory) *store {
	s := &store{limit: MaxDeviceCodes, perKey1: MaxDeviceCodesPerClient}
	s.reset(dir)
	return s
}

// principal is whom a code counts against: its client in its tenant.
func principal(d *deviceCode) string {
	return tenantName(d.tenant) + " " + strings.ToLower(d.clientID)
}

func (s *store) reset(dir *directory) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dir = dir
	s.codes = map[string]*deviceCode{}
	s.byUser = map[string]*deviceCode{}
	s.order = nil
	s.auto = nil
	s.epochs = map[string]userEpoch{}
	s.perKey = map[string]int{}
	s.blocked = map[string]time.Time{}
}

func (s *store) directory() *directory {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dir
}

// add stores d, giving it a user code unique among stored codes, and returns true. When
// d's principal or the store is full of live codes it stores nothing and returns false
// with how long until the oldest of them expires (see MaxDeviceCodes).
func (s *store) add(d *deviceCode, now time.Time) (time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inserts++
	if s.inserts%purgeEvery == 0 {
		s.purgeExpired(now)
	}
	s.evictOldest(now)
	k := principal(d)
	if s.perKey[k] >= s.perKey1 {
		if wait, ok := s.evictFinished(now, k); !ok {
			return wait, false
		}
	}
	if len(s.codes) >= s.limit {
		if wait, ok := s.evictFinished(now, ""); !ok {
			return wait, false
		}
	}
	for d.userCode == "" || s.byUser[d.userCode] != nil {
		d.userCode = newUserCode()
	}
	s.codes[d.deviceCode] = d
	s.byUser[d.userCode] = d
	s.order = append(s.order, d)
	s.perKey[k]++
	return 0, true
}

// evictFinished drops the oldest finished code (expired, redeemed or denied) of
// principal key, or of anyone when key is "", and reports whether it found one; if not,
// it returns how long until the oldest live code of those expires (at least a second).
// It walks the issue order, so it costs O(codes), and runs only when a bound is reached;
// a walk that finds nothing is remembered in s.blocked until the oldest code expires or
// a code is redeemed or denied, so a flood of refused requests costs O(1) each.
// Callers hold s.mu.
func (s *store) evictFinished(now time.Time, key string) (time.Duration, bool) {
	if until, ok := s.blocked[key]; ok && now.Before(until) {
		return until.Sub(now), false
	}
	var wait time.Duration
	for _, d := range s.order {
		if s.codes[d.deviceCode] != d || (key != "" && principal(d) != key) {
			continue
		}
		s.settle(d, now)
		switch d.state {
		case StateExpired, StateRedeemed, StateDenied:
			s.remove(d.deviceCode, d)
			return 0, true
		}
		if left := d.expires.Sub(now); wait == 0 || left < wait {
			wait = left
		}
	}
	wait = max(wait, time.Second)
	s.blocked[key] = now.Add(wait)
	return wait, false
}

// finished notes that a code was redeemed or denied, so it may make room at once.
// Callers hold s.mu.
func (s *store) finished() { clear(s.blocked) }

// purgeEvery is how many inserts pass between walks over every code. Codes age out
// from the head of the issue order on every insert (evictOldest); the walk only finds
// codes whose shorter lifetime (a settings change) ends before older codes'.
const purgeEvery = 1024

// purgeExpired drops codes past their retention (one extra lifetime after expiry).
// It walks every code, so add calls it once every purgeEvery inserts. Callers hold s.mu.
func (s *store) purgeExpired(now time.Time) {
	for k, d := range s.codes {
		if now.After(d.expires.Add(d.expires.Sub(d.issued))) {
			s.remove(k, d)
		}
	}
}

// evictOldest drops codes from the head of the issue order while they are past their
// retention: constant time per code (sorting every code on each insert made a full
// store cost 800 µs per new code). Callers hold s.mu.
func (s *store) evictOldest(now time.Time) {
	for len(s.order) > 0 {
		d := s.order[0]
		live := s.codes[d.deviceCode] == d
		if live && !now.After(d.expires.Add(d.expires.Sub(d.issued))) {
			break
		}
		s.order[0] = nil
		s.order = s.order[1:]
		if live {
			s.remove(d.deviceCode, d)
		}
	}
	// The order keeps codes removed elsewhere until they are most of it; then it is
	// rebuilt, so it stays within a small multiple of the store's size.
	if len(s.order) > 2*len(s.codes)+64 {
		live := make([]*deviceCode, 0, len(s.codes)+64)
		for _, d := range s.order {
			if s.codes[d.deviceCode] == d {
				live = append(live, d)
			}
		}
		s.order = live
	}
}

func (s *store) remove(key string, d *deviceCode) {
	delete(s.codes, key)
	delete(s.byUser, d.userCode)
	k := principal(d)
	if s.perKey[k]--; s.perKey[k] <= 0 {
		delete(s.perKey, k)
	}
}

// settle moves d to the state the clock and the auto-approve rule imply. Callers
// hold s.mu.
func (s *store) settle(d *deviceCode, now time.Time) {
	if d.state == StatePending || d.state == StateApproved {
		if !now.Before(d.expires) {
			d.state = StateExpired
			return
		}
	}
	if d.state == StatePending && s.auto != nil && s.auto.ByTime && !now.Before(d.issued.Add(s.auto.After)) {
		s.autoApprove(d)
	}
}

// autoApprove approves d for the auto-approve user if that user can sign in to d's
// tenant; otherwise d stays pending. Callers hold s.mu.
func (s *store) autoApprove(d *deviceCode) {
	var (
		t  *Tenant
		u  *User
		ok bool
	)
	if s.auto.User == "" {
		t, u, ok = s.dir.defaultUser(d.tenant)
	} else {
		t, u, ok = s.dir.findUser(d.tenant, s.auto.User)
	}
	if ok {
		d.state, d.userTenant, d.user = StateApproved, t, u
	}
}

// pollResult is what a token poll learns from the store.
type pollResult struct {
	err    *oauthError
	tenant *Tenant
	user   *User
	scope  scopeRequest
	code   *deviceCode // a copy, for logging and minting
}

// poll runs one token-endpoint poll of deviceCode. counted is false for a try the
// server must not count (see Assumptions.PublicClientBasicAuth). strictDefault is the
// server's dialect; unknownCode the error value for codes never issued.
// pathTenant is the tenant the poll went to (nil for common/organizations); a code
// issued for another tenant is unknown there.
func (s *store) poll(code, clientID string, pathTenant *Tenant, now time.Time, counted, strictDefault bool, unknownCode string) pollResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.codes[code]
	if !ok || (pathTenant != nil && d.tenant != nil && pathTenant.ID != d.tenant.ID) {
		return pollResult{err: errUnknownDeviceCode(unknownCode)}
	}
	if !strings.EqualFold(d.clientID, clientID) {
		return pollResult{err: errWrongClientForCode()}
	}
	s.settle(d, now)
	strict := strictDefault
	if d.strict != nil {
		strict = *d.strict
	}
	switch d.state {
	case StateExpired, StateRedeemed:
		return pollResult{err: errCodeExpired()}
	case StateDenied:
		return pollResult{err: errDeclined(strict)}
	case StatePending:
		if !counted {
			return pollResult{err: errPending()}
		}
		if strict && !d.lastPoll.IsZero() && now.Sub(d.lastPoll) < d.interval {
			d.polls++
			d.lastPoll = now
			d.interval += 5 * time.Second // RFC 8628 §3.5
			return pollResult{err: errSlowDown(d.interval)}
		}
		if s.auto != nil && !s.auto.ByTime && d.polls >= s.auto.AfterPolls {
			s.autoApprove(d)
		}
		d.polls++
		d.lastPoll = now
		if d.state == StatePending {
			return pollResult{err: errPending()}
		}
	default:
		if counted {
			d.polls++
			d.lastPoll = now
		}
	}
	// Approved: the code is single-use.
	d.state = StateRedeemed
	s.finished()
	cp := *d
	return pollResult{tenant: d.userTenant, user: d.user, scope: d.scope, code: &cp}
}

// lookup returns a copy of the code with userCode after settling it.
func (s *store) lookup(userCode string, now time.Time) (deviceCode, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.byUser[strings.ToUpper(strings.TrimSpace(userCode))]
	if !ok {
		return deviceCode{}, false
	}
	s.settle(d, now)
	return *d, true
}

// approve approves a pending code for upn (empty: the tenant's default user).
func (s *store) approve(userCode, upn string, now time.Time) (DeviceCodeInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.byUser[strings.ToUpper(strings.TrimSpace(userCode))]
	if !ok {
		return DeviceCodeInfo{}, fmt.Errorf("%w %q", ErrUnknownUserCode, userCode)
	}
	s.settle(d, now)
	if d.state != StatePending {
		return d.info(), fmt.Errorf("%w: user code %q is %s", ErrCodeNotPending, d.userCode, d.state)
	}
	var (
		t *Tenant
		u *User
	)
	if upn == "" {
		t, u, ok = s.dir.defaultUser(d.tenant)
		if !ok {
			return d.info(), fmt.Errorf("%w: the tenant has no default user; name one", ErrUnknownUser)
		}
	} else if t, u, ok = s.dir.findUser(d.tenant, upn); !ok {
		where := "any tenant"
		if d.tenant != nil {
			where = "tenant " + d.tenant.Domain
		}
		return d.info(), fmt.Errorf("%w: %q is not a user of %s", ErrUnknownUser, upn, where)
	}
	d.state, d.userTenant, d.user = StateApproved, t, u
	return d.info(), nil
}

// deny declines a pending code.
func (s *store) deny(userCode string, now time.Time) (DeviceCodeInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.byUser[strings.ToUpper(strings.TrimSpace(userCode))]
	if !ok {
		return DeviceCodeInfo{}, fmt.Errorf("%w %q", ErrUnknownUserCode, userCode)
	}
	s.settle(d, now)
	if d.state != StatePending {
		return d.info(), fmt.Errorf("%w: user code %q is %s", ErrCodeNotPending, d.userCode, d.state)
	}
	d.state = StateDenied
	s.finished()
	return d.info(), nil
}

// setDialect sets (or with nil clears) a code's strict-dialect override.
func (s *store) setDialect(userCode string, strict *bool) (DeviceCodeInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.byUser[strings.ToUpper(strings.TrimSpace(userCode))]
	if !ok {
		return DeviceCodeInfo{}, fmt.Errorf("%w %q", ErrUnknownUserCode, userCode)
	}
	d.strict = strict
	return d.info(), nil
}

// setAuto installs (or with nil removes) the auto-approve rule and applies a
// time-based one to current codes at once.
func (s *store) setAuto(a *AutoApprove, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.auto = a
	if a == nil {
		return
	}
	for _, d := range s.codes {
		s.settle(d, now)
	}
}

// list settles and returns every stored code, newest first.
func (s *store) list(now time.Time) []DeviceCodeInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	all := make([]*deviceCode, 0, len(s.codes))
	for _, d := range s.codes {
		s.settle(d, now)
		all = append(all, d)
	}
	sort.Slice(all, func(i, j int) bool {
		if !all[i].issued.Equal(all[j].issued) {
			return all[i].issued.After(all[j].issued)
		}
		return all[i].userCode < all[j].userCode
	})
	out := make([]DeviceCodeInfo, len(all))
	for i, d := range all {
		out[i] = d.info()
	}
	return out
}

// revoke makes every refresh token the user holds invalid (AADSTS50173).
func (s *store) revoke(upn string, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := strings.ToLower(upn)
	e := s.epochs[k]
	s.epochs[k] = userEpoch{epoch: e.epoch + 1, since: now}
}

// epoch returns the user's revocation state.
func (s *store) epoch(upn string) userEpoch {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.epochs[strings.ToLower(upn)]
}

func (d *deviceCode) info() DeviceCodeInfo {
	in := DeviceCodeInfo{
		UserCode:  d.userCode,
		State:     d.state,
		ClientID:  d.clientID,
		Scopes:    strings.Fields(d.scope.raw),
		PollCount: d.polls,
		Tenant:    tenantName(d.tenant),
		ExpiresAt: d.expires.UTC().Format(time.RFC3339),
		Interval:  int64(d.interval / time.Second),
		Strict:    d.strict,
	}
	if d.user != nil {
		in.User = d.user.UPN
	}
	return in
}

// tenantName is how messages name a tenant; nil means common/organizations.
func tenantName(t *Tenant) string {
	if t == nil {
		return tenantOrganizations
	}
	return t.Domain
}
