// A table of hostile scenarios (runner/hostile_test.go): each test ends as one clear
// failure and the rest of the run goes on.
const { test } = require("vbharness");
// indexOf walks all 2**26 indices of a sparse array in Go (seconds) and does not see the
// runtime's interrupt: the runner abandons the test. When indexOf returns, the interrupt
// ends the test before the loop after it can allocate (the run's heap and goroutine
// checks fail otherwise).
test("runs a long native call", () => {
  new Array(2 ** 26).indexOf(1);
  for (const a = []; ; ) a.push("u".repeat(1 << 20) + a.length);
}, { timeout: "300ms" });
