package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDocsSeedFlowRunsInBothAntiforgeryModes is issue 19 acceptance 1: the seed flow in
// curl of docs/mock-server.md (which keeps the antiforgery token in a cookie jar) and the
// block that logs in with disable_antiforgery_token=true run as written, with every
// promised output, on a mock that enforces antiforgery (the default) and on one that
// ignores it. TestDocsRun runs them in the default mode only.
func TestDocsSeedFlowRunsInBothAntiforgeryModes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts mocks; skipped with -short")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash is not installed")
	}
	bin := filepath.Dir(binary(t))
	var seed, flag *block
	blocks := readBlocks(t, filepath.Join("..", "..", "docs", "mock-server.md"), "docs/mock-server.md")
	for i, b := range blocks {
		switch {
		case b.info == "sh" && strings.Contains(b.body, "# 4. Veeam's tokens"):
			seed = &blocks[i]
		case b.info == "sh" && strings.Contains(b.body, "-d disable_antiforgery_token=true"):
			flag = &blocks[i]
		}
	}
	if seed == nil || flag == nil {
		t.Fatal("docs/mock-server.md lost the seed flow or the block with disable_antiforgery_token=true")
	}
	for _, mode := range []string{"enforce", "ignore"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			sb := newSandbox(t, bin)
			set := block{doc: "antiforgery mode", line: 1, info: "sh", body: `curl -s --cacert "$CA_FILE" -X PUT -H 'Content-Type: application/json' "$VEEAM/_mock/settings" -d '{"antiforgery":"` + mode + `"}' | jq -r .antiforgery   # → ` + mode + "\n" +
				// the mode is in force: a bearer-only call of a login without the flag
				`AT=$(curl -s --cacert "$CA_FILE" "$VEEAM/v8/token" -d grant_type=password -d username=Administrator -d 'password=vbharness-Passw0rd!' | jq -r .access_token)` + "\n" +
				`curl -s -o /dev/null -w '%{http_code}\n' --cacert "$CA_FILE" -H "Authorization: Bearer $AT" "$VEEAM/v8/ServiceInstance"   # → ` + map[string]string{"enforce": "400", "ignore": "200"}[mode] + "\n"}
			sb.run(t, set, nil)
			sb.run(t, *seed, nil)
			sb.run(t, *flag, nil)
		})
	}
}
