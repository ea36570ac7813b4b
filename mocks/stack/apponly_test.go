package stack

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vbharness/vbharness/mocks/journal"
	"software.sslmate.com/src/go-pkcs12"
)

// A job of an organization added with modern app-only authentication backs up with
// app-only tokens the Veeam mock gets from its Entra mock (issue 14 item 4): the
// client-credentials grant with a certificate assertion, in the Entra journal with the
// assertion redacted. A certificate expired on the clock, a revoked consent or a
// certificate without its key fail the run with Entra's error in its log; a new
// certificate added through the Entra control API and given to the organization with
// PUT makes the next run succeed, whether it starts by POST …/start or by its schedule.
func TestBackupsUseAppOnlyTokens(t *testing.T) {
	t.Parallel()
	for _, tc := range entraClientTargets(t) {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tg := tc.start(t)
			c := client{t: t, hc: tg.hc}
			login := func() string {
				t.Helper()
				st, login := c.do("POST", tg.veeamURL+"/v8/token", url.Values{"grant_type": {"password"}, "username": {"Administrator"},
					"password": {"vbharness-Passw0rd!"}, "disable_antiforgery_token": {"true"}}, "", "")
				at, _ := login["access_token"].(string)
				if st != 200 || at == "" {
					t.Fatalf("login: %d %v", st, login)
				}
				return at
			}
			at := login()
			_, dc := c.do("POST", tg.veeamURL+"/v8/DeviceCode", nil, `{"targetRegion":"Worldwide"}`, at)
			code, _ := dc["userCode"].(string)
			c.do("POST", tg.entraURL+"/_mock/devicecodes/approve", nil, `{"user_code":"`+code+`","user":"megan@contoso.onmicrosoft.com"}`, "")
			st, org := c.do("POST", tg.veeamURL+"/v8/Organizations", nil, `{"type":"Office365","isExchangeOnline":true,"userCode":"`+code+
				`","newApplicationName":"Contoso backup","exchangeOnlineSettings":{"useApplicationOnlyAuth":true}}`, at)
			orgID, _ := org["id"].(string)
			exo, _ := org["exchangeOnlineSettings"].(map[string]any)
			appID, _ := exo["applicationId"].(string)
			if st != 201 || appID == "" {
				t.Fatalf("POST /v8/Organizations: %d %v", st, org)
			}
			_, repos := c.do("GET", tg.veeamURL+"/v8/BackupRepositories?limit=1", nil, "", at)
			repo := repos["results"].([]any)[0].(map[string]any)["id"].(string)
			st, job := c.do("POST", tg.veeamURL+"/v8/Jobs", nil, `{"name":"Contoso nightly","backupType":"EntireOrganization","organizationId":"`+orgID+
				`","repositoryId":"`+repo+`","isEnabled":true,"schedulePolicy":{"type":"Daily","scheduleEnabled":true,"dailyType":"Everyday","dailyTime":"22:00:00"}}`, at)
			jobID, _ := job["id"].(string)
			if st != 201 {
				t.Fatalf("POST /v8/Jobs: %d %v", st, job)
			}
			advance := func(d string) {
				t.Helper()
				if st, b := c.do("POST", tg.veeamURL+"/_mock/clock/advance", nil, `{"duration":"`+d+`"}`, ""); st != 200 {
					t.Fatalf("advance: %d %v", st, b)
				}
			}
			// run starts the job, lets it run and returns its session's status and log.
			run := func() (string, []string) {
				t.Helper()
				st, s := c.do("POST", tg.veeamURL+"/v8/Jobs/"+jobID+"/start", nil, "", at)
				if st != 200 {
					t.Fatalf("start: %d %v", st, s)
				}
				advance("5m")
				return session(c, tg.veeamURL, at, s["id"].(string))
			}
			tokenRequests := func() []journal.Entry {
				var out []journal.Entry
				for _, e := range tg.e.Control().Journal().List(journal.Filter{}) {
					if e.Fields["grant_type"] == "client_credentials" {
						out = append(out, e)
					}
				}
				return out
			}

			status, log := run()
			if status != "Success" || !strings.Contains(strings.Join(log, "\n"), "Got app-only tokens for https://graph.microsoft.com and https://outlook.office365.com from Microsoft Entra ID (application "+appID) {
				t.Fatalf("a run with the generated certificate: %s %q", status, log)
			}
			reqs := tokenRequests()
			if len(reqs) != 2 {
				t.Fatalf("the Entra journal's client-credentials requests: %d, want 2 (Graph, Exchange)", len(reqs))
			}
			for _, e := range reqs {
				if !strings.HasSuffix(e.Path, "/oauth2/v2.0/token") || e.Status != 200 || e.Fields["client_id"] != appID ||
					!strings.HasPrefix(e.Fields["client_assertion"], "[redacted") {
					t.Errorf("a client-credentials request in the Entra journal: %s %s %d %v", e.Method, e.Path, e.Status, e.Fields)
				}
			}

			// The certificate expires: the run fails with Entra's error in its log.
			if st, b := c.do("POST", tg.entraURL+"/_mock/applications/"+appID+"/credentials/expire", nil, `{}`, ""); st != 200 {
				t.Fatalf("expire: %d %v", st, b)
			}
			status, log = run()
			if status != "Failed" || !strings.Contains(strings.Join(log, "\n"), "Microsoft Entra ID refused an app-only token for https://graph.microsoft.com to the application "+appID+": AADSTS1000502") {
				t.Fatalf("a run with the expired certificate: %s %q", status, log)
			}
			if _, j := c.do("GET", tg.veeamURL+"/v8/Jobs/"+jobID, nil, "", at); j["lastStatus"] != "Failed" {
				t.Errorf("the job's lastStatus after the failed run: %v", j["lastStatus"])
			}

			// A certificate alone (no key) is taken, and the run says what is missing.
			cert, key := newCert(t, "Contoso backup 2")
			certPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}))
			if st, b := c.do("POST", tg.entraURL+"/_mock/applications/"+appID+"/certificates", nil, jsonString(map[string]string{"pem": certPEM}), ""); st != 201 {
				t.Fatalf("add a certificate: %d %v", st, b)
			}
			put := func(certificate, password string) {
				t.Helper()
				body := `{"type":"Office365","name":"contoso.onmicrosoft.com","isExchangeOnline":true,"exchangeOnlineSettings":{"useApplicationOnlyAuth":true,"applicationId":"` + appID +
					`","applicationCertificate":"` + certificate + `","applicationCertificatePassword":"` + password + `"}}`
				if st, b := c.do("PUT", tg.veeamURL+"/v8/Organizations/"+orgID, nil, body, at); st != 204 {
					t.Fatalf("PUT the organization: %d %v", st, b)
				}
			}
			put(base64.StdEncoding.EncodeToString(cert.Raw), "")
			status, log = run()
			if status != "Failed" || !strings.Contains(strings.Join(log, "\n"), "without its private key") {
				t.Fatalf("a run with a certificate without its key: %s %q", status, log)
			}

			// The PFX with its key: the next run, started by the schedule, succeeds.
			pfx, err := pkcs12.Modern.Encode(key, cert, nil, "pfx-Passw0rd")
			if err != nil {
				t.Fatal(err)
			}
			put(base64.StdEncoding.EncodeToString(pfx), "pfx-Passw0rd")
			_, o := c.do("GET", tg.veeamURL+"/v8/Organizations/"+orgID, nil, "", at)
			settings, _ := o["exchangeOnlineSettings"].(map[string]any)
			if _, ok := settings["applicationCertificate"]; ok || settings["applicationCertificatePassword"] != nil || settings["applicationCertificateThumbprint"] == "" {
				t.Errorf("the organization after PUT keeps the certificate or lacks its thumbprint: %v", settings)
			}
			advance("24h")
			at = login() // the access token lived an hour
			st, list := c.do("GET", tg.veeamURL+"/v8/JobSessions?jobId="+jobID+"&limit=1", nil, "", at)
			if _, ok := list["results"].([]any); st != 200 || !ok {
				t.Fatalf("GET /v8/JobSessions: %d %v", st, list)
			}
			latest := list["results"].([]any)[0].(map[string]any)
			advance("5m")
			status, log = session(c, tg.veeamURL, at, latest["id"].(string))
			if status != "Success" || !strings.Contains(strings.Join(log, "\n"), "Got app-only tokens") {
				t.Fatalf("the scheduled run after the renewal: %s %q", status, log)
			}

			// Consent revoked: Entra issues tokens without roles, and the run fails.
			if st, b := c.do("POST", tg.entraURL+"/_mock/applications/"+appID+"/consent/revoke", nil, `{}`, ""); st != 200 {
				t.Fatalf("revoke consent: %d %v", st, b)
			}
			status, log = run()
			if status != "Failed" || !strings.Contains(strings.Join(log, "\n"), "has no application permissions on https://graph.microsoft.com") {
				t.Fatalf("a run after consent was revoked: %s %q", status, log)
			}
		})
	}
}

// session returns a job session's status and its log's messages.
func session(c client, veeamURL, at, id string) (string, []string) {
	c.t.Helper()
	_, s := c.do("GET", veeamURL+"/v8/JobSessions/"+id, nil, "", at)
	_, items := c.do("GET", veeamURL+"/v8/JobSessions/"+id+"/LogItems?limit=50", nil, "", at)
	var log []string
	list, _ := items["results"].([]any)
	for _, it := range list {
		m, _ := it.(map[string]any)
		log = append(log, m["type"].(string)+": "+m["message"].(string))
	}
	status, _ := s["status"].(string)
	return status, log
}

// newCert is a self-signed certificate valid for a year from the stack's clock start
// onwards, and its key.
func newCert(t *testing.T, name string) (*x509.Certificate, *rsa.PrivateKey) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// jsonString is v as JSON text.
func jsonString(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
