package entra

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/vbharness/vbharness/mocks/configfile"
)

// ErrInvalidConfig marks every error LoadDirectory and LoadConfig return for a file
// that exists but cannot be used; check it with errors.Is.
var ErrInvalidConfig = errors.New("invalid entra config")

// ConfigError says what is wrong with a config file, where, and what to do about it.
type ConfigError struct {
	File string // the path as given
	Line int    // 1-based; 0 when the problem has no single line
	Col  int    // 1-based; 0 when unknown
	Msg  string // what is wrong and how to fix it
}

// Error renders "file:line:col: message".
func (e *ConfigError) Error() string {
	switch {
	case e.Line > 0 && e.Col > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Unwrap makes errors.Is(err, ErrInvalidConfig) hold.
func (e *ConfigError) Unwrap() error { return ErrInvalidConfig }

// Config is a whole mock Entra config file: the directory and optional lifetimes.
type Config struct {
	// Directory is the file's directory merged with the defaults.
	Directory Directory
	// Lifetimes holds the file's lifetimes; zero fields mean "use the default".
	Lifetimes Lifetimes
}

// fileConfig is the on-disk shape. A missing tenants section keeps the default
// tenant; apps are added to the default apps; a resources section replaces the default
// resources; lifetimes are integer seconds.
type fileConfig struct {
	Tenants   *[]Tenant      `json:"tenants" yaml:"tenants"`
	Apps      *[]App         `json:"apps" yaml:"apps"`
	Resources *[]Resource    `json:"resources" yaml:"resources"`
	Lifetimes *fileLifetimes `json:"lifetimes" yaml:"lifetimes"`
}

type fileLifetimes struct {
	AccessToken       int64 `json:"access_token" yaml:"access_token"`
	DeviceCode        int64 `json:"device_code" yaml:"device_code"`
	Interval          int64 `json:"interval" yaml:"interval"`
	RefreshInactivity int64 `json:"refresh_inactivity" yaml:"refresh_inactivity"`
}

// LoadDirectory reads a directory from a YAML (.yaml, .yml) or JSON (.json) file. The
// file's tenants replace the default tenant (a file without tenants keeps it); its
// apps are added to the default apps, as first-party apps such as Azure CLI exist in
// every tenant (an app with a default app's client id replaces it); its resources
// replace DefaultResources (a file without resources keeps them; "resources: []"
// leaves Graph alone). A lifetimes section is allowed and ignored here (see
// LoadConfig). Errors are *ConfigError values naming the file, the line and what to
// fix.
func LoadDirectory(path string) (Directory, error) {
	c, err := LoadConfig(path)
	if err != nil {
		return Directory{}, err
	}
	return c.Directory, nil
}

// LoadConfig reads a directory and lifetimes from a YAML or JSON file, as
// LoadDirectory does, and also returns the lifetimes section (integer seconds:
// access_token, device_code, interval, refresh_inactivity).
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read entra config: %w", err)
	}
	ext := strings.ToLower(filepath.Ext(path))
	switch ext {
	case ".yaml", ".yml", ".json":
	default:
		return Config{}, &ConfigError{File: path, Msg: fmt.Sprintf("unsupported file extension %q; name the file .yaml, .yml or .json", ext)}
	}
	var fc fileConfig
	doc, err := configfile.Decode(path, data, &fc)
	if err != nil {
		var ce *configfile.Error
		if !errors.As(err, &ce) {
			return Config{}, &ConfigError{File: path, Msg: err.Error()}
		}
		msg, fix := ce.Msg, ce.Fix
		if errors.Is(err, configfile.ErrEmpty) {
			fix = "add a tenants and/or apps section"
		}
		if fix != "" {
			msg += "; " + fix
		}
		return Config{}, &ConfigError{File: path, Line: ce.Line, Col: ce.Col, Msg: msg}
	}
	def := DefaultDirectory()
	c := Config{Directory: def}
	v := validator{file: path, doc: doc}
	if fc.Tenants != nil {
		c.Directory.Tenants = *fc.Tenants
	}
	if err := v.tenants(c.Directory.Tenants); err != nil {
		return Config{}, err
	}
	// A default app bound to a tenant the file replaced (the default VB365
	// application) goes with its tenant.
	base := make([]App, 0, len(def.Apps))
	for i := range def.Apps {
		if def.Apps[i].Tenant == "" || tenantIn(c.Directory.Tenants, def.Apps[i].Tenant) {
			base = append(base, def.Apps[i])
		}
	}
	c.Directory.Apps = base
	if fc.Apps != nil {
		// Validate the file's apps with the file's indexes, so errors name their lines.
		if err := v.apps(*fc.Apps, c.Directory.Tenants); err != nil {
			return Config{}, err
		}
		c.Directory.Apps = mergeApps(base, *fc.Apps)
	}
	if fc.Resources != nil {
		c.Directory.Resources = *fc.Resources
	}
	if err := v.resources(c.Directory.Resources, c.Directory.Apps); err != nil {
		return Config{}, err
	}
	if fc.Lifetimes != nil {
		l, err := fc.Lifetimes.lifetimes(v)
		if err != nil {
			return Config{}, err
		}
		c.Lifetimes = l
	}
	return c, nil
}

func (fl *fileLifetimes) lifetimes(v validator) (Lifetimes, error) {
	var l Lifetimes
	type field struct {
		name string
		v    int64
		dst  *time.Duration
	}
	for _, f := range []field{
		{"access_token", fl.AccessToken, &l.AccessToken},
		{"device_code", fl.DeviceCode, &l.DeviceCode},
		{"interval", fl.Interval, &l.Interval},
		{"refresh_inactivity", fl.RefreshInactivity, &l.RefreshInactivity},
	} {
		if f.v < 0 || f.v > maxLifetimeSeconds {
			return Lifetimes{}, v.errAt(fmt.Sprintf("lifetimes.%s is %d; give whole seconds between 1 and %d (or leave it out for the default)", f.name, f.v, maxLifetimeSeconds), "lifetimes", f.name)
		}
		*f.dst = time.Duration(f.v) * time.Second
	}
	return l, nil
}

// mergeApps returns base plus extra; an extra app with a base app's client id
// replaces it in place.
func mergeApps(base, extra []App) []App {
	out := append([]App(nil), base...)
	for i, a := range extra {
		replaced := false
		for j := range out {
			if strings.EqualFold(out[j].ClientID, a.ClientID) && j < len(base) {
				out[j], replaced = a, true
				break
			}
		}
		if !replaced {
			out = append(out, extra[i])
		}
	}
	return out
}

// maxLifetimeSeconds bounds every configured lifetime (10 years), so adding it to a
// time never overflows.
const maxLifetimeSeconds = 10 * 365 * 24 * 3600

// validator checks a decoded directory and names the line of each problem.
type validator struct {
	file string
	doc  *configfile.Doc // nil for a directory given in Go: no lines to name
}

func (v validator) errAt(msg string, path ...any) error {
	line, col := v.doc.Pos(path...)
	return &ConfigError{File: v.file, Line: line, Col: col, Msg: msg}
}

var (
	guidRE   = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	domainRE = regexp.MustCompile(`^(?i)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$`)
	permRE   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9._-]*$`)
	// resourceURIRE is an identifier URI: a scheme, "://" and a host, optionally a path.
	resourceURIRE = regexp.MustCompile(`^(?i)[a-z][a-z0-9+.-]*://[^\s/]+(/[^\s]*)?$`)
)

func isGUID(s string) bool { return guidRE.MatchString(s) }

// directory validates d in place, filling display-name defaults.
func (v validator) directory(d *Directory) error {
	if err := v.tenants(d.Tenants); err != nil {
		return err
	}
	if err := v.apps(d.Apps, d.Tenants); err != nil {
		return err
	}
	return v.resources(d.Resources, d.Apps)
}

// resources validates the directory's resources against each other, Graph and the
// apps' own APIs: every name a scope can use for one must be free.
func (v validator) resources(resources []Resource, apps []App) error {
	taken := map[string]string{
		strings.ToLower(GraphResource): "Microsoft Graph", GraphAppID: "Microsoft Graph",
	}
	for _, a := range apps {
		if len(a.ExposedScopes) > 0 {
			taken[strings.ToLower(a.ClientID)] = "app " + a.ClientID
			taken["api://"+strings.ToLower(a.ClientID)] = "app " + a.ClientID
		}
	}
	for i := range resources {
		r := &resources[i]
		if !isGUID(r.AppID) {
			return v.errAt(fmt.Sprintf("resource %d has app_id %q, which is not a GUID; give the resource's application id", i+1, r.AppID), "resources", i, "app_id")
		}
		if r.DisplayName == "" {
			return v.errAt(fmt.Sprintf("resource %s has no display_name; add one (errors name it)", r.AppID), "resources", i)
		}
		if len(r.URIs) == 0 {
			return v.errAt(fmt.Sprintf("resource %s has no uris; list its identifier URIs, such as https://management.core.windows.net/", r.AppID), "resources", i)
		}
		if len(r.Scopes) == 0 {
			return v.errAt(fmt.Sprintf("resource %s has no scopes; list its delegated permissions, such as user_impersonation", r.AppID), "resources", i)
		}
		for k, p := range r.Scopes {
			if !permRE.MatchString(p) {
				return v.errAt(fmt.Sprintf("scope %q of resource %s is not a permission name; write it without the resource prefix, such as user_impersonation", p, r.AppID), "resources", i, "scopes", k)
			}
		}
		names := []string{r.AppID}
		for k, u := range r.URIs {
			if !resourceURIRE.MatchString(u) {
				return v.errAt(fmt.Sprintf("uri %q of resource %s is not an identifier URI; give one such as https://management.core.windows.net/ or api://contoso-api", u, r.AppID), "resources", i, "uris", k)
			}
			names = append(names, u)
		}
		for _, n := range names {
			key := strings.ToLower(strings.TrimRight(n, "/"))
			if other, dup := taken[key]; dup {
				return v.errAt(fmt.Sprintf("resource %s uses %q, which already names %s; each app id and URI may name one resource", r.AppID, n, other), "resources", i)
			}
			taken[key] = "resource " + r.AppID
		}
	}
	return nil
}

// tenants validates tenants in place, filling display-name defaults.
func (v validator) tenants(tenants []Tenant) error {
	if len(tenants) == 0 {
		return v.errAt("there are no tenants; add at least one under tenants: with a domain, an id and users", "tenants")
	}
	seen := map[string]string{}
	upns := map[string]string{}
	for i := range tenants {
		t := &tenants[i]
		if t.Domain == "" {
			return v.errAt(fmt.Sprintf("tenant %d has no domain; add domain: such as contoso.onmicrosoft.com", i+1), "tenants", i)
		}
		if !domainRE.MatchString(t.Domain) {
			return v.errAt(fmt.Sprintf("tenant domain %q is not a DNS name; use a form such as contoso.onmicrosoft.com", t.Domain), "tenants", i, "domain")
		}
		switch strings.ToLower(t.Domain) {
		case tenantCommon, tenantOrganizations, "consumers":
			return v.errAt(fmt.Sprintf("tenant domain %q is reserved; choose another", t.Domain), "tenants", i, "domain")
		}
		if !isGUID(t.ID) {
			return v.errAt(fmt.Sprintf("tenant %q has id %q, which is not a GUID; give id: as xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", t.Domain, t.ID), "tenants", i, "id")
		}
		for _, key := range []string{strings.ToLower(t.Domain), strings.ToLower(t.ID)} {
			if other, dup := seen[key]; dup {
				return v.errAt(fmt.Sprintf("tenant %q repeats %q already used by tenant %q; domains and ids must be unique", t.Domain, key, other), "tenants", i)
			}
			seen[key] = t.Domain
		}
		if len(t.Users) == 0 {
			return v.errAt(fmt.Sprintf("tenant %q has no users; add at least one under users: with upn and object_id", t.Domain), "tenants", i)
		}
		for j := range t.Users {
			u := &t.Users[j]
			if u.UPN == "" || !strings.Contains(u.UPN, "@") {
				return v.errAt(fmt.Sprintf("user %d of tenant %q has upn %q; give upn: as name@%s", j+1, t.Domain, u.UPN, t.Domain), "tenants", i, "users", j, "upn")
			}
			if other, dup := upns[strings.ToLower(u.UPN)]; dup {
				return v.errAt(fmt.Sprintf("user %q appears twice (also in tenant %q); UPNs must be unique", u.UPN, other), "tenants", i, "users", j, "upn")
			}
			upns[strings.ToLower(u.UPN)] = t.Domain
			if !isGUID(u.ObjectID) {
				return v.errAt(fmt.Sprintf("user %q has object_id %q, which is not a GUID; give object_id: as xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", u.UPN, u.ObjectID), "tenants", i, "users", j, "object_id")
			}
			if u.DisplayName == "" {
				u.DisplayName, _, _ = strings.Cut(u.UPN, "@")
			}
			for k, r := range u.Roles {
				if roleID(r) == "" {
					return v.errAt(fmt.Sprintf("user %q has role %q, which is neither a known role name (Global Administrator, Global Reader, User) nor a role template id (a GUID)", u.UPN, r), "tenants", i, "users", j, "roles", k)
				}
			}
		}
		if t.DefaultUser != "" {
			if _, ok := t.user(t.DefaultUser); !ok {
				return v.errAt(fmt.Sprintf("default_user %q is not one of tenant %q's users; name one of its upns", t.DefaultUser, t.Domain), "tenants", i, "default_user")
			}
		}
	}
	return nil
}

// apps validates apps against the directory's tenants.
func (v validator) apps(apps []App, tenants []Tenant) error {
	ids := map[string]bool{}
	for i := range apps {
		a := &apps[i]
		if ids[strings.ToLower(a.ClientID)] {
			return v.errAt(fmt.Sprintf("app client_id %q appears twice; client ids must be unique", a.ClientID), "apps", i, "client_id")
		}
		if msg, path := appProblem(a, tenants); msg != "" {
			return v.errAt(appName(a, i)+msg, append([]any{"apps", i}, path...)...)
		}
		ids[strings.ToLower(a.ClientID)] = true
	}
	return nil
}

// appName introduces an app in an error: its client id, or its place in the file when
// the id is unusable.
func appName(a *App, i int) string {
	if isGUID(a.ClientID) {
		return fmt.Sprintf("app %q: ", a.ClientID)
	}
	return fmt.Sprintf("app %d: ", i+1)
}

// appProblem is the one place an app is checked, for a config file (which names the
// line of path within the app) and for RegisterApplication and AddCertificate. It
// returns "" for a usable app; the message does not name the app (see appName).
func appProblem(a *App, tenants []Tenant) (msg string, path []any) {
	if !isGUID(a.ClientID) {
		return fmt.Sprintf("client_id %q is not a GUID; give client_id: as xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", a.ClientID), []any{"client_id"}
	}
	if a.DisplayName == "" {
		return "there is no display_name; add one (tokens carry it as app_displayname)", nil
	}
	if !a.PublicClient && !a.hasCredentials() {
		return "it is not a public client and has no credential; set public_client: true or add client_secret: or certificates:", []any{"public_client"}
	}
	for k, s := range a.PreauthorizedScopes {
		if !permRE.MatchString(s) {
			return fmt.Sprintf("preauthorized scope %q is not a permission name; list Graph permissions such as User.Read, without a resource prefix", s), []any{"preauthorized_scopes", k}
		}
	}
	if a.Tenant != "" && !tenantIn(tenants, a.Tenant) {
		return fmt.Sprintf("tenant %q is not a tenant of the directory; name a tenant's domain or id, or leave tenant out for an app of every tenant", a.Tenant), []any{"tenant"}
	}
	switch strings.ToLower(a.Consent) {
	case "", ConsentGranted, ConsentRevoked:
	default:
		return fmt.Sprintf("consent %q is not %s or %s", a.Consent, ConsentGranted, ConsentRevoked), []any{"consent"}
	}
	for k, s := range a.ExposedScopes {
		if !permRE.MatchString(s) {
			return fmt.Sprintf("exposed scope %q is not a scope name; list names such as access_as_user, without the api:// prefix", s), []any{"exposed_scopes", k}
		}
	}
	switch a.AccessTokenVersion {
	case 0, 1, 2:
	default:
		return fmt.Sprintf("access_token_version is %d; give 1 (v1 tokens, Entra's default) or 2", a.AccessTokenVersion), []any{"access_token_version"}
	}
	for _, f := range []struct {
		name  string
		perms []string
	}{{"graph", a.Permissions.Graph}, {"exchange", a.Permissions.Exchange}, {"sharepoint", a.Permissions.SharePoint}} {
		for k, p := range f.perms {
			if !permRE.MatchString(p) {
				return fmt.Sprintf("permission %q is not a permission name; list app-role values such as Sites.Read.All or full_access_as_app", p), []any{"permissions", f.name, k}
			}
		}
	}
	keys := map[string]bool{}
	thumbs := map[string]bool{}
	for k, c := range a.Certificates {
		if c.Cert == nil {
			return fmt.Sprintf("certificate %d has no certificate", k+1), []any{"certificates", k}
		}
		if _, ok := c.Cert.PublicKey.(*rsa.PublicKey); !ok {
			return fmt.Sprintf("certificate %d has a %s key; Entra needs RSA", k+1, c.Cert.PublicKeyAlgorithm), []any{"certificates", k}
		}
		if c.KeyID != "" && !isGUID(c.KeyID) {
			return fmt.Sprintf("certificate key_id %q is not a GUID", c.KeyID), []any{"certificates", k, "key_id"}
		}
		if keys[strings.ToLower(c.KeyID)] && c.KeyID != "" {
			return fmt.Sprintf("certificate key_id %q appears twice", c.KeyID), []any{"certificates", k, "key_id"}
		}
		keys[strings.ToLower(c.KeyID)] = true
		if thumbs[c.thumbprintHex()] {
			return fmt.Sprintf("the certificate with thumbprint %s is registered twice", c.thumbprintHex()), []any{"certificates", k}
		}
		thumbs[c.thumbprintHex()] = true
		if s, e := c.start(), c.end(); !e.After(s) {
			return fmt.Sprintf("certificate %d ends (%s) before it starts (%s)", k+1, rfc3339(e), rfc3339(s)), []any{"certificates", k}
		}
	}
	return "", nil
}

// tenantIn reports whether key names one of tenants by domain or GUID.
func tenantIn(tenants []Tenant, key string) bool {
	for _, t := range tenants {
		if strings.EqualFold(t.Domain, key) || strings.EqualFold(t.ID, key) {
			return true
		}
	}
	return false
}
