const { test } = require("vbharness");

test("registered before the throw", () => {});
throw new Error("top-level failure");
