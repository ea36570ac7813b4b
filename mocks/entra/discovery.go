package entra

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gorilla/mux"

	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/mocks/keys"
)

// discoveryHandler serves the OpenID configuration, the JWKS and instance discovery
// (entra.md §4), all on the mock's own origin.
type discoveryHandler struct {
	clk    clock.Clock
	store  *store // for the directory
	keys   *keys.Set
	origin originRule
}

// openIDConfig is the v2 OpenID configuration with its keys in Entra's order.
type openIDConfig struct {
	TokenEndpoint                     string   `json:"token_endpoint"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	JWKSURI                           string   `json:"jwks_uri"`
	ResponseModesSupported            []string `json:"response_modes_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	ScopesSupported                   []string `json:"scopes_supported"`
	Issuer                            string   `json:"issuer"`
	RequestURIParameterSupported      bool     `json:"request_uri_parameter_supported"`
	UserinfoEndpoint                  string   `json:"userinfo_endpoint"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	DeviceAuthorizationEndpoint       string   `json:"device_authorization_endpoint"`
	HTTPLogoutSupported               bool     `json:"http_logout_supported"`
	FrontchannelLogoutSupported       bool     `json:"frontchannel_logout_supported"`
	EndSessionEndpoint                string   `json:"end_session_endpoint"`
	ClaimsSupported                   []string `json:"claims_supported"`
	KerberosEndpoint                  string   `json:"kerberos_endpoint,omitempty"`
	TenantRegionScope                 *string  `json:"tenant_region_scope"`
	CloudInstanceName                 string   `json:"cloud_instance_name"`
	CloudGraphHostName                string   `json:"cloud_graph_host_name"`
	MSGraphHost                       string   `json:"msgraph_host"`
	RBACURL                           string   `json:"rbac_url"`
}

// openIDConfiguration serves GET /{tenant}/v2.0/.well-known/openid-configuration.
// A domain gets endpoints with the tenant GUID; common and organizations keep the
// alias in the endpoints and the literal {tenantid} in the issuer, without
// kerberos_endpoint and with a null tenant_region_scope (entra.md §4.1).
func (h *discoveryHandler) openIDConfiguration(w http.ResponseWriter, r *http.Request) {
	now := h.clk.Now()
	seg := mux.Vars(r)["tenant"]
	t, alias, e := resolveTenant(h.store.directory(), seg, "invalid_tenant")
	if e != nil {
		writeOAuthError(w, r, now, e)
		return
	}
	origin := h.origin.of(r)
	path, issuerTenant := strings.ToLower(seg), "{tenantid}"
	var region *string
	kerberos := ""
	if !alias {
		path, issuerTenant = t.ID, t.ID
		ww := "WW"
		region = &ww
		kerberos = origin + "/" + t.ID + "/kerberos"
	}
	base := origin + "/" + path
	doc := openIDConfig{
		TokenEndpoint:                     base + "/oauth2/v2.0/token",
		TokenEndpointAuthMethodsSupported: []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		JWKSURI:                           base + "/discovery/v2.0/keys",
		ResponseModesSupported:            []string{"query", "fragment", "form_post"},
		SubjectTypesSupported:             []string{"pairwise"},
		IDTokenSigningAlgValuesSupported:  []string{"RS256"},
		ResponseTypesSupported:            []string{"code", "id_token", "code id_token", "id_token token"},
		ScopesSupported:                   []string{"openid", "profile", "email", "offline_access"},
		Issuer:                            origin + "/" + issuerTenant + "/v2.0",
		RequestURIParameterSupported:      false,
		UserinfoEndpoint:                  "https://graph.microsoft.com/oidc/userinfo",
		AuthorizationEndpoint:             base + "/oauth2/v2.0/authorize",
		DeviceAuthorizationEndpoint:       base + "/oauth2/v2.0/devicecode",
		HTTPLogoutSupported:               true,
		FrontchannelLogoutSupported:       true,
		EndSessionEndpoint:                base + "/oauth2/v2.0/logout",
		ClaimsSupported:                   []string{"sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"},
		KerberosEndpoint:                  kerberos,
		TenantRegionScope:                 region,
		CloudInstanceName:                 "microsoftonline.com",
		CloudGraphHostName:                "graph.windows.net",
		MSGraphHost:                       "graph.microsoft.com",
		RBACURL:                           "https://pas.windows.net",
	}
	writeDiscovery(w, doc)
}

// jwk is one published key in Entra's member order (entra.md §4.3).
type jwk struct {
	Kty               string   `json:"kty"`
	Use               string   `json:"use"`
	Kid               string   `json:"kid"`
	X5t               string   `json:"x5t"`
	N                 string   `json:"n"`
	E                 string   `json:"e"`
	X5c               []string `json:"x5c"`
	CloudInstanceName string   `json:"cloud_instance_name"`
	Issuer            string   `json:"issuer"`
}

// jwks serves GET /{tenant}/discovery/v2.0/keys (and the v1 /discovery/keys): the
// active key first, then rotated-out keys still in their overlap. No alg member;
// kid == x5t.
func (h *discoveryHandler) jwks(w http.ResponseWriter, r *http.Request) {
	now := h.clk.Now()
	if _, _, e := resolveTenant(h.store.directory(), mux.Vars(r)["tenant"], "invalid_tenant"); e != nil {
		writeOAuthError(w, r, now, e)
		return
	}
	issuer := h.origin.of(r) + "/{tenantid}/v2.0"
	var out struct {
		Keys []jwk `json:"keys"`
	}
	for _, k := range h.keys.JWKS(now, issuer) {
		out.Keys = append(out.Keys, jwk{Kty: k.Kty, Use: k.Use, Kid: k.Kid, X5t: k.X5t, N: k.N, E: k.E, X5c: k.X5c,
			CloudInstanceName: "microsoftonline.com", Issuer: k.Issuer})
	}
	writeDiscovery(w, out)
}

type instanceMetadata struct {
	PreferredNetwork string   `json:"preferred_network"`
	PreferredCache   string   `json:"preferred_cache"`
	Aliases          []string `json:"aliases"`
}

// instance serves GET /common/discovery/instance: the mock's host is its own only
// alias. An authorization_endpoint on another host gets invalid_instance
// AADSTS50049, as Entra answers for an unknown host (entra.md §4.2).
func (h *discoveryHandler) instance(w http.ResponseWriter, r *http.Request) {
	now := h.clk.Now()
	origin := h.origin.of(r)
	host := strings.TrimPrefix(strings.TrimPrefix(origin, "https://"), "http://")
	tenant := "{tenant}"
	if ae := r.URL.Query().Get("authorization_endpoint"); ae != "" {
		u, err := url.Parse(ae)
		if err != nil || !strings.EqualFold(u.Host, host) {
			writeOAuthError(w, r, now, &oauthError{status: 400, code: "invalid_instance", aadsts: 50049,
				msg: "Unknown or invalid instance."})
			return
		}
		if seg, _, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/"); seg != "" {
			tenant = seg
		}
	}
	writeDiscovery(w, struct {
		TenantDiscoveryEndpoint string             `json:"tenant_discovery_endpoint"`
		APIVersion              string             `json:"api-version"`
		Metadata                []instanceMetadata `json:"metadata"`
	}{
		TenantDiscoveryEndpoint: origin + "/" + tenant + "/v2.0/.well-known/openid-configuration",
		APIVersion:              "1.1",
		Metadata:                []instanceMetadata{{PreferredNetwork: host, PreferredCache: host, Aliases: []string{host}}},
	})
}

// writeDiscovery writes a discovery document with Entra's caching and CORS headers.
func writeDiscovery(w http.ResponseWriter, v any) {
	h := w.Header()
	h.Set("Cache-Control", "max-age=86400, private")
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "GET, OPTIONS")
	writeJSON(w, http.StatusOK, v)
}

// Methods a CORS preflight names: the discovery documents' own header (entra.md §4.1
// [C]) and the token endpoints' list in AADSTS900561 ("only accepts POST, OPTIONS
// requests" [R]).
const (
	corsGET  = "GET, OPTIONS"
	corsPOST = "POST, OPTIONS"
)

// preflight answers OPTIONS (a CORS preflight) on an endpoint that accepts methods:
// 200 without a body, Access-Control-Allow-Origin "*" as the discovery GET carries it,
// the methods, and the requested headers allowed. What Entra answers to a preflight is
// [I]: the record shows only that it accepts OPTIONS. A preflight carries no
// credentials, so the tenant is not looked at.
func preflight(methods string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Access-Control-Allow-Methods", methods)
		if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
			h.Set("Access-Control-Allow-Headers", req)
		}
		h.Set("Allow", methods)
		h.Set("x-ms-request-id", newTraceID())
		h.Set("x-ms-ests-server", estsServer)
		w.WriteHeader(http.StatusOK)
	}
}
