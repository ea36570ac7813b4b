// Type declarations for vbharness scenario scripts: the built-in "vbharness" module and
// the globals the engine provides. Editors use them to complete and check scenarios:
// add `/// <reference path="…/vbharness.d.ts" />` at the top of a script, or list this
// file in a jsconfig.json. engine/dts_test.go keeps the declared names in step with what
// the engine exports. The reference with an example per function is docs/writing-scenarios.md.

/** Globals of every scenario runtime. Timers run on the scenario clock. */
declare function setTimeout(fn: (...args: any[]) => void, ms?: number, ...args: any[]): number;
declare function setInterval(fn: (...args: any[]) => void, ms?: number, ...args: any[]): number;
declare function clearTimeout(id: number): void;
declare function clearInterval(id: number): void;
declare function require(module: "vbharness"): typeof import("vbharness");
declare function require(path: string): any;
declare const module: { exports: any; id: string };
declare const exports: any;
declare const __filename: string;
declare const __dirname: string;

declare module "vbharness" {
  /** A duration: a Go duration string ("61m", "1h30m", "5s", "250ms") or milliseconds. */
  export type Duration = string | number;

  /** Something a test needs from its target; the runner skips the test where it is missing. */
  export type Requirement = "clock" | "control" | "live" | "isolated";

  export interface TestOptions {
    /** Labels for --tag selection. */
    tags?: string[] | string;
    /** Wall-clock deadline of this test; replaces the run's default. "none" (or Infinity): no deadline; 0: the run's default. */
    timeout?: Duration | "none";
    /** What the target must offer: "clock" (clock.advance), "control" (mock.*), "live", "isolated" (a fresh, private stack). */
    requires?: Requirement[] | Requirement;
    /** Why the test is skipped (test.skip only). */
    reason?: string;
    /** Loosens the run's --contract for this test (docs/contract.md): "warn" records violations without failing, "off" checks nothing; "fail" never tightens a warn run. */
    contract?: "fail" | "warn" | "off";
  }

  export type TestBody = (ctx: Context) => void | Promise<void>;

  export interface TestFunction {
    /** Registers a test. Names are unique per file. */
    (name: string, fn: TestBody, options?: TestOptions): void;
    /** Registers a test per row of a table (Jest's test.each); see TestEach. */
    each: TestEach;
    /** Registers a test that is reported as skipped, with an optional reason. */
    skip: SkipFunction;
    /** Registers a focused test: when any test is focused, the runner runs only those. */
    only: OnlyFunction;
  }

  export interface SkipFunction {
    (name: string, fn?: TestBody | string, reasonOrOptions?: string | TestOptions): void;
    /** test.each whose tests are reported as skipped. */
    each: TestEach;
  }

  export interface OnlyFunction {
    (name: string, fn: TestBody, options?: TestOptions): void;
    /** test.each whose tests are focused. */
    each: TestEach;
  }

  /**
   * test.each(table)(name, fn, options?): a test per row. When every row is an array, its
   * elements are fn's first arguments and the context comes after them; otherwise fn gets
   * the row, then the context. name is formatted per row: %s %d %i %f %j %o %p take the
   * row's values in turn, %# is the row's index, %$ its number, %% a percent sign; with
   * none of those and object rows, $key and $key.path read the row ($#: the index).
   * table may be a function returning the rows: it is called once when the file's tests
   * are listed, and each test gets its row from there (rows must be JSON values).
   */
  export interface TestEach {
    <Row extends readonly unknown[]>(table: readonly Row[] | (() => readonly Row[])): (name: string, fn: (...args: [...Row, Context]) => void | Promise<void>, options?: TestOptions) => void;
    <Row>(table: readonly Row[] | (() => readonly Row[])): (name: string, fn: (row: Row, ctx: Context) => void | Promise<void>, options?: TestOptions) => void;
  }

  /** What a test function (and each hook) receives. */
  export interface Context {
    entra: Entra;
    veeam: Veeam;
    mock: Mock;
    clock: Clock;
    http: Http;
    jwt: Jwt;
    target: TargetInfo;
    env: Record<string, string>;
    console: Console;
    expect: typeof expect;
    sleep: typeof sleep;
    /** The running test. */
    test: RunningTest;
  }

  export interface RunningTest {
    name: string;
    file: string;
    tags: string[];
    /** What the test declared in requires (so a shared hook can tell what it may call). */
    requires: Requirement[];
  }

  export const test: TestFunction;
  /** Runs before every test of the file (top level only). */
  export function beforeEach(fn: TestBody): void;
  /** Runs after every test of the file, also when it failed (not after a timeout). */
  export function afterEach(fn: TestBody): void;
  /** Starts an assertion. A failed matcher throws an AssertionError: the test fails. */
  export function expect(actual: unknown): Matchers;
  /** Waits on the scenario clock (instant on the mock target). */
  export function sleep(duration: Duration): void;

  export const entra: Entra;
  export const veeam: Veeam;
  export const mock: Mock;
  export const clock: Clock;
  export const http: Http;
  export const jwt: Jwt;
  export const target: TargetInfo;
  /** VBHARNESS_* environment variables. */
  export const env: Record<string, string>;
  /** Captured per test into the result, with levels; secrets are redacted. */
  export const console: Console;

  /** Thrown by a failed matcher; the test's status is "failed". */
  export class AssertionError extends Error {
    matcher: string;
    expected: string;
    actual: string;
  }
  /** An OAuth error from Entra (or a local expired_token). */
  export class EntraError extends Error {
    error: string;
    aadsts?: number;
    description: string;
    status?: number;
    body?: string;
  }
  /** An error answer of the Veeam REST API, in either of its shapes. */
  export class VeeamError extends Error {
    status: number;
    errorCode?: string;
    error?: string;
    description?: string;
    veeamMessage?: string;
    body: string;
  }
  /** Thrown by a host call when the test's deadline passed; the test is "timed out". */
  export class TimeoutError extends Error {}
  /** Thrown when the target lacks something the call needs (a clock, the control API). */
  export class RequirementError extends Error {}

  export interface Matchers {
    /** Negates the next matcher. */
    readonly not: Matchers;
    toBe(expected: unknown): void;
    toEqual(expected: unknown): void;
    toMatch(pattern: RegExp | string): void;
    toContain(item: unknown): void;
    toHaveProperty(path: string | string[], value?: unknown): void;
    toHaveLength(length: number): void;
    toBeGreaterThan(n: number | Date): void;
    toBeGreaterThanOrEqual(n: number | Date): void;
    toBeLessThan(n: number | Date): void;
    toBeLessThanOrEqual(n: number | Date): void;
    toBeDefined(): void;
    toBeUndefined(): void;
    toBeNull(): void;
    toBeTruthy(): void;
    toBeFalsy(): void;
    toBeInstanceOf(ctor: Function): void;
    /** expect(fn).toThrow(): fn is called; optionally the message contains text, matches a RegExp, or the error is an instance of a class. */
    toThrow(expected?: string | RegExp | Function): void;
    /** The received HTTP response has this status; the failure shows the body. */
    toHaveStatus(status: number): void;
    /** An EntraError, an Entra error response, or a function that throws one, carries this code (and AADSTS number). Veeam's errors fail it, naming Veeam. */
    toHaveEntraError(error: string, aadsts?: number): void;
    /** A VeeamError, a Veeam error response, or a function that throws one, carries this errorCode (or OAuth error). Entra's errors fail it, naming Entra. */
    toHaveVeeamError(code: string): void;
  }

  export interface RequestOptions {
    headers?: Record<string, string>;
    /** A value sent as JSON (Content-Type: application/json). */
    json?: unknown;
    /** Fields sent urlencoded; an object value is sent as its JSON. */
    form?: Record<string, unknown>;
    /** A raw body. */
    body?: string;
    /** Query parameters added to the URL; each replaces a parameter of the same name already in it. */
    query?: Record<string, unknown>;
    /** Wall-clock limit of this request. */
    timeout?: Duration;
  }

  export interface HttpResponse {
    status: number;
    /** Lower-case header names; repeated headers joined with ", ". */
    headers: Record<string, string>;
    body: string;
    url: string;
    method: string;
    /** Parses the body as JSON (throws a clear error when it is not). */
    json(): any;
  }

  export interface Http {
    request(method: string, url: string, options?: RequestOptions): HttpResponse;
    get(url: string, options?: RequestOptions): HttpResponse;
    post(url: string, options?: RequestOptions): HttpResponse;
    put(url: string, options?: RequestOptions): HttpResponse;
    patch(url: string, options?: RequestOptions): HttpResponse;
    delete(url: string, options?: RequestOptions): HttpResponse;
  }

  /** Entra's device authorization response (RFC 8628 §3.2). */
  export interface DeviceCodeResponse {
    device_code: string;
    user_code: string;
    verification_uri: string;
    expires_in: number;
    interval: number;
    message: string;
    [field: string]: unknown;
  }

  /** Entra's token response. The whole object is Veeam's jwt-bearer assertion. */
  export interface TokenResponse {
    token_type: string;
    scope: string;
    expires_in: number;
    ext_expires_in?: number;
    access_token: string;
    refresh_token?: string;
    id_token?: string;
    [field: string]: unknown;
  }

  export interface EntraDefaults {
    /** Default: the target's tenant. */
    tenant?: string;
    /** Default: the target's client id (04b07795-8ddb-461a-bbee-02f9e1bf7b46). */
    clientId?: string;
    /** Default: the target's scope. */
    scope?: string;
  }

  export interface SignInOptions {
    /** Mock: who approves (default: the target's user). */
    user?: string;
    /** Mock: decline instead of approving (pollToken then throws authorization_declined). */
    deny?: boolean;
    /** Mock: approve after this many polls. */
    afterPolls?: number;
  }

  export interface Entra {
    /** POST /{tenant}/oauth2/v2.0/devicecode. */
    deviceCode(options?: EntraDefaults): DeviceCodeResponse;
    /**
     * Redeems a device code (RFC 8628): first poll after one interval, never faster, +5 s
     * after slow_down, stops at expires_in. Transient answers (408, 429, 500, 502, 503, 504)
     * are polled again after the interval or their Retry-After, whichever is longer, while
     * the code lives; retry: false throws the first one instead. Returns the token response
     * or throws an EntraError.
     */
    pollToken(code: DeviceCodeResponse | string, options?: { retry?: boolean }): TokenResponse;
    /**
     * The user's side. Mock target: approves (or denies, or approves after N polls)
     * through the control API. Live target: prints Microsoft's message and the time left
     * to the terminal and waits for the person; returns the token (pollToken then returns it too).
     */
    signIn(code: DeviceCodeResponse | string, options?: SignInOptions): TokenResponse | undefined;
    /** grant_type=refresh_token with a token response's refresh_token (or the token itself). */
    refresh(token: TokenResponse | string, options?: EntraDefaults): TokenResponse;
    /** GET /{tenant}/v2.0/.well-known/openid-configuration. */
    openidConfiguration(options?: { tenant?: string }): Record<string, any>;
    /** GET /{tenant}/discovery/v2.0/keys. */
    jwks(options?: { tenant?: string }): { keys: Record<string, any>[] };
    /** Raw endpoint access for negative tests: no defaults, no throwing on error statuses. */
    raw: EntraRaw;
  }

  export interface EntraRaw {
    devicecode(form: Record<string, unknown>, options?: { tenant?: string }): HttpResponse;
    token(form: Record<string, unknown>, options?: { tenant?: string }): HttpResponse;
  }

  export interface LoginOptions {
    /** The Entra token response (object or JSON string): grant_type=jwt-bearer. */
    assertion?: TokenResponse | string;
    /** client_id of the jwt-bearer grant; default target.veeam.organization. */
    organization?: string;
    username?: string;
    password?: string;
    /** Log in with the target's Veeam admin credentials. */
    admin?: boolean;
    /** grant_type=operator with client_id=userId.tenantId and the operator's Entra access token. */
    operator?: { userId: string; tenantId: string; accessToken: string };
    /** Default true: refresh once on 401 or shortly before expiry, then retry once. */
    autoRefresh?: boolean;
    /**
     * Default false: the login sends disable_antiforgery_token=true, as programmatic
     * clients do. true: keep Veeam's antiforgery protection, as the seed's requests do:
     * no flag, and the session sends the antiforgery token the token response set
     * (header X-XSRF-TOKEN) with every call and refresh.
     */
    antiforgery?: boolean;
  }

  export interface Veeam {
    /** POST /v8/token; throws a VeeamError on failure. */
    login(options: LoginOptions): VeeamSession;
    /** Raw POST /v8/token for negative tests: any status is returned. */
    token(form: Record<string, unknown>): HttpResponse;
    /**
     * GETs path with session until predicate(body, response) is truthy and returns that body.
     * Between polls the scenario clock moves by interval (default "10s"): on the mocks the
     * virtual clock (on localmock through its control API), on a live target a real sleep.
     * Throws a VeeamError on an answer of 400 or more (its status and errorCode, as the
     * session's calls do), and an Error when timeout (default "30m", on the same clock) passes.
     */
    waitFor(session: VeeamSession, path: string, predicate: (body: any, response: SessionResponse) => unknown,
      options?: { timeout?: Duration; interval?: Duration }): any;
  }

  /** headers.Authorization, if given, is sent instead of the session's token, and the call does not refresh. */
  export interface SessionRequestOptions extends RequestOptions {
    /** false: send the current token as is and return a 401 unchanged. */
    autoRefresh?: boolean;
  }

  export interface SessionResponse extends HttpResponse {
    /** The session refreshed its tokens for this call. */
    refreshed: boolean;
    /** A refresh was attempted and failed; the response is the original answer. */
    refreshError?: VeeamError | Error;
  }

  export interface VeeamSession {
    readonly accessToken: string;
    readonly refreshToken: string;
    readonly tokenType: string;
    /** expires_in of the current access token, seconds. */
    readonly expiresIn: number;
    /** Scenario-clock milliseconds when the current token arrived. */
    readonly issuedAt: number;
    /** issuedAt + expiresIn, milliseconds. */
    readonly expiresAt: number;
    readonly userName: string;
    readonly loggedOut: boolean;
    /** The latest /v8/token response. */
    readonly response: Record<string, any>;
    request(method: string, path: string, options?: SessionRequestOptions): SessionResponse;
    get(path: string, options?: SessionRequestOptions): SessionResponse;
    post(path: string, options?: SessionRequestOptions): SessionResponse;
    put(path: string, options?: SessionRequestOptions): SessionResponse;
    patch(path: string, options?: SessionRequestOptions): SessionResponse;
    delete(path: string, options?: SessionRequestOptions): SessionResponse;
    /** grant_type=refresh_token; throws a VeeamError on failure. Returns the session. */
    refresh(): VeeamSession;
    /** POST /v8/token/logout; turns automatic refresh off. */
    logout(): void;
    /** GETs path (with query's parameters added) and follows _links.next; returns every page's results. */
    paginate(path: string, options?: { maxPages?: number; query?: Record<string, unknown> }): any[];
  }

  export interface Jwt {
    /** Splits and decodes a JWT without checking it. */
    decode(token: string): { header: Record<string, any>; payload: Record<string, any>; signature: string };
    /** Checks signature (from jwksUrl, or the issuer's discovery document), exp/nbf on the scenario clock, issuer and audience; returns the payload. */
    verify(token: string, options: { jwksUrl?: string; issuer?: string; audience?: string }): Record<string, any>;
  }

  export interface Clock {
    /** Scenario-clock milliseconds since the epoch (the same as Date.now()). */
    now(): number;
    /** Moves the scenario clock (and a standalone mock's clock) forward; returns the new now(). Needs requires: ["clock"]. */
    advance(duration: Duration): number;
    /** Waits on the scenario clock. */
    sleep(duration: Duration): void;
    isVirtual(): boolean;
  }

  export interface JournalEntry {
    seq: number;
    server: string;
    time: string;
    method: string;
    path: string;
    fields?: Record<string, string>;
    /** How many fields past the journal's limit per entry were not kept. */
    fields_omitted?: number;
    status: number;
    latency_ms: number;
    /** The id of the fault rule that answered, if one did. */
    fault?: string;
    /** The id of the Veeam stub that answered, if one did. */
    stub?: string;
  }

  export interface JournalFilter {
    method?: string;
    /** Path prefix, case-insensitive. */
    path?: string;
    field?: string;
    value?: string;
    since?: number;
  }

  /** A fault rule of the control API (mocks/faults Rule). */
  export interface FaultRule {
    id?: string;
    /** For mock.faults.add: which server. */
    server?: "entra" | "veeam";
    method?: string;
    /** Path pattern; "*" matches any run of characters. */
    path: string;
    match?: Record<string, string>;
    action?: "respond" | "delay" | "drop" | "truncate" | "malformed";
    status?: number;
    headers?: Record<string, string>;
    body?: unknown;
    delay?: string;
    real_time?: boolean;
    times?: number;
    after?: number;
  }

  export interface Faults {
    add(rule: FaultRule): FaultRule;
    list(server?: "entra" | "veeam"): FaultRule[];
    clear(server?: "entra" | "veeam"): void;
    remove(id: string, server?: "entra" | "veeam"): void;
  }

  export interface MockSettings {
    get(): Record<string, any>;
    /** Changes the given fields only; returns the new settings. */
    set(patch: Record<string, unknown>): Record<string, any>;
  }

  /** A stub of the Veeam mock (docs/veeam-mock.md, "Stubs"): what it matches and its answer. */
  export interface StubSpec {
    /** Assigned (s1, s2, …) when left out. */
    id?: string;
    method: string;
    /** A template of the v8 document ("/v8/Jobs/{jobId}") or an exact path under /v8/. */
    path: string;
    /** Query parameters (names in any case, values exact) and a subset of the JSON body. */
    match?: { query?: Record<string, string>; body?: unknown };
    /** 200 when left out. */
    status?: number;
    headers?: Record<string, string>;
    /** A string is sent as text, anything else as JSON. */
    body?: unknown;
    /** How many requests it answers; 0 or left out: every one. */
    times?: number;
    /** Waited on the mock's clock (the scenario clock in-process), at most 30 s. */
    delay?: Duration;
    /** Answer callers without a valid token too; otherwise 401 and 403 stay real. */
    anonymous?: boolean;
  }

  /** A stub as the mock keeps it, with its counters. */
  export interface StubState extends StubSpec {
    id: string;
    hits: number;
    /** null when unlimited. */
    remaining: number | null;
  }

  /** What mock.veeam.stub returns; the stub is removed when the test ends in any case. */
  export interface VeeamStub extends StubSpec {
    id: string;
    hits: number;
    remaining: number | null;
    /** Removes it now; false when it was gone already (removed, cleared or reset). */
    remove(): boolean;
  }

  export interface MockServer {
    requests(filter?: JournalFilter): JournalEntry[];
    clearRequests(): void;
    health(): { status: string };
    clock(): { now: string; virtual: boolean };
    reset(): void;
    faults: Faults;
    settings: MockSettings;
  }

  /** mock.veeam: the Veeam mock's control API, with its stubs. */
  export interface MockVeeam extends MockServer {
    /** Adds a stub (POST /_mock/stubs); the newest stub that matches answers. */
    stub(spec: StubSpec): VeeamStub;
    stubs(): StubState[];
    /** Removes every stub, those of the mock's --stubs file too (reset brings those back). */
    clearStubs(): void;
  }

  /** One credential of an Entra application, as GET /_mock/applications lists it. */
  export interface EntraCredential {
    key_id: string;
    type: "certificate" | "secret";
    /** SHA-1, 40 upper-case hex characters. */
    thumbprint?: string;
    x5t?: string;
    "x5t#S256"?: string;
    subject?: string;
    start?: string;
    end?: string;
    state: "valid" | "expired" | "not_yet_valid";
  }

  /** An Entra application registration (GET /_mock/applications/{appId}); no secret or key. */
  export interface EntraApplication {
    app_id: string;
    display_name: string;
    tenant?: string;
    service_principal_id?: string;
    public_client: boolean;
    enabled: boolean;
    consent: "granted" | "revoked";
    permissions: { graph?: string[]; exchange?: string[]; sharepoint?: string[] };
    credentials: EntraCredential[];
  }

  /** A certificate mock.entra.addCredential made, as an administrator holds it. */
  export interface NewCredential {
    keyId: string;
    thumbprint: string;
    pem: string;
    /** The PFX file with its private key, Base64: Veeam's applicationCertificate. */
    pfx: string;
    /** The PFX file's password: Veeam's applicationCertificatePassword. */
    password: string;
    start: string;
    end: string;
  }

  /** mock.entra: the Entra mock's control API, with its applications. */
  export interface MockEntra extends MockServer {
    /** Every application (GET /_mock/applications). */
    applications(): EntraApplication[];
    application(appId: string): EntraApplication;
    /** Ends one credential (keyId) or every credential of the application now. */
    expireCredential(appId: string, keyId?: string): EntraApplication;
    /** Moves the end of one credential (keyId) or of every one to now + validFor (default a year). */
    renewCredential(appId: string, options?: { keyId?: string; validFor?: Duration }): EntraApplication;
    removeCredential(appId: string, keyId: string): EntraApplication;
    revokeConsent(appId: string): EntraApplication;
    grantConsent(appId: string): EntraApplication;
    /** A new self-signed certificate valid from the mock's now for validFor (default a year),
     * registered on the application; the certificate comes back with its PFX and password. */
    addCredential(appId: string, options?: { validFor?: Duration; name?: string }): {
      application: EntraApplication; certificate: NewCredential };
  }

  /** The mock control API; every call throws a RequirementError where the target has none. */
  export interface Mock {
    approve(code: DeviceCodeResponse | string, options?: { user?: string }): Record<string, any>;
    deny(code: DeviceCodeResponse | string): Record<string, any>;
    /** A standing approval for current and future codes; with no option (`{}`), every code at
     * its first poll as its tenant's default user; false turns it off. */
    autoApprove(options: { user?: string; afterPolls?: number; after?: Duration } | false): Record<string, any>;
    /** One code's dialect: strict RFC 8628 (true), Entra's (false) or the server's (null). */
    dialect(code: DeviceCodeResponse | string, strict: boolean | null): Record<string, any>;
    deviceCodes(): { devicecodes: Record<string, any>[] };
    revokeUser(user: string): Record<string, any>;
    rotateKeys(): { kid: string };
    addOrganization(organization: Record<string, unknown>): Record<string, any>;
    organizations(): { organizations: Record<string, any>[] };
    /** Revokes every Veeam session, or one user's. */
    revokeSessions(userName?: string): { revoked: number };
    /** Resets both servers. */
    reset(): void;
    requests(server: "entra" | "veeam", filter?: JournalFilter): JournalEntry[];
    clock(): { now: string; virtual: boolean };
    faults: Faults;
    entra: MockEntra;
    veeam: MockVeeam;
  }

  export interface TargetInfo {
    name: string;
    kind: "mock" | "live";
    entra: TargetEntra;
    veeam: TargetVeeam;
    /** Whether the mock control API is reachable. */
    control: boolean;
    virtualClock: boolean;
    settings: Record<string, any>;
  }

  export interface TargetEntra {
    authority: string;
    tenant: string;
    clientId: string;
    scope: string;
    user: string;
  }

  export interface TargetVeeam {
    url: string;
    organization: string;
    adminUser: string;
  }

  export interface Console {
    log(...args: unknown[]): void;
    info(...args: unknown[]): void;
    warn(...args: unknown[]): void;
    error(...args: unknown[]): void;
    debug(...args: unknown[]): void;
  }
}
