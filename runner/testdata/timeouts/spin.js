// Tests that never end on their own (runner/engine_test.go): the run's --timeout must
// reach the engine and end the first; the second ends at its own, shorter, timeout.
const { test } = require("vbharness");

test("spins with no timeout of its own", () => {
  for (;;) {}
});

test("spins past its own timeout", () => {
  for (;;) {}
}, { timeout: "50ms" });
