package veeam

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// A Server started with WithState keeps what clients create or change in a Store, written
// through on every request that changes something, in one commit per request, before the
// answer is sent: so a client that got an answer may rely on the change surviving a crash,
// and a crash in the middle of a request loses that request only. What is kept: the
// world's changes over its fixtures (items created, changed or deleted in any collection,
// settings singletons), the session store (sessions, access and refresh tokens, spent
// refresh tokens) and the mock settings. Not kept: the journal, fault rules, the cached
// Entra keys and the signing key (a token is accepted by being in the store, not by its
// signature, so tokens signed before a restart stay valid).
//
// Requests that may change state (every method but GET and HEAD, and the control routes
// that change settings, organizations or sessions) run one at a time, each holding
// persister.mu from its handler through its commit; reads neither wait nor commit. So the changes of
// one request are never interleaved with another's, and each commit holds exactly one
// request's changes.

// StateVersion is the format version of the records a Server writes to its Store. Bump it
// whenever a record's encoding changes, so a state file written in another format is
// refused with an error instead of misread.
const StateVersion = 1

// Store keeps a server's records between runs. Commit writes its changes atomically and
// durably (a nil value deletes the key); Clear drops every record; Each reads them all.
// mocks/state's Bucket (bbolt) is the one implementation.
type Store interface {
	Each(fn func(key, val []byte) error) error
	Commit(changes map[string][]byte) error
	Clear() error
}

// ErrNotSaved wraps a failure to write a change to the Store: the change is in memory but
// not on disk. The request that made it gets 500; the next commit tries it again.
var ErrNotSaved = errors.New("the change could not be saved to the state file")

// ErrBadState marks a record of a Store that LoadState cannot read.
var ErrBadState = errors.New("a saved record cannot be read")

// Record keys: the prefix says what a record is.
const (
	recItem      = "w/" // + an item's key: itemRecord
	recSingleton = "s/" // + a settings object's path in lower case: its JSON
	recSession   = "u/" // + a session's credential key: sessionRecord
	recToken     = "t/" // + the SHA-256 of a token, in hex: tokenRecordJSON
	recStep      = "l/" // + a timeline step's order number, 20 digits: stepRecord
	recSettings  = "settings"
)

// itemRecord is a stored item, or (Deleted) the mark of a fixture item deleted. Seq
// orders the items a server added, so their lists keep their order.
type itemRecord struct {
	Seq     uint64          `json:"seq,omitempty"`
	Deleted bool            `json:"deleted,omitempty"`
	Path    string          `json:"path,omitempty"`
	ID      string          `json:"id,omitempty"`
	Object  json.RawMessage `json:"object,omitempty"`
	Org     *orgSecrets     `json:"org,omitempty"`
	Restore *restoreOwner   `json:"restore,omitempty"`
	Members []string        `json:"members,omitempty"` // a group's members' ids
}

// stepRecord is a pending step of the timeline: long-running work still to come.
type stepRecord struct {
	At   time.Time `json:"at"`
	Seq  uint64    `json:"seq"`
	Plan stepPlan  `json:"plan"`
}

// sessionRecord is a session; Seq keeps the creation order eviction follows.
type sessionRecord struct {
	Seq            uint64        `json:"seq"`
	Key            string        `json:"key"`
	User           string        `json:"user"`
	UserID         string        `json:"userId,omitempty"`
	Kind           principalKind `json:"kind"`
	OrgID          string        `json:"orgId,omitempty"`
	CredentialType string        `json:"credentialType"`
}

// tokenRecordJSON is an issued token and what the store knows about it. The token itself
// is kept (the file is 0600): a bearer is accepted by being found.
type tokenRecordJSON struct {
	Token   string    `json:"token"`
	Session string    `json:"session"`
	Refresh bool      `json:"refresh,omitempty"`
	Expires time.Time `json:"expires"`
	Spent   bool      `json:"spent,omitempty"`
	XSRF    string    `json:"xsrf,omitempty"` // the pair's antiforgery token; "" without antiforgery
}

// SavedState is a Store's records, read and checked by LoadState; WithState starts a
// server on it.
type SavedState struct {
	store      Store
	items      []savedItem // in Seq order
	singletons map[string][]byte
	settings   *Settings
	sessions   []*session // in creation order
	tokens     map[string]*tokenRecord
	steps      []stepRecord      // in order
	seq        uint64            // the highest Seq in use
	seqs       map[string]uint64 // an added item's key → its Seq
}

type savedItem struct {
	seq     uint64
	key     string
	deleted bool
	it      *item
}

// LoadState reads every record of st. A record it cannot read is an error wrapping
// ErrBadState that names its key. Tokens whose session is missing are dropped (a commit
// writes both or neither, so only a foreign edit leaves one).
func LoadState(st Store) (*SavedState, error) {
	ss := &SavedState{store: st, singletons: map[string][]byte{}, tokens: map[string]*tokenRecord{}, seqs: map[string]uint64{}}
	sessions := map[string]*session{}
	seqOf := map[*session]uint64{}
	var toks []tokenRecordJSON
	err := st.Each(func(k, v []byte) error {
		key := string(k)
		bad := func(err error) error { return fmt.Errorf("%w: %s: %v", ErrBadState, key, err) }
		switch {
		case strings.HasPrefix(key, recItem):
			var r itemRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return bad(err)
			}
			si := savedItem{seq: r.Seq, key: strings.TrimPrefix(key, recItem), deleted: r.Deleted}
			if !r.Deleted {
				var hidden any
				switch {
				case r.Org != nil:
					hidden = *r.Org
				case r.Restore != nil:
					hidden = *r.Restore
				case r.Members != nil:
					hidden = r.Members
				}
				it, err := newItem(r.Path, r.ID, r.Object, hidden)
				if err != nil {
					return bad(err)
				}
				if it.key != si.key {
					return bad(fmt.Errorf("the item's path %s is not its key", r.Path))
				}
				si.it = it
				if r.Seq > 0 {
					ss.seqs[si.key] = r.Seq
				}
			}
			ss.seq = max(ss.seq, r.Seq)
			ss.items = append(ss.items, si)
		case strings.HasPrefix(key, recSingleton):
			if !json.Valid(v) {
				return bad(errors.New("not JSON"))
			}
			ss.singletons[strings.TrimPrefix(key, recSingleton)] = v
		case key == recSettings:
			var set Settings
			if err := json.Unmarshal(v, &set); err != nil {
				return bad(err)
			}
			ss.settings = &set
		case strings.HasPrefix(key, recSession):
			var r sessionRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return bad(err)
			}
			s := &session{key: r.Key, user: r.User, userID: r.UserID, kind: r.Kind, orgID: r.OrgID, credentialType: r.CredentialType}
			sessions[r.Key] = s
			seqOf[s] = r.Seq
			ss.seq = max(ss.seq, r.Seq)
		case strings.HasPrefix(key, recStep):
			var r stepRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return bad(err)
			}
			if !knownStep(r.Plan.Do) {
				return bad(fmt.Errorf("no step does %q", r.Plan.Do))
			}
			ss.steps = append(ss.steps, r)
		case strings.HasPrefix(key, recToken):
			var r tokenRecordJSON
			if err := json.Unmarshal(v, &r); err != nil {
				return bad(err)
			}
			toks = append(toks, r)
		default:
			return bad(errors.New("no record has a key of this kind"))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(ss.items, func(a, b savedItem) int { return cmp.Compare(a.seq, b.seq) })
	for _, s := range sessions {
		ss.sessions = append(ss.sessions, s)
	}
	slices.SortFunc(ss.sessions, func(a, b *session) int { return cmp.Compare(seqOf[a], seqOf[b]) })
	for _, r := range toks {
		s := sessions[r.Session]
		if s == nil {
			continue
		}
		ss.tokens[r.Token] = &tokenRecord{sess: s, refresh: r.Refresh, expires: r.Expires, spent: r.Spent, xsrf: r.XSRF}
		s.tokens = append(s.tokens, r.Token)
		if r.Refresh && r.Expires.After(s.expires) {
			s.expires = r.Expires
		}
	}
	return ss, nil
}

// WithState starts the server on a saved state (LoadState) and keeps every later change
// in its Store. Reset then also clears the Store.
func WithState(ss *SavedState) Option { return func(c *config) { c.state = ss } }

// restore lays a saved state over the server's fixtures and attaches its Store. Called by
// New before the server is shared.
func (s *Server) restore(ss *SavedState, log *slog.Logger) {
	w := s.world
	for _, si := range ss.items {
		if si.deleted {
			if _, inBase := w.base.items[si.key]; inBase {
				w.changed[si.key] = nil
			}
			continue
		}
		w.putLocked(si.it)
	}
	for k, b := range ss.singletons {
		w.singletons[k] = b
	}
	if ss.settings != nil {
		s.settings.set(*ss.settings)
	}
	st := s.sessions
	for _, sess := range ss.sessions { // in creation order, as add registers them
		st.sessions[sess.key] = sess
		st.order = append(st.order, sess)
		q := st.queues[sess.principal()]
		if q == nil {
			q = &principalQueue{}
			st.queues[sess.principal()] = q
		}
		sess.queue = q
		q.order = append(q.order, sess)
		q.live++
	}
	for tok, rec := range ss.tokens {
		st.tokens[tok] = rec
	}
	st.nextSweep = max(2*len(st.tokens), minSweep)
	tl := s.timeline
	for _, r := range ss.steps { // in Seq order: the order they were scheduled in
		step := s.planned(r.Plan, r.At)
		step.seq = r.Seq
		tl.insertLocked(step)
		tl.seq = max(tl.seq, r.Seq)
	}
	tl.storeNext()
	p := &persister{store: ss.store, log: log, pending: map[string][]byte{}, seq: ss.seq, seqs: ss.seqs}
	s.p, w.p, st.p, s.settings.p, tl.p = p, p, p, p, p
}

// persister collects the records a request changes and commits them. Its record methods
// are called by the stores under their own locks; a nil persister (no WithState) records
// nothing, which is all an in-process server pays.
type persister struct {
	store Store
	log   *slog.Logger

	// mu serialises the requests that may change state, from their handler through
	// their commit.
	mu sync.Mutex

	pmu     sync.Mutex        // guards what follows
	pending map[string][]byte // key → record; nil deletes
	err     error             // a record that could not be encoded
	seq     uint64
	seqs    map[string]uint64 // an added item's key → its Seq
	dirty   atomic.Bool       // pending is not empty
}

func (p *persister) record(key string, val []byte) {
	p.pmu.Lock()
	p.pending[key] = val
	p.pmu.Unlock()
	p.dirty.Store(true)
}

func (p *persister) recordJSON(key string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		p.pmu.Lock()
		p.err = errors.Join(p.err, fmt.Errorf("%s: %w", key, err))
		p.pmu.Unlock()
		p.dirty.Store(true)
		return
	}
	p.record(key, b)
}

// putItem records an item stored; added says it was appended to its list (it gets the
// next Seq; a changed item keeps its own).
func (p *persister) putItem(it *item, added bool) {
	r := itemRecord{Path: it.path, ID: it.id, Object: it.raw}
	switch h := it.hidden.(type) {
	case nil:
	case orgSecrets:
		r.Org = &h
	case restoreOwner:
		r.Restore = &h
	case []string:
		r.Members = h
	default: // a new kind of mock-only fields: give itemRecord a member for it
		p.pmu.Lock()
		p.err = errors.Join(p.err, fmt.Errorf("%s: no record holds mock-only fields of type %T", it.key, h))
		p.pmu.Unlock()
		p.dirty.Store(true)
		return
	}
	p.pmu.Lock()
	if added {
		p.seq++
		p.seqs[it.key] = p.seq
	}
	r.Seq = p.seqs[it.key]
	p.pmu.Unlock()
	p.recordJSON(recItem+it.key, r)
}

// removeItem records an item deleted: a fixture item leaves a mark, an added one its
// record.
func (p *persister) removeItem(key string, inBase bool) {
	if inBase {
		p.recordJSON(recItem+key, itemRecord{Deleted: true})
		return
	}
	p.pmu.Lock()
	delete(p.seqs, key)
	p.pmu.Unlock()
	p.record(recItem+key, nil)
}

func (p *persister) putSingleton(key string, b []byte) { p.record(recSingleton+key, b) }

func (p *persister) putSettings(s Settings) { p.recordJSON(recSettings, s) }

func (p *persister) putSession(s *session) {
	p.pmu.Lock()
	p.seq++
	seq := p.seq
	p.pmu.Unlock()
	p.recordJSON(recSession+s.key, sessionRecord{Seq: seq, Key: s.key, User: s.user, UserID: s.userID, Kind: s.kind, OrgID: s.orgID, CredentialType: s.credentialType})
}

func (p *persister) putToken(tok string, rec *tokenRecord) {
	p.recordJSON(tokenKey(tok), tokenRecordJSON{Token: tok, Session: rec.sess.key, Refresh: rec.refresh, Expires: rec.expires,
		Spent: rec.spent, XSRF: rec.xsrf})
}

func (p *persister) dropToken(tok string) { p.record(tokenKey(tok), nil) }

func (p *persister) putStep(st step) {
	p.recordJSON(stepKey(st.seq), stepRecord{At: st.at, Seq: st.seq, Plan: st.plan})
}

func (p *persister) dropStep(seq uint64) { p.record(stepKey(seq), nil) }

func stepKey(seq uint64) string { return fmt.Sprintf("%s%020d", recStep, seq) }

func (p *persister) dropSession(s *session) { p.record(recSession+s.key, nil) }

// tokenKey names a token's record by its hash, so the keys of the file are not tokens.
func tokenKey(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return recToken + hex.EncodeToString(sum[:])
}

// commit writes the pending records in one Store commit. On failure they stay pending,
// so the next commit writes them, and the error wraps ErrNotSaved. The caller holds mu.
func (p *persister) commit() error {
	if !p.dirty.Load() {
		return nil
	}
	p.pmu.Lock()
	changes, encErr := p.pending, p.err
	p.pending, p.err = map[string][]byte{}, nil
	p.dirty.Store(false)
	p.pmu.Unlock()
	err := p.store.Commit(changes)
	if err != nil {
		p.pmu.Lock()
		for k, v := range changes {
			if _, newer := p.pending[k]; !newer {
				p.pending[k] = v
			}
		}
		p.pmu.Unlock()
		p.dirty.Store(true)
	}
	if err = errors.Join(encErr, err); err != nil {
		p.log.Error("veeam mock: state not saved", "error", err)
		return fmt.Errorf("%w: %v", ErrNotSaved, err)
	}
	return nil
}

// clear drops what is pending and every record of the Store (Reset). The caller holds mu.
func (p *persister) clear() {
	p.pmu.Lock()
	p.pending, p.err = map[string][]byte{}, nil
	p.seqs = map[string]uint64{}
	p.dirty.Store(false)
	p.pmu.Unlock()
	if err := p.store.Clear(); err != nil {
		p.log.Error("veeam mock: reset could not clear the state file; its old state comes back at the next start", "error", err)
	}
}

// saving runs fn, which changes state, as one request: alone, then committed. Without a
// Store it just runs fn.
func (s *Server) saving(fn func() error) error {
	if s.p == nil {
		return fn()
	}
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	err := fn()
	if cerr := s.p.commit(); cerr != nil {
		return cerr
	}
	return err
}

// handleSaved is handle for a server with a Store: a request that may change state runs
// alone and is committed before its answer is written, with the timeline's steps due by
// its clock reading. GET and HEAD change nothing (no handler of theirs stores anything;
// TestReadsRecordNothing walks every one), so they neither wait for the lock nor commit,
// unless steps are due: those are settled and committed, alone, first.
func (s *Server) handleSaved(rq *request) (int, any, *apiError) {
	if rq.Method == http.MethodGet || rq.Method == http.MethodHead {
		if s.timeline.due(rq.now) { // steps of long-running work change the world: alone, committed
			s.p.mu.Lock()
			s.timeline.settle(s, rq.now)
			err := s.p.commit()
			s.p.mu.Unlock()
			if err != nil {
				return 0, nil, errNotSaved()
			}
		}
		return s.handle(rq)
	}
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	s.timeline.settle(s, rq.now)
	status, body, e := s.handle(rq)
	return s.committed(status, body, e)
}

// committed commits what the request changed; if that fails the answer is a 500, since
// the change would not survive a restart.
func (s *Server) committed(status int, body any, e *apiError) (int, any, *apiError) {
	if err := s.p.commit(); err != nil {
		if pj, ok := body.(pooledJSON); ok {
			release(pj.buf)
		}
		return 0, nil, errNotSaved()
	}
	return status, body, e
}

// errNotSaved is the answer to a request whose changes could not be committed.
func errNotSaved() *apiError {
	return &apiError{Status: http.StatusInternalServerError,
		Message: "The change could not be saved to the mock's state file; the mock's log says why."}
}
