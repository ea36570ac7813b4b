// The steps of the modern app-only flow that most scenarios share. Every helper takes the
// test's context ({ entra, veeam, … }), so it works in any test and on any target: on the
// mocks signIn approves through the control API, on a lab server a person signs in.
"use strict";

/** Entra's device_code grant type (RFC 8628 §3.4), as the token endpoint's form wants it. */
const DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";

/** Veeam's jwt-bearer grant type (the seed's step 4). */
const JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/**
 * Device code → sign-in → polling: returns Entra's token response, which is Veeam's
 * assertion. options.deviceCode goes to entra.deviceCode, options.signIn to entra.signIn.
 */
function entraToken({ entra }, options = {}) {
  const code = entra.deviceCode(options.deviceCode);
  entra.signIn(code, options.signIn);
  return entra.pollToken(code);
}

/**
 * The whole seed flow: device code → sign-in → the Entra token response → Veeam's
 * /v8/token jwt-bearer grant. Returns { assertion, session }.
 */
function login(ctx, options = {}) {
  const assertion = entraToken(ctx, options);
  const session = ctx.veeam.login({ assertion, autoRefresh: options.autoRefresh !== false });
  return { assertion, session };
}

/** One raw poll of Entra's token endpoint for a device code: the response, whatever it says. */
function pollOnce({ entra, target }, code) {
  return entra.raw.token({ grant_type: DEVICE_CODE_GRANT, client_id: target.entra.clientId, device_code: code.device_code });
}

module.exports = { DEVICE_CODE_GRANT, JWT_BEARER_GRANT, entraToken, login, pollOnce };
