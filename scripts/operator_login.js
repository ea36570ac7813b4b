// A restore operator logs in with grant_type=operator (client_id <userId>.<tenantId>, the
// operator's Entra token for the Restore Portal) and gets tenant scope. The mock Entra
// issues Graph tokens only, so the test re-addresses one to the Restore Portal and turns
// on claimsOnly, as for tokens only the real Entra can sign.
const { test, expect, afterEach } = require("vbharness");
const { entraToken } = require("./lib/flow.js");
const { alter } = require("./lib/jwt.js");
const { veeamRefusal } = require("./lib/refusal.js");
const { resetSharedMock } = require("./lib/cleanup.js");

afterEach(resetSharedMock);

test("a restore operator logs in with grant_type=operator and has tenant scope", (ctx) => {
  const { veeam, mock, http, jwt, target } = ctx;
  const portal = http.get(target.veeam.url + "/v8/RestorePortalSettings").json();
  const token = entraToken(ctx).access_token;
  const user = jwt.decode(token);
  const accessToken = alter(token, { payload: { aud: "api://" + portal.applicationId, scp: "access_as_user" } });
  const operator = { userId: user.payload.oid, tenantId: user.payload.tid, accessToken };

  mock.veeam.settings.set({ claimsOnly: true });
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
