// Restore to the original location with a device code (issue 14 item 5): the person who
// restores signs in to the organization's Entra application with a code the Veeam server
// asked Entra for (POST …/organization/restoreDeviceCode); the restore action carries
// that userCode, and the server redeems it at Entra itself (device_code polls, which
// Entra's journal shows, redacted) and restores as that account. Before the sign-in the
// restore is refused with Entra's pending text (AADSTS70016), a code restores once, and
// another organization's token gets 403 for the session's device code and its restore.
const { test, expect, afterEach } = require("vbharness");
const { mark } = require("./lib/journal.js");
const { resetSharedMock } = require("./lib/cleanup.js");

afterEach(resetSharedMock);

// The basic-auth organization of the mock's default world and its organization
// account (docs/veeam-mock.md, "Defaults"): a tenant of another organization.
const FABRIKAM = { username: "admin@fabrikam.onmicrosoft.com", password: "Fabrikam-Passw0rd!" };

/** An administrator's restore session of the target's organization, and a mailbox of it. */
function exploreMailbox(admin, target) {
  const org = admin.paginate("/v8/Organizations", { query: { limit: 50 } })
    .find((o) => o.name === target.veeam.organization);
  const rs = admin.post(`/v8/Organizations/${org.id}/explore`, { json: { type: "Vex" } });
  expect(rs).toHaveStatus(201);
  const base = `/v8/RestoreSessions/${rs.json().id}`;
  const mailbox = admin.get(`${base}/organization/mailboxes`, { query: { limit: 1 } }).json().results[0];
  return { org, base, mailbox: `${base}/organization/mailboxes/${mailbox.id}` };
}

test("restore a mailbox to its original location with a device code", ({ veeam, mock, target, clock }) => {
  const admin = veeam.login({ admin: true });
  const { org, base, mailbox } = exploreMailbox(admin, target);
  const since = mark(mock.entra);
  const dc = admin.post(`${base}/organization/restoreDeviceCode`, { json: {} });
  expect(dc).toHaveStatus(200);
  const { userCode, verificationUrl } = dc.json();
  expect(verificationUrl).toMatch(/\/devicelogin$/);

  const early = admin.post(`${mailbox}/restore`, { json: { userCode } });
  expect(early).toHaveVeeamError("ParameterValidationFailure");          // 400: nobody signed in yet
  expect(early.json().message).toContain("AADSTS70016");
  expect(admin.get(`${base}/Events`).json().results).toEqual([]);

  mock.approve(userCode);                                                // the person signs in on Entra
  clock.advance("5s");                                                   // the server polls no faster than Entra's interval
  const restored = admin.post(`${mailbox}/restore`, { json: { userCode } });
  expect(restored).toHaveStatus(200);
  expect(restored.json().sessionId).toBe(base.split("/").pop());
  const events = veeam.waitFor(admin, `${base}/Events`, (page) => page.results.every((e) => e.status !== "Running"), { interval: "1m" });
  expect(events.results.map((e) => e.status)).toEqual(["Success"]);
  expect(events.results[0].message).toContain(`Signed in to Microsoft 365 as ${target.entra.user} with a device code.`);
  expect(admin.get(`${base}/Statistics`).json().restoredItemsCount).toBe(1);

  const again = admin.post(`${mailbox}/restore`, { json: { userCode } });  // one sign-in, one restore
  expect(again).toHaveVeeamError("ParameterValidationFailure");
  expect(again.json().message).toContain("was already used for a restore");

  // The server's own calls to Entra, as the organization's application: the device code
  // and its polls (pending, then the token), the device code redacted, the user code nowhere.
  const calls = mock.entra.requests({ since }).filter((e) => e.fields.client_id === org.exchangeOnlineSettings.applicationId);
  expect(calls.map((e) => [e.path.replace(/^\/[^/]+/, ""), e.status])).toEqual([
    ["/oauth2/v2.0/devicecode", 200], ["/oauth2/v2.0/token", 400], ["/oauth2/v2.0/token", 200]]);
  expect(calls.filter((e) => e.fields.grant_type).every((e) => e.fields.device_code.startsWith("[redacted"))).toBe(true);
  expect(JSON.stringify(mock.entra.requests({ since }))).not.toContain(userCode);
  const sent = mock.veeam.requests({ path: `${mailbox}/restore` });
  expect(sent.length).toBe(3);
  expect(sent.every((e) => String(e.fields.userCode).startsWith("[redacted"))).toBe(true);
}, { tags: ["modern-app-only", "restore", "workflow"], requires: ["control", "clock"] });

test("another organization's token is refused the session's device code and its restore", ({ veeam, mock, target, clock }) => {
  const admin = veeam.login({ admin: true });
  const { base, mailbox } = exploreMailbox(admin, target);
  const { userCode } = admin.post(`${base}/organization/restoreDeviceCode`, { json: {} }).json();
  mock.approve(userCode);
  clock.advance("5s");

  const fabrikam = veeam.login(FABRIKAM);                               // a tenant of fabrikam.onmicrosoft.com
  expect(fabrikam.get("/v8/Organization").json().name).toBe("fabrikam.onmicrosoft.com");
  for (const [path, json] of [[`${base}/organization/restoreDeviceCode`, {}], [`${mailbox}/restore`, { userCode }]]) {
    const refused = fabrikam.post(path, { json });
    expect(refused).toHaveStatus(403);
    expect(refused).toHaveVeeamError("ResourceAccessDenied");
  }
  expect(admin.post(`${mailbox}/restore`, { json: { userCode } })).toHaveStatus(200); // the refused attempt spent nothing
}, { tags: ["modern-app-only", "restore", "negative"], requires: ["control", "clock"] });
