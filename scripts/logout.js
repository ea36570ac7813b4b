// POST /v8/token/logout ends the login session on the server: afterwards neither the
// access token nor the refresh token of that session is accepted.
const { test, expect } = require("vbharness");
const { login } = require("./lib/flow.js");

test("logout revokes both tokens", (ctx) => {
  const { veeam } = ctx;
  const { session } = login(ctx);
  expect(session.get("/v8/Organization")).toHaveStatus(200);
  const refreshToken = session.refreshToken;
  session.logout();
  expect(session.loggedOut).toBe(true);
  expect(session.get("/v8/Organization")).toHaveStatus(401);
  const refresh = veeam.token({ grant_type: "refresh_token", refresh_token: refreshToken });
  expect(refresh).toHaveStatus(400);
  expect(refresh).toHaveVeeamError("invalid_grant");
}, { tags: ["smoke", "negative"] });
