package entra

import (
	"sort"
	"strings"
	"time"
)

// DefaultTenant is the domain of the default directory's only tenant, the
// "<name>.onmicrosoft.com" form the seed document uses.
const DefaultTenant = "abc.onmicrosoft.com"

// DefaultTenantID is the GUID of the default tenant. The Veeam mock's default
// organization uses it as its msid, so the two mocks agree without configuration.
const DefaultTenantID = "6f1c2a9e-3b7d-4c55-9a0e-2d8b1f4e7c31"

// AzureCLIClientID is the first-party public client "Microsoft Azure CLI", a FOCI
// family member that exists in every tenant (entra.md §8) and the client id the seed
// document uses.
const AzureCLIClientID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"

// DefaultAdminUPN is the default tenant's administrator and default user.
const DefaultAdminUPN = "admin@abc.onmicrosoft.com"

// DefaultAdminObjectID is the object id (oid) of DefaultAdminUPN.
const DefaultAdminObjectID = "9d2b0c4e-5a1f-4e7b-8c3d-1f0a6b2e4d58"

// GraphAppID is Microsoft Graph's application id, the aud of Graph access tokens
// requested with bare or GUID-prefixed scopes (entra.md §5.1).
const GraphAppID = "00000003-0000-0000-c000-000000000000"

// GraphResource is Microsoft Graph's resource URI, the prefix of URI-form scopes.
const GraphResource = "https://graph.microsoft.com"

// AzureCLIScopes is the set Azure CLI is preauthorized for on Microsoft Graph, as
// 2025–2026 tokens show it in scp: sorted case-insensitively, OIDC scopes included
// (entra.md §8).
var AzureCLIScopes = []string{
	"Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All", "AuditLog.Read.All",
	"DelegatedPermissionGrant.ReadWrite.All", "Directory.AccessAsUser.All", "email",
	"Group.ReadWrite.All", "openid", "profile", "User.Read.All", "User.ReadWrite.All",
}

// Azure Resource Manager, the first resource besides Microsoft Graph that Azure CLI
// and MSAL redeem one sign-in's refresh token for (issue 19; entra.md §3: "may target
// another resource"). Its tokens are v1 with aud the resource URI as requested, for
// example "https://management.core.windows.net/" (Azure Monitor's documented activity
// log claims [R]).
const (
	// ARMAppID is the application id of "Windows Azure Service Management API".
	ARMAppID = "797f4846-ba00-4fd7-ba43-dac1f8f63013"
	// ARMResource is the resource URI Azure CLI uses; its scope is
	// "https://management.core.windows.net//user_impersonation" (two slashes: the URI
	// ends in one).
	ARMResource = "https://management.core.windows.net/"
)

// Directory is what the mock Entra knows: tenants with their users, the applications
// (client ids) that can sign users in, and the resources besides Microsoft Graph that
// user tokens can be for. Apps are global, as first-party apps are: every app can be
// used in every tenant. A Directory is read-only once a Server has it.
type Directory struct {
	// Tenants are the directories users belong to. The first is the default one
	// (used for `common` when an approval names no user).
	Tenants []Tenant `json:"tenants" yaml:"tenants"`
	// Apps are the clients that may request tokens.
	Apps []App `json:"apps" yaml:"apps"`
	// Resources are the APIs besides Microsoft Graph (always served) and the apps'
	// own APIs (App.ExposedScopes) that user tokens can be issued for, in every tenant.
	// A scope of any other resource gets AADSTS500011.
	Resources []Resource `json:"resources" yaml:"resources"`
}

// Resource is an API (a resource principal) user tokens can be issued for: a device
// code or refresh token redeemed with its scopes gets a v1 access token whose aud is
// the resource as the scope named it, and whose scp holds the permissions.
type Resource struct {
	// URIs are its identifier URIs, the prefixes scopes use ("https://management.core.windows.net/").
	// Matching ignores case and a trailing slash.
	URIs []string `json:"uris" yaml:"uris"`
	// AppID is its application id; a scope may name the resource by it as well.
	AppID string `json:"app_id" yaml:"app_id"`
	// DisplayName names it in errors.
	DisplayName string `json:"display_name" yaml:"display_name"`
	// Scopes are the delegated permissions it exposes ("user_impersonation"). A
	// first-party app is preauthorized for all of them; another app is consented to
	// the ones it asks for.
	Scopes []string `json:"scopes" yaml:"scopes"`
}

// DefaultResources returns the resources a directory serves unless its config file
// lists others: Azure Resource Manager, by both of its URIs, with user_impersonation.
// Each call returns a fresh copy.
func DefaultResources() []Resource {
	return []Resource{{
		URIs:        []string{ARMResource, "https://management.azure.com/"},
		AppID:       ARMAppID,
		DisplayName: "Windows Azure Service Management API",
		Scopes:      []string{"user_impersonation"},
	}}
}

// Tenant is one Entra directory.
type Tenant struct {
	// Domain is the tenant's initial domain, such as "abc.onmicrosoft.com". The tenant
	// path segment accepts it case-insensitively.
	Domain string `json:"domain" yaml:"domain"`
	// ID is the tenant GUID: tid in tokens, utid in client_info.
	ID string `json:"id" yaml:"id"`
	// DisplayName is the organization's name (optional).
	DisplayName string `json:"display_name,omitempty" yaml:"display_name,omitempty"`
	// Users are the accounts that can sign in.
	Users []User `json:"users" yaml:"users"`
	// DefaultUser is the UPN approvals use when they name no user; empty means the
	// first user.
	DefaultUser string `json:"default_user,omitempty" yaml:"default_user,omitempty"`
}

// User is one account of a tenant.
type User struct {
	// UPN is the user principal name (upn, unique_name, preferred_username).
	UPN string `json:"upn" yaml:"upn"`
	// ObjectID is the user's object id GUID (oid, client_info uid).
	ObjectID string `json:"object_id" yaml:"object_id"`
	// DisplayName is the name claim.
	DisplayName string `json:"display_name" yaml:"display_name"`
	// Password, when set, is asked for on the device login page. The control API
	// approves without it.
	Password string `json:"password,omitempty" yaml:"password,omitempty"`
	// Roles are the user's directory roles, by name ("Global Administrator") or role
	// template id: wids of the user's access tokens (with the User role every member
	// has). The Veeam mock adds an organization with modern app-only authentication
	// only for a Global Administrator's sign-in (modern-app-only.md §2 [C]).
	Roles []string `json:"roles,omitempty" yaml:"roles,omitempty"`
}

// Directory role template ids (wids), as Microsoft's "Microsoft Entra built-in roles"
// reference lists them [C].
const (
	// GlobalAdministratorRole is the Global Administrator role's template id.
	GlobalAdministratorRole = "62e90394-69f5-4237-9190-012177145e10"
	// GlobalReaderRole is the Global Reader role's template id.
	GlobalReaderRole = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"
)

// roleTemplates are the role names User.Roles accepts, lower case, and their template
// ids.
var roleTemplates = map[string]string{
	"global administrator": GlobalAdministratorRole,
	"global reader":        GlobalReaderRole,
	"user":                 defaultUserRole,
}

// roleID is the template id of a role given by name or id ("" for an unknown name).
func roleID(r string) string {
	if id, ok := roleTemplates[strings.ToLower(strings.TrimSpace(r))]; ok {
		return id
	}
	if isGUID(r) {
		return strings.ToLower(r)
	}
	return ""
}

// wids is the wids claim of u's tokens: its roles' template ids, then the User role.
func (u *User) wids() []string {
	out := make([]string, 0, len(u.Roles)+1)
	for _, r := range u.Roles {
		if id := roleID(r); id != "" && id != defaultUserRole {
			out = append(out, id)
		}
	}
	return append(out, defaultUserRole)
}

// App is one client application.
type App struct {
	// ClientID is the application (client) id GUID.
	ClientID string `json:"client_id" yaml:"client_id"`
	// DisplayName is app_displayname in tokens and the name the login page shows.
	DisplayName string `json:"display_name" yaml:"display_name"`
	// PublicClient apps sign users in without a secret (device code works without
	// one). A confidential app must authenticate at the token endpoint.
	PublicClient bool `json:"public_client" yaml:"public_client"`
	// FOCI marks a Family-of-Client-IDs member: token responses carry "foci":"1" and
	// family members can redeem each other's refresh tokens.
	FOCI bool `json:"foci,omitempty" yaml:"foci,omitempty"`
	// FirstParty apps get only their PreauthorizedScopes (anything else is AADSTS65002)
	// and always receive the whole preauthorized set in scp, as Azure CLI does.
	FirstParty bool `json:"first_party,omitempty" yaml:"first_party,omitempty"`
	// PreauthorizedScopes are the Microsoft Graph permissions (and OIDC scopes) the app
	// holds. For an app that is not first-party an empty list means any well-formed
	// Graph scope is consented; a non-empty list refuses others with AADSTS65001.
	PreauthorizedScopes []string `json:"preauthorized_scopes,omitempty" yaml:"preauthorized_scopes,omitempty"`
	// ClientSecret, for confidential apps, is the secret the token endpoint checks
	// (client_secret_post or client_secret_basic). It also enables client_credentials.
	ClientSecret string `json:"client_secret,omitempty" yaml:"client_secret,omitempty"`
	// ClientSecretEnd, when set, is when ClientSecret stops working (AADSTS7000222).
	// The config file has no field for it: the control API and ExpireCredential set it.
	ClientSecretEnd time.Time `json:"-" yaml:"-"`

	// The fields below make an app an application registration as VB365 creates one
	// (modern-app-only.md §2, §3).

	// Tenant is the app's home tenant (domain or GUID). A tenant-bound app exists only
	// there: at any other tenant's endpoints it is unknown (AADSTS700016). Empty means
	// every tenant, as for first-party apps.
	Tenant string `json:"tenant,omitempty" yaml:"tenant,omitempty"`
	// Certificates are the app's certificate credentials (keyCredentials), which sign
	// client assertions (RFC 7523).
	Certificates []Certificate `json:"certificates,omitempty" yaml:"certificates,omitempty"`
	// Permissions are the application permissions (app roles) granted per resource:
	// the roles claim of app-only tokens for that resource.
	Permissions Permissions `json:"permissions" yaml:"permissions,omitempty"`
	// Consent is ConsentGranted (default, "") or ConsentRevoked: whether an
	// administrator's consent to Permissions stands.
	Consent string `json:"consent,omitempty" yaml:"consent,omitempty"`
	// Disabled apps (a disabled service principal) get AADSTS7000112 at the token
	// endpoint.
	Disabled bool `json:"disabled,omitempty" yaml:"disabled,omitempty"`

	// The fields below make an app an API other apps (and itself) can get user tokens
	// for, as the Restore Portal application is (veeam.md §1.2).

	// ExposedScopes are the delegated scopes the app's API exposes at
	// "api://<client_id>/<scope>" ("Expose an API" in the portal). The app's
	// sign-ins may ask for them; so may other apps that are not first-party.
	ExposedScopes []string `json:"exposed_scopes,omitempty" yaml:"exposed_scopes,omitempty"`
	// AccessTokenVersion is the manifest's accessTokenAcceptedVersion: 0 or 1 (null
	// in the portal, Entra's default) gives v1 tokens for the API, with aud
	// "api://<client_id>" as requested; 2 gives v2 tokens, with aud the client id,
	// the v2 issuer and azp instead of appid (modern-app-only.md §1.6 [C MS-CLAIMS]).
	AccessTokenVersion int `json:"access_token_version,omitempty" yaml:"access_token_version,omitempty"`
}

// DefaultDirectory returns the directory a Server uses unless given another: tenant
// abc.onmicrosoft.com (DefaultTenantID) with its administrator "MOD Administrator"
// (DefaultAdminUPN, no password, a Global Administrator); the Azure CLI public client, first-party and FOCI,
// preauthorized for AzureCLIScopes; the application the default Veeam organization
// was added with (DefaultApplicationID, see defaultApplication); the Restore Portal
// application (RestorePortalApplicationID); and DefaultResources. Each call returns a
// fresh copy. The first call in a process generates the application's RSA key (about
// 0.2 s); later calls copy it.
func DefaultDirectory() Directory {
	return Directory{
		Tenants: []Tenant{{
			Domain:      DefaultTenant,
			ID:          DefaultTenantID,
			DisplayName: "Contoso ABC",
			Users: []User{{
				UPN:         DefaultAdminUPN,
				ObjectID:    DefaultAdminObjectID,
				DisplayName: "MOD Administrator",
				Roles:       []string{"Global Administrator"},
			}},
			DefaultUser: DefaultAdminUPN,
		}},
		Apps: []App{{
			ClientID:            AzureCLIClientID,
			DisplayName:         "Microsoft Azure CLI",
			PublicClient:        true,
			FOCI:                true,
			FirstParty:          true,
			PreauthorizedScopes: append([]string(nil), AzureCLIScopes...),
		}, defaultApplication(), restorePortalApplication()},
		Resources: DefaultResources(),
	}
}

// clone returns a deep copy, so a Server never shares slices with its caller.
func (d Directory) clone() Directory {
	out := Directory{Tenants: make([]Tenant, len(d.Tenants)), Apps: make([]App, len(d.Apps))}
	for i, t := range d.Tenants {
		t.Users = append([]User(nil), t.Users...)
		for j := range t.Users {
			t.Users[j].Roles = append([]string(nil), t.Users[j].Roles...)
		}
		out.Tenants[i] = t
	}
	for i, a := range d.Apps {
		a.PreauthorizedScopes = append([]string(nil), a.PreauthorizedScopes...)
		a.Certificates = append([]Certificate(nil), a.Certificates...)
		a.Permissions = a.Permissions.clone()
		a.ExposedScopes = append([]string(nil), a.ExposedScopes...)
		out.Apps[i] = a
	}
	if d.Resources != nil {
		out.Resources = make([]Resource, len(d.Resources))
		for i, r := range d.Resources {
			r.URIs = append([]string(nil), r.URIs...)
			r.Scopes = append([]string(nil), r.Scopes...)
			out.Resources[i] = r
		}
	}
	return out
}

// directory is a Directory indexed for lookups. It is immutable, so handlers read it
// without locking; Reset swaps the whole value.
type directory struct {
	src       Directory
	tenants   []*Tenant
	byKey     map[string]*Tenant // lower-case domain and GUID → tenant
	apps      map[string]*App    // lower-case client id → app
	resources resourceIndex      // resources besides Graph, by every name a scope uses
}

// Tenant aliases the path segment accepts besides a domain or GUID.
const (
	tenantCommon        = "common"
	tenantOrganizations = "organizations"
)

func newDirectory(d Directory) *directory {
	d = d.clone()
	ix := &directory{src: d, byKey: map[string]*Tenant{}, apps: map[string]*App{}}
	for i := range d.Tenants {
		t := &d.Tenants[i]
		ix.tenants = append(ix.tenants, t)
		ix.byKey[strings.ToLower(t.Domain)] = t
		ix.byKey[strings.ToLower(t.ID)] = t
	}
	for i := range d.Apps {
		a := &d.Apps[i]
		ix.apps[strings.ToLower(a.ClientID)] = a
	}
	ix.resources = newResourceIndex(&ix.src)
	return ix
}

// tenant finds a tenant by domain or GUID.
func (d *directory) tenant(key string) (*Tenant, bool) {
	t, ok := d.byKey[strings.ToLower(key)]
	return t, ok
}

// tenantByID finds a tenant by GUID only.
func (d *directory) tenantByID(id string) (*Tenant, bool) {
	t, ok := d.byKey[strings.ToLower(id)]
	if !ok || !strings.EqualFold(t.ID, id) {
		return nil, false
	}
	return t, true
}

// app finds a client by id.
func (d *directory) app(clientID string) (*App, bool) {
	a, ok := d.apps[strings.ToLower(clientID)]
	return a, ok
}

// user finds a user by UPN in t.
func (t *Tenant) user(upn string) (*User, bool) {
	for i := range t.Users {
		if strings.EqualFold(t.Users[i].UPN, upn) {
			return &t.Users[i], true
		}
	}
	return nil, false
}

// defaultUser returns the tenant's default user, or false if it has none.
func (t *Tenant) defaultUser() (*User, bool) {
	if t.DefaultUser != "" {
		return t.user(t.DefaultUser)
	}
	if len(t.Users) == 0 {
		return nil, false
	}
	return &t.Users[0], true
}

// findUser looks a UPN up in scope (nil: every tenant) and returns it with its tenant.
func (d *directory) findUser(scope *Tenant, upn string) (*Tenant, *User, bool) {
	if scope != nil {
		u, ok := scope.user(upn)
		return scope, u, ok
	}
	for _, t := range d.tenants {
		if u, ok := t.user(upn); ok {
			return t, u, true
		}
	}
	return nil, nil, false
}

// defaultUser returns scope's default user, or the first tenant's for nil scope.
func (d *directory) defaultUser(scope *Tenant) (*Tenant, *User, bool) {
	if scope == nil {
		if len(d.tenants) == 0 {
			return nil, nil, false
		}
		scope = d.tenants[0]
	}
	u, ok := scope.defaultUser()
	return scope, u, ok
}

// accounts lists the users the login page offers for scope (nil: every tenant),
// sorted by UPN.
func (d *directory) accounts(scope *Tenant) []accountView {
	var out []accountView
	for _, t := range d.tenants {
		if scope != nil && t != scope {
			continue
		}
		for _, u := range t.Users {
			out = append(out, accountView{UPN: u.UPN, Name: u.DisplayName, Tenant: t.Domain})
		}
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].UPN) < strings.ToLower(out[j].UPN) })
	return out
}

// accountView is one account the login page lists.
type accountView struct {
	UPN, Name, Tenant string
}
