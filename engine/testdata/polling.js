// RFC 8628 polling conformance, checked through the mock Entra's journal on the virtual
// clock: the first poll comes one interval after the device code, polls are never closer
// than the interval, and after slow_down the interval grows by 5 s for good.
const { test, expect } = require("vbharness");

const tokenPath = "/abc.onmicrosoft.com/oauth2/v2.0/token";

function pollTimes(mock) {
  return mock.entra.requests({ path: tokenPath }).map((r) => Date.parse(r.time));
}

test("never polls faster than the interval (strict dialect)", ({ entra, mock }) => {
  mock.entra.settings.set({ strict_rfc8628: true });
  const code = entra.deviceCode();
  const issued = Date.now();
  entra.signIn(code, { afterPolls: 4 });
  entra.pollToken(code);
  const times = pollTimes(mock);
  expect(times.length).toBe(5);
  expect(times[0] - issued).toBe(code.interval * 1000);
  for (let i = 1; i < times.length; i++) {
    expect(times[i] - times[i - 1]).toBeGreaterThanOrEqual(code.interval * 1000);
  }
  // The strict mock answers slow_down to an early poll; none was early.
  expect(mock.entra.requests({ path: tokenPath }).filter((r) => r.fault)).toEqual([]);
}, { requires: ["control"] });

test("backs off by five seconds after slow_down", ({ entra, mock }) => {
  mock.entra.settings.set({ strict_rfc8628: true });
  const code = entra.deviceCode();
  // The second poll is answered with slow_down.
  mock.entra.faults.add({
    path: tokenPath, status: 400, after: 1, times: 1,
    body: { error: "slow_down", error_description: "AADSTS70016: slow down", error_codes: [70016] },
  });
  entra.signIn(code, { afterPolls: 4 });
  entra.pollToken(code);
  const reqs = mock.entra.requests({ path: tokenPath });
  const times = reqs.map((r) => Date.parse(r.time));
  const gaps = times.slice(1).map((t, i) => t - times[i]);
  expect(reqs[1].fault).toBeDefined();
  expect(gaps.length).toBeGreaterThanOrEqual(3);
  expect(gaps[0]).toBe(5000);
  for (const g of gaps.slice(1)) expect(g).toBe(10000);
}, { requires: ["control"] });

test("stops at expires_in", ({ entra, mock, clock }) => {
  mock.entra.settings.set({ strict_rfc8628: true, device_code_lifetime: 60 });
  const code = entra.deviceCode();
  const start = clock.now();
  expect(() => entra.pollToken(code)).toHaveEntraError("expired_token");
  const times = pollTimes(mock);
  expect(times.length).toBe(12);
  expect(times[times.length - 1] - start).toBeLessThanOrEqual(60000);
}, { requires: ["control"] });
