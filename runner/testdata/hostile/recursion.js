// A table of hostile scenarios (runner/hostile_test.go): each test ends as one clear
// failure and the rest of the run goes on.
const { test } = require("vbharness");
test("recurses without end", () => { function f(n) { return f(n + 1) + 1; } f(0); });
test("recurses through a native callback", () => { function g() { [0].forEach(g); } g(); });
test("recurses in toString", () => { const o = { toString() { return String(o); } }; String(o); });
