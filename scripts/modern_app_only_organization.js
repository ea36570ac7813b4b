// Adding an organization with modern app-only authentication (issue 14), end to end: the
// Veeam server gets a device code from Entra for the administrator (POST /v8/DeviceCode),
// the administrator signs in on Entra, the server sees it (DeviceCode/check) and adds the
// organization with a new Entra application, or with an existing one it configures. The
// organization is listed with its applicationId, Entra lists the application, and Entra's
// journal holds what the server sent it: the device code, its token polls and, once a
// backup runs, the application's app-only token requests (client_credentials with a
// certificate assertion, redacted). The mock's one tenant is added already, so each test
// removes it first, as an administrator re-adding an organization would; on a running
// `vbharness mock` the reset after each test puts it back.
const { test, expect, afterEach } = require("vbharness");
const { mark } = require("./lib/journal.js");
const { resetSharedMock } = require("./lib/cleanup.js");

afterEach(resetSharedMock);

/** Removes the organization of the target's tenant, its copy jobs and jobs first (the
 * server refuses to remove an organization jobs name, and a running job), so it can be
 * added again. */
function removeTenant(admin, target) {
  const org = admin.paginate("/v8/Organizations", { query: { limit: 50 } })
    .find((o) => o.name === target.veeam.organization);
  expect(org).toBeDefined();
  const jobs = admin.paginate("/v8/Jobs", { query: { limit: 100 } }).filter((j) => j.organizationId === org.id);
  const ids = new Set(jobs.map((j) => j.id));
  const remove = (path, job) => {
    if (job.lastStatus === "Running") admin.post(`${path}/stop`); // a running job cannot be deleted
    expect(admin.delete(path).status).toBeLessThan(300);
  };
  for (const c of admin.paginate("/v8/CopyJobs", { query: { limit: 100 } }).filter((c) => ids.has(c.backupJobId))) {
    remove(`/v8/CopyJobs/${c.id}`, c);
  }
  for (const j of jobs) remove(`/v8/Jobs/${j.id}`, j);
  const removed = admin.delete(`/v8/Organizations/${org.id}`);
  if (removed.status >= 300) throw new Error(`DELETE /v8/Organizations/${org.id}: ${removed.status} ${removed.body}`);
}

/** A device code from the Veeam server, signed in on Entra by the tenant's administrator. */
function signedInCode(admin, mock, clock) {
  const dc = admin.post("/v8/DeviceCode", { json: { targetRegion: "Worldwide" } });
  expect(dc).toHaveStatus(200);
  const { userCode, verificationUrl, expiresIn } = dc.json();
  expect(verificationUrl).toMatch(/\/devicelogin$/);
  expect(expiresIn).toBeGreaterThan(0);
  expect(admin.post("/v8/DeviceCode/check", { json: { userCode } }).json()).toEqual({ authenticated: false });
  mock.approve(userCode);                          // the administrator signs in on Entra
  clock.advance("5s");                             // the server polls Entra no faster than its interval
  expect(admin.post("/v8/DeviceCode/check", { json: { userCode } }).json()).toEqual({ authenticated: true });
  return userCode;
}

/** Runs a new manual job of the organization once and returns its session. */
function backUp(admin, clock, org) {
  const repo = admin.get("/v8/BackupRepositories", { query: { limit: 1 } }).json().results[0];
  const job = admin.post("/v8/Jobs", { json: { name: `App-only ${org.id}`, backupType: "EntireOrganization",
    organizationId: org.id, repositoryId: repo.id, isEnabled: true,
    schedulePolicy: { type: "ManualOnly", scheduleEnabled: false } } }).json();
  const run = admin.post(`/v8/Jobs/${job.id}/start`).json();
  clock.advance("5m");
  return admin.get(`/v8/JobSessions/${run.id}`).json();
}

test("add a modern app-only organization with a new application, then back it up with app-only tokens", ({ veeam, mock, target, clock }) => {
  const admin = veeam.login({ admin: true });
  removeTenant(admin, target);
  const since = mark(mock.entra);
  const userCode = signedInCode(admin, mock, clock);

  const added = admin.post("/v8/Organizations", { json: { type: "Office365", isExchangeOnline: true, userCode,
    newApplicationName: "VB365 scenario backup", exchangeOnlineSettings: { useApplicationOnlyAuth: true } } });
  expect(added).toHaveStatus(201);
  const org = added.json();
  const appId = org.exchangeOnlineSettings.applicationId;
  expect(org.name).toBe(target.veeam.organization);
  expect(appId).toMatch(/^[0-9a-f-]{36}$/);
  expect(org.exchangeOnlineSettings.applicationCertificateThumbprint).toMatch(/^[0-9A-F]{40}$/);
  expect(org.exchangeOnlineSettings).not.toHaveProperty("applicationCertificate");
  const listed = admin.paginate("/v8/Organizations", { query: { limit: 50 } }).find((o) => o.id === org.id);
  expect(listed.exchangeOnlineSettings.applicationId).toBe(appId);
  expect(admin.post("/v8/Organizations", { json: { type: "Office365", userCode, newApplicationName: "again",
    exchangeOnlineSettings: { useApplicationOnlyAuth: true } } })).toHaveStatus(400); // a user code adds one organization

  const app = mock.entra.application(appId);
  expect(app.display_name).toBe("VB365 scenario backup");
  expect(app.consent).toBe("granted");
  expect(app.credentials.map((c) => c.thumbprint)).toEqual([org.exchangeOnlineSettings.applicationCertificateThumbprint]);
  expect(app.permissions.graph.length).toBeGreaterThan(0);

  // The server's own calls to Entra: the device code and its polls, the device code redacted.
  const calls = mock.entra.requests({ since }).filter((e) => e.path.startsWith("/organizations/oauth2/v2.0/"));
  expect(calls.map((e) => e.path)).toEqual(["/organizations/oauth2/v2.0/devicecode",
    "/organizations/oauth2/v2.0/token", "/organizations/oauth2/v2.0/token"]);
  expect(calls.filter((e) => e.fields.grant_type).every((e) => e.fields.device_code.startsWith("[redacted"))).toBe(true);

  // Its backups use the application: app-only tokens with a certificate assertion.
  const before = mark(mock.entra);
  const session = backUp(admin, clock, org);
  expect(session.status).toBe("Success");
  const tokens = mock.entra.requests({ since: before, field: "grant_type", value: "client_credentials" });
  expect(tokens.map((e) => [e.status, e.fields.client_id, e.fields.scope])).toEqual([
    [200, appId, "https://graph.microsoft.com/.default"], [200, appId, "https://outlook.office365.com/.default"]]);
  expect(tokens.every((e) => e.fields.client_assertion.startsWith("[redacted"))).toBe(true);
  const log = admin.get(`/v8/JobSessions/${session.id}/LogItems`).json().results.map((l) => l.message);
  expect(log.join("\n")).toContain(`Got app-only tokens for https://graph.microsoft.com and https://outlook.office365.com from Microsoft Entra ID (application ${appId}`);
}, { tags: ["modern-app-only", "workflow"], requires: ["control", "clock"] });

test("add a modern app-only organization with an existing application it configures", ({ veeam, mock, target, clock }) => {
  const admin = veeam.login({ admin: true });
  const existing = admin.paginate("/v8/Organizations", { query: { limit: 50 } })
    .find((o) => o.name === target.veeam.organization).exchangeOnlineSettings.applicationId;
  const credentialsBefore = mock.entra.application(existing).credentials.length;
  removeTenant(admin, target);
  const userCode = signedInCode(admin, mock, clock);

  const added = admin.post("/v8/Organizations", { json: { type: "Office365", isExchangeOnline: true, userCode,
    configureApplication: true, exchangeOnlineSettings: { useApplicationOnlyAuth: true, applicationId: existing } } });
  expect(added).toHaveStatus(201);
  const org = added.json();
  expect(org.exchangeOnlineSettings.applicationId).toBe(existing);
  const app = mock.entra.application(existing);
  expect(app.credentials).toHaveLength(credentialsBefore + 1); // the server registered its certificate
  expect(app.credentials.map((c) => c.thumbprint)).toContain(org.exchangeOnlineSettings.applicationCertificateThumbprint);

  const session = backUp(admin, clock, org);
  expect(session.status).toBe("Success");
  const log = admin.get(`/v8/JobSessions/${session.id}/LogItems`).json().results.map((l) => l.message).join("\n");
  expect(log).toContain(`certificate ${org.exchangeOnlineSettings.applicationCertificateThumbprint})`); // the server's new certificate
}, { tags: ["modern-app-only", "workflow"], requires: ["control", "clock"] });
