package entra

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// oauthError is one Entra protocol error as a value: the HTTP status, the OAuth error
// code, the AADSTS number and its message. writeOAuthError is the only thing that
// renders it, in Entra's exact body shape (entra.md §2).
type oauthError struct {
	status   int
	code     string // OAuth "error" value
	aadsts   int    // 0 for the strict RFC 8628 dialect's own errors, which Entra never sends
	msg      string // without the "AADSTSnnnnn: " prefix
	suberror string // "bad_token" and friends; empty for none
}

// Error implements error so an oauthError can travel through ordinary returns.
func (e *oauthError) Error() string {
	if e.aadsts == 0 {
		return e.code + ": " + e.msg
	}
	return fmt.Sprintf("%s: AADSTS%d: %s", e.code, e.aadsts, e.msg)
}

// entraErrorBody is Entra's error JSON with its keys in Entra's order.
type entraErrorBody struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	ErrorCodes       []int  `json:"error_codes,omitempty"`
	Timestamp        string `json:"timestamp"`
	TraceID          string `json:"trace_id"`
	CorrelationID    string `json:"correlation_id"`
	ErrorURI         string `json:"error_uri,omitempty"`
	Suberror         string `json:"suberror,omitempty"`
}

// entraTimestamp is the "2025-11-10 13:37:38Z" form of timestamp and the description suffix.
const entraTimestamp = "2006-01-02 15:04:05Z"

// writeOAuthError writes e as Entra does: the body keys in order, the description
// ending " Trace ID: … Correlation ID: … Timestamp: …" (the 2024–2026 single-space
// form), correlation_id echoing client-request-id, error_uri on
// login.microsoftonline.com, and Entra's no-cache headers.
func writeOAuthError(w http.ResponseWriter, r *http.Request, now time.Time, e *oauthError) {
	trace := newTraceID()
	corr := correlationID(r)
	ts := now.UTC().Format(entraTimestamp)
	body := entraErrorBody{
		Error:         e.code,
		Timestamp:     ts,
		TraceID:       trace,
		CorrelationID: corr,
		Suberror:      e.suberror,
	}
	prefix := ""
	if e.aadsts != 0 {
		prefix = "AADSTS" + strconv.Itoa(e.aadsts) + ": "
		body.ErrorCodes = []int{e.aadsts}
		body.ErrorURI = "https://login.microsoftonline.com/error?code=" + strconv.Itoa(e.aadsts)
	}
	body.ErrorDescription = prefix + e.msg + " Trace ID: " + trace + " Correlation ID: " + corr + " Timestamp: " + ts
	writeEntraJSON(w, r, e.status, trace, corr, body)
}

// writeEntraJSON writes v with the headers Entra puts on its token and devicecode
// answers (entra.md §1, recording headers).
func writeEntraJSON(w http.ResponseWriter, r *http.Request, status int, trace, corr string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Every body is a fixed struct of strings and numbers; this cannot happen.
		status, b = http.StatusInternalServerError, []byte(`{"error":"server_error"}`)
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store, no-cache")
	h.Set("Pragma", "no-cache")
	h.Set("Expires", "-1")
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("x-ms-request-id", trace)
	h.Set("x-ms-ests-server", estsServer)
	if strings.EqualFold(r.Header.Get("return-client-request-id"), "true") {
		h.Set("client-request-id", corr)
	}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// estsServer is the x-ms-ests-server header the mock sends in place of Entra's build
// and slice name.
const estsServer = "2.1.0 - vbharness mock"

// correlationID returns the client-request-id the client sent (header, or query as
// msal-node adds it) when it is a GUID, else a fresh one.
func correlationID(r *http.Request) string {
	for _, v := range []string{r.Header.Get("client-request-id"), r.URL.Query().Get("client-request-id")} {
		if isGUID(v) {
			return strings.ToLower(v)
		}
	}
	return newGUID()
}

// The error catalogue. Texts are Entra's where entra.md confirms them; [I]/[U] marks
// the ones it could not.

func errMissingParam(name string) *oauthError {
	return &oauthError{status: 400, code: "invalid_request", aadsts: 900144,
		msg: "The request body must contain the following parameter: '" + name + "'."}
}

// errDuplicateParam is AADSTS9000411, which Entra sends for a repeated form field.
func errDuplicateParam(name string) *oauthError {
	return &oauthError{status: 400, code: "invalid_request", aadsts: 9000411,
		msg: "The request is not properly formatted. The parameter '" + name + "' is duplicated."}
}

// errMalformedRequest is AADSTS9002313 [I]: an unparseable body or a garbage token.
func errMalformedRequest(code string) *oauthError {
	return &oauthError{status: 400, code: code, aadsts: 9002313,
		msg: "Invalid request. Request is malformed or invalid."}
}

// errPostOnly is AADSTS900561 for a GET (or other method) on a POST endpoint.
func errPostOnly(method string) *oauthError {
	return &oauthError{status: 400, code: "invalid_request", aadsts: 900561,
		msg: "The endpoint only accepts POST, OPTIONS requests. Received a " + method + " request."}
}

func errUnknownTenant(code, tenant string) *oauthError {
	return &oauthError{status: 400, code: code, aadsts: 90002,
		msg: "Tenant '" + tenant + "' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."}
}

// errMalformedTenant is AADSTS900023; its error value is [U].
func errMalformedTenant(code, tenant string) *oauthError {
	return &oauthError{status: 400, code: code, aadsts: 900023,
		msg: "Specified tenant identifier '" + tenant + "' is neither a valid DNS name, nor a valid external domain."}
}

func errUnknownClient(clientID, directory string) *oauthError {
	return &oauthError{status: 400, code: "unauthorized_client", aadsts: 700016,
		msg: "Application with identifier '" + clientID + "' was not found in the directory '" + directory + "'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."}
}

func errUnsupportedGrant(grant string) *oauthError {
	return &oauthError{status: 400, code: "unsupported_grant_type", aadsts: 70003,
		msg: "The app requested an unsupported grant type '" + grant + "'."}
}

// errPublicClientSecret is AADSTS700025 (text confirmed; the invalid_client value and
// 401 are [I]).
func errPublicClientSecret() *oauthError {
	return &oauthError{status: 401, code: "invalid_client", aadsts: 700025,
		msg: "Client is public so neither 'client_assertion' nor 'client_secret' should be presented."}
}

func errNeedSecret() *oauthError {
	return &oauthError{status: 401, code: "invalid_client", aadsts: 7000218,
		msg: "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."}
}

func errBadSecret(clientID string) *oauthError {
	return &oauthError{status: 401, code: "invalid_client", aadsts: 7000215,
		msg: "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '" + clientID + "'."}
}

// errClientMismatch [I]: a Basic header naming another client than the body.
func errClientMismatch() *oauthError {
	return &oauthError{status: 401, code: "invalid_client", aadsts: 700038,
		msg: "The client_id in the Authorization header does not match the client_id in the request body."}
}

func errInvalidScope(scope, why string) *oauthError {
	return &oauthError{status: 400, code: "invalid_scope", aadsts: 70011,
		msg: "The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope " + scope + " is not valid." + why}
}

// errUnknownResource is AADSTS500011 [I] for a scope on a resource the directory does
// not have (neither Graph, nor one of its Resources, nor an app's API).
func errUnknownResource(resource, tenant string) *oauthError {
	return &oauthError{status: 400, code: "invalid_resource", aadsts: 500011,
		msg: "The resource principal named " + resource + " was not found in the tenant named " + tenant + ". This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant."}
}

// errNotPreauthorized is AADSTS65002 (text confirmed; invalid_request as a 2025
// capture shows it on /authorize, the token-endpoint value is [U]). resourceID is the
// resource's application id; that Entra answers it for an app's own API too is [I].
func errNotPreauthorized(clientID, resourceID string) *oauthError {
	return &oauthError{status: 400, code: "invalid_request", aadsts: 65002,
		msg: "Consent between first party application '" + clientID + "' and first party resource '" + resourceID + "' must be configured via preauthorization - applications owned and operated by Microsoft must get approval from the API owner before requesting tokens for that API."}
}

// errSeveralResources is AADSTS28000 for scopes of more than one resource in one user
// token request (text [R]: client comments quoting it; invalid_scope and 400 [I]).
func errSeveralResources(scope string) *oauthError {
	return &oauthError{status: 400, code: "invalid_scope", aadsts: 28000,
		msg: "Provided value for the input parameter scope is not valid because it contains more than one resource. Scope " + scope + " is not valid."}
}

// errNoSuchScope is AADSTS650053 for a permission the resource does not expose (text
// [R], e.g. "asked for scope 'groups' that doesn't exist on the resource
// '00000003-…'"; invalid_request as one report shows it from device-code polling, 400
// [I]).
func errNoSuchScope(a *App, scope string, r *apiResource) *oauthError {
	return &oauthError{status: 400, code: "invalid_request", aadsts: 650053,
		msg: "The application '" + a.DisplayName + "' asked for scope '" + scope + "' that doesn't exist on the resource '" + r.appID + "'. Contact the app vendor."}
}

// errNoConsent is AADSTS65001 for a scope outside a third-party app's consented list.
func errNoConsent(a *App) *oauthError {
	return &oauthError{status: 400, code: "invalid_grant", aadsts: 65001,
		msg: "The user or administrator has not consented to use the application with ID '" + a.ClientID + "' named '" + a.DisplayName + "'. Send an interactive authorization request for this user and resource.", suberror: "consent_required"}
}

func errPending() *oauthError {
	return &oauthError{status: 400, code: "authorization_pending", aadsts: 70016,
		msg: "OAuth 2.0 device flow error. Authorization is pending. Continue polling."}
}

func errCodeExpired() *oauthError {
	return &oauthError{status: 400, code: "expired_token", aadsts: 70020,
		msg: "The provided value for the input parameter 'device_code' is not valid. This device code has expired."}
}

// errDeclined is the default dialect's answer for a declined code: the error value is
// from the docs; AADSTS65004 is [U].
func errDeclined(strict bool) *oauthError {
	code := "authorization_declined"
	if strict {
		code = "access_denied"
	}
	return &oauthError{status: 400, code: code, aadsts: 65004, msg: "User declined to consent to access the app."}
}

// errSlowDown exists only in the strict RFC 8628 dialect, so it carries no AADSTS code.
func errSlowDown(interval time.Duration) *oauthError {
	return &oauthError{status: 400, code: "slow_down",
		msg: fmt.Sprintf("The client is polling too quickly. Poll no more than once every %d seconds.", int64(interval/time.Second))}
}

// errUnknownDeviceCode [U]: the error value is an Assumptions choice.
func errUnknownDeviceCode(code string) *oauthError {
	return &oauthError{status: 400, code: code, aadsts: 70000,
		msg: "The provided value for the input parameter 'device_code' is not valid."}
}

// errWrongClientForCode [I]: a device code polled by another client than requested it.
func errWrongClientForCode() *oauthError {
	return &oauthError{status: 400, code: "invalid_grant", aadsts: 70000,
		msg: "The provided value for the input parameter 'device_code' is not valid. It was issued to a different client."}
}

// netTime is .NET's round-trip time format Entra quotes in refresh errors.
const netTime = "2006-01-02T15:04:05.0000000Z"

func errRefreshInactive(issued time.Time, inactivity time.Duration) *oauthError {
	return &oauthError{status: 400, code: "invalid_grant", aadsts: 700082, suberror: "bad_token",
		msg: "The refresh token has expired due to inactivity. The token was issued on " + issued.UTC().Format(netTime) + " and was inactive for " + timeSpan(inactivity) + "."}
}

func errRevoked(issued, validFrom time.Time) *oauthError {
	return &oauthError{status: 400, code: "invalid_grant", aadsts: 50173, suberror: "bad_token",
		msg: "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password. The grant was issued on '" + issued.UTC().Format(netTime) + "' and the TokensValidFrom date (before which tokens are not valid) for this user is '" + validFrom.UTC().Format(netTime) + "'."}
}

// errUserGone [I]: a refresh token whose user is no longer in the directory.
func errUserGone(upn, tenant string) *oauthError {
	return &oauthError{status: 400, code: "invalid_grant", aadsts: 50034, suberror: "bad_token",
		msg: "The user account " + upn + " does not exist in the " + tenant + " directory. To sign into this application, the account must be added to the directory."}
}

// errRefreshOtherClient [I]: a refresh token redeemed by a client outside its family.
func errRefreshOtherClient() *oauthError {
	return &oauthError{status: 400, code: "invalid_grant", aadsts: 70000, suberror: "bad_token",
		msg: "The provided value for the 'refresh_token' is not valid. The refresh token was issued to a different client."}
}

// errTenantForAppToken [I]: client_credentials needs a specific tenant.
func errTenantForAppToken(tenant string) *oauthError {
	return &oauthError{status: 400, code: "invalid_request", aadsts: 50059,
		msg: "No tenant-identifying information found in either the request or implied by any provided credentials. Use a tenant-specific endpoint instead of '" + tenant + "'."}
}

// errAppTokenScope: client_credentials needs "<resource>/.default" (text and
// invalid_scope [R] msgraph-sdk-python#181, databricks-sql-nodejs#226; 400 [I]).
func errAppTokenScope(scope string) *oauthError {
	return &oauthError{status: 400, code: "invalid_scope", aadsts: 1002012,
		msg: "The provided value for scope " + scope + " is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."}
}

// Client credentials and client assertions (modern-app-only.md §1.1, §1.7, §1.8).
// invalid_client comes with 401 wherever the record shows a status (AADSTS7000215 [R]);
// for the other assertion errors 401 is [I].

// errNeedCredential is AADSTS7000216 for client_credentials without a credential
// (text [R] MicrosoftDocs/azure-docs#30777, 2019; invalid_client and 401 [I]).
func errNeedCredential() *oauthError {
	return &oauthError{status: 401, code: "invalid_client", aadsts: 7000216,
		msg: "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type."}
}

// errAppDisabled is AADSTS7000112 (code [C] MS-ERR table; text and unauthorized_client
// [R] Worklytics/psoxy#74 and OOFSponder#42; 400 [I], as for AADSTS700016).
func errAppDisabled(a *App) *oauthError {
	return &oauthError{status: 400, code: "unauthorized_client", aadsts: 7000112,
		msg: "Application '" + a.ClientID + "'(" + a.DisplayName + ") is disabled."}
}

// errSecretExpired is AADSTS7000222 (text and invalid_client [R] dotnet/sign#849, 2025;
// 401 [I]).
func errSecretExpired(clientID string) *oauthError {
	return &oauthError{status: 401, code: "invalid_client", aadsts: 7000222,
		msg: "The provided client secret keys for app '" + clientID + "' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds."}
}

// errTwoCredentials [I]: a client secret and a client assertion in one request.
func errTwoCredentials() *oauthError {
	return &oauthError{status: 400, code: "invalid_request", aadsts: 9002313,
		msg: "Invalid request. Request is malformed or invalid. Send either 'client_secret' or 'client_assertion', not both."}
}

// errAssertionType is AADSTS90011 for another client_assertion_type (text and
// invalid_request [R] azure-activedirectory-library-for-ruby#53, 2016; 400 [I]).
func errAssertionType() *oauthError {
	return &oauthError{status: 400, code: "invalid_request", aadsts: 90011,
		msg: "Unexpected client assertion type."}
}

// errMalformedJWT is AADSTS50027 for an assertion that is not a decodable JWS (text [R]
// panva/openid-client#348, 2021; invalid_request and 400 [I], modern-app-only.md §1.8).
func errMalformedJWT() *oauthError {
	return &oauthError{status: 400, code: "invalid_request", aadsts: 50027,
		msg: "JWT token is invalid or malformed."}
}

// errNoThumbprint is AADSTS50027 for a header without x5t or x5t#S256 (text [R]
// microsoft-authentication-library-for-dotnet#124, 2016; invalid_request and 400 [I]).
func errNoThumbprint() *oauthError {
	return &oauthError{status: 400, code: "invalid_request", aadsts: 50027,
		msg: "Invalid JWT token. No certificate thumbprint specified in token header."}
}

// errKeyNotFound is AADSTS700027 for a thumbprint no certificate of the app has: the
// 2026 opening ([R] microsoft-authentication-library-for-js#8339) with the bracket of
// the 2022 text ([R] azure-sdk-for-net#29007). The thumbprint is upper-case hex ([R]
// for SHA-1; for x5t#S256 [?]).
func errKeyNotFound(clientID, thumb string) *oauthError {
	return &oauthError{status: 401, code: "invalid_client", aadsts: 700027,
		msg: "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '" + thumb + "', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '" + clientID + "'. Review the documentation at https://docs.microsoft.com/en-us/graph/deployments to determine the corresponding service endpoint and https://docs.microsoft.com/en-us/graph/api/application-get?view=graph-rest-1.0&tabs=http to build a query request URL, such as 'https://graph.microsoft.com/beta/applications/" + clientID + "']. Alternatively, SNI may be configured on the app. Please ensure that client assertion is being sent with the x5c claim in the JWT header using MSAL's WithSendX5C() method so that Azure Active Directory can validate the certificate being used."}
}

// foundKeyTime is the US .NET form of "Found key 'Start=02/07/2021 17:00:39, …'".
const foundKeyTime = "01/02/2006 15:04:05"

func foundKey(start, end time.Time) string {
	return "Found key 'Start=" + start.UTC().Format(foundKeyTime) + ", End=" + end.UTC().Format(foundKeyTime) + "'"
}

// errBadSignature is AADSTS700027 for a signature that does not verify with the
// registered certificate, or an alg other than RS256 and PS256 (reason text [R]
// azure-sdk-for-java#25109; that alg none and HS256 get this reason is [I]).
func errBadSignature(clientID, thumb string, start, end time.Time) *oauthError {
	return &oauthError{status: 401, code: "invalid_client", aadsts: 700027,
		msg: "Client assertion contains an invalid signature. [Reason - The provided signature value did not match the expected signature value., Thumbprint of key used by client: '" + thumb + "', " + foundKey(start, end) + "]"}
}

// errCertOutsideValidity is AADSTS1000502 for a registered certificate credential
// before its start or past its end (code and text [R] microsoft-identity-web#2444,
// #2834, titles only; invalid_client, 401 and the bracket [I]).
func errCertOutsideValidity(thumb string, start, end time.Time) *oauthError {
	return &oauthError{status: 401, code: "invalid_client", aadsts: 1000502,
		msg: "The provided certificate is not within its specified validity window. [Thumbprint of key used by client: '" + thumb + "', " + foundKey(start, end) + "]"}
}

// errSubjectMismatch is AADSTS50048 for iss != sub (code and text [C] MS-ERR table;
// invalid_client and 401 [I]).
func errSubjectMismatch() *oauthError {
	return &oauthError{status: 401, code: "invalid_client", aadsts: 50048,
		msg: "Subject mismatches Issuer claim in the client assertion."}
}

// errAssertionAppMismatch is AADSTS700021 for iss == sub != client_id (code and
// meaning [C] learn.microsoft.com, Azure SDK for Java troubleshooting; wording,
// invalid_client and 401 [I]).
func errAssertionAppMismatch() *oauthError {
	return &oauthError{status: 401, code: "invalid_client", aadsts: 700021,
		msg: "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials ."}
}

// errTooManyAudiences is AADSTS5002741 for an aud array of several values (text [R]
// zitadel/oidc#887, 2026; invalid_client and 401 [I]).
func errTooManyAudiences(n int) *oauthError {
	return &oauthError{status: 401, code: "invalid_client", aadsts: 5002741,
		msg: fmt.Sprintf("Number of audience values in the provided client credential exceed maximum allowed. %d audience values provided, maximum allowed is 1.", n)}
}

// errAssertionAudience is AADSTS700023 for an aud other than this tenant's token
// endpoint (text [R] microsoft-authentication-library-for-dotnet#2746, 2021).
func errAssertionAudience() *oauthError {
	return &oauthError{status: 401, code: "invalid_client", aadsts: 700023,
		msg: "Client assertion audience claim does not match Realm issuer. Review the documentation at https://docs.microsoft.com/azure/active-directory/develop/active-directory-certificate-credentials ."}
}

// errAssertionTime is AADSTS700024 for an assertion expired, not yet valid or without
// exp (text with 7-digit times [R] microsoft-authentication-library-for-java#984,
// obikuro/Sato#1; a missing nbf reads as 1970 [R]; a missing exp too [I]).
func errAssertionTime(now, nbf, exp time.Time) *oauthError {
	return &oauthError{status: 401, code: "invalid_client", aadsts: 700024,
		msg: "Client assertion is not within its valid time range. Current time: " + now.UTC().Format(netTime) + ", assertion valid from " + nbf.UTC().Format(netTime) + ", expiry time of assertion " + exp.UTC().Format(netTime) + ". Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials ."}
}

// errAssertionReplayed answers a reused jti when Assumptions.AssertionJTIReuse is
// "reject". Entra's handling of replays is [?] (modern-app-only.md §1.2), so this
// strict setting's error carries no AADSTS code, as the strict RFC 8628 dialect's do.
func errAssertionReplayed(jti string) *oauthError {
	return &oauthError{status: 401, code: "invalid_client",
		msg: "The client assertion's jti '" + jti + "' was already used (the mock's strict replay check; RFC 7523 §3 makes it optional)."}
}

// errAppTokenUnknownResource is AADSTS70011 for "<resource>/.default" on a resource
// the mock does not know (text, invalid_scope and 400 [C] MS-CC).
func errAppTokenUnknownResource(scope string) *oauthError {
	return &oauthError{status: 400, code: "invalid_scope", aadsts: 70011,
		msg: "The provided value for the input parameter 'scope' is not valid. The scope " + scope + " is not valid."}
}

// errMultipleResources is AADSTS700022 for .default scopes of several resources (code
// [C] MS-ERR table; text, invalid_scope and 400 [I]).
func errMultipleResources(scope string) *oauthError {
	return &oauthError{status: 400, code: "invalid_scope", aadsts: 700022,
		msg: "The provided value for the input parameter scope is not valid because it contains more than one resource. Scope " + scope + " is not valid."}
}

// errNotAssignedToRole is AADSTS501051, which Assumptions.RevokedConsent "error"
// answers for an app whose consent was revoked (text, invalid_grant and 400 [R] NAIS
// docs, for resources that require assignment; that a revoked consent on Microsoft
// Graph gets it is [I]: MS-CC says the token then simply lacks roles).
func errNotAssignedToRole(a *App, r resource) *oauthError {
	return &oauthError{status: 400, code: "invalid_grant", aadsts: 501051,
		msg: "Application '" + a.ClientID + "'(" + a.DisplayName + ") is not assigned to a role for the application '" + r.id + "'(" + r.name + ")."}
}

// errTooLarge [I]: what the pipeline answers for a body over 1 MiB.
func errTooLarge() *oauthError {
	return &oauthError{status: http.StatusRequestEntityTooLarge, code: "invalid_request", aadsts: 9002313,
		msg: "Invalid request. Request is malformed or invalid. The request body is larger than 1 MiB."}
}

// errThrottled [U]: a devicecode request from a client that holds its share of live
// device codes, or to a store full of them (MaxDeviceCodesPerClient, MaxDeviceCodes).
// Entra throttles with 429 and Retry-After, which msal-node honours (entra.md §6);
// the code and text are AADSTS90055's as Microsoft's error list gives them, not
// captured from a throttled device-code request.
func errThrottled() *oauthError {
	return &oauthError{status: http.StatusTooManyRequests, code: "temporarily_unavailable", aadsts: 90055,
		msg: "TenantThrottlingError - There are too many incoming requests. Please try again later."}
}

// errInternal is AADSTS50000, Entra's token-issuance error, for a recovered panic.
func errInternal() *oauthError {
	return &oauthError{status: http.StatusInternalServerError, code: "server_error", aadsts: 50000,
		msg: "There was an error issuing a token or an issue with our sign-in service."}
}

// errNotFound answers paths Entra does not serve. Entra sends an HTML page there; the
// mock answers JSON without an AADSTS code so clients still parse it.
func errNotFound(path string) *oauthError {
	return &oauthError{status: http.StatusNotFound, code: "not_found",
		msg: "The path '" + path + "' is not an endpoint of the mock Microsoft Entra ID."}
}

// errMethodNotAllowed answers a method a GET-only discovery endpoint does not serve.
func errMethodNotAllowed(method string) *oauthError {
	return &oauthError{status: http.StatusMethodNotAllowed, code: "invalid_request",
		msg: "The endpoint does not accept " + method + " requests."}
}

// timeSpan renders d as .NET's TimeSpan "d.hh:mm:ss" ("90.00:00:00").
func timeSpan(d time.Duration) string {
	s := int64(d / time.Second)
	days, s := s/86400, s%86400
	return fmt.Sprintf("%d.%02d:%02d:%02d", days, s/3600, (s%3600)/60, s%60)
}
