package veeam

import (
	"strconv"
	"strings"
	"sync"
	"time"
)

// principalKind is who a session belongs to; it decides which routes a token reaches.
type principalKind int

const (
	kindAdmin    principalKind = iota // a configured administrator (grant_type=password)
	kindTenant                        // an organization's tenant (password or jwt-bearer)
	kindOperator                      // a restore operator (grant_type=operator)
)

// Credential types written in the credentialType claim. The seed shows
// "UsernamePassword"; the other two are the mock's own names [?].
const (
	credUsernamePassword = "UsernamePassword"
	credJWTBearer        = "JwtBearer"
	credOperator         = "Operator"
)

// session is one login: the chain of token pairs that refreshes extend. Its fields
// never change after creation except tokens and expires, which only the store touches
// under its lock.
type session struct {
	key            string // credentialKey claim; logout revokes every token of the key
	user           string // userName and the …/identity/claims/name claim
	userID         string // an operator's Microsoft Entra object id (client_id's <userId>); "" otherwise
	kind           principalKind
	orgID          string // the organization of a tenant or operator session
	credentialType string

	tokens  []string        // every token issued in this session (guarded by the store)
	expires time.Time       // the latest expiry among tokens (guarded by the store)
	queue   *principalQueue // its principal's sessions (guarded by the store)
}

// principal names who a session belongs to, for the per-principal bound: its kind, its
// user (case-insensitive) and its organization.
func (s *session) principal() string {
	return strconv.Itoa(int(s.kind)) + "|" + strings.ToLower(s.user) + "|" + s.orgID
}

// principalQueue is one principal's sessions in creation order, oldest first, with
// the number still live (revoked and evicted ones stay in order until popped or
// compacted).
type principalQueue struct {
	order []*session
	live  int
}

// tokenRecord is what the store knows about one issued token.
type tokenRecord struct {
	sess    *session
	refresh bool
	expires time.Time
	spent   bool   // a refresh token already exchanged (Settings.RefreshRotation)
	xsrf    string // the antiforgery token of its pair; "" when its claim says False
}

// DefaultMaxSessions bounds the session store; past it the oldest session of the
// principal holding the most is evicted (its tokens then get 401, as revoked ones do).
const DefaultMaxSessions = 50000

// DefaultMaxSessionsPerPrincipal bounds one principal's live sessions (an administrator,
// an organization's tenant, one restore operator); past it that principal's oldest
// session is evicted, never another's, so a client replaying one login cannot sign
// anyone else out [A: the real server's limits are not documented].
const DefaultMaxSessionsPerPrincipal = 1000

// sessionStore keeps issued tokens and their sessions in maps behind one RWMutex.
// A bearer token is accepted only if it is byte-for-byte a token this server issued and
// still holds: a forged, foreign-signed or altered token is simply not found, and
// revocation is deletion. Expired entries are purged when the map has doubled since the
// last sweep, so the store stays bounded without a background goroutine.
type sessionStore struct {
	mu        sync.RWMutex
	tokens    map[string]*tokenRecord
	sessions  map[string]*session
	order     []*session // creation order, oldest first, for the sweep
	queues    map[string]*principalQueue
	max       int
	maxPer    int
	nextSweep int
	p         *persister // records every change when the server keeps a state file; nil otherwise
}

const minSweep = 1024

func newSessionStore(max int) *sessionStore {
	if max <= 0 {
		max = DefaultMaxSessions
	}
	st := &sessionStore{max: max, maxPer: min(max, DefaultMaxSessionsPerPrincipal)}
	st.reset()
	return st
}

func (st *sessionStore) reset() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.tokens = map[string]*tokenRecord{}
	st.sessions = map[string]*session{}
	st.order = nil
	st.queues = map[string]*principalQueue{}
	st.nextSweep = minSweep
}

// add records a new token pair for sess (registering sess if it is new).
// xsrf is the pair's antiforgery token, "" for a pair issued without antiforgery.
func (st *sessionStore) add(sess *session, access, refresh string, accessExp, refreshExp time.Time, xsrf string, now time.Time) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if _, ok := st.sessions[sess.key]; !ok {
		st.sessions[sess.key] = sess
		st.order = append(st.order, sess)
		if st.p != nil {
			st.p.putSession(sess)
		}
		q := st.queues[sess.principal()]
		if q == nil {
			q = &principalQueue{}
			st.queues[sess.principal()] = q
		}
		sess.queue = q
		q.order = append(q.order, sess)
		q.live++
		for q.live > st.maxPer {
			st.popOldest(q)
		}
	}
	st.tokens[access] = &tokenRecord{sess: sess, expires: accessExp, xsrf: xsrf}
	st.tokens[refresh] = &tokenRecord{sess: sess, refresh: true, expires: refreshExp, xsrf: xsrf}
	if st.p != nil {
		st.p.putToken(access, st.tokens[access])
		st.p.putToken(refresh, st.tokens[refresh])
	}
	sess.tokens = append(sess.tokens, access, refresh)
	if refreshExp.After(sess.expires) {
		sess.expires = refreshExp
	}
	if len(st.tokens) >= st.nextSweep {
		st.sweepLocked(now)
	}
	st.evictLocked()
}

// evictLocked drops sessions while more than max remain: each time the oldest session
// of the principal holding the most, so a principal with few sessions keeps them. The
// walk is over principals (a handful: administrators, organizations, operators), and
// popping skips dead sessions in constant time each (sweeping every session on each
// login made a full store cost milliseconds a login).
func (st *sessionStore) evictLocked() {
	for len(st.sessions) > st.max {
		var heaviest *principalQueue
		for _, q := range st.queues {
			if heaviest == nil || q.live > heaviest.live {
				heaviest = q
			}
		}
		if heaviest == nil || heaviest.live == 0 {
			return
		}
		st.popOldest(heaviest)
	}
}

// popOldest drops q's oldest live session.
func (st *sessionStore) popOldest(q *principalQueue) {
	for len(q.order) > 0 {
		s := q.order[0]
		q.order[0] = nil
		q.order = q.order[1:]
		if st.sessions[s.key] == s {
			st.dropLocked(s)
			return
		}
	}
}

// sweepLocked drops expired tokens and sessions, then evicts the oldest sessions while
// more than max remain.
func (st *sessionStore) sweepLocked(now time.Time) {
	kept := st.order[:0]
	for _, s := range st.order {
		if st.sessions[s.key] != s {
			continue // revoked or evicted already
		}
		if !now.Before(s.expires) {
			st.dropLocked(s)
			continue
		}
		live := s.tokens[:0]
		for _, t := range s.tokens {
			if rec := st.tokens[t]; rec != nil && now.Before(rec.expires) {
				live = append(live, t)
			} else {
				delete(st.tokens, t)
				if st.p != nil {
					st.p.dropToken(t)
				}
			}
		}
		s.tokens = live
		kept = append(kept, s)
	}
	for i := range st.order[len(kept):] {
		st.order[len(kept)+i] = nil
	}
	st.order = kept
	st.evictLocked()
	st.nextSweep = max(2*len(st.tokens), minSweep)
}

func (st *sessionStore) dropLocked(s *session) {
	for _, t := range s.tokens {
		delete(st.tokens, t)
		if st.p != nil {
			st.p.dropToken(t)
		}
	}
	s.tokens = nil
	delete(st.sessions, s.key)
	if st.p != nil {
		st.p.dropSession(s)
	}
	if q := s.queue; q != nil {
		q.live--
		if q.live == 0 {
			delete(st.queues, s.principal())
		} else if len(q.order) > 2*q.live+64 {
			kept := q.order[:0]
			for _, o := range q.order {
				if st.sessions[o.key] == o {
					kept = append(kept, o)
				}
			}
			clear(q.order[len(kept):])
			q.order = kept
		}
	}
}

// access returns the session of a valid, unexpired access token and the antiforgery
// token it must come with ("" for none).
func (st *sessionStore) access(token string, now time.Time) (*session, string, bool) {
	if token == "" {
		return nil, "", false
	}
	st.mu.RLock()
	rec := st.tokens[token]
	st.mu.RUnlock()
	if rec == nil || rec.refresh || !now.Before(rec.expires) {
		return nil, "", false
	}
	return rec.sess, rec.xsrf, true
}

// refreshOutcome says why a refresh token was refused.
type refreshOutcome int

const (
	refreshOK refreshOutcome = iota
	refreshUnknown
	refreshNotRefresh
	refreshSpent
	refreshReused // spent, and the session was revoked for it
	refreshExpired
	refreshNoAntiforgery // the token needs its antiforgery token, which did not come
)

// useRefresh checks a refresh token (its expiry only when checkExpiry is set, which
// Mutations.IgnoreRefreshTokenExpiry clears) and, when rotate is set, spends it. It
// returns the session and whether the token carried antiforgery True. A spent token
// presented again revokes its whole session when revokeOnReuse is set. xsrfOK, unless
// nil, judges the antiforgery token that came with the request against the one the
// token needs; a refusal leaves the token unspent.
func (st *sessionStore) useRefresh(token string, now time.Time, rotate, checkExpiry, revokeOnReuse bool, xsrfOK func(want string) bool) (*session, bool, refreshOutcome) {
	st.mu.Lock()
	defer st.mu.Unlock()
	rec := st.tokens[token]
	switch {
	case rec == nil:
		return nil, false, refreshUnknown
	case !rec.refresh:
		return nil, false, refreshNotRefresh
	case rec.spent && revokeOnReuse:
		if st.sessions[rec.sess.key] == rec.sess {
			st.dropLocked(rec.sess)
			st.compactLocked()
		}
		return nil, false, refreshReused
	case rec.spent:
		return nil, false, refreshSpent
	case checkExpiry && !now.Before(rec.expires):
		return nil, false, refreshExpired
	case rec.xsrf != "" && xsrfOK != nil && !xsrfOK(rec.xsrf):
		return nil, false, refreshNoAntiforgery
	}
	if rotate {
		rec.spent = true
		if st.p != nil {
			st.p.putToken(token, rec)
		}
	}
	return rec.sess, rec.xsrf != "", refreshOK
}

// revoke drops every token of the session with key and reports whether it existed.
func (st *sessionStore) revoke(key string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	s, ok := st.sessions[key]
	if !ok {
		return false
	}
	st.dropLocked(s)
	st.compactLocked()
	return true
}

// revokeUser drops every session of user (case-insensitive), or every session when
// user is empty, and returns how many went.
func (st *sessionStore) revokeUser(user string) int {
	st.mu.Lock()
	defer st.mu.Unlock()
	n := 0
	for _, s := range st.sessions {
		if user == "" || strings.EqualFold(s.user, user) {
			st.dropLocked(s)
			n++
		}
	}
	st.compactLocked()
	return n
}

// compactLocked drops revoked sessions from the creation order once they are most of
// it, so the order stays within a small multiple of the live sessions without a walk
// over all of them on every logout.
func (st *sessionStore) compactLocked() {
	if len(st.order) <= 2*len(st.sessions)+64 {
		return
	}
	kept := st.order[:0]
	for _, s := range st.order {
		if _, ok := st.sessions[s.key]; ok {
			kept = append(kept, s)
		}
	}
	for i := range st.order[len(kept):] {
		st.order[len(kept)+i] = nil
	}
	st.order = kept
}

// counts returns the number of live sessions and tokens (tests and the benchmark).
func (st *sessionStore) counts() (sessions, tokens int) {
	st.mu.RLock()
	defer st.mu.RUnlock()
	return len(st.sessions), len(st.tokens)
}
