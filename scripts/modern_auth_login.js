// The seed flow end to end: Entra device code → sign-in → token (the assertion) →
// Veeam /v8/token jwt-bearer → an API call → an hour passes → 401 → refresh → 200.
// It advances the clock, so it runs on the embedded mocks and on a running
// `vbharness mock`, and is skipped with that reason on a lab server.
const { test, expect } = require("vbharness");

test("modern app-only login with refresh", ({ entra, veeam, clock }) => {
  const code = entra.deviceCode({ scope: "Directory.AccessAsUser.All User.ReadWrite.All offline_access" });
  entra.signIn(code);
  const assertion = entra.pollToken(code);
  const session = veeam.login({ assertion });
  expect(session.get("/v8/Organization").status).toBe(200);
  clock.advance("61m");
  expect(session.get("/v8/Organization", { autoRefresh: false }).status).toBe(401);
  session.refresh();
  expect(session.get("/v8/Organization").status).toBe(200);
}, { tags: ["smoke", "refresh"], requires: ["clock"] });
