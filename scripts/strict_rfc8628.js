// The strict RFC 8628 dialect (§3.5), which Entra itself does not speak: a poll sooner than
// the interval gets slow_down (with no AADSTS number) and the interval grows by 5 s for
// good. A client that adds those 5 s gets its token; pollToken does so on its own.
// The dialect's errors are RFC 6749's bare {error, error_description}, not Entra's shape, so
// the tests take contract violations as warnings (docs/contract.md).
const { test, expect, afterEach } = require("vbharness");
const { DEVICE_CODE_GRANT, pollOnce } = require("./lib/flow.js");
const { mark, gaps, devicePolls } = require("./lib/journal.js");
const { resetSharedMock } = require("./lib/cleanup.js");

afterEach(resetSharedMock);

test("an early poll gets slow_down and the interval grows by 5 s", (ctx) => {
  const { entra, mock, sleep } = ctx;
  const since = mark(mock.entra);
  const code = entra.deviceCode();
  mock.dialect(code, true);
  expect(pollOnce(ctx, code)).toHaveEntraError("authorization_pending", 70016);
  const early = pollOnce(ctx, code); // at once: sooner than the interval
  expect(early).toHaveStatus(400);
  expect(early.json().error).toBe("slow_down");
  expect(early.json().error_codes).toBeUndefined();

  const interval = code.interval + 5; // the client's back-off
  const state = mock.deviceCodes().devicecodes.find((d) => d.user_code === code.user_code);
  expect(state.interval).toBe(interval);
  sleep(interval * 1000);
  expect(pollOnce(ctx, code)).toHaveEntraError("authorization_pending", 70016);
  entra.signIn(code);
  sleep(interval * 1000);
  expect(pollOnce(ctx, code)).toHaveStatus(200);

  const polls = devicePolls(ctx, since);
  expect(polls.map((p) => p.status)).toEqual([400, 400, 400, 200]);
  const waits = gaps(polls);
  expect(waits[1]).toBeGreaterThanOrEqual(interval * 1000);
  expect(waits[2]).toBeGreaterThanOrEqual(interval * 1000);
}, { tags: ["polling", "strict"], requires: ["control"], contract: "warn" });

test("pollToken adds 5 s to its interval after slow_down", (ctx) => {
  const { entra, mock, target, clock } = ctx;
  const since = mark(mock.entra);
  const code = entra.deviceCode();
  mock.dialect(code, true);
  entra.signIn(code);
  // A strict server's answer to the first poll, injected: the code itself stays in step.
  mock.entra.faults.add({ path: `/${target.entra.tenant}/oauth2/v2.0/token`, match: { grant_type: DEVICE_CODE_GRANT }, status: 400,
    body: { error: "slow_down", error_description: "The client is polling too quickly and should back off." } });
  expect(entra.pollToken(code).access_token).toBeDefined();

  const polls = devicePolls(ctx, since);
  expect(polls.map((p) => p.status)).toEqual([400, 200]);
  expect(gaps(polls)[0]).toBeGreaterThanOrEqual((code.interval + 5) * 1000);
  if (clock.isVirtual()) expect(gaps(polls)).toEqual([(code.interval + 5) * 1000]);
}, { tags: ["polling", "strict"], requires: ["control"], contract: "warn" });
