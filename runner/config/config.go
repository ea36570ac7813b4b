package config

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v4"
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

// Error is a problem in the targets file, with where it is and what to do.
type Error struct {
	File      string // the file as the user named it
	Line, Col int    // 1-based; 0 when the problem has no single place
	Msg       string // what is wrong
	Fix       string // what to do about it; may be empty
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Col > 0 {
			fmt.Fprintf(&b, ":%d", e.Col)
		}
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	if e.Fix != "" {
		b.WriteString("; ")
		b.WriteString(e.Fix)
	}
	return b.String()
}

// ErrNotFound is returned by Find when no targets file exists where one was looked for.
var ErrNotFound = errors.New("no targets file")

// Entra is a target's Microsoft Entra ID settings. Authority, ClientID and Scope are
// optional: left empty, engine/flow's defaults apply (login.microsoftonline.com, the Azure
// CLI public client, the scopes of Veeam's modern app-only authentication).
type Entra struct {
	Authority string // origin
	Tenant    string // required, e.g. abc.onmicrosoft.com
	ClientID  string
	Scope     string
	User      string // who sign-ins approve as on a mock; optional
}

// Veeam is a target's Veeam Backup for Microsoft 365 REST API settings.
type Veeam struct {
	URL           string // origin, e.g. https://abc.tech.local:4443; required
	CAFile        string // PEM file of the CA that signed the server certificate; optional
	AdminUser     string
	AdminPassword string // only from VBHARNESS_VEEAM_PASSWORD
	Organization  string // client_id of the jwt-bearer grant; empty: the tenant (engine.Target.Organization)
}

// Control locates the control API of a running `vbharness mock`.
type Control struct {
	Entra string // origin of the Entra mock; default Entra.Authority
	Veeam string // origin of the Veeam mock; default Veeam.URL
	Token string // control token; VBHARNESS_CONTROL_TOKEN overrides it
}

// Target is one entry under targets:.
type Target struct {
	Name               string
	Entra              Entra
	Veeam              Veeam
	InsecureSkipVerify bool
	Control            *Control // nil: no control API (a lab server)
	Settings           map[string]any

	line, col int            // of the target's name
	pos       map[string]pos // "veeam.ca_file" → where its value is
}

type pos struct{ line, col int }

// File is a parsed targets file.
type File struct {
	Path    string // as the user named it
	Dir     string // absolute directory, for resolving relative paths
	Targets map[string]*Target
	Names   []string // target names in file order
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

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// Parse checks the shape of a targets file: YAML syntax, known keys, value types and
// target names. name is how errors call the file; dir resolves relative paths.
func Parse(name, dir string, data []byte) (*File, error) {
	f := &File{Path: name, Dir: dir, Targets: map[string]*Target{}}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		e := &Error{File: name, Msg: "malformed YAML: " + strings.TrimPrefix(err.Error(), "yaml: "),
			Fix: "fix the syntax (indent with spaces, and quote values that contain ': ' or start with '{', '[', '*' or '&')"}
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			e.Line, _ = strconv.Atoi(m[1])
			e.Msg = "malformed YAML: " + m[2]
		}
		return nil, e
	}
	if len(doc.Content) == 0 {
		return nil, &Error{File: name, Msg: "the file is empty", Fix: "add a targets: mapping (see docs/cli.md)"}
	}
	root := doc.Content[0]
	p := parser{file: name}
	targets := p.mapping(root, "the top level", map[string]bool{"targets": true})
	if p.err != nil {
		return nil, p.err
	}
	tn, ok := targets["targets"]
	if !ok {
		return nil, &Error{File: name, Line: root.Line, Col: root.Column, Msg: "no targets: key",
			Fix: "define your targets under targets: (see docs/cli.md)"}
	}
	if tn.value.Kind != yaml.MappingNode {
		return nil, p.typeErr(tn.value, "targets", "a mapping of target names to targets")
	}
	for i := 0; i+1 < len(tn.value.Content); i += 2 {
		k, v := tn.value.Content[i], tn.value.Content[i+1]
		t := p.target(k, v)
		if p.err != nil {
			return nil, p.err
		}
		if _, dup := f.Targets[t.Name]; dup {
			return nil, &Error{File: name, Line: k.Line, Col: k.Column, Msg: fmt.Sprintf("target %q is defined twice", t.Name),
				Fix: "rename or remove one of them"}
		}
		f.Targets[t.Name] = t
		f.Names = append(f.Names, t.Name)
	}
	return f, nil
}

type parser struct {
	file string
	err  *Error
}

type entry struct {
	key   *yaml.Node
	value *yaml.Node
}

func (p *parser) fail(n *yaml.Node, msg, fix string) {
	if p.err == nil {
		p.err = &Error{File: p.file, Line: n.Line, Col: n.Column, Msg: msg, Fix: fix}
	}
}

func (p *parser) typeErr(n *yaml.Node, where, want string) *Error {
	return &Error{File: p.file, Line: n.Line, Col: n.Column, Msg: fmt.Sprintf("%s must be %s", where, want),
		Fix: "see the targets file reference in docs/cli.md"}
}

// mapping checks that n is a mapping whose keys are all in known (nil: any key) and
// appear once, and returns its entries by key.
func (p *parser) mapping(n *yaml.Node, where string, known map[string]bool) map[string]entry {
	if p.err != nil {
		return nil
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return map[string]entry{}
	}
	if n.Kind != yaml.MappingNode {
		p.err = p.typeErr(n, where, "a mapping (key: value lines)")
		return nil
	}
	out := map[string]entry{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if known != nil && !known[k.Value] {
			p.fail(k, fmt.Sprintf("unknown key %q in %s", k.Value, where), "known keys: "+keys(known))
			return nil
		}
		if _, dup := out[k.Value]; dup {
			p.fail(k, fmt.Sprintf("key %q appears twice in %s", k.Value, where), "keep one of them")
			return nil
		}
		out[k.Value] = entry{k, v}
	}
	return out
}

func keys(m map[string]bool) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ", ")
}

var (
	targetKeys  = map[string]bool{"entra": true, "veeam": true, "insecure_skip_verify": true, "control": true, "settings": true}
	entraKeys   = map[string]bool{"authority": true, "tenant": true, "client_id": true, "scope": true, "user": true}
	veeamKeys   = map[string]bool{"url": true, "ca_file": true, "admin_user": true, "organization": true}
	controlKeys = map[string]bool{"entra": true, "veeam": true, "token": true}
)

func (p *parser) target(k, v *yaml.Node) *Target {
	t := &Target{Name: k.Value, line: k.Line, col: k.Column, pos: map[string]pos{}}
	if t.Name == MockTarget {
		p.fail(k, `the target name "mock" is reserved for the embedded mocks`,
			"give this target another name (a running `vbharness mock` is usually called localmock)")
		return t
	}
	if t.Name == "" {
		p.fail(k, "a target needs a name", "write it as the key under targets:")
		return t
	}
	where := "targets." + t.Name
	m := p.mapping(v, where, targetKeys)
	str := func(m map[string]entry, section, key string, dst *string) {
		e, ok := m[key]
		if !ok || p.err != nil {
			return
		}
		t.pos[section+"."+key] = pos{e.value.Line, e.value.Column}
		switch {
		case e.value.Kind == yaml.ScalarNode && e.value.Tag == "!!null":
		case e.value.Kind == yaml.ScalarNode:
			*dst = e.value.Value
		default:
			p.err = p.typeErr(e.value, where+"."+section+"."+key, "a single value")
		}
	}
	if e, ok := m["entra"]; ok {
		em := p.mapping(e.value, where+".entra", entraKeys)
		str(em, "entra", "authority", &t.Entra.Authority)
		str(em, "entra", "tenant", &t.Entra.Tenant)
		str(em, "entra", "client_id", &t.Entra.ClientID)
		str(em, "entra", "scope", &t.Entra.Scope)
		str(em, "entra", "user", &t.Entra.User)
	}
	if e, ok := m["veeam"]; ok {
		vm := p.mapping(e.value, where+".veeam", veeamKeys)
		str(vm, "veeam", "url", &t.Veeam.URL)
		str(vm, "veeam", "ca_file", &t.Veeam.CAFile)
		str(vm, "veeam", "admin_user", &t.Veeam.AdminUser)
		str(vm, "veeam", "organization", &t.Veeam.Organization)
	}
	if e, ok := m["control"]; ok && p.err == nil {
		t.Control = &Control{}
		t.pos["control"] = pos{e.key.Line, e.key.Column}
		cm := p.mapping(e.value, where+".control", controlKeys)
		str(cm, "control", "entra", &t.Control.Entra)
		str(cm, "control", "veeam", &t.Control.Veeam)
		str(cm, "control", "token", &t.Control.Token)
	}
	if e, ok := m["insecure_skip_verify"]; ok && p.err == nil {
		if err := e.value.Decode(&t.InsecureSkipVerify); err != nil || e.value.Kind != yaml.ScalarNode {
			p.err = p.typeErr(e.value, where+".insecure_skip_verify", "true or false")
		}
	}
	if e, ok := m["settings"]; ok && p.err == nil {
		if e.value.Kind != yaml.MappingNode && e.value.Tag != "!!null" {
			p.err = p.typeErr(e.value, where+".settings", "a mapping")
		} else if err := e.value.Decode(&t.Settings); err != nil {
			p.err = &Error{File: p.file, Line: e.value.Line, Col: e.value.Column, Msg: "settings: " + err.Error()}
		}
	}
	return t
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
	at := func(key string) (int, int) {
		if p, ok := t.pos[key]; ok {
			return p.line, p.col
		}
		return t.line, t.col
	}
	fail := func(key, msg, fix string) error {
		l, c := at(key)
		return &Error{File: f.Path, Line: l, Col: c, Msg: fmt.Sprintf("targets.%s.%s %s", name, key, msg), Fix: fix}
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
