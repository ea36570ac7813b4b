package veeam

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/mocks/veeam/spec"
)

// walker sends one request per operation of the document, each to a fresh server (so an
// operation that deletes or disables something does not change what the next one sees;
// a server costs well under a millisecond), as the caller the table names, with path ids
// from the default world and bodies generated from the document.
type walker struct {
	t   testing.TB
	clk *clock.Virtual
	srv *Server
	h   http.Handler // srv, or a wrapper that breaks it (the negative control)
	tok map[callers]string
	// working are the walk's own Working restore sessions, one of each type (a stopped
	// session's content is refused), by type.
	working map[string]string
}

func newWalker(t testing.TB, wrap func(http.Handler) http.Handler) *walker {
	t.Helper()
	w := &walker{t: t, clk: clock.NewVirtual(clock.DefaultStart), tok: map[callers]string{}}
	w.srv = newWalkServer(w.clk) // with an Entra mock: the device-code operations call it
	w.h = w.srv
	if wrap != nil {
		w.h = wrap(w.srv)
	}
	w.signIn()
	return w
}

// signIn mints the walk's three callers (the operator is the first user holding the
// default world's first RBAC role, so its explores are within a scope) and starts a
// Working restore session of each type, administrators', for the operations under one.
func (w *walker) signIn() {
	f := DefaultFixtures()
	org := f.Organizations[0].ID
	w.tok[admins] = w.mint(kindAdmin, "")
	w.tok[tenants] = w.mint(kindTenant, org)
	operator := "walker"
	for _, u := range f.Users {
		if u.ID == f.RbacRoles[0].Operators[0] {
			operator = u.Name
		}
	}
	tok := w.mint(kindOperator, org)
	w.tok[operators] = tok
	sess, _, _ := w.srv.sessions.access(tok, w.clk.Now())
	sess.user = operator
	o, _ := w.srv.organization(org)
	w.working = map[string]string{}
	for _, typ := range []string{"Vex", "Veod", "Vesp", "Vet"} {
		rs := RestoreSession{ID: spec.UUID("walk/restoresession/" + typ), Name: "walk", OrganizationID: org, Type: typ,
			CreationTime: w.clk.Now(), State: "Working", Result: "Success", InitiatedBy: "walker", ETag: 1}
		w.srv.storeTyped("/v8/RestoreSessions/"+rs.ID, rs.ID, restoreSessionWire(rs, o.Name),
			restoreOwner{OrganizationID: org, Type: typ, PointInTime: w.clk.Now()})
		w.working[typ] = rs.ID
	}
}

// mint records a session with a token of its own, without signing anything: the store
// accepts exactly the tokens it holds, so the token's form does not matter.
func (w *walker) mint(kind principalKind, org string) string {
	tok := "walk-" + newGUID()
	now := w.clk.Now()
	sess := &session{key: newGUID(), user: "walker", kind: kind, orgID: org, credentialType: credUsernamePassword}
	w.srv.sessions.add(sess, tok, tok+"-refresh", now.Add(time.Hour), now.Add(2*time.Hour), "", now) // as after disable_antiforgery_token=true
	return tok
}

// caller is who calls rt in the walk: nobody for anonymous operations, else the first
// of administrator, tenant, operator the table lets in.
func caller(rt *route) callers {
	for _, c := range []callers{admins, tenants, operators} {
		if rt.who&c != 0 {
			return c
		}
	}
	return 0
}

// pathValues picks the path's variables: ids of the world's items where a collection's
// item is named (the first item under the chosen parents), values generated from the
// parameter's schema elsewhere.
func (w *walker) pathValues(rt *route) []string {
	values := make([]string, len(rt.params))
	byVar := map[int]*collection{}
	for _, a := range rt.ancestors {
		byVar[a.vars-1] = a.c
	}
	for i := range values {
		if c := byVar[i]; c == restoreSessions() && w.working != nil && rt.mounted {
			values[i] = w.working[sessionTypeOf(strings.ToLower(strings.TrimPrefix(rt.template, "/v8/RestoreSessions/{restoreSessionId}/")))]
			continue
		}
		if c := byVar[i]; c != nil {
			items := w.srv.world.list(c.listPath(values))
			if len(items) > 0 {
				values[i] = items[0].id
				continue
			}
		}
		values[i] = exampleValue(rt.op.PathParams[i].Schema, rt.op.ID+"/"+rt.params[i])
	}
	return values
}

// semanticBodies are the bodies a schema-generated value cannot make valid: what the
// document types as a plain string or a list of ids must be Base64 or name items of the
// world; a job or repository must name an organization, repository and proxy the world
// holds (the server refuses one that does not, so its _links lead somewhere).
var semanticBodies = map[string]func(w *walker, rt *route) string{
	"License_InstallAction": func(*walker, *route) string {
		return `{"licenseFile":"` + base64.StdEncoding.EncodeToString([]byte("walk license")) + `"}`
	},
	"Proxy_Rescan": func(w *walker, _ *route) string {
		return `{"proxies":[{"id":"` + w.srv.world.list("/v8/Proxies")[0].id + `"}]}`
	},
	"Organization_Update": func(w *walker, rt *route) string { // applicationCertificate must be a PFX file's Base64
		o, err := parseObject(spec.Doc().Generate(rt.op.Body, spec.Gen{Seed: "walk/" + rt.op.ID, Now: w.clk.Now(), Request: true}))
		if err != nil {
			w.t.Fatalf("%s: generated body: %v", rt.op.ID, err)
		}
		for _, k := range []string{"exchangeOnlineSettings", "sharePointOnlineSettings"} {
			if raw := o.get(k); raw != nil {
				if settings, err := parseObject(raw); err == nil {
					settings.del("applicationCertificate")
					settings.del("applicationCertificatePassword")
					o.set(k, settings.bytes())
				}
			}
		}
		return string(o.bytes())
	},
	"Job_Add":                           namingWorldItems("organizationId", "/v8/Organizations", "repositoryId", "/v8/BackupRepositories"),
	"Job_Update":                        namingWorldItems("organizationId", "/v8/Organizations", "repositoryId", "/v8/BackupRepositories"),
	"CopyJob_Create":                    namingWorldItems("backupJobId", "/v8/Jobs", "repositoryId", "/v8/BackupRepositories"),
	"CopyJob_Update":                    namingWorldItems("backupJobId", "/v8/Jobs", "repositoryId", "/v8/BackupRepositories"),
	"DataRetrieval_Create":              namingWorldItems("organizationId", "/v8/Organizations", "repositoryId", "/v8/BackupRepositories"),
	"BackupRepository_Add":              namingWorldItems("proxyId", "/v8/Proxies"),
	"Job_AddSelectedItems":              namingDirectoryItems,
	"Job_AddExcludedItems":              namingDirectoryItems,
	"RbacRole_AddSelectedItems":         namingDirectoryItems,
	"RbacRole_Add":                      namingRoleItems,
	"RbacRole_Update":                   namingRoleItems,
	"RbacRole_AddOperators":             namingDirectoryItems,
	"RbacRole_AddExcludedItems":         namingDirectoryItems,
	"BackupRepository_UpdateRepository": namingWorldItems("proxyId", "/v8/Proxies"),
}

// namingWorldItems generates the operation's body from the document, then sets each
// field to the id of the first item of its list: field, list, field, list, ….
func namingWorldItems(pairs ...string) func(w *walker, rt *route) string {
	return func(w *walker, rt *route) string {
		o, err := parseObject(spec.Doc().Generate(rt.op.Body, spec.Gen{Seed: "walk/" + rt.op.ID, Now: w.clk.Now(), Request: true}))
		if err != nil {
			w.t.Fatalf("%s: generated body: %v", rt.op.ID, err)
		}
		for i := 0; i+1 < len(pairs); i += 2 {
			o.setValue(pairs[i], w.srv.world.list(pairs[i+1])[0].id)
		}
		return string(o.bytes())
	}
}

// namingDirectoryItems generates a bulk add of selected or excluded items, then makes
// each user, group, site or team it names one of the directory of the job's or role's
// organization (the server refuses one its organization does not hold).
func namingDirectoryItems(w *walker, rt *route) string {
	var elems []json.RawMessage
	if err := json.Unmarshal(spec.Doc().Generate(rt.op.Body, spec.Gen{Seed: "walk/" + rt.op.ID, Now: w.clk.Now(), Request: true}), &elems); err != nil {
		w.t.Fatalf("%s: generated body: %v", rt.op.ID, err)
	}
	owner, _ := w.srv.world.get(fillPath(rt.coll.parent.item, w.pathValues(rt)[:rt.coll.listVars]))
	return w.namingDirectory(owner.obj.str("organizationId"), elems)
}

// namingDirectory makes each user, group, site or team the elements name one of
// organization org's directory, and returns them as a JSON array.
func (w *walker) namingDirectory(org string, elems []json.RawMessage) string {
	var out []string
	for _, el := range elems {
		o, _ := parseObject(el)
		named := ""
		for _, d := range directoryLists {
			sub, err := parseObject(o.get(d.field))
			if err != nil {
				continue
			}
			sub.setValue("id", w.srv.world.list("/v8/Organizations/" + org + "/" + d.list)[0].id)
			o.set(d.field, sub.bytes())
			if named == "" {
				named = d.typ
			}
		}
		// An element whose type is a directory object's names that object (the server
		// refuses a type User without its user).
		for _, d := range directoryLists {
			if named != "" && strings.EqualFold(o.str("type"), d.typ) {
				o.setValue("type", named)
			}
		}
		out = append(out, string(o.bytes()))
	}
	return "[" + strings.Join(out, ",") + "]"
}

// namingRoleItems generates a new or updated RBAC role whose operators, selected and
// excluded items are of its organization's directory.
func namingRoleItems(w *walker, rt *route) string {
	o, err := parseObject(spec.Doc().Generate(rt.op.Body, spec.Gen{Seed: "walk/" + rt.op.ID, Now: w.clk.Now(), Request: true}))
	if err != nil {
		w.t.Fatalf("%s: generated body: %v", rt.op.ID, err)
	}
	org := w.pathValues(rt)[0]
	if role, ok := w.srv.world.get("/v8/RbacRoles/" + org); ok { // PUT /v8/RbacRoles/{roleId}
		org = role.obj.str("organizationId")
	}
	for _, field := range []string{"operators", "selectedItems", "excludedItems"} {
		var elems []json.RawMessage
		if json.Unmarshal(o.get(field), &elems) == nil && len(elems) > 0 {
			o.set(field, json.RawMessage(w.namingDirectory(org, elems)))
		}
	}
	return string(o.bytes())
}

// exampleValue is a valid value for a parameter.
func exampleValue(s *openapi3.SchemaRef, seed string) string {
	v := s.Value
	switch {
	case len(v.Enum) > 0:
		return fmt.Sprint(v.Enum[0])
	case v.Format == "uuid":
		return spec.UUID(seed)
	case v.Format == "date-time":
		return "2026-01-04T09:00:00Z"
	case v.Type.Is(openapi3.TypeInteger):
		return "1"
	case v.Type.Is(openapi3.TypeBoolean):
		return "true"
	}
	return "x1"
}

// validRequest builds a valid request for rt: path, required query parameters and the
// body, with the caller's token.
func (w *walker) validRequest(rt *route) *http.Request {
	op := rt.op
	values := w.pathValues(rt)
	esc := make([]string, len(values))
	for i, v := range values {
		esc[i] = url.PathEscape(v)
	}
	q := url.Values{}
	for _, p := range op.QueryParams {
		switch {
		case p.Required && p.Name == "organizationId": // an organization of the world (BackupRepository_Explore)
			q.Set(p.Name, w.srv.world.list("/v8/Organizations")[0].id)
		case p.Required:
			q.Set(p.Name, exampleValue(p.Schema, op.ID+"?"+p.Name))
		}
	}
	if c := rt.coll; c != nil && rt.method == http.MethodDelete && len(values) == c.listVars+1 {
		w.unname(c, values[len(values)-1])
	}
	target := fillTemplate(rt.template, esc)
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	var body string
	ctype := ""
	switch {
	case op.ID == "token":
		body, ctype = "grant_type=password&username=Administrator&password="+url.QueryEscape(DefaultAdminPassword), formType
	case semanticBodies[op.ID] != nil:
		body, ctype = semanticBodies[op.ID](w, rt), jsonType
	case op.Body != nil:
		body, ctype = w.namingContent(target, string(spec.Doc().Generate(op.Body, spec.Gen{Seed: "walk/" + op.ID, Now: w.clk.Now(), Request: true}))), jsonType
	}
	return w.request(rt, target, ctype, body)
}

// namingContent makes a generated body of an action on a whole content list (…/mailboxes/
// restore with {"mailboxes":[{"id":…}]}) name an item the session shows: the server
// refuses ids it does not hold. Other bodies are returned as they are.
func (w *walker) namingContent(target, body string) string {
	list := target[:strings.LastIndexByte(target, '/')]
	if !strings.HasPrefix(strings.ToLower(list), contentScope) {
		return body
	}
	items := w.srv.world.list(strings.ToLower(list))
	o, err := parseObject([]byte(body))
	if len(items) == 0 || err != nil {
		return body
	}
	for i, m := range o {
		var elems []json.RawMessage
		if json.Unmarshal(m.val, &elems) != nil {
			continue
		}
		for j, el := range elems {
			var id string
			if json.Unmarshal(el, &id) == nil {
				elems[j], _ = json.Marshal(items[0].id)
			} else if eo, err := parseObject(el); err == nil && eo.get("id") != nil {
				eo.setValue("id", items[0].id)
				elems[j] = eo.bytes()
			}
		}
		o[i].val, _ = json.Marshal(elems)
	}
	return string(o.bytes())
}

// unname removes the items that name c's item id in their refs (an organization's
// jobs): the server refuses to delete an item others name, so a valid DELETE needs them
// gone first.
func (w *walker) unname(c *collection, id string) {
	for _, d := range collections {
		for field, list := range d.refs {
			if list != c.list {
				continue
			}
			for _, it := range w.srv.world.list(d.list) {
				if strings.EqualFold(it.obj.text(field), id) {
					w.srv.world.remove(it.key)
				}
			}
		}
	}
}

func (w *walker) request(rt *route, target, ctype, body string) *http.Request {
	req := httptest.NewRequest(rt.method, "https://127.0.0.1:4443"+target, strings.NewReader(body))
	req.RemoteAddr = "127.0.0.1:50000"
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if c := caller(rt); c != 0 {
		req.Header.Set("Authorization", "Bearer "+w.tok[c])
	}
	return req
}

// send serves req and checks the answer against the document with the kin-openapi
// oracle; binary answers, which the document cannot describe, with spec's shape check.
func (w *walker) send(rt *route, req *http.Request) (*httptest.ResponseRecorder, error) {
	rec := httptest.NewRecorder()
	w.h.ServeHTTP(rec, req)
	return rec, w.judge(rt, req, rec)
}

func (w *walker) judge(rt *route, req *http.Request, rec *httptest.ResponseRecorder) error {
	if rec.Code < 400 && rt.op.Media == "application/octet-stream" {
		return rt.op.ValidateResponse(rec.Code, rec.Header(), rec.Body.Bytes())
	}
	validated, err := validateResponse(w.t, w.srv, rt.method, req.URL.RequestURI(), "", "", rec)
	if err != nil {
		return err
	}
	if !validated && rec.Code != http.StatusUnauthorized {
		return fmt.Errorf("the answer %d was not validated", rec.Code)
	}
	return nil
}

// walkOne sends rt's valid request and returns what is wrong with the answer, if
// anything: a status other than the documented one, or a body the document refuses.
func walkOne(t testing.TB, rt *route, wrap func(http.Handler) http.Handler) string {
	w := newWalker(t, wrap)
	req := w.validRequest(rt)
	rec, err := w.send(rt, req)
	switch {
	case rec.Code != rt.op.Status:
		return fmt.Sprintf("%s %s (%s) as %s: %d, want %d: %.300s", rt.method, req.URL.RequestURI(), rt.op.ID, callerName(caller(rt)), rec.Code, rt.op.Status, rec.Body)
	case err != nil:
		return fmt.Sprintf("%s %s (%s): %v", rt.method, req.URL.RequestURI(), rt.op.ID, err)
	}
	return ""
}

func callerName(c callers) string {
	switch c {
	case admins:
		return "administrator"
	case tenants:
		return "tenant"
	case operators:
		return "operator"
	}
	return "anonymous"
}

// Acceptance 1 of issue 11: every one of the document's 487 operations, called validly
// as the caller the table names, answers its documented success status with a body that
// validates against the document: no 5xx, no 404.
func TestWalkEveryOperation(t *testing.T) {
	t.Parallel()
	loadSpec(t)
	var failures []string
	counts := map[int]int{}
	for _, rt := range table().order {
		if p := walkOne(t, rt, nil); p != "" {
			failures = append(failures, p)
		}
		counts[rt.op.Status]++
	}
	if len(table().order) != 487 {
		t.Errorf("walked %d operations, want 487", len(table().order))
	}
	for _, f := range failures {
		t.Error(f)
	}
	t.Logf("walked %d operations (%d × 200, %d × 201, %d × 204), %d failed", len(table().order), counts[200], counts[201], counts[204], len(failures))
}

// The walk can fail: a server that answers one operation 404, another 500, another with
// a required property missing, another with the wrong success status, and one binary
// answer as JSON is caught on each of them, and only on them.
func TestWalkCatchesABrokenServer(t *testing.T) {
	t.Parallel()
	loadSpec(t)
	broken := map[string]func(w http.ResponseWriter, r *http.Request, next http.Handler){
		"Job_Get": func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
			writeError(w, "", notFound("Job", "x"))
		},
		"License_Get": func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
			writeError(w, "", &apiError{Status: 500, Message: "boom"})
		},
		"ProxyPool_GetProxyPools": func(w http.ResponseWriter, r *http.Request, next http.Handler) {
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(rec.Code)
			_, _ = w.Write([]byte(strings.Replace(rec.Body.String(), `"results":`, `"resultz":`, 1)))
		},
		"Job_Add": func(w http.ResponseWriter, r *http.Request, next http.Handler) {
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(rec.Body.Bytes())
		},
		"Reports_GenerateLicenseOverviewAction": func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{}`))
		},
	}
	for _, id := range []string{"Job_Get", "License_Get", "ProxyPool_GetProxyPools", "Job_Add", "Reports_GenerateLicenseOverviewAction",
		"ServiceInstance_Get", "Job_GetById", "Proxy_Add", "Reports_GenerateMailboxProtectionAction"} {
		rt := table().byID[id]
		fault := broken[id]
		var wrap func(http.Handler) http.Handler
		if fault != nil {
			wrap = func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fault(w, r, next) })
			}
		}
		p := walkOne(t, rt, wrap)
		switch {
		case fault != nil && p == "":
			t.Errorf("%s was broken and the walk passed it", id)
		case fault == nil && p != "":
			t.Errorf("%s failed though it was not broken: %s", id, p)
		case fault != nil:
			t.Logf("caught: %s", p)
		}
	}
}
