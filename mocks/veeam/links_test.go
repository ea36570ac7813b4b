package veeam

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/routers"
)

// hrefsIn returns every _links.<rel>.href of a JSON document, at any depth, as
// "rel href" pairs in document order.
func hrefsIn(body []byte) [][2]string {
	var doc any
	if json.Unmarshal(body, &doc) != nil {
		return nil
	}
	var out [][2]string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case []any:
			for _, e := range v {
				walk(e)
			}
		case map[string]any:
			keys := make([]string, 0, len(v))
			for k := range v {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				if k != "_links" {
					walk(v[k])
					continue
				}
				links, _ := v[k].(map[string]any)
				rels := make([]string, 0, len(links))
				for rel := range links {
					rels = append(rels, rel)
				}
				slices.Sort(rels)
				for _, rel := range rels {
					if l, ok := links[rel].(map[string]any); ok {
						h, _ := l["href"].(string)
						out = append(out, [2]string{rel, h})
					}
				}
			}
		}
	}
	walk(doc)
	return out
}

// followLink checks one link of an answer given to caller: the href is a relative
// /v8/… reference whose path is a path of the document, spelled as the document spells
// it, and the mock answers a GET of it, as the same caller, with a success: a link that
// answers 400 (a required query parameter left out) or 404 leads nowhere. The
// exceptions answer 405, from paths the document gives no GET: the self link of a page of
// a POST search (…/search?offset=…), which a client re-POSTs, and a licensed user's self
// link (/v8/LicensedUsers/{id} has only DELETE); and the content links of a stopped
// restore session answer 400 OperationConflict, below.
func (w *walker) followLink(c callers, rel, href string) error {
	u, err := url.Parse(href)
	if err != nil || u.IsAbs() || u.Host != "" {
		return fmt.Errorf("_links.%s.href %q is not a relative reference", rel, href)
	}
	req := httptest.NewRequest(http.MethodGet, "https://127.0.0.1:4443"+href, nil)
	hasGet := true
	if _, _, err := loadSpec(w.t).FindRoute(req); errors.Is(err, routers.ErrMethodNotAllowed) {
		hasGet = false
	} else if err != nil {
		return fmt.Errorf("_links.%s.href %q matches no path of the document: %v", rel, href, err)
	}
	req.RemoteAddr = "127.0.0.1:50000"
	if c != 0 {
		req.Header.Set("Authorization", "Bearer "+w.tok[c])
	}
	rec := httptest.NewRecorder()
	w.h.ServeHTTP(rec, req)
	if rec.Code == http.StatusBadRequest && strings.HasPrefix(href, "/v8/RestoreSessions/") && strings.Contains(rec.Body.String(), `"OperationConflict"`) {
		// A stopped restore session keeps its links, which answer 400 OperationConflict
		// ("… is stopped: its backup is no longer mounted") by the restore sessions'
		// design (issue 13). Whether a stopped session should carry them is for that code
		// to decide; the link is logged here, not hidden.
		w.t.Logf("_links.%s.href %q answers 400 OperationConflict (a stopped restore session)", rel, href)
		return nil
	}
	// Without a GET in the document, 405 is the answer, and two links may give it: the
	// self link of a page of a POST search, which a client re-POSTs, and a licensed
	// user's self link, which names the DELETE that revokes the license (the document has
	// no GET there). Any other link to a path without a GET is a defect.
	lower := strings.ToLower(u.Path)
	getless := strings.Contains(lower, "/search") || strings.HasPrefix(lower, "/v8/licensedusers/")
	if rec.Code >= 300 && (hasGet || !getless || rec.Code != http.StatusMethodNotAllowed) {
		return fmt.Errorf("_links.%s.href %q answers %d to the %s that got it: %.200s", rel, href, rec.Code, callerName(c), rec.Body)
	}
	return nil
}

// Issue 19 item 2, acceptance 2: every _links.*.href in every answer of the walk (each
// of the 487 operations called validly on the default world, as the caller the table
// names) is a path of the document and answers a GET from that caller with a success
// (2xx).
func TestEveryLinkLeadsSomewhere(t *testing.T) {
	t.Parallel()
	loadSpec(t)
	links, answers := 0, 0
	seen := map[string]bool{} // failures by operation and relation, reported once
	for _, rt := range table().order {
		w := newWalker(t, nil)
		req := w.validRequest(rt)
		rec := httptest.NewRecorder()
		w.h.ServeHTTP(rec, req)
		if rec.Code >= 300 {
			continue // TestWalkEveryOperation reports it
		}
		hrefs := hrefsIn(rec.Body.Bytes())
		if len(hrefs) > 0 {
			answers++
		}
		for _, l := range hrefs {
			links++
			if err := w.followLink(caller(rt), l[0], l[1]); err != nil {
				if k := rt.op.ID + "/" + l[0]; !seen[k] {
					seen[k] = true
					t.Errorf("%s %s (%s): %v", rt.method, req.URL.RequestURI(), rt.op.ID, err)
				}
			}
		}
	}
	if answers < 50 || links < 200 {
		t.Errorf("followed %d links in %d answers; the walk should find far more", links, answers)
	}
	t.Logf("followed %d links in %d answers", links, answers)
}

// The link check fails on a link to nowhere, a path outside the document and an
// absolute URL, and passes a link that leads somewhere.
func TestFollowLinkCatchesBrokenLinks(t *testing.T) {
	t.Parallel()
	loadSpec(t)
	w := newWalker(t, nil)
	job := w.srv.world.list("/v8/Jobs")[0].id
	for _, tc := range []struct {
		name, href string
		ok         bool
	}{
		{"a job that exists", "/v8/Jobs/" + job, true},
		{"a job that does not", "/v8/Jobs/00000000-0000-0000-0000-00000000dead", false},
		{"a path not in the document", "/v8/Organizations/" + job + "/Jobs", false},
		{"a link without the operation's required query", "/v8/S3Resources/buckets/bucket-1", false},
		{"an absolute URL", "https://127.0.0.1:4443/v8/Jobs/" + job, false},
	} {
		if err := w.followLink(admins, "x", tc.href); (err == nil) != tc.ok {
			t.Errorf("%s: followLink(%q) = %v, want ok=%v", tc.name, tc.href, err, tc.ok)
		}
	}
}

// Issue 19 item 2: the links a job, a repository and a session carry lead somewhere
// because the server refuses what would make them lead nowhere, and a copy job's
// session links its job where the copy job is.
func TestLinksOfWhatClientsCreate(t *testing.T) {
	t.Parallel()
	const missing = "00000000-0000-0000-0000-00000000dead"
	e := newActionEnv(t, nil)
	org, repo, proxy := firstID(e, "/v8/Organizations"), firstID(e, "/v8/BackupRepositories"), firstID(e, "/v8/Proxies")
	job := firstID(e, "/v8/Jobs")
	for _, tc := range []struct {
		name, method, path, body string
		want                     int
		message                  string
	}{
		{"a job for an organization the server does not hold is refused", "POST", "/v8/Jobs",
			`{"name":"j","organizationId":"` + missing + `","repositoryId":"` + repo + `","backupType":"EntireOrganization"}`, 404, "Organization with id"},
		{"a job into a repository the server does not hold is refused", "POST", "/v8/Jobs",
			`{"name":"j","organizationId":"` + org + `","repositoryId":"` + missing + `","backupType":"EntireOrganization"}`, 404, "Backup repository with id"},
		{"a job moved to a missing repository is refused", "PUT", "/v8/Jobs/" + job,
			`{"repositoryId":"` + missing + `"}`, 404, "Backup repository with id"},
		{"a repository on a missing proxy is refused", "POST", "/v8/BackupRepositories",
			`{"name":"r","path":"C:\\r","proxyId":"` + missing + `","retentionPeriodType":"Yearly","retentionFrequencyType":"Daily","retentionType":"ItemLevel"}`, 404, "Proxy with id"},
		{"a job naming what the server holds is created", "POST", "/v8/Jobs",
			`{"name":"j","organizationId":"` + org + `","repositoryId":"` + repo + `","backupType":"EntireOrganization"}`, 201, ""},
		{"a repository on a proxy the server holds is created", "POST", "/v8/BackupRepositories",
			`{"name":"r","path":"C:\\r","proxyId":"` + proxy + `","retentionPeriodType":"Yearly","retentionFrequencyType":"Daily","retentionType":"ItemLevel"}`, 201, ""},
	} {
		w := e.do(tc.method, tc.path, jsonType, tc.body, e.tok...)
		if w.Code != tc.want || !strings.Contains(w.Body.String(), tc.message) {
			t.Errorf("%s: %s %s = %d %s; want %d with %q", tc.name, tc.method, tc.path, w.Code, w.Body, tc.want, tc.message)
		}
	}
	js := e.call("POST", "/v8/CopyJobs/"+firstID(e, "/v8/CopyJobs")+"/start", "", 200)
	if got := field(js, "_links.job.href"); got != "/v8/CopyJobs/"+firstID(e, "/v8/CopyJobs") {
		t.Errorf("a copy job's session links its job at %v, want /v8/CopyJobs/…", got)
	}
	js = e.call("POST", "/v8/Jobs/"+job+"/start", "", 200)
	if got := field(js, "_links.job.href"); got != "/v8/Jobs/"+job {
		t.Errorf("a backup job's session links its job at %v, want /v8/Jobs/%s", got, job)
	}
	o := e.call("GET", "/v8/Organizations/"+org, "", 200)
	if got := field(o, "_links.jobs.href"); got != "/v8/Jobs?organizationId="+org {
		t.Errorf("an organization links its jobs at %v, want the documented /v8/Jobs?organizationId=", got)
	}
}
