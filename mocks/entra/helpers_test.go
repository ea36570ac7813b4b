package entra

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/mocks/journal"
	"github.com/vbharness/vbharness/mocks/tlsca"
)

// testServer is a mock Entra over HTTPS (a certificate from the local CA, as
// `vbharness mock` serves it) on a virtual clock, with a client that trusts the CA.
type testServer struct {
	*Server
	URL    string // https://127.0.0.1:port
	Client *http.Client
	Clock  *clock.Virtual
}

var (
	caOnce sync.Once
	testCA *tlsca.CA
	caErr  error
)

// newTestServer starts a mock Entra for one test and stops it when the test ends.
func newTestServer(t *testing.T, opts ...Option) *testServer {
	t.Helper()
	return newTestServerAt(t, time.Time{}, opts...)
}

// newTestServerAt is newTestServer with the virtual clock starting at start (zero:
// clock.DefaultStart). Clients that stamp assertions with the wall clock (MSAL) need
// start = time.Now().
func newTestServerAt(t *testing.T, start time.Time, opts ...Option) *testServer {
	t.Helper()
	caOnce.Do(func() { testCA, caErr = tlsca.New(time.Now()) })
	if caErr != nil {
		t.Fatalf("create CA: %v", caErr)
	}
	cert, err := testCA.Issue(time.Now())
	if err != nil {
		t.Fatalf("issue server certificate: %v", err)
	}
	clk := clock.NewVirtual(start)
	srv := New(clk, opts...)
	hs := httptest.NewUnstartedServer(srv)
	hs.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	hs.StartTLS()
	t.Cleanup(hs.Close)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: testCA.Pool()}}
	t.Cleanup(tr.CloseIdleConnections)
	return &testServer{Server: srv, URL: hs.URL, Client: &http.Client{Transport: tr}, Clock: clk}
}

// browser returns a client with a cookie jar that does not follow redirects.
func (ts *testServer) browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Transport: ts.Client.Transport, Jar: jar}
}

// reply is a decoded HTTP answer.
type reply struct {
	Status int
	Header http.Header
	Raw    []byte
	JSON   map[string]any
}

func (r reply) str(key string) string {
	s, _ := r.JSON[key].(string)
	return s
}

// do sends a request and reads the whole answer.
func (ts *testServer) do(t *testing.T, req *http.Request) reply {
	t.Helper()
	resp, err := ts.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", req.URL.Path, err)
	}
	out := reply{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	_ = json.Unmarshal(raw, &out.JSON)
	return out
}

// post sends an x-www-form-urlencoded body.
func (ts *testServer) post(t *testing.T, path string, form url.Values, hdr ...string) reply {
	t.Helper()
	return ts.postRaw(t, path, "application/x-www-form-urlencoded", form.Encode(), hdr...)
}

// postRaw sends body with contentType; hdr holds extra header name/value pairs.
func (ts *testServer) postRaw(t *testing.T, path, contentType, body string, hdr ...string) reply {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, ts.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return ts.do(t, req)
}

func (ts *testServer) get(t *testing.T, path string) reply {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ts.do(t, req)
}

// control calls the control API with a JSON body (nil for none).
func (ts *testServer) control(t *testing.T, method, path string, body any) reply {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, ts.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return ts.do(t, req)
}

const (
	tenantPath = "/" + DefaultTenant
	dcPath     = tenantPath + "/oauth2/v2.0/devicecode"
	tokenPath  = tenantPath + "/oauth2/v2.0/token"
	seedScope  = "Directory.AccessAsUser.All User.ReadWrite.All offline_access"
)

// issueCode requests a device code for Azure CLI and fails the test unless it gets one.
func (ts *testServer) issueCode(t *testing.T, scope string) deviceCodeResponse {
	t.Helper()
	r := ts.post(t, dcPath, url.Values{"client_id": {AzureCLIClientID}, "scope": {scope}})
	if r.Status != http.StatusOK {
		t.Fatalf("devicecode: %d %s", r.Status, r.Raw)
	}
	var d deviceCodeResponse
	if err := json.Unmarshal(r.Raw, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// approve approves a code through the control API.
func (ts *testServer) approve(t *testing.T, userCode string) {
	t.Helper()
	if r := ts.control(t, http.MethodPost, "/_mock/devicecodes/approve", map[string]string{"user_code": userCode}); r.Status != http.StatusOK {
		t.Fatalf("approve: %d %s", r.Status, r.Raw)
	}
}

// pollForm is the seed's token request body for a device code.
func pollForm(deviceCode string) url.Values {
	return url.Values{"grant_type": {grantDeviceCodeURN}, "client_id": {AzureCLIClientID}, "device_code": {deviceCode}}
}

// tokens runs a whole device flow with extra poll fields and returns the success reply.
func (ts *testServer) tokens(t *testing.T, scope string, extra url.Values) reply {
	t.Helper()
	d := ts.issueCode(t, scope)
	ts.approve(t, d.UserCode)
	f := pollForm(d.DeviceCode)
	for k, v := range extra {
		f[k] = v
	}
	r := ts.post(t, tokenPath, f)
	if r.Status != http.StatusOK {
		t.Fatalf("token: %d %s", r.Status, r.Raw)
	}
	return r
}

// requests returns the journal entries for a path prefix.
func (ts *testServer) requests(path string) []journal.Entry {
	return ts.Control().Journal().List(journal.Filter{Path: path})
}

// topKeys returns the top-level keys of a JSON object in document order.
func topKeys(t *testing.T, raw []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %s", raw)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("decode keys: %v", err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatalf("decode value: %v", err)
		}
	}
	return keys
}
