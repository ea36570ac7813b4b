package veeam

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The default fixtures are valid and hold what the issue asks for: the seed's
// organization (modern app-only, the Entra mock's tenant), a basic-auth organization,
// 45 jobs, and the seed's build.
func TestDefaultFixtures(t *testing.T) {
	t.Parallel()
	f := DefaultFixtures()
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	abc, legacy := f.Organizations[0], f.Organizations[1]
	if abc.Name != "abc.onmicrosoft.com" || abc.MSID != "6f1c2a9e-3b7d-4c55-9a0e-2d8b1f4e7c31" || !abc.ModernAppOnly {
		t.Errorf("abc = %+v", abc)
	}
	if legacy.ModernAppOnly || legacy.Password == "" {
		t.Errorf("legacy organization = %+v", legacy)
	}
	if len(f.Jobs) != 45 || len(f.JobSessions) != 90 || len(f.Repositories) != 3 || len(f.Proxies) != 2 || len(f.RestoreSessions) != 3 {
		t.Errorf("counts: %d jobs, %d job sessions, %d repositories, %d proxies, %d restore sessions",
			len(f.Jobs), len(f.JobSessions), len(f.Repositories), len(f.Proxies), len(f.RestoreSessions))
	}
	if f.ServiceInstance.Version != "8.0.5.20" {
		t.Errorf("version = %q", f.ServiceInstance.Version)
	}
	if DefaultFixtures().Jobs[7].ID != f.Jobs[7].ID {
		t.Error("default ids differ between calls")
	}
}

const yamlFixtures = `serviceInstance:
  installationId: 11111111-2222-4333-8444-555555555555
organizations:
  - id: 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
    name: contoso.onmicrosoft.com
    msid: 3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f
    modernAppOnly: true
    isExchangeOnline: true
repositories:
  - id: 5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b
    name: Repo
    path: C:\Repo
    retentionType: ItemLevel
    retentionPeriodType: Daily
    retentionFrequencyType: Daily
    capacityBytes: 100
    freeSpaceBytes: 50
jobs:
  - id: 7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d
    name: Contoso mail
    backupType: EntireOrganization
    organizationId: 0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D
    repositoryId: 5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b
    schedulePolicy: {type: Daily, dailyTime: "22:00:00"}
    isEnabled: true
    lastStatus: Success
`

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// A YAML fixture file loads, its ids are normalised, the version defaults to the
// seed's build, and a server serves it.
func TestLoadFixturesFromYAML(t *testing.T) {
	t.Parallel()
	f, err := LoadFixtures(writeFile(t, "fixtures.yaml", yamlFixtures))
	if err != nil {
		t.Fatal(err)
	}
	if f.ServiceInstance.Version != DefaultVersion || f.Jobs[0].OrganizationID != "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d" || f.Organizations[0].Region != "Worldwide" {
		t.Errorf("loaded = %+v", f)
	}
	e := newTestServer(t, WithFixtures(f))
	tok := bearer(e.adminLogin().AccessToken)
	if p := decode[page_](t, e.do("GET", "/v8/Jobs", "", "", tok...)); len(p.Results) != 1 || p.Results[0]["name"] != "Contoso mail" {
		t.Errorf("jobs served: %v", p.Results)
	}
	contoso := e.entra.mint(t, entraToken{claims: map[string]any{"tid": "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f"}})
	e.login(seedForm("contoso.onmicrosoft.com", tokenResponseJSON(contoso)))
}

func TestLoadFixturesFromJSON(t *testing.T) {
	t.Parallel()
	f, err := LoadFixtures(writeFile(t, "fixtures.json", `{"organizations":[{"id":"0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d","name":"contoso.onmicrosoft.com"}]}`))
	if err != nil || len(f.Organizations) != 1 {
		t.Fatalf("%+v %v", f, err)
	}
}

// Errors name the file and the line, and wrap ErrInvalidFixtures.
func TestLoadFixturesErrorsNameFileAndLine(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, file, content string
		want                []string
	}{
		{"JSON syntax error", "f.json", "{\n  \"organizations\": [\n    {\"id\": }\n  ]\n}", []string{"f.json:3:"}},
		{"JSON unknown field", "f.json", "{\n  \"organisations\": []\n}", []string{"f.json:2:3: ", `unknown key "organisations" in the top level; did you mean organizations?`}},
		{"JSON wrong type", "f.json", "{\n  \"jobs\": [\n    {\"isEnabled\": \"yes\"}\n  ]\n}", []string{"f.json:3:"}},
		{"YAML unknown field", "f.yaml", "organizations:\n  - id: x\n    tenant: y\n", []string{"f.yaml:3:5: ", `unknown key "tenant" in organizations[0]`}},
		{"YAML bad reference", "f.yaml", strings.Replace(yamlFixtures, "repositoryId: 5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b", "repositoryId: 99999999-9c0d-4e1f-8a2b-3c4d5e6f7a8b", 1), []string{"f.yaml:23:", "jobs[0].repositoryId", "no repository has id"}},
		{"YAML bad enum", "f.yaml", strings.Replace(yamlFixtures, "lastStatus: Success", "lastStatus: Great", 1), []string{"f.yaml:26:", "jobs[0].lastStatus", `"Great" is not one of`}},
		{"YAML group member who is no user", "f.yaml", yamlFixtures + "users:\n  - {id: 1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e, organizationId: 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d, name: megan@contoso.onmicrosoft.com}\ngroups:\n  - id: 2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f\n    organizationId: 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d\n    name: Sales\n    members:\n      - 1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e\n      - 9b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e\n", []string{"f.yaml:35: ", "groups[0].members[1]", `no user has id "9b2c3d4e`}},
		{"YAML unknown key in a team's channel", "f.yaml", yamlFixtures + "teams:\n  - id: 3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f\n    organizationId: 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d\n    displayName: Sales\n    channels:\n      - {id: '19:general@thread.tacv2', displayName: General, tab: [Wiki]}\n", []string{"f.yaml:32:63: ", `unknown key "tab" in teams[0].channels[0]; did you mean tabs?`}},
		{"JSON bad GUID", "f.json", "{\n  \"organizations\": [\n    {\n      \"id\": \"nope\",\n      \"name\": \"a\"\n    }\n  ]\n}", []string{"f.json:4:", "organizations[0].id", `"nope" is not a GUID`}},
		{"duplicate organization", "f.json", `{"organizations":[{"id":"0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d","name":"a"},{"id":"1a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d","name":"A"}]}`, []string{"organizations[1].name", "appears twice"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadFixtures(writeFile(t, tc.file, tc.content))
			if err == nil {
				t.Fatal("loaded")
			}
			if !errors.Is(err, ErrInvalidFixtures) {
				t.Errorf("error does not wrap ErrInvalidFixtures: %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	if _, err := LoadFixtures(filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing file: %v", err)
	}
}

// TestFixturesCloneSharesNothing walks a clone and its original together: they are
// equal, and no pointer or slice of one points into the other, so a stack changing its
// data (job actions, new restore sessions) can never change another stack's. Every
// pointer field is set first, so a field added to the types without a line in clone
// fails here.
func TestFixturesCloneSharesNothing(t *testing.T) {
	t.Parallel()
	f := DefaultFixtures()
	fill(reflect.ValueOf(&f).Elem())
	c := f.clone()
	if !reflect.DeepEqual(f, c) {
		t.Fatal("the clone differs from the original")
	}
	var walk func(path string, a, b reflect.Value)
	walk = func(path string, a, b reflect.Value) {
		switch a.Kind() {
		case reflect.Pointer:
			if !a.IsNil() && a.Pointer() == b.Pointer() {
				t.Errorf("%s is shared", path)
			}
			if !a.IsNil() {
				walk(path, a.Elem(), b.Elem())
			}
		case reflect.Slice:
			if a.Len() > 0 && a.Pointer() == b.Pointer() {
				t.Errorf("%s is shared", path)
			}
			for i := 0; i < a.Len(); i++ {
				walk(fmt.Sprintf("%s[%d]", path, i), a.Index(i), b.Index(i))
			}
		case reflect.Map:
			if a.Len() > 0 && a.Pointer() == b.Pointer() {
				t.Errorf("%s is shared", path)
			}
		case reflect.Struct:
			if a.Type() == reflect.TypeOf(time.Time{}) {
				return // a value; its location pointer is immutable
			}
			for i := 0; i < a.NumField(); i++ {
				walk(path+"."+a.Type().Field(i).Name, a.Field(i), b.Field(i))
			}
		}
	}
	walk("Fixtures", reflect.ValueOf(f), reflect.ValueOf(c))
}

// fill sets every nil pointer and empty slice reachable from v, so the clone test sees
// each pointer and slice field in use.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		fill(v.Elem())
	case reflect.Slice:
		if v.Len() == 0 {
			v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		}
		for i := 0; i < v.Len(); i++ {
			fill(v.Index(i))
		}
	case reflect.Map:
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Field(i).CanSet() {
				fill(v.Field(i))
			}
		}
	}
}
