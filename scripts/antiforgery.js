// Veeam's antiforgery protection (veeam.md §1.6): a login without
// disable_antiforgery_token=true gets an antiforgery token next to the token pair, and
// every call and refresh must bring it back. A client written from the seed, which sends
// the bearer token only, is refused on a real server; these tests keep it from passing
// offline. The header name X-XSRF-TOKEN is the mock's assumption (the real one is not
// public).
const { test, expect } = require("vbharness");
const { JWT_BEARER_GRANT, entraToken } = require("./lib/flow.js");
const { mark } = require("./lib/journal.js");

test("a bearer-only call of an antiforgery login is refused with how to fix the client", (ctx) => {
  const { veeam, http, target } = ctx;
  const login = veeam.token({ grant_type: JWT_BEARER_GRANT, client_id: target.veeam.organization, assertion: entraToken(ctx) });
  expect(login).toHaveStatus(200);
  const xsrf = login.headers["x-xsrf-token"];
  expect(xsrf).toBeTruthy();
  expect(login.headers["set-cookie"]).toContain("XSRF-TOKEN=");
  const pair = login.json();
  const url = target.veeam.url + "/v8/Organization";

  const bare = http.get(url, { headers: { Authorization: "Bearer " + pair.access_token } });
  expect(bare).toHaveStatus(400);
  expect(bare.json().message).toContain("send disable_antiforgery_token=true at login, or the antiforgery token");
  const kept = http.get(url, { headers: { Authorization: "Bearer " + pair.access_token, "X-XSRF-TOKEN": xsrf } });
  expect(kept).toHaveStatus(200);
  expect(kept.json().name).toBe(target.veeam.organization);

  // Refresh keeps the requirement: without the token it is refused and spends nothing.
  const refresh = { grant_type: "refresh_token", refresh_token: pair.refresh_token };
  expect(veeam.token(refresh)).toHaveStatus(400);
  const renewed = http.post(target.veeam.url + "/v8/token", { form: refresh, headers: { "X-XSRF-TOKEN": xsrf } });
  expect(renewed).toHaveStatus(200);
}, { tags: ["antiforgery", "negative"] });

test("veeam.login with antiforgery keeps the protection and carries the token", (ctx) => {
  const { veeam, mock, jwt, http, target } = ctx;
  const since = mark(mock.veeam);
  const session = veeam.login({ assertion: entraToken(ctx), antiforgery: true });
  expect(jwt.decode(session.accessToken).payload.antiforgery).toBe("True");
  // The same token without its antiforgery token is refused: the session's calls pass
  // because it carries it.
  const bare = http.get(target.veeam.url + "/v8/Organization", { headers: { Authorization: "Bearer " + session.accessToken } });
  expect(bare).toHaveStatus(400);
  expect(session.get("/v8/Organization")).toHaveStatus(200);
  session.refresh();
  expect(jwt.decode(session.accessToken).payload.antiforgery).toBe("True");
  expect(session.get("/v8/Organization", { autoRefresh: false })).toHaveStatus(200);
  session.logout();
  const grants = mock.veeam.requests({ path: "/v8/token", since }).filter((c) => c.path === "/v8/token"); // not the logout
  expect(grants.map((c) => c.fields.grant_type)).toEqual([JWT_BEARER_GRANT, "refresh_token"]);
  expect(grants.map((c) => "disable_antiforgery_token" in c.fields)).toEqual([false, false]);
}, { tags: ["antiforgery"], requires: ["control"] });

test("veeam.login sends disable_antiforgery_token=true by default, and bearer-only calls work", (ctx) => {
  const { veeam, mock, jwt, http, target } = ctx;
  const since = mark(mock.veeam);
  const session = veeam.login({ assertion: entraToken(ctx) });
  expect(jwt.decode(session.accessToken).payload.antiforgery).toBe("False");
  const bare = http.get(target.veeam.url + "/v8/Organization", { headers: { Authorization: "Bearer " + session.accessToken } });
  expect(bare).toHaveStatus(200);
  const logins = mock.veeam.requests({ path: "/v8/token", since });
  expect(logins[0].fields.disable_antiforgery_token).toBe("true");
}, { tags: ["antiforgery", "smoke"], requires: ["control"] });
