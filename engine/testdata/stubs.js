// Stubs of the Veeam mock from scripts (engine/stubs_test.go runs these tests).
const { test, expect } = require("vbharness");

test("a stub overrides, expires after times, is journaled and is cleared by reset", ({ veeam, mock, http, target }) => {
  const admin = veeam.login({ admin: true });
  const job = admin.get("/v8/Jobs", { query: { limit: 1 } }).json().results[0];
  const busy = mock.veeam.stub({ method: "GET", path: "/v8/Jobs/{jobId}", status: 503,
    headers: { "Retry-After": "5" }, body: { message: "The service is busy.", errorCode: null }, times: 2 });
  expect(busy.id).toBe("s1");
  expect(busy.remaining).toBe(2);

  for (let i = 0; i < 2; i++) {
    const r = admin.get(`/v8/Jobs/${job.id}`);
    expect(r).toHaveStatus(503);
    expect(r.headers["retry-after"]).toBe("5");
    expect(r.json()).toEqual({ message: "The service is busy.", errorCode: null });
  }
  expect(admin.get(`/v8/Jobs/${job.id}`).json().id).toBe(job.id);
  expect(mock.veeam.stubs().map((s) => [s.id, s.hits, s.remaining])).toEqual([["s1", 2, 0]]);
  expect(mock.veeam.requests({ path: `/v8/Jobs/${job.id}` }).map((e) => [e.status, e.stub])).toEqual(
    [[503, "s1"], [503, "s1"], [200, undefined]]);

  mock.veeam.stub({ method: "GET", path: "/v8/Health", anonymous: true, status: 200, body: "fine", delay: 1500 });
  const before = Date.now();
  expect(http.get(`${target.veeam.url}/v8/Health`).body).toBe("fine");
  expect(Date.now() - before).toBe(1500); // the delay is on the scenario clock

  mock.reset();
  expect(mock.veeam.stubs()).toEqual([]);
  expect(busy.remove()).toBe(false); // reset removed it already
}, { requires: ["control"] });

test("remove, clearStubs and bad stubs", ({ mock }) => {
  const a = mock.veeam.stub({ method: "GET", path: "/v8/Jobs", status: 500 });
  mock.veeam.stub({ id: "b", method: "GET", path: "/v8/Jobs", status: 501 });
  expect(a.remove()).toBe(true);
  expect(mock.veeam.stubs().map((s) => s.id)).toEqual(["b"]);
  mock.veeam.clearStubs();
  expect(mock.veeam.stubs()).toEqual([]);
  expect(() => mock.veeam.stub({ method: "GET", path: "/v7/Jobs" })).toThrow(/answered HTTP 400: invalid stub: path: "\/v7\/Jobs" is not under \/v8\//);
  expect(() => mock.veeam.stub({ method: "GET", path: "/v8/Jobs", delay: "soon" })).toThrow(/not a duration/);
  expect(() => mock.veeam.stub()).toThrow(TypeError);
}, { requires: ["control"] });

test("leaves a stub behind and fails", ({ mock }) => {
  mock.veeam.stub({ method: "GET", path: "/v8/Health", status: 503, anonymous: true });
  throw new Error("failing on purpose");
}, { requires: ["control"] });

test("leaves a stub behind and times out", ({ mock }) => {
  mock.veeam.stub({ method: "GET", path: "/v8/Health", status: 503, anonymous: true });
  for (;;) {}
}, { requires: ["control"], timeout: 200 });
