package veeam

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// The leftovers of the issue 13 recheck: input the server took and should refuse, and
// an operator's LoggedInUser.
func TestRecheckLeftovers(t *testing.T) {
	t.Parallel()
	e := newActionEnv(t, nil)
	f := DefaultFixtures()
	org, repo := f.Organizations[0].ID, f.Repositories[0].ID
	refused := func(method, path, body string, status int, code string, words ...string) {
		t.Helper()
		w := e.do(method, path, jsonType, body, e.tok...)
		if w.Code != status || !strings.Contains(w.Body.String(), `"errorCode":"`+code+`"`) {
			t.Errorf("%s %s %.80s = %d %s; want %d %s", method, path, body, w.Code, w.Body, status, code)
			return
		}
		for _, word := range words {
			if !strings.Contains(w.Body.String(), word) {
				t.Errorf("%s %s %.80s: the message %s does not say %q", method, path, body, w.Body, word)
			}
		}
	}

	t.Run("bad names are refused on create and update", func(t *testing.T) {
		job := func(name string) string {
			n, _ := json.Marshal(name)
			return fmt.Sprintf(`{"name":%s,"backupType":"EntireOrganization","repositoryId":%q,"organizationId":%q,"schedulePolicy":{"type":"ManualOnly"}}`, n, repo, org)
		}
		for _, name := range []string{"", "   ", "a\x00b", " padded", "padded\t"} {
			n, _ := json.Marshal(name)
			refused("POST", "/v8/Jobs", job(name), 400, codeValidation, "/name")
			refused("PUT", "/v8/Jobs/"+f.Jobs[0].ID, job(name), 400, codeValidation, "/name")
			refused("PUT", "/v8/Proxies/"+f.Proxies[0].ID, fmt.Sprintf(`{"hostName":%s,"port":9193,"type":"Domain"}`, n), 400, codeValidation, "/hostName")
			refused("POST", "/v8/Organizations/"+org+"/RbacRoles", fmt.Sprintf(`{"name":%s,"roleType":"EntireOrganization"}`, n), 400, codeValidation, "/name")
		}
		e.call("POST", "/v8/Jobs", job("a good name"), 201)
	})

	t.Run("a selected user the organization does not hold", func(t *testing.T) {
		job := f.Jobs[0]
		ghost := `[{"type":"User","user":{"id":"0a0a0a0a-0000-4000-8000-000000000001","displayName":"Nobody","name":"nobody@abc.example","type":"User"}}]`
		refused("POST", "/v8/Jobs/"+job.ID+"/SelectedItems", ghost, 404, codeNotFound, "0a0a0a0a-0000-4000-8000-000000000001")
		var u User
		for _, x := range f.Users {
			if x.OrganizationID == job.OrganizationID {
				u = x
				break
			}
		}
		real := fmt.Sprintf(`[{"type":"User","user":{"id":%q,"displayName":%q,"name":%q,"type":"User"}}]`, u.ID, u.DisplayName, u.Name)
		e.call("POST", "/v8/Jobs/"+job.ID+"/SelectedItems", real, 204)
		// The same check for the items an RBAC role is created with (they were stored
		// unchecked).
		role := func(items string) string {
			return `{"name":"role ` + newGUID()[:8] + `","roleType":"SpecificObjects","selectedItems":` + items + `}`
		}
		refused("POST", "/v8/Organizations/"+job.OrganizationID+"/RbacRoles", role(ghost), 404, codeNotFound, "0a0a0a0a-0000-4000-8000-000000000001")
		e.call("POST", "/v8/Organizations/"+job.OrganizationID+"/RbacRoles", role(real), 201)
	})

	t.Run("a running job is not deleted", func(t *testing.T) {
		job := f.Jobs[3] // no copy job copies it
		e.call("POST", "/v8/Jobs/"+job.ID+"/start", "", 200)
		refused("DELETE", "/v8/Jobs/"+job.ID, "", 400, codeOperationConflict, "running")
		e.call("POST", "/v8/Jobs/"+job.ID+"/stop", "", 204)
		e.call("DELETE", "/v8/Jobs/"+job.ID, "", 204)
	})

	t.Run("LoggedInUser is the operator", func(t *testing.T) {
		var u User
		for _, x := range f.Users {
			if x.OrganizationID == org {
				u = x
			}
		}
		w := e.do("GET", "/v8/Organization/LoggedInUser", "", "", e.mintFor(kindOperator, u.Name, org)...)
		var got map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Code != 200 || !strings.EqualFold(fmt.Sprint(got["id"]), u.ID) || got["name"] != u.Name {
			t.Errorf("LoggedInUser of %s (%s) = %d %s", u.Name, u.ID, w.Code, w.Body)
		}
	})
}
