// The applications of mock.entra from scripts (engine/apps_test.go runs this test).
const { test, expect } = require("vbharness");

test("mock.entra's applications drive an organization's app-only backups", ({ veeam, mock, clock }) => {
  const admin = veeam.login({ admin: true });
  const apps = mock.entra.applications();
  const org = admin.get("/v8/Organizations", { query: { limit: 1 } }).json().results[0];
  const appId = org.exchangeOnlineSettings.applicationId;
  expect(apps.map((a) => a.app_id)).toContain(appId);
  expect(mock.entra.application(appId).consent).toBe("granted");

  // A new certificate at Entra, its PFX given to the organization.
  const added = mock.entra.addCredential(appId, { validFor: "720h", name: "renewed" });
  const { application, certificate } = added;
  expect(application.credentials.map((c) => c.thumbprint)).toContain(certificate.thumbprint);
  expect(certificate.keyId).toBeTruthy();
  const put = admin.put(`/v8/Organizations/${org.id}`, { json: { ...org, exchangeOnlineSettings: {
    ...org.exchangeOnlineSettings, applicationCertificate: certificate.pfx, applicationCertificatePassword: certificate.password } } });
  expect(put).toHaveStatus(204);
  expect(admin.get(`/v8/Organizations/${org.id}`).json().exchangeOnlineSettings.applicationCertificateThumbprint).toBe(certificate.thumbprint);

  const repo = admin.get("/v8/BackupRepositories", { query: { limit: 1 } }).json().results[0];
  const job = admin.post("/v8/Jobs", { json: { name: "app-only", backupType: "EntireOrganization", organizationId: org.id,
    repositoryId: repo.id, isEnabled: true, schedulePolicy: { type: "ManualOnly", scheduleEnabled: false } } }).json();
  const run = () => {
    const s = admin.post(`/v8/Jobs/${job.id}/start`).json();
    clock.advance("5m");
    const log = admin.get(`/v8/JobSessions/${s.id}/LogItems`).json().results.map((l) => l.message).join("\n");
    return { status: admin.get(`/v8/JobSessions/${s.id}`).json().status, log };
  };
  let r = run();
  expect(r.status).toBe("Success");
  expect(r.log).toContain(`Got app-only tokens for https://graph.microsoft.com`);
  expect(mock.entra.requests({ field: "grant_type", value: "client_credentials" }).map((e) => e.fields.client_id)).toContain(appId);

  mock.entra.expireCredential(appId, certificate.keyId);
  r = run();
  expect(r.status).toBe("Failed");
  expect(r.log).toContain("AADSTS1000502");

  const renewed = mock.entra.renewCredential(appId, { keyId: certificate.keyId, validFor: "8760h" });
  expect(renewed.credentials.find((c) => c.key_id === certificate.keyId).state).toBe("valid");
  expect(run().status).toBe("Success");

  expect(mock.entra.revokeConsent(appId).consent).toBe("revoked");
  r = run();
  expect(r.status).toBe("Failed");
  expect(r.log).toContain("has no application permissions");
  mock.entra.grantConsent(appId);
  expect(run().status).toBe("Success");

  const removed = mock.entra.removeCredential(appId, certificate.keyId);
  expect(removed.credentials.map((c) => c.key_id)).not.toContain(certificate.keyId);
  r = run();
  expect(r.status).toBe("Failed");
  expect(r.log).toContain("AADSTS700027");
  expect(() => mock.entra.expireCredential()).toThrow("needs an application id");
}, { requires: ["control", "clock"] });
