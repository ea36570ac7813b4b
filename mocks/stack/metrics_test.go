package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/vbharness/vbharness/mocks/entra"
	"github.com/vbharness/vbharness/mocks/journal"
)

// scrape reads a server's /_mock/metrics as metric families.
func scrape(t *testing.T, hc *http.Client, base, token string) map[string]*dto.MetricFamily {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/_mock/metrics", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s/_mock/metrics: %d", base, resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("the metrics are not in the Prometheus text format: %v", err)
	}
	return fams
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// counters sums a counter family by the values of the given labels, joined with " ".
func counters(fams map[string]*dto.MetricFamily, name string, labels ...string) map[string]int {
	out := map[string]int{}
	for _, m := range fams[name].GetMetric() {
		var key []string
		for _, l := range labels {
			key = append(key, label(m, l))
		}
		out[strings.Join(key, " ")] += int(m.GetCounter().GetValue())
	}
	return out
}

// After a flow with its refusals, the metrics count what the journals hold: requests by
// server, method and status, tokens by grant, refusals; routes are templates, never raw
// paths; and the latency histograms counted every request.
func TestMetricsAfterAFlowMatchTheJournal(t *testing.T) {
	t.Parallel()
	run, err := Serve(context.Background(), ServeOptions{EntraAddr: "127.0.0.1:0", VeeamAddr: "127.0.0.1:0", HTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	defer run.Shutdown(context.Background())
	hc := &http.Client{Timeout: 10 * time.Second}
	c := client{t: t, hc: hc}

	// A poll before the approval: authorization_pending.
	st, dc := c.do("POST", run.EntraURL+"/abc.onmicrosoft.com/oauth2/v2.0/devicecode", url.Values{
		"client_id": {entra.AzureCLIClientID}, "scope": {"offline_access"}}, "", "")
	if st != 200 {
		t.Fatalf("devicecode: %d", st)
	}
	if st, b := c.do("POST", run.EntraURL+"/abc.onmicrosoft.com/oauth2/v2.0/token", url.Values{
		"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "client_id": {entra.AzureCLIClientID},
		"device_code": {dc["device_code"].(string)}}, "", ""); st != 400 || b["error"] != "authorization_pending" {
		t.Fatalf("early poll: %d %v", st, b)
	}
	vt := seedFlow(t, c, run.EntraURL, run.VeeamURL)
	access := vt["access_token"].(string)
	for range 3 {
		if st, _ := c.do("GET", run.VeeamURL+"/v8/Organization", nil, "", access); st != 200 {
			t.Fatalf("GET /v8/Organization: %d", st)
		}
	}
	if st, _ := c.do("POST", run.VeeamURL+"/v8/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {vt["refresh_token"].(string)}}, "", ""); st != 200 {
		t.Fatalf("refresh at Veeam: %d", st)
	}
	if st, _ := c.do("POST", run.VeeamURL+"/v8/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"not-a-token"}}, "", ""); st < 400 {
		t.Fatalf("a bad refresh token: %d", st)
	}
	if st, _ := c.do("GET", run.VeeamURL+"/v8/Organization", nil, "", ""); st != 401 {
		t.Fatalf("no token: %d", st)
	}
	for _, p := range []string{"/tenant-1/nothing/here", "/tenant-2/nothing/else"} { // raw paths that must not become labels
		if st, _ := c.do("GET", run.EntraURL+p, nil, "", ""); st != 404 {
			t.Fatalf("GET %s: %d", p, st)
		}
	}

	fams := scrape(t, hc, run.VeeamURL, "")
	if other := scrape(t, hc, run.EntraURL, ""); len(other["vbharness_mock_requests_total"].GetMetric()) != len(fams["vbharness_mock_requests_total"].GetMetric()) {
		t.Error("the two servers' /_mock/metrics differ; both serve the stack's metrics")
	}
	requests := counters(fams, "vbharness_mock_requests_total", "server", "method", "status")
	tokens := counters(fams, "vbharness_mock_tokens_issued_total", "server", "kind")
	refusals := counters(fams, "vbharness_mock_refusals_total", "server")
	codes := counters(fams, "vbharness_mock_refusals_total", "server", "code")

	wantReq, wantTok, wantRef := map[string]int{}, map[string]int{}, map[string]int{}
	kinds := map[string]string{"urn:ietf:params:oauth:grant-type:device_code": "device_code", "refresh_token": "refresh_token",
		"urn:ietf:params:oauth:grant-type:jwt-bearer": "jwt_bearer"}
	for _, j := range []*journal.Journal{run.Entra.Control().Journal(), run.Veeam.Control().Journal()} {
		for _, e := range j.List(journal.Filter{}) {
			wantReq[fmt.Sprintf("%s %s %d", e.Server, e.Method, e.Status)]++
			if e.Status >= 400 {
				wantRef[e.Server]++
			}
			if e.Status == 200 && (strings.HasSuffix(e.Path, "/oauth2/v2.0/token") || e.Path == "/v8/token") {
				wantTok[e.Server+" "+kinds[e.Fields["grant_type"]]]++
			}
		}
	}
	for name, pair := range map[string][2]map[string]int{"requests": {requests, wantReq}, "tokens issued": {tokens, wantTok}, "refusals": {refusals, wantRef}} {
		if fmt.Sprint(pair[0]) != fmt.Sprint(pair[1]) {
			t.Errorf("%s: metrics %v, journal %v", name, pair[0], pair[1])
		}
	}
	if wantTok["entra device_code"] != 1 || wantTok["veeam jwt_bearer"] != 1 || wantTok["veeam refresh_token"] != 1 {
		t.Errorf("the flow's tokens are not all in the journal: %v", wantTok)
	}
	for code, n := range map[string]int{"entra authorization_pending": 1, "veeam http_401": 1, "veeam invalid_grant": 1, "entra not_found": 2} {
		if codes[code] != n {
			t.Errorf("refusals %q: %d, want %d (all: %v)", code, codes[code], n, codes)
		}
	}
	for _, m := range fams["vbharness_mock_requests_total"].GetMetric() {
		if r := label(m, "route"); strings.Contains(r, "tenant-") || strings.Contains(r, "abc.onmicrosoft.com") {
			t.Errorf("a raw path became a route label: %q", r)
		}
	}
	if got := counters(fams, "vbharness_mock_requests_total", "server", "route")["entra unmatched"]; got != 2 {
		t.Errorf("unknown paths counted under route unmatched: %d, want 2", got)
	}
	var observed uint64
	for _, m := range fams["vbharness_mock_request_duration_seconds"].GetMetric() {
		observed += m.GetHistogram().GetSampleCount()
	}
	total := 0
	for _, n := range wantReq {
		total += n
	}
	if observed != uint64(total) {
		t.Errorf("the latency histograms counted %d requests, the journals hold %d", observed, total)
	}
}

// The probes answer anyone, without the control token; the metrics need it like every
// control route; readiness turns 503 once the stack shuts down.
func TestProbesAnswerAnyoneAndMetricsNeedTheToken(t *testing.T) {
	t.Parallel()
	const token = "metrics-token-for-this-test"
	run, err := Serve(context.Background(), ServeOptions{EntraAddr: "127.0.0.1:0", VeeamAddr: "127.0.0.1:0", HTTP: true, ControlToken: token})
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	get := func(u, host, bearer string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		if host != "" {
			req.Host = host
		}
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, fmt.Sprint(body["status"], body["error"])
	}
	for _, base := range []string{run.EntraURL, run.VeeamURL} {
		for _, p := range []string{"/_mock/live", "/_mock/ready"} {
			// A kubelet calls the pod by its address: another Host, no token.
			if st, _ := get(base+p, "10.1.2.3:8400", ""); st != 200 {
				t.Errorf("GET %s%s from a probe: %d, want 200", base, p, st)
			}
		}
		if st, _ := get(base+"/_mock/metrics", "", ""); st != 401 {
			t.Errorf("GET %s/_mock/metrics without the token: %d, want 401", base, st)
		}
		if st, _ := get(base+"/_mock/metrics", "", token); st != 200 {
			t.Errorf("GET %s/_mock/metrics with the token: %d, want 200", base, st)
		}
	}
	run.Entra.Control().SetStopping()
	if st, body := get(run.EntraURL+"/_mock/ready", "", ""); st != 503 || !strings.Contains(body, "stopping") {
		t.Errorf("ready while stopping: %d %s, want 503", st, body)
	}
	if st, _ := get(run.EntraURL+"/_mock/live", "", ""); st != 200 {
		t.Errorf("live while stopping: %d, want 200", st)
	}
	if err := run.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestServeOffTheLoopbackNeedsAControlToken(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{":0", "0.0.0.0:0", "[::]:0"} {
		_, err := Serve(context.Background(), ServeOptions{EntraAddr: "127.0.0.1:0", VeeamAddr: addr, HTTP: true})
		if err == nil || !strings.Contains(err.Error(), "control token is required to listen on "+addr) {
			t.Errorf("Serve on %s without a token: %v", addr, err)
		}
	}
	run, err := Serve(context.Background(), ServeOptions{EntraAddr: "localhost:0", VeeamAddr: "[::1]:0", HTTP: true})
	if err != nil && !strings.Contains(err.Error(), "[::1]") { // a machine without IPv6 loopback
		t.Fatalf("Serve on loopback names without a token: %v", err)
	}
	if run != nil {
		_ = run.Shutdown(context.Background())
	}
}
