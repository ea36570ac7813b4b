// Scenarios that never end on their own; the engine must stop each at its deadline.
const { test, http, target, mock, sleep } = require("vbharness");

test("spins for ever", () => {
  while (true) {}
});

test("blocks on a delayed response", () => {
  mock.veeam.faults.add({ path: "/v8/Health", action: "delay", delay: "10m", real_time: true });
  http.get(target.veeam.url + "/v8/Health");
}, { requires: ["control"] });

test("sleeps ten real minutes", () => {
  sleep("10m");
});

test("awaits a ten-minute timer", async () => {
  await new Promise((resolve) => setTimeout(resolve, 10 * 60 * 1000));
});

test("catches the timeout and carries on", () => {
  for (;;) {
    try { sleep("10m"); } catch (e) { /* swallowing it must not help */ }
  }
});
