// A restore operator works within its RBAC scope: the administrator gives a helpdesk
// operator a role whose scope is one user (the document's RbacRoles operations); the
// operator signs in with grant_type=operator, explores and sees that user's mailbox
// alone, and is refused (403 ResourceAccessDenied) when it asks for another user's.
const { test, expect, afterEach } = require("vbharness");
const { entraToken } = require("./lib/flow.js");
const { resetSharedMock } = require("./lib/cleanup.js");

afterEach(resetSharedMock);

const rbacUser = (u) => ({ type: "User", user: { id: u.id, displayName: u.displayName, name: u.name, type: "User" } });

test("a restore operator explores within its RBAC scope and is refused outside it", (ctx) => {
  const { veeam, mock, http, jwt, target } = ctx;
  const app = http.get(target.veeam.url + "/v8/RestorePortalSettings").json().applicationId;
  const accessToken = entraToken(ctx, {
    deviceCode: { clientId: app, scope: `api://${app}/access_as_user openid profile offline_access` },
  }).access_token;
  const claims = jwt.decode(accessToken).payload;
  mock.veeam.settings.set({ operatorAuthentication: true });

  const admin = veeam.login({ admin: true });
  const org = admin.paginate("/v8/Organizations").find((o) => o.name === target.organization) ||
    admin.get("/v8/Organizations", { query: { limit: 1 } }).json().results[0];
  const users = admin.paginate(`/v8/Organizations/${org.id}/Users`, { query: { limit: 20 } });
  // The operator as the organization knows it: its Microsoft 365 user (the Entra object id).
  const me = users.find((u) => u.name.toLowerCase() === claims.upn.toLowerCase()) ||
    { id: claims.oid, displayName: claims.name || claims.upn, name: claims.upn };
  const [inScope, other] = users.filter((u) => u.id !== me.id && u.type === "User");
  expect(other).toBeDefined();
  const role = admin.post(`/v8/Organizations/${org.id}/RbacRoles`, { json: {
    name: `Helpdesk for ${inScope.name}`, description: "vbharness restore_operator.js", roleType: "SpecificObjects",
    operators: [rbacUser(me)], selectedItems: [rbacUser(inScope)],
  } });
  expect(role).toHaveStatus(201);

  const operator = veeam.login({ operator: { userId: claims.oid, tenantId: claims.tid, accessToken } });
  const explored = operator.post("/v8/Organization/Explore", { json: { type: "Vex" } });
  expect(explored).toHaveStatus(201);
  const base = `/v8/RestoreSessions/${explored.json().id}`;
  const mailboxes = operator.paginate(`${base}/organization/mailboxes`);
  expect(mailboxes.map((m) => m.email)).toEqual([inScope.name]); // its scope, nothing else
  const folders = operator.paginate(`${base}/organization/mailboxes/${mailboxes[0].id}/folders`);
  expect(folders.length).toBeGreaterThan(0);

  const outside = operator.post("/v8/Organization/OperatorExplore", { json: { type: "Vex", scope: rbacUser(other) } });
  expect(outside).toHaveStatus(403);
  expect(outside).toHaveVeeamError("ResourceAccessDenied");
  const inside = operator.post("/v8/Organization/OperatorExplore", { json: { type: "Vex", reason: "ticket 42", scope: rbacUser(inScope) } });
  expect(inside).toHaveStatus(201);
  expect(operator.get("/v8/Jobs")).toHaveVeeamError("ResourceAccessDenied");
  expect(operator.post(`${base}/Stop`)).toHaveStatus(204);
}, { tags: ["workflow", "operator", "restore"], requires: ["control"] });
