// An application's certificate expires on the clock (issue 14): the organization backs up
// with a certificate valid for three days, its nightly job succeeds while the certificate
// is valid, fails the first night after it expired with Entra's error (AADSTS1000502) in
// the session's log, and recovers the night after the administrator renews it: a new
// certificate added to the application at Entra, its PFX file given to the Veeam server
// with PUT /v8/Organizations/{id}. The clock stops a minute after each night's start: the
// server asks Entra for the night's tokens at the first request it sees after the start,
// so that is when Entra judges the certificate.
const { test, expect, afterEach } = require("vbharness");
const { resetSharedMock } = require("./lib/cleanup.js");

afterEach(resetSharedMock);

/** Gives the organization a certificate for its application: the PFX file of `cert`. */
function giveCertificate(admin, org, cert) {
  const settings = { ...org.exchangeOnlineSettings, applicationCertificate: cert.pfx,
    applicationCertificatePassword: cert.password };
  expect(admin.put(`/v8/Organizations/${org.id}`, { json: { ...org, exchangeOnlineSettings: settings } })).toHaveStatus(204);
  const stored = admin.get(`/v8/Organizations/${org.id}`).json().exchangeOnlineSettings;
  expect(stored.applicationCertificateThumbprint).toBe(cert.thumbprint);
  expect(stored).not.toHaveProperty("applicationCertificate");   // the PFX file is never stored
}

test("a certificate expires after 3 virtual days: the nightly job fails with Entra's error, then recovers once it is renewed", ({ veeam, mock, clock, target }) => {
  let admin = veeam.login({ admin: true });
  const org = admin.paginate("/v8/Organizations", { query: { limit: 50 } }).find((o) => o.name === target.veeam.organization);
  const appId = org.exchangeOnlineSettings.applicationId;
  const { certificate: short } = mock.entra.addCredential(appId, { validFor: "72h", name: "three days" });
  giveCertificate(admin, org, short);

  const repo = admin.get("/v8/BackupRepositories", { query: { limit: 1 } }).json().results[0];
  const job = admin.post("/v8/Jobs", { json: { name: `Nightly ${org.name} ${clock.now()}`, backupType: "EntireOrganization",
    organizationId: org.id, repositoryId: repo.id, isEnabled: true,
    schedulePolicy: { type: "Daily", scheduleEnabled: true, dailyType: "Everyday", dailyTime: "22:00:00" } } }).json();
  expect(job.nextRun).toBeDefined();

  /** Moves the clock to a minute past the next 22:00 (UTC), when the server sees the night's
   * start and asks Entra for its tokens, then past the run's end; returns the night's
   * session with its log messages. */
  const nextNight = () => {
    const now = clock.now();
    const d = new Date(now);
    let at = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), 22, 1);
    if (at <= now) at += 24 * 3600 * 1000;
    clock.advance(at - now);
    admin = veeam.login({ admin: true }); // a day outlives the session's tokens; the server sees the start
    clock.advance("5m");
    const [night] = admin.get("/v8/JobSessions", { query: { jobId: job.id, limit: 1 } }).json().results;
    const log = admin.get(`/v8/JobSessions/${night.id}/LogItems`).json().results.map((l) => l.message);
    return { ...night, log: log.join("\n") };
  };

  const expiresAt = Date.parse(short.end);
  const nights = [];
  for (let day = 1; day <= 4; day++) nights.push(nextNight());
  for (const night of nights) {
    const valid = Date.parse(night.creationTime) + 60 * 1000 < expiresAt; // asked a minute after its start
    expect(night.status).toBe(valid ? "Success" : "Failed");
  }
  expect(nights.filter((n) => n.status === "Success").length).toBeGreaterThanOrEqual(2);
  const failed = nights[nights.length - 1];
  expect(Date.parse(failed.creationTime)).toBeGreaterThan(expiresAt);
  expect(failed.log).toContain(`Microsoft Entra ID refused an app-only token for https://graph.microsoft.com to the application ${appId}: AADSTS1000502`);
  expect(admin.get(`/v8/Jobs/${job.id}`).json().lastStatus).toBe("Failed");
  expect(mock.entra.application(appId).credentials.find((c) => c.key_id === short.keyId).state).toBe("expired");

  // The administrator renews it: a new certificate at Entra, its PFX file at the server.
  const { certificate: renewed } = mock.entra.addCredential(appId, { validFor: "8760h", name: "renewed" });
  giveCertificate(admin, org, renewed);
  const recovered = nextNight();
  expect(recovered.status).toBe("Success");
  expect(recovered.log).toContain(`certificate ${renewed.thumbprint}`);
  expect(admin.get(`/v8/Jobs/${job.id}`).json().lastStatus).toBe("Success");
}, { tags: ["modern-app-only", "workflow", "sessions"], requires: ["control", "clock"] });
