// A smoke suite for a lab server (`vbharness run --root scripts scripts/lab --target lab`;
// --root lets it require ../lib): a tenant signs in with a device code (a person
// completes the sign-in; on the mocks it is approved) and
// the administrator logs in with VBHARNESS_VEEAM_PASSWORD. It needs neither the clock nor
// the control API, and only reads: it is safe on a server in use.
const { test, expect } = require("vbharness");
const { login } = require("../lib/flow.js");

test("a tenant signs in with a device code, reads its organization, refreshes and logs out", (ctx) => {
  const { target } = ctx;
  const { session } = login(ctx);
  const org = session.get("/v8/Organization");
  expect(org).toHaveStatus(200);
  expect(org.json().name.toLowerCase()).toBe(target.veeam.organization.toLowerCase());
  const before = session.accessToken;
  session.refresh();
  expect(session.accessToken).not.toBe(before);
  expect(session.get("/v8/Organization", { autoRefresh: false })).toHaveStatus(200);
  session.logout();
  expect(session.get("/v8/Organization")).toHaveStatus(401);
}, { tags: ["smoke", "lab"] });

test("the administrator reads ServiceInstance, organizations and jobs, refreshes and logs out", ({ veeam, target }) => {
  const admin = veeam.login({ admin: true });
  const instance = admin.get("/v8/ServiceInstance");
  expect(instance).toHaveStatus(200);
  expect(instance.json().version).toMatch(/^\d+\.\d+/);
  const organizations = admin.paginate("/v8/Organizations");
  expect(organizations.map((o) => o.name.toLowerCase())).toContain(target.veeam.organization.toLowerCase());
  for (const job of admin.paginate("/v8/Jobs")) expect(job).toHaveProperty("id");
  const before = admin.accessToken;
  admin.refresh();
  expect(admin.accessToken).not.toBe(before);
  expect(admin.get("/v8/ServiceInstance", { autoRefresh: false })).toHaveStatus(200);
  admin.logout();
  expect(admin.get("/v8/ServiceInstance")).toHaveStatus(401);
}, { tags: ["smoke", "lab"] });
