package veeam

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

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

// worldTime is the clock reading the shared world is generated on: the virtual clock's
// start, around which the fixtures are timed.
var worldTime = clock.DefaultStart

// defaultWorld is the world of DefaultFixtures, built once per process.
var defaultWorld = sync.OnceValue(func() *worldState { return buildWorld(defaultFixtures()) })

// Keys of the world's mock-only singletons.
const restorePortalKey = "#restoreportal"

// buildWorld turns normalised fixtures into a world and seeds the other collections.
func buildWorld(f Fixtures) *worldState {
	table() // derives the collections' schemas
	ws := newWorldState()
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
		must("/v8/RestoreSessions/"+rs.ID, rs.ID, restoreSessionWire(rs, orgNames[rs.OrganizationID]), restoreOwner{OrganizationID: rs.OrganizationID, Tenant: rs.Tenant})
	}
	for _, c := range seedOrder() {
		if c.fixtures {
			continue
		}
		for _, parent := range c.seedParents(ws) {
			for i := range seedPerParent {
				id := c.seedID(parent, i)
				path := c.itemPath(parent, id)
				o := c.generate(path, id, parent, worldTime)
				it, err := newItem(path, id, o.bytes(), nil)
				if err != nil {
					panic(fmt.Sprintf("veeam: seed %s: %v", path, err))
				}
				ws.add(it)
			}
		}
	}
	return ws
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

// restoreOwner is a restore session's mock-only fields: its organization and whether a
// tenant of it started the session (which makes it that tenant's own).
type restoreOwner struct {
	OrganizationID string
	Tenant         bool
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
