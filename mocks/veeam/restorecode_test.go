package veeam

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vbharness/vbharness/mocks/entra"
	"github.com/vbharness/vbharness/mocks/journal"
)

// as is d with another caller's token.
func (d *dcServer) as(tok string) *dcServer {
	c := *d
	c.tok = tok
	return &c
}

// mint records a session of kind for user of org and returns its token.
func (d *dcServer) mint(kind principalKind, user, org string) string {
	tok := "test-" + newGUID()
	now := d.clk.Now()
	d.veeam.sessions.add(&session{key: newGUID(), user: user, kind: kind, orgID: org, credentialType: credOperator},
		tok, tok+"-refresh", now.Add(time.Hour), now.Add(2*time.Hour), "", now)
	return tok
}

// restoreSession explores the default organization as d's caller (an administrator's
// or a tenant's explore) and returns the session's path and its first mailbox's.
func (d *dcServer) restoreSession() (base, mailbox string) {
	d.t.Helper()
	path := "/v8/Organizations/" + DefaultFixtures().Organizations[0].ID + "/explore"
	if strings.HasPrefix(d.tok, "test-") { // a minted tenant's token
		path = "/v8/Organization/Explore"
	}
	st, rs := d.call(http.MethodPost, path, `{"type":"Vex"}`)
	if st != http.StatusCreated {
		d.t.Fatalf("explore: %d %v", st, rs)
	}
	base = "/v8/RestoreSessions/" + rs["id"].(string)
	st, mbs := d.call(http.MethodGet, base+"/organization/mailboxes", "")
	if st != http.StatusOK || len(mbs["results"].([]any)) == 0 {
		d.t.Fatalf("mailboxes: %d %v", st, mbs)
	}
	return base, base + "/organization/mailboxes/" + mbs["results"].([]any)[0].(map[string]any)["id"].(string)
}

// restoreCode asks for a restore device code of the session at base with body.
func (d *dcServer) restoreCode(base, body string) string {
	d.t.Helper()
	st, dc := d.call(http.MethodPost, base+"/organization/restoreDeviceCode", body)
	code, _ := dc["userCode"].(string)
	if st != http.StatusOK || code == "" {
		d.t.Fatalf("restoreDeviceCode: %d %v", st, dc)
	}
	return code
}

// events are the session's events.
func (d *dcServer) events(base string) []any {
	d.t.Helper()
	st, evs := d.call(http.MethodGet, base+"/Events", "")
	if st != http.StatusOK {
		d.t.Fatalf("events: %d %v", st, evs)
	}
	return evs["results"].([]any)
}

// A restore to the original location with a userCode from restoreDeviceCode (issue 14
// item 5): refused while the person has not signed in (Entra's AADSTS70016 text); once
// they have, the server redeems the code at Entra (its polls are in Entra's journal,
// redacted) and the restore runs, its event naming the account; the code is then spent.
func TestRestoreWithADeviceCode(t *testing.T) {
	t.Parallel()
	d := newDCServer(t)
	org := DefaultFixtures().Organizations[0]
	base, mb := d.restoreSession()
	d.entra.Control().Journal().Clear()
	code := d.restoreCode(base, `{}`)
	restore := func(code string) (int, map[string]any) {
		return d.call(http.MethodPost, mb+"/restore", `{"userCode":"`+code+`"}`)
	}

	st, b := restore(code)
	if msg, _ := b["message"].(string); st != http.StatusBadRequest || b["errorCode"] != "ParameterValidationFailure" ||
		!strings.Contains(msg, "is not complete") || !strings.Contains(msg, "Microsoft Entra ID: AADSTS70016: OAuth 2.0 device flow error. Authorization is pending.") {
		t.Fatalf("a restore before the sign-in: %d %v, want 400 with Entra's AADSTS70016 text", st, b)
	}
	if n := len(d.events(base)); n != 0 {
		t.Errorf("a refused restore left %d events", n)
	}
	if _, err := d.entra.Approve(code, ""); err != nil {
		t.Fatal(err)
	}
	// Right after the sign-in the server does not ask Entra again before its polling
	// interval has passed, and says when to try (it told the person to sign in before).
	d.clk.Advance(2 * time.Second)
	if st, b := restore(code); st != http.StatusBadRequest || !strings.Contains(b["message"].(string), "The server asked Microsoft Entra ID 2s ago and asks at most every 5s: if the sign-in is done, try again in 3s.") {
		t.Errorf("a restore 2 s after the last poll: %d %v, want 400 saying when to try again", st, b)
	}
	d.clk.Advance(3 * time.Second)
	st, b = restore(code)
	if st != http.StatusOK || b["sessionId"] != strings.TrimPrefix(base, "/v8/RestoreSessions/") {
		t.Fatalf("the restore once signed in: %d %v", st, b)
	}
	evs := d.events(base)
	ev, _ := evs[0].(map[string]any)
	if len(evs) != 1 || ev["status"] != "Running" || !strings.Contains(ev["message"].(string), "Signed in to Microsoft 365 as "+entra.DefaultAdminUPN+" with a device code.") {
		t.Fatalf("the restore's event: %v, want Running and naming %s", evs, entra.DefaultAdminUPN)
	}
	if st, b := restore(code); st != http.StatusBadRequest || !strings.Contains(b["message"].(string), "was already used for a restore") {
		t.Errorf("the code again: %d %v, want 400 (one sign-in, one restore)", st, b)
	}
	if st, b := restore(strings.ToLower(code)); st != http.StatusBadRequest || !strings.Contains(b["message"].(string), "was already used for a restore") {
		t.Errorf("the code again, in lower case: %d %v", st, b)
	}
	d.clk.Advance(30 * time.Minute)
	if ev := d.events(base)[0].(map[string]any); ev["status"] != "Success" || !strings.HasPrefix(ev["message"].(string), "Restored ") {
		t.Errorf("the restore an hour later: %v", ev)
	}

	var calls []string
	for _, e := range d.entra.Control().Journal().List(journal.Filter{}) {
		calls = append(calls, fmt.Sprintf("%s %s %s %d", e.Method, e.Path, e.Fields["client_id"], e.Status))
		for k, v := range e.Fields {
			if (k == "device_code" || k == "user_code") && !strings.Contains(v, "redacted") {
				t.Errorf("the Entra journal holds %s unredacted: %q", k, v)
			}
		}
	}
	want := []string{
		"POST /" + org.MSID + "/oauth2/v2.0/devicecode " + org.ApplicationID + " 200",
		"POST /" + org.MSID + "/oauth2/v2.0/token " + org.ApplicationID + " 400", // pending
		"POST /" + org.MSID + "/oauth2/v2.0/token " + org.ApplicationID + " 200",
	}
	if !slices.Equal(calls, want) {
		t.Errorf("the Entra journal:\n%s\nwant\n%s", strings.Join(calls, "\n"), strings.Join(want, "\n"))
	}
	if st, _ := d.call(http.MethodPost, mb+"/restore", `{"userName":"admin@abc.onmicrosoft.com","userPassword":"p"}`); st != http.StatusOK {
		t.Errorf("a restore without a userCode: %d, want 200 as before", st)
	}
	// A blank userCode is no userCode (as a client's serializer sends an unset field [A]).
	if st, _ := d.call(http.MethodPost, mb+"/restore", `{"userCode":"  ","userName":"admin@abc.onmicrosoft.com","userPassword":"p"}`); st != http.StatusOK {
		t.Errorf("a restore with a blank userCode: %d, want 200 as without one", st)
	}
	// An unknown code is named in the refusal, shortened (it was echoed whole: a 900 kB answer).
	long := strings.Repeat("B", 5000)
	if st, b := restore(long); st != http.StatusBadRequest || !strings.Contains(b["message"].(string), `"`+strings.Repeat("B", 40)+`…" is unknown`) || len(b["message"].(string)) > 400 {
		t.Errorf("an unknown 5 000-character code: %d, message of %d bytes", st, len(fmt.Sprint(b["message"])))
	}
}

// Every other userCode a restore cannot use is 400 ParameterValidationFailure saying
// why, and no restore runs: unknown, issued for another restore session or operation,
// expired, declined, or signed in by an account of another tenant for a restore to the
// original location (which a restoreTo may use).
func TestRestoreDeviceCodeRefusals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		setup func(d *dcServer, base string) string // the user code to restore with
		want  string
	}{
		{"a code the server never issued", func(*dcServer, string) string { return "NOTACODE1" }, `The device code "NOTACODE1" is unknown: request one for this restore session`},
		{"a code of another restore session", func(d *dcServer, _ string) string {
			other, _ := d.restoreSession()
			c := d.restoreCode(other, `{}`)
			if _, err := d.entra.Approve(c, ""); err != nil {
				d.t.Fatal(err)
			}
			return c
		}, "was not issued for restore session"},
		{"a code for adding an organization", func(d *dcServer, _ string) string {
			c := d.deviceCode()
			if _, err := d.entra.Approve(c, contosoAdmin); err != nil {
				d.t.Fatal(err)
			}
			return c
		}, "was not issued for restore session"},
		{"an expired code", func(d *dcServer, base string) string {
			c := d.restoreCode(base, `{}`)
			d.clk.Advance(16 * time.Minute)
			return c
		}, "has expired: request a new one. Microsoft Entra ID: AADSTS70020"},
		{"a declined sign-in", func(d *dcServer, base string) string {
			c := d.restoreCode(base, `{}`)
			if _, err := d.entra.Deny(c); err != nil {
				d.t.Fatal(err)
			}
			return c
		}, "was declined. Microsoft Entra ID: AADSTS65004: User declined to consent to access the app."},
		{"a sign-in of another tenant", func(d *dcServer, base string) string { return d.contosoCode(base) },
			"The account " + contosoAdmin + " that signed in with the device code"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := newDCServer(t)
			base, mb := d.restoreSession()
			code := tc.setup(d, base)
			st, b := d.call(http.MethodPost, mb+"/restore", `{"userCode":"`+code+`"}`)
			if msg, _ := b["message"].(string); st != http.StatusBadRequest || b["errorCode"] != "ParameterValidationFailure" || !strings.Contains(msg, tc.want) {
				t.Errorf("restore: %d %v, want 400 saying %q", st, b, tc.want)
			}
			if n := len(d.events(base)); n != 0 {
				t.Errorf("a refused restore left %d events", n)
			}
		})
	}
	t.Run("a sign-in to the target organization of a restoreTo", func(t *testing.T) {
		t.Parallel()
		d := newDCServer(t)
		base, mb := d.restoreSession()
		c := d.contosoCode(base)
		b, _ := parseObject([]byte(body("ExchangeMailbox_RestoreMailboxToAction")))
		b.setValue("userCode", c)
		if st, ans := d.call(http.MethodPost, mb+"/restoreTo", string(b.bytes())); st != http.StatusOK {
			t.Errorf("restoreTo with a sign-in of the target organization: %d %v", st, ans)
		}
	})
}

// contosoCode is a restore code of the session at base asked for contoso (a restore to
// another organization names it and its application), signed in by its administrator.
func (d *dcServer) contosoCode(base string) string {
	d.t.Helper()
	app, err := d.entra.RegisterApplication(entra.App{DisplayName: "contoso restore", Tenant: contoso, PublicClient: true})
	if err != nil {
		d.t.Fatal(err)
	}
	c := d.restoreCode(base, `{"targetOrganizationName":"`+contoso+`","targetApplicationId":"`+app.AppID+`"}`)
	if _, err := d.entra.Approve(c, contosoAdmin); err != nil {
		d.t.Fatal(err)
	}
	return c
}

// A restore session is its owner's: a tenant or restore operator of another
// organization gets 403 ResourceAccessDenied for its restoreDeviceCode and for a
// restore with a code its owner got, and the refused attempt does not spend the code.
func TestRestoreDeviceCodeOfAnotherTenantIsRefused(t *testing.T) {
	t.Parallel()
	d := newDCServer(t)
	f := DefaultFixtures()
	abc, fabrikam := f.Organizations[0], f.Organizations[1]
	owner := d.as(d.mint(kindTenant, "admin@abc.onmicrosoft.com", abc.ID))
	base, mb := owner.restoreSession()
	code := owner.restoreCode(base, `{}`)
	if _, err := d.entra.Approve(code, ""); err != nil {
		t.Fatal(err)
	}
	for _, who := range []struct{ name, tok string }{
		{"fabrikam's tenant", d.mint(kindTenant, LegacyOrganizationAccount, fabrikam.ID)},
		{"fabrikam's restore operator", d.mint(kindOperator, "operator@fabrikam.onmicrosoft.com", fabrikam.ID)},
	} {
		other := d.as(who.tok)
		for _, req := range []struct{ path, body string }{
			{base + "/organization/restoreDeviceCode", `{}`},
			{mb + "/restore", `{"userCode":"` + code + `"}`},
		} {
			if st, b := other.call(http.MethodPost, req.path, req.body); st != http.StatusForbidden || b["errorCode"] != "ResourceAccessDenied" {
				t.Errorf("%s: POST %s: %d %v, want 403 ResourceAccessDenied", who.name, req.path, st, b)
			}
		}
	}
	d.clk.Advance(5 * time.Second)
	if st, b := owner.call(http.MethodPost, mb+"/restore", `{"userCode":"`+code+`"}`); st != http.StatusOK {
		t.Errorf("the owner's restore after the refused ones: %d %v", st, b)
	}
}

// Restores sent at once with one signed-in code: one runs, the others are refused as
// already used (redeem is one step under the logins' lock). Their polls reach Entra at
// once too, which answers one the token and the rest expired_token: before the sign-in
// stood whatever came after it, none ran in 8 of 30 runs.
func TestOneDeviceCodeRestoresOnceWhenSentAtOnce(t *testing.T) {
	t.Parallel()
	d := newDCServer(t)
	base, mb := d.restoreSession()
	code := d.restoreCode(base, `{}`)
	if _, err := d.entra.Approve(code, ""); err != nil {
		t.Fatal(err)
	}
	const n = 8
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			st, _ := d.call(http.MethodPost, mb+"/restore", `{"userCode":"`+code+`"}`)
			statuses <- st
		})
	}
	wg.Wait()
	close(statuses)
	ok := 0
	for st := range statuses {
		if st == http.StatusOK {
			ok++
		} else if st != http.StatusBadRequest {
			t.Errorf("a restore answered %d, want 200 or 400", st)
		}
	}
	if ok != 1 || len(d.events(base)) != 1 {
		t.Errorf("%d restores ran with one code sent %d times at once (%d events), want 1", ok, n, len(d.events(base)))
	}
}
