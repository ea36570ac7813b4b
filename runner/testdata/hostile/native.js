// A table of hostile scenarios (runner/hostile_test.go): each test ends as one clear
// failure and the rest of the run goes on.
const { test } = require("vbharness");
// indexOf walks all 2**25 indices of a sparse array in Go (seconds) and does not see the
// runtime's interrupt: the runner abandons the test.
test("runs a long native call", () => { new Array(2 ** 25).indexOf(1); }, { timeout: "300ms" });
