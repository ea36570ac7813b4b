package entra

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/mocks/tlsca"
)

// benchClients is how many client goroutines each core runs (b.SetParallelism): enough
// requests in flight to keep the server busy while clients wait, as many callers would.
const benchClients = 4

// benchServer is the mock over loopback HTTPS with keep-alive: a certificate from the
// local CA (as `vbharness mock` serves it) and a client trusting it that keeps one
// connection per client goroutine. Client and server share the cores.
type benchServer struct {
	srv    *Server
	url    string
	client *http.Client
}

func newBenchServer(b *testing.B) *benchServer {
	b.Helper()
	ca, err := tlsca.New(time.Now())
	if err != nil {
		b.Fatal(err)
	}
	cert, err := ca.Issue(time.Now())
	if err != nil {
		b.Fatal(err)
	}
	srv := New(clock.NewVirtual(time.Time{}))
	if err := srv.SetAutoApprove(&AutoApprove{AfterPolls: 0}); err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(srv)
	hs.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	hs.StartTLS()
	b.Cleanup(hs.Close)
	tr := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: ca.Pool()},
		MaxIdleConnsPerHost: 256,
	}
	b.Cleanup(tr.CloseIdleConnections)
	return &benchServer{srv: srv, url: hs.URL, client: &http.Client{Transport: tr}}
}

// post sends a form and decodes a 200 answer into out.
func (s *benchServer) post(b *testing.B, path string, form url.Values, out any) bool {
	resp, err := s.client.Post(s.url+path, formContentType, strings.NewReader(form.Encode()))
	if err != nil {
		b.Error(err)
		return false
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Errorf("%s: status %d: %.200s (%v)", path, resp.StatusCode, body, err)
		return false
	}
	if err := json.Unmarshal(body, out); err != nil {
		b.Error(err)
		return false
	}
	return true
}

// benchRedemptions runs POST devicecode + POST token (the first poll redeems: the code
// is auto-approved) per operation. sigs is the RS256 signatures one token response
// needs, reported as sigs/op so the figure can be put next to the signing limit.
func benchRedemptions(b *testing.B, scope string, sigs int) {
	s := newBenchServer(b)
	b.ReportAllocs()
	b.SetParallelism(benchClients)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			var dc deviceCodeResponse
			if !s.post(b, dcPath, url.Values{"client_id": {AzureCLIClientID}, "scope": {scope}}, &dc) {
				return
			}
			var tok tokenResponse
			if !s.post(b, tokenPath, pollForm(dc.DeviceCode), &tok) {
				return
			}
			if tok.AccessToken == "" || (sigs == 2) != (tok.IDToken != "") {
				b.Errorf("token response has the wrong tokens for %q", scope)
				return
			}
		}
	})
	b.ReportMetric(float64(sigs), "sigs/op")
}

// BenchmarkDeviceCodeRedemptionHTTPS is one device-code redemption over loopback HTTPS
// with the seed's scope (no openid): a new code, then the poll that redeems it. The
// response needs one signature (the access token; the refresh token is sealed with
// AES-GCM, not signed). The devicecode request is included in each operation, so the
// figure understates the redemption rate alone.
func BenchmarkDeviceCodeRedemptionHTTPS(b *testing.B) {
	benchRedemptions(b, seedScope, 1)
}

// BenchmarkDeviceCodeRedemptionOpenIDHTTPS is the same with openid requested: the
// response also carries an id token, so it needs two signatures.
func BenchmarkDeviceCodeRedemptionOpenIDHTTPS(b *testing.B) {
	benchRedemptions(b, "openid profile "+seedScope, 2)
}

// BenchmarkRefreshGrantHTTPS is one refresh_token grant over loopback HTTPS with the
// seed's scope: one signature (the access token) plus opening and sealing refresh
// tokens with AES-GCM.
func BenchmarkRefreshGrantHTTPS(b *testing.B) {
	s := newBenchServer(b)
	var dc deviceCodeResponse
	var first tokenResponse
	if !s.post(b, dcPath, url.Values{"client_id": {AzureCLIClientID}, "scope": {seedScope}}, &dc) ||
		!s.post(b, tokenPath, pollForm(dc.DeviceCode), &first) {
		b.FailNow()
	}
	form := url.Values{"grant_type": {"refresh_token"}, "client_id": {AzureCLIClientID}, "refresh_token": {first.RefreshToken}}
	b.ReportAllocs()
	b.SetParallelism(benchClients)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			var tok tokenResponse
			if !s.post(b, tokenPath, form, &tok) {
				return
			}
			if tok.AccessToken == "" || tok.RefreshToken == "" {
				b.Error("refresh answered without a token pair")
				return
			}
		}
	})
	b.ReportMetric(1, "sigs/op")
}

// BenchmarkClientCredentialsHTTPS is one client_credentials grant over loopback HTTPS:
// a confidential client with a secret asks for an app-only Graph token. One signature
// (the access token), no refresh or id token: the request the peer comparison
// (cmd/vbharness BenchmarkPeerIssuance) sends to the mock and to oauth2-mock-server.
func BenchmarkClientCredentialsHTTPS(b *testing.B) {
	s := newBenchServer(b)
	const id, secret = "0b5c1d2e-3f4a-4b6c-8d7e-9f0a1b2c3d4e", "bench-secret"
	if _, err := s.srv.RegisterApplication(App{ClientID: id, DisplayName: "bench daemon", ClientSecret: secret,
		Permissions: Permissions{Graph: []string{"User.Read.All"}}}); err != nil {
		b.Fatal(err)
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret},
		"scope": {"https://graph.microsoft.com/.default"}}
	b.ReportAllocs()
	b.SetParallelism(benchClients)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			var tok tokenResponse
			if !s.post(b, tokenPath, form, &tok) {
				return
			}
			if tok.AccessToken == "" || tok.RefreshToken != "" || tok.IDToken != "" {
				b.Error("client_credentials answered without exactly an access token")
				return
			}
		}
	})
	b.ReportMetric(1, "sigs/op")
}

// BenchmarkDeviceCodeIssueFullStore is POST /devicecode, called as a handler, while the
// store holds MaxDeviceCodes codes that have expired but are still kept (for a late
// poll's expired_token): a standalone mock that issues codes faster than they age out
// (its real clock keeps a code for two lifetimes, 30 minutes) runs like this. Each new
// code evicts the oldest finished one.
func BenchmarkDeviceCodeIssueFullStore(b *testing.B) {
	clk := clock.NewVirtual(time.Time{})
	srv := New(clk)
	now := clk.Now()
	srv.store.perKey1 = MaxDeviceCodes
	for i := range MaxDeviceCodes {
		srv.store.add(&deviceCode{deviceCode: fmt.Sprintf("code-%d", i), clientID: fmt.Sprintf("client-%d", i%8),
			issued: now.Add(-DefaultDeviceCodeLifetime), expires: now, state: StatePending}, now.Add(-DefaultDeviceCodeLifetime))
	}
	srv.store.perKey1 = MaxDeviceCodesPerClient
	body := url.Values{"client_id": {AzureCLIClientID}, "scope": {seedScope}}.Encode()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, dcPath, strings.NewReader(body))
		req.Header.Set("Content-Type", formContentType)
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
	b.StopTimer()
	if n := len(srv.store.codes); n > MaxDeviceCodes {
		b.Fatalf("the store holds %d codes, more than %d", n, MaxDeviceCodes)
	}
}
