// Handles every kind of secret and logs them; nothing recorded may show one whole.
const { test, expect } = require("vbharness");

test("logs every secret it touches", ({ entra, veeam, http, target, console }) => {
  const code = entra.deviceCode();
  console.log("device code", code.device_code, "user code", code.user_code, code.message);
  entra.signIn(code);
  const tok = entra.pollToken(code);
  console.info("entra token", tok.access_token, tok.refresh_token, JSON.stringify(tok));
  const session = veeam.login({ assertion: tok });
  console.warn("veeam token", session.accessToken, session.refreshToken);
  session.refresh();
  console.error("after refresh", session.accessToken, JSON.stringify(session.response));
  const admin = veeam.login({ username: "Administrator", password: "vbharness-Passw0rd!" });
  console.log("admin", admin.accessToken, "password vbharness-Passw0rd!");
  http.post(target.veeam.url + "/v8/token", { json: { grant_type: "refresh_token", refresh_token: admin.refreshToken } });
  http.get(target.veeam.url + "/v8/Jobs?access_token=" + admin.accessToken);
  veeam.token({ grant_type: "password", username: "Administrator", password: "not-the-password" });
  expect(session.accessToken).toBe("the assertion failure shows the token");
});
