// A table of hostile scenarios (runner/hostile_test.go): each test ends as one clear
// failure and the rest of the run goes on.
const { test } = require("vbharness");
test("throws a number", () => { throw 42; });
test("throws null", () => { throw null; });
test("throws undefined", () => { throw undefined; });
test("throws a plain object", () => { throw { code: 7 }; });
test("throws an object whose getters throw", () => { throw { get name() { throw new Error("trap"); }, get message() { throw 1; } }; });
test("throws a proxy that throws on every access", () => { throw new Proxy({}, { get() { throw new Error("trap"); }, ownKeys() { throw new Error("trap"); }, getOwnPropertyDescriptor() { throw new Error("trap"); } }); });
test("rejects with a symbol", async () => { throw Symbol("odd"); });
