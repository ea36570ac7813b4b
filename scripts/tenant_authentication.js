// The seed's "Important" note: tenant authentication must be enabled on the Veeam server
// before an assertion can log in. With it disabled the assertion is refused with a message
// that says so; enabled again, the same assertion works.
const { test, expect, afterEach } = require("vbharness");
const { entraToken } = require("./lib/flow.js");
const { resetSharedMock } = require("./lib/cleanup.js");

afterEach(resetSharedMock);

test("with tenant authentication disabled the assertion is refused with a clear message", (ctx) => {
  const { veeam, mock } = ctx;
  const assertion = entraToken(ctx);
  mock.veeam.settings.set({ tenantAuthentication: false });
  expect(() => veeam.login({ assertion })).toHaveVeeamError("invalid_grant");
  expect(() => veeam.login({ assertion })).toThrow(/Tenant authentication is disabled/);

  mock.veeam.settings.set({ tenantAuthentication: true });
  expect(veeam.login({ assertion }).get("/v8/Organization")).toHaveStatus(200);
}, { tags: ["negative"], requires: ["control"] });
