package proxy_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vbharness/vbharness/mocks/contract"
	"github.com/vbharness/vbharness/mocks/proxy"
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

// roundTripFunc answers the proxy's upstream requests in-process, so that a growth
// benchmark measures the proxy (forwarding, check, journal, statistics), not TLS and a
// mock's handlers.
type roundTripFunc func(*http.Request) *http.Response

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) {
	resp := f(r)
	resp.Request = r
	return resp, nil
}

// jsonAnswer is an upstream's JSON answer.
func jsonAnswer(status int, body string) *http.Response {
	return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json; charset=utf-8"}},
		Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body))}
}

// retainedHeap returns the live heap after a collection.
func retainedHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkProxyGrowth shows how the proxy's time and memory grow with the number of
// exchanges it has handled, at three sizes 10x apart (the growth rule of
// docs/performance.md, "Growth"): each size sends n exchanges through a fresh proxy
// (ServeHTTP in-process, the upstream answered in-process, the contract checked with
// one mocks/contract checker, warmed up, the journal at its defaults) and reports the time per exchange
// (ns/exchange, the check and journal included: the proxy is closed before the clock
// stops) and the heap still live once the proxy has handled them all (retained-B, with
// the proxy alive; the heap before it was built is subtracted). Cases:
//
//   - same-op: GET /v8/Jobs, one documented operation, every answer valid;
//   - unknown-paths: GET /v8/NoSuchThing/<i>, n distinct paths the document lacks (404);
//   - violations: GET /v8/Jobs answered without its required "results": one violation
//     each;
//   - new-tokens: same-op with a new bearer token on each exchange, which the proxy's
//     scrubber learns (and keeps: it is not bounded, see docs/performance.md "Growth").
//
// Run it one size at a time at -benchtime 1x (the largest takes seconds, not minutes):
//
//	go test -run '^$' -bench 'ProxyGrowth' -benchtime 1x ./mocks/proxy/
func BenchmarkProxyGrowth(b *testing.B) {
	cases := []struct {
		name     string
		path     func(i int) string
		answer   func() *http.Response
		findings int  // violations per exchange
		tokens   bool // a new bearer token on each exchange, as clients signing in again and again
	}{
		{"same-op", func(int) string { return "/v8/Jobs" },
			func() *http.Response { return jsonAnswer(200, `{"offset":0,"limit":30,"results":[]}`) }, 0, false},
		{"unknown-paths", func(i int) string { return "/v8/NoSuchThing/" + strconv.Itoa(i) },
			func() *http.Response { return jsonAnswer(404, `{"message":"not found","errorCode":"NotFound"}`) }, 0, false},
		{"violations", func(int) string { return "/v8/Jobs" },
			func() *http.Response { return jsonAnswer(200, `{"offset":0,"limit":30}`) }, 1, false},
		{"new-tokens", func(int) string { return "/v8/Jobs" },
			func() *http.Response { return jsonAnswer(200, `{"offset":0,"limit":30,"results":[]}`) }, 0, true},
	}
	veeamURL, _ := url.Parse("https://vb365.lab.invalid:4443")
	checker := contract.New()
	run := func(c int, n int) *proxy.Proxy {
		p := proxy.New(veeamURL, proxy.WithChecker(checker),
			proxy.WithTransport(roundTripFunc(func(*http.Request) *http.Response { return cases[c].answer() })))
		for i := range n {
			req := httptest.NewRequest("GET", cases[c].path(i), nil)
			tok := "eyJhbGciOiJSUzI1NiJ9.bench.sig"
			if cases[c].tokens {
				tok = fmt.Sprintf("eyJhbGciOiJSUzI1NiJ9.bench-%d.sig%08d", i, i)
			}
			req.Header.Set("Authorization", "Bearer "+tok)
			p.ServeHTTP(httptest.NewRecorder(), req)
		}
		p.Close()
		return p
	}
	for c := range cases {
		run(c, 10) // warm up: the document's routes and schemas, the checker's caches
	}
	for ci, c := range cases {
		for _, n := range []int{1000, 10000, 100000} {
			b.Run(fmt.Sprintf("%s/n=%d", c.name, n), func(b *testing.B) {
				var retained uint64
				var elapsed time.Duration
				for range b.N {
					before := retainedHeap()
					start := time.Now()
					p := run(ci, n)
					elapsed += time.Since(start)
					if s := p.Summary("warn"); s.Stats.Exchanges != n || s.Stats.Violations != n*c.findings {
						b.Fatalf("%d exchanges, %d violations; want %d, %d", s.Stats.Exchanges, s.Stats.Violations, n, n*c.findings)
					}
					retained = retainedHeap() - before
					runtime.KeepAlive(p)
				}
				b.ReportMetric(float64(elapsed.Nanoseconds())/float64(b.N*n), "ns/exchange")
				b.ReportMetric(float64(retained), "retained-B")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}
