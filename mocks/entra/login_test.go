package entra

import (
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// page is a browser session on the device login page: a cookie jar plus the hidden
// fields of the last form it saw.
type page struct {
	t      *testing.T
	ts     *testServer
	c      *http.Client
	status int
	body   string
	hidden url.Values
}

var hiddenRE = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)

func openLogin(t *testing.T, ts *testServer) *page {
	t.Helper()
	p := &page{t: t, ts: ts, c: ts.browser(t)}
	resp, err := p.c.Get(ts.URL + "/devicelogin")
	if err != nil {
		t.Fatal(err)
	}
	p.read(resp)
	if p.status != http.StatusOK || !strings.Contains(p.body, "Enter code") {
		t.Fatalf("GET /devicelogin: %d %s", p.status, p.body)
	}
	return p
}

func (p *page) read(resp *http.Response) {
	p.t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		p.t.Fatal(err)
	}
	p.status, p.body = resp.StatusCode, string(b)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		p.t.Errorf("content type %q", ct)
	}
	p.hidden = url.Values{}
	for _, m := range hiddenRE.FindAllStringSubmatch(p.body, -1) {
		p.hidden.Set(m[1], html.UnescapeString(m[2]))
	}
}

// submit posts the current form's hidden fields plus fields, as a browser would.
func (p *page) submit(fields ...string) {
	p.t.Helper()
	f := url.Values{}
	for k, v := range p.hidden {
		f[k] = v
	}
	for i := 0; i+1 < len(fields); i += 2 {
		f.Set(fields[i], fields[i+1])
	}
	resp, err := p.c.PostForm(p.ts.URL+"/devicelogin", f)
	if err != nil {
		p.t.Fatal(err)
	}
	p.read(resp)
}

func (p *page) mustShow(texts ...string) {
	p.t.Helper()
	for _, s := range texts {
		if !strings.Contains(p.body, s) {
			p.t.Fatalf("page (%d) does not show %q:\n%s", p.status, s, p.body)
		}
	}
}

// A person completes the device login page in a browser (enter the code, pick the
// account, see the app and its permissions, approve), and the pending poll succeeds.
func TestDeviceLoginPageApproves(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	d := ts.issueCode(t, seedScope)
	if r := ts.post(t, tokenPath, pollForm(d.DeviceCode)); r.str("error") != "authorization_pending" {
		t.Fatalf("before the page: %s", r.Raw)
	}
	p := openLogin(t, ts)
	if p.hidden.Get("csrf") == "" {
		t.Fatal("the code form has no CSRF token")
	}
	p.submit("user_code", " "+strings.ToLower(d.UserCode)+" ")
	p.mustShow("Pick an account", "Microsoft Azure CLI", DefaultAdminUPN, "MOD Administrator")
	p.submit("account", DefaultAdminUPN)
	p.mustShow("Are you trying to sign in to Microsoft Azure CLI?", "Directory.AccessAsUser.All", "User.ReadWrite.All", "offline_access")
	if p.hidden.Get("ticket") == "" || p.hidden.Get("csrf") == "" {
		t.Fatal("the consent form lacks its ticket or CSRF token")
	}
	p.submit("action", "approve")
	p.mustShow("You have signed in to the Microsoft Azure CLI application on your device")

	r := ts.post(t, tokenPath, pollForm(d.DeviceCode))
	if r.Status != http.StatusOK || r.str("access_token") == "" {
		t.Fatalf("poll after approval: %d %s", r.Status, r.Raw)
	}
	if upn := unverifiedClaims(t, r.str("access_token"))["upn"]; upn != DefaultAdminUPN {
		t.Errorf("token for %v, want %s", upn, DefaultAdminUPN)
	}
}

// What the page shows for each way a person can get it wrong, and that declining
// reaches the polling client.
func TestDeviceLoginPageOutcomes(t *testing.T) {
	t.Parallel()
	withPassword := DefaultDirectory()
	withPassword.Tenants[0].Users = append(withPassword.Tenants[0].Users, User{
		UPN: "alex@abc.onmicrosoft.com", ObjectID: "5b7c1d2e-3f40-4a5b-8c6d-7e8f9a0b1c2d",
		DisplayName: "Alex <b>Wilber</b>", Password: "Pa55w.rd",
	})
	cases := []struct {
		name string
		opts []Option
		run  func(t *testing.T, ts *testServer, p *page, d deviceCodeResponse)
	}{
		{"a wrong code shows AADSTS70018", nil, func(t *testing.T, ts *testServer, p *page, d deviceCodeResponse) {
			p.submit("user_code", "ZZZZZZZZZ")
			p.mustShow("AADSTS70018", "Enter code")
		}},
		{"an expired code shows AADSTS70019", nil, func(t *testing.T, ts *testServer, p *page, d deviceCodeResponse) {
			ts.Clock.Advance(901 * time.Second)
			p.submit("user_code", d.UserCode)
			p.mustShow("AADSTS70019")
		}},
		{"a code already approved shows AADSTS90120", nil, func(t *testing.T, ts *testServer, p *page, d deviceCodeResponse) {
			ts.approve(t, d.UserCode)
			p.submit("user_code", d.UserCode)
			p.mustShow("AADSTS90120")
		}},
		{"declining reaches the poll as authorization_declined", nil, func(t *testing.T, ts *testServer, p *page, d deviceCodeResponse) {
			p.submit("user_code", d.UserCode)
			p.submit("account", DefaultAdminUPN)
			p.submit("action", "decline")
			p.mustShow("You declined to sign in to Microsoft Azure CLI")
			if r := ts.post(t, tokenPath, pollForm(d.DeviceCode)); r.str("error") != "authorization_declined" {
				t.Errorf("poll after decline: %s", r.Raw)
			}
		}},
		{"a typed account that does not exist shows AADSTS50034", nil, func(t *testing.T, ts *testServer, p *page, d deviceCodeResponse) {
			p.submit("user_code", d.UserCode)
			p.submit("account", "", "other_upn", "nobody@abc.onmicrosoft.com")
			p.mustShow("AADSTS50034", "Pick an account")
		}},
		{"a wrong password shows AADSTS50126 and the right one continues", []Option{WithDirectory(withPassword)}, func(t *testing.T, ts *testServer, p *page, d deviceCodeResponse) {
			p.submit("user_code", d.UserCode)
			p.mustShow("Alex &lt;b&gt;Wilber&lt;/b&gt;") // the template escapes directory text
			p.submit("account", "alex@abc.onmicrosoft.com", "password", "guess")
			p.mustShow("AADSTS50126")
			p.submit("account", "alex@abc.onmicrosoft.com", "password", "Pa55w.rd")
			p.mustShow("Are you trying to sign in")
		}},
		{"a post without the CSRF token is refused", nil, func(t *testing.T, ts *testServer, p *page, d deviceCodeResponse) {
			p.hidden.Del("csrf")
			p.submit("user_code", d.UserCode)
			if p.status != http.StatusForbidden {
				t.Errorf("status %d, want 403", p.status)
			}
			p.mustShow("CSRF check failed")
		}},
		{"a post from another session is refused", nil, func(t *testing.T, ts *testServer, p *page, d deviceCodeResponse) {
			other := openLogin(t, ts)
			p.hidden.Set("csrf", other.hidden.Get("csrf"))
			p.submit("user_code", d.UserCode)
			if p.status != http.StatusForbidden {
				t.Errorf("status %d, want 403", p.status)
			}
		}},
		{"a forged consent ticket is refused and approves nothing", nil, func(t *testing.T, ts *testServer, p *page, d deviceCodeResponse) {
			p.submit("user_code", d.UserCode)
			p.submit("account", DefaultAdminUPN)
			p.hidden.Set("ticket", "forged")
			p.submit("action", "approve")
			if p.status != http.StatusForbidden {
				t.Errorf("status %d, want 403", p.status)
			}
			if codes := ts.DeviceCodes(); codes[0].State != StatePending {
				t.Errorf("state %s after a forged ticket, want pending", codes[0].State)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, c.opts...)
			d := ts.issueCode(t, seedScope)
			c.run(t, ts, openLogin(t, ts), d)
		})
	}
}
