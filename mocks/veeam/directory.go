package veeam

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The organizations' directory and the server's license, as fixtures: users (each with
// a mailbox and a OneDrive unless told otherwise), groups with members, sites, teams
// with channels and tabs, RBAC roles with operators, and the installed license. The
// world derives the rest from them (buildDirectory in seed.go): a user, site or team of
// an organization that a job backs up is protected; a protected user of type User is
// licensed, so /v8/License, /v8/LicensedUsers and the organizations' licensing
// information count the same users; a restore session of an organization shows its
// mailboxes, OneDrives, sites and teams.

// User is a user of an organization (RESTUser).
type User struct {
	// ID is the user's id (a GUID).
	ID string `json:"id" yaml:"id"`
	// OrganizationID is the organization the user belongs to.
	OrganizationID string `json:"organizationId" yaml:"organizationId"`
	// Name is the user's principal name, user@domain.
	Name string `json:"name" yaml:"name"`
	// DisplayName defaults to Name.
	DisplayName string `json:"displayName,omitempty" yaml:"displayName,omitempty"`
	// Type is User (default, licensed when protected), Shared or Public (mailboxes that
	// are protected without a license).
	Type string `json:"type,omitempty" yaml:"type,omitempty"`
	// NoMailbox and NoOneDrive leave the user without a mailbox or a OneDrive.
	NoMailbox bool `json:"noMailbox,omitempty" yaml:"noMailbox,omitempty"`
	// NoOneDrive: see NoMailbox.
	NoOneDrive bool `json:"noOneDrive,omitempty" yaml:"noOneDrive,omitempty"`
}

// Group is a group of an organization (RESTGroup) and its members, by user id.
type Group struct {
	// ID is the group's id (a GUID).
	ID string `json:"id" yaml:"id"`
	// OrganizationID is the organization the group belongs to.
	OrganizationID string `json:"organizationId" yaml:"organizationId"`
	// Name is the group's name.
	Name string `json:"name" yaml:"name"`
	// Type is Office365 (default), Security, Distribution or DynamicDistribution.
	Type string `json:"type,omitempty" yaml:"type,omitempty"`
	// Members are the ids of users of the same organization.
	Members []string `json:"members,omitempty" yaml:"members,omitempty"`
}

// Site is a SharePoint site of an organization (RESTSite).
type Site struct {
	// ID is the site's id (a GUID).
	ID string `json:"id" yaml:"id"`
	// OrganizationID is the organization the site belongs to.
	OrganizationID string `json:"organizationId" yaml:"organizationId"`
	// Name is the site's title.
	Name string `json:"name" yaml:"name"`
	// URL is the site's address.
	URL string `json:"url" yaml:"url"`
}

// Team is a Microsoft Teams team of an organization (RESTTeam) with its channels.
type Team struct {
	// ID is the team's id (a GUID).
	ID string `json:"id" yaml:"id"`
	// OrganizationID is the organization the team belongs to.
	OrganizationID string `json:"organizationId" yaml:"organizationId"`
	// DisplayName is the team's name.
	DisplayName string `json:"displayName" yaml:"displayName"`
	// Channels are the team's channels.
	Channels []Channel `json:"channels,omitempty" yaml:"channels,omitempty"`
}

// Channel is a channel of a team (RESTTeamsChannel) with its tabs' names.
type Channel struct {
	// ID is the channel's id, as Teams writes it ("19:…@thread.tacv2").
	ID string `json:"id" yaml:"id"`
	// DisplayName is the channel's name.
	DisplayName string `json:"displayName" yaml:"displayName"`
	// Tabs are the names of the channel's tabs.
	Tabs []string `json:"tabs,omitempty" yaml:"tabs,omitempty"`
}

// RbacRole is a restore operator role (RESTRbacRole) of an organization, with its
// operators by user id.
type RbacRole struct {
	// ID is the role's id (a GUID).
	ID string `json:"id" yaml:"id"`
	// OrganizationID is the organization the role belongs to.
	OrganizationID string `json:"organizationId" yaml:"organizationId"`
	// Name is the role's name.
	Name string `json:"name" yaml:"name"`
	// Description describes the role.
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
	// Operators are the ids of users of the same organization who hold the role.
	Operators []string `json:"operators,omitempty" yaml:"operators,omitempty"`
}

// License is the installed license (RESTLicense, less usedNumber and newNumber, which
// are counted from the licensed users).
type License struct {
	// LicenseID is the license's id (a GUID).
	LicenseID string `json:"licenseID" yaml:"licenseID"`
	// LicensedTo is the company the license was issued to.
	LicensedTo string `json:"licensedTo" yaml:"licensedTo"`
	// Email is the address the license was issued to.
	Email string `json:"email" yaml:"email"`
	// Type is Subscription (default), Evaluation, NFR, Rental, Community or
	// AwsPrivateOffer.
	Type string `json:"type,omitempty" yaml:"type,omitempty"`
	// Expires is when the license expires; it is Valid until then, Expired after.
	Expires *time.Time `json:"licenseExpires,omitempty" yaml:"licenseExpires,omitempty"`
	// TotalNumber is how many users the license covers.
	TotalNumber int `json:"totalNumber" yaml:"totalNumber"`
	// SupportID is the license's support id.
	SupportID string `json:"supportID,omitempty" yaml:"supportID,omitempty"`
}

var (
	enumUserType    = []string{"User", "Shared", "Public"}
	enumGroupType   = []string{"Office365", "Security", "Distribution", "DynamicDistribution"}
	enumLicenseType = []string{"Subscription", "Evaluation", "NFR", "Rental", "Community", "AwsPrivateOffer"}
)

// validateDirectory checks the directory's ids, references and enumerations: every
// resource names an organization of the fixtures, group members and role operators are
// users of the same organization.
func (f Fixtures) validateDirectory(bad func(path, format string, args ...any), checkID func(kind, path, id string), has func(kind, id string) bool) {
	userOrg := map[string]string{}
	org := func(p, id string) {
		if !has("organization", id) {
			bad(p+".organizationId", "no organization has id %q", id)
		}
	}
	for i, u := range f.Users {
		p := fmt.Sprintf("users[%d]", i)
		checkID("user", p, u.ID)
		org(p, u.OrganizationID)
		if u.Name == "" {
			bad(p+".name", "a user needs a name such as megan@contoso.onmicrosoft.com")
		}
		checkEnum(bad, p+".type", u.Type, enumUserType, true)
		userOrg[strings.ToLower(u.ID)] = strings.ToLower(u.OrganizationID)
	}
	members := func(p, orgID string, ids []string) {
		for j, m := range ids {
			switch o, ok := userOrg[strings.ToLower(m)]; {
			case !ok:
				bad(fmt.Sprintf("%s[%d]", p, j), "no user has id %q", m)
			case o != strings.ToLower(orgID):
				bad(fmt.Sprintf("%s[%d]", p, j), "user %s belongs to another organization", m)
			}
		}
	}
	for i, g := range f.Groups {
		p := fmt.Sprintf("groups[%d]", i)
		checkID("group", p, g.ID)
		org(p, g.OrganizationID)
		checkEnum(bad, p+".type", g.Type, enumGroupType, true)
		members(p+".members", g.OrganizationID, g.Members)
	}
	for i, s := range f.Sites {
		p := fmt.Sprintf("sites[%d]", i)
		checkID("site", p, s.ID)
		org(p, s.OrganizationID)
		if !strings.HasPrefix(s.URL, "https://") {
			bad(p+".url", "%q is not a site address such as https://contoso.sharepoint.com/sites/hr", s.URL)
		}
	}
	for i, t := range f.Teams {
		p := fmt.Sprintf("teams[%d]", i)
		checkID("team", p, t.ID)
		org(p, t.OrganizationID)
		for j, c := range t.Channels {
			if c.ID == "" {
				bad(fmt.Sprintf("%s.channels[%d].id", p, j), "a channel needs an id such as 19:general@thread.tacv2")
			}
		}
	}
	for i, r := range f.RbacRoles {
		p := fmt.Sprintf("rbacRoles[%d]", i)
		checkID("rbac role", p, r.ID)
		org(p, r.OrganizationID)
		members(p+".operators", r.OrganizationID, r.Operators)
	}
	if f.License.LicenseID != "" {
		if _, ok := parseGUID(f.License.LicenseID); !ok {
			bad("license.licenseID", "%q is not a GUID", f.License.LicenseID)
		}
	}
	checkEnum(bad, "license.type", f.License.Type, enumLicenseType, true)
	if f.License.TotalNumber < 0 {
		bad("license.totalNumber", "%d is negative", f.License.TotalNumber)
	}
}

func checkEnum(bad func(path, format string, args ...any), path, v string, e []string, optional bool) {
	if (v != "" || !optional) && !inEnum(v, e) {
		bad(path, "%q is not one of %s", v, strings.Join(e, ", "))
	}
}

// normalizeDirectory lower-cases ids and fills defaults.
func (f *Fixtures) normalizeDirectory() {
	low := strings.ToLower
	for i := range f.Users {
		u := &f.Users[i]
		u.ID, u.OrganizationID = low(u.ID), low(u.OrganizationID)
		if u.DisplayName == "" {
			u.DisplayName = u.Name
		}
		if u.Type == "" {
			u.Type = "User"
		}
	}
	for i := range f.Groups {
		g := &f.Groups[i]
		g.ID, g.OrganizationID = low(g.ID), low(g.OrganizationID)
		if g.Type == "" {
			g.Type = "Office365"
		}
		for j := range g.Members {
			g.Members[j] = low(g.Members[j])
		}
	}
	for i := range f.Sites {
		f.Sites[i].ID, f.Sites[i].OrganizationID = low(f.Sites[i].ID), low(f.Sites[i].OrganizationID)
	}
	for i := range f.Teams {
		f.Teams[i].ID, f.Teams[i].OrganizationID = low(f.Teams[i].ID), low(f.Teams[i].OrganizationID)
	}
	for i := range f.RbacRoles {
		r := &f.RbacRoles[i]
		r.ID, r.OrganizationID = low(r.ID), low(r.OrganizationID)
		for j := range r.Operators {
			r.Operators[j] = low(r.Operators[j])
		}
	}
	f.License.LicenseID = low(f.License.LicenseID)
	if f.License.Type == "" {
		f.License.Type = "Subscription"
	}
}

// cloneDirectory deep-copies the directory's slices and pointers into out.
func (f Fixtures) cloneDirectory(out *Fixtures) {
	out.Users = append([]User(nil), f.Users...)
	out.Groups = append([]Group(nil), f.Groups...)
	for i := range out.Groups {
		out.Groups[i].Members = append([]string(nil), out.Groups[i].Members...)
	}
	out.Sites = append([]Site(nil), f.Sites...)
	out.Teams = append([]Team(nil), f.Teams...)
	for i := range out.Teams {
		t := &out.Teams[i]
		t.Channels = append([]Channel(nil), t.Channels...)
		for j := range t.Channels {
			t.Channels[j].Tabs = append([]string(nil), t.Channels[j].Tabs...)
		}
	}
	out.RbacRoles = append([]RbacRole(nil), f.RbacRoles...)
	for i := range out.RbacRoles {
		out.RbacRoles[i].Operators = append([]string(nil), out.RbacRoles[i].Operators...)
	}
	out.License.Expires = clonePtr(f.License.Expires)
}

// defaultDirectory grows the default organizations' directory: for each, users (one
// of them, the last, a shared mailbox), groups whose members are its users, sites, teams with two
// channels of two tabs, and an RBAC role held by its first user; and a license for 50
// users. Ids are stable.
func defaultDirectory(f *Fixtures) {
	first := []string{"Adele", "Alex", "Diego", "Grady", "Henrietta", "Isaiah", "Johanna", "Joni", "Lee", "Lidia", "Lynne", "Megan", "Miriam", "Nestor", "Patti", "Pradeep"}
	sizes := []int{12, 6}
	n := 0
	for oi, o := range f.Organizations {
		domain := o.Name
		var ids []string
		size := sizes[oi%len(sizes)]
		for i := range size {
			name := first[(i+oi*5)%len(first)]
			u := User{ID: fixtureID("user", n), OrganizationID: o.ID, Name: strings.ToLower(name) + "@" + domain, DisplayName: name}
			if i == size-1 {
				u = User{ID: u.ID, OrganizationID: o.ID, Name: "info@" + domain, DisplayName: "Info (shared)", Type: "Shared", NoOneDrive: true}
			}
			f.Users = append(f.Users, u)
			ids = append(ids, u.ID)
			n++
		}
		short := strings.SplitN(domain, ".", 2)[0]
		for gi, g := range []string{"All staff", "Finance", "Sales"}[:2+(1-oi%2)] {
			members := ids[:len(ids)-1]
			if gi > 0 {
				members = ids[gi : gi+3]
			}
			f.Groups = append(f.Groups, Group{ID: fixtureID("group", oi*3+gi), OrganizationID: o.ID, Name: g, Members: members})
		}
		for si, s := range []string{"Intranet", "Projects", "HR"}[:2+(1-oi%2)] {
			f.Sites = append(f.Sites, Site{ID: fixtureID("site", oi*3+si), OrganizationID: o.ID, Name: s,
				URL: "https://" + short + ".sharepoint.com/sites/" + strings.ToLower(s)})
		}
		for ti, t := range []string{"Leadership", "Engineering"}[:2-oi%2] {
			team := Team{ID: fixtureID("team", oi*2+ti), OrganizationID: o.ID, DisplayName: t}
			for ci, c := range []string{"General", "Planning"} {
				team.Channels = append(team.Channels, Channel{ID: "19:" + strings.ReplaceAll(fixtureID("channel", (oi*2+ti)*2+ci), "-", "") + "@thread.tacv2",
					DisplayName: c, Tabs: []string{"Wiki", "Notes"}})
			}
			f.Teams = append(f.Teams, team)
		}
		f.RbacRoles = append(f.RbacRoles, RbacRole{ID: fixtureID("rbacrole", oi), OrganizationID: o.ID, Name: "Help desk (" + short + ")",
			Description: "Restores mailboxes and OneDrives for " + domain, Operators: ids[:1]})
	}
	expires := time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC)
	f.License = License{LicenseID: fixtureID("license", 0), LicensedTo: "TECH Ltd", Email: "licensing@tech.local", Type: "Subscription",
		Expires: &expires, TotalNumber: 50, SupportID: "0" + strconv.Itoa(2480917)}
}
