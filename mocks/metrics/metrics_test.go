package metrics

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vbharness/vbharness/mocks/control"
)

func TestRefusalCode(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		status int
		body   string
		want   string
	}{
		{"an OAuth error", 400, `{"error":"authorization_pending","error_description":"AADSTS70016: …"}`, "authorization_pending"},
		{"Veeam's errorCode", 404, `{"message":"Not found","errorCode":"NotFound","stackTrace":null}`, "notfound"},
		{"a bare 401", 401, ``, "http_401"},
		{"a Veeam error without a code", 400, `{"message":"bad","errorCode":null}`, "http_400"},
		{"an HTML page", 502, `<html>bad gateway</html>`, "http_502"},
		{"a code a fault rule made up", 400, `{"error":"` + strings.Repeat("x", 200) + `"}`, Other},
		{"a code with spaces", 400, `{"error":"drop table"}`, Other},
	}
	for _, c := range cases {
		if got := RefusalCode(c.status, []byte(c.body)); got != c.want {
			t.Errorf("%s: RefusalCode = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestLabelsStayBounded(t *testing.T) {
	t.Parallel()
	m := New()
	for i := range MaxCodes + 50 {
		m.Observe(control.Observation{Server: "entra", Method: fmt.Sprintf("M%d", i), Status: 400,
			Latency: time.Millisecond, ErrorBody: []byte(fmt.Sprintf(`{"error":"code_%d"}`, i))})
	}
	m.Observe(control.Observation{Server: "veeam", Method: "POST", Route: "/v8/token", Status: 200, GrantType: "urn:example:made-up"})
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/_mock/metrics", nil))
	out := rec.Body.String()
	if n := strings.Count(out, "vbharness_mock_refusals_total{"); n != MaxCodes+1 {
		t.Errorf("%d refusal series, want %d codes and other", n, MaxCodes+1)
	}
	for _, want := range []string{
		`vbharness_mock_refusals_total{code="other",server="entra"} 50`,
		`vbharness_mock_requests_total{method="other",route="unmatched",server="entra",status="400"} 150`,
		`vbharness_mock_tokens_issued_total{kind="other",server="veeam"} 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the metrics lack %s", want)
		}
	}
	if strings.Contains(out, `method="M1"`) {
		t.Error("a made-up method became a label")
	}
}
