// A table of hostile scenarios (runner/hostile_test.go): each test ends as one clear
// failure and the rest of the run goes on.
const { test } = require("vbharness");
// Valid JavaScript that once panicked goja (issue 15): a direct eval inside a callback.
test("evaluates directly inside a callback", () => {
  const seen = [];
  [1, 2].forEach(function (v) { seen.push(eval("v * 2")); });
  if (seen.join() !== "2,4") throw new Error("eval saw " + seen.join());
});
// A string that would overflow the parser's stack, through the Function constructor:
// checked as a scenario file is, before it is parsed.
test("compiles 100 000 nested parentheses with new Function", () => {
  new Function("return " + "(".repeat(100000) + "1" + ")".repeat(100000));
});
// Code eval runs is stopped by the test's timeout like any other.
test("loops for ever inside eval", () => {
  eval("for (;;) {}");
}, { timeout: "300ms" });
