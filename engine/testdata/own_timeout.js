// Tests with and without a timeout option of their own (engine/run_test.go): the engine
// alone decides which deadline applies. They run on a real clock, so sleep waits.
const { test, sleep } = require("vbharness");

test("waits for ever past its own timeout", () => {
  sleep("10m");
}, { timeout: "50ms" });

test("waits for ever with no timeout of its own", () => {
  sleep("10m");
});

test("waits for ever with a timeout option of 0", () => {
  sleep("10m");
}, { timeout: 0 });

test("outlives the run's default within its own timeout", () => {
  sleep("1500ms");
}, { timeout: "20s" });

test("outlives the run's default with no timeout at all", () => {
  sleep("1500ms");
}, { timeout: "none" });

test("outlives the run's default with an infinite timeout", () => {
  sleep("1500ms");
}, { timeout: Infinity });
