package veeam

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vbharness/vbharness/mocks/veeam/spec"
)

// Restore operators' RBAC scope. A role (/v8/RbacRoles) of an organization names its
// operators (…/operators: users, or groups whose members are operators) and what they
// may restore: the entire organization, or the objects of …/selectedItems (users,
// groups, sites, teams), less those of …/excludedItems. A restore session an operator
// starts shows only what the union of its roles allows (content.go filters the
// mailboxes and OneDrives of users, sites and teams by it).

// restoreScope is what a restore session shows an operator: every object, or the ids
// of its users, sites and teams, less the excluded ones (all lower case).
type restoreScope struct {
	All      bool     `json:",omitempty"`
	IDs      []string `json:",omitempty"`
	Excluded []string `json:",omitempty"`
}

// allows reports whether the scope holds the object with id; a nil scope holds all.
func (sc *restoreScope) allows(id string) bool {
	if sc == nil {
		return true
	}
	id = strings.ToLower(id)
	if slices.Contains(sc.Excluded, id) {
		return false
	}
	return sc.All || slices.Contains(sc.IDs, id)
}

// operatorUserID finds the operator's user id: the user of its organization whose
// name is the session's user name, else its Microsoft Entra object id (a Microsoft 365
// user's id in the organization [I]), else the name itself.
func (s *Server) operatorUserID(sess *session) string {
	for _, u := range s.world.list("/v8/Organizations/" + sess.orgID + "/Users") {
		if strings.EqualFold(u.obj.str("name"), sess.user) || strings.EqualFold(u.id, sess.user) {
			return strings.ToLower(u.id)
		}
	}
	if sess.userID != "" {
		return sess.userID
	}
	return strings.ToLower(sess.user)
}

// operatorScope is the union of the scopes of the operator's roles, narrowed to the
// object want names (a RESTRbacItemComposed) when it is given. An operator without a
// role, or asking for an object outside its roles' scope, gets 403
// ResourceAccessDenied.
func (s *Server) operatorScope(sess *session, want json.RawMessage) (*restoreScope, *apiError) {
	if s.mut.IgnoreRbacScope {
		return nil, nil // a nil scope allows everything
	}
	user := s.operatorUserID(sess)
	scope := &restoreScope{}
	held := false
	for _, role := range s.world.list("/v8/RbacRoles") {
		if !strings.EqualFold(role.obj.str("organizationId"), sess.orgID) || !s.holdsRole(role, user) {
			continue
		}
		held = true
		if t := role.obj.str("roleType"); t == "" || t == "EntireOrganization" {
			scope.All = true
		} else {
			for _, it := range s.world.list(role.path + "/selectedItems") {
				scope.IDs = append(scope.IDs, s.rbacItemIDs(sess.orgID, it.raw)...)
			}
		}
		for _, it := range s.world.list(role.path + "/excludedItems") {
			scope.Excluded = append(scope.Excluded, s.rbacItemIDs(sess.orgID, it.raw)...)
		}
	}
	if !held {
		return nil, accessDenied("Access denied: %s holds no restore operator role of this organization.", sess.user)
	}
	if len(want) == 0 || string(want) == "null" {
		return scope, nil
	}
	ids := s.rbacItemIDs(sess.orgID, want)
	if len(ids) == 0 {
		return nil, badParam("The request body is not valid at /scope: a user, group, site or team of the organization is expected.")
	}
	for _, id := range ids {
		if !scope.allows(id) {
			return nil, accessDenied("Access denied: %s is outside the scope of the restore operator roles of %s.", id, sess.user)
		}
	}
	return &restoreScope{IDs: ids}, nil
}

// holdsRole reports whether user is an operator of role: named as a user, or a member
// of a group named as one.
func (s *Server) holdsRole(role *item, user string) bool {
	for _, op := range s.world.list(role.path + "/operators") {
		if strings.EqualFold(op.id, user) || strings.EqualFold(nestedID(op.raw, "user"), user) {
			return true
		}
		if g := nestedID(op.raw, "group"); g != "" && slices.Contains(s.membersOf(role.obj.str("organizationId"), g), user) {
			return true
		}
	}
	return false
}

// membersOf returns the ids of a group's members (lower case).
func (s *Server) membersOf(org, group string) []string {
	it, ok := s.world.get("/v8/Organizations/" + org + "/Groups/" + group)
	if !ok {
		return nil
	}
	members, _ := it.hidden.([]string)
	return members
}

// rbacItemIDs returns the users, sites and teams an RBAC item (RESTRbacItemComposed)
// names: a user, site or team itself, a group's members.
func (s *Server) rbacItemIDs(org string, raw []byte) []string {
	var it struct {
		Type string `json:"type"`
		ID   string `json:"id"`
	}
	_ = json.Unmarshal(raw, &it)
	switch strings.ToLower(it.Type) {
	case "group":
		return s.membersOf(org, strings.ToLower(nestedID(raw, "group")))
	case "site", "team", "user":
		if id := nestedID(raw, strings.ToLower(it.Type)); id != "" {
			return []string{strings.ToLower(id)}
		}
	}
	if it.ID != "" {
		return []string{strings.ToLower(it.ID)}
	}
	return nil
}

// nestedID reads raw's member field's id ({"user":{"id":…}}).
func nestedID(raw []byte, field string) string {
	var v map[string]json.RawMessage
	if json.Unmarshal(raw, &v) != nil {
		return ""
	}
	var inner struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(v[field], &inner)
	return inner.ID
}

// rolesOfOrganization is GET /v8/Organizations/{organizationId}/RbacRoles: the roles of
// /v8/RbacRoles that belong to the organization, as a plain array (the document's).
func (s *Server) rolesOfOrganization(rq *request) (int, any, *apiError) {
	org := strings.ToLower(rq.param("organizationId"))
	var items []*item
	for _, r := range s.world.list("/v8/RbacRoles") {
		if strings.EqualFold(r.obj.str("organizationId"), org) {
			items = append(items, r)
		}
	}
	return http.StatusOK, collectionOf("/v8/RbacRoles").renderArray(rq, items), nil
}

// addRole is POST /v8/Organizations/{organizationId}/RbacRoles (RESTRbacRoleCreateModel):
// a new role of the organization in /v8/RbacRoles, with the operators, selected items
// and excluded items the body lists, each stored in its collection under the role. 201.
func (s *Server) addRole(rq *request) (int, any, *apiError) {
	org := strings.ToLower(rq.param("organizationId"))
	given, _ := parseObject(bytes.TrimSpace(rq.body))
	roles := collectionOf("/v8/RbacRoles")
	if e := badName(roles, given); e != nil {
		return 0, nil, e
	}
	if e := s.checkRoleMembers(org, given); e != nil {
		return 0, nil, e
	}
	id := newGUID()
	path := roles.itemPath(nil, id)
	o := roles.fresh(path, id, nil, rq.now) // what the client sent, not generated settings
	merge(&o, given, roles.itemSchema)
	o.setValue("id", id)
	o.setValue("organizationId", org)
	if o.str("roleType") == "" {
		o.setValue("roleType", "EntireOrganization")
	}
	role, err := newItem(path, id, o.bytes(), nil)
	if err != nil {
		return 0, nil, &apiError{Status: http.StatusInternalServerError, Message: "The role could not be stored."}
	}
	if clash := s.world.insert(role, roles.unique); clash != nil {
		return 0, nil, roles.taken(clash)
	}
	s.storeRoleMembers(path, id, given, rq.now, false)
	return http.StatusCreated, roles.renderOne(rq, role), nil
}

// roleMemberLists are the lists a role's create and update bodies
// (RESTRbacRoleCreateModel) fill: its operators, selected items and excluded items.
var roleMemberLists = map[string]string{"operators": "/v8/RbacRoles/{roleId}/operators",
	"selectedItems": "/v8/RbacRoles/{roleId}/selectedItems", "excludedItems": "/v8/RbacRoles/{roleId}/excludedItems"}

// checkRoleMembers checks the operators, selected and excluded items a role's body
// gives as those added later through …/operators and …/selectedItems are
// (checkOperator, checkSelected).
func (s *Server) checkRoleMembers(org string, given object) *apiError {
	for field := range roleMemberLists {
		var elems []json.RawMessage
		_ = json.Unmarshal(given.get(field), &elems)
		for _, el := range elems {
			sub, _ := parseObject(el)
			check := s.checkDirectoryObject(org, sub)
			if field == "operators" {
				check = namesNothing(sub)
			}
			if check != nil {
				return check
			}
		}
	}
	return nil
}

// storeRoleMembers stores the operators, selected and excluded items that given lists
// under the role at path (id), each in its collection. With replace, a list the body
// gives replaces the role's list of that kind (PUT); a list the body leaves out stays.
func (s *Server) storeRoleMembers(path, id string, given object, now time.Time, replace bool) {
	for field, list := range roleMemberLists {
		raw := given.get(field)
		var elems []json.RawMessage
		if json.Unmarshal(raw, &elems) != nil && replace {
			continue // not given (or not an array): the role keeps its list
		}
		c := collectionOf(list)
		if replace {
			for _, old := range s.world.list(path + "/" + field) {
				s.world.remove(old.path)
			}
		}
		for i, el := range elems {
			sub, _ := parseObject(el)
			eid := ""
			for _, f := range []string{"user", "group", "site", "team"} {
				if eid == "" {
					eid = strings.ToLower(nestedID(el, f))
				}
			}
			if eid == "" || !spec.IsGUID(eid) {
				eid = spec.UUID(path + "/" + field + "/" + strconv.Itoa(i))
			}
			p := c.itemPath([]string{id}, eid)
			so := c.fresh(p, eid, []string{id}, now)
			merge(&so, sub, c.itemSchema)
			so.setValue(c.idField, eid)
			if it, err := newItem(p, eid, so.bytes(), nil); err == nil {
				s.world.put(it)
			}
		}
	}
}

// A role's PUT is the collection's update (updateItem) and then its lists; set here, as
// Organization_Update is: in the operations table it would make an initialisation cycle.
func init() {
	handWritten["RbacRole_Update"] = operation{who: admins, handle: (*Server).updateRole, coll: collectionOf("/v8/RbacRoles")}
}

// updateRole is PUT /v8/RbacRoles/{roleId} (RESTRbacRoleCreateModel): the role's own
// fields are merged in as for any item (updateItem), and each of its operators,
// selected items and excluded items that the body gives replaces the role's list of
// that kind, checked first as on create [A: the record does not say whether a PUT
// without a list keeps it; the mock keeps it, as a merge of the other fields does].
func (s *Server) updateRole(rq *request) (int, any, *apiError) {
	id := strings.ToLower(rq.param("roleId"))
	path := "/v8/RbacRoles/" + id
	role, ok := s.world.get(path)
	if !ok {
		return 0, nil, collectionOf("/v8/RbacRoles").notFound(rq.param("roleId"))
	}
	given, _ := parseObject(bytes.TrimSpace(rq.body))
	if e := s.checkRoleMembers(strings.ToLower(role.obj.str("organizationId")), given); e != nil {
		return 0, nil, e
	}
	status, body, e := s.updateItem(rq)
	if e != nil {
		return 0, nil, e
	}
	s.storeRoleMembers(role.path, id, given, rq.now, true)
	return status, body, nil
}

// loggedInUser is GET /v8/Organization/LoggedInUser (operators): RESTRbacLoggedInUser, the
// signed-in operator as its organization's directory knows it (its id and name), or as
// its token names it when the directory does not [I].
func (s *Server) loggedInUser(rq *request) (int, any, *apiError) {
	id, name := s.operatorUserID(rq.sess), rq.sess.user
	if u, ok := s.world.get("/v8/Organizations/" + rq.sess.orgID + "/Users/" + id); ok {
		name = u.obj.str("name")
	}
	return http.StatusOK, map[string]string{"id": id, "name": name}, nil
}
