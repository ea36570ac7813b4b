package veeam

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/vbharness/vbharness/mocks/veeam/spec"
)

// collection is one resource collection of the document: a list path and an item path
// under it. Each is declared once, in collections below; the rest is read from the
// document when the table is built (derive): the id parameter, the parent collection
// (the one whose item path the list path starts with), the item and list schemas, whether
// the list is a PageOf envelope or a plain array, whether it takes setId, and the
// document's query filters that name a property of the item (matched for equality,
// case-insensitively). The generic handlers below serve every operation on those two
// paths: list, get by id, create, update, delete, and the bulk add and remove of lists
// such as a job's selected items.
type collection struct {
	// list and item are the two path templates, as the document spells them.
	list, item string
	// idField is the property that holds the id (default "id").
	idField string
	// parentField is the property that holds the parent item's id where its name is not
	// the parent's variable: a version's id is its document's (…/Documents/{documentId}/
	// Versions/{versionId} answers the document at that version).
	parentField string
	// kind is what messages call an item ("Job session"); default: the list's last
	// segment, singular, in words.
	kind string
	// filters are query parameters the derived equality filters do not cover, or cover
	// wrongly; they replace derived ones of the same name.
	filters []filter
	// links are the _links besides self: relation → href, with {field} replaced by the
	// item's field (a link whose field is empty is left out).
	links map[string]string
	// linkFor overrides a relation's href for one item, e.g. a copy job's session links
	// its job under /v8/CopyJobs; "" keeps the template's.
	linkFor func(rel string, it *item) string
	// refs are fields that name an item of another list (field → list path): creating or
	// updating an item that names a missing one is refused with 404, so every link the
	// item's _links then carries leads somewhere [I: a real server cannot back up an
	// organization it does not hold].
	refs map[string]string
	// owns are items of other lists that go with an item when it is deleted (list →
	// the field of theirs that names it): a job's sessions [A].
	owns map[string]string
	// check refuses a create request (or an element of a bulk add) the document lets
	// through but the server would not (a data retrieval of an organization it does not
	// hold, a job's selected user that is not in its organization), before anything is
	// stored.
	check func(s *Server, rq *request, given object) *apiError
	// afterCreate acts on a new item once it is stored (a job created with runNow
	// starts) and returns it as it then is.
	afterCreate func(s *Server, rq *request, it *item) *item
	// derives are optional properties the server fills in for a new item, generated (a
	// repository's capacity and free space, which the server measures).
	derives []string
	// created sets what the server derives for a new item beyond its id and eTag (a
	// job's nextRun), after the client's fields are in.
	created func(o *object, now time.Time)
	// unique is a property no two items of one list may share, compared
	// case-insensitively: POST or a PUT that would make two is refused with 400
	// OperationConflict [A: what a real server checks, and its message, are not in the
	// record; names that identify what a client manages are unique in the console].
	unique string
	// order sorts a list in place (default: the order items were added in).
	order func(items []*item)
	// view changes what is served of an item for a request (extendedView).
	view func(rq *request, o object) object
	// viewVariant names what view's answer depends on in a request: two requests with the
	// same variant see the same view of an item, so its rendering is kept (see render).
	// A view without one is rendered for every request.
	viewVariant func(rq *request) string
	// fixtures marks a collection filled from Fixtures rather than generated.
	fixtures bool

	// Derived by derive.
	listShape  string // shape(list)
	itemShape  string // shape(item)
	parent     *collection
	idParam    string
	listVars   int // variables of the list template (the parents' ids)
	itemSchema *openapi3.SchemaRef
	elemSchema *openapi3.SchemaRef
	arrayList  bool
	setID      bool
	idKind     string // "uuid", "integer" or "string"
	itemLinks  bool   // the item schema has _links
	elemLinks  bool   // the list element's schema has _links
	listOp     *spec.Operation
	itemGet    *spec.Operation // GET on the item path; its required query goes into self links
}

// filter matches items against a query parameter: by field equality
// (case-insensitive), or by match.
type filter struct {
	query string
	field string
	match func(rq *request, it *item, value string) bool
}

// collections are every list/item pair of the v8 document. TestEveryCollectionIsDeclared
// checks none is missing. Adding one is one line here; see docs/veeam-mock.md, "Where to
// add things".
var collections = []*collection{
	{list: "/v8/Organizations", item: "/v8/Organizations/{organizationId}", fixtures: true, view: organizationView, viewVariant: extendedView, unique: "name",
		links: map[string]string{"jobs": "/v8/Jobs?organizationId={id}", "usedRepositories": "/v8/Organizations/{id}/usedRepositories"}},
	{list: "/v8/Jobs", item: "/v8/Jobs/{jobId}", fixtures: true, unique: "name", created: newJob /* afterCreate: jobCreated (set in backup.go, an initialisation cycle here) */, owns: map[string]string{"/v8/JobSessions": "jobId"}, links: map[string]string{
		"organization": "/v8/Organizations/{organizationId}", "backupRepository": "/v8/BackupRepositories/{repositoryId}",
		"jobsessions": "/v8/JobSessions?jobId={id}"},
		refs: map[string]string{"organizationId": "/v8/Organizations", "repositoryId": "/v8/BackupRepositories"}},
	{list: "/v8/JobSessions", item: "/v8/JobSessions/{jobSessionsId}", fixtures: true, order: newestFirst,
		links: map[string]string{"job": "/v8/Jobs/{jobId}"}, linkFor: copyJobLink, filters: []filter{
			{query: "status", match: jobSessionStatus},
			{query: "endTimeLowerBound", match: timeBound("endTime", false)},
			{query: "endTimeUpperBound", match: timeBound("endTime", true)}}},
	{list: "/v8/BackupRepositories", item: "/v8/BackupRepositories/{repositoryId}", fixtures: true, unique: "name", derives: []string{"capacityBytes", "freeSpaceBytes"},
		links: map[string]string{"proxy": "/v8/Proxies/{proxyId}"}, refs: map[string]string{"proxyId": "/v8/Proxies"}, filters: []filter{
			{query: "organizationId", match: usedByOrganization},
			{query: "longTerm", field: "isLongTerm"}}},
	{list: "/v8/Proxies", item: "/v8/Proxies/{proxyId}", fixtures: true, unique: "hostName"},
	{list: "/v8/RestoreSessions", item: "/v8/RestoreSessions/{restoreSessionId}", fixtures: true,
		links: map[string]string{"organization": "/v8/RestoreSessions/{id}/organization"}},

	{list: "/v8/Accounts", item: "/v8/Accounts/{accountId}"},
	{list: "/v8/AzureServiceAccounts", item: "/v8/AzureServiceAccounts/{id}"},
	{list: "/v8/AzureServiceAccounts/{serviceAccountId}/Subscriptions", item: "/v8/AzureServiceAccounts/{serviceAccountId}/Subscriptions/{subscriptionId}", idField: "subscriptionId"},
	{list: "/v8/AzureServiceAccounts/{serviceAccountId}/Subscriptions/{subscriptionId}/ResourceGroups", item: "/v8/AzureServiceAccounts/{serviceAccountId}/Subscriptions/{subscriptionId}/ResourceGroups/{resourceGroupName}", idField: "name"},
	{list: "/v8/AzureServiceAccounts/{serviceAccountId}/Subscriptions/{subscriptionId}/Locations", item: "/v8/AzureServiceAccounts/{serviceAccountId}/Subscriptions/{subscriptionId}/Locations/{locationName}", idField: "name"},
	{list: "/v8/AzureServiceAccounts/{serviceAccountId}/Subscriptions/{subscriptionId}/Locations/{locationName}/VirtualMachineSizes", item: "/v8/AzureServiceAccounts/{serviceAccountId}/Subscriptions/{subscriptionId}/Locations/{locationName}/VirtualMachineSizes/{vmSizeName}", idField: "name"},
	{list: "/v8/AzureServiceAccounts/{serviceAccountId}/Subscriptions/{subscriptionId}/ResourceGroups/{resourceGroupName}/VirtualNetworks", item: "/v8/AzureServiceAccounts/{serviceAccountId}/Subscriptions/{subscriptionId}/ResourceGroups/{resourceGroupName}/VirtualNetworks/{virtualNetworkName}", idField: "name"},
	{list: "/v8/AzureServiceAccounts/{serviceAccountId}/Subscriptions/{subscriptionId}/ResourceGroups/{resourceGroupName}/VirtualNetworks/{virtualNetworkName}/Subnets", item: "/v8/AzureServiceAccounts/{serviceAccountId}/Subscriptions/{subscriptionId}/ResourceGroups/{resourceGroupName}/VirtualNetworks/{virtualNetworkName}/Subnets/{subnetName}", idField: "name"},
	{list: "/v8/S3CompatibleResources/buckets", item: "/v8/S3CompatibleResources/buckets/{Name}", idField: "name"},
	{list: "/v8/S3CompatibleResources/buckets/{bucketName}/folders", item: "/v8/S3CompatibleResources/buckets/{bucketName}/folders/{Name}", idField: "name"},
	{list: "/v8/S3Resources/buckets", item: "/v8/S3Resources/buckets/{Name}", idField: "name"},
	{list: "/v8/S3Resources/buckets/{bucketName}/folders", item: "/v8/S3Resources/buckets/{bucketName}/folders/{Name}", idField: "name"},
	{list: "/v8/AzureResources/containers", item: "/v8/AzureResources/containers/{Name}", idField: "name"},
	{list: "/v8/AzureResources/containers/{containerName}/folders", item: "/v8/AzureResources/containers/{containerName}/folders/{Name}", idField: "name"},
	{list: "/v8/EC2Resources/InstanceType", item: "/v8/EC2Resources/InstanceType/{instanceTypeName}", idField: "type"}, // RESTAmazonInstanceType has no name: its type is the name
	{list: "/v8/EC2Resources/VirtualPrivateCloud", item: "/v8/EC2Resources/VirtualPrivateCloud/{name}", idField: "name"},
	{list: "/v8/EC2Resources/VirtualPrivateCloud/{id}/Subnets", item: "/v8/EC2Resources/VirtualPrivateCloud/{id}/Subnets/{subnetName}", idField: "name"},
	{list: "/v8/EC2Resources/VirtualPrivateCloud/{id}/SecurityGroup", item: "/v8/EC2Resources/VirtualPrivateCloud/{id}/SecurityGroup/{securityGroupName}", idField: "name"},
	{list: "/v8/BackupRepositories/{repositoryId}/GroupData", item: "/v8/BackupRepositories/{repositoryId}/GroupData/{groupId}"},
	{list: "/v8/BackupRepositories/{repositoryId}/OrganizationData", item: "/v8/BackupRepositories/{repositoryId}/OrganizationData/{organizationId}", idField: "organizationId"},
	{list: "/v8/BackupRepositories/{repositoryId}/SiteData", item: "/v8/BackupRepositories/{repositoryId}/SiteData/{siteId}"},
	{list: "/v8/BackupRepositories/{repositoryId}/OneDriveData", item: "/v8/BackupRepositories/{repositoryId}/OneDriveData/{oneDriveId}"},
	{list: "/v8/BackupRepositories/{repositoryId}/MailboxData", item: "/v8/BackupRepositories/{repositoryId}/MailboxData/{mailboxId}"},
	{list: "/v8/BackupRepositories/{repositoryId}/TeamData", item: "/v8/BackupRepositories/{repositoryId}/TeamData/{teamId}"},
	{list: "/v8/BackupRepositories/{repositoryId}/UserData", item: "/v8/BackupRepositories/{repositoryId}/UserData/{userId}"},
	{list: "/v8/CopyJobs", item: "/v8/CopyJobs/{id}", fixtures: true, unique: "name", created: newCopyJob /* afterCreate: jobCreated, as for jobs */, owns: map[string]string{"/v8/JobSessions": "jobId"},
		refs: map[string]string{"backupJobId": "/v8/Jobs", "repositoryId": "/v8/BackupRepositories"}},
	{list: "/v8/DataRetrievals", item: "/v8/DataRetrievals/{dataRetrievalId}", refs: map[string]string{"repositoryId": "/v8/BackupRepositories"},
		links: map[string]string{"sessions": "/v8/DataRetrievalSessions?dataRetrievalId={id}"} /* check, afterCreate: retrieval.go */},
	{list: "/v8/DataRetrievalSessions", item: "/v8/DataRetrievalSessions/{dataRetrievalSessionId}", order: newestFirst,
		links: map[string]string{"retrieval": "/v8/DataRetrievals/{retrievalId}"}, filters: []filter{{query: "dataRetrievalId", field: "retrievalId"}}},
	{list: "/v8/DataRetrievalSessions/{sessionId}/LogItems", item: "/v8/DataRetrievalSessions/{sessionId}/LogItems/{logItemId}"},
	{list: "/v8/EncryptionKeys", item: "/v8/EncryptionKeys/{keyId}"},
	{list: "/v8/Jobs/{jobId}/SelectedItems", item: "/v8/Jobs/{jobId}/SelectedItems/{itemId}"},
	{list: "/v8/Jobs/{jobId}/ExcludedItems", item: "/v8/Jobs/{jobId}/ExcludedItems/{itemId}"},
	{list: "/v8/JobSessions/{sessionId}/LogItems", item: "/v8/JobSessions/{sessionId}/LogItems/{logItemId}"},
	{list: "/v8/LicensedUsers", item: "/v8/LicensedUsers/{licensedUserId}", fixtures: true},
	{list: "/v8/Organizations/{organizationId}/Groups", item: "/v8/Organizations/{organizationId}/Groups/{groupId}", fixtures: true},
	{list: "/v8/Organizations/{organizationId}/Sites", item: "/v8/Organizations/{organizationId}/Sites/{siteId}", fixtures: true},
	{list: "/v8/Organizations/{organizationId}/Teams", item: "/v8/Organizations/{organizationId}/Teams/{teamId}", fixtures: true},
	{list: "/v8/Organizations/{organizationId}/Users", item: "/v8/Organizations/{organizationId}/Users/{userId}", fixtures: true},
	{list: "/v8/Organizations/{organizationId}/Users/{userId}/OneDrives", item: "/v8/Organizations/{organizationId}/Users/{userId}/OneDrives/{onedriveId}", fixtures: true},
	{list: "/v8/ProxyPools", item: "/v8/ProxyPools/{poolId}", unique: "name"},
	{list: "/v8/RbacRoles", item: "/v8/RbacRoles/{roleId}", fixtures: true, unique: "name"},
	{list: "/v8/RbacRoles/{roleId}/operators", item: "/v8/RbacRoles/{roleId}/operators/{operatorId}", fixtures: true},
	{list: "/v8/RbacRoles/{roleId}/selectedItems", item: "/v8/RbacRoles/{roleId}/selectedItems/{itemId}"},
	{list: "/v8/RbacRoles/{roleId}/excludedItems", item: "/v8/RbacRoles/{roleId}/excludedItems/{itemId}"},
	{list: "/v8/RepositorySynchronizeSessions", item: "/v8/RepositorySynchronizeSessions/{sessionId}"},
	{list: "/v8/RepositoryOwnerChangeSessions", item: "/v8/RepositoryOwnerChangeSessions/{sessionId}"},
	{list: "/v8/RestorePoints", item: "/v8/RestorePoints/{restorePointId}", fixtures: true},
	{list: "/v8/ProtectedUsers", item: "/v8/ProtectedUsers/{protectedUserId}", fixtures: true},
	{list: "/v8/ProtectedGroups", item: "/v8/ProtectedGroups/{protectedGroupId}", fixtures: true},
	{list: "/v8/ProtectedSites", item: "/v8/ProtectedSites/{protectedSiteId}", fixtures: true},
	{list: "/v8/ProtectedTeams", item: "/v8/ProtectedTeams/{protectedTeamId}", fixtures: true},
	{list: "/v8/RestoreSessions/{restoreSessionId}/Events", item: "/v8/RestoreSessions/{restoreSessionId}/Events/{eventId}"},
	{list: "/v8/RestoreSessions/{restoreSessionId}/organization/mailboxes", item: "/v8/RestoreSessions/{restoreSessionId}/organization/mailboxes/{mailboxId}", fixtures: true},
	{list: "/v8/RestoreSessions/{restoreSessionId}/organization/mailboxes/{mailboxId}/folders", item: "/v8/RestoreSessions/{restoreSessionId}/organization/mailboxes/{mailboxId}/folders/{folderId}", filters: byParent},
	{list: "/v8/RestoreSessions/{restoreSessionId}/organization/mailboxes/{mailboxId}/items", item: "/v8/RestoreSessions/{restoreSessionId}/organization/mailboxes/{mailboxId}/items/{itemId}", filters: byParent},
	{list: "/v8/RestoreSessions/{restoreSessionId}/Organization/OneDrives", item: "/v8/RestoreSessions/{restoreSessionId}/Organization/OneDrives/{oneDriveId}", fixtures: true},
	{list: "/v8/RestoreSessions/{restoreSessionId}/Organization/OneDrives/{oneDriveId}/Documents", item: "/v8/RestoreSessions/{restoreSessionId}/Organization/OneDrives/{oneDriveId}/Documents/{documentId}", filters: byParent},
	{list: "/v8/RestoreSessions/{restoreSessionId}/Organization/OneDrives/{oneDriveId}/Documents/{documentId}/Versions", item: "/v8/RestoreSessions/{restoreSessionId}/Organization/OneDrives/{oneDriveId}/Documents/{documentId}/Versions/{versionId}", idField: "versionId", parentField: "id"},
	{list: "/v8/RestoreSessions/{restoreSessionId}/Organization/OneDrives/{oneDriveId}/Folders", item: "/v8/RestoreSessions/{restoreSessionId}/Organization/OneDrives/{oneDriveId}/Folders/{folderId}", filters: byParent},
	{list: "/v8/RestoreSessions/{restoreSessionId}/Organization/OneDrives/{oneDriveId}/Folders/{folderId}/Versions", item: "/v8/RestoreSessions/{restoreSessionId}/Organization/OneDrives/{oneDriveId}/Folders/{folderId}/Versions/{versionId}", idField: "versionId", parentField: "id"},
	{list: "/v8/RestoreSessions/{restoreSessionId}/Organization/Sites", item: "/v8/RestoreSessions/{restoreSessionId}/Organization/Sites/{siteId}", fixtures: true},
	{list: "/v8/RestoreSessions/{restoreSessionId}/Organization/Sites/{siteId}/Documents", item: "/v8/RestoreSessions/{restoreSessionId}/Organization/Sites/{siteId}/Documents/{documentId}", filters: byParent},
	{list: "/v8/RestoreSessions/{restoreSessionId}/Organization/Sites/{siteId}/Documents/{documentId}/Versions", item: "/v8/RestoreSessions/{restoreSessionId}/Organization/Sites/{siteId}/Documents/{documentId}/Versions/{versionId}", idField: "versionId", parentField: "id"},
	{list: "/v8/RestoreSessions/{restoreSessionId}/Organization/Sites/{siteId}/Folders", item: "/v8/RestoreSessions/{restoreSessionId}/Organization/Sites/{siteId}/Folders/{folderId}", filters: byParent},
	{list: "/v8/RestoreSessions/{restoreSessionId}/Organization/Sites/{siteId}/Folders/{folderId}/Versions", item: "/v8/RestoreSessions/{restoreSessionId}/Organization/Sites/{siteId}/Folders/{folderId}/Versions/{versionId}", idField: "versionId", parentField: "id"},
	{list: "/v8/RestoreSessions/{restoreSessionId}/Organization/Sites/{siteId}/Items", item: "/v8/RestoreSessions/{restoreSessionId}/Organization/Sites/{siteId}/Items/{itemId}", filters: byParent},
	{list: "/v8/RestoreSessions/{restoreSessionId}/Organization/Sites/{siteId}/Items/{itemId}/Versions", item: "/v8/RestoreSessions/{restoreSessionId}/Organization/Sites/{siteId}/Items/{itemId}/Versions/{versionId}", idField: "versionId", parentField: "id"},
	{list: "/v8/RestoreSessions/{restoreSessionId}/Organization/Sites/{siteId}/Items/{itemId}/Attachments", item: "/v8/RestoreSessions/{restoreSessionId}/Organization/Sites/{siteId}/Items/{itemId}/Attachments/{attachmentId}"},
	{list: "/v8/RestoreSessions/{restoreSessionId}/Organization/Sites/{siteId}/Libraries", item: "/v8/RestoreSessions/{restoreSessionId}/Organization/Sites/{siteId}/Libraries/{libraryId}"},
	{list: "/v8/RestoreSessions/{restoreSessionId}/Organization/Sites/{siteId}/Lists", item: "/v8/RestoreSessions/{restoreSessionId}/Organization/Sites/{siteId}/Lists/{listId}"},
	{list: "/v8/RestoreSessions/{restoreSessionId}/organization/teams", item: "/v8/RestoreSessions/{restoreSessionId}/organization/teams/{teamId}", fixtures: true},
	{list: "/v8/RestoreSessions/{restoreSessionId}/organization/teams/{teamId}/channels", item: "/v8/RestoreSessions/{restoreSessionId}/organization/teams/{teamId}/channels/{channelId}", fixtures: true},
	{list: "/v8/RestoreSessions/{restoreSessionId}/organization/teams/{teamId}/channels/{channelId}/tabs", item: "/v8/RestoreSessions/{restoreSessionId}/organization/teams/{teamId}/channels/{channelId}/tabs/{tabId}", fixtures: true},
	{list: "/v8/RestoreSessions/{restoreSessionId}/organization/teams/{teamId}/posts", item: "/v8/RestoreSessions/{restoreSessionId}/organization/teams/{teamId}/posts/{postId}", idField: "postId"},
}

// byParent is the parentId filter of restore session content: the folder, list or
// library an item is in (content.go).
var byParent = []filter{{query: "parentId", match: contentParent}}

// shape reduces a template to its shape, so templates that differ only in variable
// names and case compare equal: "/v8/jobs/{}".
func shape(template string) string {
	segs := strings.Split(strings.ToLower(template), "/")
	for i, s := range segs {
		if strings.HasPrefix(s, "{") {
			segs[i] = "{}"
		}
	}
	return strings.Join(segs, "/")
}

// variables counts a template's variables.
func variables(template string) int { return strings.Count(template, "{") }

// --- the generic handlers ---

// listPath is the path of the list a request names (its parents' ids filled in).
func (c *collection) listPath(values []string) string {
	return fillPath(c.list, values[:c.listVars])
}

// itemPath is an item's canonical path under the request's parents.
func (c *collection) itemPath(values []string, id string) string {
	return fillPath(c.item, append(slices.Clone(values[:c.listVars]), id))
}

// listItems serves GET on a list: the parents' items that pass the filters, ordered,
// paged with Veeam's rules (or all of them, for the plain-array lists).
func (s *Server) listItems(rq *request) (int, any, *apiError) {
	c := rq.route.coll
	items := c.filtered(rq, s.world.list(c.listPath(rq.values)))
	if c.order != nil {
		c.order(items)
	}
	if c.arrayList {
		return http.StatusOK, c.renderArray(rq, items), nil
	}
	p, e := s.pager(rq)
	if e != nil {
		return 0, nil, e
	}
	return http.StatusOK, p.render(len(items), func(b *bytes.Buffer, i int) { c.render(b, rq, items[i], true) }), nil
}

// filtered keeps the items that pass every filter the request gives.
func (c *collection) filtered(rq *request, items []*item) []*item {
	if len(rq.query) == 0 {
		return items
	}
	var active []filter
	for _, f := range c.filters {
		if v := rq.query.Get(f.query); v != "" {
			active = append(active, filter{query: v, field: f.field, match: f.match})
		}
	}
	if len(active) == 0 {
		return items
	}
	out := items[:0:0]
	for _, it := range items {
		keep := true
		for _, f := range active {
			if f.match != nil {
				keep = f.match(rq, it, f.query)
			} else {
				keep = strings.EqualFold(it.obj.text(f.field), f.query)
			}
			if !keep {
				break
			}
		}
		if keep {
			out = append(out, it)
		}
	}
	return out
}

// getItem serves GET on an item (which the route's ancestor check found).
func (s *Server) getItem(rq *request) (int, any, *apiError) {
	c := rq.route.coll
	it, ok := s.world.get(c.itemPath(rq.values, rq.values[c.listVars]))
	if !ok {
		return 0, nil, c.notFound(rq.values[c.listVars])
	}
	if rq.route.op.Response != nil && rq.route.op.Response.Value.Type.Is(openapi3.TypeArray) {
		return http.StatusOK, c.renderArray(rq, []*item{it}), nil // EC2Resources answer arrays even by name
	}
	return http.StatusOK, c.renderOne(rq, it), nil
}

// createItem serves POST on a list: an object body creates one item (server-assigned
// id, answered with the documented status), an array body adds each element (204).
func (s *Server) createItem(rq *request) (int, any, *apiError) {
	c := rq.route.coll
	body := bytes.TrimSpace(rq.body)
	if e := bodyShape(rq, body); e != nil {
		return 0, nil, e
	}
	if len(body) > 0 && body[0] == '[' {
		var elems []json.RawMessage
		if err := json.Unmarshal(body, &elems); err != nil {
			return 0, nil, badParam("The request body is not valid JSON: %v.", err)
		}
		for _, el := range elems {
			if _, e := s.addItem(rq, el, true); e != nil {
				return 0, nil, e
			}
		}
		return rq.route.op.Status, nil, nil
	}
	it, e := s.addItem(rq, body, false)
	if e != nil {
		return 0, nil, e
	}
	if c.afterCreate != nil {
		it = c.afterCreate(s, rq, it)
	}
	if rq.route.op.Status == http.StatusNoContent {
		return http.StatusNoContent, nil, nil
	}
	return rq.route.op.Status, c.renderOne(rq, it), nil
}

// addItem stores a new item built from the item schema and the body's fields that fit
// it. The server assigns the id, except where the id is a name (a bucket, a folder, a
// subscription) or an element of a bulk add names the item it adds.
func (s *Server) addItem(rq *request, body []byte, bulk bool) (*item, *apiError) {
	c := rq.route.coll
	var given object
	if len(body) > 0 && body[0] == '{' {
		given, _ = parseObject(body)
	}
	id := ""
	if bulk || c.idField != "id" {
		id = given.text(c.idField)
	}
	switch {
	case c.idKind == "integer":
		next := 1
		for _, it := range s.world.list(c.listPath(rq.values)) {
			if n, err := strconv.Atoi(it.id); err == nil && n >= next {
				next = n + 1
			}
		}
		id = strconv.Itoa(next)
	case id == "" || (c.idKind == "uuid" && !spec.IsGUID(id)):
		id = newGUID()
	case c.idKind == "uuid":
		id = strings.ToLower(id)
	}
	if e := badName(c, given); e != nil {
		return nil, e
	}
	if c.check != nil {
		if e := c.check(s, rq, given); e != nil {
			return nil, e
		}
	}
	path := c.itemPath(rq.values, id)
	o := c.fresh(path, id, rq.values[:c.listVars], rq.now)
	merge(&o, given, c.itemSchema)
	o.setValue(c.idField, c.idValue(id)) // the path's id, whatever the body says
	if c.itemSchema.Value.Properties["eTag"] != nil {
		o.set("eTag", json.RawMessage("1"))
	}
	if c.created != nil {
		c.created(&o, rq.now)
	}
	if e := s.checkRefs(c, o); e != nil {
		return nil, e
	}
	it, err := newItem(path, id, o.bytes(), nil)
	if err != nil {
		return nil, &apiError{Status: http.StatusInternalServerError, Message: "The new item could not be stored."}
	}
	if clash := s.world.insert(it, c.unique); clash != nil {
		if clash.key == it.key {
			return nil, conflict("%s %q already exists.", c.kind, id)
		}
		return nil, c.taken(clash)
	}
	return it, nil
}

// fresh is a new item before the client's fields are merged in: what the server
// derives (its id, its parents' ids, c.derives), the document's defaults, and the
// properties the schema requires (generated, so the item is valid). Nothing else: a value generated
// for an optional property would tell the client something it never chose (a run the
// job never had, a mailbox it did not select, placeholder settings).
func (c *collection) fresh(path, id string, parent []string, now time.Time) object {
	all := c.generate(path, id, parent, now)
	keep := map[string]bool{c.idField: true, c.parentField: true}
	for _, name := range templateVars(c.list) {
		keep[name] = true
	}
	for _, name := range c.derives {
		keep[name] = true
	}
	for _, s := range []*openapi3.SchemaRef{c.itemSchema, c.elemSchema} {
		for _, r := range s.Value.Required {
			keep[r] = true
		}
	}
	o := make(object, 0, len(keep))
	for _, m := range all {
		switch p := c.itemSchema.Value.Properties[m.key]; {
		case p != nil && p.Value != nil && p.Value.Default != nil:
			o.setValue(m.key, p.Value.Default)
		case keep[m.key]:
			o = append(o, m)
		}
	}
	return o
}

// newJob sets what the server derives for a new job or copy job: it is enabled unless
// the client said otherwise [A: the document gives no default; a job one creates runs
// on its schedule], its lastStatus is NotConfigured, the enumeration's value for a job
// that has not run [A], it has no lastRun or lastBackup, and nextRun is when its
// schedule next fires on the mock's clock (absent for a manual or disabled schedule).
func newJob(o *object, now time.Time) { newRunnable(o, now, false) }

// newCopyJob is newJob for a copy job, whose schedulePolicy is a
// RESTCopyJobSchedulePolicy (scheduleOf).
func newCopyJob(o *object, now time.Time) { newRunnable(o, now, true) }

func newRunnable(o *object, now time.Time, isCopy bool) {
	if o.get("isEnabled") == nil {
		o.setValue("isEnabled", true)
	}
	o.setValue("lastStatus", "NotConfigured")
	sp, scheduled := scheduleOf(*o, isCopy)
	if !scheduled || o.text("isEnabled") != "true" {
		return
	}
	if next := nextRun(sp, now); next != nil {
		o.setValue("nextRun", *next)
	}
}

// nextRun is when a RESTJobSchedulePolicy next fires after now (UTC): Daily at
// dailyTime on the days dailyType names, Periodically every periodicallyEvery from now;
// nil for ManualOnly, a schedule not enabled, or one it cannot read.
func nextRun(sp object, now time.Time) *time.Time {
	if sp.text("scheduleEnabled") != "true" {
		return nil
	}
	switch sp.str("type") {
	case "Periodically":
		every := map[string]time.Duration{"Minutes5": 5 * time.Minute, "Minutes10": 10 * time.Minute, "Minutes15": 15 * time.Minute,
			"Minutes30": 30 * time.Minute, "Hours1": time.Hour, "Hours2": 2 * time.Hour, "Hours4": 4 * time.Hour,
			"Hours8": 8 * time.Hour, "Hours12": 12 * time.Hour}[sp.str("periodicallyEvery")]
		if every == 0 {
			return nil
		}
		t := now.Truncate(every).Add(every)
		return &t
	case "Daily":
		tod, err := time.Parse("15:04:05", sp.str("dailyTime"))
		if err != nil {
			return nil
		}
		day := now.UTC().Truncate(24 * time.Hour)
		for i := range 8 {
			d := day.AddDate(0, 0, i)
			t := d.Add(time.Duration(tod.Hour())*time.Hour + time.Duration(tod.Minute())*time.Minute + time.Duration(tod.Second())*time.Second)
			if t.After(now) && runsOn(sp.str("dailyType"), d.Weekday()) {
				return &t
			}
		}
	}
	return nil
}

// runsOn reports whether a dailyType (Everyday, Workdays, Weekends or a day's name)
// includes the weekday; an empty one is every day.
func runsOn(dailyType string, wd time.Weekday) bool {
	switch dailyType {
	case "", "Everyday":
		return true
	case "Workdays":
		return wd != time.Saturday && wd != time.Sunday
	case "Weekends":
		return wd == time.Saturday || wd == time.Sunday
	}
	return dailyType == wd.String()
}

// bodyShape refuses a body whose JSON type is not the one the operation's schema
// describes (an object, or an array for a bulk add): the document's RESTEditCopyJob
// declares no type, so validation lets any value through.
func bodyShape(rq *request, body []byte) *apiError {
	if len(body) == 0 || rq.route.op.Body == nil {
		return nil
	}
	wantArray := rq.route.op.Body.Value.Type.Is(openapi3.TypeArray)
	if isArray := body[0] == '['; isArray != wantArray {
		if wantArray {
			return badParam("The request body is not valid at /: an array is expected, not an object.")
		}
		return badParam("The request body is not valid at /: an object is expected, not %s.", map[bool]string{true: "an array", false: "this value"}[isArray])
	}
	return nil
}

// merge copies into o the members of given that the schema declares and whose value
// fits the declared schema, so what is stored stays valid however the request's schema
// differs from the item's.
func merge(o *object, given object, schema *openapi3.SchemaRef) {
	if schema == nil || schema.Value == nil {
		return
	}
	for _, m := range given {
		p := schema.Value.Properties[m.key]
		if p == nil || m.key == "_links" || p.Value.ReadOnly || p.Value.WriteOnly || p.Value.Format == "password" {
			continue // write-only fields and passwords are not kept: nothing served may hold one
		}
		if spec.Fits(p, m.val, false) == nil {
			o.set(m.key, withoutPasswords(p, m.val))
		}
	}
}

// withoutPasswords drops the properties of format "password" from a value, at any
// depth: a client's secret is never stored, so never served back.
func withoutPasswords(s *openapi3.SchemaRef, raw json.RawMessage) json.RawMessage {
	if s == nil || s.Value == nil || len(raw) == 0 {
		return raw
	}
	switch raw[0] {
	case '{':
		o, err := parseObject(raw)
		if err != nil {
			return raw
		}
		out := make(object, 0, len(o))
		for _, m := range o {
			p := s.Value.Properties[m.key]
			if p != nil && p.Value != nil && p.Value.Format == "password" {
				continue
			}
			out = append(out, member{key: m.key, val: withoutPasswords(p, m.val)})
		}
		return out.bytes()
	case '[':
		var elems []json.RawMessage
		if s.Value.Items == nil || json.Unmarshal(raw, &elems) != nil {
			return raw
		}
		var b bytes.Buffer
		b.WriteByte('[')
		for i, el := range elems {
			if i > 0 {
				b.WriteByte(',')
			}
			b.Write(withoutPasswords(s.Value.Items, el))
		}
		b.WriteByte(']')
		return b.Bytes()
	}
	return raw
}

// updateItem serves PUT and PATCH on an item: the body's fields that fit are merged in
// and eTag goes up by one.
func (s *Server) updateItem(rq *request) (int, any, *apiError) {
	c := rq.route.coll
	if e := bodyShape(rq, bytes.TrimSpace(rq.body)); e != nil {
		return 0, nil, e
	}
	given, _ := parseObject(bytes.TrimSpace(rq.body))
	if e := badName(c, given); e != nil {
		return 0, nil, e
	}
	if e := s.checkRefs(c, given); e != nil { // the stored values were checked already
		return 0, nil, e
	}
	id := rq.values[c.listVars]
	next, e := s.world.update(c.itemPath(rq.values, id), func(cur *item) (*item, *apiError) {
		next := cur.with(func(o *object) {
			idVal := o.get(c.idField)
			merge(o, given, c.itemSchema)
			if idVal != nil {
				o.set(c.idField, idVal) // the id is the path's, whatever the body says
			}
			bumpETag(o)
		})
		if clash := s.world.clashLocked(next, c.unique); clash != nil {
			return nil, c.taken(clash)
		}
		return next, nil
	})
	if e != nil {
		return 0, nil, e
	}
	if next == nil { // deleted since the path was checked
		return 0, nil, c.notFound(id)
	}
	if (c.list == "/v8/Jobs" || c.list == "/v8/CopyJobs") && given.get("schedulePolicy") != nil { // a new schedule: a new nextRun
		s.scheduleJob(next.path, rq.now, false)
	}
	return rq.route.op.Status, nil, nil
}

// checkRefs refuses an object of c that names, in one of c.refs, an item its list does
// not hold (a job for an organization or repository that is not there).
func (s *Server) checkRefs(c *collection, o object) *apiError {
	for field, list := range c.refs {
		v := o.text(field)
		if v == "" || v == "null" {
			continue
		}
		if _, ok := s.world.get(list + "/" + strings.ToLower(v)); !ok {
			return collectionOf(list).notFound(v)
		}
	}
	return nil
}

// copyJobLink links a copy job's session to its job under /v8/CopyJobs, where the
// session's jobId is found (RESTJobSession.jobType "Copy").
func copyJobLink(rel string, it *item) string {
	if rel == "job" && it.obj.str("jobType") == "Copy" {
		return "/v8/CopyJobs/" + it.obj.str("jobId")
	}
	return ""
}

// bumpETag adds one to an object's eTag, if it has one.
func bumpETag(o *object) {
	if v := o.get("eTag"); v != nil {
		n, _ := strconv.ParseInt(string(v), 10, 64)
		o.set("eTag", json.RawMessage(strconv.FormatInt(n+1, 10)))
	}
}

// removeItem serves DELETE on an item: 204. An item another one names in its refs (an
// organization or repository a job names, a proxy a repository names) is not deleted,
// so no link leads nowhere: 400 OperationConflict naming them [A]; nor is a running job
// or copy job (400 OperationConflict, stop it first [A]). The items it owns
// (a job's sessions) go with it [A]. The check and the removal are one step.
func (s *Server) removeItem(rq *request) (int, any, *apiError) {
	c := rq.route.coll
	id := rq.values[c.listVars]
	path := c.itemPath(rq.values, id)
	found, e := s.world.removeWith(path, func(w *world) ([]string, *apiError) {
		if c.listVars > 0 {
			return nil, nil // refs name top-level items only
		}
		if cur := w.lookupLocked(strings.ToLower(path)); cur != nil && (c.list == "/v8/Jobs" || c.list == "/v8/CopyJobs") && cur.obj.str("lastStatus") == "Running" {
			return nil, conflict("Job '%s' is running; stop it before deleting it.", cur.obj.str("name")) // [A]
		}
		if e := c.inUseLocked(w, id); e != nil {
			return nil, e
		}
		var gone []string
		for list, field := range c.owns {
			for _, it := range w.listLocked(list) {
				if strings.EqualFold(it.obj.text(field), id) {
					gone = append(gone, it.key)
				}
			}
		}
		return gone, nil
	})
	if e != nil {
		return 0, nil, e
	}
	if !found {
		return 0, nil, c.notFound(id)
	}
	return http.StatusNoContent, nil, nil
}

// inUseLocked refuses the deletion of c's item id while an item of another collection
// names it in one of its refs; the message names up to three of them.
func (c *collection) inUseLocked(w *world, id string) *apiError {
	for _, d := range collections {
		for field, list := range d.refs {
			if list != c.list {
				continue
			}
			var users []string
			n := 0
			for _, it := range w.listLocked(d.list) {
				if strings.EqualFold(it.obj.text(field), id) {
					if n++; n <= 3 {
						users = append(users, fmt.Sprintf("%s %q (%s)", d.kind, it.obj.text("name"), it.id))
					}
				}
			}
			if n > 0 {
				more := ""
				if n > 3 {
					more = fmt.Sprintf(" and %d more", n-3)
				}
				return conflict("%s %s cannot be deleted: %d item(s) of %s name it in %s: %s%s; delete them or change their %s first.",
					c.kind, id, n, d.list, field, strings.Join(users, ", "), more, field)
			}
		}
	}
	return nil
}

// removeItems serves DELETE on a list: the items whose ids the body's array names
// (elements are ids or objects with one), or every item without a body. 204.
func (s *Server) removeItems(rq *request) (int, any, *apiError) {
	c := rq.route.coll
	var elems []json.RawMessage
	if body := bytes.TrimSpace(rq.body); len(body) > 0 {
		if err := json.Unmarshal(body, &elems); err != nil {
			return 0, nil, badParam("The request body is not a JSON array: %v.", err)
		}
	}
	if len(elems) == 0 {
		for _, it := range s.world.list(c.listPath(rq.values)) {
			s.world.remove(it.key)
		}
		return http.StatusNoContent, nil, nil
	}
	for _, el := range elems {
		var id string
		if json.Unmarshal(el, &id) != nil {
			o, _ := parseObject(el)
			id = o.text(c.idField)
		}
		if id != "" {
			s.world.remove(c.itemPath(rq.values, id))
		}
	}
	return http.StatusNoContent, nil, nil
}

func (c *collection) notFound(id string) *apiError { return notFound(c.kind, id) }

// taken is the refusal of a value of c.unique another item holds.
func (c *collection) taken(other *item) *apiError {
	return conflict("%s with %s %q already exists (id %s); choose another %s.", c.kind, c.unique, other.obj.text(c.unique), other.id, c.unique)
}

// --- rendering ---

// rawJSON is a response body already encoded.
type rawJSON []byte

// pooledJSON is a response body encoded into a pooled buffer; the writer releases it.
type pooledJSON struct{ buf *bytes.Buffer }

func newPooled() pooledJSON { return pooledJSON{buf: bufPool.Get().(*bytes.Buffer)} }

// render writes an item as served, as an element of its list or on its own: its object
// (through the view, and reduced to the schema's properties where the list and the item
// have different schemas), then _links where the schema has them.
//
// An item never changes (a change stores a new one, see item.with), so what render writes
// for it depends only on the collection, element or not, the view's variant and the self
// link's query: render keeps those bytes on the item and copies them the next time. A
// list of 30 organizations is then mostly one copy per item (issue 11's GET rate).
func (c *collection) render(b *bytes.Buffer, rq *request, it *item, asElement bool) {
	schema, links := c.itemSchema, c.itemLinks
	if asElement {
		schema, links = c.elemSchema, c.elemLinks
	}
	key := renderKey{c: c, element: asElement}
	if links {
		key.query = requiredQuery(rq, c.itemGet)
	}
	cacheable := c.view == nil || c.viewVariant != nil
	if c.viewVariant != nil {
		key.variant = c.viewVariant(rq)
	}
	if cacheable {
		if body := it.rendering(key); body != nil {
			b.Write(body)
			return
		}
	}
	start := b.Len()
	o := it.obj
	if c.view != nil {
		o = c.view(rq, o)
	}
	if c.elemSchema != c.itemSchema {
		kept := make(object, 0, len(o))
		for _, m := range o {
			if schema.Value.Properties[m.key] != nil {
				kept = append(kept, m)
			}
		}
		o = kept
	}
	o.writeMembers(b)
	if links {
		if len(o) > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"_links":`)
		c.writeLinks(b, it, key.query)
	}
	b.WriteByte('}')
	if cacheable {
		it.keepRendering(key, b.Bytes()[start:])
	}
}

func (c *collection) renderOne(rq *request, it *item) pooledJSON {
	p := newPooled()
	c.render(p.buf, rq, it, false)
	return p
}

func (c *collection) renderArray(rq *request, items []*item) pooledJSON {
	p := newPooled()
	p.buf.WriteByte('[')
	for i, it := range items {
		if i > 0 {
			p.buf.WriteByte(',')
		}
		c.render(p.buf, rq, it, true)
	}
	p.buf.WriteByte(']')
	return p
}

// writeLinks writes an item's _links: self and the declared relations, in key order
// (as encoding/json orders a map's keys). selfQuery ("" or "?name=value&…") is the
// required query of GET on the item, which self repeats so that it answers.
func (c *collection) writeLinks(b *bytes.Buffer, it *item, selfQuery string) {
	var buf [8][2]string
	rels := append(buf[:0], [2]string{"self", it.path + selfQuery})
	for rel, tpl := range c.links {
		h := ""
		if c.linkFor != nil {
			h = c.linkFor(rel, it)
		}
		if h == "" {
			h = expand(tpl, it)
		}
		if h != "" {
			rels = append(rels, [2]string{rel, h})
		}
	}
	slices.SortFunc(rels, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	writeLinks(b, rels)
}

func writeLinks(b *bytes.Buffer, rels [][2]string) {
	b.WriteByte('{')
	for i, r := range rels {
		if i > 0 {
			b.WriteByte(',')
		}
		writeKey(b, r[0])
		b.WriteString(`:{"href":`)
		writeKey(b, r[1])
		b.WriteByte('}')
	}
	b.WriteByte('}')
}

// expand fills {field} in a link template from the item; "" when a field is empty.
func expand(tpl string, it *item) string {
	var b strings.Builder
	for {
		open := strings.IndexByte(tpl, '{')
		if open < 0 {
			b.WriteString(tpl)
			return b.String()
		}
		end := strings.IndexByte(tpl[open:], '}') + open
		v := it.obj.text(tpl[open+1 : end])
		if v == "" || v == "null" {
			return ""
		}
		b.WriteString(tpl[:open])
		b.WriteString(v)
		tpl = tpl[end+1:]
	}
}

// requiredQuery is "?name=value&…" with the request's values of op's required query
// parameters (the object storages' accountId and RegionType, /v8/Events' from), in the
// document's order, for a link to op: without them the link would answer 400. "" when
// op requires none, or the request lacks them (then there is nothing to repeat).
func requiredQuery(rq *request, op *spec.Operation) string {
	if op == nil || rq == nil || rq.query == nil {
		return ""
	}
	var b strings.Builder
	for _, qp := range op.QueryParams {
		if !qp.Required {
			continue
		}
		v := rq.query.Get(qp.Name)
		if v == "" {
			continue
		}
		if qp.Schema != nil && qp.Schema.Value.Format == "uuid" {
			v = strings.ToLower(v)
		}
		if b.Len() == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(qp.Name)
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(v))
	}
	return b.String()
}

// --- paging ---

// Paging (veeam.md §4.1, DOC-PAGE): limit defaults to 30, at most 10000; offset to 0.
const (
	defaultLimit = 30
	maxLimit     = 10000
)

// pager is one page request with the parameters its links must repeat.
type pager struct {
	noNext  bool // Mutations.NoNextLinks
	path    string
	filters []string // "name=value", escaped, in the document's order
	setID   string
	offset  int
	limit   int
}

// pager reads limit and offset and collects the request's other parameters of the
// operation, in the document's order, for the links. setId is answered when the
// operation takes one: the one given, or a new cache set's.
func (s *Server) pager(rq *request) (*pager, *apiError) {
	p := &pager{path: rq.canonicalPath(), limit: defaultLimit, noNext: s.mut.NoNextLinks}
	if v := rq.query.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			return nil, badParam("The value '%s' is not valid for limit: an integer from 1 to %d is expected.", v, maxLimit)
		}
		p.limit = n
	}
	if v := rq.query.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, badParam("The value '%s' is not valid for offset: a non-negative integer is expected.", v)
		}
		p.offset = n
	}
	op := rq.route.op
	for _, qp := range op.QueryParams {
		switch qp.Name {
		case "limit", "offset":
			continue
		case "setId":
			p.setID = strings.ToLower(rq.query.Get("setId"))
			if p.setID == "" {
				p.setID = spec.UUID("setId/" + strings.ToLower(p.path) + "/" + rq.now.Format(time.RFC3339Nano))
			}
			continue
		}
		if v := rq.query.Get(qp.Name); v != "" {
			if qp.Schema != nil && qp.Schema.Value.Format == "uuid" {
				v = strings.ToLower(v)
			}
			p.filters = append(p.filters, qp.Name+"="+url.QueryEscape(v))
		}
	}
	if p.setID != "" {
		p.filters = append(p.filters, "setId="+p.setID)
	}
	return p, nil
}

func (p *pager) href(offset int) string {
	var b strings.Builder
	b.WriteString(p.path)
	b.WriteByte('?')
	for _, f := range p.filters {
		b.WriteString(f)
		b.WriteByte('&')
	}
	b.WriteString("offset=")
	b.WriteString(strconv.Itoa(offset))
	b.WriteString("&limit=")
	b.WriteString(strconv.Itoa(p.limit))
	return b.String()
}

// render writes Veeam's PageOf<T> for a collection of total items, each written by
// item(i): offset, limit, setId when there is one, results and HAL _links with
// relative /v8/… hrefs; next only while more remain, first and prev only past the first
// page. There is no total count (veeam.md §4.1 [R]).
func (p *pager) render(total int, item func(b *bytes.Buffer, i int)) pooledJSON {
	start := min(p.offset, total)
	end := min(start+p.limit, total)
	out := newPooled()
	b := out.buf
	b.WriteString(`{"offset":`)
	b.WriteString(strconv.Itoa(p.offset))
	b.WriteString(`,"limit":`)
	b.WriteString(strconv.Itoa(p.limit))
	if p.setID != "" {
		b.WriteString(`,"setId":"`)
		b.WriteString(p.setID)
		b.WriteByte('"')
	}
	b.WriteString(`,"results":[`)
	for i := start; i < end; i++ {
		if i > start {
			b.WriteByte(',')
		}
		item(b, i)
	}
	b.WriteString(`],"_links":`)
	rels := make([][2]string, 0, 4)
	if p.offset > 0 {
		rels = append(rels, [2]string{"first", p.href(0)})
	}
	if end < total && !p.noNext {
		rels = append(rels, [2]string{"next", p.href(end)})
	}
	if p.offset > 0 {
		rels = append(rels, [2]string{"prev", p.href(max(p.offset-p.limit, 0))})
	}
	rels = append(rels, [2]string{"self", p.href(p.offset)})
	writeLinks(b, rels)
	b.WriteByte('}')
	return out
}

// --- declared filters, orders and views ---

// newestFirst orders job sessions by creation, newest first [I: the order a monitoring
// client reading "the last N sessions" expects], comparing times, not their text (as
// text, 09:00:01Z sorts after 09:00:01.5Z). Each time is parsed once.
func newestFirst(items []*item) {
	type keyed struct {
		t  time.Time
		it *item
	}
	ks := make([]keyed, len(items))
	for i, it := range items {
		ks[i].it = it
		if t := parseTime(it.obj.str("creationTime")); t != nil {
			ks[i].t = *t
		}
	}
	slices.SortStableFunc(ks, func(a, b keyed) int { return b.t.Compare(a.t) })
	for i := range ks {
		items[i] = ks[i].it
	}
}

// jobSessionStatus matches GET /v8/JobSessions?status=: the filter's enumeration says
// Succeeded where sessions say Success (SPEC8).
func jobSessionStatus(_ *request, it *item, v string) bool {
	if v == "Succeeded" {
		v = "Success"
	}
	return strings.EqualFold(it.obj.str("status"), v)
}

// timeBound matches a date-time field against a lower (or, with upper, an upper) bound;
// an item without the field never matches.
func timeBound(field string, upper bool) func(*request, *item, string) bool {
	return func(_ *request, it *item, v string) bool {
		bound, err := time.Parse(time.RFC3339, v)
		t, err2 := time.Parse(time.RFC3339Nano, it.obj.str(field))
		if err != nil || err2 != nil {
			return false
		}
		if upper {
			return !t.After(bound)
		}
		return !t.Before(bound)
	}
}

// usedByOrganization matches GET /v8/BackupRepositories?organizationId=: the
// repositories the organization's jobs write to.
func usedByOrganization(rq *request, it *item, org string) bool {
	for _, j := range rq.server.world.list("/v8/jobs") {
		if strings.EqualFold(j.obj.str("organizationId"), org) && strings.EqualFold(j.obj.str("repositoryId"), it.id) {
			return true
		}
	}
	return false
}

// extendedView is organizationView's variant.
func extendedView(rq *request) string {
	if rq.query.Get("extendedView") == "true" {
		return "extended"
	}
	return ""
}

// organizationView leaves isBackedup and the backup times out unless extendedView=true,
// as SPEC8 describes.
func organizationView(rq *request, o object) object {
	if rq.query.Get("extendedView") == "true" {
		return o
	}
	out := make(object, 0, len(o))
	for _, m := range o {
		switch m.key {
		case "isBackedup", "firstBackuptime", "lastBackuptime":
			continue
		}
		out = append(out, m)
	}
	return out
}

// --- derived from the document ---

// derive reads what the declaration leaves out from the document's operations on the
// collection's two paths.
func (c *collection) derive(d *spec.Document, byShape map[string][]*spec.Operation) error {
	var itemGet *spec.Operation
	var itemParam *openapi3.Parameter
	c.listShape, c.itemShape = shape(c.list), shape(c.item)
	for _, op := range byShape[c.listShape] {
		if op.Method == http.MethodGet {
			c.listOp = op
		}
	}
	for _, op := range byShape[c.itemShape] {
		if op.Method == http.MethodGet {
			itemGet = op
		}
		if len(op.PathParams) > 0 {
			itemParam = op.PathParams[len(op.PathParams)-1]
		}
	}
	if c.listOp == nil || itemParam == nil {
		return fmt.Errorf("the document has no GET %s or no operation on %s", c.list, c.item)
	}
	c.itemGet = itemGet
	c.idParam = itemParam.Name
	c.listVars = variables(c.list)
	switch s := itemParam.Schema.Value; {
	case s.Format == "uuid":
		c.idKind = "uuid"
	case s.Type.Is(openapi3.TypeInteger):
		c.idKind = "integer"
	default:
		c.idKind = "string"
	}
	if c.idField == "" {
		c.idField = "id"
	}
	resp := c.listOp.Response.Value
	if resp.Type.Is(openapi3.TypeArray) {
		c.arrayList, c.elemSchema = true, resp.Items
	} else if results := resp.Properties["results"]; results != nil {
		c.elemSchema = results.Value.Items
	}
	if c.elemSchema == nil {
		return fmt.Errorf("GET %s answers neither a page nor an array", c.list)
	}
	c.setID = c.listOp.Query("setId") != nil
	c.itemSchema = c.elemSchema
	if itemGet != nil {
		c.itemSchema = itemGet.Response
		if c.itemSchema.Value.Type.Is(openapi3.TypeArray) {
			c.itemSchema = c.itemSchema.Value.Items
		}
	}
	c.itemLinks = c.itemSchema.Value.Properties["_links"] != nil
	c.elemLinks = c.elemSchema.Value.Properties["_links"] != nil
	if c.kind == "" {
		c.kind = kindOf(c.list)
	}
	// The document's filters: a query parameter named as a property of the item.
	for _, qp := range c.listOp.QueryParams {
		if slices.ContainsFunc(c.filters, func(f filter) bool { return f.query == qp.Name }) {
			continue
		}
		for name := range c.elemSchema.Value.Properties {
			if strings.EqualFold(name, qp.Name) && name != "_links" {
				c.filters = append(c.filters, filter{query: qp.Name, field: name})
			}
		}
	}
	slices.SortStableFunc(c.filters, func(a, b filter) int { return strings.Compare(a.query, b.query) })
	return nil
}

// kindOf names a collection's items from its list path: "/v8/JobSessions" → "Job
// session", "/v8/BackupRepositories" → "Backup repository".
func kindOf(list string) string {
	seg := list[strings.LastIndexByte(list, '/')+1:]
	var words []string
	start := 0
	for i := 1; i < len(seg); i++ {
		if seg[i] >= 'A' && seg[i] <= 'Z' && seg[i-1] >= 'a' && seg[i-1] <= 'z' {
			words = append(words, seg[start:i])
			start = i
		}
	}
	words = append(words, seg[start:])
	last := words[len(words)-1]
	switch {
	case strings.HasSuffix(last, "ies"):
		last = strings.TrimSuffix(last, "ies") + "y"
	case strings.HasSuffix(last, "xes"):
		last = strings.TrimSuffix(last, "es")
	case strings.HasSuffix(last, "s") && !strings.HasSuffix(last, "ss"):
		last = strings.TrimSuffix(last, "s")
	}
	words[len(words)-1] = last
	for i := range words {
		words[i] = strings.ToLower(words[i])
	}
	k := strings.Join(words, " ")
	return strings.ToUpper(k[:1]) + k[1:]
}
