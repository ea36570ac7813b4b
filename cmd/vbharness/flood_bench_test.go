package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// BenchmarkMockJournalFloodRSS is issue 15's journal flood against the built
// `vbharness mock` (HTTPS, free ports, fresh state folder): 400 refused POST /v8/token
// with a 1000 KiB username, then 100 refused Entra token requests with a 1000 KiB
// client_id, four clients at once. It reports the process's resident memory from
// /proc/PID/status: idle before the flood (VmRSS), its peak (VmHWM) after the flood,
// and VmRSS five seconds after both journals were cleared (DELETE /_mock/requests).
// RSS of a separate process is what the attack measured, and what an operator sees;
// mocks/stack's TestJournalFloodKeepsMemoryBounded checks the heap in-process, which is
// steadier under -race.
func BenchmarkMockJournalFloodRSS(b *testing.B) {
	if runtime.GOOS != "linux" {
		b.Skip("reads /proc/PID/status")
	}
	bin := binary(b)
	var idle, peak, cleared int64
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		cmd := exec.CommandContext(ctx, bin, "mock", "--entra-addr", "127.0.0.1:0", "--veeam-addr", "127.0.0.1:0",
			"--print-json") // the default state folder, under benchEnv's HOME: no --state-dir, so no state file
		cmd.Env = benchEnv(b)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			b.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		line, err := bufio.NewReader(stdout).ReadString('\n')
		var info struct {
			Entra  string `json:"entra"`
			Veeam  string `json:"veeam"`
			CAFile string `json:"ca_file"`
		}
		if err != nil || json.Unmarshal([]byte(line), &info) != nil {
			b.Fatalf("no JSON line from vbharness mock: %q %v", line, err)
		}
		go func() { _, _ = io.Copy(io.Discard, stdout) }()
		pemBytes, err := os.ReadFile(info.CAFile)
		if err != nil {
			b.Fatal(err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pemBytes)
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: 4}
		hc := &http.Client{Transport: tr, Timeout: time.Minute}
		time.Sleep(500 * time.Millisecond)
		idle = max(idle, procStatus(b, cmd.Process.Pid, "VmRSS"))
		flood(b, hc, info.Veeam+"/v8/token", url.Values{"grant_type": {"password"}, "username": {strings.Repeat("a", 1000<<10)}, "password": {"x"}}, 400)
		flood(b, hc, info.Entra+"/abc.onmicrosoft.com/oauth2/v2.0/token", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"},
			"client_id": {strings.Repeat("a", 1000<<10)}, "device_code": {"x"}}, 100)
		peak = max(peak, procStatus(b, cmd.Process.Pid, "VmHWM"))
		for _, base := range []string{info.Entra, info.Veeam} {
			req, _ := http.NewRequest(http.MethodDelete, base+"/_mock/requests", nil)
			resp, err := hc.Do(req)
			if err != nil || resp.StatusCode != http.StatusNoContent {
				b.Fatalf("clear the journal: %v %v", resp, err)
			}
			resp.Body.Close()
		}
		tr.CloseIdleConnections()
		time.Sleep(5 * time.Second)
		cleared = max(cleared, procStatus(b, cmd.Process.Pid, "VmRSS"))
		_ = cmd.Process.Signal(os.Interrupt)
		if err := cmd.Wait(); err != nil {
			b.Fatalf("vbharness mock did not shut down cleanly: %v", err)
		}
		cancel()
	}
	b.ReportMetric(float64(idle)/(1<<20), "MB-idle")
	b.ReportMetric(float64(peak)/(1<<20), "MB-peak")
	b.ReportMetric(float64(cleared)/(1<<20), "MB-cleared")
}

// flood sends n copies of form to u, four at a time; each must be refused (4xx, not 413).
func flood(b *testing.B, hc *http.Client, u string, form url.Values, n int) {
	body := form.Encode()
	var wg sync.WaitGroup
	jobs := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for range jobs {
				resp, err := hc.Post(u, "application/x-www-form-urlencoded", strings.NewReader(body))
				if err != nil {
					b.Error(err)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode < 400 || resp.StatusCode >= 500 || resp.StatusCode == http.StatusRequestEntityTooLarge {
					b.Errorf("%s answered %d", u, resp.StatusCode)
				}
			}
		})
	}
	for range n {
		jobs <- struct{}{}
	}
	close(jobs)
	wg.Wait()
}

// procStatus reads one "Name: N kB" line of /proc/PID/status, in bytes.
func procStatus(b *testing.B, pid int, name string) int64 {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, name+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb * 1024
		}
	}
	b.Fatalf("no %s line", name)
	return 0
}
