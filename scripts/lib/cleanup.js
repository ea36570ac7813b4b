// Leaving a shared mock as the test found it. The embedded mocks give every test its own
// stack, so nothing needs undoing there; a running `vbharness mock` is shared by the whole
// run, so a file whose tests change its settings, faults, keys or approval rules resets it
// after each test. Such tests declare requires: ["control"], so the runner runs them alone
// and the reset disturbs nobody.
"use strict";

/** An afterEach hook: resets a running `vbharness mock` (both servers; the clock stays). */
function resetSharedMock({ target, mock }) {
  if (target.kind === "live" && target.control) mock.reset();
}

module.exports = { resetSharedMock };
