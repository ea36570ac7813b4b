package veeam

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
)

// The search operations under a restore session's organization: each scans the
// session's content lists its path names (content.go) for the body's query, matched
// case-insensitively as a substring of an item's subject, name, title or displayName
// [A: the real server's query language (Exchange's AQS, SharePoint's KQL) is not
// emulated; an empty query matches everything], and answers the matches as a page of
// the document's type. A Teams search takes the body's type: Posts or Tabs (Files: the
// mock keeps no Teams files, so none).

// searchScopes are the searches the mock answers from content, by the shape of their
// path after /v8/restoresessions/{}/: what each scans, given the session's base path,
// the request's path variables (the session first) and its body's Teams type.
var searchScopes = map[string]func(sc *searchScan, v []string, teamsType string){
	"organization/searchexchange":      func(sc *searchScan, _ []string, _ string) { sc.under("/organization/mailboxes", "/items", "") },
	"organization/mailboxes/search":    func(sc *searchScan, _ []string, _ string) { sc.under("/organization/mailboxes", "/items", "") },
	"organization/mailboxes/{}/search": func(sc *searchScan, v []string, _ string) { sc.add("/organization/mailboxes/"+v[1]+"/items", "") },
	"organization/mailboxes/{}/folders/{}/search": func(sc *searchScan, v []string, _ string) {
		sc.add("/organization/mailboxes/"+v[1]+"/items", v[2])
	},
	"organization/onedrives/search":    func(sc *searchScan, _ []string, _ string) { sc.under("/Organization/OneDrives", "/Documents", "") },
	"organization/onedrives/{}/search": func(sc *searchScan, v []string, _ string) { sc.add("/Organization/OneDrives/"+v[1]+"/Documents", "") },
	"organization/onedrives/{}/folders/{}/search": func(sc *searchScan, v []string, _ string) {
		sc.add("/Organization/OneDrives/"+v[1]+"/Documents", v[2])
	},
	"organization/sites/search": func(sc *searchScan, _ []string, _ string) {
		sc.under("/Organization/Sites", "/Documents", "")
		sc.under("/Organization/Sites", "/Items", "")
	},
	"organization/sites/{}/search": func(sc *searchScan, v []string, _ string) {
		sc.add("/Organization/Sites/"+v[1]+"/Documents", "")
		sc.add("/Organization/Sites/"+v[1]+"/Items", "")
	},
	"organization/sites/{}/folders/{}/search":   func(sc *searchScan, v []string, _ string) { sc.add("/Organization/Sites/"+v[1]+"/Documents", v[2]) },
	"organization/sites/{}/libraries/{}/search": func(sc *searchScan, v []string, _ string) { sc.add("/Organization/Sites/"+v[1]+"/Documents", "") },
	"organization/sites/{}/lists/{}/search":     func(sc *searchScan, v []string, _ string) { sc.add("/Organization/Sites/"+v[1]+"/Items", v[2]) },
	"organization/teams/{}/posts/search":        func(sc *searchScan, v []string, _ string) { sc.add("/organization/teams/"+v[1]+"/posts", "") },
	"organization/teams/{}/channels/{}/tabs/search": func(sc *searchScan, v []string, _ string) {
		sc.add("/organization/teams/"+v[1]+"/channels/"+v[2]+"/tabs", "")
	},
	"organization/searchteams": func(sc *searchScan, _ []string, typ string) {
		for _, t := range sc.s.world.list(sc.base + "/organization/teams") {
			sc.team(t.id, "", typ)
		}
	},
	"organization/teams/{}/search":             func(sc *searchScan, v []string, typ string) { sc.team(v[1], "", typ) },
	"organization/teams/{}/channels/{}/search": func(sc *searchScan, v []string, typ string) { sc.team(v[1], v[2], typ) },
}

// searchScan collects the items a search scans.
type searchScan struct {
	s     *Server
	base  string // the restore session's path
	items []*item
}

// add scans a content list under the session, only the items in parent if one is given.
func (sc *searchScan) add(list, parent string) {
	for _, it := range sc.s.world.list(sc.base + list) {
		if parent == "" || contentParent(nil, it, parent) {
			sc.items = append(sc.items, it)
		}
	}
}

// under scans a child list of every item of a list (every mailbox's items).
func (sc *searchScan) under(list, child, parent string) {
	for _, p := range sc.s.world.list(sc.base + list) {
		sc.add(list+"/"+p.id+child, parent)
	}
}

// team scans a team's posts (of one channel, if given) or its channels' tabs.
func (sc *searchScan) team(team, channel, typ string) {
	switch typ {
	case "Posts":
		for _, it := range sc.s.world.list(sc.base + "/organization/teams/" + team + "/posts") {
			if channel == "" || strings.EqualFold(it.obj.str("channelId"), channel) {
				sc.items = append(sc.items, it)
			}
		}
	case "Tabs":
		for _, ch := range sc.s.world.list(sc.base + "/organization/teams/" + team + "/channels") {
			if channel == "" || strings.EqualFold(ch.id, channel) {
				sc.add("/organization/teams/"+team+"/channels/"+ch.id+"/tabs", "")
			}
		}
	}
}

// searchContent answers a search of searchScopes: the matches, paged.
func (s *Server) searchContent(rq *request) (int, any, *apiError) {
	var opts struct {
		Query string `json:"query"`
		Type  string `json:"type"`
	}
	if len(bytes.TrimSpace(rq.body)) > 0 {
		_ = json.Unmarshal(rq.body, &opts)
	}
	sc := &searchScan{s: s, base: "/v8/RestoreSessions/" + strings.ToLower(rq.values[0])}
	searchScopes[searchShape(rq.route.template)](sc, rq.values, opts.Type)
	q := strings.ToLower(strings.TrimSpace(opts.Query))
	var matches []*item
	for _, it := range sc.items {
		if q == "" {
			matches = append(matches, it)
			continue
		}
		for _, f := range []string{"subject", "name", "title", "displayName"} {
			if strings.Contains(strings.ToLower(it.obj.str(f)), q) {
				matches = append(matches, it)
				break
			}
		}
	}
	p, e := s.pager(rq)
	if e != nil {
		return 0, nil, e
	}
	return http.StatusOK, p.render(len(matches), func(b *bytes.Buffer, i int) {
		s.world.contentCollection(matches[i].list).render(b, rq, matches[i], true)
	}), nil
}

// searchShape is a search path's shape after /v8/restoresessions/{}/.
func searchShape(template string) string {
	return strings.TrimPrefix(shape(template), restoreSessionScope+"/")
}

// contentCollection is the content collection a list key belongs to.
func (w *world) contentCollection(list string) *collection {
	w.mu.RLock()
	defer w.mu.RUnlock()
	c, _ := matchContent(w.base.contents, list)
	return c
}
