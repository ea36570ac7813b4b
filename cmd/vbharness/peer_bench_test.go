package main

// BenchmarkPeerIssuance compares the token endpoint of `vbharness mock` with the one of
// oauth2-mock-server (axa-group, Node), the peer of /work/shared/reference/peers.md §6,
// side by side in one run. `.ci/peer` installs the peer at a pinned version and runs
// it (`task bench:peer`); without VBHARNESS_PEER_DIR the benchmark is skipped.
//
// Like with like: each request is a client_credentials grant, which makes each server
// sign exactly one RS256 access token with an RSA-2048 key (the peer generates one at
// start, jose's default size; the mock uses its pooled key) and sends no id or refresh
// token. The mock authenticates the client by its secret (an app the benchmark
// registers through the control API); the peer ignores client credentials. Both get
// the same form body; each server's answer must be 200 with an access_token.
//
// The load: a closed loop of VBHARNESS_PEER_CONNS (16) clients per server, each with
// its own keep-alive HTTP/1.1 connection (HTTPS: TLS 1.3 to a certificate of one local
// CA for both servers), sending the next request when the answer is read. Every server
// process runs for the whole benchmark and is first warmed up (3 s and 5 000 requests). A round
// is HTTP, then HTTPS; in each, every server gets VBHARNESS_PEER_DURATION (10 s) of
// load in VBHARNESS_PEER_SLICES (10) slices, the servers taking turns slice by slice
// (and going first in turn), so a busy machine's ups and downs fall on all of them
// alike. VBHARNESS_PEER_ROUNDS (3) rounds.
//
// Per round, protocol and server it prints the rate, the p50 and p99 latency, the
// server's CPU time per request (utime+stime of the whole process from /proc: it holds
// on a busy machine where the rate does not), the time per request its threads were
// ready to run but waited for a CPU (the kernel's run delay: what a busy machine adds
// to the latencies) and the load average; then per protocol
// the ratio of each vbharness build's rate and CPU to the peer's, round by round.
// VBHARNESS_PEER_BUILDS adds builds to compare, comma-separated: "boringcrypto" is
// vbharness built with GOEXPERIMENT=boringcrypto (needs cgo and a C compiler);
// NAME=PATH is a vbharness binary built elsewhere (another commit, for before and after).
// VBHARNESS_PEER_SERVER_CPUS (a taskset CPU list, such as "0-1") runs every server on
// those CPUs only; .ci/peer's VBHARNESS_PEER_LOADER_CPUS runs the benchmark, the load
// generator, on others, so that on a machine with cores to spare the servers' tails are
// measured without the load generator taking turns on their cores.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vbharness/vbharness/mocks/tlsca"
)

// peerClientSecret is the secret of the confidential app the benchmark registers on
// the mock (a benchmark fixture, not a secret of anyone's).
const peerClientSecret = "peer-bench-secret"

// peerForm is the form both servers get: client_credentials for Graph.
var peerForm = url.Values{
	"grant_type":    {"client_credentials"},
	"client_id":     {"0b5c1d2e-3f4a-4b6c-8d7e-9f0a1b2c3d4e"},
	"client_secret": {peerClientSecret},
	"scope":         {"https://graph.microsoft.com/.default"},
}.Encode()

// peerServer is one running server under comparison, with the clients that load it:
// one keep-alive connection each, kept for the whole benchmark.
type peerServer struct {
	name, proto string
	tokenURL    string
	cmd         *exec.Cmd
	ca          *tlsca.CA
	clients     []*http.Client
}

// peerName is the peer's name in the tables.
const peerName = "oauth2-mock-server"

// segment is what one server did in one round over one protocol: the sum of its slices.
type segment struct {
	round       int
	name, proto string
	n           int           // requests completed inside the slices' windows
	measured    time.Duration // the slices' windows, added up
	started     int           // requests sent inside the windows (all of them completed)
	latencies   []time.Duration
	cpu         time.Duration // server CPU time from each slice's start until its last answer
	wait        time.Duration // time the server's threads were ready to run but not running, same span
	errs        int
	firstErr    string
}

func (s *segment) rate() float64 { return float64(s.n) / s.measured.Seconds() }

// cpuPerRequest is the server's CPU time per request, in milliseconds.
func (s *segment) cpuPerRequest() float64 { return ms(s.cpu) / float64(max(s.started, 1)) }

// waitPerRequest is how long, per request, the server's threads waited for a CPU.
func (s *segment) waitPerRequest() float64 { return ms(s.wait) / float64(max(s.started, 1)) }

// percentile returns the q-quantile of the latencies (sorted by finish).
func (s *segment) percentile(q float64) time.Duration {
	if len(s.latencies) == 0 {
		return 0
	}
	return s.latencies[min(len(s.latencies)-1, int(float64(len(s.latencies))*q))]
}

func (s *segment) finish() { slices.Sort(s.latencies) }

func envDuration(b *testing.B, name string, def time.Duration) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		b.Fatalf("%s=%q: want a duration such as 10s", name, v)
	}
	return d
}

func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// BenchmarkPeerIssuance is the comparison the comment at the top of this file
// describes. Run it once (-benchtime 1x, as .ci/peer does): it times its own rounds.
func BenchmarkPeerIssuance(b *testing.B) {
	peerDir := os.Getenv("VBHARNESS_PEER_DIR")
	if peerDir == "" {
		b.Skip("VBHARNESS_PEER_DIR is not set: run .ci/peer (task bench:peer), which installs oauth2-mock-server")
	}
	if runtime.GOOS != "linux" {
		b.Skip("reads /proc for the servers' CPU time")
	}
	peerBin := filepath.Join(peerDir, "node_modules", ".bin", "oauth2-mock-server")
	if _, err := os.Stat(peerBin); err != nil {
		b.Fatalf("no oauth2-mock-server under VBHARNESS_PEER_DIR: %v", err)
	}
	duration := envDuration(b, "VBHARNESS_PEER_DURATION", 10*time.Second)
	rounds := envInt(b, "VBHARNESS_PEER_ROUNDS", 3)
	conns := envInt(b, "VBHARNESS_PEER_CONNS", 16)
	slicesPerRound := envInt(b, "VBHARNESS_PEER_SLICES", 10)

	builds := []struct{ name, bin string }{{"vbharness", binary(b)}}
	for _, extra := range strings.Split(os.Getenv("VBHARNESS_PEER_BUILDS"), ",") {
		extra = strings.TrimSpace(extra)
		name, path, isPath := strings.Cut(extra, "=")
		switch {
		case extra == "":
		case extra == "boringcrypto":
			builds = append(builds, struct{ name, bin string }{"vbharness-boring", buildVariant(b, extra,
				"CGO_ENABLED=1", "GOEXPERIMENT=boringcrypto")})
		case isPath && name != "" && path != "":
			builds = append(builds, struct{ name, bin string }{name, path})
		default:
			b.Fatalf("VBHARNESS_PEER_BUILDS: %q is neither boringcrypto nor NAME=PATH of a vbharness binary", extra)
		}
	}

	// One CA for every HTTPS server: the mocks load it from their state folder, the
	// peer gets a certificate it issued.
	stateDir := filepath.Join(b.TempDir(), "state")
	ca, _, err := tlsca.LoadOrCreate(stateDir, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	certFile, keyFile := writePeerCert(b, ca)

	var servers []*peerServer
	b.Cleanup(func() {
		for _, s := range servers {
			_ = s.cmd.Process.Signal(os.Interrupt)
			_ = s.cmd.Wait()
		}
	})
	for _, proto := range []string{"http", "https"} {
		for _, bl := range builds {
			servers = append(servers, startMock(b, bl.name, bl.bin, proto, stateDir, ca))
		}
		servers = append(servers, startPeer(b, peerBin, proto, certFile, keyFile, ca))
	}

	fmt.Printf("\npeer issuance: %d connections; per round, protocol and server %s in %d interleaved slices; %d rounds; %s\n",
		conns, duration, slicesPerRound, rounds, cpuModel())
	fmt.Printf("%-5s %-6s %-18s %8s %7s %7s %7s %7s %10s %11s %8s\n", "round", "proto", "server", "requests", "rate/s", "p50 ms", "p99 ms", "p99/p50", "CPU ms/req", "wait ms/req", "load 1m")
	slice := duration / time.Duration(slicesPerRound)
	for _, s := range servers {
		warmUp(b, s, conns)
	}
	var all []*segment
	b.ResetTimer()
	for round := 1; round <= rounds; round++ {
		for _, proto := range []string{"http", "https"} {
			var order []*peerServer
			for _, s := range servers {
				if s.proto == proto {
					order = append(order, s)
				}
			}
			segs := make([]*segment, len(order))
			for i, s := range order {
				segs[i] = &segment{round: round, name: s.name, proto: proto}
			}
			load0 := loadAvg()
			for i := range slicesPerRound {
				for j := range order {
					k := (i + j) % len(order) // each server goes first in turn
					driveSlice(order[k], segs[k], slice)
				}
			}
			load := load0 + "→" + loadAvg()
			for _, seg := range segs {
				seg.finish()
				all = append(all, seg)
				fmt.Printf("%-5d %-6s %-18s %8d %7.0f %7.2f %7.2f %7.2f %10.3f %11.3f %8s\n", round, proto, seg.name, seg.n, seg.rate(),
					ms(seg.percentile(0.50)), ms(seg.percentile(0.99)), float64(seg.percentile(0.99))/float64(max(seg.percentile(0.50), 1)),
					seg.cpuPerRequest(), seg.waitPerRequest(), load)
				if seg.errs > 0 {
					b.Errorf("%s %s: %d failed requests, the first: %s", seg.name, proto, seg.errs, seg.firstErr)
				}
			}
		}
	}
	b.StopTimer()

	fmt.Printf("\nratios to oauth2-mock-server per round: rate (CPU per request, peer ÷ vbharness: above 1 means vbharness spends less)\n")
	for _, bl := range builds {
		for _, proto := range []string{"http", "https"} {
			var rates, cpus []float64
			var line strings.Builder
			for round := 1; round <= rounds; round++ {
				me, peer := find(all, round, proto, bl.name), find(all, round, proto, peerName)
				r, c := me.rate()/peer.rate(), peer.cpuPerRequest()/me.cpuPerRequest()
				rates, cpus = append(rates, r), append(cpus, c)
				fmt.Fprintf(&line, "  %.2f× (%.2f×)", r, c)
			}
			fmt.Printf("%-18s %-6s%s  median %.2f× (%.2f×)\n", bl.name, proto, line.String(), median(rates), median(cpus))
			b.ReportMetric(median(rates), bl.name+"-"+proto+"-ratio")
		}
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func find(all []*segment, round int, proto, name string) *segment {
	for _, s := range all {
		if s.round == round && s.proto == proto && s.name == name {
			return s
		}
	}
	panic("no segment " + name)
}

// buildVariant builds vbharness with extra environment (a GOEXPERIMENT, cgo) into the
// benchmark's temporary folder.
func buildVariant(b *testing.B, name string, env ...string) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "vbharness-"+name)
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("build %s (%s): %v\n%s", name, strings.Join(env, " "), err, out)
	}
	return bin
}

// writePeerCert issues the peer's server certificate from ca and writes it and its key
// as PEM files.
func writePeerCert(b *testing.B, ca *tlsca.CA) (certFile, keyFile string) {
	b.Helper()
	cert, err := ca.Issue(time.Now())
	if err != nil {
		b.Fatal(err)
	}
	der, err := x509.MarshalECPrivateKey(cert.PrivateKey.(*ecdsa.PrivateKey))
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	var chain bytes.Buffer
	for _, c := range cert.Certificate {
		_ = pem.Encode(&chain, &pem.Block{Type: "CERTIFICATE", Bytes: c})
	}
	if err := os.WriteFile(certFile, chain.Bytes(), 0o600); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		b.Fatal(err)
	}
	return certFile, keyFile
}

// newClient returns a client that keeps one HTTP/1.1 connection (over TLS trusting ca
// for https).
func newClient(proto string, ca *tlsca.CA) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 1, MaxConnsPerHost: 1, DisableCompression: true}
	if proto == "https" {
		tr.TLSClientConfig = &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// startMock starts `vbharness mock` on free ports and registers the benchmark's
// confidential app through the control API.
func startMock(b *testing.B, name, bin, proto, stateDir string, ca *tlsca.CA) *peerServer {
	b.Helper()
	args := []string{"mock", "--entra-addr", "127.0.0.1:0", "--veeam-addr", "127.0.0.1:0", "--print-json"}
	if proto == "http" {
		args = append(args, "--http")
	} else {
		// Each HTTPS mock gets its own state folder (a state file admits one mock at a
		// time) holding a copy of the one CA's two files.
		own := filepath.Join(b.TempDir(), "state")
		if err := os.MkdirAll(own, 0o700); err != nil {
			b.Fatal(err)
		}
		entries, err := os.ReadDir(stateDir)
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), "ca") {
				continue
			}
			data, err := os.ReadFile(filepath.Join(stateDir, e.Name()))
			if err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(own, e.Name()), data, 0o600); err != nil {
				b.Fatal(err)
			}
		}
		args = append(args, "--state-dir", own)
	}
	cmd := serverCommand(b, bin, args...)
	cmd.Env = benchEnv(b)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("%s mock: no JSON line: %v", name, err)
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	var info struct{ Entra, Tenant string }
	if err := json.Unmarshal([]byte(line), &info); err != nil {
		b.Fatalf("%s mock: %q: %v", name, line, err)
	}
	s := &peerServer{name: name, proto: proto, cmd: cmd, ca: ca,
		tokenURL: info.Entra + "/" + info.Tenant + "/oauth2/v2.0/token"}
	app, _ := json.Marshal(map[string]any{
		"app_id": "0b5c1d2e-3f4a-4b6c-8d7e-9f0a1b2c3d4e", "display_name": "peer benchmark daemon",
		"client_secret": peerClientSecret, "permissions": map[string][]string{"graph": {"User.Read.All"}},
	})
	resp, err := newClient(proto, ca).Post(info.Entra+"/_mock/applications", "application/json", bytes.NewReader(app))
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		b.Fatalf("%s mock: register the app: %d %s", name, resp.StatusCode, body)
	}
	return s
}

// serverCommand is the command that starts a server: on the CPUs of
// VBHARNESS_PEER_SERVER_CPUS when it is set (taskset execs the server, so the process
// measured is the server's own).
func serverCommand(b *testing.B, bin string, args ...string) *exec.Cmd {
	b.Helper()
	cpus := os.Getenv("VBHARNESS_PEER_SERVER_CPUS")
	if cpus == "" {
		return exec.Command(bin, args...)
	}
	taskset, err := exec.LookPath("taskset")
	if err != nil {
		b.Fatalf("VBHARNESS_PEER_SERVER_CPUS=%s needs taskset (util-linux): %v", cpus, err)
	}
	return exec.Command(taskset, append([]string{"-c", cpus, bin}, args...)...)
}

// peerListening matches the line oauth2-mock-server prints once it listens; it says
// http:// even when it serves HTTPS, so only the port is taken from it.
var peerListening = regexp.MustCompile(`listening on https?://127\.0\.0\.1:(\d+)`)

// startPeer starts oauth2-mock-server on a free port.
func startPeer(b *testing.B, bin, proto, certFile, keyFile string, ca *tlsca.CA) *peerServer {
	b.Helper()
	args := []string{"-a", "127.0.0.1", "-p", "0"}
	if proto == "https" {
		args = append(args, "-c", certFile, "-k", keyFile)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := serverCommand(b, bin, args...)
	cmd.Env = append(benchEnv(b), "NODE_ENV=production")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := peerListening.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	select {
	case u := <-found:
		return &peerServer{name: peerName, proto: proto, cmd: cmd, ca: ca,
			tokenURL: proto + "://127.0.0.1:" + u + "/token"}
	case <-ctx.Done():
		b.Fatal("oauth2-mock-server did not say where it listens within 30 s")
		return nil
	}
}

// warmUp loads s before anything is measured, for 3 s and at least 5 000 requests
// (at most 60 s): every connection opened (and its TLS handshake done), and the
// peer's JavaScript compiled by V8's optimising tier.
func warmUp(b *testing.B, s *peerServer, conns int) {
	b.Helper()
	for range conns {
		s.clients = append(s.clients, newClient(s.proto, s.ca))
	}
	var seg segment
	for deadline := time.Now().Add(60 * time.Second); seg.measured < 3*time.Second || seg.started < 5000; {
		driveSlice(s, &seg, time.Second)
		if time.Now().After(deadline) {
			break
		}
	}
	if seg.errs > 0 {
		b.Fatalf("%s %s: %d failed requests while warming up, the first: %s", s.name, s.proto, seg.errs, seg.firstErr)
	}
}

// driveSlice loads s for d with every client in a closed loop (the next request
// when the answer is read), then lets the requests in flight finish, and adds the
// result to seg. Every request sent in the window is timed to its end, so the slow
// ones at the edge count; the rate counts the answers inside the window.
func driveSlice(s *peerServer, seg *segment, d time.Duration) {
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	cpu0, wait0 := procCPU(s.cmd.Process.Pid), procWait(s.cmd.Process.Pid)
	start := time.Now()
	stop := start.Add(d)
	for _, c := range s.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			inside, errs, first := 0, 0, ""
			for {
				t0 := time.Now()
				if !t0.Before(stop) {
					break
				}
				err := issue(c, s.tokenURL)
				t1 := time.Now()
				if err != nil {
					if errs == 0 {
						first = err.Error()
					}
					errs++
					continue
				}
				mine = append(mine, t1.Sub(t0))
				if t1.Before(stop) {
					inside++
				}
			}
			mu.Lock()
			defer mu.Unlock()
			seg.latencies = append(seg.latencies, mine...)
			seg.started += len(mine)
			seg.n += inside
			if seg.errs == 0 {
				seg.firstErr = first
			}
			seg.errs += errs
		}()
	}
	wg.Wait()
	seg.cpu += procCPU(s.cmd.Process.Pid) - cpu0
	seg.wait += procWait(s.cmd.Process.Pid) - wait0
	seg.measured += d
}

// issue sends one token request and checks the answer.
func issue(c *http.Client, tokenURL string) error {
	resp, err := c.Post(tokenURL, "application/x-www-form-urlencoded", strings.NewReader(peerForm))
	if err != nil {
		return err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`"access_token":"ey`)) {
		return fmt.Errorf("status %d: %.200s", resp.StatusCode, body)
	}
	return nil
}

// procCPU is a process's user+system CPU time from /proc/PID/stat (every thread).
func procCPU(pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	_, rest, _ := bytes.Cut(data, []byte(") "))
	f := strings.Fields(string(rest))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ is 100 on Linux
}

// procWait is the time a process's threads spent ready to run but waiting for a CPU
// (run_delay in /proc/PID/task/TID/schedstat), added up: what a busy machine costs a
// server in latency, beside its own CPU time.
func procWait(pid int) time.Duration {
	stats, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	var sum int64
	for _, f := range stats {
		data, err := os.ReadFile(f)
		if err != nil {
			continue // the thread ended
		}
		if fields := strings.Fields(string(data)); len(fields) >= 2 {
			ns, _ := strconv.ParseInt(fields[1], 10, 64)
			sum += ns
		}
	}
	return time.Duration(sum)
}

func loadAvg() string {
	data, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

func cpuModel() string {
	data, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":")) + fmt.Sprintf(", %d CPUs", runtime.NumCPU())
		}
	}
	return runtime.GOARCH
}
