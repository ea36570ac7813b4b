// A restore operator logs in with grant_type=operator (client_id <userId>.<tenantId>, the
// operator's Entra token for the Restore Portal) and gets tenant scope. The operator signs
// in by device code to the Restore Portal application RestorePortalSettings names, for its
// scope api://<applicationId>/access_as_user (veeam.md §1.2), with the portal's id as the
// public client; the token goes to Veeam as Entra issued it.
const { test, expect, afterEach } = require("vbharness");
const { entraToken } = require("./lib/flow.js");
const { veeamRefusal } = require("./lib/refusal.js");
const { resetSharedMock } = require("./lib/cleanup.js");

afterEach(resetSharedMock);

test("a restore operator logs in with grant_type=operator and has tenant scope", (ctx) => {
  const { veeam, mock, http, jwt, target } = ctx;
  const portal = http.get(target.veeam.url + "/v8/RestorePortalSettings").json();
  const app = portal.applicationId;
  const accessToken = entraToken(ctx, {
    deviceCode: { clientId: app, scope: `api://${app}/access_as_user openid profile offline_access` },
  }).access_token;
  const user = jwt.decode(accessToken);
  expect(user.payload.aud).toBe("api://" + app);
  expect(user.payload.scp).toBe("access_as_user");
  const operator = { userId: user.payload.oid, tenantId: user.payload.tid, accessToken };

  const off = veeamRefusal(() => veeam.login({ operator }));
  expect(off).toHaveVeeamError("invalid_grant");
  expect(off.description).toMatch(/operator authentication is disabled/);

  mock.veeam.settings.set({ operatorAuthentication: true });
  const session = veeam.login({ operator });
  expect(jwt.decode(session.accessToken).payload.credentialType).toBe("Operator");
  expect(session.userName).toBe(user.payload.upn);
  expect(session.get("/v8/Organization")).toHaveStatus(200);
  const jobs = session.get("/v8/Jobs");
  expect(jobs).toHaveStatus(403);
  expect(jobs).toHaveVeeamError("ResourceAccessDenied");
}, { tags: ["operator"], requires: ["control"] });
