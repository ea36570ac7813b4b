package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vbharness/vbharness/mocks/veeam"
)

// stateMock is the built binary's `vbharness mock --state-dir DIR`, reached over HTTPS.
type stateMock struct {
	t      *testing.T
	cmd    *exec.Cmd
	veeam  string
	hc     *http.Client
	stderr *strings.Builder
	done   chan struct{}
}

// startStateMock starts the binary on dir and waits for its --print-json line; a mock
// that exits first fails the test with its standard error (the state did not open).
func startStateMock(t *testing.T, bin, dir, why string) *stateMock {
	t.Helper()
	cmd := exec.Command(bin, "mock", "--entra-addr", "127.0.0.1:0", "--veeam-addr", "127.0.0.1:0",
		"--state-dir", dir, "--print-json")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + filepath.Dir(dir)}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	m := &stateMock{t: t, cmd: cmd, stderr: &strings.Builder{}, done: make(chan struct{})}
	cmd.Stderr = m.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(m.done) }()
	t.Cleanup(m.kill)
	line, err := bufio.NewReader(stdout).ReadString('\n')
	var info struct {
		Veeam  string `json:"veeam"`
		CAFile string `json:"ca_file"`
	}
	if err != nil || json.Unmarshal([]byte(line), &info) != nil {
		<-m.done
		t.Fatalf("%s: the mock did not start on %s (exit %v):\n%s", why, dir, cmd.ProcessState, m.stderr)
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	pemBytes, err := os.ReadFile(info.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	m.veeam = info.Veeam
	m.hc = &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	return m
}

// kill sends SIGKILL and waits for the process to be gone.
func (m *stateMock) kill() {
	_ = m.cmd.Process.Signal(syscall.SIGKILL)
	<-m.done
	m.hc.CloseIdleConnections()
}

// do sends one request; err is a transport error (the mock was killed under it).
func (m *stateMock) do(method, path, ctype, body, bearer string) (int, []byte, error) {
	req, err := http.NewRequest(method, m.veeam+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := m.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// must is do for requests that must succeed with want.
func (m *stateMock) must(method, path, ctype, body, bearer string, want int) map[string]any {
	m.t.Helper()
	st, b, err := m.do(method, path, ctype, body, bearer)
	if err != nil || st != want {
		m.t.Fatalf("%s %s: %d %v\n%s", method, path, st, err, b)
	}
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

type tokenPair struct {
	Access  string `json:"access_token"`
	Refresh string `json:"refresh_token"`
}

func (m *stateMock) adminLogin() tokenPair {
	m.t.Helper()
	st, b, err := m.do("POST", "/v8/token", "application/x-www-form-urlencoded",
		"grant_type=password&disable_antiforgery_token=true&username=Administrator&password="+url.QueryEscape("vbharness-Passw0rd!"), "")
	var tp tokenPair
	if err != nil || st != http.StatusOK || json.Unmarshal(b, &tp) != nil {
		m.t.Fatalf("admin login: %d %v", st, err)
	}
	return tp
}

func skipUnlessKillable(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary and kills it; skipped with -short")
	}
	if runtime.GOOS == "windows" {
		t.Skip("SIGKILL is POSIX")
	}
}

// Issue 11 acceptance 5: an organization and a job created over HTTPS, and the session
// that created them, are there after the process is killed with SIGKILL and restarted on
// the same state folder: the access token from before still works, and the refresh token
// from before still refreshes.
func TestStateOutlivesKill9(t *testing.T) {
	skipUnlessKillable(t)
	t.Parallel()
	bin := binary(t)
	dir := filepath.Join(t.TempDir(), "state")
	m := startStateMock(t, bin, dir, "first start")
	tp := m.adminLogin()
	org := m.must("POST", "/v8/Organizations", "application/json", `{"type":"Office365","name":"acceptance5.onmicrosoft.com"}`, tp.Access, http.StatusCreated)
	repos := m.must("GET", "/v8/BackupRepositories", "", "", tp.Access, http.StatusOK)
	repo := repos["results"].([]any)[0].(map[string]any)["id"].(string)
	job := m.must("POST", "/v8/Jobs", "application/json", fmt.Sprintf(`{"name":"acceptance 5 job","organizationId":%q,"repositoryId":%q,"backupType":"EntireOrganization"}`,
		org["id"], repo), tp.Access, http.StatusCreated)
	m.kill()

	m = startStateMock(t, bin, dir, "restart after SIGKILL")
	if got := m.must("GET", "/v8/Organizations/"+org["id"].(string), "", "", tp.Access, http.StatusOK); got["name"] != "acceptance5.onmicrosoft.com" {
		t.Errorf("the organization after the restart: %v", got)
	}
	st, b, err := m.do("POST", "/v8/token", "application/x-www-form-urlencoded", "grant_type=refresh_token&refresh_token="+url.QueryEscape(tp.Refresh), "")
	var fresh tokenPair
	if err != nil || st != http.StatusOK || json.Unmarshal(b, &fresh) != nil {
		t.Fatalf("the refresh token from before the kill: %d %v %s", st, err, b)
	}
	got := m.must("GET", "/v8/Jobs/"+job["id"].(string), "", "", fresh.Access, http.StatusOK)
	if got["name"] != "acceptance 5 job" || got["organizationId"] != org["id"] || got["repositoryId"] != repo {
		t.Errorf("the job after the restart: %v", got)
	}
}

// poolState is what the writers know of one proxy pool, by the description their writes
// set ("" for a pool absent or deleted): what the last answered write left, and the
// effect of a write sent but not answered when the mock was killed.
type poolState struct {
	acked   string // the description of the last answered write ("" absent)
	pending string // the effect of a write sent but not answered, if any
	inDoubt bool
}

// A table of seeded runs kills the mock with SIGKILL at random moments while clients
// write, restarts it on the same folder each time and checks that it opens and that the
// state is consistent: every answered write is there, a write in flight at the kill is
// there wholly or not at all (a bulk add of several items is never half there), and a
// refresh token is either still good or was spent by the refresh in flight.
func TestKill9DuringWritesLeavesAConsistentState(t *testing.T) {
	skipUnlessKillable(t)
	t.Parallel()
	bin := binary(t)
	for _, row := range []struct {
		seed    uint64
		writers int
		kills   int
		maxWait time.Duration
	}{
		{seed: 1, writers: 2, kills: 3, maxWait: 300 * time.Millisecond},
		{seed: 2, writers: 4, kills: 3, maxWait: 600 * time.Millisecond},
		{seed: 3, writers: 3, kills: 4, maxWait: 150 * time.Millisecond},
		{seed: 4, writers: 1, kills: 3, maxWait: 1000 * time.Millisecond},
	} {
		t.Run(fmt.Sprintf("seed %d", row.seed), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(row.seed, 11))
			dir := filepath.Join(t.TempDir(), "state")
			where := func(round int) string { return fmt.Sprintf("seed %d, kill %d", row.seed, round) }
			m := startStateMock(t, bin, dir, where(0))
			tp := m.adminLogin()
			job := veeam.DefaultFixtures().Jobs[0].ID // the bulk writer adds to its selected items
			pools := map[string]*poolState{}          // by name
			bulks := map[string][]string{}            // a bulk add's ids, by its first
			bulkAcked := map[string]bool{}            // answered bulk adds
			// The refresher signs in on its own: presenting a spent refresh token revokes its
			// whole session (refresh-family revocation), which must not be the writers'.
			refresh := m.adminLogin().Refresh // the last refresh token answered
			var mu sync.Mutex
			for round := 1; round <= row.kills; round++ {
				ctx, stop := context.WithCancel(context.Background())
				var wg sync.WaitGroup
				for g := range row.writers {
					wr := rand.New(rand.NewPCG(row.seed, uint64(round*100+g)))
					wg.Go(func() { poolWriter(ctx, m, tp.Access, fmt.Sprintf("r%d-w%d", round, g), wr, pools, &mu) })
				}
				wg.Go(func() {
					bulkWriter(ctx, m, tp.Access, job, rand.New(rand.NewPCG(row.seed, uint64(round))), bulks, bulkAcked, &mu)
				})
				wg.Go(func() { refresh = refreshWriter(ctx, m, refresh) })
				time.Sleep(time.Duration(rng.Int64N(int64(row.maxWait))))
				m.kill()
				stop()
				wg.Wait()

				m = startStateMock(t, bin, dir, where(round))
				checkPools(t, m, tp.Access, pools, where(round))
				checkBulks(t, m, tp.Access, job, bulks, bulkAcked, where(round))
				refresh = checkRefresh(t, m, refresh, where(round))
			}
			if len(pools) == 0 {
				t.Errorf("seed %d: no write was sent", row.seed)
			}
			answered := 0
			for _, ok := range bulkAcked {
				if ok {
					answered++
				}
			}
			if answered == 0 { // every bulk add refused: the atomicity check above saw nothing
				t.Errorf("seed %d: none of %d bulk adds was answered 204", row.seed, len(bulks))
			}
		})
	}
}

// poolWriter creates, updates and deletes proxy pools of its own until the mock dies,
// recording what it sent and what was answered.
func poolWriter(ctx context.Context, m *stateMock, access, prefix string, rng *rand.Rand, pools map[string]*poolState, mu *sync.Mutex) {
	type mine struct{ name, id string }
	var live []mine
	for n := 0; ctx.Err() == nil; n++ {
		var method, path, body, name, effect, id string
		switch k := rng.IntN(10); {
		case len(live) == 0 || k < 4:
			name, effect = fmt.Sprintf("%s-%d", prefix, n), fmt.Sprintf("v%d", n)
			method, path, body = "POST", "/v8/ProxyPools", fmt.Sprintf(`{"name":%q,"description":%q,"proxyIds":[]}`, name, effect)
		case k < 8:
			p := live[rng.IntN(len(live))]
			name, id, effect = p.name, p.id, fmt.Sprintf("v%d", n)
			method, path, body = "PUT", "/v8/ProxyPools/"+p.id, fmt.Sprintf(`{"name":%q,"description":%q,"proxyIds":[]}`, name, effect)
		default:
			i := rng.IntN(len(live))
			name, id = live[i].name, live[i].id
			live = append(live[:i], live[i+1:]...)
			method, path = "DELETE", "/v8/ProxyPools/"+id
		}
		mu.Lock()
		p := pools[name]
		if p == nil {
			p = &poolState{}
			pools[name] = p
		}
		p.pending, p.inDoubt = effect, true
		mu.Unlock()
		st, b, err := m.do(method, path, "application/json", body, access)
		if err != nil {
			return // killed: this write stays in doubt
		}
		mu.Lock()
		p.inDoubt = false
		if st/100 == 2 {
			p.acked = effect
		}
		mu.Unlock()
		if method == "POST" && st == http.StatusCreated {
			var out struct {
				ID string `json:"id"`
			}
			_ = json.Unmarshal(b, &out)
			live = append(live, mine{name, out.ID})
		}
	}
}

// bulkWriter adds three selected items at a time to a job, each request's items named by
// ids it chooses.
func bulkWriter(ctx context.Context, m *stateMock, access, job string, rng *rand.Rand, bulks map[string][]string, acked map[string]bool, mu *sync.Mutex) {
	f := veeam.DefaultFixtures()
	user := "" // a user of the job's organization: the items name one (the server refuses an item naming nobody)
	for _, j := range f.Jobs {
		for _, u := range f.Users {
			if j.ID == job && u.OrganizationID == j.OrganizationID && user == "" {
				user = u.ID
			}
		}
	}
	for ctx.Err() == nil {
		ids := make([]string, 3)
		elems := make([]string, 3)
		for i := range ids {
			ids[i] = fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", rng.Uint32(), rng.Uint32()&0xffff, rng.Uint32()&0xfff, rng.Uint32()&0xfff, rng.Uint64()&0xffffffffffff)
			elems[i] = fmt.Sprintf(`{"id":%q,"type":"User","user":{"id":%q}}`, ids[i], user)
		}
		mu.Lock()
		bulks[ids[0]] = ids
		mu.Unlock()
		st, _, err := m.do("POST", "/v8/Jobs/"+job+"/SelectedItems", "application/json", "["+strings.Join(elems, ",")+"]", access)
		if err != nil {
			return
		}
		mu.Lock()
		acked[ids[0]] = st == http.StatusNoContent
		mu.Unlock()
	}
}

// refreshWriter refreshes the admin's tokens in a loop and returns the last refresh
// token it was answered with.
func refreshWriter(ctx context.Context, m *stateMock, refresh string) string {
	for ctx.Err() == nil {
		st, b, err := m.do("POST", "/v8/token", "application/x-www-form-urlencoded", "grant_type=refresh_token&refresh_token="+url.QueryEscape(refresh), "")
		if err != nil {
			return refresh
		}
		var tp tokenPair
		if st != http.StatusOK || json.Unmarshal(b, &tp) != nil {
			return refresh
		}
		refresh = tp.Refresh
	}
	return refresh
}

// checkPools compares every pool the writers touched with what they were answered, then
// settles writes in doubt by what the restarted mock holds.
func checkPools(t *testing.T, m *stateMock, access string, pools map[string]*poolState, where string) {
	t.Helper()
	out := m.must("GET", "/v8/ProxyPools?limit=10000", "", "", access, http.StatusOK)
	have := map[string]string{}
	for _, r := range out["results"].([]any) {
		p := r.(map[string]any)
		name, _ := p["name"].(string)
		if _, dup := have[name]; dup {
			t.Errorf("%s: two pools named %s", where, name)
		}
		have[name], _ = p["description"].(string)
	}
	doubt, applied := 0, 0
	for name, p := range pools {
		got := have[name]
		if p.inDoubt {
			doubt++
		}
		switch {
		case got == p.acked:
		case p.inDoubt && got == p.pending:
			applied++
		default:
			t.Errorf("%s: pool %s holds %q after the restart; answered %q, in flight %q (in doubt: %v)", where, name, got, p.acked, p.pending, p.inDoubt)
		}
		p.acked, p.pending, p.inDoubt = got, "", false
	}
	t.Logf("%s: %d pools, %d writes in flight at the kill, %d of them applied", where, len(pools), doubt, applied)
}

// checkBulks finds every bulk add wholly there or wholly absent, and every answered one
// there.
func checkBulks(t *testing.T, m *stateMock, access, job string, bulks map[string][]string, acked map[string]bool, where string) {
	t.Helper()
	out := m.must("GET", "/v8/Jobs/"+job+"/SelectedItems?limit=10000", "", "", access, http.StatusOK)
	have := map[string]bool{}
	for _, r := range out["results"].([]any) {
		if id, _ := r.(map[string]any)["id"].(string); id != "" {
			have[strings.ToLower(id)] = true
		}
	}
	whole := 0
	for first, ids := range bulks {
		n := 0
		for _, id := range ids {
			if have[id] {
				n++
			}
		}
		switch {
		case n != 0 && n != len(ids):
			t.Errorf("%s: %d of the %d items of one bulk add are there: half applied", where, n, len(ids))
		case acked[first] && n == 0:
			t.Errorf("%s: an answered bulk add is gone", where)
		case n == len(ids):
			whole++
		}
	}
	t.Logf("%s: %d bulk adds sent, %d wholly there", where, len(bulks), whole)
}

// checkRefresh refreshes with the last refresh token answered before the kill: it works,
// or it was spent by a refresh the mock committed but could not answer. Either way the
// session goes on with a fresh login's token if need be.
func checkRefresh(t *testing.T, m *stateMock, refresh, where string) string {
	t.Helper()
	st, b, err := m.do("POST", "/v8/token", "application/x-www-form-urlencoded", "grant_type=refresh_token&refresh_token="+url.QueryEscape(refresh), "")
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	if st == http.StatusOK {
		var tp tokenPair
		_ = json.Unmarshal(b, &tp)
		return tp.Refresh
	}
	if strings.Contains(string(b), "already been used") {
		t.Logf("%s: the last refresh token answered was spent by the refresh in flight", where)
	} else {
		t.Errorf("%s: the last refresh token answered is refused after the restart, and not as spent: %d %s", where, st, b)
	}
	return m.adminLogin().Refresh
}
