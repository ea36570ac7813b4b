// Self-service restore, as a tenant's own portal or script does it: the tenant signs in
// with the modern-auth device-code flow, explores its organization's backups, lists a
// mailbox's folders and a folder's items, restores one item, watches the restore's event
// to completion with veeam.waitFor (on the scenario clock), and stops the session.
const { test, expect } = require("vbharness");
const { login } = require("./lib/flow.js");

test("self-service restore: a tenant explores its mailbox, restores an item, watches it finish and stops the session", (ctx) => {
  const { veeam } = ctx;
  const { session: tenant } = login(ctx);                      // device code → Entra → /v8/token jwt-bearer
  const org = tenant.get("/v8/Organization").json();

  const explored = tenant.post("/v8/Organization/Explore", { json: { type: "Vex" } });
  expect(explored).toHaveStatus(201);
  const rs = explored.json();
  expect(rs.state).toBe("Working");
  expect(rs.type).toBe("Vex");
  expect(rs.organization).toBe(org.name);
  const base = `/v8/RestoreSessions/${rs.id}`;

  const mailboxes = tenant.paginate(`${base}/organization/mailboxes`, { query: { limit: 5 } });
  expect(mailboxes.length).toBeGreaterThan(0);
  const mb = `${base}/organization/mailboxes/${mailboxes[0].id}`;
  const folders = tenant.paginate(`${mb}/folders`, { query: { limit: 10 } });
  const inbox = folders.find((f) => f.name === "Inbox");
  expect(inbox).toBeDefined();
  const items = tenant.paginate(`${mb}/items`, { query: { parentId: inbox.id, limit: 10 } });
  expect(items.length).toBeGreaterThan(0);
  const item = items[0];

  const restored = tenant.post(`${mb}/items/${item.id}/restore`, { json: { restoreToOriginalLocation: true } });
  expect(restored).toHaveStatus(200);
  expect(restored.json().sessionId).toBe(rs.id);
  const running = tenant.get(`${base}/Events`).json().results;
  expect(running).toHaveLength(1);
  expect(running[0].status).toBe("Running");
  expect(running[0].itemName).toBe(item.subject);

  const finished = veeam.waitFor(tenant, `${base}/Events`, (page) => page.results.every((e) => e.status !== "Running"), { interval: "30s" });
  expect(finished.results[0].status).toBe("Success");
  expect(finished.results[0].endTime).not.toBeNull();

  expect(tenant.post(`${base}/Stop`)).toHaveStatus(204);
  const stopped = tenant.get(base).json();
  expect(stopped.state).toBe("Stopped");
  expect(tenant.get(`${mb}/folders`)).toHaveVeeamError("OperationConflict"); // a stopped session shows nothing
}, { tags: ["workflow", "restore"], requires: ["clock"] });
