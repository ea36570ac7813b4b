// Reading the mock servers' request journals (mock.entra.requests, mock.veeam.requests).
// Entries carry the time on the mock's clock, so intervals between requests can be
// asserted on the virtual clock and on a running `vbharness mock` alike. A running mock's
// journal is shared by every test of a run: take a mark first and read only what came
// after it.
"use strict";

const { DEVICE_CODE_GRANT } = require("./flow.js");

/** The sequence number of the newest entry of a server's journal (0 if empty). */
function mark(server) {
  const all = server.requests();
  return all.length ? all[all.length - 1].seq : 0;
}

/** An entry's time in milliseconds on the scenario clock. */
function at(entry) {
  return Date.parse(entry.time);
}

/** Milliseconds between consecutive entries. */
function gaps(entries) {
  return entries.slice(1).map((e, i) => at(e) - at(entries[i]));
}

/** The device-code requests to Entra since a mark. */
function deviceCodeRequests({ mock, target }, since) {
  return mock.entra.requests({ path: `/${target.entra.tenant}/oauth2/v2.0/devicecode`, since });
}

/** The device-code polls of Entra's token endpoint since a mark. */
function devicePolls({ mock, target }, since) {
  return mock.entra.requests({ path: `/${target.entra.tenant}/oauth2/v2.0/token`, field: "grant_type", value: DEVICE_CODE_GRANT, since });
}

module.exports = { mark, at, gaps, deviceCodeRequests, devicePolls };
