package veeam

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

// Each mutation lets through exactly what its name says, where the unmutated server
// refuses it (the catalogue's mutation test relies on both halves).
func TestMutationsSwitchOffTheBehaviourTheyName(t *testing.T) {
	t.Parallel()
	none := "none"
	for _, tc := range []struct {
		name string
		mut  Mutations
		// probe returns the HTTP status of the behaviour under test; setup may prepare it.
		probe func(e *testEnv) int
		// want is the status without the mutation; the mutated server answers 200.
		want int
	}{
		{"IgnoreTenantAuthentication", Mutations{IgnoreTenantAuthentication: true}, func(e *testEnv) int {
			set := e.srv.Settings()
			set.TenantAuthentication = false
			e.srv.UpdateSettings(set)
			return e.do("POST", "/v8/token", formType, seedForm(DefaultOrganization, tokenResponseJSON(e.entra.mint(t, entraToken{})))).Code
		}, 400},
		{"AcceptUnsignedAssertions", Mutations{AcceptUnsignedAssertions: true}, func(e *testEnv) int {
			tok := e.entra.mint(t, entraToken{alg: "none", kid: &none})
			unsigned := tok[:strings.LastIndexByte(tok, '.')+1]
			return e.do("POST", "/v8/token", formType, seedForm(DefaultOrganization, tokenResponseJSON(unsigned))).Code
		}, 400},
		{"IgnoreAssertionTenant", Mutations{IgnoreAssertionTenant: true}, func(e *testEnv) int {
			tok := e.entra.mint(t, entraToken{claims: map[string]any{"tid": "0b7c3a51-6f2e-4d8a-9c1b-5e4f3a2d1c0b"}})
			return e.do("POST", "/v8/token", formType, seedForm(DefaultOrganization, tokenResponseJSON(tok))).Code
		}, 400},
		{"IgnoreAssertionScopes", Mutations{IgnoreAssertionScopes: true}, func(e *testEnv) int {
			tok := e.entra.mint(t, entraToken{claims: map[string]any{"scp": "email openid"}})
			return e.do("POST", "/v8/token", formType, seedForm(DefaultOrganization, tokenResponseJSON(tok))).Code
		}, 400},
		{"IgnoreRefreshTokenExpiry", Mutations{IgnoreRefreshTokenExpiry: true}, func(e *testEnv) int {
			tr := e.adminLogin()
			e.clk.Advance(3 * time.Hour)
			return e.do("POST", "/v8/token", formType, "grant_type=refresh_token&refresh_token="+url.QueryEscape(tr.RefreshToken)).Code
		}, 400},
		{"IgnoreTenantScope", Mutations{IgnoreTenantScope: true}, func(e *testEnv) int {
			return e.do("GET", "/v8/Jobs", "", "", bearer(e.tenantLogin().AccessToken)...).Code
		}, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.probe(newTestServer(t)); got != tc.want {
				t.Errorf("unmutated server: %d, want %d", got, tc.want)
			}
			if got := tc.probe(newTestServer(t, WithMutations(tc.mut))); got != 200 {
				t.Errorf("with %+v: %d, want 200", tc.mut, got)
			}
		})
	}
}

// NoNextLinks drops only _links.next: the page itself is unchanged.
func TestNoNextLinksLeavesNextOut(t *testing.T) {
	t.Parallel()
	for _, m := range []Mutations{{}, {NoNextLinks: true}} {
		e := newTestServer(t, WithMutations(m))
		w := e.do("GET", "/v8/Jobs?limit=10", "", "", bearer(e.adminLogin().AccessToken)...)
		p := decode[struct {
			Results []any          `json:"results"`
			Links   map[string]any `json:"_links"`
		}](t, w)
		_, hasNext := p.Links["next"]
		if len(p.Results) != 10 || hasNext == m.NoNextLinks {
			t.Errorf("%+v: %d results, next present %v", m, len(p.Results), hasNext)
		}
	}
}
