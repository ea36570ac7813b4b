package entra

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vbharness/vbharness/mocks/clock"
)

var openIDKeys = []string{"token_endpoint", "token_endpoint_auth_methods_supported", "jwks_uri", "response_modes_supported",
	"subject_types_supported", "id_token_signing_alg_values_supported", "response_types_supported", "scopes_supported",
	"issuer", "request_uri_parameter_supported", "userinfo_endpoint", "authorization_endpoint", "device_authorization_endpoint",
	"http_logout_supported", "frontchannel_logout_supported", "end_session_endpoint", "claims_supported", "kerberos_endpoint",
	"tenant_region_scope", "cloud_instance_name", "cloud_graph_host_name", "msgraph_host", "rbac_url"}

// The OpenID configuration names the mock's own origin: a domain or GUID gets the
// tenant GUID in every endpoint, common and organizations keep the alias and the
// literal {tenantid} issuer (entra.md §4.1).
func TestOpenIDConfiguration(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	cases := []struct {
		tenant, path, issuer string
		kerberos             bool
	}{
		{DefaultTenant, DefaultTenantID, DefaultTenantID, true},
		{"ABC.onmicrosoft.com", DefaultTenantID, DefaultTenantID, true},
		{DefaultTenantID, DefaultTenantID, DefaultTenantID, true},
		{"common", "common", "{tenantid}", false},
		{"organizations", "organizations", "{tenantid}", false},
	}
	for _, c := range cases {
		t.Run(c.tenant, func(t *testing.T) {
			t.Parallel()
			r := ts.get(t, "/"+c.tenant+"/v2.0/.well-known/openid-configuration?")
			if r.Status != 200 {
				t.Fatalf("%d %s", r.Status, r.Raw)
			}
			keys := openIDKeys
			if !c.kerberos {
				keys = append(append([]string(nil), openIDKeys[:17]...), openIDKeys[18:]...)
			}
			if got := topKeys(t, r.Raw); !reflect.DeepEqual(got, keys) {
				t.Errorf("keys = %v", got)
			}
			base := ts.URL + "/" + c.path
			for k, v := range map[string]string{
				"token_endpoint": base + "/oauth2/v2.0/token", "authorization_endpoint": base + "/oauth2/v2.0/authorize",
				"device_authorization_endpoint": base + "/oauth2/v2.0/devicecode", "jwks_uri": base + "/discovery/v2.0/keys",
				"end_session_endpoint": base + "/oauth2/v2.0/logout", "issuer": ts.URL + "/" + c.issuer + "/v2.0",
			} {
				if r.str(k) != v {
					t.Errorf("%s = %q, want %q", k, r.str(k), v)
				}
			}
			if region, present := r.JSON["tenant_region_scope"]; !present || (c.kerberos && region != "WW") || (!c.kerberos && region != nil) {
				t.Errorf("tenant_region_scope = %v", region)
			}
			if r.Header.Get("Cache-Control") != "max-age=86400, private" || r.Header.Get("Access-Control-Allow-Origin") != "*" {
				t.Errorf("headers = %v", r.Header)
			}
			// MSAL for Go derives the devicecode URL by replacing every "token".
			if strings.ReplaceAll(r.str("token_endpoint"), "token", "devicecode") != r.str("device_authorization_endpoint") {
				t.Error("the token endpoint contains \"token\" outside its last segment")
			}
		})
	}
}

// WithBaseURL fixes the origin for every document; without it the origin follows the
// request (http for plain connections).
func TestBaseURL(t *testing.T) {
	t.Parallel()
	get := func(s *Server, path string) map[string]any {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Host = "127.0.0.1:8400"
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		var m map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
			t.Fatalf("%s: %s", path, w.Body)
		}
		return m
	}
	fixed := New(clock.NewVirtual(time.Time{}), WithBaseURL("https://login.mock/"))
	if iss := get(fixed, "/common/v2.0/.well-known/openid-configuration")["issuer"]; iss != "https://login.mock/{tenantid}/v2.0" {
		t.Errorf("issuer with WithBaseURL = %v", iss)
	}
	derived := New(clock.NewVirtual(time.Time{}))
	if iss := get(derived, "/common/v2.0/.well-known/openid-configuration")["issuer"]; iss != "http://127.0.0.1:8400/{tenantid}/v2.0" {
		t.Errorf("derived issuer = %v", iss)
	}
}

// Instance discovery names the mock's host as its own only alias and refuses other
// hosts with invalid_instance AADSTS50049 (entra.md §4.2).
func TestInstanceDiscovery(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	host := strings.TrimPrefix(ts.URL, "https://")
	q := url.Values{"api-version": {"1.1"}, "authorization_endpoint": {ts.URL + "/abc.onmicrosoft.com/oauth2/v2.0/authorize"}}
	r := ts.get(t, "/common/discovery/instance?"+q.Encode())
	if r.Status != 200 || r.str("tenant_discovery_endpoint") != ts.URL+"/abc.onmicrosoft.com/v2.0/.well-known/openid-configuration" || r.str("api-version") != "1.1" {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	md := r.JSON["metadata"].([]any)[0].(map[string]any)
	if md["preferred_network"] != host || md["preferred_cache"] != host || !reflect.DeepEqual(md["aliases"], []any{host}) {
		t.Errorf("metadata = %v", md)
	}
	q.Set("authorization_endpoint", "https://login.microsoftonline.com/common/oauth2/v2.0/authorize")
	bad := ts.get(t, "/common/discovery/instance?"+q.Encode())
	if bad.Status != 400 || bad.str("error") != "invalid_instance" || !strings.HasPrefix(bad.str("error_description"), "AADSTS50049:") {
		t.Errorf("another host: %d %s", bad.Status, bad.Raw)
	}
}

// The JWKS is published as Entra publishes it: kid == x5t, x5c present, no alg.
func TestJWKSShape(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	r := ts.get(t, tenantPath+"/discovery/v2.0/keys")
	keys := r.JSON["keys"].([]any)
	if r.Status != 200 || len(keys) != 1 {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	k := keys[0].(map[string]any)
	if k["kid"] != k["x5t"] || k["kid"] != ts.Keys().Active().KID || k["kty"] != "RSA" || k["use"] != "sig" || k["alg"] != nil {
		t.Errorf("key = %v", k)
	}
	if x5c, _ := k["x5c"].([]any); len(x5c) != 1 {
		t.Errorf("x5c = %v", k["x5c"])
	}
	if k["issuer"] != ts.URL+"/{tenantid}/v2.0" {
		t.Errorf("issuer = %v", k["issuer"])
	}
	if v1 := ts.get(t, tenantPath+"/discovery/keys"); v1.Status != 200 {
		t.Errorf("v1 keys: %d", v1.Status)
	}
}
