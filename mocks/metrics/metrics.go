package metrics

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vbharness/vbharness/mocks/control"
)

// MaxCodes is how many distinct refusal codes the metrics keep; later ones count as
// "other". The mocks' own codes are a few dozen; a fault rule can answer any body.
const MaxCodes = 100

// Label values for what matched nothing.
const (
	Unmatched = "unmatched" // route: no route matched (a 404 for an unknown path)
	Other     = "other"     // method, token kind or code outside the known set
)

// Metrics is one stack's metrics; both servers report to it. Safe for concurrent use.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	tokens   *prometheus.CounterVec
	refusals *prometheus.CounterVec

	mu    sync.Mutex
	codes map[string]bool
}

// New returns empty metrics with their own registry.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vbharness_mock_requests_total",
			Help: "Requests to the mock's service routes (not /_mock/), by server, method, route template and status (0: connection aborted).",
		}, []string{"server", "method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vbharness_mock_request_duration_seconds",
			Help:    "Time to answer a request to the mock's service routes, by server, method and route template (wall clock, fault delays included).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"server", "method", "route"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vbharness_mock_tokens_issued_total",
			Help: "Token responses (200 from a token endpoint), by server and grant kind.",
		}, []string{"server", "kind"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vbharness_mock_refusals_total",
			Help: "Answers with status 400 or more, by server and error code: the OAuth error (invalid_grant, authorization_pending), Veeam's errorCode, else http_<status>.",
		}, []string{"server", "code"}),
		codes: map[string]bool{},
	}
	m.reg.MustRegister(m.requests, m.latency, m.tokens, m.refusals,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Attach makes c's requests counted here and c serve these metrics at /_mock/metrics.
func (m *Metrics) Attach(c *control.Control) {
	c.SetObserver(m.Observe)
	c.SetMetrics(m.Handler())
}

// Handler serves the metrics in the Prometheus text format (or OpenMetrics, when the
// scraper asks for it).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// tokenRoutes are the token endpoints' templates: a 200 from one issued a token.
var tokenRoutes = map[string]bool{
	"/{tenant}/oauth2/v2.0/token": true, // Entra
	"/v8/token":                   true, // Veeam, as the v8 document spells it
}

// grantKinds maps grant_type values to the kind label.
var grantKinds = map[string]string{
	"urn:ietf:params:oauth:grant-type:device_code": "device_code",
	"device_code":        "device_code",
	"refresh_token":      "refresh_token",
	"client_credentials": "client_credentials",
	"authorization_code": "authorization_code",
	"password":           "password",
	"urn:ietf:params:oauth:grant-type:jwt-bearer": "jwt_bearer",
	"jwt-bearer": "jwt_bearer",
}

// methods are the label values kept for the method; anything else is Other.
var methods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true,
}

// Observe counts one request (a control.Observation).
func (m *Metrics) Observe(o control.Observation) {
	method := o.Method
	if !methods[method] {
		method = Other
	}
	route := o.Route
	if route == "" {
		route = Unmatched
	}
	m.requests.WithLabelValues(o.Server, method, route, strconv.Itoa(o.Status)).Inc()
	m.latency.WithLabelValues(o.Server, method, route).Observe(o.Latency.Seconds())
	if o.Status == http.StatusOK && tokenRoutes[o.Route] {
		kind, ok := grantKinds[o.GrantType]
		if !ok {
			kind = Other
		}
		m.tokens.WithLabelValues(o.Server, kind).Inc()
	}
	if o.Status >= 400 {
		m.refusals.WithLabelValues(o.Server, m.code(RefusalCode(o.Status, o.ErrorBody))).Inc()
	}
}

// code bounds the codes' cardinality: the first MaxCodes distinct codes are kept.
func (m *Metrics) code(c string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.codes[c] {
		return c
	}
	if len(m.codes) >= MaxCodes {
		return Other
	}
	m.codes[c] = true
	return c
}

var codeRE = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)

// RefusalCode is the error code of an error answer: the OAuth "error" of Entra's and
// Veeam's token errors, else Veeam's "errorCode", else http_<status> (a bare 401, a 404
// page). A code that is not a short identifier counts as Other.
func RefusalCode(status int, body []byte) string {
	var e struct {
		Error     any `json:"error"`
		ErrorCode any `json:"errorCode"`
	}
	if json.Unmarshal(body, &e) == nil {
		for _, v := range []any{e.Error, e.ErrorCode} {
			if s, ok := v.(string); ok && s != "" {
				if !codeRE.MatchString(s) {
					return Other
				}
				return strings.ToLower(s)
			}
		}
	}
	return "http_" + strconv.Itoa(status)
}
