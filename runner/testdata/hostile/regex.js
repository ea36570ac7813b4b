// A table of hostile scenarios (runner/hostile_test.go): each test ends as one clear
// failure and the rest of the run goes on.
const { test } = require("vbharness");
// The lookahead keeps the pattern off Go's linear-time RE2, on goja's backtracking engine
// (regexp2), where (a+)+ against a's and a "b" backtracks for ever.
const catastrophic = () => /^(?=a)(a+)+$/.test("a".repeat(40) + "b");
test("backtracks catastrophically", () => { catastrophic(); }, { timeout: "2s" });
test("backtracks catastrophically in a catch-all loop", () => { for (;;) { try { catastrophic(); } catch (e) {} } }, { timeout: "1500ms" });
