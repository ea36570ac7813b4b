// Monitoring, as an RMM or PSA integration polls a server: the license and its licensed
// users, every job with its last session, and the repositories' usage, overall and by
// organization. Read-only, so it runs on any target; collections are read with
// session.paginate at a small page size, so every page (and its _links.next) is used.
const { test, expect } = require("vbharness");

const STATUSES = ["Stopped", "Running", "Success", "Failed", "Warning", "NotConfigured", "Disconnected", "Queued"];

test("monitoring: license, licensed users, jobs and each job's last session, repository usage", ({ veeam }) => {
  const admin = veeam.login({ admin: true });

  const license = admin.get("/v8/License").json();
  expect(license.status).toBe("Valid");
  const users = admin.paginate("/v8/LicensedUsers", { query: { limit: 5 } });
  expect(users.length).toBe(license.usedNumber);              // every licensed user, page by page
  for (const u of users) expect(u.licenseState).toBe("Licensed");

  const jobs = admin.paginate("/v8/Jobs", { query: { limit: 10 } });
  expect(jobs.length).toBeGreaterThan(10);
  for (const job of jobs) {
    expect(STATUSES).toContain(job.lastStatus);
    const last = admin.get("/v8/JobSessions", { query: { jobId: job.id, limit: 1 } }).json().results;
    if (job.lastRun === null) continue;                        // never ran: no session
    expect(last).toHaveLength(1);
    expect(last[0].jobId).toBe(job.id);
    // The newest session is the job's last run (a run may start between the two reads on a
    // shared server, so the session is at least as new as the job says).
    expect(Date.parse(last[0].creationTime)).toBeGreaterThanOrEqual(Date.parse(job.lastRun));
  }

  const repos = admin.paginate("/v8/BackupRepositories", { query: { limit: 2 } });
  expect(repos.length).toBeGreaterThan(0);
  for (const r of repos) {
    expect(r.capacityBytes).toBeGreaterThan(0);
    expect(r.freeSpaceBytes).toBeLessThanOrEqual(r.capacityBytes);
  }
  const orgs = admin.paginate("/v8/Organizations", { query: { limit: 1 } });
  let used = 0;
  for (const o of orgs) {
    for (const u of admin.paginate(`/v8/Organizations/${o.id}/usedRepositories`)) {
      expect(repos.map((r) => r.id)).toContain(u.repositoryId);
      used += u.usedSpaceBytes;
    }
  }
  const total = repos.reduce((sum, r) => sum + r.capacityBytes - r.freeSpaceBytes, 0);
  expect(used).toBeGreaterThan(0);
  expect(used).toBeLessThanOrEqual(total);                     // the organizations share what is used
}, { tags: ["workflow", "monitoring", "paging"] });
