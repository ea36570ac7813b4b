package veeam

import (
	"bytes"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// item is one stored resource: the JSON object the API serves (without _links, which
// are rendered from the collection's declaration) and, beside it, the mock's own fields
// that are never served (an organization's password, a restore session's owner).
// Items are immutable once stored: a change stores a new item under the same key.
type item struct {
	key    string // the item's path in lower case: "/v8/jobs/<id>"
	list   string // its list's path in lower case: "/v8/jobs", "/v8/organizations/<id>/users"
	path   string // its canonical path, for self links: "/v8/Jobs/<id>"
	id     string // the id as served
	raw    []byte // the served object, without _links
	obj    object // raw's members
	hidden any    // mock-only fields, or nil
	// renderings are the item as collection.render wrote it, by what the writing
	// depended on; copy-on-write, at most maxRenderings.
	renderings atomic.Pointer[[]rendering]
}

// renderKey is what collection.render's bytes depend on besides the item.
type renderKey struct {
	c       *collection
	element bool   // as an element of a list
	variant string // the view's variant
	query   string // the self link's required query
}

type rendering struct {
	key  renderKey
	body []byte
}

// maxRenderings bounds the renderings kept per item: a client that varies a self link's
// required query (an object storage's accountId) gets the rest rendered afresh.
const maxRenderings = 4

// rendering is the kept rendering for key, or nil.
func (it *item) rendering(key renderKey) []byte {
	if rs := it.renderings.Load(); rs != nil {
		for _, r := range *rs {
			if r.key == key {
				return r.body
			}
		}
	}
	return nil
}

// keepRendering keeps a copy of body as the item's rendering for key.
func (it *item) keepRendering(key renderKey, body []byte) {
	for {
		old := it.renderings.Load()
		var rs []rendering
		if old != nil {
			if len(*old) >= maxRenderings {
				return
			}
			rs = append(rs, *old...)
		}
		rs = append(rs, rendering{key: key, body: bytes.Clone(body)})
		if it.renderings.CompareAndSwap(old, &rs) {
			return
		}
	}
}

// newItem makes an item of raw, which must be a JSON object; a _links member is dropped
// (links are rendered, never stored).
func newItem(path, id string, raw []byte, hidden any) (*item, error) {
	obj, err := parseObject(raw)
	if err != nil {
		return nil, err
	}
	if obj.get("_links") != nil {
		obj.del("_links")
		raw = obj.bytes()
		if obj, err = parseObject(raw); err != nil {
			return nil, err
		}
	}
	key := strings.ToLower(path)
	list := key[:strings.LastIndexByte(key, '/')]
	return &item{key: key, list: list, path: path, id: id, raw: raw, obj: obj, hidden: hidden}, nil
}

// with returns a copy of it with the object changed by fn (eTag and all).
func (it *item) with(fn func(o *object)) *item {
	o := append(object(nil), it.obj...)
	fn(&o)
	out, err := newItem(it.path, it.id, o.bytes(), it.hidden)
	if err != nil { // cannot happen: o is an object
		return it
	}
	return out
}

// worldState is a set of resources: items by key, each list's items in order, and
// singletons (settings objects) by path. A default one is built once per process and
// shared, read-only, by every server (see defaultWorld).
type worldState struct {
	items      map[string]*item
	lists      map[string][]*item
	singletons map[string][]byte
	at         time.Time          // the clock reading it was generated on (buildWorld)
	rosters    map[string]*roster // by organization id: what its restore sessions show (content.go)
	contents   []*collection      // the content collections (contentCollections)
	outcomes   map[string]string  // by lower-case job id: how its runs end (Fixtures.JobOutcomes)
	// runs are its jobs' next starts as scheduleFixtureJobs last found them, at runsAt.
	runsMu sync.Mutex
	runs   []fixtureRun
	runsAt time.Time
}

func newWorldState() *worldState {
	return &worldState{items: map[string]*item{}, lists: map[string][]*item{}, singletons: map[string][]byte{}}
}

// add appends an item to the state while it is being built (not safe once shared).
func (ws *worldState) add(it *item) {
	ws.items[it.key] = it
	ws.lists[it.list] = append(ws.lists[it.list], it)
}

// world is a server's resources: a shared read-only base and the server's own changes
// on top of it, so a new server costs two empty maps, not a copy of the world.
// Reads take the read lock, changes the write lock.
type world struct {
	mu         sync.RWMutex
	base       *worldState
	changed    map[string]*item    // key → the current item; nil marks a deleted one
	added      map[string][]string // list key → keys of items added here, in order
	singletons map[string][]byte
	p          *persister // records every change when the server keeps a state file; nil otherwise
	// content is the restore sessions' generated content (content.go), answered by get
	// and list under /v8/RestoreSessions/{id}/organization…; never stored or persisted.
	content contentCache
}

func newWorld(base *worldState) *world {
	w := &world{}
	w.reset(base)
	return w
}

// reset drops every change (Server.Reset clears the state file).
func (w *world) reset(base *worldState) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.base = base
	w.changed = map[string]*item{}
	w.added = map[string][]string{}
	w.singletons = map[string][]byte{}
	w.content.reset()
}

// generatedAt is the clock reading the base was generated on: what values generated
// later for it (a settings object's default) are timed on.
func (w *world) generatedAt() time.Time {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.base.at
}

func (w *world) lookupLocked(key string) *item {
	if it, ok := w.changed[key]; ok {
		return it
	}
	if it := w.base.items[key]; it != nil {
		return it
	}
	return w.contentItem(key)
}

// get returns the item stored under key (a path, any case).
func (w *world) get(key string) (*item, bool) {
	key = strings.ToLower(key)
	w.mu.RLock()
	defer w.mu.RUnlock()
	it := w.lookupLocked(key)
	return it, it != nil
}

// list returns a list's items, in order: the base's, then those added here.
func (w *world) list(key string) []*item {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.listLocked(key)
}

func (w *world) listLocked(key string) []*item {
	key = strings.ToLower(key)
	if items, ok := w.contentList(key); ok {
		return slices.Clone(items)
	}
	base := w.base.lists[key]
	added := w.added[key]
	out := make([]*item, 0, len(base)+len(added))
	if len(w.changed) == 0 {
		return append(out, base...)
	}
	for _, it := range base {
		if cur, ok := w.changed[it.key]; !ok {
			out = append(out, it)
		} else if cur != nil {
			out = append(out, cur)
		}
	}
	for _, k := range added {
		if it := w.changed[k]; it != nil {
			out = append(out, it)
		}
	}
	return out
}

// put stores an item, replacing the one under its key or adding it at the end of its
// list.
func (w *world) put(it *item) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.putLocked(it)
}

func (w *world) putLocked(it *item) {
	added := false
	if _, inBase := w.base.items[it.key]; !inBase && w.changed[it.key] == nil {
		w.added[it.list] = append(w.added[it.list], it.key)
		added = true
	}
	w.changed[it.key] = it
	if w.p != nil {
		w.p.putItem(it, added)
	}
}

// insert stores a new item, or returns the item that stops it (the check and the store
// are one step): the one already stored under its key, or, when unique names a
// property, another item of its list whose value of it is the same, in any case.
func (w *world) insert(it *item, unique string) (clash *item) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if cur := w.lookupLocked(it.key); cur != nil {
		return cur
	}
	if clash := w.clashLocked(it, unique); clash != nil {
		return clash
	}
	w.putLocked(it)
	return nil
}

// clashLocked returns another item of it's list whose property unique has it's value
// (case-insensitive), or nil; nil too when unique is "" or it has no such value.
func (w *world) clashLocked(it *item, unique string) *item {
	if unique == "" {
		return nil
	}
	v := it.obj.text(unique)
	if v == "" || v == "null" {
		return nil
	}
	for _, other := range w.listLocked(it.list) {
		if other.key != it.key && strings.EqualFold(other.obj.text(unique), v) {
			return other
		}
	}
	return nil
}

// update replaces the item under key with fn's result, atomically; fn sees the current
// item and returns the new one, or an error that leaves it as it was.
func (w *world) update(key string, fn func(cur *item) (*item, *apiError)) (*item, *apiError) {
	key = strings.ToLower(key)
	w.mu.Lock()
	defer w.mu.Unlock()
	cur := w.lookupLocked(key)
	if cur == nil {
		return nil, nil
	}
	next, e := fn(cur)
	if e != nil {
		return nil, e
	}
	if next != nil {
		w.putLocked(next)
	}
	return next, nil
}

// remove deletes the item under key and reports whether there was one.
func (w *world) remove(key string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.removeLocked(key)
}

// removeWith deletes the item under key, unless fn (called under the write lock, so it
// may read with listLocked) refuses; fn also names other items to delete with it. It
// reports whether the item was there.
func (w *world) removeWith(key string, fn func(w *world) ([]string, *apiError)) (bool, *apiError) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.lookupLocked(strings.ToLower(key)) == nil {
		return false, nil
	}
	also, e := fn(w)
	if e != nil {
		return true, e
	}
	for _, k := range also {
		w.removeLocked(k)
	}
	return w.removeLocked(key), nil
}

func (w *world) removeLocked(key string) bool {
	key = strings.ToLower(key)
	cur := w.lookupLocked(key)
	if cur == nil {
		return false
	}
	_, inBase := w.base.items[key]
	if w.p != nil {
		w.p.removeItem(key, inBase)
	}
	if inBase {
		w.changed[key] = nil
		return true
	}
	keys := w.added[cur.list]
	if i := slices.Index(keys, key); i >= 0 {
		w.added[cur.list] = slices.Delete(slices.Clone(keys), i, i+1)
	}
	delete(w.changed, key)
	return true
}

// singleton returns a settings object stored under path, and whether one is.
func (w *world) singleton(path string) ([]byte, bool) {
	key := strings.ToLower(path)
	w.mu.RLock()
	defer w.mu.RUnlock()
	if b, ok := w.singletons[key]; ok {
		return b, true
	}
	b, ok := w.base.singletons[key]
	return b, ok
}

// setSingleton stores a settings object.
func (w *world) setSingleton(path string, b []byte) {
	key := strings.ToLower(path)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.singletons[key] = b
	if w.p != nil {
		w.p.putSingleton(key, b)
	}
}
