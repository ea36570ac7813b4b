// A table of hostile scenarios (runner/hostile_test.go): each test ends as one clear
// failure and the rest of the run goes on.
const { test, expect, sleep } = require("vbharness");
test("entra.deviceCode(42)", ({ entra }) => { entra.deviceCode(42); });
test("entra.pollToken(42)", ({ entra }) => { entra.pollToken(42); });
test("entra.signIn({})", ({ entra }) => { entra.signIn({}); });
test("entra.refresh(5)", ({ entra }) => { entra.refresh(5); });
test("veeam.login(null)", ({ veeam }) => { veeam.login(null); });
test("veeam.login({assertion: 7})", ({ veeam }) => { veeam.login({ assertion: 7 }); });
test("session.get()", ({ veeam }) => { veeam.login({ admin: true }).get(); });
test("clock.advance({})", ({ clock }) => { clock.advance({}); }, { requires: ["clock"] });
test("sleep(\"abc\")", () => { sleep("abc"); });
test("http.get(123)", ({ http }) => { http.get(123); });
test("jwt.decode(undefined)", ({ jwt }) => { jwt.decode(undefined); });
test("mock.veeam.settings.set(\"x\")", ({ mock }) => { mock.veeam.settings.set("x"); }, { requires: ["control"] });
test("expect(1).toHaveStatus(\"x\")", () => { expect(1).toHaveStatus("x"); });
test("setTimeout(null)", () => { setTimeout(null, 5); });
test("require(42)", () => { require(42); });
