// The HTML report's browser test runs these (cmd/vbharness/report_browser_test.go): a
// token's whole life with a refresh, a refused refresh token, a failing test and a
// skipped one.
const { test, expect } = require("vbharness");

function login({ entra, veeam }) {
  const code = entra.deviceCode();
  entra.signIn(code);
  return veeam.login({ assertion: entra.pollToken(code) });
}

test("an hour later the token is refreshed", (ctx) => {
  const session = login(ctx);
  expect(session.get("/v8/Organization")).toHaveStatus(200);
  ctx.clock.advance("61m");
  expect(session.get("/v8/Organization", { autoRefresh: false })).toHaveStatus(401);
  session.refresh();
  expect(session.get("/v8/Organization")).toHaveStatus(200);
}, { requires: ["clock"], tags: ["refresh"] });

test("a spent refresh token is refused", (ctx) => {
  const session = login(ctx);
  const spent = session.refreshToken;
  session.refresh();
  expect(session.get("/v8/Organization")).toHaveStatus(200);
  // Last: a spent refresh token revokes its whole family, this session's tokens too.
  expect(ctx.veeam.token({ grant_type: "refresh_token", refresh_token: spent })).toHaveVeeamError("invalid_grant");
}, { tags: ["refresh", "negative"] });

test("a refreshed token outlives its hour (it does not)", (ctx) => {
  const session = login(ctx);
  ctx.clock.advance("61m");
  expect(session.get("/v8/Organization", { autoRefresh: false })).toHaveStatus(401);
  session.refresh();
  expect(session.get("/v8/Organization")).toHaveStatus(200);
  ctx.clock.advance("2h");
  expect(session.get("/v8/Organization", { autoRefresh: false })).toHaveStatus(200);
}, { requires: ["clock"], tags: ["negative"] });

test.skip("a lab-only check", () => {}, { tags: ["lab"] });
