// The sketch, with the final names: the modern app-only flow end to end.
const { test, expect } = require("vbharness");

test("modern app-only login with refresh", ({ entra, veeam, mock, clock }) => {
  const code = entra.deviceCode({ scope: "Directory.AccessAsUser.All User.ReadWrite.All offline_access" });
  entra.signIn(code);                      // mock: approves through the control API
  const assertion = entra.pollToken(code); // RFC 8628 polling on the scenario clock
  const session = veeam.login({ assertion });
  expect(session.get("/v8/Organization").status).toBe(200);
  clock.advance("61m");                    // mock target only
  expect(session.get("/v8/Organization", { autoRefresh: false }).status).toBe(401);
  session.refresh();
  expect(session.get("/v8/Organization").status).toBe(200);
}, { tags: ["smoke"], requires: ["clock"] });
