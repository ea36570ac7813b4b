package configfile_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v4"

	"github.com/vbharness/vbharness/mocks/configfile"
)

type entra struct {
	Authority string `yaml:"authority"`
	Tenant    string `yaml:"tenant"`
	ClientID  string `yaml:"client_id"`
}

type target struct {
	Entra    entra          `yaml:"entra"`
	Insecure bool           `yaml:"insecure_skip_verify"`
	Retries  int            `yaml:"retries"`
	Tags     []string       `yaml:"tags"`
	Settings map[string]any `yaml:"settings"`
	Start    *time.Time     `yaml:"start"`
	Secret   string         `yaml:"-"`
	Plain    string         // no tag: "plain", as go.yaml.in/yaml/v4 names it
}

type file struct {
	Targets map[string]*target `yaml:"targets"`
	Items   []item             `yaml:"items"`
	Custom  *custom            `yaml:"custom"`
	Legacy  *legacy            `yaml:"legacy"`
}

// legacy decodes itself and refuses everything the way yaml.v3 code does.
type legacy struct{}

func (*legacy) UnmarshalYAML(n *yaml.Node) error {
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: legacy %s is refused", n.Line+1, n.Value)}}
}

type item struct {
	Name string `yaml:"name"`
}

// custom decodes itself and refuses anything but "ok".
type custom struct{ v string }

func (c *custom) UnmarshalYAML(n *yaml.Node) error {
	if n.Value != "ok" {
		return &configfile.Error{Msg: "custom must be ok", Fix: "write ok"}
	}
	c.v = n.Value
	return nil
}

func TestDecodeAcceptsYAMLAndJSON(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, file, data string
	}{
		{"YAML", "f.yaml", "targets:\n  lab:\n    entra: {tenant: abc, client_id: x}\n    retries: 3\n    tags: [a, b]\n    settings: {any: [1, {x: y}]}\n    start: 2026-01-02T03:04:05Z\n    plain: p\nitems:\n  - name: one\ncustom: ok\n"},
		{"JSON", "f.json", "{\n\t\"targets\": {\"lab\": {\"entra\": {\"tenant\": \"abc\", \"client_id\": \"x\"}, \"retries\": 3, \"tags\": [\"a\", \"b\"],\n\t\"settings\": {\"any\": [1, {\"x\": \"y\"}]}, \"start\": \"2026-01-02T03:04:05Z\", \"plain\": \"p\"}},\n\t\"items\": [{\"name\": \"one\"}], \"custom\": \"ok\"\n}\n"},
		{"JSON by content", "f.conf", `{"targets": {"lab": {"entra": {"tenant": "abc", "client_id": "x"}, "retries": 3, "tags": ["a", "b"], "settings": {"any": [1, {"x": "y"}]}, "start": "2026-01-02T03:04:05Z", "plain": "p"}}, "items": [{"name": "one"}], "custom": "ok"}`},
		{"YAML anchors and merge keys", "f.yaml", "base: &b {tenant: abc}\n"[0:0] + "targets:\n  lab:\n    entra: {<<: {tenant: abc}, client_id: x}\n    retries: 3\n    tags: &t [a, b]\n    settings: {any: [1, {x: y}]}\n    start: 2026-01-02T03:04:05Z\n    plain: p\nitems: [{name: one}]\ncustom: ok\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var f file
			doc, err := configfile.Decode(c.file, []byte(c.data), &f)
			if err != nil {
				t.Fatal(err)
			}
			lab := f.Targets["lab"]
			if lab == nil || lab.Entra.Tenant != "abc" || lab.Entra.ClientID != "x" || lab.Retries != 3 || len(lab.Tags) != 2 ||
				lab.Plain != "p" || lab.Start == nil || !lab.Start.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) ||
				len(f.Items) != 1 || f.Items[0].Name != "one" || f.Custom == nil || f.Custom.v != "ok" {
				t.Fatalf("decoded %+v, lab %+v", f, lab)
			}
			if fmt.Sprint(lab.Settings["any"]) != "[1 map[x:y]]" {
				t.Errorf("settings = %v", lab.Settings)
			}
			if keys := doc.Keys("targets"); len(keys) != 1 || keys[0].Name != "lab" || keys[0].Line < 1 {
				t.Errorf("keys = %+v", keys)
			}
			if l, col := doc.Pos("targets", "lab", "entra", "tenant"); l < 1 || col < 1 {
				t.Errorf("pos = %d:%d", l, col)
			}
		})
	}
}

// TestDecodeErrors is the contract of every configuration file: each problem is named
// by file:line:col, says what is wrong and what to do.
func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, file, data, want string
	}{
		{"an unknown key names the nearest known one", "vbharness.yaml", "targets:\n  lab:\n    entra:\n      tenant: x\n      clientid: y\n",
			`vbharness.yaml:5:7: unknown key "clientid" in targets.lab.entra; did you mean client_id?`},
		{"keys are matched with their case", "f.yaml", "targets:\n  lab:\n    entra: {Tenant: x}\n",
			`f.yaml:3:13: unknown key "Tenant" in targets.lab.entra; did you mean tenant?`},
		{"camelCase for a snake_case key", "f.yaml", "targets:\n  lab:\n    entra: {clientId: x}\n",
			`f.yaml:3:13: unknown key "clientId" in targets.lab.entra; did you mean client_id?`},
		{"a typo within a third of the length", "f.yaml", "targets:\n  lab:\n    entra: {tennant: x}\n",
			`f.yaml:3:13: unknown key "tennant" in targets.lab.entra; did you mean tenant?`},
		{"a key like none lists the known ones", "f.yaml", "targets:\n  lab:\n    entra: {password: x}\n",
			`f.yaml:3:13: unknown key "password" in targets.lab.entra; known keys: authority, client_id, tenant`},
		{"an unknown key at the top level", "f.yaml", "target: {}\n",
			`f.yaml:1:1: unknown key "target" in the top level; did you mean targets?`},
		{"a key the struct hides with -", "f.yaml", "targets:\n  lab: {secret: x}\n",
			`f.yaml:2:9: unknown key "secret" in targets.lab; known keys: entra, insecure_skip_verify, plain, retries, settings, start, tags`},
		{"a key given twice", "f.yaml", "targets:\n  lab:\n    entra: {tenant: a, tenant: b}\n",
			`f.yaml:3:24: key "tenant" appears twice in targets.lab.entra; keep one of them`},
		{"a map key given twice", "f.yaml", "targets:\n  lab: {}\n  lab: {}\n",
			`f.yaml:3:3: key "lab" appears twice in targets; keep one of them`},
		{"a list where a mapping belongs", "f.yaml", "targets:\n  - lab\n",
			"f.yaml:2:3: targets must be a mapping (key: value lines)"},
		{"a mapping where a value belongs", "f.yaml", "targets:\n  lab:\n    entra: {tenant: [a, b]}\n",
			"f.yaml:3:21: targets.lab.entra.tenant must be a single value"},
		{"a scalar where a list belongs", "f.yaml", "items: one\n",
			`f.yaml:1:8: items must be a list (- item lines), not "one"`},
		{"a word where a boolean belongs", "f.yaml", "targets:\n  lab:\n    insecure_skip_verify: maybe\n",
			`f.yaml:3:27: targets.lab.insecure_skip_verify must be true or false, not "maybe"`},
		{"a word where a number belongs", "f.yaml", "targets:\n  lab:\n    retries: three\n",
			`f.yaml:3:14: targets.lab.retries must be a whole number, not "three"`},
		{"an item's key names its index", "f.yaml", "items:\n  - name: a\n  - nme: b\n",
			`f.yaml:3:5: unknown key "nme" in items[1]; did you mean name?`},
		{"a type's own error keeps its fix", "f.yaml", "custom: bad\n",
			"f.yaml:1:9: custom must be ok; write ok"},
		{"a type's own yaml.v3-style error keeps its line", "f.yaml", "legacy: x\nitems:\n  - name: a\n",
			"f.yaml:2:1: legacy x is refused"},
		{"malformed YAML names line and column", "f.yaml", "targets:\n  lab:\n    entra: {tenant: x\n    veeam: y\n",
			"f.yaml:4:"},
		{"a tab names the line", "f.yaml", "targets:\n\tlab: {}\n",
			"f.yaml:2:1: malformed YAML: found character that cannot start any token"},
		{"two documents", "f.yaml", "targets: {}\n---\ntargets: {}\n",
			"f.yaml:2:1: the file holds more than one YAML document"},
		{"an empty file", "f.yaml", "# nothing\n", "f.yaml: the file is empty"},
		{"JSON: an unknown key names line and column", "f.json", "{\n  \"targets\": {\n    \"lab\": {\"entra\": {\"clientid\": \"x\"}}\n  }\n}\n",
			`f.json:3:23: unknown key "clientid" in targets.lab.entra; did you mean client_id?`},
		{"JSON: a syntax error names line and column", "f.json", "{\n  \"targets\": {\n    \"lab\": }\n}\n",
			"f.json:3:12: malformed JSON: invalid character '}' looking for beginning of value"},
		{"JSON: a wrong type says object", "f.json", "{\"targets\": [1]}",
			"f.json:1:13: targets must be an object ({…})"},
		{"JSON: a quoted boolean", "f.json", "{\"targets\": {\"lab\": {\"insecure_skip_verify\": \"true\"}}}",
			`f.json:1:46: targets.lab.insecure_skip_verify must be true or false, not "true"`},
		{"JSON: text after the value", "f.json", "{} {}",
			"f.json:1:4: malformed JSON: there is more after the top-level value"},
		{"JSON: a comma after the value", "f.json", "{}\n,",
			"f.json:2:1: malformed JSON: there is more after the top-level value"},
		{"JSON: a cut file", "f.json", "{\"targets\": {",
			"f.json:1:14: malformed JSON: the file ends before its last value does"},
		{"JSON: not UTF-8", "f.json", "{\"targets\": \"\xff\"}",
			"f.json:1:14: malformed JSON: the file is not UTF-8 text"},
		{"JSON: an empty file", "f.json", " \n", "f.json: the file is empty"},
		{"JSON: a key given twice", "f.json", `{"items": [], "items": []}`,
			`f.json:1:15: key "items" appears twice in the top level; keep one of them`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var f file
			_, err := configfile.Decode(c.file, []byte(c.data), &f)
			var ce *configfile.Error
			if !errors.As(err, &ce) {
				t.Fatalf("error = %v (%T), want *configfile.Error", err, err)
			}
			if !strings.HasPrefix(err.Error(), c.want) {
				t.Errorf("error =\n  %s\nwant prefix\n  %s", err, c.want)
			}
		})
	}
}

func TestEmptyAndKind(t *testing.T) {
	t.Parallel()
	errKind := errors.New("invalid thing")
	var f file
	_, err := configfile.Decode("f.yaml", nil, &f)
	if !errors.Is(err, configfile.ErrEmpty) {
		t.Errorf("empty: %v does not wrap ErrEmpty", err)
	}
	err = configfile.WithKind(err, errKind)
	if !errors.Is(err, errKind) || !errors.Is(err, configfile.ErrEmpty) || err.Error() != "f.yaml: the file is empty" {
		t.Errorf("WithKind: %v (is kind %v, is empty %v)", err, errors.Is(err, errKind), errors.Is(err, configfile.ErrEmpty))
	}
	_, err = configfile.Decode("f.yaml", []byte("nope: 1\n"), &f)
	if err = configfile.WithKind(err, errKind); !errors.Is(err, errKind) || !strings.HasPrefix(err.Error(), "f.yaml:1:1: unknown key") {
		t.Errorf("WithKind changed the message or lost the kind: %v", err)
	}
}

// TestAliasesAreCheckedOnceEach keeps a document of many aliases to one anchor linear:
// each (node, type) pair is checked once.
func TestAliasesAreCheckedOnceEach(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("items: &a [{name: x}]\ntargets:\n")
	for i := range 200 {
		fmt.Fprintf(&b, "  t%d: {tags: [x], settings: {l: *a}}\n", i)
	}
	var f file
	if _, err := configfile.Decode("f.yaml", []byte(b.String()), &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Targets) != 200 {
		t.Errorf("%d targets", len(f.Targets))
	}
}

func TestPosAndKeys(t *testing.T) {
	t.Parallel()
	const data = "targets:\n  lab:\n    entra:\n      tenant: x\n    tags:\n      - a\n      - b\n  other: {retries: 1}\n"
	var f file
	doc, err := configfile.Decode("f.yaml", []byte(data), &f)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		path      []any
		line, col int
	}{
		{[]any{"targets", "lab", "entra", "tenant"}, 4, 15},   // a value on its key's line
		{[]any{"targets", "lab", "entra"}, 3, 5},              // a block mapping: its key
		{[]any{"targets", "lab", "tags", 1}, 7, 9},            // a list item
		{[]any{"targets", "lab", "entra", "client_id"}, 3, 5}, // missing: the deepest found
		{[]any{"targets", "other", "retries"}, 8, 20},         // in a flow mapping
		{[]any{"targets", "nope", "x"}, 1, 1},                 // only targets exists: its key
		{[]any{}, 1, 1},                                       // the top level
	}
	for _, c := range cases {
		if l, col := doc.Pos(c.path...); l != c.line || col != c.col {
			t.Errorf("Pos(%v) = %d:%d, want %d:%d", c.path, l, col, c.line, c.col)
		}
	}
	if k := doc.Keys("targets"); len(k) != 2 || k[0] != (configfile.Key{Name: "lab", Line: 2, Col: 3}) || k[1].Name != "other" {
		t.Errorf("Keys(targets) = %+v", k)
	}
	if !doc.Has("targets", "lab", "tags", 1) || doc.Has("targets", "lab", "tags", 2) {
		t.Error("Has is wrong")
	}
}

func TestSuggest(t *testing.T) {
	t.Parallel()
	known := []string{"accessTokenLifetime", "refreshTokenLifetime", "errorStyle", "tenantAuthentication"}
	cases := []struct{ got, want string }{
		{"accessTokenLifeTime", "accessTokenLifetime"},   // case only
		{"access_token_lifetime", "accessTokenLifetime"}, // the other spelling
		{"errorstyle", "errorStyle"},
		{"eror_style", "errorStyle"}, // one letter off
		{"tenantAuth", ""},           // too far
		{"x", ""},                    // nothing near
		{"refreshTokenLifetimes", "refreshTokenLifetime"},
	}
	for _, c := range cases {
		if got := configfile.Suggest(c.got, known); got != c.want {
			t.Errorf("Suggest(%q) = %q, want %q", c.got, got, c.want)
		}
	}
}

type patch struct {
	AccessTokenLifetime *int   `json:"accessTokenLifetime"`
	ErrorStyle          string `json:"errorStyle"`
	Inner               struct {
		Name string `json:"name"`
	} `json:"inner"`
	Free map[string]any `json:"free"`
}

func TestCheckJSON(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, body, want string }{
		{"known fields", `{"accessTokenLifetime": 60, "errorStyle": "oauth", "inner": {"name": "x"}, "free": {"Any": 1}}`, ""},
		{"an empty body", ``, ""},
		{"a body encoding/json refuses", `{"accessTokenLifetime": }`, ""},
		{"a field that differs in case", `{"accessTokenLifeTime": 60}`, `unknown field "accessTokenLifeTime"; did you mean accessTokenLifetime?`},
		{"the other server's spelling", `{"access_token_lifetime": 60}`, `unknown field "access_token_lifetime"; did you mean accessTokenLifetime?`},
		{"a nested field", `{"inner": {"Name": "x"}}`, `unknown field "Name" in inner; did you mean name?`},
		{"a shape", `{"inner": [1]}`, `inner must be an object ({…})`},
		{"a field given twice", `{"errorStyle": "a", "errorStyle": "b"}`, `field "errorStyle" appears twice; keep one of them`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			err := configfile.CheckJSON([]byte(c.body), &patch{})
			switch {
			case c.want == "" && err != nil:
				t.Errorf("error = %v, want none", err)
			case c.want != "" && (err == nil || !strings.HasSuffix(err.Error(), c.want)):
				t.Errorf("error = %v, want …%s", err, c.want)
			}
		})
	}
}

// TestJSONStringsMeanWhatTheyMeanInJSON: escapes a YAML parser reads differently (a
// surrogate pair, \/) decode as encoding/json decodes them, and columns count characters.
func TestJSONStringsMeanWhatTheyMeanInJSON(t *testing.T) {
	t.Parallel()
	var f file
	doc, err := configfile.Decode("f.json", []byte(`{"targets": {"lab": {"entra": {"tenant": "a\/b\u00e9\ud83d\ude00 \"q\" ü", "client_id": "é"}}}}`), &f)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Targets["lab"].Entra.Tenant; got != "a/bé😀 \"q\" ü" {
		t.Errorf("tenant = %q", got)
	}
	if l, c := doc.Pos("targets", "lab", "entra", "client_id"); l != 1 || c != 89 {
		t.Errorf("client_id at %d:%d, want 1:89 (characters, not bytes)", l, c)
	}
}
