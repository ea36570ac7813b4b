// A backup, as an integration that provisions and runs jobs does it: create a job, start
// it, see it Running, let the clock pass the run's duration (the mock's sessionDuration,
// 300 s by default), and see it finished with its log, its new restore point, the job's
// new lastBackup and less free space in the repository.
const { test, expect } = require("vbharness");

test("a backup: create a job, start it, see it run and finish with its log, restore point and lastBackup", ({ veeam, clock }) => {
  const admin = veeam.login({ admin: true });
  const org = admin.get("/v8/Organizations", { query: { limit: 1 } }).json().results[0];
  const repo = admin.get("/v8/BackupRepositories", { query: { limit: 1 } }).json().results[0];

  const created = admin.post("/v8/Jobs", { json: {
    name: `Nightly mail ${clock.now()}`, backupType: "EntireOrganization", organizationId: org.id,
    repositoryId: repo.id, isEnabled: true, schedulePolicy: { type: "ManualOnly", scheduleEnabled: false },
  } });
  expect(created).toHaveStatus(201);
  const job = created.json();
  expect(job).not.toHaveProperty("lastRun");                   // never ran
  expect(job).not.toHaveProperty("lastBackup");
  expect(job).not.toHaveProperty("nextRun");                   // ManualOnly: it runs when started

  const started = admin.post(`/v8/Jobs/${job.id}/start`);
  expect(started).toHaveStatus(200);
  const run = started.json();
  const session = `/v8/JobSessions/${run.id}`;
  expect(run.status).toBe("Running");
  expect(run.jobId).toBe(job.id);
  expect(admin.get(`/v8/Jobs/${job.id}`).json().lastStatus).toBe("Running");
  expect(admin.post(`/v8/Jobs/${job.id}/start`)).toHaveVeeamError("OperationConflict"); // one run at a time

  clock.advance("5m");
  const done = admin.get(session).json();
  expect(done.status).toBe("Success");
  expect(done.progress).toBe(100);
  expect(Date.parse(done.endTime) - Date.parse(done.creationTime)).toBe(300 * 1000);
  const log = admin.get(`${session}/LogItems`).json().results;
  expect(log.map((l) => l.type)).toEqual(["Running", "Running", "Success"]);
  expect(log[2].message).toContain("finished with success");

  const after = admin.get(`/v8/Jobs/${job.id}`).json();
  expect(after.lastStatus).toBe("Success");
  expect(after.lastRun).toBe(run.creationTime);
  expect(after.lastBackup).toBe(done.endTime);
  const points = admin.paginate("/v8/RestorePoints", { query: { limit: 50 } }).filter((p) => p.jobId === job.id);
  expect(points).toHaveLength(1);
  expect(points[0].backupTime).toBe(done.endTime);
  expect(points[0].organizationId).toBe(org.id);
  expect(points[0].repositoryId).toBe(repo.id);
  const repoAfter = admin.get(`/v8/BackupRepositories/${repo.id}`).json();
  expect(repoAfter.freeSpaceBytes).toBeLessThan(repo.freeSpaceBytes); // the backup takes room

  expect(admin.delete(`/v8/Jobs/${job.id}`).status).toBeLessThan(300); // leave a shared server tidy
}, { tags: ["workflow", "sessions"], requires: ["clock"] });
