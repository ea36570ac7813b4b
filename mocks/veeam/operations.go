package veeam

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/vbharness/vbharness/mocks/veeam/spec"
)

// callers is who may call an operation: a set of principal kinds.
type callers uint8

const (
	admins callers = 1 << iota
	tenants
	operators
	anyToken = admins | tenants | operators
)

func (c callers) has(k principalKind) bool {
	switch k {
	case kindAdmin:
		return c&admins != 0
	case kindTenant:
		return c&tenants != 0
	}
	return c&operators != 0
}

// handler serves one operation. It returns the status and body for the one writer
// (Server.write), or an error.
type handler func(s *Server, rq *request) (int, any, *apiError)

// operation is the table's decision for one operation: who may call it and what answers
// it. The table is built once per process from the document (buildTable) and shared by
// every server.
type operation struct {
	op *spec.Operation
	// who may call it; 0 is anonymous (the document's x-anonymous).
	who callers
	// own limits tenants and operators to their own restore session (the path's
	// restoreSessionId).
	own bool
	// mounted marks the content and actions under a restore session's organization,
	// which a stopped session refuses (mountedSession).
	mounted bool
	// handle answers it.
	handle handler
	// how says what answers it, for docs/veeam-mock.md's coverage table: "handler",
	// "collection", "singleton" or "generated".
	how string
	// coll is the collection a collection operation serves.
	coll *collection
	// ancestors are the collection items the path names, each checked to exist (404
	// ResourceNotFound) before the handler runs.
	ancestors []ancestor
	// oauth marks the token endpoint: its own validation, OAuth-style errors.
	oauth bool
	// get is the GET operation at a settings singleton's path: its schema is what PUT
	// merges into and DELETE restores.
	get *spec.Operation
	// fromPath are the properties a generated GET …/{id} answer takes from its path
	// (pathProperties), so the object answered is the one asked for.
	fromPath []pathProperty
}

// pathProperty is a top-level property of an answer that holds one of the path's
// variables: the variable's index, the property, whether it holds a number, and whether
// the value is a GUID (served in lower case).
type pathProperty struct {
	index   int
	name    string
	integer bool
	guid    bool
}

// pathProperties decides, for a generated GET on a path that ends in a variable, which
// properties of the answer hold the path's variables: the object's own key, named by the
// last variable (the property named like it, else name for a …Name variable, else id),
// and the properties named like the other variables (teamId, channelId). Nil for other
// operations.
func pathProperties(op *spec.Operation) []pathProperty {
	if op.Method != http.MethodGet || !strings.HasSuffix(op.Path, "}") || op.Response == nil || op.Media != "application/json" {
		return nil
	}
	s := op.Response.Value
	if s.Type.Is(openapi3.TypeArray) && s.Items != nil {
		s = s.Items.Value
	}
	props := map[string]*openapi3.SchemaRef{}
	var add func(s *openapi3.Schema)
	add = func(s *openapi3.Schema) {
		for name, p := range s.Properties {
			props[name] = p
		}
		for _, part := range s.AllOf {
			if part.Value != nil {
				add(part.Value)
			}
		}
	}
	add(s)
	if props["results"] != nil {
		return nil // a page
	}
	vars := templateVars(op.Path)
	var out []pathProperty
	use := func(i int, name string) {
		if p := props[name]; p != nil && p.Value != nil {
			guid := p.Value.Format == "uuid"
			if i < len(op.PathParams) && op.PathParams[i].Schema != nil {
				guid = guid || op.PathParams[i].Schema.Value.Format == "uuid"
			}
			out = append(out, pathProperty{index: i, name: name, integer: p.Value.Type.Is(openapi3.TypeInteger), guid: guid})
		}
	}
	last := len(vars) - 1
	for i, v := range vars[:last] {
		if v != "id" && v != vars[last] { // a bare {id} is the parent's own id, not a property of the child
			use(i, v)
		}
	}
	switch v := vars[last]; {
	case props[v] != nil:
		use(last, v)
	case strings.HasSuffix(strings.ToLower(v), "name"):
		use(last, "name")
	default:
		use(last, "id")
	}
	return out
}

// ancestor is a collection item a path names: its collection and how many of the
// path's variables lead to it (the last is its id).
type ancestor struct {
	c    *collection
	vars int
}

// handWritten is the table's hand-written part: operations with behaviour of their own,
// or callers other than administrators. Every other operation is served by its
// collection, as a settings singleton, or by a value generated from the document, for
// administrators; every operation under /v8/RestoreSessions/{restoreSessionId} is open
// to the session's own tenants and operators too.
var handWritten = map[string]operation{
	"token":                     {handle: (*Server).token, oauth: true},
	"logout":                    {who: anyToken, handle: (*Server).logout},
	"Health_Get":                {handle: (*Server).health},
	"RestorePortalSettings_Get": {handle: (*Server).restorePortalSettings},
	"ServiceInstance_Get":       {who: admins, handle: (*Server).getSingleton, how: "singleton"},

	// Actions with their effect (actions.go); long work runs on the clock (clocked.go).
	"Job_StartAction":   {who: admins, handle: (*Server).startJob},
	"Job_StopAction":    {who: admins, handle: (*Server).stopJob},
	"Job_EnableAction":  {who: admins, handle: (*Server).enableJob},
	"Job_DisableAction": {who: admins, handle: (*Server).disableJob},
	"CopyJob_Start":     {who: admins, handle: (*Server).startJob},
	"CopyJob_Stop":      {who: admins, handle: (*Server).stopJob},
	"CopyJob_Enable":    {who: admins, handle: (*Server).enableJob},
	"CopyJob_Disable":   {who: admins, handle: (*Server).disableJob},

	"BackupRepository_StartSynchronizeAction":             {who: admins, handle: (*Server).syncRepository},
	"RepositorySynchronizeSessions_StopSynchronizeAction": {who: admins, handle: (*Server).stopRepositorySync},
	"OrganizationSync_Start":                              {who: admins, handle: (*Server).syncOrganization},
	"OrganizationSync_GetState":                           {who: admins, handle: (*Server).getSyncState},
	"OrganizationSync_GetStates":                          {who: admins, handle: (*Server).getSyncStates},
	"Proxy_RescanAction":                                  {who: admins, handle: (*Server).rescanProxy},
	"Proxy_Rescan":                                        {who: admins, handle: (*Server).rescanProxies},
	"Proxy_EnableMaintenanceAction":                       {who: admins, handle: (*Server).enableMaintenance},
	"Proxy_DisableMaintenanceAction":                      {who: admins, handle: (*Server).disableMaintenance},
	"License_Get":                                         {who: admins, handle: (*Server).getLicense},
	"License_InstallAction":                               {who: admins, handle: (*Server).installLicense},
	"License_UpdateAction":                                {who: admins, handle: (*Server).updateLicense},
	"OrganizationLicensingInformation_GetLicenseCount":    {who: admins, handle: (*Server).licensingInformation},
	"LicenseStatistic_GetUsage":                           {who: admins, handle: (*Server).licenseUsage},
	"Organization_GetStorageSpaceUsage":                   {who: admins, handle: (*Server).usedRepositories},
	"OrganizationGroupMember_Get":                         {who: admins, handle: (*Server).groupMembers},
	"Reports_GenerateLicenseOverviewAction":               {who: admins, handle: (*Server).generateReport},
	"Reports_GenerateStorageConsumptionAction":            {who: admins, handle: (*Server).generateReport},
	"Reports_GenerateOneDriveProtectionAction":            {who: admins, handle: (*Server).generateReport},
	"Reports_GenerateTeamsProtectionAction":               {who: admins, handle: (*Server).generateReport},
	"Reports_GenerateMailboxProtectionAction":             {who: admins, handle: (*Server).generateReport},
	"Reports_GenerateSharepointProtectionAction":          {who: admins, handle: (*Server).generateReport},
	"Reports_GenerateUserProtectionAction":                {who: admins, handle: (*Server).generateReport},

	// Restore sessions (restore.go): administrators explore any organization; tenants
	// and operators reach their organization and their own restore sessions, operators
	// within their RBAC roles' scope; administrators are refused the tenant routes
	// (veeam.md §4.2).
	"Organization_Explore":                           {who: admins, handle: (*Server).exploreByOrganization},
	"Job_ExploreAction":                              {who: admins, handle: (*Server).exploreByJob},
	"BackupRepository_Explore":                       {who: admins, handle: (*Server).exploreByRepository},
	"DataRetrieval_ExploreAction":                    {who: admins, handle: (*Server).exploreRetrieval},
	"Organization_GetCurrentOrganization":            {who: tenants | operators, handle: (*Server).currentOrganization},
	"RestoreSession_ExploreAction":                   {who: tenants | operators, handle: (*Server).exploreOrganization},
	"RestoreSession_GetPage":                         {who: anyToken, handle: (*Server).listRestoreSessions},
	"RestoreSession_StopAction":                      {who: anyToken, own: true, handle: (*Server).stopRestoreSession},
	"RestoreSession_OperatorExploreAction":           {who: operators, handle: (*Server).operatorExplore},
	"RbacRole_GetByOrganization":                     {who: admins, handle: (*Server).rolesOfOrganization},
	"RbacRole_Add":                                   {who: admins, handle: (*Server).addRole},
	"RestoreSession_GetRestoreStatistics":            {who: anyToken, own: true, handle: (*Server).restoreStatistics},
	"OrganizationRbac_GetLoggedInUser":               {who: operators, handle: (*Server).loggedInUser},
	"OrganizationRbac_GetLoggedInUserOperatorInfo":   {who: operators},
	"OrganizationRbac_GetLoggedInUserEffectiveScope": {who: operators},
	"OrganizationRbac_GetLoggedInUserRestorePoints":  {who: operators},
}

// restoreSessionScope is the path prefix of a restore session's own operations.
const restoreSessionScope = "/v8/restoresessions/{}"

// routeTable is the document as routes: the tree requests are resolved in, and every
// operation by operationId.
type routeTable struct {
	tree  *routeNode
	byID  map[string]*route
	order []*route // the document's order
}

var tableOnce struct {
	sync.Once
	t *routeTable
}

// table returns the route table, built once per process. The document and the
// declarations are constants, and every test builds the table, so a failure here is a
// broken build.
func table() *routeTable {
	tableOnce.Do(func() {
		t, err := buildTable(spec.Doc())
		if err != nil {
			panic("veeam: " + err.Error())
		}
		tableOnce.t = t
	})
	return tableOnce.t
}

func buildTable(d *spec.Document) (*routeTable, error) {
	byShape := map[string][]*spec.Operation{}
	shapes := make(map[*spec.Operation]string, len(d.Operations))
	for _, op := range d.Operations {
		shapes[op] = shape(op.Path)
		byShape[shapes[op]] = append(byShape[shapes[op]], op)
	}
	itemShapes := map[string]*collection{}
	for _, c := range collections {
		if err := c.derive(d, byShape); err != nil {
			return nil, fmt.Errorf("collection %s: %w", c.list, err)
		}
		itemShapes[c.itemShape] = c
	}
	for _, c := range collections {
		c.parent = parentOf(c.list, itemShapes)
	}
	singletons := map[string]bool{}
	for sh, ops := range byShape {
		if _, isColl := itemShapes[sh]; isColl {
			continue
		}
		var get, put bool
		for _, op := range ops {
			get = get || (op.Method == http.MethodGet && op.Response != nil && !op.Response.Value.Type.Is("array") && op.Response.Value.Properties["results"] == nil)
			put = put || op.Method == http.MethodPut
		}
		singletons[sh] = get && put && !isCollectionList(sh)
	}

	t := &routeTable{tree: &routeNode{}, byID: map[string]*route{}}
	for _, op := range d.Operations {
		o := resolveOperation(op, shapes[op], itemShapes, singletons)
		for _, other := range byShape[shapes[op]] {
			if other.Method == http.MethodGet {
				o.get = other
			}
		}
		if o.how == "generated" {
			o.fromPath = pathProperties(op)
		}
		rt := &route{method: op.Method, template: op.Path, operation: &o}
		t.tree.add(rt)
		t.byID[op.ID] = rt
		t.order = append(t.order, rt)
	}
	for _, c := range collections {
		if c.listOp == nil {
			return nil, fmt.Errorf("collection %s has no list operation", c.list)
		}
	}
	t.tree.add(&route{method: http.MethodGet, template: swaggerPath, operation: &operation{handle: (*Server).swagger, how: "document"}})
	return t, nil
}

// isCollectionList reports whether a shape is a declared collection's list.
func isCollectionList(sh string) bool {
	for _, c := range collections {
		if c.listShape == sh {
			return true
		}
	}
	return false
}

// parentOf finds the collection whose item path a list path extends.
func parentOf(list string, itemShapes map[string]*collection) *collection {
	sh := shape(list)
	var best *collection
	for s, c := range itemShapes {
		if strings.HasPrefix(sh, s+"/") && (best == nil || len(s) > len(best.itemShape)) {
			best = c
		}
	}
	return best
}

// resolveOperation decides one operation: the hand-written entry, else its collection,
// else a singleton, else generated; access from x-anonymous, the entry, the restore
// session scope, else administrators.
func resolveOperation(op *spec.Operation, sh string, itemShapes map[string]*collection, singletons map[string]bool) operation {
	o, written := handWritten[op.ID]
	o.op = op
	if written && o.handle != nil && o.how == "" {
		o.how = "handler"
	}
	if o.handle == nil {
		o.handle, o.how = (*Server).generated, "generated"
		for _, c := range collections {
			if h := c.handlerFor(op.Method, sh); h != nil {
				o.handle, o.how, o.coll = h, "collection", c
				break
			}
		}
		if o.coll == nil && singletons[sh] {
			switch op.Method {
			case http.MethodGet:
				o.handle, o.how = (*Server).getSingleton, "singleton"
			case http.MethodPut:
				o.handle, o.how = (*Server).putSingleton, "singleton"
			case http.MethodDelete:
				o.handle, o.how = (*Server).deleteSingleton, "singleton"
			}
		}
	}
	switch {
	case op.Anonymous:
		o.who = 0
	case written && o.who != 0:
	case sh == restoreSessionScope || strings.HasPrefix(sh, restoreSessionScope+"/"):
		o.who, o.own = anyToken, true
	default:
		o.who = admins
	}
	o.mounted = strings.HasPrefix(sh, restoreSessionScope+"/organization")
	if h := restoreActionOf(&o); h != nil && !written {
		o.handle, o.how = h, "handler"
	}
	if o.mounted && !written && op.Method == http.MethodPost && searchScopes[searchShape(op.Path)] != nil {
		o.handle, o.how = (*Server).searchContent, "handler"
	}
	// The items the path names, outermost first.
	for s, c := range itemShapes {
		if sh == s || strings.HasPrefix(sh, s+"/") {
			o.ancestors = append(o.ancestors, ancestor{c: c, vars: variables(c.item)})
		}
	}
	slices.SortFunc(o.ancestors, func(a, b ancestor) int { return a.vars - b.vars })
	return o
}

// handlerFor returns the generic handler that serves op on this collection, or nil.
func (c *collection) handlerFor(method, sh string) handler {
	switch {
	case sh == c.listShape:
		switch method {
		case http.MethodGet:
			return (*Server).listItems
		case http.MethodPost:
			return (*Server).createItem
		case http.MethodDelete:
			return (*Server).removeItems
		}
	case sh == c.itemShape:
		switch method {
		case http.MethodGet:
			return (*Server).getItem
		case http.MethodPut, http.MethodPatch:
			return (*Server).updateItem
		case http.MethodDelete:
			return (*Server).removeItem
		}
	}
	return nil
}
