// Contract checks of a scenario's exchanges (engine/contract_test.go runs these tests).
const { test, expect } = require("vbharness");

// A stub answers GET /v8/Jobs/{jobId} with an unknown lastStatus and a null name.
function bogusJob({ mock, http, target }) {
  mock.veeam.stub({ method: "GET", path: "/v8/Jobs/{jobId}", anonymous: true, status: 200,
    body: { id: "5b5cbeb5-7a8e-4c5b-9d0a-1f2e3d4c5b6a", lastStatus: "Bogus", name: null } });
  const r = http.get(`${target.veeam.url}/v8/Jobs/5b5cbeb5-7a8e-4c5b-9d0a-1f2e3d4c5b6a`);
  expect(r).toHaveStatus(200);
}

test("a stubbed answer off the contract", bogusJob, { requires: ["control"] });

test("the same, with the test's contract option warn", bogusJob, { requires: ["control"], contract: "warn" });

test("the same, with the test's contract option off", bogusJob, { requires: ["control"], contract: "off" });

test("a conforming sign-in and list", ({ veeam }) => {
  const admin = veeam.login({ admin: true });
  expect(admin.get("/v8/Jobs", { query: { limit: 2 } })).toHaveStatus(200);
});
