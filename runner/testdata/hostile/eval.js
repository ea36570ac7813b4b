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
// Strings that overflowed goja's parser and ended the whole run (issue 15, D1): each is
// checked before it is parsed and refused with a SyntaxError naming <eval>.
const deep = "(".repeat(1e6) + "1" + ")".repeat(1e6);
test("evaluates 1 000 000 nested parentheses directly", () => {
  eval(deep);
});
test("evaluates 1 000 000 nested arrays directly", () => {
  eval("[".repeat(1e6) + "]".repeat(1e6));
});
test("evaluates a chain of 1 000 000 unary operators directly", () => {
  eval("!".repeat(1e6) + "0");
});
test("evaluates a chain of 1 000 000 binary operators directly", () => {
  eval("1" + "+1".repeat(1e6));
});
test("evaluates them directly inside a callback", () => {
  [1].forEach(function (v) { eval("v + " + deep); });
});
test("evaluates them in an eval inside an eval", () => {
  eval("eval(" + JSON.stringify(deep) + ")");
});
test("evaluates them indirectly", () => {
  (0, eval)(deep);
});
test("compiles them with the AsyncFunction constructor", () => {
  (async function () {}).constructor("return " + deep);
});
test("compiles them with the GeneratorFunction constructor", () => {
  Object.getPrototypeOf(function* () {}).constructor("return " + deep);
});
// A quote inside a template's ${…} misleads the text scan; goja's parser counts too.
test("evaluates them behind a quote in a template", () => {
  eval("`${'`'}` + " + deep);
});
