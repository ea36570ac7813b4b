// A table of hostile scenarios (runner/hostile_test.go): each test ends as one clear
// failure and the rest of the run goes on.
const { test, expect } = require("vbharness");
test("the seed flow still passes", ({ entra, veeam, clock }) => {
  const code = entra.deviceCode();
  entra.signIn(code);
  const session = veeam.login({ assertion: entra.pollToken(code) });
  expect(session.get("/v8/Organization")).toHaveStatus(200);
  clock.advance("61m");
  session.refresh();
  expect(session.get("/v8/Organization")).toHaveStatus(200);
  session.logout();
}, { requires: ["clock"] });
