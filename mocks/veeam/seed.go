package veeam

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/mocks/veeam/spec"
)

// The world a server starts with is built from Fixtures once: the typed fixtures become
// the items of their six collections (their input model stays the fixture file's), and
// every other declared collection is seeded with seedPerParent items generated from its
// schema under each of its parent's first seedParents items, with ids that are the same
// in every run and links to their parents. The default world is built once per process
// and shared by every server (defaultWorld); a server's own changes sit on top of it.
const (
	seedPerParent = 2
	seedParents   = 2
)

// defaultWorld is the world of DefaultFixtures, built once per process, timed around
// clock.DefaultStart, where the embedded target's virtual clock starts.
var defaultWorld = sync.OnceValue(func() *worldState { return buildWorld(defaultFixtures(), clock.DefaultStart) })

// worldFor is the default world as a server starting at start sees it: the shared one
// when start is clock.DefaultStart (the embedded target and every scenario on the
// default virtual clock, whose dates stay pinned), else one built with every fixture
// time moved by start − clock.DefaultStart (whole seconds), so on a mock running on the
// real clock the jobs ran last night and run again tonight instead of months ago
// (issue 19 item 5).
func worldFor(start time.Time) *worldState {
	shift := start.Sub(clock.DefaultStart).Truncate(time.Second)
	if shift == 0 {
		return defaultWorld()
	}
	at := clock.DefaultStart.Add(shift)
	return buildWorld(defaultFixtures().clone().shifted(shift).rescheduled(shift, at), at)
}

// rescheduled keeps f's jobs' schedules consistent with their times after shifted(d):
// a Daily job's dailyTime moves with its lastRun (d modulo a day), and a scheduled job's
// nextRun is its schedule's next slot after at, so a job runs once a day at the time its
// schedule says (a daily job whose nextRun moved but not its dailyTime ran twice within
// hours: once at the moved nextRun, again at the dailyTime).
func (f Fixtures) rescheduled(d time.Duration, at time.Time) Fixtures {
	for i := range f.Jobs {
		j := &f.Jobs[i]
		sp := &j.SchedulePolicy
		if sp.Type == "Daily" {
			if tod, err := time.Parse("15:04:05", sp.DailyTime); err == nil {
				sp.DailyTime = tod.Add(d % (24 * time.Hour)).Format("15:04:05")
			}
		}
		raw, err := json.Marshal(sp)
		if err != nil {
			continue
		}
		o, err := parseObject(raw)
		if err != nil {
			continue
		}
		if next := nextRun(o, at); next != nil && j.NextRun != nil {
			j.NextRun = next
		}
	}
	return f
}

// Keys of the world's mock-only singletons.
const restorePortalKey = "#restoreportal"

// buildWorld turns normalised fixtures into a world and seeds the other collections.
// at is the clock reading the world is generated on, around which f is timed.
func buildWorld(f Fixtures, at time.Time) *worldState {
	table() // derives the collections' schemas
	ws := newWorldState()
	ws.at = at
	must := func(path, id string, v any, hidden any) {
		raw, err := json.Marshal(v)
		if err != nil {
			panic(fmt.Sprintf("veeam: encode fixture %s: %v", path, err))
		}
		it, err := newItem(path, id, raw, hidden)
		if err != nil {
			panic(fmt.Sprintf("veeam: fixture %s: %v", path, err))
		}
		ws.add(it)
	}
	si, _ := json.Marshal(f.ServiceInstance)
	ws.singletons["/v8/serviceinstance"] = si
	rp, _ := json.Marshal(f.RestorePortal)
	ws.singletons[restorePortalKey] = rp
	orgNames := map[string]string{}
	for _, o := range f.Organizations {
		must("/v8/Organizations/"+o.ID, o.ID, organizationWire(o), orgSecrets{ModernAppOnly: o.ModernAppOnly, Account: o.Account, Password: o.Password})
		orgNames[o.ID] = o.Name
	}
	for _, p := range f.Proxies {
		must("/v8/Proxies/"+p.ID, p.ID, p, nil)
	}
	for _, r := range f.Repositories {
		must("/v8/BackupRepositories/"+r.ID, r.ID, r, nil)
	}
	for _, j := range f.Jobs {
		must("/v8/Jobs/"+j.ID, j.ID, j, nil)
	}
	for _, js := range f.JobSessions {
		must("/v8/JobSessions/"+js.ID, js.ID, js, nil)
	}
	for _, rs := range f.RestoreSessions {
		must("/v8/RestoreSessions/"+rs.ID, rs.ID, restoreSessionWire(rs, orgNames[rs.OrganizationID]), restoreOwner{OrganizationID: rs.OrganizationID, Tenant: rs.Tenant, Type: rs.Type})
	}
	buildDirectory(ws, f)
	ws.rosters, ws.contents = buildRosters(f), contentCollections()
	ws.outcomes = map[string]string{}
	for id, r := range f.JobOutcomes {
		ws.outcomes[strings.ToLower(id)] = r
	}
	for _, c := range seedOrder() {
		if c.fixtures || isContentList(c.listShape) { // restore session content is generated on use (content.go)
			continue
		}
		for _, parent := range c.seedParents(ws) {
			for i := range seedPerParent {
				id := c.seedID(parent, i)
				path := c.itemPath(parent, id)
				o := c.generate(path, id, parent, ws.at)
				it, err := newItem(path, id, o.bytes(), nil)
				if err != nil {
					panic(fmt.Sprintf("veeam: seed %s: %v", path, err))
				}
				ws.add(it)
			}
		}
	}
	wireRelations(ws)
	settleRetrievals(ws)
	return ws
}

// settleRetrievals makes the seeded data retrievals ones that ran: their data was
// retrieved two days before the world's time (pointInTime a day before that), the
// retrieval succeeded, and the data stays for five more days, so each is explorable
// (retrieval.go); a generated one had any dataState and times in any order.
func settleRetrievals(ws *worldState) {
	items := ws.lists[strings.ToLower("/v8/DataRetrievals")]
	for i, it := range items {
		o := append(object(nil), it.obj...)
		started := ws.at.Add(-48 * time.Hour)
		o.setValue("dataState", "Retrieved")
		o.setValue("lastStatus", "Success")
		o.setValue("startTime", started)
		o.setValue("pointInTime", started.Add(-24*time.Hour))
		o.setValue("expirationTime", ws.at.Add(5*24*time.Hour))
		if org := ws.items[strings.ToLower("/v8/Organizations/"+o.str("organizationId"))]; org != nil {
			if ms := org.obj.str("backedUpOrganizationId"); ms != "" {
				o.setValue("organizationUniqueId", ms)
			}
		}
		next, err := newItem(it.path, it.id, o.bytes(), it.hidden)
		if err != nil {
			panic(fmt.Sprintf("veeam: seed %s: %v", it.path, err))
		}
		items[i], ws.items[it.key] = next, next
	}
}

// relations are the id-valued properties whose relation is known: the list whose item
// each names. wireRelations makes the seeded items' values of them name real items.
var relations = map[string]string{
	"organizationId":  "/v8/Organizations",
	"repositoryId":    "/v8/BackupRepositories",
	"proxyId":         "/v8/Proxies",
	"proxyPoolId":     "/v8/ProxyPools",
	"encryptionKeyId": "/v8/EncryptionKeys",
	"jobId":           "/v8/Jobs",
	"backupJobId":     "/v8/Jobs",
	"retrievalId":     "/v8/DataRetrievals",
}

// directoryLists are the objects of a job's or RBAC role's selected and excluded items
// that name an item of the organization's directory, by the item type that names them
// (RESTJobBackupItemType).
var directoryLists = []struct{ field, list, typ string }{
	{"user", "Users", "User"}, {"group", "Groups", "Group"}, {"site", "Sites", "Site"}, {"team", "Teams", "Team"},
}

// wireRelations makes the default world coherent: a value generated for an id-valued
// property names nothing, so each one whose relation is known and that names no item
// is replaced by the id of an item of its list (chosen by the item's key, the same in
// every build), and a job's or RBAC role's selected and excluded items and operators
// name a user, group, site or team of the job's or role's organization, the one their
// type says (the others are dropped). A restore point that was not retrieved has no
// retrievalId. Values the fixtures set name their items already and stay. Restore
// sessions' subtrees are built elsewhere and left as they are. A relation whose list
// is empty is left as generated.
func wireRelations(ws *worldState) {
	pick := func(list, key, field string) *item {
		items := ws.lists[strings.ToLower(list)]
		if len(items) == 0 {
			return nil
		}
		h := spec.UUID(key + "#" + field)
		n, _ := strconv.ParseUint(h[:8], 16, 32)
		return items[int(n)%len(items)]
	}
	for _, c := range seedOrder() {
		if strings.HasPrefix(c.list, "/v8/RestoreSessions") {
			continue
		}
		parents := map[string]bool{c.idField: true, c.parentField: true}
		for _, v := range templateVars(c.list) {
			parents[v] = true
		}
		var owner string // the organization a job's or role's items belong to
		for _, parent := range c.seedParents(ws) {
			switch {
			case strings.HasPrefix(c.list, "/v8/Jobs/{jobId}/"), strings.HasPrefix(c.list, "/v8/RbacRoles/{roleId}/"):
				top := strings.SplitN(c.list, "/", 4)[2] // Jobs or RbacRoles
				if it := ws.items[strings.ToLower("/v8/"+top+"/"+parent[0])]; it != nil {
					owner = it.obj.str("organizationId")
				}
			default:
				owner = ""
			}
			items := ws.lists[strings.ToLower(c.listPath(parent))]
			for i, it := range items {
				o := append(object(nil), it.obj...)
				changed := false
				for field, list := range relations {
					v := o.str(field)
					if parents[field] || v == "" {
						continue
					}
					if field == "retrievalId" && o.text("isRetrieved") == "false" {
						o.del(field)
						changed = true
						continue
					}
					if field == "jobId" && o.str("jobType") == "Copy" {
						list = "/v8/CopyJobs"
					}
					if ws.items[strings.ToLower(list+"/"+v)] != nil {
						continue
					}
					if target := pick(list, it.key, field); target != nil {
						o.setValue(field, target.id)
						changed = true
					}
				}
				if owner != "" && o.get("type") != nil && c.elemSchema.Value.Properties["user"] != nil {
					changed = wireDirectory(ws, &o, owner, it.key, pick) || changed
				}
				if !changed {
					continue
				}
				next, err := newItem(it.path, it.id, o.bytes(), it.hidden)
				if err != nil {
					panic(fmt.Sprintf("veeam: seed %s: %v", it.path, err))
				}
				items[i], ws.items[it.key] = next, next
			}
		}
	}
}

// wireDirectory makes a selected or excluded item name a directory item of org: the
// object its type names (a user for User) holds that item's id and the properties the
// two share; the other objects go. A type that names no directory object (a partial
// organization) keeps none of them.
func wireDirectory(ws *worldState, o *object, org, key string, pick func(list, key, field string) *item) bool {
	typ := o.str("type")
	for _, d := range directoryLists {
		sub, err := parseObject(o.get(d.field))
		if err != nil {
			continue
		}
		target := ws.items[strings.ToLower("/v8/Organizations/"+org+"/"+d.list+"/"+sub.str("id"))]
		if target == nil {
			target = pick("/v8/Organizations/"+org+"/"+d.list, key, d.field)
		}
		if d.typ != typ || target == nil {
			o.del(d.field)
			continue
		}
		for i, m := range sub {
			if v := target.obj.get(m.key); v != nil && (m.key == "id" || m.val[0] == v[0]) {
				sub[i].val = v // the directory's value, where the JSON kinds agree
			}
		}
		o.set(d.field, sub.bytes())
	}
	return true
}

// seedOrder lists the collections parents first.
func seedOrder() []*collection {
	var out []*collection
	seen := map[*collection]bool{}
	var visit func(c *collection)
	visit = func(c *collection) {
		if seen[c] {
			return
		}
		if c.parent != nil {
			visit(c.parent)
		}
		seen[c] = true
		out = append(out, c)
	}
	for _, c := range collections {
		visit(c)
	}
	return out
}

// seedParents returns, for each parent item to seed under, the list's variables: the
// ids along the path from the root (none for a top-level collection).
func (c *collection) seedParents(ws *worldState) [][]string {
	if c.parent == nil {
		return [][]string{nil}
	}
	var out [][]string
	for _, grand := range c.parent.seedParents(ws) {
		items := ws.lists[strings.ToLower(c.parent.listPath(grand))]
		for _, it := range items[:min(len(items), seedParents)] {
			out = append(out, append(append([]string(nil), grand...), it.id))
		}
	}
	return out
}

// seedID is the id of the i-th seeded item under parent: a GUID derived from the path,
// a number, or a readable name ("bucket-1").
func (c *collection) seedID(parent []string, i int) string {
	switch {
	case c.idKind == "integer":
		return strconv.Itoa(i + 1)
	case c.idKind == "string" && (c.idField == "name" || c.idField == "type"):
		return strings.ToLower(strings.ReplaceAll(kindOf(c.list), " ", "-")) + "-" + strconv.Itoa(i+1)
	}
	return spec.UUID("vbharness/veeam/" + strings.ToLower(c.listPath(parent)) + "/" + strconv.Itoa(i))
}

// generate builds a new item's object from the document: the item schema's value with
// the id and the parents' ids in the properties named like them (a bare {id} is the
// parent's own and names no property of the child; parentField takes the nearest
// parent's), plus what the list's element schema requires besides, so the item
// validates as both.
func (c *collection) generate(path, id string, parent []string, now time.Time) object {
	fixed := map[string]any{}
	for i, name := range templateVars(c.list) {
		if i < len(parent) && name != "id" {
			fixed[name] = parent[i]
		}
	}
	if c.parentField != "" && len(parent) > 0 {
		fixed[c.parentField] = parent[len(parent)-1]
	}
	fixed[c.idField] = c.idValue(id)
	d := spec.Doc()
	seed := strings.ToLower(path)
	o, _ := parseObject(d.Generate(c.itemSchema, spec.Gen{Seed: seed, Now: now, Fixed: fixed}))
	if c.elemSchema != c.itemSchema {
		extra, _ := parseObject(d.Generate(c.elemSchema, spec.Gen{Seed: seed, Now: now, Fixed: fixed}))
		for _, m := range extra {
			if o.get(m.key) == nil {
				o.set(m.key, m.val)
			}
		}
	}
	o.del("_links")
	return o
}

// idValue is the id as its property holds it: a number for integer ids.
func (c *collection) idValue(id string) any {
	if c.idKind == "integer" {
		if n, err := strconv.Atoi(id); err == nil {
			return n
		}
	}
	return id
}

// templateVars returns a template's variable names, in order.
func templateVars(template string) []string {
	var out []string
	for _, seg := range strings.Split(template, "/") {
		if name, ok := strings.CutPrefix(seg, "{"); ok {
			out = append(out, strings.TrimSuffix(name, "}"))
		}
	}
	return out
}

// --- the fixtures' wire forms ---

// orgSecrets are an organization's mock-only fields, kept beside its served object:
// how it was added decides how its tenants sign in.
type orgSecrets struct {
	ModernAppOnly bool
	Account       string
	Password      string
}

// restoreOwner is a restore session's mock-only fields: its organization, who started
// it (a tenant of the organization, or an operator, which makes it theirs), and what
// it shows (content.go): its type, its point in time (zero: its creation time), whether
// it shows deleted items and every version, and an operator's scope.
type restoreOwner struct {
	OrganizationID  string
	Tenant          bool
	Operator        string        `json:",omitempty"` // the operator's user name, lower case
	Type            string        `json:",omitempty"`
	PointInTime     time.Time     `json:",omitzero"`
	ShowDeleted     bool          `json:",omitempty"`
	ShowAllVersions bool          `json:",omitempty"`
	Scope           *restoreScope `json:",omitempty"`
}

// orgConnection is RESTOffice365ConnectionSettings as served (no secrets).
type orgConnection struct {
	UseApplicationOnlyAuth bool    `json:"useApplicationOnlyAuth"`
	OfficeOrganizationName string  `json:"officeOrganizationName"`
	Account                string  `json:"account"`
	GrantAdminAccess       bool    `json:"grantAdminAccess"`
	UseMfa                 bool    `json:"useMfa"`
	ApplicationID          *string `json:"applicationId"`
}

// orgWire is RestOrganizationComposed for an Office 365 organization, stored with the
// backup fields that only extendedView=true serves (organizationView).
type orgWire struct {
	ID                       string         `json:"id"`
	Name                     string         `json:"name"`
	OfficeName               string         `json:"officeName"`
	Type                     string         `json:"type"`
	Region                   string         `json:"region"`
	IsExchangeOnline         bool           `json:"isExchangeOnline"`
	IsSharePointOnline       bool           `json:"isSharePointOnline"`
	IsTeamsOnline            bool           `json:"isTeamsOnline"`
	IsTeamsChatsOnline       bool           `json:"isTeamsChatsOnline"`
	IsBackedUp               bool           `json:"isBackedup"`
	FirstBackupTime          *time.Time     `json:"firstBackuptime,omitempty"`
	LastBackupTime           *time.Time     `json:"lastBackuptime,omitempty"`
	MSID                     *string        `json:"msid"`
	BackedUpOrganizationID   *string        `json:"backedUpOrganizationId"`
	ExchangeOnlineSettings   *orgConnection `json:"exchangeOnlineSettings,omitempty"`
	SharePointOnlineSettings *orgConnection `json:"sharePointOnlineSettings,omitempty"`
	Actions                  struct{}       `json:"_actions"`
}

func strOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// organizationWire is how an organization is stored; its password, account and way of
// being added stay beside it (orgSecrets).
func organizationWire(o Organization) orgWire {
	w := orgWire{
		ID: o.ID, Name: o.Name, OfficeName: o.OfficeName, Type: o.Type, Region: o.Region,
		IsExchangeOnline: o.IsExchangeOnline, IsSharePointOnline: o.IsSharePointOnline,
		IsTeamsOnline: o.IsTeamsOnline, IsTeamsChatsOnline: o.IsTeamsChatsOnline,
		IsBackedUp: o.IsBackedUp, FirstBackupTime: o.FirstBackupTime, LastBackupTime: o.LastBackupTime,
		MSID: strOrNil(o.MSID), BackedUpOrganizationID: strOrNil(o.BackedUpOrganizationID),
	}
	if o.Type == "Office365" || o.Type == "Hybrid" {
		conn := &orgConnection{UseApplicationOnlyAuth: o.ModernAppOnly, OfficeOrganizationName: o.OfficeName,
			Account: o.Account, GrantAdminAccess: !o.ModernAppOnly, UseMfa: o.ModernAppOnly, ApplicationID: strOrNil(o.ApplicationID)}
		if o.IsExchangeOnline {
			w.ExchangeOnlineSettings = conn
		}
		if o.IsSharePointOnline {
			w.SharePointOnlineSettings = conn
		}
	}
	return w
}

// organizationOf reads an organization back from its item: the served fields, and the
// mock-only ones beside it (for an organization added through the API, how it was
// added is read from its connection settings).
func organizationOf(it *item) Organization {
	var o Organization
	_ = json.Unmarshal(it.raw, &o)
	var conn struct {
		Exchange   *orgConnection `json:"exchangeOnlineSettings"`
		SharePoint *orgConnection `json:"sharePointOnlineSettings"`
	}
	_ = json.Unmarshal(it.raw, &conn)
	c := conn.Exchange
	if c == nil {
		c = conn.SharePoint
	}
	if c != nil {
		if c.ApplicationID != nil {
			o.ApplicationID = *c.ApplicationID
		}
		o.Account, o.ModernAppOnly = c.Account, c.UseApplicationOnlyAuth
	}
	if sec, ok := it.hidden.(orgSecrets); ok {
		o.ModernAppOnly, o.Account, o.Password = sec.ModernAppOnly, sec.Account, sec.Password
	}
	o.ID = strings.ToLower(o.ID)
	o.MSID = strings.ToLower(o.MSID)
	return o
}

// restoreSessionWireT is RESTRestoreSession as stored, the organization by name.
type restoreSessionWireT struct {
	ID           string     `json:"id"`
	Name         string     `json:"name"`
	Organization string     `json:"organization"`
	Type         string     `json:"type"`
	CreationTime time.Time  `json:"creationTime"`
	EndTime      *time.Time `json:"endTime"`
	State        string     `json:"state"`
	Result       string     `json:"result"`
	InitiatedBy  string     `json:"initiatedBy"`
	Details      string     `json:"details"`
	ClientHost   string     `json:"clientHost"`
	Reason       string     `json:"reason"`
	ETag         int64      `json:"eTag"`
}

func restoreSessionWire(s RestoreSession, orgName string) restoreSessionWireT {
	return restoreSessionWireT{ID: s.ID, Name: s.Name, Organization: orgName, Type: s.Type, CreationTime: s.CreationTime,
		EndTime: s.EndTime, State: s.State, Result: s.Result, InitiatedBy: s.InitiatedBy, Details: s.Details,
		ClientHost: s.ClientHost, Reason: s.Reason, ETag: s.ETag}
}

// --- the directory and what follows from it ---

// addFrom adds to ws an item of c under parent: generated from the schema (so it is
// valid whatever the fixtures leave out), with fields set where the item's schema
// declares them.
func (ws *worldState) addFrom(c *collection, parent []string, id string, fields map[string]any, hidden any) {
	path := c.itemPath(parent, id)
	o := c.generate(path, id, parent, ws.at)
	for k, v := range fields {
		if declares(c.itemSchema.Value, k) || declares(c.elemSchema.Value, k) {
			o.setValue(k, v)
		}
	}
	it, err := newItem(path, id, o.bytes(), hidden)
	if err != nil {
		panic(fmt.Sprintf("veeam: seed %s: %v", path, err))
	}
	ws.add(it)
}

// declares reports whether a schema (or a part of its allOf) has a property.
func declares(s *openapi3.Schema, name string) bool {
	if s == nil {
		return false
	}
	if s.Properties[name] != nil {
		return true
	}
	for _, part := range s.AllOf {
		if declares(part.Value, name) {
			return true
		}
	}
	return false
}

// accountType is RESTProtectedUser.accountType and RESTRbacUser.type of a user's type.
func accountType(t string) string {
	switch t {
	case "Shared":
		return "SharedMailbox"
	case "Public":
		return "PublicMailbox"
	}
	return "User"
}

// buildDirectory adds the organizations' directory, what is protected and licensed,
// restore points, copy jobs and RBAC roles, and the restore sessions' content, from the
// fixtures (see directory.go for the rules).
func buildDirectory(ws *worldState, f Fixtures) {
	orgs := map[string]Organization{}
	backedUp := map[string]bool{} // organizations a job backs up
	for _, o := range f.Organizations {
		orgs[o.ID] = o
	}
	for _, j := range f.Jobs {
		backedUp[j.OrganizationID] = true
	}
	last := func(o Organization) any {
		if o.LastBackupTime != nil {
			return *o.LastBackupTime
		}
		return nil
	}
	users := map[string]User{}
	for _, u := range f.Users {
		users[u.ID] = u
		o := orgs[u.OrganizationID]
		org := []string{u.OrganizationID}
		ws.addFrom(collectionOf("/v8/Organizations/{organizationId}/Users"), org, u.ID, map[string]any{
			"name": u.Name, "displayName": u.DisplayName, "type": u.Type, "locationType": "Cloud", "msid": u.ID, "eTag": 1}, nil)
		if !u.NoOneDrive {
			ws.addFrom(collectionOf("/v8/Organizations/{organizationId}/Users/{userId}/OneDrives"), []string{u.OrganizationID, u.ID}, oneDriveID(u.ID), map[string]any{
				"name": "OneDrive - " + u.DisplayName, "url": oneDriveURL(o, u)}, nil)
		}
		if !backedUp[u.OrganizationID] {
			continue
		}
		ws.addFrom(collectionOf("/v8/ProtectedUsers"), nil, u.ID, map[string]any{
			"msid": u.ID, "displayName": u.DisplayName, "accountType": accountType(u.Type), "organizationId": u.OrganizationID,
			"backedUpOrganizationId": o.BackedUpOrganizationID, "eTag": 1}, nil)
		if u.Type == "User" {
			ws.addFrom(collectionOf("/v8/LicensedUsers"), nil, u.ID, map[string]any{
				"name": u.Name, "isBackedUp": true, "lastBackupDate": last(o), "licenseState": "Licensed",
				"organizationId": u.OrganizationID, "backedUpOrganizationId": o.BackedUpOrganizationID, "organizationName": o.Name}, nil)
		}
	}
	for _, g := range f.Groups {
		ws.addFrom(collectionOf("/v8/Organizations/{organizationId}/Groups"), []string{g.OrganizationID}, g.ID, map[string]any{
			"name": g.Name, "displayName": g.Name, "type": g.Type, "locationType": "Cloud", "msid": g.ID, "eTag": 1}, g.Members)
		if backedUp[g.OrganizationID] {
			ws.addFrom(collectionOf("/v8/ProtectedGroups"), nil, g.ID, map[string]any{"msid": g.ID, "displayName": g.Name,
				"organizationId": g.OrganizationID, "backedUpOrganizationId": orgs[g.OrganizationID].BackedUpOrganizationID, "eTag": 1}, nil)
		}
	}
	for _, s := range f.Sites {
		ws.addFrom(collectionOf("/v8/Organizations/{organizationId}/Sites"), []string{s.OrganizationID}, s.ID, map[string]any{
			"url": s.URL, "name": s.Name, "title": s.Name, "isCloud": true, "isPersonal": false, "isAvailable": true, "msid": s.ID, "eTag": 1}, nil)
		if backedUp[s.OrganizationID] {
			ws.addFrom(collectionOf("/v8/ProtectedSites"), nil, s.ID, map[string]any{"msid": s.ID, "displayName": s.Name, "url": s.URL,
				"organizationId": s.OrganizationID, "backedUpOrganizationId": orgs[s.OrganizationID].BackedUpOrganizationID, "eTag": 1}, nil)
		}
	}
	for _, t := range f.Teams {
		ws.addFrom(collectionOf("/v8/Organizations/{organizationId}/Teams"), []string{t.OrganizationID}, t.ID, map[string]any{
			"displayName": t.DisplayName, "description": t.DisplayName + " team", "msid": t.ID, "eTag": 1}, nil)
		if backedUp[t.OrganizationID] {
			ws.addFrom(collectionOf("/v8/ProtectedTeams"), nil, t.ID, map[string]any{"msid": t.ID, "displayName": t.DisplayName,
				"organizationId": t.OrganizationID, "backedUpOrganizationId": orgs[t.OrganizationID].BackedUpOrganizationID, "eTag": 1}, nil)
		}
	}
	for _, r := range f.RbacRoles {
		ws.addFrom(collectionOf("/v8/RbacRoles"), nil, r.ID, map[string]any{"organizationId": r.OrganizationID, "name": r.Name,
			"description": r.Description, "roleType": "EntireOrganization"}, nil)
		for _, op := range r.Operators {
			u := users[op]
			ws.addFrom(collectionOf("/v8/RbacRoles/{roleId}/operators"), []string{r.ID}, op, map[string]any{"type": "User",
				"user": map[string]any{"id": u.ID, "displayName": u.DisplayName, "name": u.Name, "type": accountType(u.Type)}}, nil)
		}
	}
	if f.License.LicenseID != "" {
		l := f.License
		status, grace := "Valid", any(nil)
		if l.Expires != nil {
			if !l.Expires.After(ws.at) {
				status = "Expired"
			}
			grace = l.Expires.AddDate(0, 1, 0)
		}
		lic := map[string]any{"licenseID": l.LicenseID, "email": l.Email, "status": status, "licenseExpires": l.Expires,
			"gracePeriodExpires": grace, "type": l.Type, "package": "None", "licensedTo": l.LicensedTo, "totalNumber": l.TotalNumber,
			"supportID": l.SupportID}
		b, _ := json.Marshal(lic)
		ws.singletons[strings.ToLower(licensePath)] = b
	}
	// Restore points: one per job session that backed something up.
	jobs := map[string]Job{}
	for _, j := range f.Jobs {
		jobs[j.ID] = j
	}
	for _, js := range f.JobSessions {
		if js.EndTime == nil || (js.Status != "Success" && js.Status != "Warning") {
			continue
		}
		j := jobs[js.JobID]
		o := orgs[j.OrganizationID]
		ws.addFrom(collectionOf("/v8/RestorePoints"), nil, spec.UUID("vbharness/veeam/restorepoint/"+js.ID), map[string]any{
			"isDeleted": false, "repositoryId": js.RepositoryID, "backupTime": *js.EndTime, "jobId": js.JobID, "organizationId": j.OrganizationID,
			"isExchange": o.IsExchangeOnline, "isSharePoint": o.IsSharePointOnline, "isOneDrive": o.IsSharePointOnline, "isTeams": o.IsTeamsOnline,
			"isLongTermCopy": false, "isCopy": false, "isRetrieved": false, "eTag": 1, "objectsEtag": 1}, nil)
	}
	// Copy jobs: one for each of the first two enabled jobs, copying to the next
	// repository. The first runs daily an hour after its backup job last ran
	// (DailyAtTime), its nextRun the next slot of that schedule after the world's start;
	// the second runs right after each backup of its job (Immediate: no nextRun). Each
	// copy took 5 minutes.
	copies := 0
	for i, j := range f.Jobs {
		if copies == 2 || !j.IsEnabled || len(f.Repositories) == 0 {
			continue
		}
		copies++
		var lastRun, lastBackup, next *time.Time
		policy := map[string]any{"type": "Immediate"}
		if j.LastBackup != nil {
			lastRun = j.LastBackup
		}
		if copies == 1 && j.LastRun != nil {
			at := j.LastRun.Add(time.Hour)
			lastRun = &at
			policy = map[string]any{"type": "DailyAtTime", "dailyType": "Everyday", "dailyTime": at.UTC().Format("15:04:05")}
			sp := object{}
			sp.setValue("type", "Daily")
			sp.setValue("dailyTime", policy["dailyTime"])
			sp.setValue("scheduleEnabled", true)
			next = nextRun(sp, ws.at)
		}
		if lastRun != nil {
			end := lastRun.Add(5 * time.Minute)
			lastBackup = &end
		}
		ws.addFrom(collectionOf("/v8/CopyJobs"), nil, fixtureID("copyjob", i), map[string]any{
			"backupJobId": j.ID, "organizationId": j.OrganizationID, "repositoryId": f.Repositories[(i+1)%len(f.Repositories)].ID,
			"name": "Copy of " + j.Name, "schedulePolicy": policy, "lastRun": lastRun, "nextRun": next, "lastBackup": lastBackup,
			"isEnabled": true, "lastStatus": "Success", "eTag": 1}, nil)
	}
}

func oneDriveID(user string) string { return spec.UUID("vbharness/veeam/onedrive/" + user) }

func oneDriveURL(o Organization, u User) string {
	short := strings.SplitN(o.Name, ".", 2)[0]
	return "https://" + short + "-my.sharepoint.com/personal/" + strings.NewReplacer("@", "_", ".", "_").Replace(u.Name)
}
