// The administrator's way in: grant_type=password with the server's administrator
// account, then a refresh. The pair carries the seed's claims, works on administrator
// routes, and the refresh brings a new pair in the same login session.
const { test, expect } = require("vbharness");

test("the administrator logs in with a password and refreshes", ({ veeam, target, jwt }) => {
  const admin = veeam.login({ admin: true });
  expect(admin.userName).toBe(target.veeam.adminUser);
  expect(admin.tokenType).toBe("bearer");
  expect(admin.expiresIn).toBe(3600);
  const claims = jwt.decode(admin.accessToken).payload;
  expect(claims.tokenType).toBe("Access");
  expect(claims.credentialType).toBe("UsernamePassword");
  expect(claims["http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"]).toBe(target.veeam.adminUser);
  expect(admin.get("/v8/ServiceInstance")).toHaveStatus(200);

  const before = admin.accessToken;
  admin.refresh();
  expect(admin.accessToken).not.toBe(before);
  expect(admin.expiresIn).toBe(3600);
  const renewed = jwt.decode(admin.accessToken).payload;
  expect(renewed.credentialKey).toBe(claims.credentialKey); // the same login session
  expect(renewed.jti).not.toBe(claims.jti);
  expect(admin.get("/v8/ServiceInstance", { autoRefresh: false })).toHaveStatus(200);
}, { tags: ["smoke", "admin", "refresh"] });
