package veeam

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/vbharness/vbharness/mocks/veeam/spec"
)

// invalidCase is one invalid request built from the document, and the field the 400
// must name.
type invalidCase struct {
	kind  string // "path uuid", "query value", "missing body property", "body type"
	rt    *route
	field string // the parameter's name or the body's JSON pointer
	req   *http.Request
}

// invalidCases builds, for one operation, an invalid request of each kind the document
// gives it: a path GUID that is not one, a query value outside its type or enumeration, a
// body without a required property, a body of the wrong JSON type.
func invalidCases(w *walker, rt *route) []invalidCase {
	op := rt.op
	if op.ID == "token" { // its own validation and errors (OAuth style)
		return nil
	}
	var out []invalidCase
	values := w.pathValues(rt)
	target := func(vals []string, query string) string {
		esc := make([]string, len(vals))
		for i, v := range vals {
			esc[i] = url.PathEscape(v)
		}
		q, _ := url.ParseQuery(query)
		for _, p := range op.QueryParams {
			if p.Required && !q.Has(p.Name) {
				q.Set(p.Name, exampleValue(p.Schema, op.ID+"?"+p.Name))
			}
		}
		s := fillTemplate(rt.template, esc)
		if enc := q.Encode(); enc != "" {
			s += "?" + enc
		}
		return s
	}
	validBody := ""
	if op.Body != nil {
		validBody = string(spec.Doc().Generate(op.Body, spec.Gen{Seed: "invalid/" + op.ID, Now: w.clk.Now(), Request: true}))
	}
	for i, p := range op.PathParams {
		if p.Schema.Value.Format == "uuid" {
			bad := slices.Clone(values)
			bad[i] = "not-a-guid"
			out = append(out, invalidCase{"path uuid", rt, p.Name, w.request(rt, target(bad, ""), ctypeOf(validBody), validBody)})
			break
		}
	}
	for _, p := range op.QueryParams {
		s := p.Schema.Value
		if len(s.Enum) > 0 || s.Format == "uuid" || s.Format == "date-time" || s.Type.Is(openapi3.TypeInteger) || s.Type.Is(openapi3.TypeBoolean) {
			q := url.Values{p.Name: {"bogus-value"}}.Encode()
			out = append(out, invalidCase{"query value", rt, p.Name, w.request(rt, target(values, q), ctypeOf(validBody), validBody)})
			break
		}
	}
	if body := op.Body; body != nil {
		if body.Value.Type.Is(openapi3.TypeArray) {
			out = append(out, invalidCase{"body type", rt, "/", w.request(rt, target(values, ""), jsonType, `{"not":"an array"}`)})
		} else {
			out = append(out, invalidCase{"body type", rt, "/", w.request(rt, target(values, ""), jsonType, `["not","an","object"]`)})
			for _, name := range body.Value.Required {
				if p := body.Value.Properties[name]; p == nil || p.Value.ReadOnly {
					continue
				}
				var o map[string]json.RawMessage
				if json.Unmarshal([]byte(validBody), &o) != nil {
					break
				}
				delete(o, name)
				b, _ := json.Marshal(o)
				out = append(out, invalidCase{"missing body property", rt, "/" + name, w.request(rt, target(values, ""), jsonType, string(b))})
				break
			}
		}
	}
	return out
}

func ctypeOf(body string) string {
	if body == "" {
		return ""
	}
	return jsonType
}

// Acceptance 2 of issue 11: invalid requests of each kind, built from the document for
// every operation that can receive them, get 400 ParameterValidationFailure with a message
// that names the field, in RESTExceptionInfo's shape.
func TestInvalidRequestsNameTheField(t *testing.T) {
	t.Parallel()
	loadSpec(t)
	w := newWalker(t, nil)
	perKind := map[string]map[string]bool{}
	ops := map[string]bool{}
	for _, rt := range table().order {
		for _, c := range invalidCases(w, rt) {
			rec, err := w.send(c.rt, c.req)
			var body struct {
				Message   string  `json:"message"`
				ErrorCode *string `json:"errorCode"`
			}
			_ = json.Unmarshal(rec.Body.Bytes(), &body)
			switch {
			case rec.Code != http.StatusBadRequest || body.ErrorCode == nil || *body.ErrorCode != codeValidation:
				t.Errorf("%s (%s, %s): %d %s, want 400 ParameterValidationFailure", c.kind, rt.op.ID, c.req.URL.RequestURI(), rec.Code, rec.Body)
			case !strings.Contains(body.Message, c.field):
				t.Errorf("%s (%s): the message does not name %s: %q", c.kind, rt.op.ID, c.field, body.Message)
			case err != nil:
				t.Errorf("%s (%s): %v", c.kind, rt.op.ID, err)
			}
			if perKind[c.kind] == nil {
				perKind[c.kind] = map[string]bool{}
			}
			perKind[c.kind][rt.op.ID] = true
			ops[rt.op.ID] = true
		}
	}
	for _, kind := range []string{"path uuid", "query value", "missing body property", "body type"} {
		if len(perKind[kind]) == 0 {
			t.Errorf("no operation got an invalid request of kind %q", kind)
		}
		t.Logf("%-22s %d operations", kind, len(perKind[kind]))
	}
	if len(ops) < 50 {
		t.Errorf("invalid requests reached %d operations, want at least 50", len(ops))
	}
	t.Logf("%d operations in all", len(ops))
}

// Acceptance 3 of issue 11: every error body the mock sends is a RESTExceptionInfo with
// the three fields in order, and on an operation of the document its errorCode is one of
// the document's values (null only where no operation matched: 404 for an unknown path,
// 405 for a method the path lacks). 401s have no body. The errors come from the invalid
// requests above, every operation without a token and with a token of the wrong kind,
// every path with an unknown id, a method each path lacks, and the other error paths.
func TestEveryErrorBodyIsARESTExceptionInfo(t *testing.T) {
	t.Parallel()
	oracle := loadSpec(t)
	_ = oracle
	info := kin.doc.Components.Schemas["RESTExceptionInfo"].Value
	enum := info.Properties["errorCode"].Value.Enum
	w := newWalker(t, nil)
	seen := map[int]int{}
	check := func(what string, withRoute bool, req *http.Request) {
		t.Helper()
		rec := httptest.NewRecorder()
		w.h.ServeHTTP(rec, req)
		seen[rec.Code]++
		if rec.Code < 400 {
			t.Errorf("%s: %d, want an error", what, rec.Code)
			return
		}
		if rec.Code == http.StatusUnauthorized {
			if rec.Body.Len() != 0 || rec.Header().Get("WWW-Authenticate") != "Bearer" {
				t.Errorf("%s: 401 with a body or without WWW-Authenticate: Bearer: %q", what, rec.Body)
			}
			return
		}
		if got := orderedKeys(t, rec.Body.Bytes()); !slices.Equal(got, []string{"message", "errorCode", "stackTrace"}) {
			t.Errorf("%s: keys %v", what, got)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("%s: Content-Type %q", what, ct)
		}
		var v any
		if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
			t.Errorf("%s: %v", what, err)
			return
		}
		if err := info.VisitJSON(v, openapi3.VisitAsResponse()); err != nil {
			t.Errorf("%s: %d is not a RESTExceptionInfo: %v", what, rec.Code, err)
		}
		code := v.(map[string]any)["errorCode"]
		switch {
		case withRoute && (code == nil || !slices.Contains(enum, code)):
			t.Errorf("%s: errorCode %v, want one of the document's %v", what, code, enum)
		case !withRoute && code != nil:
			t.Errorf("%s: errorCode %v, want null", what, code)
		}
	}
	missing := "00000000-0000-4000-8000-00000000dead"
	for _, rt := range table().order {
		if rt.op.ID == "token" {
			continue
		}
		for _, c := range invalidCases(w, rt) {
			check(c.kind+" "+rt.op.ID, true, c.req)
		}
		valid := w.validRequest(rt)
		if rt.who != 0 {
			anon := valid.Clone(valid.Context())
			anon.Header.Del("Authorization")
			check("no token "+rt.op.ID, true, anon)
			// A token of a kind the operation is not for.
			for _, c := range []callers{admins, tenants, operators} {
				if rt.who&c == 0 {
					wrong := w.validRequest(rt)
					wrong.Header.Set("Authorization", "Bearer "+w.tok[c])
					check(callerName(c)+" on "+rt.op.ID, true, wrong)
					break
				}
			}
		}
		if n := len(rt.ancestors); n > 0 {
			a := rt.ancestors[n-1]
			values := w.pathValues(rt)
			if a.c.idKind == "integer" {
				values[a.vars-1] = "999"
			} else {
				values[a.vars-1] = missing
			}
			req := w.validRequest(rt)
			req.URL.Path = fillTemplate(rt.template, values)
			check("unknown id on "+rt.op.ID, true, req)
		}
	}
	// A method each path lacks: 405, no operation matched.
	leaves := map[*routeNode]bool{}
	for _, rt := range table().order {
		var m match
		table().tree.resolve(fillTemplate(rt.template, w.pathValues(rt)), &m)
		if leaves[m.leaf] {
			continue
		}
		leaves[m.leaf] = true
		for _, method := range []string{"PATCH", "PUT", "DELETE", "POST", "GET"} {
			if m.leaf.route(method) == nil {
				check(method+" "+rt.template, false, w.request(&route{method: method, operation: &operation{}}, fillTemplate(rt.template, w.pathValues(rt)), "", ""))
				break
			}
		}
	}
	admin := func(method, target, ctype, body string) *http.Request {
		r := w.request(&route{method: method, operation: &operation{who: admins}}, target, ctype, body)
		return r
	}
	for _, p := range []string{"/v7/ServiceInstance", "/v8/Nothing", "/v8/Jobs/" + missing + "/nothing", "/"} {
		check("unknown path "+p, false, admin("GET", p, "", ""))
	}
	check("limit 0", true, admin("GET", "/v8/Jobs?limit=0", "", ""))
	check("offset -1", true, admin("GET", "/v8/Proxies?offset=-1", "", ""))
	check("bad restore session time", true, admin("GET", "/v8/RestoreSessions?startTimeFrom=yesterday", "", ""))
	disabled := DefaultFixtures().Jobs[8].ID // every ninth default job is disabled
	check("start a disabled job", true, admin("POST", "/v8/Jobs/"+disabled+"/start", "", ""))
	check("a body over 1 MiB", true, admin("POST", "/v8/Jobs/"+disabled+"/start", jsonType, `{"full":"`+strings.Repeat("x", 1<<20)+`"}`))
	check("a taken bucket folder name", true, func() *http.Request {
		var folder *item
		for _, it := range w.srv.world.list("/v8/S3Resources/buckets") {
			if items := w.srv.world.list("/v8/S3Resources/buckets/" + it.id + "/folders"); len(items) > 0 {
				folder = items[0]
				break
			}
		}
		return admin("POST", strings.TrimSuffix(folder.path, "/"+folder.id)+"?accountId="+missing+"&RegionType=Global", jsonType, `{"name":"`+folder.id+`"}`)
	}())
	for _, code := range []int{400, 401, 403, 404, 405, 413} {
		if seen[code] == 0 {
			t.Errorf("no %d was checked", code)
		}
	}
	t.Logf("checked error answers by status: %v", fmt.Sprint(seen))
}
