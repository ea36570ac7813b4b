// Tokens fetched with the raw http module, not through entra.* or veeam.*, and logged
// (runner/report/redaction_test.go): the engine learns them only from the JSON bodies of
// the responses, so nothing the run records or reports may show them whole.
const { test, expect } = require("vbharness");

test("logs tokens it fetched with the raw http module", ({ entra, http, target, console }) => {
  // Entra's token endpoint, polled by hand after the mock approved the sign-in.
  const code = entra.deviceCode();
  entra.signIn(code);
  const e = http.post(`${target.entra.authority}/${target.entra.tenant}/oauth2/v2.0/token`, { form: {
    grant_type: "urn:ietf:params:oauth:grant-type:device_code",
    client_id: target.entra.clientId,
    device_code: code.device_code,
  } });
  expect(e).toHaveStatus(200);
  console.log("entra access token", e.json().access_token);
  console.log("entra refresh token", e.json().refresh_token);
  console.log("entra response", e.body);

  // Veeam's /v8/token with the administrator's password.
  const v = http.post(`${target.veeam.url}/v8/token`, { form: {
    grant_type: "password",
    username: target.veeam.adminUser,
    password: "vbharness-Passw0rd!",
  } });
  expect(v).toHaveStatus(200);
  console.log("veeam access token", v.json().access_token);
  console.info("veeam refresh token", v.json().refresh_token);
  console.warn("veeam response", JSON.stringify(v.json()));
});
