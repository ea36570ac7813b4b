// Tests that need no servers: registration options, expect, console, the virtual clock.
const { test, expect } = require("vbharness");
const { double } = require("./lib/math.js");

test("passes with a helper module", ({ clock }) => {
  console.log("double(21) =", double(21));
  expect(double(21)).toBe(42);
}, { tags: ["smoke"] });

test("fails with a diff", () => {
  console.warn("about to fail");
  expect({ status: 401 }).toEqual({ status: 200 });
}, { tags: ["smoke", "failing"] });

test("sleeps an hour of virtual time", ({ clock }) => {
  clock.sleep("1h");
}, { tags: ["clock"] });

test("throws a TypeError", () => {
  const session = undefined;
  session.get("/v8/Organization");
});

test("spins until its timeout", () => {
  for (;;) {}
}, { timeout: "50ms" });

test.skip("is skipped with a reason", () => {}, { reason: "waiting for Veeam 8.1" });

test("needs a live target", () => {}, { requires: ["live"] });
