// Veeam checks the claims of the assertion's access token: its tenant, its Directory and
// User permissions, and its expiry. The mock Entra only issues tokens that pass, so the
// claim tests alter a real token and switch the mock Veeam to claimsOnly (no signature
// check, as for real Graph tokens), proving each refusal comes from the claim alone.
const { test, expect, afterEach } = require("vbharness");
const { entraToken } = require("./lib/flow.js");
const { alterAssertion } = require("./lib/jwt.js");
const { veeamRefusal } = require("./lib/refusal.js");
const { resetSharedMock } = require("./lib/cleanup.js");

afterEach(resetSharedMock);

// claimsRefused logs in with the unaltered assertion first (so the claims are all that
// differs), then with the altered one, and returns the refusal.
function claimsRefused(ctx, payload) {
  const { veeam, mock, jwt } = ctx;
  mock.veeam.settings.set({ claimsOnly: true });
  const assertion = entraToken(ctx);
  expect(veeam.login({ assertion }).get("/v8/Organization")).toHaveStatus(200);
  const scp = jwt.decode(assertion.access_token).payload.scp;
  const altered = alterAssertion(assertion, { payload: typeof payload === "function" ? payload(scp) : payload });
  const e = veeamRefusal(() => veeam.login({ assertion: altered }));
  expect(e).toHaveVeeamError("invalid_grant");
  return e;
}

const without = (scp, prefix) => scp.split(" ").filter((s) => !s.startsWith(prefix)).join(" ");

test("an assertion issued for another tenant is refused", (ctx) => {
  const e = claimsRefused(ctx, { tid: "0b7c3a51-6f2e-4d8a-9c1b-5e4f3a2d1c0b" });
  expect(e.description).toMatch(/was issued for tenant "0b7c3a51-6f2e-4d8a-9c1b-5e4f3a2d1c0b"/);
}, { tags: ["negative"], requires: ["control"] });

test("an assertion without a Directory permission is refused", (ctx) => {
  const e = claimsRefused(ctx, (scp) => ({ scp: without(scp, "Directory.") }));
  expect(e.description).toMatch(/lacks a Directory permission/);
}, { tags: ["negative"], requires: ["control"] });

test("an assertion without a User permission is refused", (ctx) => {
  const e = claimsRefused(ctx, (scp) => ({ scp: without(scp, "User.") }));
  expect(e.description).toMatch(/lacks a User permission/);
}, { tags: ["negative"], requires: ["control"] });

test("an expired Entra token is refused as assertion", (ctx) => {
  const { veeam, clock, jwt } = ctx;
  const assertion = entraToken(ctx);
  const exp = jwt.decode(assertion.access_token).payload.exp * 1000;
  clock.advance(exp - clock.now() + 5000);
  expect(() => veeam.login({ assertion })).toHaveVeeamError("invalid_grant");
  expect(() => veeam.login({ assertion })).toThrow(/expired at/);
}, { tags: ["negative"], requires: ["clock"] });
