const { test } = require("vbharness");

test("never registered", () => {
  const x = ;
});
