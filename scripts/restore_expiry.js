// Expiry in the middle of a workflow: a restore session lives longer than the Veeam
// access token it was opened with (60 minutes). At 61 virtual minutes the next call is
// answered 401, the session refreshes by itself, and the workflow goes on in the same
// restore session: browse, restore, watch the event, stop.
const { test, expect } = require("vbharness");
const { login } = require("./lib/flow.js");

test("a restore session outlives the access token: refresh at 61 minutes and the workflow goes on", (ctx) => {
  const { veeam, clock } = ctx;
  const { session: tenant } = login(ctx);
  const issued = tenant.accessToken;
  const rs = tenant.post("/v8/Organization/Explore", { json: { type: "Vex" } }).json();
  const base = `/v8/RestoreSessions/${rs.id}`;
  const mailbox = tenant.paginate(`${base}/organization/mailboxes`, { query: { limit: 5 } })[0];
  const mb = `${base}/organization/mailboxes/${mailbox.id}`;

  clock.advance("59m");
  const before = tenant.get(`${mb}/folders`, { autoRefresh: false });
  expect(before).toHaveStatus(200);                             // the first token still works
  expect(tenant.accessToken).toBe(issued);

  clock.advance("2m");                                          // 61 minutes: the token is gone…
  expect(tenant.get(`${mb}/folders`, { autoRefresh: false })).toHaveStatus(401);
  const after = tenant.get(`${mb}/folders`);                    // …the session refreshes
  expect(after).toHaveStatus(200);
  expect(after.refreshed).toBe(true);
  expect(tenant.accessToken).not.toBe(issued);
  expect(after.json().results).toEqual(before.json().results);  // the same restore session, the same content
  expect(tenant.get(base).json().state).toBe("Working");

  const item = tenant.get(`${mb}/items`, { query: { limit: 1 } }).json().results[0];
  expect(tenant.post(`${mb}/items/${item.id}/restore`, { json: { restoreToOriginalLocation: true } })).toHaveStatus(200);
  const events = veeam.waitFor(tenant, `${base}/Events`, (page) => page.results.every((e) => e.status !== "Running"), { interval: "1m" });
  expect(events.results.map((e) => e.status)).toEqual(["Success"]);
  expect(tenant.post(`${base}/Stop`)).toHaveStatus(204);
  expect(tenant.get(base).json().state).toBe("Stopped");
}, { tags: ["workflow", "restore", "refresh"], requires: ["clock"] });
