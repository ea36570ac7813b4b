package engine

import (
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// dtsDecl is what vbharness.d.ts declares: the module's exports and each interface's
// members (required and optional).
type dtsDecl struct {
	exports    map[string]bool
	interfaces map[string]map[string]bool // name → member → optional
}

var (
	dtsExport    = regexp.MustCompile(`^  export (?:const|function|class) ([A-Za-z_$][\w$]*)`)
	dtsInterface = regexp.MustCompile(`^  export interface (\w+)(?: extends ([\w, ]+))? \{`)
	dtsMember    = regexp.MustCompile(`^    (?:readonly )?([A-Za-z_$][\w$]*)(\??)[(:]`)
)

func parseDTS(t *testing.T) dtsDecl {
	t.Helper()
	src, err := os.ReadFile("vbharness.d.ts")
	if err != nil {
		t.Fatal(err)
	}
	d := dtsDecl{exports: map[string]bool{}, interfaces: map[string]map[string]bool{}}
	extends := map[string][]string{}
	var cur string
	for _, line := range strings.Split(string(src), "\n") {
		if m := dtsExport.FindStringSubmatch(line); m != nil {
			d.exports[m[1]] = true
		}
		if m := dtsInterface.FindStringSubmatch(line); m != nil {
			cur = m[1]
			d.interfaces[cur] = map[string]bool{}
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
				d.interfaces[cur][m[1]] = m[2] == "?"
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

// TestDeclarationsMatchTheModule keeps vbharness.d.ts in step with the JS API: every
// function and property a runtime exposes is declared, and every declared (non-optional)
// member exists.
func TestDeclarationsMatchTheModule(t *testing.T) {
	t.Parallel()
	d := parseDTS(t)
	tr := newTestRuntime(t)
	v := tr.value(`(() => {
		const fnOwn = new Set(["length", "name", "prototype", "arguments", "caller"]);
		const own = (o) => {
			const skip = typeof o === "function" ? fnOwn : new Set(["constructor"]);
			const s = new Set(Object.getOwnPropertyNames(o));
			const p = Object.getPrototypeOf(o);
			if (p && p !== Object.prototype && p !== Function.prototype) Object.getOwnPropertyNames(p).forEach((n) => s.add(n));
			return [...s].filter((n) => !skip.has(n)).sort();
		};
		const session = veeam.login({admin: true});
		const vb = require("vbharness");
		return {
			"": own(vb), TestFunction: own(test), Entra: own(entra), EntraRaw: own(entra.raw), Veeam: own(veeam),
			VeeamSession: own(session), SessionResponse: own(session.get("/v8/Jobs")), Mock: own(mock), Faults: own(mock.faults),
			MockServer: own(mock.entra), MockVeeam: own(mock.veeam), MockSettings: own(mock.entra.settings),
			VeeamStub: own(mock.veeam.stub({method: "GET", path: "/v8/Jobs"})),
			Clock: own(clock), Http: own(http), Jwt: own(jwt), TargetInfo: own(target), TargetEntra: own(target.entra),
			TargetVeeam: own(target.veeam), Matchers: own(expect(1)), HttpResponse: own(http.get(target.veeam.url + "/v8/Health")),
			Console: own(console),
		};
	})()`).Export().(map[string]any)
	ctxNames := append(append([]string(nil), contextNames...), "test")
	actual := map[string][]string{"Context": ctxNames, "RunningTest": {"name", "file", "tags"}}
	for k, names := range v {
		for _, n := range names.([]any) {
			actual[k] = append(actual[k], n.(string))
		}
	}
	if len(actual) < 20 {
		t.Fatalf("introspected only %d objects", len(actual))
	}
	for key, names := range actual {
		iface := strings.TrimSuffix(key, "_veeam")
		var declared map[string]bool
		if iface == "" {
			declared = map[string]bool{}
			for k := range d.exports {
				declared[k] = false
			}
		} else {
			var ok bool
			if declared, ok = d.interfaces[iface]; !ok {
				t.Errorf("vbharness.d.ts declares no interface %s", iface)
				continue
			}
		}
		have := map[string]bool{}
		for _, n := range names {
			have[n] = true
			if _, ok := declared[n]; !ok {
				t.Errorf("%s.%s exists in the runtime but vbharness.d.ts does not declare it", label(iface), n)
			}
		}
		var missing []string
		for n, optional := range declared {
			if !optional && !have[n] {
				missing = append(missing, n)
			}
		}
		sort.Strings(missing)
		for _, n := range missing {
			t.Errorf("vbharness.d.ts declares %s.%s but the runtime has no such member", label(iface), n)
		}
	}
	// The matcher list the engine documents is the one it installs.
	if got := strings.Join(actual["Matchers"], ","); !strings.Contains(got, "not") || len(actual["Matchers"]) != len(matcherNames)+1 {
		t.Errorf("matchers %s, want %v plus not", got, matcherNames)
	}
}

func label(iface string) string {
	if iface == "" {
		return `require("vbharness")`
	}
	return iface
}
