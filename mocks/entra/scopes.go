package entra

import (
	"sort"
	"strings"
)

// Scopes. A scope is an OIDC scope (openid, profile, email, offline_access) or a
// permission of one resource:
//   - Microsoft Graph, written bare ("User.Read"), with the URI prefix
//     ("https://graph.microsoft.com/User.Read") or with the GUID prefix
//     ("00000003-0000-0000-c000-000000000000/User.Read");
//   - one of the directory's Resources, "<identifier URI or app id>/<permission>"
//     ("https://management.core.windows.net//user_impersonation");
//   - an app's own API, "api://<client id>/<scope>" (or "<client id>/<scope>").
//
// "<prefix>/.default" asks for everything the app holds on the resource (entra.md §2
// field rules, §8). One request names one resource, or AADSTS28000; OIDC scopes alone
// mean Graph. A resource the directory does not have gets AADSTS500011.

// apiResource is one resource a user token can be for: Graph, a directory Resource or
// an app's API. Values are built with the directory and never change.
type apiResource struct {
	graph   bool
	appID   string
	name    string
	scopes  []string // the permissions it exposes; nil for Graph (any well-formed name)
	owner   *App     // the app whose API it is; nil for Graph and directory Resources
	version int      // access token version: 1, or 2 for an app with AccessTokenVersion 2
}

// graphAPI is Microsoft Graph, which every directory serves.
var graphAPI = &apiResource{graph: true, appID: GraphAppID, name: "Microsoft Graph", version: 1}

// graphURIPrefix and graphGUIDPrefix are how Graph scopes are prefixed; Entra echoes
// each scope in the form it was requested, Graph's prefixes in their canonical case.
const (
	graphURIPrefix  = GraphResource + "/"
	graphGUIDPrefix = GraphAppID + "/"
)

var oidcScopes = map[string]bool{"openid": true, "profile": true, "email": true, "offline_access": true}

// permScope is one requested permission.
type permScope struct {
	perm   string // as written, or ".default"
	prefix string // the resource as written with its trailing "/"; "" for a bare Graph scope
}

// scopeRequest is a parsed scope parameter.
type scopeRequest struct {
	raw   string
	order []string // request order: lower-case OIDC names and "p:<perm>" markers
	oidc  map[string]bool
	res   *apiResource // the one resource named; graphAPI when only OIDC scopes were asked for
	perms []permScope  // permissions, without .default
	dflt  *permScope   // the .default scope, if asked for
	first string       // prefix of the first resource scope (Graph's URI prefix if none)
	any   bool         // whether any resource scope was requested
}

// parseScopes validates a space-separated scope parameter against dir's resources in
// tenant (nil: common or organizations, where every app's API is known). tenantName
// names the directory in AADSTS500011.
func parseScopes(raw string, dir *directory, tenant *Tenant, tenantName string) (scopeRequest, *oauthError) {
	q := scopeRequest{raw: raw, oidc: map[string]bool{}, first: graphURIPrefix}
	toks := strings.Fields(raw)
	if len(toks) == 0 {
		return q, errMissingParam("scope")
	}
	seen := map[string]bool{}
	for _, tok := range toks {
		low := strings.ToLower(tok)
		if oidcScopes[low] {
			if !q.oidc[low] {
				q.oidc[low] = true
				q.order = append(q.order, low)
			}
			continue
		}
		var (
			ps  permScope
			res = graphAPI
		)
		switch {
		case strings.HasPrefix(low, strings.ToLower(graphURIPrefix)):
			ps = permScope{perm: tok[len(graphURIPrefix):], prefix: graphURIPrefix}
		case strings.HasPrefix(low, graphGUIDPrefix):
			ps = permScope{perm: tok[len(graphGUIDPrefix):], prefix: graphGUIDPrefix}
		case strings.ContainsAny(tok, "/:"):
			i := strings.LastIndex(tok, "/")
			if i < 0 {
				return q, errUnknownResource(tok, tenantName)
			}
			ident := tok[:i]
			if ident == "" || strings.EqualFold(ident, GraphResource) {
				return q, errInvalidScope(tok, "")
			}
			r, ok := dir.resource(ident, tenant)
			if !ok {
				return q, errUnknownResource(ident, tenantName)
			}
			res, ps = r, permScope{perm: tok[i+1:], prefix: tok[:i+1]}
		default:
			ps = permScope{perm: tok}
		}
		if ps.perm != ".default" && !permRE.MatchString(ps.perm) {
			return q, errInvalidScope(tok, "")
		}
		if q.res != nil && q.res != res {
			return q, errSeveralResources(raw)
		}
		q.res = res
		if !q.any {
			q.any, q.first = true, ps.prefix
		}
		if ps.perm == ".default" {
			if q.dflt == nil {
				q.dflt = &ps
			}
			continue
		}
		key := strings.ToLower(ps.perm)
		if seen[key] {
			continue
		}
		seen[key] = true
		q.perms = append(q.perms, ps)
		q.order = append(q.order, "p:"+ps.perm)
	}
	if q.res == nil {
		q.res = graphAPI
	}
	if q.dflt != nil && len(q.perms) > 0 {
		return q, errInvalidScope(q.dflt.prefix+".default", " The .default scope can't be combined with resource-specific scopes.")
	}
	return q, nil
}

func (q scopeRequest) has(oidc string) bool { return q.oidc[oidc] }

// grant is what a scope request yields for an app.
type grant struct {
	res    *apiResource
	scp    string // the access token's scp claim
	scope  string // the response's scope field (never offline_access)
	audURI bool   // Graph: whether the Graph scopes were written with the URI prefix
	aud    string // another resource: the access token's aud
}

// grantFor checks q against what the app holds and computes scp, the echoed scope and
// the audience.
func grantFor(a *App, q scopeRequest) (grant, *oauthError) {
	if q.res.graph {
		return graphGrant(a, q)
	}
	return apiGrant(a, q)
}

// graphGrant checks q against the app's preauthorized or consented Graph scopes. A
// first-party app gets its whole preauthorized set, as Azure CLI does (entra.md §8);
// another app gets what it asked for.
func graphGrant(a *App, q scopeRequest) (grant, *oauthError) {
	held := map[string]string{} // lower → canonical
	for _, s := range a.PreauthorizedScopes {
		held[strings.ToLower(s)] = s
	}
	for _, g := range q.perms {
		if _, ok := held[strings.ToLower(g.perm)]; ok {
			continue
		}
		if a.FirstParty {
			return grant{}, errNotPreauthorized(a.ClientID, GraphAppID)
		}
		if len(held) > 0 {
			return grant{}, errNoConsent(a)
		}
	}
	canon := func(p string) string {
		if c, ok := held[strings.ToLower(p)]; ok {
			return c
		}
		return p
	}
	requestedPrefix := map[string]string{}
	for _, g := range q.perms {
		requestedPrefix[strings.ToLower(g.perm)] = g.prefix
	}

	var scp, scope, scopeOIDC, perms []string
	if a.FirstParty {
		all := append([]string(nil), a.PreauthorizedScopes...)
		sortFold(all)
		scp = all
		for _, s := range all {
			if oidcScopes[strings.ToLower(s)] {
				scopeOIDC = append(scopeOIDC, strings.ToLower(s))
			} else {
				perms = append(perms, s)
			}
		}
		for _, o := range q.order {
			if oidcScopes[o] && o != "offline_access" && !containsFold(scopeOIDC, o) {
				scopeOIDC = append(scopeOIDC, o)
			}
		}
		sortFold(scopeOIDC)
		scope = append(scope, scopeOIDC...)
	} else {
		// Another app's grant keeps the request's order, OIDC scopes where they stood,
		// in scp and in the echoed scope alike: the capture requested "openid profile
		// User.Read email" and got both back in that order (entra.md §2, §5.1).
		for _, o := range q.order {
			switch {
			case o == "offline_access":
			case oidcScopes[o]:
				scp = append(scp, o)
				scope = append(scope, o)
			default:
				p := canon(strings.TrimPrefix(o, "p:"))
				scp = append(scp, p)
				scope = append(scope, requestedPrefix[strings.ToLower(p)]+p)
			}
		}
		if q.dflt != nil {
			for _, s := range a.PreauthorizedScopes {
				if !oidcScopes[strings.ToLower(s)] && !containsFold(scp, s) {
					scp = append(scp, s)
					perms = append(perms, s)
				}
			}
		}
	}

	for _, p := range perms {
		prefix, ok := requestedPrefix[strings.ToLower(p)]
		if !ok {
			prefix = q.first
		}
		scope = append(scope, prefix+p)
	}
	if q.dflt != nil {
		scope = append(scope, q.dflt.prefix+".default")
	}
	return grant{
		res:    graphAPI,
		scp:    strings.Join(scp, " "),
		scope:  strings.Join(scope, " "),
		audURI: q.any && q.first == graphURIPrefix,
	}, nil
}

// apiGrant checks q against a resource other than Graph. A first-party app is
// preauthorized for every permission of a Microsoft resource (a directory Resource),
// as Azure CLI is for Azure Resource Manager, and gets them all; it is not
// preauthorized for an app's API (AADSTS65002 [I]). Another app is consented to the
// permissions it asks for, and gets them all with .default. The echoed scope holds
// the permissions, each in the form requested, then .default, and no OIDC scope: a
// captured Azure CLI response for ARM reads "https://management.core.windows.net//user_impersonation
// https://management.core.windows.net//.default" with an id_token beside it
// (darkcodi/AzureTokenApi README [R]). aud is the resource as the first scope wrote it
// for v1 tokens (entra.md §5.1; an "api://" URI for an app's API), its app id for v2.
func apiGrant(a *App, q scopeRequest) (grant, *oauthError) {
	r := q.res
	if a.FirstParty && r.owner != nil && !strings.EqualFold(r.owner.ClientID, a.ClientID) {
		return grant{}, errNotPreauthorized(a.ClientID, r.appID)
	}
	canon := map[string]string{}
	for _, s := range r.scopes {
		canon[strings.ToLower(s)] = s
	}
	var scp, scope []string
	for _, p := range q.perms {
		c, ok := canon[strings.ToLower(p.perm)]
		if !ok {
			return grant{}, errNoSuchScope(a, p.perm, r)
		}
		if !a.FirstParty {
			scp = append(scp, c)
			scope = append(scope, p.prefix+c)
		}
	}
	if a.FirstParty || q.dflt != nil {
		all := append([]string(nil), r.scopes...)
		sortFold(all)
		for _, c := range all {
			if containsFold(scp, c) {
				continue
			}
			prefix := q.first
			for _, p := range q.perms {
				if strings.EqualFold(p.perm, c) {
					prefix = p.prefix
				}
			}
			scp = append(scp, c)
			scope = append(scope, prefix+c)
		}
	}
	if q.dflt != nil {
		scope = append(scope, q.dflt.prefix+".default")
	}
	aud := strings.TrimSuffix(q.first, "/")
	if r.version == 2 {
		aud = r.appID
	}
	return grant{res: r, scp: strings.Join(scp, " "), scope: strings.Join(scope, " "), aud: aud}, nil
}

// resourceIndex maps every way a scope can name a resource other than Graph (lower
// case, without a trailing slash) to the resource.
type resourceIndex map[string]*apiResource

// newResourceIndex indexes the directory's Resources and the APIs its apps expose.
// The first resource to claim a name keeps it.
func newResourceIndex(d *Directory) resourceIndex {
	ix := resourceIndex{}
	add := func(name string, r *apiResource) {
		key := strings.ToLower(strings.TrimRight(name, "/"))
		if _, taken := ix[key]; !taken && key != "" {
			ix[key] = r
		}
	}
	for _, res := range d.Resources {
		r := &apiResource{appID: res.AppID, name: res.DisplayName, scopes: res.Scopes, version: 1}
		add(res.AppID, r)
		for _, u := range res.URIs {
			add(u, r)
		}
	}
	for i := range d.Apps {
		a := &d.Apps[i]
		if len(a.ExposedScopes) == 0 {
			continue
		}
		r := &apiResource{appID: a.ClientID, name: a.DisplayName, scopes: a.ExposedScopes, owner: a, version: 1}
		if a.AccessTokenVersion == 2 {
			r.version = 2
		}
		add("api://"+a.ClientID, r)
		add(a.ClientID, r)
	}
	return ix
}

// resource finds the resource a scope's prefix names (ident: the part before the
// permission, without its final "/"). An app's API exists where the app does.
func (d *directory) resource(ident string, tenant *Tenant) (*apiResource, bool) {
	r, ok := d.resources[strings.ToLower(strings.TrimRight(ident, "/"))]
	if !ok || (r.owner != nil && !r.owner.inTenant(tenant)) {
		return nil, false
	}
	return r, true
}

func sortFold(s []string) {
	sort.SliceStable(s, func(i, j int) bool { return strings.ToLower(s[i]) < strings.ToLower(s[j]) })
}

func containsFold(s []string, v string) bool {
	for _, x := range s {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}
