// Polling the device code while the person takes their time (RFC 8628 §3.4–3.5): Entra
// answers authorization_pending until the sign-in, and the client never polls sooner than
// the interval Entra asked for. The mock's journal holds each poll's time and answer.
const { test, expect, afterEach } = require("vbharness");
const { mark, at, gaps, deviceCodeRequests, devicePolls } = require("./lib/journal.js");
const { resetSharedMock } = require("./lib/cleanup.js");

afterEach(resetSharedMock); // signIn's afterPolls leaves an approval rule on the mock

test("sign-in after three pending polls, never polled faster than the interval", (ctx) => {
  const { entra, clock } = ctx;
  const since = mark(ctx.mock.entra);
  const code = entra.deviceCode();
  entra.signIn(code, { afterPolls: 3 });
  const token = entra.pollToken(code);
  expect(token.access_token).toBeDefined();

  const issued = deviceCodeRequests(ctx, since);
  const polls = devicePolls(ctx, since);
  expect(issued).toHaveLength(1);
  expect(polls.map((p) => p.status)).toEqual([400, 400, 400, 200]);
  const interval = code.interval * 1000;
  const waits = [at(polls[0]) - at(issued[0]), ...gaps(polls)];
  for (const w of waits) expect(w).toBeGreaterThanOrEqual(interval);
  // On a virtual clock nothing else takes time: each poll comes exactly one interval later.
  if (clock.isVirtual()) expect(waits).toEqual([interval, interval, interval, interval]);
}, { tags: ["polling"], requires: ["control"] });
