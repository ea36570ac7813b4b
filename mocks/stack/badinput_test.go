package stack

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vbharness/vbharness/mocks/entra"
	"github.com/vbharness/vbharness/mocks/veeam"
)

// Short server timeouts for the slow-client tests; the defaults are 10 s, 30 s, 120 s.
const (
	testReadHeaderTimeout = 300 * time.Millisecond
	testReadTimeout       = 1 * time.Second
	testIdleTimeout       = 500 * time.Millisecond
)

// serveForBadInput starts a standalone stack on loopback with short timeouts and returns
// it with a client that trusts its CA and the CA pool.
func serveForBadInput(t *testing.T) (*Running, *http.Client, *x509.CertPool) {
	t.Helper()
	run, err := Serve(context.Background(), ServeOptions{EntraAddr: "127.0.0.1:0", VeeamAddr: "127.0.0.1:0",
		StateDir: filepath.Join(t.TempDir(), "state"), ReadHeaderTimeout: testReadHeaderTimeout,
		ReadTimeout: testReadTimeout, IdleTimeout: testIdleTimeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = run.Shutdown(context.Background()) })
	pem, err := os.ReadFile(run.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	// One connection per request: a server that refuses a body (413) closes its
	// connection, and a pooled one it closed could be handed to the next case, which
	// would then read EOF instead of its answer.
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	return run, &http.Client{Transport: tr, Timeout: 30 * time.Second}, pool
}

// Answer shapes of the two services and their control APIs.
const (
	shapeEntra     = "entra"      // {"error", "error_description" ending in Trace ID …, …}
	shapeVeeam     = "veeam"      // RESTExceptionInfo {"message", "errorCode", "stackTrace"}
	shapeOAuth     = "oauth"      // Veeam's token errors {"error", "error_description"}
	shapeControl   = "control"    // {"error": "…"}
	shapeEmpty401  = "empty401"   // Veeam's 401: no body, WWW-Authenticate: Bearer
	shapeHTML      = "html"       // the device login page
	shapeAnyTokens = "any tokens" // a 200 token response
)

func checkShape(t *testing.T, shape string, resp *http.Response, body []byte) {
	t.Helper()
	var obj map[string]json.RawMessage
	isJSON := json.Unmarshal(body, &obj) == nil
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	str := func(k string) string {
		var s string
		_ = json.Unmarshal(obj[k], &s)
		return s
	}
	switch shape {
	case shapeEntra:
		if !isJSON || str("error") == "" || !strings.Contains(str("error_description"), " Trace ID: ") || resp.Header.Get("x-ms-request-id") == "" {
			t.Errorf("not in Entra's shape: %s", body)
		}
	case shapeVeeam:
		if !isJSON || !slices.Equal(keys, []string{"errorCode", "message", "stackTrace"}) || str("message") == "" {
			t.Errorf("not a RESTExceptionInfo: %s", body)
		}
	case shapeOAuth:
		if !isJSON || !slices.Equal(keys, []string{"error", "error_description"}) || str("error_description") == "" {
			t.Errorf("not an OAuth error: %s", body)
		}
	case shapeControl:
		if !isJSON || !slices.Equal(keys, []string{"error"}) || str("error") == "" {
			t.Errorf("not the control API's error shape: %s", body)
		}
	case shapeEmpty401:
		if len(body) != 0 || resp.Header.Get("WWW-Authenticate") != "Bearer" {
			t.Errorf("not Veeam's 401 (empty body, WWW-Authenticate: Bearer): %q %v", body, resp.Header)
		}
	case shapeHTML:
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(body), "<html") {
			t.Errorf("not the login page: %s %.200s", resp.Header.Get("Content-Type"), body)
		}
	case shapeAnyTokens:
		if !isJSON || str("access_token") == "" {
			t.Errorf("not a token response: %s", body)
		}
	}
}

// TestBadInputEveryEndpoint sends every endpoint of both standalone mocks what a broken
// or hostile client might: bodies over the 1 MiB limit, wrong or missing content types,
// invalid UTF-8, repeated parameters, unknown methods and paths. Each answer has the
// status the real service gives (or the mock's documented stand-in) in that service's
// shape; 405s name the allowed methods in Allow; nothing answers 5xx.
func TestBadInputEveryEndpoint(t *testing.T) {
	t.Parallel()
	run, hc, _ := serveForBadInput(t)
	big := strings.Repeat("A", 1<<20)
	tenant := "/" + entra.DefaultTenant
	dc, token := tenant+"/oauth2/v2.0/devicecode", tenant+"/oauth2/v2.0/token"
	const form = "application/x-www-form-urlencoded"
	adminForm := "grant_type=password&username=Administrator&password=" + url.QueryEscape(run.AdminPassword)

	// An administrator's token for the authenticated Veeam routes.
	admin := func() string {
		resp, err := hc.Post(run.VeeamURL+"/v8/token", form, strings.NewReader(adminForm))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var tr struct {
			AccessToken string `json:"access_token"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil || tr.AccessToken == "" {
			t.Fatalf("admin login: %d %v", resp.StatusCode, err)
		}
		return tr.AccessToken
	}()
	job := veeam.DefaultFixtures().Jobs[0].ID

	cases := []struct {
		name         string
		veeam        bool
		method, path string
		ctype, body  string
		bearer       bool
		status       int
		shape        string
		allow        string // the Allow header a 405 must carry
	}{
		{"entra devicecode: a body over 1 MiB is 413", false, "POST", dc, form, "client_id=" + big, false, 413, shapeEntra, ""},
		{"entra token: a body over 1 MiB is 413", false, "POST", token, form, "grant_type=device_code&device_code=" + big, false, 413, shapeEntra, ""},
		{"entra token: JSON is not read, so grant_type is missing", false, "POST", token, "application/json", `{"grant_type":"device_code"}`, false, 400, shapeEntra, ""},
		{"entra token: no content type is not read either", false, "POST", token, "", "grant_type=device_code", false, 400, shapeEntra, ""},
		{"entra token: invalid UTF-8 in the client id is an unknown client", false, "POST", token, form, "grant_type=device_code&device_code=x&client_id=%FF%FE", false, 400, shapeEntra, ""},
		{"entra token: a body of raw invalid UTF-8", false, "POST", token, form, "\xff\xfe\xfd=\xc3\x28", false, 400, shapeEntra, ""},
		{"entra token: a repeated parameter is AADSTS9000411", false, "POST", token, form, "grant_type=device_code&grant_type=refresh_token&client_id=" + entra.AzureCLIClientID, false, 400, shapeEntra, ""},
		{"entra devicecode: a repeated scope is AADSTS9000411", false, "POST", dc, form, "client_id=" + entra.AzureCLIClientID + "&scope=User.Read&scope=openid", false, 400, shapeEntra, ""},
		{"entra token: GET is AADSTS900561, as Entra answers", false, "GET", token, "", "", false, 400, shapeEntra, ""},
		{"entra devicecode: DELETE is AADSTS900561", false, "DELETE", dc, "", "", false, 400, shapeEntra, ""},
		{"entra openid-configuration: POST is 405 with Allow", false, "POST", tenant + "/v2.0/.well-known/openid-configuration", form, "", false, 405, shapeEntra, "GET, OPTIONS"},
		{"entra keys: DELETE is 405 with Allow", false, "DELETE", tenant + "/discovery/v2.0/keys", "", "", false, 405, shapeEntra, "GET, OPTIONS"},
		{"entra v1 keys: PUT is 405 with Allow", false, "PUT", tenant + "/discovery/keys", "", "", false, 405, shapeEntra, "GET, OPTIONS"},
		{"entra instance discovery: POST is 405 with Allow", false, "POST", "/common/discovery/instance", form, "", false, 405, shapeEntra, "GET, OPTIONS"},
		{"entra openid-configuration: a body over 1 MiB is 413", false, "GET", tenant + "/v2.0/.well-known/openid-configuration", form, big + "A", false, 413, shapeEntra, ""},
		{"entra: an unknown path is 404 JSON", false, "GET", tenant + "/oauth2/v2.0/authorize", "", "", false, 404, shapeEntra, ""},
		{"entra: invalid UTF-8 in the tenant is a malformed tenant", false, "GET", "/%FF%FE/v2.0/.well-known/openid-configuration", "", "", false, 400, shapeEntra, ""},
		{"entra devicelogin: PUT is 405 with Allow", false, "PUT", "/devicelogin", form, "", false, 405, shapeEntra, "GET, HEAD, POST"},
		{"entra devicelogin: a post without its CSRF token is refused on the page", false, "POST", "/devicelogin", form, "otc=ABCDEFGHJ", false, 403, shapeHTML, ""},
		{"entra devicelogin: a form of raw invalid UTF-8", false, "POST", "/devicelogin", form, "\xff\xfe=%zz", false, 400, shapeHTML, ""},
		{"entra control: a body over 1 MiB is 413", false, "POST", "/_mock/devicecodes/approve", "application/json", `{"user_code":"` + big + `"}`, false, 413, shapeControl, ""},
		{"entra control: invalid UTF-8 JSON is refused", false, "POST", "/_mock/devicecodes/approve", "application/json", "{\"user_code\":\"\xff\xfe\"}", false, 400, shapeControl, ""},
		{"entra control: a repeated member is refused, not the last taken", false, "POST", "/_mock/devicecodes/approve", "application/json", `{"user_code":"A","user_code":"B"}`, false, 400, shapeControl, ""},
		{"entra control: a text/plain body is refused (a page could send it cross-site)", false, "PUT", "/_mock/settings", "text/plain", "interval=5", false, 415, shapeControl, ""},
		{"veeam control: a form body is refused (a page could send it cross-site)", true, "POST", "/_mock/clock/advance", "application/x-www-form-urlencoded", "duration=61m", false, 415, shapeControl, ""},
		{"entra control: PATCH is 405 with Allow", false, "PATCH", "/_mock/settings", "application/json", "{}", false, 405, shapeControl, "GET, PUT"},
		{"entra control: an unknown route is 404", false, "GET", "/_mock/nothing", "", "", false, 404, shapeControl, ""},

		{"veeam token: a body over 1 MiB is a 400 token error", true, "POST", "/v8/token", form, adminForm + "&x=" + big, false, 400, shapeOAuth, ""},
		{"veeam token: text/plain is refused", true, "POST", "/v8/token", "text/plain", adminForm, false, 400, shapeOAuth, ""},
		{"veeam token: a body without a content type is refused", true, "POST", "/v8/token", "", adminForm, false, 400, shapeOAuth, ""},
		{"veeam token: no body at all", true, "POST", "/v8/token", form, "", false, 400, shapeOAuth, ""},
		{"veeam token: invalid UTF-8 in the password is a failed login", true, "POST", "/v8/token", form, "grant_type=password&username=Administrator&password=%FF%FE", false, 400, shapeOAuth, ""},
		{"veeam token: a JSON array is refused", true, "POST", "/v8/token", "application/json", `["grant_type","password"]`, false, 400, shapeOAuth, ""},
		{"veeam token: JSON with invalid UTF-8", true, "POST", "/v8/token", "application/json", "{\"grant_type\":\"password\",\"username\":\"\xff\",\"password\":\"x\"}", false, 400, shapeOAuth, ""},
		{"veeam token: a repeated grant_type, the first wins", true, "POST", "/v8/token", form, "grant_type=password&grant_type=refresh_token&username=Administrator&password=" + url.QueryEscape(run.AdminPassword), false, 200, shapeAnyTokens, ""},
		{"veeam token: GET is 405 with Allow", true, "GET", "/v8/token", "", "", false, 405, shapeVeeam, "POST"},
		{"veeam logout: GET is 405 with Allow", true, "GET", "/v8/token/logout", "", "", false, 405, shapeVeeam, "POST"},
		{"veeam Organizations: PATCH is 405 with Allow", true, "PATCH", "/v8/Organizations", "application/json", "{}", true, 405, shapeVeeam, "GET, POST"},
		{"veeam job start: GET is 405 with Allow", true, "GET", "/v8/Jobs/" + job + "/start", "", "", true, 405, shapeVeeam, "POST"},
		{"veeam Organizations: a body over 1 MiB is 413", true, "GET", "/v8/Organizations", "application/json", big + "A", true, 413, shapeVeeam, ""},
		{"veeam job start: a body that is not JSON", true, "POST", "/v8/Jobs/" + job + "/start", "application/json", "{full:", true, 400, shapeVeeam, ""},
		{"veeam job start: JSON with invalid UTF-8", true, "POST", "/v8/Jobs/" + job + "/start", "application/json", "{\"full\":\"\xff\"}", true, 400, shapeVeeam, ""},
		{"veeam Jobs: invalid UTF-8 in a filter", true, "GET", "/v8/Jobs?organizationId=%FF%FE", "", "", true, 400, shapeVeeam, ""},
		{"veeam Jobs: a limit out of range", true, "GET", "/v8/Jobs?limit=0", "", "", true, 400, shapeVeeam, ""},
		{"veeam Jobs: a malformed id", true, "GET", "/v8/Jobs/not-a-guid", "", "", true, 400, shapeVeeam, ""},
		{"veeam: no token is 401", true, "GET", "/v8/Organizations", "", "", false, 401, shapeEmpty401, ""},
		{"veeam: an unknown path is 404", true, "GET", "/v8/Nothing", "", "", false, 404, shapeVeeam, ""},
		{"veeam: an old API version is 404", true, "GET", "/v7/Organizations", "", "", false, 404, shapeVeeam, ""},
		{"veeam control: a body over 1 MiB is 413", true, "PUT", "/_mock/settings", "application/json", `{"x":"` + big + `"}`, false, 413, shapeControl, ""},
		{"veeam control: an unknown field is 400", true, "PUT", "/_mock/settings", "application/json", `{"tenantAuth":true}`, false, 400, shapeControl, ""},
		{"veeam control: invalid UTF-8 JSON is refused", true, "POST", "/_mock/organizations", "application/json", "{\"name\":\"\xff\"}", false, 400, shapeControl, ""},
		{"veeam control: DELETE is 405 with Allow", true, "DELETE", "/_mock/settings", "", "", false, 405, shapeControl, "GET, PUT"},
	}
	// One case at a time: dozens of TLS handshakes at once under -race on a loaded
	// machine can outlast the server's 10 s handshake limit, and the client reads EOF.
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			base := run.EntraURL
			if c.veeam {
				base = run.VeeamURL
			}
			// A connection the loaded machine lost before any answer (EOF, "server closed
			// idle connection") is not an answer: try again, at most twice more.
			var resp *http.Response
			var err error
			for try := 0; try < 3; try++ {
				var rd io.Reader
				if c.body != "" {
					rd = strings.NewReader(c.body)
				}
				req, rerr := http.NewRequest(c.method, base+c.path, rd)
				if rerr != nil {
					t.Fatal(rerr)
				}
				if c.ctype != "" {
					req.Header.Set("Content-Type", c.ctype)
				}
				if c.bearer {
					req.Header.Set("Authorization", "Bearer "+admin)
				}
				if resp, err = hc.Do(req); err == nil {
					break
				}
				t.Logf("try %d: %v", try+1, err)
			}
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %.300s", resp.StatusCode, c.status, body)
			}
			checkShape(t, c.shape, resp, body)
			if got := resp.Header.Get("Allow"); got != c.allow {
				t.Errorf("Allow = %q, want %q", got, c.allow)
			}
		})
	}
}

// Headers over the server's 64 KiB limit are refused by net/http before any handler
// runs, with 431 Request Header Fields Too Large (the real services sit behind
// HTTP.sys, which refuses them with its own 400 page), and the server goes on serving.
func TestVeryLongHeadersAreRefused(t *testing.T) {
	t.Parallel()
	run, hc, _ := serveForBadInput(t)
	for _, base := range []string{run.EntraURL + "/" + entra.DefaultTenant + "/v2.0/.well-known/openid-configuration", run.VeeamURL + "/v8/Health"} {
		req, _ := http.NewRequest("GET", base, nil)
		req.Header.Set("X-Padding", strings.Repeat("p", MaxHeaderBytes+4096))
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("%s with a %d-byte header: %d, want 431", base, MaxHeaderBytes+4096, resp.StatusCode)
		}
		resp, err = hc.Get(base)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s after the long header: %d", base, resp.StatusCode)
		}
	}
}

// Slow and idle clients cannot hold a connection for ever: a client that opens a
// connection and never starts TLS, one that trickles its request headers, one that
// trickles its body, and an idle keep-alive connection are all cut off by the
// server's timeouts (read-header, read, idle), on both mocks.
func TestSlowClientsAreCutOff(t *testing.T) {
	t.Parallel()
	run, _, pool := serveForBadInput(t)
	for _, srv := range []struct{ name, url string }{{"entra", run.EntraURL}, {"veeam", run.VeeamURL}} {
		addr := strings.TrimPrefix(srv.url, "https://")
		dialTLS := func(t *testing.T) *tls.Conn {
			t.Helper()
			c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			return c
		}
		cases := []struct {
			name  string
			limit time.Duration // the timeout that must close the connection
			conn  func(t *testing.T) net.Conn
			head  string // written at once
			feed  string // then written one byte every 50 ms until the server closes
		}{
			{"no TLS handshake", testReadHeaderTimeout, func(t *testing.T) net.Conn {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
				return c
			}, "", ""},
			{"request headers trickled (slowloris)", testReadHeaderTimeout, func(t *testing.T) net.Conn { return dialTLS(t) },
				"GET /v8/Health HTTP/1.1\r\nHost: 127.0.0.1\r\n", "X-Slow: " + strings.Repeat("s", 200)},
			{"body trickled", testReadTimeout, func(t *testing.T) net.Conn { return dialTLS(t) },
				"POST /v8/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n", strings.Repeat("a", 1000)},
			{"an idle keep-alive connection", testIdleTimeout, func(t *testing.T) net.Conn {
				c := dialTLS(t)
				if _, err := io.WriteString(c, "GET /_mock/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"); err != nil {
					t.Fatal(err)
				}
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil {
					t.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return c
			}, "", ""},
		}
		for _, c := range cases {
			t.Run(srv.name+": "+c.name, func(t *testing.T) {
				t.Parallel()
				conn := c.conn(t)
				start := time.Now()
				if _, err := io.WriteString(conn, c.head); err != nil {
					t.Fatal(err)
				}
				closed := make(chan error, 1)
				go func() {
					buf := make([]byte, 4096)
					for {
						if _, err := conn.Read(buf); err != nil {
							closed <- err
							return
						}
					}
				}()
				bound := time.After(c.limit + 5*time.Second)
				feed := c.feed
				tick := time.NewTicker(50 * time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case err := <-closed:
						if took := time.Since(start); took < c.limit/2 {
							t.Errorf("closed after %v, before the %v timeout could have fired: %v", took, c.limit, err)
						}
						if errors.Is(err, os.ErrDeadlineExceeded) {
							t.Errorf("the client's own deadline fired, not the server: %v", err)
						}
						return
					case <-bound:
						t.Fatalf("the server kept the connection open for %v (timeout %v)", c.limit+5*time.Second, c.limit)
					case <-tick.C:
						if feed != "" {
							if _, err := io.WriteString(conn, feed[:1]); err == nil {
								feed = feed[1:]
							}
						}
					}
				}
			})
		}
	}
}
