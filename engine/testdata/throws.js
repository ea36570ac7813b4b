// Errors of every kind, at known positions (asserted exactly in stack_test.go).
const { test, expect } = require("vbharness");
const helper = require("./lib/helper.js");

function explode() {
  throw new Error("boom");
}

test("throws an error", () => {
  explode();
});

test("throws inside a required module", () => {
  helper.fail("from the lib");
});

test("fails an assertion", () => {
  const status = 401;
  expect(status).toBe(200);
});

test("rejects asynchronously", async () => {
  await null;
  throw new TypeError("async boom");
});

test("throws a string", () => {
  throw "just a string";
});

test("calls an undefined function", () => {
  notDefined();
});
