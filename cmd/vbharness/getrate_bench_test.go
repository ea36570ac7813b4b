package main

// BenchmarkMockGETRateHTTPS is the rate at which a running `vbharness mock` answers an
// administrator's authenticated GET /v8/Organizations over HTTPS (issue 11's target: above
// 20 000 a second), measured the way a server's rate is: the mock in its own process, a
// lean load generator in another.
//
// Why not only BenchmarkAuthenticatedOrganizationsHTTPS (mocks/veeam)? That one runs Go's
// net/http client, TLS on both ends and the server in one process on the same two cores:
// on this machine the client side costs about as much CPU as the server, so its rate is
// the pair's, not the server's. Here the client is a loop over raw TLS connections
// (crypto/tls, HTTP/1.1 keep-alive, the request bytes built once, the answer's status line
// checked, its body skipped by Content-Length), as load tools such as wrk do, so most of
// the CPU goes to the server. The benchmark still shares the machine with its client, and
// says how much: the server's CPU time per request (utime+stime from /proc) and the
// client's (getrusage of this process), beside the rate.
//
// The load: VBHARNESS_GETRATE_CONNS (8) connections, each a closed loop (the next request
// when the answer is read). Each server is warmed up (1 s: handshakes done), then gets
// VBHARNESS_GETRATE_DURATION (6 s) in VBHARNESS_GETRATE_SLICES (6) slices per round,
// VBHARNESS_GETRATE_ROUNDS (3) rounds; with more than one build the builds take turns
// slice by slice, so a busy machine's ups and downs fall on all of them alike.
// VBHARNESS_GETRATE_BUILDS adds builds to compare, NAME=PATH, comma-separated (a
// vbharness binary built at another commit: before and after in one run).
//
// Run it once: go test -run '^$' -bench MockGETRateHTTPS -benchtime 1x ./cmd/vbharness/

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// rateServer is one `vbharness mock` process under load, with its open connections.
type rateServer struct {
	name    string
	cmd     *exec.Cmd
	request []byte      // the whole GET, built once
	conns   []*rateConn // one per client loop
	// totals over the measured slices
	n              int
	measured       time.Duration
	serverCPU      time.Duration
	clientCPU      time.Duration
	rates          []float64 // per round
	roundN         int
	roundMeasured  time.Duration
	roundServerCPU time.Duration
}

type rateConn struct {
	c *tls.Conn
	r *bufio.Reader
}

// startRateServer starts bin as `vbharness mock` on free ports and signs the
// administrator in, bearer-only (disable_antiforgery_token=true), as an API client does.
func startRateServer(b *testing.B, name, bin string, conns int) *rateServer {
	b.Helper()
	cmd := exec.Command(bin, "mock", "--entra-addr", "127.0.0.1:0", "--veeam-addr", "127.0.0.1:0", "--print-json")
	cmd.Env = benchEnv(b)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("%s: no JSON line from vbharness mock: %v", name, err)
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	var info struct {
		Veeam         string `json:"veeam"`
		CAFile        string `json:"ca_file"`
		AdminUser     string `json:"admin_user"`
		AdminPassword string `json:"admin_password"`
	}
	if err := json.Unmarshal([]byte(line), &info); err != nil {
		b.Fatalf("%s: %q: %v", name, line, err)
	}
	pem, err := os.ReadFile(info.CAFile)
	if err != nil {
		b.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		b.Fatalf("%s: no certificate in %s", name, info.CAFile)
	}
	tlsConf := &tls.Config{RootCAs: roots}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConf}, Timeout: 30 * time.Second}
	defer hc.CloseIdleConnections()
	resp, err := hc.PostForm(info.Veeam+"/v8/token", url.Values{
		"grant_type": {"password"}, "username": {info.AdminUser}, "password": {info.AdminPassword},
		"disable_antiforgery_token": {"true"},
	})
	if err != nil {
		b.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || tok.AccessToken == "" {
		b.Fatalf("%s: administrator sign-in: status %d, %v", name, resp.StatusCode, err)
	}
	u, _ := url.Parse(info.Veeam)
	s := &rateServer{name: name, cmd: cmd, request: []byte("GET /v8/Organizations HTTP/1.1\r\nHost: " + u.Host +
		"\r\nAuthorization: Bearer " + tok.AccessToken + "\r\nAccept: application/json\r\n\r\n")}
	for range conns {
		c, err := tls.Dial("tcp", u.Host, tlsConf)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		s.conns = append(s.conns, &rateConn{c: c, r: bufio.NewReaderSize(c, 16<<10)})
	}
	return s
}

// get sends the request once on rc and reads the whole answer, which must be a 200.
func (s *rateServer) get(rc *rateConn) error {
	if _, err := rc.c.Write(s.request); err != nil {
		return err
	}
	status, err := rc.r.ReadSlice('\n')
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(status, []byte("HTTP/1.1 200 ")) {
		return fmt.Errorf("answer %q", bytes.TrimSpace(status))
	}
	length := -1
	for {
		line, err := rc.r.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) <= 2 {
			break
		}
		if name, value, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(name, []byte("Content-Length")) {
			length, err = strconv.Atoi(string(bytes.TrimSpace(value)))
			if err != nil {
				return fmt.Errorf("Content-Length %q", value)
			}
		}
	}
	if length < 0 {
		return fmt.Errorf("an answer without Content-Length")
	}
	_, err = rc.r.Discard(length)
	return err
}

// drive loads s for d with every connection in a closed loop and returns the answers
// read inside the window (the requests in flight at its end are finished, not counted).
func (s *rateServer) drive(d time.Duration) (int, error) {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		n     int
		first error
	)
	stop := time.Now().Add(d)
	for _, rc := range s.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := 0
			var err error
			for time.Now().Before(stop) {
				if err = s.get(rc); err != nil {
					break
				}
				if time.Now().Before(stop) {
					mine++
				}
			}
			mu.Lock()
			n += mine
			if first == nil {
				first = err
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return n, first
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkMockGETRateHTTPS(b *testing.B) {
	conns := envInt(b, "VBHARNESS_GETRATE_CONNS", 8)
	duration := envDuration(b, "VBHARNESS_GETRATE_DURATION", 6*time.Second)
	slices := envInt(b, "VBHARNESS_GETRATE_SLICES", 6)
	rounds := envInt(b, "VBHARNESS_GETRATE_ROUNDS", 3)
	builds := [][2]string{{"this build", binary(b)}}
	if extra := os.Getenv("VBHARNESS_GETRATE_BUILDS"); extra != "" {
		for _, kv := range strings.Split(extra, ",") {
			name, path, ok := strings.Cut(kv, "=")
			if !ok || name == "" || path == "" {
				b.Fatalf("VBHARNESS_GETRATE_BUILDS: %q is not NAME=PATH", kv)
			}
			builds = append(builds, [2]string{name, path})
		}
	}
	var servers []*rateServer
	for _, bd := range builds {
		s := startRateServer(b, bd[0], bd[1], conns)
		if _, err := s.drive(time.Second); err != nil {
			b.Fatalf("%s: warming up: %v", s.name, err)
		}
		servers = append(servers, s)
	}
	slice := duration / time.Duration(slices)
	b.ResetTimer()
	for b.Loop() {
		for round := 1; round <= rounds; round++ {
			for _, s := range servers {
				s.roundN, s.roundMeasured, s.roundServerCPU = 0, 0, 0
			}
			for i := range slices {
				for k := range servers {
					s := servers[(i+k+round)%len(servers)] // each build goes first in turn
					pid := s.cmd.Process.Pid
					server0, client0, start := procCPU(pid), selfCPU(), time.Now()
					n, err := s.drive(slice)
					if err != nil {
						b.Fatalf("%s: %v", s.name, err)
					}
					s.roundN += n
					s.roundMeasured += time.Since(start)
					s.roundServerCPU += procCPU(pid) - server0
					s.clientCPU += selfCPU() - client0
				}
			}
			for _, s := range servers {
				rate := float64(s.roundN) / s.roundMeasured.Seconds()
				s.rates = append(s.rates, rate)
				s.n += s.roundN
				s.measured += s.roundMeasured
				s.serverCPU += s.roundServerCPU
				b.Logf("round %d  %-12s %8.0f req/s  server %5.1f µs CPU/req  load %s", round, s.name, rate,
					float64(s.roundServerCPU.Microseconds())/float64(max(s.roundN, 1)), loadAverage())
			}
		}
	}
	b.StopTimer()
	for _, s := range servers {
		perReq := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(max(s.n, 1)) }
		b.Logf("%-12s median round %8.0f req/s; server %.1f µs CPU/req, client %.1f µs CPU/req (%d requests)",
			s.name, median(s.rates), perReq(s.serverCPU), perReq(s.clientCPU), s.n)
	}
	main := servers[0]
	b.ReportMetric(median(main.rates), "req/s")
	b.ReportMetric(float64(main.serverCPU.Microseconds())/float64(max(main.n, 1)), "server-µs-CPU/req")
	b.ReportMetric(float64(main.clientCPU.Microseconds())/float64(max(main.n, 1)), "client-µs-CPU/req")
	for _, s := range servers[1:] {
		b.Logf("%s / %s: %.2f× the rate (round medians)", main.name, s.name, median(main.rates)/median(s.rates))
	}
}

// loadAverage is the first field of /proc/loadavg, for the log.
func loadAverage() string {
	data, _ := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(data)); len(f) > 0 {
		return f[0]
	}
	return "?"
}
