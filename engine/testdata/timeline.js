// A token's life on the scenario clock: sign-in, a call, expiry (401), a refresh, a
// spent refresh token refused (invalid_grant), and a failing assertion at a known line.
const { test, expect } = require("vbharness");

test("token life", ({ entra, veeam, clock }) => {
  const code = entra.deviceCode();
  entra.signIn(code);
  const session = veeam.login({ assertion: entra.pollToken(code) });
  expect(session.get("/v8/Organization")).toHaveStatus(200);
  clock.advance("61m");
  expect(session.get("/v8/Organization", { autoRefresh: false })).toHaveStatus(401);
  const spent = session.refreshToken;
  session.refresh();
  expect(session.get("/v8/Organization")).toHaveStatus(200);
  // Last: a spent refresh token revokes its whole family, this session's tokens too.
  expect(veeam.token({ grant_type: "refresh_token", refresh_token: spent })).toHaveStatus(400);
}, { requires: ["clock"] });

test("fails at line 21", () => {
  const answer = 41;
  expect(answer).toBe(42);
});
