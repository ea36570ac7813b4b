// The seed's flow, request for request ("Authorization for Organizations with Modern
// App-Only Authentication", VB365 8.0.5.20): device code with the seed's client id and
// scopes, sign-in, the token response as jwt-bearer assertion at /v8/token, an API call,
// and the seed's refresh request. The mock journals prove each body is the seed's.
const { test, expect } = require("vbharness");
const { DEVICE_CODE_GRANT, JWT_BEARER_GRANT } = require("./lib/flow.js");
const { mark } = require("./lib/journal.js");

// The seed's application (the Azure CLI public client) and permissions.
const CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";
const SCOPE = "Directory.AccessAsUser.All User.ReadWrite.All offline_access";

test("modern app-only login with refresh", ({ entra, veeam, http, mock, target }) => {
  const since = { entra: mark(mock.entra), veeam: mark(mock.veeam) };
  const tenant = target.entra.tenant;

  // Step 1: POST /<tenant>/oauth2/v2.0/devicecode with client_id and scope.
  const code = entra.deviceCode({ clientId: CLIENT_ID, scope: SCOPE });
  expect(Object.keys(code)).toEqual(["user_code", "device_code", "verification_uri", "expires_in", "interval", "message"]);
  expect(code.expires_in).toBe(900);
  expect(code.message).toContain(code.verification_uri);

  // Steps 2–3: the person signs in; POST /<tenant>/oauth2/v2.0/token with the device code.
  entra.signIn(code);
  const assertion = entra.pollToken(code);
  expect(assertion.token_type).toBe("Bearer");
  expect(assertion.expires_in).toBe(3599);
  expect(assertion.ext_expires_in).toBe(3599);
  expect(assertion.refresh_token).toBeDefined();

  const entraCalls = mock.entra.requests({ since: since.entra });
  expect(entraCalls[0].path).toBe(`/${tenant}/oauth2/v2.0/devicecode`);
  expect(entraCalls[0].fields).toEqual({ client_id: CLIENT_ID, scope: SCOPE });
  const redeemed = entraCalls[entraCalls.length - 1];
  expect(redeemed.path).toBe(`/${tenant}/oauth2/v2.0/token`);
  expect(redeemed.status).toBe(200);
  expect(Object.keys(redeemed.fields).sort()).toEqual(["client_id", "device_code", "grant_type"]);
  expect(redeemed.fields.grant_type).toBe(DEVICE_CODE_GRANT);
  expect(redeemed.fields.client_id).toBe(CLIENT_ID);

  // Step 4: POST /v8/token with grant_type, client_id=<tenant> and the whole token response.
  const login = veeam.token({ grant_type: JWT_BEARER_GRANT, client_id: tenant, assertion });
  expect(login).toHaveStatus(200);
  const pair = login.json();
  expect(Object.keys(pair)).toEqual(["access_token", "refresh_token", "token_type", "expires_in", "userName", ".issued", ".expires"]);
  expect(pair.token_type).toBe("bearer");
  expect(pair.expires_in).toBe(3600);
  expect(Date.parse(pair[".expires"]) - Date.parse(pair[".issued"])).toBe(3600 * 1000);

  // The seed sends no disable_antiforgery_token, so the server protects the pair with an
  // antiforgery token (header X-XSRF-TOKEN and a cookie, names assumed), which every
  // call and the refresh bring back, as a browser with its cookie would.
  const xsrf = login.headers["x-xsrf-token"];
  expect(xsrf).toBeTruthy();

  // An API call with the access token in the Authorization header.
  const bearer = (t, x) => ({ headers: { Authorization: "Bearer " + t, "X-XSRF-TOKEN": x } });
  const org = http.get(target.veeam.url + "/v8/Organization", bearer(pair.access_token, xsrf));
  expect(org).toHaveStatus(200);
  expect(org.json().name).toBe(target.veeam.organization);

  // Step 5: POST /v8/token with grant_type=refresh_token&refresh_token=<refresh_token>.
  const renewed = http.post(target.veeam.url + "/v8/token", { form: { grant_type: "refresh_token", refresh_token: pair.refresh_token },
    headers: { "X-XSRF-TOKEN": xsrf } });
  expect(renewed).toHaveStatus(200);
  const next = renewed.json();
  expect(next.access_token).not.toBe(pair.access_token);
  expect(next.refresh_token).not.toBe(pair.refresh_token);
  expect(http.get(target.veeam.url + "/v8/Organization", bearer(next.access_token, renewed.headers["x-xsrf-token"]))).toHaveStatus(200);

  const tokenCalls = mock.veeam.requests({ path: "/v8/token", since: since.veeam });
  expect(tokenCalls.map((c) => Object.keys(c.fields).sort())).toEqual([
    ["assertion", "client_id", "grant_type"],
    ["grant_type", "refresh_token"],
  ]);
  expect(tokenCalls[0].fields.grant_type).toBe(JWT_BEARER_GRANT);
  expect(tokenCalls[0].fields.client_id).toBe(tenant);
  expect(tokenCalls[1].fields.grant_type).toBe("refresh_token");
}, { tags: ["smoke", "refresh"], requires: ["control"] });
