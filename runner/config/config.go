package config

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/vbharness/vbharness/mocks/configfile"
)

// FileName is the targets file looked up in the working directory.
const FileName = "vbharness.yaml"

// MockTarget is the name of the built-in target (the embedded mocks); a targets file
// cannot define it.
const MockTarget = "mock"

// Environment variables that override secrets of the selected target. Secrets belong
// in the environment (or a CI secret store), not in a file that gets committed.
const (
	EnvVeeamPassword = "VBHARNESS_VEEAM_PASSWORD" // the Veeam administrator's password
	EnvControlToken  = "VBHARNESS_CONTROL_TOKEN"  // the control token of a `vbharness mock --control-token`
)

// Error is a problem in the targets file, with where it is and what to do: the error
// every configuration file gives (mocks/configfile).
type Error = configfile.Error

// ErrNotFound is returned by Find when no targets file exists where one was looked for.
var ErrNotFound = errors.New("no targets file")

// Entra is a target's Microsoft Entra ID settings. Authority, ClientID and Scope are
// optional: left empty, engine/flow's defaults apply (login.microsoftonline.com, the Azure
// CLI public client, the scopes of Veeam's modern app-only authentication).
type Entra struct {
	Authority string `yaml:"authority"` // origin
	Tenant    string `yaml:"tenant"`    // required, e.g. abc.onmicrosoft.com
	ClientID  string `yaml:"client_id"`
	Scope     string `yaml:"scope"`
	User      string `yaml:"user"` // who sign-ins approve as on a mock; optional
}

// Veeam is a target's Veeam Backup for Microsoft 365 REST API settings.
type Veeam struct {
	URL           string `yaml:"url"`          // origin, e.g. https://abc.tech.local:4443; required
	CAFile        string `yaml:"ca_file"`      // PEM file of the CA that signed the server certificate; optional
	AdminUser     string `yaml:"admin_user"`   // the administrator of password logins; optional
	AdminPassword string `yaml:"-"`            // only from VBHARNESS_VEEAM_PASSWORD
	Organization  string `yaml:"organization"` // client_id of the jwt-bearer grant; empty: the tenant (engine.Target.Organization)
}

// Control locates the control API of a running `vbharness mock`.
type Control struct {
	Entra string `yaml:"entra"` // origin of the Entra mock; default Entra.Authority
	Veeam string `yaml:"veeam"` // origin of the Veeam mock; default Veeam.URL
	Token string `yaml:"token"` // control token; VBHARNESS_CONTROL_TOKEN overrides it
}

// Target is one entry under targets:.
type Target struct {
	Name               string         `yaml:"-"`
	Entra              Entra          `yaml:"entra"`
	Veeam              Veeam          `yaml:"veeam"`
	InsecureSkipVerify bool           `yaml:"insecure_skip_verify"`
	Control            *Control       `yaml:"control"` // nil: no control API (a lab server)
	Settings           map[string]any `yaml:"settings"`
}

// fileShape is the targets file as written.
type fileShape struct {
	Targets map[string]*Target `yaml:"targets"`
}

// File is a parsed targets file.
type File struct {
	Path    string // as the user named it
	Dir     string // absolute directory, for resolving relative paths
	Targets map[string]*Target
	Names   []string // target names in file order

	doc *configfile.Doc // for the positions of Resolve's errors
}

// Find returns the targets file to use: explicit if set (it must exist), otherwise
// FileName in dir if it exists. It returns ErrNotFound when there is none.
func Find(dir, explicit string) (string, error) {
	if explicit != "" {
		p := explicit
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		if _, err := os.Stat(p); err != nil {
			return "", &Error{File: explicit, Msg: "cannot read the targets file: " + pathErr(err),
				Fix: "check the path given to --config"}
		}
		return p, nil
	}
	p := filepath.Join(dir, FileName)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%w: %s not found in %s", ErrNotFound, FileName, dir)
	}
	return p, nil
}

// Load reads and parses the targets file at path. display is how errors name the file
// (the path as the user gave it); empty means path.
func Load(path, display string) (*File, error) {
	if display == "" {
		display = path
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: display, Msg: "cannot read the targets file: " + pathErr(err)}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, &Error{File: display, Msg: err.Error()}
	}
	return Parse(display, filepath.Dir(abs), data)
}

// Parse checks the shape of a targets file: syntax, known keys (exactly, with the
// nearest known key for a typo), value types and target names. name is how errors call
// the file; dir resolves relative paths.
func Parse(name, dir string, data []byte) (*File, error) {
	var shape fileShape
	doc, err := configfile.Decode(name, data, &shape)
	if errors.Is(err, configfile.ErrEmpty) {
		return nil, &Error{File: name, Msg: "the file is empty", Fix: "add a targets: mapping (see docs/cli.md)"}
	}
	if err != nil {
		return nil, err
	}
	if !doc.Has("targets") {
		l, c := doc.Pos()
		return nil, &Error{File: name, Line: l, Col: c, Msg: "no targets: key",
			Fix: "define your targets under targets: (see docs/cli.md)"}
	}
	f := &File{Path: name, Dir: dir, Targets: map[string]*Target{}, doc: doc}
	for _, k := range doc.Keys("targets") {
		switch k.Name {
		case MockTarget:
			return nil, &Error{File: name, Line: k.Line, Col: k.Col, Msg: `the target name "mock" is reserved for the embedded mocks`,
				Fix: "give this target another name (a running `vbharness mock` is usually called localmock)"}
		case "":
			return nil, &Error{File: name, Line: k.Line, Col: k.Col, Msg: "a target needs a name", Fix: "write it as the key under targets:"}
		}
		t := shape.Targets[k.Name]
		if t == nil { // "lab:" with nothing under it
			t = &Target{}
		}
		t.Name = k.Name
		if t.Control == nil && doc.Has("targets", k.Name, "control") { // "control:" alone is a running mock with defaults
			t.Control = &Control{}
		}
		f.Targets[k.Name] = t
		f.Names = append(f.Names, k.Name)
	}
	return f, nil
}

// Resolved is a target checked and ready to use.
type Resolved struct {
	Target
	// RootCAs holds the system roots plus the CA file's certificates; nil when the
	// target has no CA file (system roots only).
	RootCAs *x509.CertPool
	// CAFile is the CA file's absolute path, or "".
	CAFile string
	// Secrets are the secret values the target was given (password, control token), for
	// the run's scrubber.
	Secrets []string
}

// Resolve checks the named target, fills in defaults, applies the environment
// overrides (EnvVeeamPassword, EnvControlToken) and loads its CA file.
func (f *File) Resolve(name string, env map[string]string) (*Resolved, error) {
	t, ok := f.Targets[name]
	if !ok {
		known := append([]string{MockTarget + " (built in)"}, f.Names...)
		return nil, &Error{File: f.Path, Msg: fmt.Sprintf("unknown target %q", name),
			Fix: fmt.Sprintf("known targets: %s; pass one of them to --target or add %s under targets:", strings.Join(known, ", "), name)}
	}
	r := &Resolved{Target: *t}
	if t.Control != nil {
		c := *t.Control
		r.Control = &c
	}
	fail := func(key, msg, fix string) error {
		path := []any{"targets", name}
		for _, k := range strings.Split(key, ".") {
			path = append(path, k)
		}
		return f.doc.Errorf(path, fix, "targets.%s.%s %s", name, key, msg)
	}
	if r.Entra.Tenant == "" {
		return nil, fail("entra.tenant", "is missing", "set it to the tenant's domain, e.g. tenant: abc.onmicrosoft.com")
	}
	if r.Veeam.URL == "" {
		return nil, fail("veeam.url", "is missing", "set it to the REST API's origin, e.g. url: https://veeam.example.com:4443")
	}
	for _, u := range []struct {
		key string
		v   *string
	}{{"entra.authority", &r.Entra.Authority}, {"veeam.url", &r.Veeam.URL}} {
		if *u.v == "" {
			continue // no authority: flow's default, login.microsoftonline.com
		}
		o, err := origin(*u.v)
		if err != nil {
			return nil, fail(u.key, "is not a URL: "+err.Error(), "write it as https://host[:port]")
		}
		*u.v = o
	}
	if r.Control != nil {
		if r.Control.Entra == "" {
			r.Control.Entra = r.Entra.Authority
		}
		if r.Control.Veeam == "" {
			r.Control.Veeam = r.Veeam.URL
		}
		if r.Control.Entra == "" {
			return nil, fail("control", "has no Entra URL", "set entra.authority (or control.entra) to the URL of the running vbharness mock's Entra")
		}
		for _, u := range []struct {
			key string
			v   *string
		}{{"control.entra", &r.Control.Entra}, {"control.veeam", &r.Control.Veeam}} {
			o, err := origin(*u.v)
			if err != nil {
				return nil, fail(u.key, "is not a URL: "+err.Error(), "write it as https://host[:port] of the running vbharness mock")
			}
			*u.v = o
		}
		if tok := env[EnvControlToken]; tok != "" {
			r.Control.Token = tok
		}
		if r.Control.Token != "" {
			r.Secrets = append(r.Secrets, r.Control.Token)
		}
	}
	// What a running `vbharness mock` (a target with control:) leaves out is the mock's
	// business, filled in by runner.MockDefaults: this package knows the file and the
	// environment, not the mocks.
	if pw := env[EnvVeeamPassword]; pw != "" {
		r.Veeam.AdminPassword = pw
	}
	if r.Veeam.AdminPassword != "" {
		r.Secrets = append(r.Secrets, r.Veeam.AdminPassword)
	}
	if t.Veeam.CAFile != "" {
		p := t.Veeam.CAFile
		if rest, ok := strings.CutPrefix(p, "~/"); ok && env["HOME"] != "" {
			p = filepath.Join(env["HOME"], rest) // as a shell would; the file is YAML, not a shell
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(f.Dir, p)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fail("veeam.ca_file", "cannot be read: "+pathErr(err),
				"point ca_file at the PEM file of the CA that signed the server's certificate (a relative path is resolved against "+f.Dir+")")
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !hasCert(data) || !pool.AppendCertsFromPEM(data) {
			return nil, fail("veeam.ca_file", "holds no PEM certificate: "+p,
				"export the CA certificate in PEM format (-----BEGIN CERTIFICATE-----)")
		}
		r.RootCAs = pool
		r.CAFile = p
	}
	return r, nil
}

func hasCert(data []byte) bool {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return false
		}
		if b.Type == "CERTIFICATE" {
			return true
		}
	}
}

// origin checks that s is an absolute http(s) URL and returns it without a trailing slash.
func origin(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", err
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return "", fmt.Errorf("%q has no http:// or https:// scheme", s)
	}
	if u.Host == "" {
		return "", fmt.Errorf("%q has no host", s)
	}
	return strings.TrimSuffix(s, "/"), nil
}

func pathErr(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Path + ": " + pe.Err.Error()
	}
	return err.Error()
}
