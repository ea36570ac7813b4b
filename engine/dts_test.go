package engine

import (
	"os"

	"github.com/dop251/goja"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// dtsDecl is what vbharness.d.ts declares: the module's exports with their types, and
// each interface's members (required and optional) with their types.
type dtsDecl struct {
	exports    map[string]string            // name → declared type ("" for functions and classes)
	interfaces map[string]map[string]dtsMem // name → member → declaration
}

type dtsMem struct {
	optional bool
	typ      string // the declared type of a property; "" for a method
}

var (
	dtsExport    = regexp.MustCompile(`^  export (?:const|function|class) ([A-Za-z_$][\w$]*)(?:: ([\w$]+);)?`)
	dtsInterface = regexp.MustCompile(`^  export interface (\w+)(?: extends ([\w, ]+))? \{`)
	dtsMember    = regexp.MustCompile(`^    (?:readonly )?([A-Za-z_$][\w$]*)(\??)([(:])\s*([\w$]*)`)
)

func parseDTS(t *testing.T) dtsDecl {
	t.Helper()
	src, err := os.ReadFile("vbharness.d.ts")
	if err != nil {
		t.Fatal(err)
	}
	d := dtsDecl{exports: map[string]string{}, interfaces: map[string]map[string]dtsMem{}}
	extends := map[string][]string{}
	var cur string
	for _, line := range strings.Split(string(src), "\n") {
		if m := dtsExport.FindStringSubmatch(line); m != nil {
			d.exports[m[1]] = m[2]
		}
		if m := dtsInterface.FindStringSubmatch(line); m != nil {
			cur = m[1]
			d.interfaces[cur] = map[string]dtsMem{}
			if m[2] != "" {
				for _, p := range strings.Split(m[2], ",") {
					extends[cur] = append(extends[cur], strings.TrimSpace(p))
				}
			}
			continue
		}
		if line == "  }" {
			cur = ""
			continue
		}
		if cur != "" {
			if m := dtsMember.FindStringSubmatch(line); m != nil {
				mem := dtsMem{optional: m[2] == "?"}
				if m[3] == ":" {
					mem.typ = m[4]
				}
				d.interfaces[cur][m[1]] = mem
			}
		}
	}
	for child, parents := range extends {
		for _, p := range parents {
			for k, v := range d.interfaces[p] {
				if _, ok := d.interfaces[child][k]; !ok {
					d.interfaces[child][k] = v
				}
			}
		}
	}
	return d
}

// ownNames lists what scripts can reach on a value: its own properties and those of its
// prototype (unless that is Object's or Function's), without a function's built-ins.
const ownNames = `(o) => {
	const fnOwn = new Set(["length", "name", "prototype", "arguments", "caller"]);
	const skip = typeof o === "function" ? fnOwn : new Set(["constructor"]);
	const s = new Set(Object.getOwnPropertyNames(o));
	const p = Object.getPrototypeOf(o);
	if (p && p !== Object.prototype && p !== Function.prototype) Object.getOwnPropertyNames(p).forEach((n) => s.add(n));
	return [...s].filter((n) => !skip.has(n)).sort();
}`

// TestDeclarationsMatchTheModule keeps vbharness.d.ts in step with the JS API: every
// function and property a runtime exposes is declared, and every declared (non-optional)
// member exists. It walks require("vbharness") from the modules table down: each export
// whose declared type is an interface is compared with it, and so is every member whose
// declared type is an interface, at any depth. So a new module (one file and one line in
// the table) is covered as soon as it exists; values that only calls return (a session,
// a response, the matchers) are introspected by name below.
func TestDeclarationsMatchTheModule(t *testing.T) {
	t.Parallel()
	d := parseDTS(t)
	tr := newTestRuntime(t)
	own, _ := goja.AssertFunction(tr.value(ownNames))
	names := func(v goja.Value) []string {
		res, err := own(goja.Undefined(), v)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, n := range res.Export().([]any) {
			out = append(out, n.(string))
		}
		return out
	}
	checked := map[string]bool{}
	visiting := map[string]bool{} // interfaces on the current path: Matchers.not is a Matchers
	var compare func(label, iface string, v goja.Value)
	compare = func(label, iface string, v goja.Value) {
		declared, ok := d.interfaces[iface]
		if !ok {
			t.Errorf("vbharness.d.ts declares no interface %s (for %s)", iface, label)
			return
		}
		if visiting[iface] {
			return
		}
		visiting[iface], checked[iface] = true, true
		defer delete(visiting, iface)
		obj := v.ToObject(tr.vm)
		have := map[string]bool{}
		for _, n := range names(v) {
			have[n] = true
			mem, ok := declared[n]
			if !ok {
				t.Errorf("%s.%s exists in the runtime but vbharness.d.ts does not declare it (interface %s)", label, n, iface)
				continue
			}
			if _, isIface := d.interfaces[mem.typ]; isIface {
				if child, ok := obj.Get(n).(*goja.Object); ok {
					compare(label+"."+n, mem.typ, child)
				}
			}
		}
		var missing []string
		for n, mem := range declared {
			if !mem.optional && !have[n] {
				missing = append(missing, n)
			}
		}
		sort.Strings(missing)
		for _, n := range missing {
			t.Errorf("vbharness.d.ts declares %s.%s (interface %s) but the runtime has no such member", label, n, iface)
		}
	}

	// The exports: every line of the modules table and every error class, and nothing else.
	vb := tr.value(`require("vbharness")`).ToObject(tr.vm)
	exported := names(vb)
	if want := exportNames(); strings.Join(sorted(want), ",") != strings.Join(exported, ",") {
		t.Errorf("require(\"vbharness\") has %v, the modules table and error classes say %v", exported, want)
	}
	for _, n := range exported {
		typ, ok := d.exports[n]
		if !ok {
			t.Errorf(`require("vbharness").%s exists in the runtime but vbharness.d.ts does not declare it`, n)
			continue
		}
		if _, isIface := d.interfaces[typ]; isIface {
			compare(n, typ, vb.Get(n))
		}
	}
	for n := range d.exports {
		if vb.Get(n) == nil {
			t.Errorf(`vbharness.d.ts declares require("vbharness").%s but the runtime has no such export`, n)
		}
	}

	// Values only calls return, and the context a test receives.
	for iface, expr := range map[string]string{
		"VeeamSession":    `veeam.login({admin: true})`,
		"SessionResponse": `veeam.login({admin: true}).get("/v8/Jobs")`,
		"HttpResponse":    `http.get(target.veeam.url + "/v8/Health")`,
		"Matchers":        `expect(1)`,
		"Console":         `console`,
		"VeeamStub":       `mock.veeam.stub({method: "GET", path: "/v8/Jobs"})`,
	} {
		compare(iface, iface, tr.value(expr))
	}
	ctx := contextObject(tr.host, tr.exports, TestInfo{Name: "n", File: "f.js"})
	compare("context", "Context", ctx)
	// MockServer is checked as the base of MockEntra and MockVeeam.
	for _, want := range []string{"TestFunction", "SkipFunction", "OnlyFunction", "TestEach", "Entra", "EntraRaw", "Mock", "MockEntra", "MockVeeam", "Faults", "MockSettings", "TargetInfo", "TargetEntra", "TargetVeeam", "RunningTest"} {
		if !checked[want] {
			t.Errorf("interface %s was not reached from the modules table", want)
		}
	}
	// The matcher list the engine documents is the one it installs.
	if got := names(tr.value(`expect(1)`)); len(got) != len(matcherNames)+1 {
		t.Errorf("matchers %v, want %v plus not", got, matcherNames)
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}
