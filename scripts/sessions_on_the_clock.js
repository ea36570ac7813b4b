// Long-running work moves on the mock's clock: a job run and a repository
// synchronisation are Running from their start, halfway at half the configured duration
// (the sessionDuration setting, 300 s by default), and finished at its end. A client
// that polls sees each transition; clock.advance drives them in microseconds.
const { test, expect } = require("vbharness");

test("a job session runs on the clock and the job shows its result", ({ veeam, clock }) => {
  const admin = veeam.login({ admin: true });
  const job = admin.get("/v8/Jobs", { query: { limit: 1 } }).json().results[0];
  const started = admin.post(`/v8/Jobs/${job.id}/start`);
  expect(started).toHaveStatus(200);
  const session = `/v8/JobSessions/${started.json().id}`;
  const poll = () => admin.get(session).json();

  expect(poll().status).toBe("Running");
  expect(poll().progress).toBe(0);
  clock.advance("2m30s");
  expect(poll().progress).toBe(50);
  expect(poll().status).toBe("Running");
  clock.advance("2m29s");
  expect(poll().status).toBe("Running");
  clock.advance("1s");
  const done = poll();
  expect(done.status).toBe("Success");
  expect(done.progress).toBe(100);
  expect(Date.parse(done.endTime) - Date.parse(done.creationTime)).toBe(300 * 1000);
  expect(admin.get(`/v8/Jobs/${job.id}`).json().lastStatus).toBe("Success");
  const log = admin.get(`${session}/LogItems`).json().results.map((l) => l.type);
  expect(log).toEqual(["Running", "Running", "Success"]);
}, { tags: ["sessions"], requires: ["clock", "isolated"] }); // exact seconds on a clock no other test moves

test("a repository synchronisation runs on the clock", ({ veeam, clock }) => {
  const admin = veeam.login({ admin: true });
  const repo = admin.get("/v8/BackupRepositories").json().results[0];
  const sync = admin.post(`/v8/BackupRepositories/${repo.id}/Sync`);
  expect(sync).toHaveStatus(200);
  const session = `/v8/RepositorySynchronizeSessions/${sync.json().id}`;
  expect(admin.get(session).json().state).toBe("Synchronizing");
  clock.advance("4m59s");
  expect(admin.get(session).json().state).toBe("Synchronizing");
  clock.advance("1s");
  const done = admin.get(session).json();
  expect(done.state).toBe("None");
  expect(done.progressPercent).toBe(100);
}, { tags: ["sessions"], requires: ["clock", "isolated"] }); // exact seconds on a clock no other test moves
