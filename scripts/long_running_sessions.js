// What a long-running integration relies on: Entra's refresh token yields a fresh
// assertion that Veeam accepts once the first has expired, and automatic refresh keeps a
// Veeam session working for hours, one refresh per access-token lifetime.
const { test, expect } = require("vbharness");
const { entraToken } = require("./lib/flow.js");

test("an Entra refresh gives a fresh assertion that Veeam accepts after the first expired", (ctx) => {
  const { entra, veeam, clock, jwt } = ctx;
  const first = entraToken(ctx);
  expect(veeam.login({ assertion: first }).get("/v8/Organization")).toHaveStatus(200);

  clock.advance(first.expires_in * 1000 + 60 * 1000);
  expect(() => veeam.login({ assertion: first })).toThrow(/expired at/);

  const fresh = entra.refresh(first);
  expect(fresh.access_token).not.toBe(first.access_token);
  expect(fresh.refresh_token).not.toBe(first.refresh_token);
  expect(jwt.decode(fresh.access_token).payload.exp * 1000).toBeGreaterThan(clock.now());
  const session = veeam.login({ assertion: fresh });
  expect(session.userName).toBe(jwt.decode(fresh.access_token).payload.upn);
  expect(session.get("/v8/Organization")).toHaveStatus(200);
}, { tags: ["refresh"], requires: ["clock"] });

test("auto-refresh keeps a session alive for five virtual hours with five refreshes", (ctx) => {
  const { veeam, clock } = ctx;
  const session = veeam.login({ assertion: entraToken(ctx) });
  expect(session.expiresIn).toBe(3600);
  const start = clock.now();
  const refreshedAt = [];
  for (let minute = 10; minute <= 300; minute += 10) {
    clock.advance("10m");
    const call = session.get("/v8/Organization");
    expect(call).toHaveStatus(200);
    if (call.refreshed) refreshedAt.push(minute);
  }
  // The session refreshes when its token has under a minute left: at each full hour.
  expect(refreshedAt).toEqual([60, 120, 180, 240, 300]);
  expect(session.expiresAt).toBeGreaterThanOrEqual(start + 6 * 60 * 60 * 1000);
}, { tags: ["refresh"], requires: ["clock"] });
