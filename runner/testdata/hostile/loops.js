// A table of hostile scenarios (runner/hostile_test.go): each test ends as one clear
// failure and the rest of the run goes on.
const { test } = require("vbharness");
test("loops for ever", () => { for (;;) {} }, { timeout: "300ms" });
test("loops for ever in a catch-all", () => { for (;;) { try { for (;;) {} } catch (e) {} } }, { timeout: "300ms" });
