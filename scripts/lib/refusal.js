// Catching a refusal to look at it closely: the error class, its code and its message.
"use strict";

const { expect, VeeamError } = require("vbharness");

/**
 * Calls fn, which must be refused by Veeam, and returns the VeeamError it threw. If fn
 * returns instead, or throws something else, the test fails saying so.
 */
function veeamRefusal(fn) {
  let error;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(VeeamError);
  return error;
}

module.exports = { veeamRefusal };
