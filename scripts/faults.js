// A client that retries what is transient survives the faults of real networks and
// servers: Entra answering 503 once while the device code is polled (entra.pollToken
// retries it itself), Veeam's token endpoint answering 429 with Retry-After, and a
// connection dropped mid-call. Each test injects the fault through the control API and
// reads the journal to prove it happened.
const { test, expect, afterEach } = require("vbharness");
const { DEVICE_CODE_GRANT, JWT_BEARER_GRANT, entraToken } = require("./lib/flow.js");
const { mark, gaps, devicePolls } = require("./lib/journal.js");
const { retry } = require("./lib/retry.js");
const { resetSharedMock } = require("./lib/cleanup.js");

afterEach(resetSharedMock); // a fault that never fired must not outlive its test

test("Entra answers 503 once while polling and the flow still completes", (ctx) => {
  const { entra, mock, target } = ctx;
  const since = mark(mock.entra);
  const code = entra.deviceCode();
  entra.signIn(code);
  mock.entra.faults.add({ path: `/${target.entra.tenant}/oauth2/v2.0/token`, match: { grant_type: DEVICE_CODE_GRANT }, status: 503 });
  const token = entra.pollToken(code); // a transient answer is polled again, not thrown
  expect(token.access_token).toBeDefined();

  const polls = devicePolls(ctx, since);
  expect(polls.map((p) => p.status)).toEqual([503, 200]);
  expect(polls[0].fault).toBeDefined();
  expect(gaps(polls)[0]).toBeGreaterThanOrEqual(code.interval * 1000);
}, { tags: ["faults"], requires: ["control"], contract: "warn" }); // the injected 503 has no Entra error body, on purpose

// tokenWithBackoff posts a /v8/token form until it is not told to wait, waiting as long
// as each 429's Retry-After says (RFC 9110 §10.2.3, in seconds).
function tokenWithBackoff({ veeam, sleep }, form, attempts = 3) {
  for (let i = 1; ; i++) {
    const r = veeam.token(form);
    if (r.status !== 429 || i === attempts) return r;
    sleep(Number(r.headers["retry-after"]) * 1000);
  }
}

test("Veeam's token endpoint answers 429 with Retry-After and the client backs off", (ctx) => {
  const { mock, http, target } = ctx;
  const assertion = entraToken(ctx);
  const since = mark(mock.veeam);
  mock.veeam.faults.add({ path: "/v8/token", match: { grant_type: JWT_BEARER_GRANT }, status: 429,
    headers: { "Retry-After": "2" }, body: { message: "Too many requests.", errorCode: null } });
  const r = tokenWithBackoff(ctx, { grant_type: JWT_BEARER_GRANT, client_id: target.veeam.organization, assertion });
  expect(r).toHaveStatus(200);

  const posts = mock.veeam.requests({ path: "/v8/token", since });
  expect(posts.map((p) => p.status)).toEqual([429, 200]);
  expect(gaps(posts)[0]).toBeGreaterThanOrEqual(2000);
  const org = http.get(target.veeam.url + "/v8/Organization", {
    headers: { Authorization: "Bearer " + r.json().access_token, "X-XSRF-TOKEN": r.headers["x-xsrf-token"] } }); // the seed's login keeps antiforgery
  expect(org).toHaveStatus(200);
}, { tags: ["faults"], requires: ["control"] });

test("a dropped connection is retried and the call completes", (ctx) => {
  const { veeam, mock } = ctx;
  const session = veeam.login({ assertion: entraToken(ctx) });
  const since = mark(mock.veeam);
  mock.veeam.faults.add({ method: "GET", path: "/v8/Organization", action: "drop" });
  const org = retry(() => session.get("/v8/Organization"), { transient: (e) => /connection|EOF|reset/i.test(e.message) });
  expect(org).toHaveStatus(200);

  const calls = mock.veeam.requests({ path: "/v8/Organization", since });
  expect(calls.map((c) => [c.status, Boolean(c.fault)])).toEqual([[0, true], [200, false]]);
}, { tags: ["faults"], requires: ["control"] });
