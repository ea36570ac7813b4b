package veeam

import (
	"encoding/json"
	"fmt"
	"slices"
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

	t.Run("RBAC items and operators that name nobody", func(t *testing.T) {
		org := f.Jobs[0].OrganizationID
		var u User
		for _, x := range f.Users {
			if x.OrganizationID == org {
				u = x
				break
			}
		}
		made := e.call("POST", "/v8/Organizations/"+org+"/RbacRoles", `{"name":"role `+newGUID()[:8]+`","roleType":"SpecificObjects"}`, 201)
		role := "/v8/RbacRoles/" + made["id"].(string)
		// An item of type User without its user names nobody (RESTRbacUserItem requires it).
		refused("POST", role+"/selectedItems", `[{"type":"User"}]`, 400, codeValidation, "/user")
		refused("POST", role+"/selectedItems", `[{"type":"Group","group":{}}]`, 400, codeValidation, "/group")
		refused("POST", "/v8/Organizations/"+org+"/RbacRoles", `{"name":"role `+newGUID()[:8]+`","roleType":"SpecificObjects","selectedItems":[{"type":"User"}]}`, 400, codeValidation, "/user")
		// An operator that names nobody is refused; one the fixture directory does not
		// list is taken (an Entra account: checkOperator).
		refused("POST", role+"/operators", `[{"type":"User"}]`, 400, codeValidation, "/user")
		refused("POST", role+"/operators", `[{"type":"Group"}]`, 400, codeValidation, "/group")
		real := fmt.Sprintf(`[{"type":"User","user":{"id":%q,"displayName":%q,"name":%q,"type":"User"}}]`, u.ID, u.DisplayName, u.Name)
		e.call("POST", role+"/operators", real, 204)
	})

	t.Run("PUT of a role replaces the lists it gives", func(t *testing.T) {
		org := f.Jobs[0].OrganizationID
		var users []User
		for _, x := range f.Users {
			if x.OrganizationID == org {
				users = append(users, x)
			}
		}
		item := func(u User) string {
			return fmt.Sprintf(`{"type":"User","user":{"id":%q,"displayName":%q,"name":%q,"type":"User"}}`, u.ID, u.DisplayName, u.Name)
		}
		ids := func(list string) []string {
			t.Helper()
			w := e.do("GET", list, "", "", e.tok...)
			var got []struct {
				User struct{ ID string } `json:"user"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &got); w.Code != 200 || err != nil {
				t.Fatalf("GET %s = %d %s", list, w.Code, w.Body)
			}
			var out []string
			for _, it := range got {
				out = append(out, strings.ToLower(it.User.ID))
			}
			return out
		}
		name := "role " + newGUID()[:8]
		made := e.call("POST", "/v8/Organizations/"+org+"/RbacRoles", `{"name":"`+name+`","roleType":"SpecificObjects","selectedItems":[`+item(users[0])+`],"operators":[`+item(users[1])+`]}`, 201)
		role := "/v8/RbacRoles/" + made["id"].(string)
		if got := ids(role + "/selectedItems"); len(got) != 1 || got[0] != strings.ToLower(users[0].ID) {
			t.Fatalf("selected items after create = %v", got)
		}
		// The PUT gives new selected items and no operators: the selected items are
		// replaced, the operators stay.
		e.call("PUT", role, `{"name":"`+name+`","roleType":"SpecificObjects","selectedItems":[`+item(users[2])+`,`+item(users[3])+`]}`, 204)
		if got := ids(role + "/selectedItems"); len(got) != 2 || !slices.Contains(got, strings.ToLower(users[2].ID)) || !slices.Contains(got, strings.ToLower(users[3].ID)) {
			t.Errorf("selected items after PUT = %v; want %s and %s", got, users[2].ID, users[3].ID)
		}
		if got := ids(role + "/operators"); len(got) != 1 || got[0] != strings.ToLower(users[1].ID) {
			t.Errorf("operators after a PUT without them = %v; want %s", got, users[1].ID)
		}
		// A PUT naming someone the directory does not hold changes nothing.
		ghost := `{"type":"User","user":{"id":"0a0a0a0a-0000-4000-8000-000000000003","displayName":"Nobody","name":"nobody@abc.example","type":"User"}}`
		refused("PUT", role, `{"name":"renamed","roleType":"SpecificObjects","selectedItems":[`+ghost+`]}`, 404, codeNotFound, "0a0a0a0a-0000-4000-8000-000000000003")
		if got := e.call("GET", role, "", 200)["name"]; got != name {
			t.Errorf("a refused PUT renamed the role to %v", got)
		}
		if got := ids(role + "/selectedItems"); len(got) != 2 {
			t.Errorf("a refused PUT changed the selected items: %v", got)
		}
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
