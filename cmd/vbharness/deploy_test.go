package main

// The container and Kubernetes files at the repository's root: no container runtime can
// run an image on the machines this project is built on (docs/mock-server.md says why),
// and no Dockerfile linter installs from its package registries, so this test checks the
// rules the files promise, and parses every vbharness command in them with the CLI's own
// flags (cli.Check).

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/vbharness/vbharness/cmd/vbharness/cli"
	"github.com/vbharness/vbharness/mocks/stack"
)

// dockerInstr is one Dockerfile instruction, continuation lines joined.
type dockerInstr struct {
	line int
	op   string // upper case
	args string
}

func readDockerfile(t *testing.T) []dockerInstr {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var out []dockerInstr
	var cur *dockerInstr
	for i, l := range strings.Split(string(b), "\n") {
		trimmed := strings.TrimSpace(l)
		if cur == nil && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if cur == nil {
			op, args, _ := strings.Cut(trimmed, " ")
			cur = &dockerInstr{line: i + 1, op: strings.ToUpper(op)}
			trimmed = args
		}
		more := strings.HasSuffix(trimmed, "\\")
		cur.args += strings.TrimSuffix(trimmed, "\\") + " "
		if !more {
			cur.args = strings.TrimSpace(cur.args)
			out = append(out, *cur)
			cur = nil
		}
	}
	return out
}

// execForm parses an instruction's JSON (exec) form, which needs no shell: scratch has
// none.
func execForm(t *testing.T, in dockerInstr) []string {
	t.Helper()
	var argv []string
	if err := json.Unmarshal([]byte(in.args), &argv); err != nil {
		t.Errorf("Dockerfile:%d: %s %s is not in exec form (a JSON list); the scratch image has no shell", in.line, in.op, in.args)
	}
	return argv
}

func TestDockerfileKeepsItsRules(t *testing.T) {
	t.Parallel()
	instrs := readDockerfile(t)
	var froms []dockerInstr
	last := map[string]dockerInstr{} // in the final stage
	staticBuild := false
	for _, in := range instrs {
		if in.op == "FROM" {
			froms = append(froms, in)
			last = map[string]dockerInstr{}
		}
		last[in.op] = in
		if in.op == "RUN" && strings.Contains(in.args, "CGO_ENABLED=0") && strings.Contains(in.args, "go build") && strings.Contains(in.args, "./cmd/vbharness") {
			staticBuild = true
		}
		if in.op == "ADD" {
			t.Errorf("Dockerfile:%d: ADD fetches and unpacks; use COPY", in.line)
		}
	}
	if len(froms) < 2 {
		t.Fatalf("the Dockerfile has %d stages; want a build stage and a small final one", len(froms))
	}
	final := strings.Fields(froms[len(froms)-1].args)[0]
	if final != "scratch" && !strings.HasPrefix(final, "gcr.io/distroless/static") {
		t.Errorf("the final stage is FROM %s; want scratch or distroless/static", final)
	}
	for _, f := range froms[:len(froms)-1] {
		if img := strings.Fields(f.args)[0]; !strings.Contains(img, ":") || strings.HasSuffix(img, ":latest") {
			t.Errorf("Dockerfile:%d: FROM %s: pin a version tag", f.line, img)
		}
	}
	if !staticBuild {
		t.Error("no RUN builds ./cmd/vbharness with CGO_ENABLED=0 (a static binary)")
	}
	user, ok := last["USER"]
	if !ok || regexp.MustCompile(`^(0|root)(:|$)`).MatchString(user.args) || !regexp.MustCompile(`^\d+:\d+$`).MatchString(user.args) {
		t.Errorf("the final stage's USER is %q; want a numeric non-root uid:gid (Kubernetes' runAsNonRoot checks numbers)", user.args)
	}
	entry := execForm(t, last["ENTRYPOINT"])
	cmd := execForm(t, last["CMD"])
	if len(entry) != 1 || entry[0] != "/vbharness" {
		t.Errorf("ENTRYPOINT %q; want [\"/vbharness\"]", entry)
	}
	if err := cli.Check(cmd); err != nil || len(cmd) == 0 || cmd[0] != "mock" || !slices.Contains(cmd, "--listen-all") {
		t.Errorf("CMD %q: %v; want a vbharness mock --listen-all command line", cmd, err)
	}
	state := flagValue(cmd, "--state-dir")
	if vol := execForm(t, last["VOLUME"]); len(vol) != 1 || state == "" || vol[0] != state {
		t.Errorf("VOLUME %q and --state-dir %q: the state folder must be the volume", vol, state)
	}
	hc := last["HEALTHCHECK"]
	_, hcCmd, ok := strings.Cut(hc.args, "CMD ")
	if !ok {
		t.Fatalf("no HEALTHCHECK … CMD in the final stage")
	}
	probe := execForm(t, dockerInstr{line: hc.line, op: "HEALTHCHECK CMD", args: hcCmd})
	if len(probe) < 3 || probe[0] != "/vbharness" || probe[1] != "mock" || probe[2] != "health" {
		t.Errorf("HEALTHCHECK runs %q; want /vbharness mock health (GET /_mock/health)", probe)
	} else if err := cli.Check(probe[1:]); err != nil || flagValue(probe, "--state-dir") != state {
		t.Errorf("HEALTHCHECK %q: %v; it must parse and trust the CA in the state folder %s", probe, err, state)
	}
	var ports []string
	for _, in := range instrs {
		if in.op == "EXPOSE" {
			ports = append(ports, strings.Fields(in.args)...)
		}
	}
	for _, addr := range []string{stack.DefaultEntraAddr, stack.DefaultVeeamAddr} {
		if _, port, _ := strings.Cut(addr, ":"); !slices.Contains(ports, port) {
			t.Errorf("EXPOSE %q lacks %s, the port of %s", ports, port, addr)
		}
	}
}

// flagValue returns the value after flag in argv, or "".
func flagValue(argv []string, flag string) string {
	for i, a := range argv {
		if a == flag && i+1 < len(argv) {
			return argv[i+1]
		}
		if v, ok := strings.CutPrefix(a, flag+"="); ok {
			return v
		}
	}
	return ""
}

func TestKubernetesManifestsKeepTheirRules(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("..", "..", "deploy", "k8s", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no deploy/k8s/*.yaml (%v)", err)
	}
	kinds := map[string]int{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs, err := yamlDocs(string(b))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if err := checkCIYAML("k8s", string(b)); err != nil { // every vbharness command parses
			t.Errorf("%s: %v", f, err)
		}
		for _, d := range docs {
			kind, _ := d["kind"].(string)
			kinds[kind]++
			if kind == "Deployment" {
				checkDeployment(t, f, d)
			}
			if kind == "Service" {
				spec, _ := d["spec"].(map[string]any)
				if ports, _ := spec["ports"].([]any); len(ports) != 2 {
					t.Errorf("%s: the Service has %d ports; want Entra's and Veeam's", f, len(ports))
				}
			}
		}
	}
	for _, k := range []string{"Deployment", "Service"} {
		if kinds[k] == 0 {
			t.Errorf("deploy/k8s has no %s", k)
		}
	}
}

func checkDeployment(t *testing.T, file string, d map[string]any) {
	t.Helper()
	spec, _ := d["spec"].(map[string]any)
	tmpl, _ := spec["template"].(map[string]any)
	pod, _ := tmpl["spec"].(map[string]any)
	if sc, _ := pod["securityContext"].(map[string]any); sc["runAsNonRoot"] != true {
		t.Errorf("%s: the pod does not set runAsNonRoot: true", file)
	}
	containers, _ := pod["containers"].([]any)
	for _, c := range containers {
		ct, _ := c.(map[string]any)
		args, _ := strings2(ct["args"])
		named := map[string]int{}
		ports, _ := ct["ports"].([]any)
		for _, p := range ports {
			pm, _ := p.(map[string]any)
			name, _ := pm["name"].(string)
			n, _ := pm["containerPort"].(int)
			named[name] = n
		}
		for probe, path := range map[string]string{"readinessProbe": "/_mock/ready", "livenessProbe": "/_mock/live"} {
			pr, _ := ct[probe].(map[string]any)
			get, _ := pr["httpGet"].(map[string]any)
			port := get["port"]
			if name, ok := port.(string); ok {
				port = named[name]
			}
			if get["path"] != path || (port != 4443 && port != 8400) {
				t.Errorf("%s: %s is %v; want GET %s on the Entra or Veeam port", file, probe, pr, path)
			}
		}
		if !slices.Contains(args, "--listen-all") {
			t.Errorf("%s: the mock's args %q lack --listen-all: the Service could not reach it", file, args)
		}
		if flagValue(args, "--control-token-file") == "" && !strings.Contains(strings.Join(envNames(ct), " "), "VBHARNESS_CONTROL_TOKEN") {
			t.Errorf("%s: the mock gets no control token; it would refuse to start off the loopback", file)
		}
		state := flagValue(args, "--state-dir")
		mounted := false
		mounts, _ := ct["volumeMounts"].([]any)
		for _, m := range mounts {
			mm, _ := m.(map[string]any)
			if mm["mountPath"] == state {
				mounted = true
			}
		}
		if state == "" || !mounted {
			t.Errorf("%s: --state-dir %q is not a mounted volume", file, state)
		}
	}
}

func envNames(container map[string]any) []string {
	var out []string
	env, _ := container["env"].([]any)
	for _, e := range env {
		m, _ := e.(map[string]any)
		if n, ok := m["name"].(string); ok {
			out = append(out, n)
		}
	}
	return out
}
