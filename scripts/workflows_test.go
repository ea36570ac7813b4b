package scripts_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/vbharness/vbharness/engine"
	"github.com/vbharness/vbharness/mocks/veeam/spec"
	"github.com/vbharness/vbharness/runner"
	"github.com/vbharness/vbharness/scripts"
)

// workflows are the catalogue's workflow scenarios (issue 13 item 6).
var workflows = []string{"monitoring.js", "backup.js", "self_service_restore.js", "restore_operator.js", "restore_expiry.js"}

// runWorkflows runs the workflow scenarios on target and returns the results.
func runWorkflows(tb testing.TB, target *runner.Target) []runner.Result {
	tb.Helper()
	plan, err := runner.NewPlan(context.Background(), runner.Options{Engine: runner.NewEngine(scripts.FS), Files: workflows, Target: target, Seed: 1})
	if err != nil {
		tb.Fatal(err)
	}
	return plan.Execute(context.Background()).Results
}

// documentOp finds the operation of the Veeam document a request is for: the method and
// the path matched against each path template, case-insensitively (as the server
// routes), literal segments before parameters.
type documentOp struct {
	re *regexp.Regexp
	op *spec.Operation
}

var documentOps = sync.OnceValue(func() []documentOp {
	var ops []documentOp
	param := regexp.MustCompile(`\\\{[^}]+\\\}`)
	for _, op := range spec.Doc().Operations {
		re := param.ReplaceAllString(regexp.QuoteMeta(op.Path), `[^/]+`)
		ops = append(ops, documentOp{regexp.MustCompile(`(?i)^` + re + `$`), op})
	}
	// A literal segment wins over a parameter: /v8/Jobs/search before /v8/Jobs/{jobId}.
	slicesSortByLiterals(ops)
	return ops
})

func slicesSortByLiterals(ops []documentOp) {
	lit := func(p string) int { return len(p) - strings.Count(p, "{")*8 }
	for i := 1; i < len(ops); i++ { // insertion sort: stable, small
		for j := i; j > 0 && lit(ops[j].op.Path) > lit(ops[j-1].op.Path); j-- {
			ops[j], ops[j-1] = ops[j-1], ops[j]
		}
	}
}

func operationFor(method, path string) *spec.Operation {
	for _, d := range documentOps() {
		if d.op.Method == method && d.re.MatchString(path) {
			return d.op
		}
	}
	return nil
}

// validating records what the validators of every test's stack found.
type validating struct {
	mu        sync.Mutex
	validated map[string]int // operationId → answers checked
	errs      []string
}

// validator checks every answer of one stack's Veeam mock (its API, not the control
// API) against the document.
type validator struct {
	next http.RoundTripper
	*validating
}

func (v validator) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := v.next.RoundTrip(r)
	if err != nil || r.URL.Host != "veeam.mock:4443" || strings.HasPrefix(r.URL.Path, "/_mock/") {
		return resp, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	op := operationFor(r.Method, r.URL.Path)
	v.mu.Lock()
	defer v.mu.Unlock()
	if op == nil {
		v.errs = append(v.errs, fmt.Sprintf("%s %s: no operation of the document", r.Method, r.URL.Path))
		return resp, nil
	}
	v.validated[op.ID]++
	if verr := op.ValidateResponse(resp.StatusCode, resp.Header, body); verr != nil {
		v.errs = append(v.errs, fmt.Sprintf("%s %s (%s) → %d: %v", r.Method, r.URL.Path, op.ID, resp.StatusCode, verr))
	}
	return resp, nil
}

// Issue 13 acceptance 2: every answer the Veeam mock gives in the workflow scenarios
// validates against the document, and the scenarios pass.
func TestWorkflowAnswersMatchTheDocument(t *testing.T) {
	t.Parallel()
	v := &validating{validated: map[string]int{}}
	results := runWorkflows(t, mutatedTarget(mutation{name: "nothing, answers validated", wire: func(next http.RoundTripper) http.RoundTripper {
		return validator{next, v}
	}}))
	if len(results) != len(workflows) {
		t.Fatalf("%d results for %d workflow files", len(results), len(workflows))
	}
	for _, r := range results {
		if r.Status != engine.StatusPassed {
			t.Errorf("%s › %s: %s %s", r.File, r.Name, r.Status, r.Message)
		}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, e := range v.errs {
		t.Error(e)
	}
	n := 0
	for _, c := range v.validated {
		n += c
	}
	// The five scenarios use these operations at least; a workflow that stopped calling
	// them would no longer prove what the catalogue says.
	for _, id := range []string{"License_Get", "Job_Add", "Job_StartAction", "JobSession_GetById", "RestoreSession_StopAction",
		"RestoreSession_ExploreAction", "RestoreSession_OperatorExploreAction", "ExchangeItem_RestoreItemAction"} {
		if v.validated[id] == 0 {
			t.Errorf("no answer of %s was validated", id)
		}
	}
	t.Logf("%d answers of %d operations validated against the document", n, len(v.validated))
}

// BenchmarkWorkflows is issue 13 acceptance 4: the five workflow scenarios together on
// the embedded mocks, as `vbharness run` runs them (one worker per CPU), every iteration
// green.
//
//	go test -run '^$' -bench Workflows -benchtime 20x ./scripts/
func BenchmarkWorkflows(b *testing.B) {
	args := append([]string{"run"}, workflows...)
	for b.Loop() {
		code, out := vbharness(b, map[string]string{}, args...)
		if passed, failed, skipped := counts(b, out); code != 0 || passed != len(workflows) || failed != 0 || skipped != 0 {
			b.Fatalf("exit %d:\n%s", code, out)
		}
	}
}
