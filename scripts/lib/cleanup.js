// Leaving a shared mock as the test found it. The embedded mocks give every test its own
// stack, so nothing needs undoing there; a running `vbharness mock` is shared by the whole
// run, so a file whose tests change its settings, faults, keys or approval rules resets it
// after each test that could have: those declare requires: ["control"], so the runner
// runs them alone and the reset disturbs nobody. A test without it cannot call the
// control API (the engine refuses), so there is nothing to undo after it.
"use strict";

/** An afterEach hook: resets a running `vbharness mock` (both servers; the clock stays). */
function resetSharedMock({ target, mock, test }) {
  if (target.kind === "live" && target.control && test.requires.includes("control")) mock.reset();
}

module.exports = { resetSharedMock };
