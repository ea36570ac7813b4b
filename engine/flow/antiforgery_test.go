package flow

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/vbharness/vbharness/mocks/clock"
	"github.com/vbharness/vbharness/mocks/inproc"
	"github.com/vbharness/vbharness/mocks/veeam"
)

// Issue 19 item 1, engine side: against the Veeam mock in both antiforgery modes, a
// client that sends disable_antiforgery_token=true (the default) and one that keeps the
// protection (KeepAntiforgery: the antiforgery token goes with every call and refresh)
// both work; a client that keeps it but sends the token under another header name is
// refused on an enforcing server, so the header is what lets it in.
func TestVeeamAntiforgeryModes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		mode   string
		keep   bool
		header string
		claim  string
		want   int
	}{
		{"the flag, on an enforcing server", veeam.AntiforgeryEnforce, false, "", "False", 200},
		{"the flag, on a server that ignores antiforgery", veeam.AntiforgeryIgnore, false, "", "False", 200},
		{"the antiforgery token carried, on an enforcing server", veeam.AntiforgeryEnforce, true, "", "True", 200},
		{"the antiforgery token carried, on a server that ignores antiforgery", veeam.AntiforgeryIgnore, true, "", "True", 200},
		{"the antiforgery token under the wrong header, on an enforcing server", veeam.AntiforgeryEnforce, true, "X-Other", "True", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clk := clock.NewVirtual(clock.DefaultStart)
			set := veeam.DefaultSettings()
			set.Antiforgery = tc.mode
			srv := veeam.New(clk, veeam.WithSettings(set), veeam.WithAuthority("https://login.invalid"))
			tr := inproc.New()
			tr.Handle("veeam.test:4443", srv)
			v := &Veeam{HTTP: &HTTP{Client: &http.Client{Transport: tr}}, Clock: clk, URL: "https://veeam.test:4443",
				KeepAntiforgery: tc.keep, AntiforgeryHeader: tc.header}
			ctx := context.Background()
			s, err := v.LoginPassword(ctx, veeam.DefaultAdminUser, veeam.DefaultAdminPassword)
			if err != nil {
				t.Fatal(err)
			}
			if got := antiforgeryClaim(t, s.Token().AccessToken); got != tc.claim {
				t.Errorf("antiforgery claim %q, want %q", got, tc.claim)
			}
			call := func(when string) {
				t.Helper()
				resp, err := s.Do(ctx, SessionRequest{Method: http.MethodGet, Path: "/v8/ServiceInstance", NoAutoRefresh: true})
				if err != nil {
					t.Fatal(err)
				}
				if resp.Status != tc.want {
					t.Errorf("%s: %d %s, want %d", when, resp.Status, resp.Body, tc.want)
				}
			}
			call("a call")
			err = s.Refresh(ctx)
			if (err == nil) != (tc.want == 200) {
				t.Errorf("refresh: %v, want success: %v", err, tc.want == 200)
			}
			if err == nil {
				call("a call after the refresh")
			}
		})
	}
}

func antiforgeryClaim(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %d parts", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Antiforgery string `json:"antiforgery"`
	}
	_ = json.Unmarshal(raw, &c)
	return c.Antiforgery
}
