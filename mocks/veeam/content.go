package veeam

import (
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vbharness/vbharness/mocks/veeam/spec"
)

// The backed-up content a restore session shows: an organization's mailboxes with
// their folders and items, OneDrives with folders, documents and versions, sites with
// libraries, lists, items, folders, documents, versions and attachments, and teams with
// channels, tabs and posts. Nothing of it is stored. The lists under
// /v8/RestoreSessions/{id}/organization… are generated on first use from the
// organization's roster (its users, sites and teams, taken from the fixtures when the
// world is built) and the session's own options (restoreOwner: its type, its point in
// time, showDeleted, showAllVersions and an operator's scope), the same in every run,
// and kept in a per-server cache bounded by maxContentItems; past the bound the cache
// is dropped and regenerated on demand, which no client can tell from keeping it.
// The world answers these keys (world.get and world.list), so the generic collection
// layer (collections.go) serves them like any other list: paging, filters, get by id
// and the 404 of an item the session does not show.

// maxContentItems bounds one server's cache of generated restore session content. An
// item is about 0.5 to 1 kB, so the cache stays under about 10 MB.
const maxContentItems = 10000

// contentScope is the prefix of every content key: the restore session's id follows.
const contentScope = "/v8/restoresessions/"

// roster is what an organization's restore sessions show, from the fixtures' directory.
type roster struct {
	mailboxes []rosterEntry
	oneDrives []rosterEntry
	sites     []rosterEntry
	teams     []Team
}

// rosterEntry is a mailbox, a OneDrive or a site; User is the user a mailbox or a
// OneDrive belongs to (what an operator's scope names).
type rosterEntry struct {
	ID, Name, Mail, URL, User string
	Public                    bool
}

// buildRosters collects each organization's roster from the fixtures.
func buildRosters(f Fixtures) map[string]*roster {
	out := map[string]*roster{}
	orgs := map[string]Organization{}
	for _, o := range f.Organizations {
		orgs[o.ID] = o
		out[o.ID] = &roster{}
	}
	for _, u := range f.Users {
		r := out[u.OrganizationID]
		if r == nil {
			continue
		}
		if !u.NoMailbox {
			r.mailboxes = append(r.mailboxes, rosterEntry{ID: mailboxID(u.ID), Name: u.DisplayName, Mail: u.Name, User: u.ID, Public: u.Type == "Public"})
		}
		if !u.NoOneDrive {
			r.oneDrives = append(r.oneDrives, rosterEntry{ID: oneDriveID(u.ID), Name: "OneDrive - " + u.DisplayName, URL: oneDriveURL(orgs[u.OrganizationID], u), User: u.ID, Mail: u.Name})
		}
	}
	for _, s := range f.Sites {
		if r := out[s.OrganizationID]; r != nil {
			r.sites = append(r.sites, rosterEntry{ID: s.ID, Name: s.Name, URL: s.URL})
		}
	}
	for _, t := range f.Teams {
		if r := out[t.OrganizationID]; r != nil {
			r.teams = append(r.teams, t)
		}
	}
	return out
}

func mailboxID(user string) string { return spec.UUID("vbharness/veeam/mailbox/" + user) }

// contentMeta is what a generated content item keeps beside its object: the id its
// list's parentId filter matches.
type contentMeta struct {
	parent string
}

// contentCache is a server's generated content, by list key. It is made on first use,
// so a server that never browses a restore session pays nothing for it.
type contentCache struct {
	mu    sync.Mutex
	lists map[string][]*item
	n     int
	max   int // the bound; 0 is maxContentItems (tests set less)
}

func (cc *contentCache) reset() {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.lists, cc.n = nil, 0
}

// contentCollections are the declared collections under a restore session's
// organization (all but Events). A world keeps them (worldState.contents), so the
// world's lookups do not depend on the table, which depends on them.
func contentCollections() []*collection {
	contentOnce.Do(func() {
		table()
		for _, c := range collections {
			if isContentList(c.listShape) {
				contentOnce.cs = append(contentOnce.cs, c)
			}
		}
	})
	return contentOnce.cs
}

var contentOnce struct {
	sync.Once
	cs []*collection
}

// isContentList reports whether a list's shape is content of a restore session.
func isContentList(sh string) bool {
	return strings.HasPrefix(sh, restoreSessionScope+"/organization/")
}

// contentList answers world.list for a content key: the list's items and true, or
// false when the key is no content list. The caller holds w.mu (read or write).
func (w *world) contentList(key string) ([]*item, bool) {
	if !strings.HasPrefix(key, contentScope) || strings.Count(key, "/") < 5 {
		return nil, false
	}
	c, vals := matchContent(w.base.contents, key)
	if c == nil {
		return nil, false
	}
	return w.contentItems(c, key, vals), true
}

// contentItem answers world.get for a content key, or nil. The caller holds w.mu.
func (w *world) contentItem(key string) *item {
	if !strings.HasPrefix(key, contentScope) {
		return nil
	}
	list := key[:strings.LastIndexByte(key, '/')]
	items, ok := w.contentList(list)
	if !ok {
		return nil
	}
	for _, it := range items {
		if it.key == key {
			return it
		}
	}
	return nil
}

// matchContent finds the content collection whose list a key names, and the key's
// variables (the session's id first).
func matchContent(contents []*collection, key string) (*collection, []string) {
	segs := strings.Split(key, "/")
outer:
	for _, c := range contents {
		sh := strings.Split(c.listShape, "/")
		if len(sh) != len(segs) {
			continue
		}
		var vals []string
		for i, s := range sh {
			switch {
			case s == "{}":
				vals = append(vals, segs[i])
			case s != segs[i]:
				continue outer
			}
		}
		return c, vals
	}
	return nil, nil
}

// contentItems returns (generating and caching on first use) the items of content list
// key of collection c; vals are the list's variables. The parent item must exist: a
// list under a mailbox the session does not show is empty.
func (w *world) contentItems(c *collection, key string, vals []string) []*item {
	cc := &w.content
	cc.mu.Lock()
	items, ok := cc.lists[key]
	cc.mu.Unlock()
	if ok {
		return items
	}
	g, ok := w.contentGenLocked(c, vals)
	if !ok {
		return nil
	}
	items = g.items()
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if prev, ok := cc.lists[key]; ok { // another request made it meanwhile
		return prev
	}
	bound := cc.max
	if bound == 0 {
		bound = maxContentItems
	}
	if cc.lists == nil || cc.n+len(items) > bound {
		cc.lists, cc.n = map[string][]*item{}, 0
	}
	cc.lists[key] = items
	cc.n += len(items)
	return items
}

// contentGenLocked is the generator of content list c with variables vals (the
// session's id first), as its session's owner sees it; false when the session is gone, or
// the list is under a content item the session does not show. The caller holds w.mu.
func (w *world) contentGenLocked(c *collection, vals []string) (contentGen, bool) {
	sess := w.lookupLocked(contentScope + vals[0])
	if sess == nil {
		return contentGen{}, false
	}
	owner, _ := sess.hidden.(restoreOwner)
	var parent *item
	if c.parent != nil && c.parent.listVars > 0 && len(vals) > 1 { // a list under another content item
		parent = w.contentItem(strings.ToLower(c.parent.itemPath(vals, vals[len(vals)-1])))
		if parent == nil && isContentList(c.parent.listShape) {
			return contentGen{}, false
		}
	}
	g := contentGen{c: c, vals: vals, owner: owner, at: w.base.at, roster: w.base.rosters[owner.OrganizationID], parent: parent, contents: w.base.contents}
	g.pointInTime = owner.PointInTime
	if g.pointInTime.IsZero() {
		g.pointInTime = parseTimeOr(sess.obj.str("creationTime"), w.base.at)
	}
	return g, true
}

// contentCheck says what an id names in content list key (a restore session's
// mailboxes, OneDrives, …): "" when the session shows it, "scope" when it is the
// organization's but outside the session owner's operator scope, "unknown" otherwise;
// "" too when key is no content list.
func (w *world) contentCheck(key, id string) string {
	key = strings.ToLower(key)
	w.mu.RLock()
	defer w.mu.RUnlock()
	if !strings.HasPrefix(key, contentScope) {
		return ""
	}
	c, vals := matchContent(w.base.contents, key)
	if c == nil {
		return ""
	}
	itemKey := key + "/" + strings.ToLower(id)
	for _, it := range w.contentItems(c, key, vals) {
		if it.key == itemKey {
			return ""
		}
	}
	g, ok := w.contentGenLocked(c, vals)
	if !ok || g.owner.Scope == nil {
		return "unknown"
	}
	g.owner.Scope = nil
	for _, it := range g.items() {
		if it.key == itemKey {
			return "scope"
		}
	}
	return "unknown"
}

func parseTimeOr(s string, def time.Time) time.Time {
	if t := parseTime(s); t != nil {
		return *t
	}
	return def
}

// contentGen generates one content list.
type contentGen struct {
	c           *collection
	vals        []string
	owner       restoreOwner
	at          time.Time // the world's time: content was created before it
	pointInTime time.Time // the session shows content as it was then
	roster      *roster
	parent      *item
	contents    []*collection
}

// child is one item of a content list before it is built: its id, the fields set over
// the schema's generated value, the id parentId matches, when it was created and (if
// ever) deleted, and the user, site or team an operator's scope must hold.
type child struct {
	id       string
	fields   map[string]any
	parent   string
	created  time.Time
	deleted  time.Time
	scopeKey string
}

// sessionTypeOf is the restore session type whose content a list under
// /v8/RestoreSessions/{id}/ is: Vex for mailboxes, Veod for OneDrives, Vesp for sites,
// Vet for teams.
func sessionTypeOf(suffix string) string {
	switch {
	case strings.HasPrefix(suffix, "organization/mailboxes"):
		return "Vex"
	case strings.HasPrefix(suffix, "organization/onedrives"):
		return "Veod"
	case strings.HasPrefix(suffix, "organization/sites"):
		return "Vesp"
	}
	return "Vet"
}

// items builds the list: the children the session shows at its point in time (created
// by then; deleted by then only with showDeleted), within an operator's scope; only a
// session of the list's type shows any [A: a real server's answer to a Vex session
// asked for OneDrives is not in the record; the mock shows nothing].
func (g *contentGen) items() []*item {
	suffix := strings.TrimPrefix(g.c.listShape, restoreSessionScope+"/")
	if typ := g.owner.Type; typ != "" && typ != sessionTypeOf(suffix) {
		return nil
	}
	var out []*item
	for _, ch := range g.children(suffix) {
		if ch.created.After(g.pointInTime) {
			continue
		}
		deleted := !ch.deleted.IsZero() && !ch.deleted.After(g.pointInTime)
		if deleted && !g.owner.ShowDeleted {
			continue
		}
		if ch.scopeKey != "" && !g.owner.Scope.allows(ch.scopeKey) {
			continue
		}
		path := g.c.itemPath(g.vals, ch.id)
		// The generated values are seeded without the session's id: the same item reads
		// the same in every session (the issue 13 re-trial's D3).
		seed := g.c.itemPath(append([]string{"session"}, g.vals[1:]...), ch.id)
		o := g.c.generate(seed, ch.id, g.vals, g.at)
		for k, v := range ch.fields {
			if declares(g.c.itemSchema.Value, k) || declares(g.c.elemSchema.Value, k) {
				o.setValue(k, v)
			}
		}
		if declares(g.c.itemSchema.Value, "isDeleted") {
			o.setValue("isDeleted", deleted)
		}
		it, err := newItem(path, ch.id, o.bytes(), contentMeta{parent: ch.parent})
		if err == nil {
			out = append(out, it)
		}
	}
	return out
}

// ago is a content time: the k-th item of a list was created (k+1)·7 hours before the
// world's time, so a session's point in time decides which it shows.
func (g *contentGen) ago(k int) time.Time { return g.at.Add(-time.Duration(k+1) * 7 * time.Hour) }

// deletedAt is when the k-th item, created at created, was deleted: every fourth, a
// day after its creation; the zero time for the others.
func deletedAt(k int, created time.Time) time.Time {
	if k%4 != 3 {
		return time.Time{}
	}
	return created.Add(24 * time.Hour)
}

// id is a child's id in the collection's kind.
func (g *contentGen) id(seed string, k int) string { return contentID(g.c.idKind, seed, k) }

// idIn is the id of the k-th child of the sibling list list (the folder an item is in).
func (g *contentGen) idIn(list string, k int) string {
	kind := "string"
	for _, c := range g.contents {
		if c.list == list {
			kind = c.idKind
		}
	}
	return contentID(kind, g.parentID()+"/"+list+"/"+strconv.Itoa(k), k)
}

// contentID is an id of an id kind: a GUID, a number, or a hex string (the real
// server's folder and item ids are opaque strings), derived from seed.
func contentID(kind, seed string, k int) string {
	switch kind {
	case "integer":
		return strconv.Itoa(k + 1)
	case "uuid":
		return spec.UUID("vbharness/veeam/content/" + seed)
	}
	return strings.ReplaceAll(spec.UUID("vbharness/veeam/content/"+seed), "-", "")
}

// parentID is the id of the item the list is under (the last variable).
func (g *contentGen) parentID() string { return g.vals[len(g.vals)-1] }

// named makes n children named by names (cycled), created k·7 h ago, every fourth
// deleted, each with fields(k, name).
func (g *contentGen) named(n int, names []string, fields func(k int, name string) map[string]any) []child {
	out := make([]child, 0, n)
	for k := range n {
		name := names[k%len(names)]
		if k >= len(names) {
			name = strconv.Itoa(k/len(names)+1) + " " + name
		}
		f := fields(k, name)
		out = append(out, child{id: g.id(g.parentID()+"/"+g.c.list+"/"+strconv.Itoa(k), k), fields: f, created: g.ago(k), deleted: deletedAt(k, g.ago(k))})
	}
	return out
}

// versions of a document or an item: three, two hours apart from its creation, shown
// all with showAllVersions, else only the one current at the point in time [A]. Each is
// its document's: the same name, title, url and authors, and a size 1 KiB smaller for
// each later version there is [A].
func (g *contentGen) versions(n int) []child {
	if g.parent == nil {
		return nil
	}
	p := g.parent.obj
	created := parseTimeOr(p.str("creationTime"), g.at.Add(-7*time.Hour))
	size, _ := strconv.ParseInt(p.text("sizeBytes"), 10, 64)
	var out []child
	for v := 1; v <= n; v++ {
		at := created.Add(time.Duration(v-1) * versionGap)
		f := map[string]any{"version": strconv.Itoa(v) + ".0", "modificationTime": at, "creationTime": created, "modified": at}
		for _, k := range []string{"name", "title", "url", "createdBy", "modifiedBy"} {
			if raw := p.get(k); raw != nil {
				f[k] = json.RawMessage(raw)
			}
		}
		if size > 0 {
			f["sizeBytes"] = max(0, size-int64(n-v)*1024)
		}
		out = append(out, child{id: strconv.Itoa(v), created: at, fields: f})
	}
	if !g.owner.ShowAllVersions {
		last := -1
		for i, ch := range out {
			if !ch.created.After(g.pointInTime) {
				last = i
			}
		}
		if last < 0 {
			return nil
		}
		out = out[last : last+1]
	}
	return out
}

// A document or item has fileVersions versions, versionGap apart from its creation (a
// folder one); it shows the one current at the session's point in time.
const (
	fileVersions = 3
	versionGap   = 2 * time.Hour
)

// versionAt is the number of the version of something created at created that is current
// at t: 1 until the second is made, at most n.
func versionAt(created, t time.Time, n int) int {
	if !t.After(created) {
		return 1
	}
	return min(n, 1+int(t.Sub(created)/versionGap))
}

// children are the list's children before the point in time and scope are applied.
func (g *contentGen) children(suffix string) []child {
	r := g.roster
	if r == nil {
		r = &roster{}
	}
	owner := "Administrator"
	file := func(k int, name string) map[string]any {
		t := g.ago(k)
		v := versionAt(t, g.pointInTime, fileVersions)
		return map[string]any{"name": name, "title": name, "createdBy": owner, "modifiedBy": owner, "creationTime": t,
			"modificationTime": t.Add(time.Duration(v-1) * versionGap), "sizeBytes": 24576 + 4096*k,
			"version": strconv.Itoa(v) + ".0", "versionId": v, "isFolder": false}
	}
	folder := func(k int, name string) map[string]any {
		f := file(k, name)
		f["isFolder"], f["sizeBytes"] = true, 0
		f["version"], f["versionId"], f["modificationTime"] = "1.0", 1, f["creationTime"] // a folder has one version
		return f
	}
	switch suffix {
	case "organization/mailboxes":
		out := make([]child, 0, len(r.mailboxes))
		for _, m := range r.mailboxes {
			out = append(out, child{id: m.ID, scopeKey: m.User, fields: map[string]any{"name": m.Name, "email": m.Mail, "isArchive": false, "isPublic": m.Public}})
		}
		return out
	case "organization/mailboxes/{}/folders":
		out := g.named(len(mailFolders), folderNames(), func(k int, name string) map[string]any {
			f := mailFolders[k]
			return map[string]any{"name": name, "category": f.category, "type": f.typ, "description": name, "mailboxId": g.parentID()}
		})
		for i := range out {
			out[i].created, out[i].deleted = g.at.Add(-90*24*time.Hour), time.Time{} // folders are as old as the mailbox
		}
		return out
	case "organization/mailboxes/{}/items":
		var out []child
		for fi, f := range mailFolders {
			fid := g.idIn(strings.Replace(g.c.list, "/items", "/folders", 1), fi)
			for k := range 5 {
				t := g.ago(k + fi)
				id := g.id(g.parentID()+"/"+g.c.list+"/"+strconv.Itoa(fi)+"/"+strconv.Itoa(k), fi*5+k)
				subject := f.subjects[k%len(f.subjects)]
				fields := map[string]any{"mailboxId": g.parentID(), "subject": subject, "name": subject, "itemClass": f.class,
					"from": "adele@tech.local", "to": "megan@tech.local", "received": t, "sent": t, "importance": "Normal"}
				if f.class == "IPM.Appointment" {
					fields["startTime"], fields["endTime"], fields["location"], fields["organizer"] = t, t.Add(time.Hour), "Room 1", "adele@tech.local"
				}
				out = append(out, child{id: id, parent: fid, fields: fields, created: t, deleted: deletedAt(k, t)})
			}
		}
		return out
	case "organization/onedrives":
		out := make([]child, 0, len(r.oneDrives))
		for _, d := range r.oneDrives {
			out = append(out, child{id: d.ID, scopeKey: d.User, fields: map[string]any{"name": d.Name, "url": d.URL}})
		}
		return out
	case "organization/onedrives/{}/folders", "organization/sites/{}/folders":
		out := g.named(3, []string{"Documents", "Desktop", "Pictures"}, folder)
		if suffix == "organization/sites/{}/folders" {
			out = g.named(2, []string{"General", "Archive"}, folder)
		}
		for i := range out {
			out[i].deleted = time.Time{}
			out[i].fields["oneDriveId"], out[i].fields["siteId"] = g.parentID(), g.parentID()
		}
		return out
	case "organization/onedrives/{}/documents", "organization/sites/{}/documents":
		folders := strings.Replace(g.c.list, "/Documents", "/Folders", 1)
		nf := 3
		if strings.HasPrefix(suffix, "organization/sites") {
			nf = 2
		}
		var out []child
		for fi := range nf {
			fid := g.idIn(folders, fi)
			for k := range 3 {
				name := docNames[(fi*3+k)%len(docNames)]
				fields := file(k+fi, name)
				fields["oneDriveId"], fields["siteId"] = g.parentID(), g.parentID()
				id := g.id(g.parentID()+"/"+g.c.list+"/"+strconv.Itoa(fi)+"/"+strconv.Itoa(k), fi*3+k)
				out = append(out, child{id: id, parent: fid, fields: fields, created: g.ago(k + fi), deleted: deletedAt(k+fi*3, g.ago(k+fi))})
			}
		}
		return out
	case "organization/sites":
		out := make([]child, 0, len(r.sites))
		for _, s := range r.sites {
			out = append(out, child{id: s.ID, scopeKey: s.ID, fields: map[string]any{"name": s.Name, "title": s.Name, "url": s.URL}})
		}
		return out
	case "organization/sites/{}/libraries":
		return g.undeleted(g.named(2, []string{"Documents", "Site Assets"}, folder))
	case "organization/sites/{}/lists":
		return g.undeleted(g.named(2, []string{"Tasks", "Announcements"}, folder))
	case "organization/sites/{}/items":
		lists := strings.Replace(g.c.list, "/Items", "/Lists", 1)
		var out []child
		for li := range 2 {
			lid := g.idIn(lists, li)
			for k := range 3 {
				name := []string{"Plan the offsite", "Renew the certificate", "Quarterly review"}[k]
				fields := file(k+li, name)
				fields["siteId"] = g.parentID()
				id := g.id(g.parentID()+"/"+g.c.list+"/"+strconv.Itoa(li)+"/"+strconv.Itoa(k), li*3+k)
				out = append(out, child{id: id, parent: lid, fields: fields, created: g.ago(k + li), deleted: deletedAt(k+li*3, g.ago(k+li))})
			}
		}
		return out
	case "organization/sites/{}/items/{}/attachments":
		return g.undeleted(g.named(1, []string{"attachment.pdf"}, file))
	case "organization/onedrives/{}/documents/{}/versions", "organization/sites/{}/documents/{}/versions",
		"organization/sites/{}/items/{}/versions":
		return g.versions(fileVersions)
	case "organization/onedrives/{}/folders/{}/versions", "organization/sites/{}/folders/{}/versions":
		return g.versions(1)
	case "organization/teams":
		out := make([]child, 0, len(r.teams))
		for _, t := range r.teams {
			out = append(out, child{id: t.ID, scopeKey: t.ID, fields: map[string]any{"displayName": t.DisplayName, "description": t.DisplayName + " team", "isArchived": false}})
		}
		return out
	case "organization/teams/{}/channels":
		var out []child
		for _, t := range r.teams {
			if strings.EqualFold(t.ID, g.parentID()) {
				for _, ch := range t.Channels {
					out = append(out, child{id: ch.ID, fields: map[string]any{"displayName": ch.DisplayName, "teamId": t.ID}})
				}
			}
		}
		return out
	case "organization/teams/{}/channels/{}/tabs":
		var out []child
		for _, t := range r.teams {
			for _, ch := range t.Channels {
				if strings.EqualFold(ch.ID, g.parentID()) {
					for _, tab := range ch.Tabs {
						out = append(out, child{id: spec.UUID("vbharness/veeam/tab/" + ch.ID + "/" + tab), fields: map[string]any{"displayName": tab, "channelId": ch.ID, "teamId": t.ID}})
					}
				}
			}
		}
		return out
	case "organization/teams/{}/posts":
		var out []child
		for _, t := range r.teams {
			if !strings.EqualFold(t.ID, g.parentID()) {
				continue
			}
			n := 0
			for ci, ch := range t.Channels {
				for k := range 3 {
					t := g.ago(k + ci)
					out = append(out, child{id: strconv.Itoa(n + 1), created: t, deleted: deletedAt(k+ci*3, t), fields: map[string]any{
						"postId": n + 1, "subject": []string{"Welcome", "Status update", "Question"}[k], "author": "Adele Vance",
						"createdTime": t, "lastModifiedTime": t, "channelId": ch.ID, "teamId": g.parentID(), "parentId": nil, "isImportant": k == 0}})
					n++
				}
			}
		}
		return out
	}
	return nil
}

// undeleted clears the deletion of children that are never deleted (libraries, lists).
func (g *contentGen) undeleted(out []child) []child {
	for i := range out {
		out[i].deleted = time.Time{}
	}
	return out
}

// mailFolders are the folders of every mailbox and the items each holds.
var mailFolders = []struct {
	name, category, typ, class string
	subjects                   []string
}{
	{"Inbox", "Inbox", "None", "IPM.Note", []string{"Quarterly numbers", "Lunch on Friday?", "Your invoice", "Project kickoff", "Re: budget"}},
	{"Sent Items", "Sent", "None", "IPM.Note", []string{"Re: Quarterly numbers", "Agenda", "Travel plans"}},
	{"Drafts", "Drafts", "None", "IPM.Note", []string{"Draft: proposal", "Notes"}},
	{"Deleted Items", "Deleted", "None", "IPM.Note", []string{"Newsletter", "Old thread"}},
	{"Calendar", "None", "Appointment", "IPM.Appointment", []string{"Weekly sync", "1:1", "All hands"}},
	{"Contacts", "None", "Contact", "IPM.Contact", []string{"Megan Bowen", "Alex Wilber"}},
}

func folderNames() []string {
	out := make([]string, len(mailFolders))
	for i, f := range mailFolders {
		out[i] = f.name
	}
	return out
}

var docNames = []string{"Budget 2026.xlsx", "Roadmap.pptx", "Contract.docx", "Notes.txt", "Photo.jpg", "Report Q4.docx", "Design.vsdx", "Invoice.pdf", "Plan.docx"}

// contentParent matches the parentId filter of a content list: the folder, list or
// library its items are in.
func contentParent(_ *request, it *item, v string) bool {
	m, ok := it.hidden.(contentMeta)
	return ok && strings.EqualFold(m.parent, v)
}
