// The life of a Veeam token pair: the access token works for 60 minutes and then gets
// 401; a refresh brings a new pair with new expiry times; a refresh token is good for one
// refresh only (presenting a spent one again revokes the sign-in), and once past its own
// expiry the only way back is a new login.
const { test, expect, afterEach } = require("vbharness");
const { login } = require("./lib/flow.js");
const { resetSharedMock } = require("./lib/cleanup.js");

afterEach(resetSharedMock); // a running mock's settings go back to their defaults

test("an access token expires after 60 minutes: 401, refresh, 200, new expiry times", (ctx) => {
  const { clock, jwt } = ctx;
  const { session } = login(ctx);
  const first = { ...session.response, expiresAt: session.expiresAt, exp: jwt.decode(session.accessToken).payload.exp };
  expect(first.expires_in).toBe(3600);
  expect(Date.parse(first[".expires"]) - Date.parse(first[".issued"])).toBe(3600 * 1000);
  const seconds = (iso) => Math.floor(Date.parse(iso) / 1000);
  expect(first.exp).toBe(seconds(first[".expires"]));

  clock.advance("59m");
  expect(session.get("/v8/Organization", { autoRefresh: false })).toHaveStatus(200);
  clock.advance("2m");
  expect(session.get("/v8/Organization", { autoRefresh: false })).toHaveStatus(401);

  session.refresh();
  expect(session.get("/v8/Organization", { autoRefresh: false })).toHaveStatus(200);
  const next = session.response;
  expect(next.access_token).not.toBe(first.access_token);
  expect(next.refresh_token).not.toBe(first.refresh_token);
  expect(Date.parse(next[".issued"])).toBeGreaterThanOrEqual(Date.parse(first[".issued"]) + 61 * 60 * 1000);
  expect(Date.parse(next[".expires"]) - Date.parse(next[".issued"])).toBe(3600 * 1000);
  expect(jwt.decode(session.accessToken).payload.exp).toBe(seconds(next[".expires"]));
  expect(session.expiresAt).toBe(session.issuedAt + 3600 * 1000);
  expect(session.expiresAt).toBeGreaterThanOrEqual(first.expiresAt + 61 * 60 * 1000);
}, { tags: ["refresh"], requires: ["clock"] });

test("a spent refresh token is refused", (ctx) => {
  const { veeam } = ctx;
  const { session } = login(ctx);
  const spent = session.refreshToken;
  session.refresh();
  const reuse = veeam.token({ grant_type: "refresh_token", refresh_token: spent });
  expect(reuse).toHaveStatus(400);
  expect(reuse).toHaveVeeamError("invalid_grant");
  // The reuse revokes the whole sign-in (RFC 9700 §4.14.2; the mock's revokeOnRefreshReuse,
  // on by default, is an assumption): the pair the spent token was exchanged for goes too.
  expect(reuse.json().error_description).toContain("Every token of this sign-in has been revoked");
  expect(session.get("/v8/Organization", { autoRefresh: false })).toHaveStatus(401);
  expect(() => session.refresh()).toHaveVeeamError("invalid_grant");
}, { tags: ["refresh", "negative"] });

test("with revokeOnRefreshReuse off, only the spent refresh token is refused", (ctx) => {
  const { veeam, mock } = ctx;
  mock.veeam.settings.set({ revokeOnRefreshReuse: false });
  const { session } = login(ctx);
  const spent = session.refreshToken;
  session.refresh();
  expect(veeam.token({ grant_type: "refresh_token", refresh_token: spent })).toHaveVeeamError("invalid_grant");
  session.refresh();
  expect(session.get("/v8/Organization")).toHaveStatus(200);
}, { tags: ["refresh", "negative"], requires: ["control"] });

test("a refresh token past its own expiry forces a new login", (ctx) => {
  const { clock, jwt } = ctx;
  const { session } = login(ctx);
  const refreshExp = jwt.decode(session.refreshToken).payload.exp * 1000;
  expect(refreshExp).toBeGreaterThan(session.expiresAt);
  clock.advance(refreshExp - clock.now() + 5000);
  expect(() => session.refresh()).toHaveVeeamError("invalid_grant");
  // The session knows its access token expired and that Veeam refused its refresh token:
  // a call fails at once with that refusal, without sending either again.
  expect(() => session.get("/v8/Organization")).toHaveVeeamError("invalid_grant");
  expect(session.get("/v8/Organization", { autoRefresh: false })).toHaveStatus(401);

  const again = login(ctx).session;
  expect(again.get("/v8/Organization")).toHaveStatus(200);
}, { tags: ["refresh", "negative"], requires: ["clock"] });
