package main

// The CI examples of docs/ci.md: ```yaml github-actions, ```yaml gitlab-ci and ```yaml
// k8s blocks are parsed as what they claim to be, and every vbharness command in them
// must parse with the CLI's own commands and flags (cli.Check), so the examples cannot
// drift from the documented command line.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v4"

	"github.com/vbharness/vbharness/cmd/vbharness/cli"
	"github.com/vbharness/vbharness/runner"
)

// checkCIYAML checks a CI example block; it returns what is wrong, or nil.
func checkCIYAML(kind, body string) error {
	docs, err := yamlDocs(body)
	if err != nil {
		return err
	}
	var cmds [][]string
	switch kind {
	case "github-actions":
		cmds, err = githubCommands(docs)
	case "gitlab-ci":
		cmds, err = gitlabCommands(docs)
	case "k8s":
		cmds, err = k8sCommands(docs)
	default:
		return fmt.Errorf("unknown CI kind %q (github-actions, gitlab-ci, k8s)", kind)
	}
	if err != nil {
		return err
	}
	if len(cmds) == 0 {
		return errors.New("it runs no vbharness command")
	}
	for _, c := range cmds {
		for i := range c {
			c[i] = shellVar.ReplaceAllString(c[i], "1")
		}
		if err := cli.Check(c); err != nil {
			return fmt.Errorf("vbharness %s: %w", strings.Join(c, " "), err)
		}
	}
	return nil
}

func yamlDocs(body string) ([]map[string]any, error) {
	dec := yaml.NewDecoder(strings.NewReader(body))
	var out []map[string]any
	for {
		var m map[string]any
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("not YAML: %w", err)
		}
		out = append(out, m)
	}
}

// ghExpr is a GitHub Actions expression, ${{ … }}, which the runner replaces with a value.
var ghExpr = regexp.MustCompile(`\$\{\{[^}]*\}\}`)

// shellVar is a variable a shell ($X, ${X}) or Kubernetes ($(X)) expands. The checks put
// 1 in its place, a value every flag it could stand in for takes (a number, a shard
// index, a string).
var shellVar = regexp.MustCompile(`\$(\w+|\{\w+\}|\(\w+\))`)

func githubCommands(docs []map[string]any) ([][]string, error) {
	if len(docs) != 1 {
		return nil, fmt.Errorf("a workflow is one YAML document, got %d", len(docs))
	}
	jobs, ok := docs[0]["jobs"].(map[string]any)
	if !ok || len(jobs) == 0 {
		return nil, errors.New("a workflow needs jobs:")
	}
	if docs[0]["on"] == nil {
		return nil, errors.New("a workflow needs on:")
	}
	var cmds [][]string
	matrix := false
	for name, j := range jobs {
		job, ok := j.(map[string]any)
		if !ok || job["runs-on"] == nil {
			return nil, fmt.Errorf("job %s needs runs-on:", name)
		}
		if s, ok := job["strategy"].(map[string]any); ok && s["matrix"] != nil {
			matrix = true
		}
		steps, ok := job["steps"].([]any)
		if !ok {
			return nil, fmt.Errorf("job %s needs steps:", name)
		}
		for i, st := range steps {
			step, ok := st.(map[string]any)
			if !ok || (step["run"] == nil) == (step["uses"] == nil) {
				return nil, fmt.Errorf("job %s step %d needs run: or uses:, not both", name, i+1)
			}
			if run, ok := step["run"].(string); ok {
				c, err := shellCommands(ghExpr.ReplaceAllString(run, "1"))
				if err != nil {
					return nil, fmt.Errorf("job %s step %d: %w", name, i+1, err)
				}
				cmds = append(cmds, c...)
			}
		}
	}
	if !matrix {
		return nil, errors.New("no job has a strategy.matrix: the shards come from one")
	}
	return cmds, nil
}

func gitlabCommands(docs []map[string]any) ([][]string, error) {
	if len(docs) != 1 {
		return nil, fmt.Errorf("a .gitlab-ci.yml is one YAML document, got %d", len(docs))
	}
	var cmds [][]string
	parallel := false
	for name, j := range docs[0] {
		job, ok := j.(map[string]any)
		if !ok || job["script"] == nil {
			continue // a global keyword (stages, variables, default)
		}
		if p, ok := job["parallel"].(int); ok {
			if p < 2 || p > 200 {
				return nil, fmt.Errorf("job %s: parallel: %d; GitLab takes 2 to 200", name, p)
			}
			parallel = true
		}
		for _, key := range []string{"before_script", "script", "after_script"} {
			lines, ok := job[key].([]any)
			if job[key] != nil && !ok {
				return nil, fmt.Errorf("job %s: %s: must be a list", name, key)
			}
			for _, l := range lines {
				s, ok := l.(string)
				if !ok {
					return nil, fmt.Errorf("job %s: %s: a line is not a string: %v", name, key, l)
				}
				c, err := shellCommands(s)
				if err != nil {
					return nil, fmt.Errorf("job %s: %w", name, err)
				}
				cmds = append(cmds, c...)
			}
		}
	}
	if !parallel {
		return nil, errors.New("no job has parallel: N; the shards come from it")
	}
	return cmds, nil
}

// k8sCommands returns the vbharness commands of the containers of Jobs, Deployments and
// Pods: a container whose command is vbharness, or that has only args (the image's
// entrypoint is vbharness). An Indexed Job's VBHARNESS_SHARD_TOTAL must be its
// completions.
func k8sCommands(docs []map[string]any) ([][]string, error) {
	var cmds [][]string
	for i, d := range docs {
		kind, _ := d["kind"].(string)
		if d["apiVersion"] == nil || kind == "" {
			return nil, fmt.Errorf("document %d needs apiVersion: and kind:", i+1)
		}
		spec, _ := d["spec"].(map[string]any)
		tmpl := spec
		if kind != "Pod" {
			t, _ := spec["template"].(map[string]any)
			tmpl, _ = t["spec"].(map[string]any)
		}
		containers, _ := tmpl["containers"].([]any)
		if kind == "Job" || kind == "Deployment" || kind == "Pod" {
			if len(containers) == 0 {
				return nil, fmt.Errorf("%s %d has no containers", kind, i+1)
			}
		}
		for _, c := range containers {
			ct, _ := c.(map[string]any)
			argv, err := strings2(ct["command"], ct["args"])
			if err != nil {
				return nil, fmt.Errorf("%s container %v: %w", kind, ct["name"], err)
			}
			if len(argv) == 0 {
				continue
			}
			if argv[0] == "vbharness" || strings.HasSuffix(argv[0], "/vbharness") {
				argv = argv[1:]
			} else if ct["command"] != nil {
				continue
			}
			cmds = append(cmds, argv)
			if kind == "Job" && spec["completionMode"] == "Indexed" && slicesContain(argv, "auto") {
				if err := indexedTotal(spec, ct); err != nil {
					return nil, err
				}
			}
		}
	}
	return cmds, nil
}

func indexedTotal(spec, container map[string]any) error {
	completions, _ := spec["completions"].(int)
	env, _ := container["env"].([]any)
	for _, e := range env {
		v, _ := e.(map[string]any)
		if v["name"] == runner.EnvShardTotal {
			n, err := strconv.Atoi(fmt.Sprint(v["value"]))
			if err != nil || n != completions {
				return fmt.Errorf("%s is %v, but the Job's completions is %d", runner.EnvShardTotal, v["value"], completions)
			}
			return nil
		}
	}
	return fmt.Errorf("an Indexed Job running --shard auto needs %s (its completions, %d) in the container's env", runner.EnvShardTotal, completions)
}

func slicesContain(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// strings2 joins a container's command and args, both lists of strings.
func strings2(lists ...any) ([]string, error) {
	var out []string
	for _, l := range lists {
		if l == nil {
			continue
		}
		items, ok := l.([]any)
		if !ok {
			return nil, fmt.Errorf("command and args must be lists of strings, got %v", l)
		}
		for _, it := range items {
			s, ok := it.(string)
			if !ok {
				return nil, fmt.Errorf("command and args must be lists of strings, got %v", it)
			}
			out = append(out, s)
		}
	}
	return out, nil
}

// shellCommands finds the vbharness commands in a shell script: each simple command
// (split at newlines, ;, &&, || and |) whose first word is vbharness, as argv after the
// program name. Quotes are removed as the shell would; variables stay as they are (every
// flag they stand in takes a string).
func shellCommands(script string) ([][]string, error) {
	script = strings.ReplaceAll(script, "\\\n", " ")
	var cmds [][]string
	var words []string
	var cur bytes.Buffer
	inWord := false
	flush := func() {
		if inWord {
			words = append(words, cur.String())
			cur.Reset()
			inWord = false
		}
	}
	end := func() {
		flush()
		if len(words) > 0 && (words[0] == "vbharness" || strings.HasSuffix(words[0], "/vbharness")) {
			cmds = append(cmds, words[1:])
		}
		words = nil
	}
	for i := 0; i < len(script); i++ {
		c := script[i]
		switch {
		case c == '\'' || c == '"':
			j := strings.IndexByte(script[i+1:], c)
			if j < 0 {
				return nil, fmt.Errorf("unclosed quote in %q", script)
			}
			cur.WriteString(script[i+1 : i+1+j])
			inWord = true
			i += j + 1
		case c == '\n' || c == ';' || c == '|' || c == '&':
			end()
		case c == '#' && !inWord:
			for i < len(script) && script[i] != '\n' {
				i++
			}
			end()
		case c == ' ' || c == '\t':
			flush()
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	end()
	return cmds, nil
}

func TestCIYAMLCheckCatchesDrift(t *testing.T) {
	t.Parallel()
	const gh = "on: push\njobs:\n  s:\n    runs-on: ubuntu-latest\n    strategy: {matrix: {shard: [1, 2]}}\n    steps:\n      - run: %s\n"
	const gl = "t:\n  parallel: %d\n  script:\n    - %s\n"
	const k8s = "apiVersion: batch/v1\nkind: Job\nspec:\n  completionMode: Indexed\n  completions: 3\n  template:\n    spec:\n      containers:\n" +
		"        - name: v\n          args: [%s]\n          env: [{name: VBHARNESS_SHARD_TOTAL, value: \"%d\"}]\n"
	cases := []struct {
		name, kind, body, err string
	}{
		{"a good workflow", "github-actions", fmt.Sprintf(gh, "vbharness run --shard ${{ matrix.shard }}/2 --report 'json=s.json'"), ""},
		{"a misspelt flag in a workflow", "github-actions", fmt.Sprintf(gh, "vbharness run --shrad auto"), "unknown flag: --shrad"},
		{"a command after &&", "github-actions", fmt.Sprintf(gh, "cd x && vbharness report merge"), "requires at least 1 arg"},
		{"a workflow without a matrix", "github-actions", "on: push\njobs:\n  s:\n    runs-on: x\n    steps:\n      - run: vbharness run\n", "no job has a strategy.matrix"},
		{"a workflow without vbharness", "github-actions", fmt.Sprintf(gh, "echo hi"), "runs no vbharness command"},
		{"a good GitLab job", "gitlab-ci", fmt.Sprintf(gl, 3, "vbharness run --shard auto --seed \"$CI_PIPELINE_ID\""), ""},
		{"a GitLab job without parallel", "gitlab-ci", "t:\n  script:\n    - vbharness run\n", "no job has parallel"},
		{"an unknown command in GitLab", "gitlab-ci", fmt.Sprintf(gl, 3, "vbharness merge a.json"), `unknown command "merge"`},
		{"a good Indexed Job", "k8s", fmt.Sprintf(k8s, `"run", "--shard", "auto"`, 3), ""},
		{"an Indexed Job whose count is not its completions", "k8s", fmt.Sprintf(k8s, `"run", "--shard", "auto"`, 4), "VBHARNESS_SHARD_TOTAL is 4, but the Job's completions is 3"},
		{"a bad flag value in a manifest", "k8s", fmt.Sprintf(k8s, `"run", "--parallel", "many"`, 3), `invalid argument "many"`},
		{"not YAML", "k8s", "a: [", "not YAML"},
	}
	for _, c := range cases {
		err := checkCIYAML(c.kind, c.body)
		if (c.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%s: checkCIYAML = %v, want %q", c.name, err, c.err)
		}
	}
}
