// Building altered copies of a JWT for negative tests: the header or the claims changed,
// the original signature kept (so it no longer verifies), or no signature at all. Only
// the mock or the server under test is fooled by none of them.
"use strict";

const { jwt } = require("vbharness");

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** base64url without padding (RFC 7515 §2) of a string's UTF-8 bytes. */
function base64url(text) {
  const bytes = [];
  for (const ch of unescape(encodeURIComponent(text))) bytes.push(ch.charCodeAt(0));
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] || 0) << 8) | (bytes[i + 2] || 0);
    out += ALPHABET[(n >> 18) & 63] + ALPHABET[(n >> 12) & 63];
    if (i + 1 < bytes.length) out += ALPHABET[(n >> 6) & 63];
    if (i + 2 < bytes.length) out += ALPHABET[n & 63];
  }
  return out;
}

/**
 * A copy of token with header and claims changed: { header, payload } are merged over the
 * originals (a value of undefined removes a field); signature replaces the signature
 * ("" for an unsigned token), else the original is kept.
 */
function alter(token, { header = {}, payload = {}, signature } = {}) {
  const d = jwt.decode(token);
  const h = JSON.stringify({ ...d.header, ...header });
  const p = JSON.stringify({ ...d.payload, ...payload });
  return `${base64url(h)}.${base64url(p)}.${signature === undefined ? d.signature : signature}`;
}

/** An Entra token response whose access token is altered as alter() says. */
function alterAssertion(assertion, changes) {
  return { ...assertion, access_token: alter(assertion.access_token, changes) };
}

module.exports = { base64url, alter, alterAssertion };
