package proxy_test

import (
	"io"
	"net/http"
	"slices"
	"testing"
	"time"
)

// BenchmarkProxyOverhead measures what the proxy adds to a request (acceptance 3 of
// issue 17): the administrator's authenticated GET /v8/Jobs against the Veeam mock
// directly and through the proxy (which checks every answer against the v8 document
// with mocks/contract and journals it), side by side in one run. Both paths are HTTPS
// with keep-alive connections of one client each, the mock and the proxy in this
// process. The requests go in interleaved slices of 100 (direct, then proxied, turn
// by turn), so a busy machine's ups and downs fall on both alike. b.N requests per
// path; it reports each path's p50 and p99 in milliseconds and the overhead at each.
//
//	go test -run '^$' -bench ProxyOverhead -benchtime 4000x ./mocks/proxy/
func BenchmarkProxyOverhead(b *testing.B) {
	l := newLab(b)
	access, _ := l.adminToken(b)
	get := func(base string) time.Duration {
		req, _ := http.NewRequest("GET", base+"/v8/Jobs", nil)
		req.Header.Set("Authorization", "Bearer "+access)
		start := time.Now()
		resp, err := l.client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		d := time.Since(start)
		if resp.StatusCode != 200 {
			b.Fatalf("GET %s/v8/Jobs: %d", base, resp.StatusCode)
		}
		return d
	}
	for range 200 { // warm up both paths: connections, the document, the caches
		get(l.veeamURL)
		get(l.proxyURL)
	}
	const slice = 100
	var direct, proxied []time.Duration
	b.ResetTimer()
	for len(direct) < b.N {
		n := min(slice, b.N-len(direct))
		for range n {
			direct = append(direct, get(l.veeamURL))
		}
		for range n {
			proxied = append(proxied, get(l.proxyURL))
		}
	}
	b.StopTimer()
	l.proxy.Settle()
	if s := l.proxy.Summary("warn"); s.Stats.Violations != 0 {
		b.Fatalf("the mock's answers broke the contract through the proxy: %v", s.Violations)
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	q := func(ds []time.Duration, p float64) time.Duration {
		s := slices.Clone(ds)
		slices.Sort(s)
		return s[min(len(s)-1, int(float64(len(s))*p))]
	}
	b.ReportMetric(ms(q(direct, 0.50)), "direct-p50-ms")
	b.ReportMetric(ms(q(direct, 0.99)), "direct-p99-ms")
	b.ReportMetric(ms(q(proxied, 0.50)), "proxy-p50-ms")
	b.ReportMetric(ms(q(proxied, 0.99)), "proxy-p99-ms")
	b.ReportMetric(ms(q(proxied, 0.50)-q(direct, 0.50)), "overhead-p50-ms")
	b.ReportMetric(ms(q(proxied, 0.99)-q(direct, 0.99)), "overhead-p99-ms")
	b.ReportMetric(0, "ns/op")
}
