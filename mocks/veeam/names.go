package veeam

import (
	"strings"
	"unicode"
)

// Names a client gives: what the server refuses in a name before it stores anything.

// badName checks the names in a create or update body: the property "name" and the
// collection's unique property (a proxy's hostName), where the body gives them as
// strings. An empty name, one with a NUL character, or one with white space at either
// end is 400 ParameterValidationFailure naming the field [A: the real server's text is
// not in the record; the message is the mock's validation message shape, "The request
// body is not valid at /name: …"].
func badName(c *collection, given object) *apiError {
	fields := []string{"name"}
	if c.unique != "" && c.unique != "name" {
		fields = append(fields, c.unique)
	}
	for _, field := range fields {
		raw := given.get(field)
		if len(raw) == 0 || raw[0] != '"' {
			continue // absent, null or not a string: the document's validation decides
		}
		v := given.str(field)
		switch {
		case strings.TrimSpace(v) == "":
			return badParam("The request body is not valid at /%s: the value is empty; give a name.", field)
		case strings.ContainsRune(v, 0):
			return badParam("The request body is not valid at /%s: the value contains a NUL character (U+0000).", field)
		case strings.TrimFunc(v, unicode.IsSpace) != v:
			return badParam("The request body is not valid at /%s: the value %q begins or ends with white space.", field, v)
		}
	}
	return nil
}

// checkSelected refuses a job's or RBAC role's selected or excluded item that names a
// user, group, site or team its organization's directory does not hold: 404
// ResourceNotFound, as for any unknown id [A: the real server's status and text for it
// are not in the record]. The item was stored (204) and then named nothing.
func (s *Server) checkSelected(rq *request, given object) *apiError {
	c := rq.route.coll
	owner, ok := s.world.get(fillPath(c.parent.item, rq.values[:c.listVars]))
	if !ok {
		return nil // the router answers for a missing job or role
	}
	return s.checkDirectoryObject(strings.ToLower(owner.obj.str("organizationId")), given)
}

// checkDirectoryObject refuses a selected or excluded item (its user, group, site or
// team member) that organization org's directory does not hold: 404 ResourceNotFound,
// and one that names nothing (namesNothing).
func (s *Server) checkDirectoryObject(org string, given object) *apiError {
	if e := namesNothing(given); e != nil {
		return e
	}
	for _, d := range directoryLists {
		sub, err := parseObject(given.get(d.field))
		if err != nil {
			continue
		}
		id := sub.str("id")
		if id == "" {
			continue
		}
		if _, ok := s.world.get("/v8/Organizations/" + org + "/" + d.list + "/" + strings.ToLower(id)); !ok {
			return notFound(d.typ, id)
		}
	}
	return nil
}

// namesNothing refuses a selected or excluded item or an RBAC operator whose type is
// User, Group, Site or Team without that member (or without its id): 400
// ParameterValidationFailure naming the field (the document's RESTRbacUserItem and its
// siblings require it) [A: the real server's text is not in the record].
func namesNothing(given object) *apiError {
	t := given.str("type")
	for _, d := range directoryLists {
		if t == "" || !strings.EqualFold(t, d.typ) {
			continue
		}
		if sub, err := parseObject(given.get(d.field)); err != nil || sub.str("id") == "" {
			return badParam("The request body is not valid at /%s: an item of type %s names its %s, with its id ({\"%s\": {\"id\": …}}).", d.field, d.typ, d.field, d.field)
		}
	}
	return nil
}

// checkOperator refuses an RBAC operator that names nothing. An operator naming a user
// or group the organization's directory does not list is taken: operators sign in
// through Entra ID, and the accounts of the mock Entra (or of a real tenant) need not be
// in the mock's fixture directory [A].
func (s *Server) checkOperator(_ *request, given object) *apiError { return namesNothing(given) }

// The selected and excluded items' and the RBAC operators' checks are set here: in the collections table it would
// make an initialisation cycle.
func init() {
	for _, list := range []string{"/v8/Jobs/{jobId}/SelectedItems", "/v8/Jobs/{jobId}/ExcludedItems",
		"/v8/RbacRoles/{roleId}/selectedItems", "/v8/RbacRoles/{roleId}/excludedItems"} {
		collectionOf(list).check = (*Server).checkSelected
	}
	collectionOf("/v8/RbacRoles/{roleId}/operators").check = (*Server).checkOperator
}
