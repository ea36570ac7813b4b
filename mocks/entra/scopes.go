package entra

import (
	"sort"
	"strings"
)

// Scopes: the mock knows one resource, Microsoft Graph, as Entra's device-code users
// of this project need. A scope is an OIDC scope (openid, profile, email,
// offline_access) or a Graph permission written bare ("User.Read"), with the URI
// prefix ("https://graph.microsoft.com/User.Read") or with the GUID prefix
// ("00000003-0000-0000-c000-000000000000/User.Read"); "<prefix>/.default" asks for
// everything the app holds (entra.md §2 field rules, §8).

// scopeForm is how a Graph scope was written; Entra echoes each scope in that form.
type scopeForm int

const (
	formBare scopeForm = iota
	formURI
	formGUID
)

func (f scopeForm) prefix() string {
	switch f {
	case formURI:
		return GraphResource + "/"
	case formGUID:
		return GraphAppID + "/"
	}
	return ""
}

var oidcScopes = map[string]bool{"openid": true, "profile": true, "email": true, "offline_access": true}

// graphScope is one requested Graph permission.
type graphScope struct {
	perm string // permission name as written, or ".default"
	form scopeForm
}

// scopeRequest is a parsed scope parameter.
type scopeRequest struct {
	raw   string
	order []string // request order: lower-case OIDC names and "g:<perm>" markers
	oidc  map[string]bool
	graph []graphScope // permissions, without .default
	dflt  *graphScope  // the .default scope, if asked for
	first scopeForm    // form of the first Graph scope (formURI if none)
	any   bool         // whether any Graph scope was requested
}

// parseScopes validates a space-separated scope parameter. tenantName names the
// directory in AADSTS500011.
func parseScopes(raw, tenantName string) (scopeRequest, *oauthError) {
	q := scopeRequest{raw: raw, oidc: map[string]bool{}, first: formURI}
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
		var gs graphScope
		switch {
		case strings.HasPrefix(low, strings.ToLower(GraphResource)+"/"):
			gs = graphScope{perm: tok[len(GraphResource)+1:], form: formURI}
		case strings.HasPrefix(low, GraphAppID+"/"):
			gs = graphScope{perm: tok[len(GraphAppID)+1:], form: formGUID}
		case strings.ContainsAny(tok, "/:"):
			resource := tok
			if i := strings.LastIndex(tok, "/"); i >= 0 {
				resource = tok[:i]
			}
			if resource == "" || strings.EqualFold(resource, GraphResource) {
				return q, errInvalidScope(tok, "")
			}
			return q, errUnknownResource(resource, tenantName)
		default:
			gs = graphScope{perm: tok, form: formBare}
		}
		if gs.perm != ".default" && !permRE.MatchString(gs.perm) {
			return q, errInvalidScope(tok, "")
		}
		if !q.any {
			q.any, q.first = true, gs.form
		}
		if gs.perm == ".default" {
			if q.dflt == nil {
				q.dflt = &gs
			}
			continue
		}
		key := strings.ToLower(gs.perm)
		if seen[key] {
			continue
		}
		seen[key] = true
		q.graph = append(q.graph, gs)
		q.order = append(q.order, "g:"+gs.perm)
	}
	if q.dflt != nil && len(q.graph) > 0 {
		return q, errInvalidScope(q.dflt.form.prefix()+".default", " The .default scope can't be combined with resource-specific scopes.")
	}
	return q, nil
}

func (q scopeRequest) has(oidc string) bool { return q.oidc[oidc] }

// grant is what a scope request yields for an app.
type grant struct {
	scp    string // the access token's scp claim
	scope  string // the response's scope field (never offline_access)
	audURI bool   // whether the Graph scopes were written with the URI prefix
}

// grantFor checks q against the app's preauthorized or consented scopes and computes
// scp and the echoed scope. A first-party app gets its whole preauthorized set, as
// Azure CLI does (entra.md §8); another app gets what it asked for.
func grantFor(a *App, q scopeRequest) (grant, *oauthError) {
	held := map[string]string{} // lower → canonical
	for _, s := range a.PreauthorizedScopes {
		held[strings.ToLower(s)] = s
	}
	for _, g := range q.graph {
		if _, ok := held[strings.ToLower(g.perm)]; ok {
			continue
		}
		if a.FirstParty {
			return grant{}, errNotPreauthorized(a.ClientID)
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
	requestedForm := map[string]scopeForm{}
	for _, g := range q.graph {
		requestedForm[strings.ToLower(g.perm)] = g.form
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
				p := canon(strings.TrimPrefix(o, "g:"))
				scp = append(scp, p)
				scope = append(scope, requestedForm[strings.ToLower(p)].prefix()+p)
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
		form, ok := requestedForm[strings.ToLower(p)]
		if !ok {
			form = q.first
		}
		scope = append(scope, form.prefix()+p)
	}
	if q.dflt != nil {
		scope = append(scope, q.dflt.form.prefix()+".default")
	}
	return grant{
		scp:    strings.Join(scp, " "),
		scope:  strings.Join(scope, " "),
		audURI: q.any && q.first == formURI,
	}, nil
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
