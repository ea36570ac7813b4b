// Entra rotates its signing keys; Veeam must follow. After a rotation the new tokens carry
// the new key's kid, Entra publishes both keys for the overlap, and Veeam, which cached the
// old key, fetches the keys again and accepts the new assertion.
const { test, expect, afterEach } = require("vbharness");
const { entraToken } = require("./lib/flow.js");
const { resetSharedMock } = require("./lib/cleanup.js");

afterEach(resetSharedMock); // restores the signing key

test("Entra key rotation is followed", (ctx) => {
  const { veeam, entra, mock, jwt } = ctx;
  const before = entraToken(ctx);
  expect(veeam.login({ assertion: before }).get("/v8/Organization")).toHaveStatus(200);
  const oldKid = jwt.decode(before.access_token).header.kid;

  const { kid } = mock.rotateKeys();
  expect(kid).not.toBe(oldKid);
  const after = entraToken(ctx);
  expect(jwt.decode(after.access_token).header.kid).toBe(kid);
  expect(veeam.login({ assertion: after }).get("/v8/Organization")).toHaveStatus(200);
  expect(entra.jwks().keys.map((k) => k.kid)).toEqual([kid, oldKid]);
}, { tags: ["keys"], requires: ["control"] });
