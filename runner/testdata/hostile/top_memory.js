// A table of hostile scenarios (runner/hostile_test.go): each test ends as one clear
// failure and the rest of the run goes on.
const { test } = require("vbharness");
test("never registered", () => {});
let chunk = "y";
while (chunk.length < 1 << 23) chunk += chunk; // 8 MiB, by doubling (repeat is slow under -race)
const hoard = [];
for (let i = 0; ; i++) hoard.push(chunk + i);
