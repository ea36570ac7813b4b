// A table of hostile scenarios (runner/hostile_test.go): each test ends as one clear
// failure and the rest of the run goes on.
const { test } = require("vbharness");
function deep(n) { let o = {}; for (let i = 0; i < n; i++) o = { a: o }; return o; }
test("stringifies a 100 000-deep object", () => { JSON.stringify(deep(100000)); });
test("parses 100 000-deep JSON", () => { JSON.parse("[".repeat(100000) + "]".repeat(100000)); });
test("catches the depth error and goes on", () => {
  let caught;
  try { JSON.stringify(deep(2000)); } catch (e) { caught = e; }
  if (!(caught instanceof RangeError)) throw new Error("no RangeError: " + caught);
  JSON.parse(JSON.stringify(deep(100)));
});
