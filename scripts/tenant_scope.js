// A tenant's token (from the modern app-only flow) reaches its own organization's routes
// and nothing else: administrator routes answer 403 ResourceAccessDenied.
const { test, expect } = require("vbharness");
const { login } = require("./lib/flow.js");

test("a tenant token cannot reach administrator routes (403 ResourceAccessDenied)", (ctx) => {
  const { session } = login(ctx);
  expect(session.get("/v8/Organization")).toHaveStatus(200);
  for (const path of ["/v8/ServiceInstance", "/v8/Organizations", "/v8/Jobs", "/v8/BackupRepositories"]) {
    const denied = session.get(path);
    expect(denied).toHaveStatus(403);
    expect(denied).toHaveVeeamError("ResourceAccessDenied");
  }
}, { tags: ["negative"] });
