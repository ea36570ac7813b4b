// A forged assertion gets nowhere: an access token signed with a key Entra never
// published, one with no signature (alg "none"), and one whose claims were altered after
// signing are each refused with their own message. No control API needed: a lab server
// must refuse them too.
const { test, expect } = require("vbharness");
const { entraToken } = require("./lib/flow.js");
const { alterAssertion } = require("./lib/jwt.js");
const { veeamRefusal } = require("./lib/refusal.js");

function refusal(veeam, assertion) {
  const e = veeamRefusal(() => veeam.login({ assertion }));
  expect(e).toHaveVeeamError("invalid_grant");
  return e;
}

test("an assertion signed with a foreign key is refused", (ctx) => {
  const forged = alterAssertion(entraToken(ctx), { header: { kid: "vbharness-foreign-key-1", x5t: "vbharness-foreign-key-1" } });
  const e = refusal(ctx.veeam, forged);
  expect(e.description).toMatch(/signed with key "vbharness-foreign-key-1", which is not among Microsoft Entra ID's signing keys/);
}, { tags: ["negative"] });

test("an unsigned assertion (alg none) is refused", (ctx) => {
  const forged = alterAssertion(entraToken(ctx), { header: { alg: "none" }, signature: "" });
  const e = refusal(ctx.veeam, forged);
  expect(e.description).toMatch(/is unsigned \(alg "none"\)/);
}, { tags: ["negative"] });

test("an assertion whose claims were altered after signing is refused", (ctx) => {
  const forged = alterAssertion(entraToken(ctx), { payload: { upn: "intruder@abc.onmicrosoft.com" } });
  const e = refusal(ctx.veeam, forged);
  expect(e.description).toMatch(/has a signature that does not verify/);
}, { tags: ["negative"] });
