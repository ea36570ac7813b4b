// A table of hostile scenarios (runner/hostile_test.go): each test ends as one clear
// failure and the rest of the run goes on.
const { test } = require("vbharness");
test("allocates without bound", () => { let s = "x"; while (s.length < 1 << 23) s += s; const a = []; for (let i = 0; ; i++) a.push(s + i); });
