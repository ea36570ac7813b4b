// How a device code can fail to become a token, each with Entra's own error and AADSTS
// number: the person declines, nobody signs in for 15 minutes, the code is mistyped, or a
// code already redeemed is polled again.
const { test, expect } = require("vbharness");
const { entraToken, pollOnce } = require("./lib/flow.js");

test("the person declines: authorization_declined with AADSTS65004", ({ entra }) => {
  const code = entra.deviceCode();
  entra.signIn(code, { deny: true });
  expect(() => entra.pollToken(code)).toHaveEntraError("authorization_declined", 65004);
}, { tags: ["negative"], requires: ["control"] });

test("the device code expires after 15 minutes: expired_token AADSTS70020, and a new code works", (ctx) => {
  const { entra, clock } = ctx;
  const code = entra.deviceCode();
  expect(code.expires_in).toBe(900);
  clock.advance("14m59s");
  expect(pollOnce(ctx, code)).toHaveEntraError("authorization_pending", 70016);
  clock.advance("1s");
  expect(pollOnce(ctx, code)).toHaveEntraError("expired_token", 70020);
  // The client stops on its own: the next poll would come after expires_in.
  expect(() => entra.pollToken(code)).toHaveEntraError("expired_token");

  expect(entraToken(ctx).access_token).toBeDefined();
}, { tags: ["negative"], requires: ["clock"] });

test("a mistyped device code: bad_verification_code AADSTS70000", (ctx) => {
  const typo = pollOnce(ctx, { device_code: "not-a-device-code" });
  expect(typo).toHaveStatus(400);
  expect(typo).toHaveEntraError("bad_verification_code", 70000);
}, { tags: ["negative"] });

test("a redeemed device code polled again: expired_token AADSTS70020", (ctx) => {
  const { entra } = ctx;
  const code = entra.deviceCode();
  entra.signIn(code);
  expect(entra.pollToken(code).access_token).toBeDefined();
  const again = pollOnce(ctx, code);
  expect(again).toHaveStatus(400);
  expect(again).toHaveEntraError("expired_token", 70020);
}, { tags: ["negative"] });
