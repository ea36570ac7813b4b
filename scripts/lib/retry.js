// A client's answer to transient failures: try again, a bounded number of times, only
// for errors it knows to be transient. Scenarios use it to show that a flow survives a
// fault, and the journal to show the fault happened.
"use strict";

/**
 * Calls fn until it returns, at most `attempts` times in all; an error for which
 * transient(error) is false is thrown at once, as is the last one.
 */
function retry(fn, { attempts = 3, transient = () => true } = {}) {
  for (let i = 1; ; i++) {
    try {
      return fn(i);
    } catch (e) {
      if (i >= attempts || !transient(e)) throw e;
    }
  }
}

module.exports = { retry };
