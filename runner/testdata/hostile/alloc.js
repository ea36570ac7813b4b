// A table of hostile scenarios (runner/hostile_test.go): each test ends as one clear
// failure and the rest of the run goes on. Each asks one builtin for a string or an
// array larger than the run's memory limit, in a single native call.
const { test } = require("vbharness");
test("repeats a string 2**30 times", () => { "x".repeat(2 ** 30); });
test("pads a string to 2**28", () => { "x".padStart(2 ** 28, "y"); });
test("fills an array of 2**27", () => { new Array(2 ** 27).fill(0); });
test("joins an array of 2**30", () => { new Array(2 ** 30).join("ab"); });
test("copies an array-like of 2**28 with Array.from", () => { Array.from({ length: 2 ** 28 }); });
test("makes an ArrayBuffer of 2 GiB", () => { new ArrayBuffer(2 ** 31); });
test("splits 2**24 characters", () => { "x".repeat(2 ** 24).split(""); });
test("spreads the keys of an array of 2**30", () => { return [...Array(2 ** 30).keys()].length; }, { timeout: "300ms" });
