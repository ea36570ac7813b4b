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

// errUnknownResource is AADSTS500011 [I] for a scope on a resource other than Graph.
func errUnknownResource(resource, tenant string) *oauthError {
	return &oauthError{status: 400, code: "invalid_resource", aadsts: 500011,
		msg: "The resource principal named " + resource + " was not found in the tenant named " + tenant + ". This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant."}
}

// errNotPreauthorized is AADSTS65002 (text confirmed; invalid_request as a 2025
// capture shows it on /authorize, the token-endpoint value is [U]).
func errNotPreauthorized(clientID string) *oauthError {
	return &oauthError{status: 400, code: "invalid_request", aadsts: 65002,
		msg: "Consent between first party application '" + clientID + "' and first party resource '" + GraphAppID + "' must be configured via preauthorization - applications owned and operated by Microsoft must get approval from the API owner before requesting tokens for that API."}
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

// errAppTokenScope [I]: client_credentials needs "<resource>/.default".
func errAppTokenScope(scope string) *oauthError {
	return &oauthError{status: 400, code: "invalid_scope", aadsts: 1002012,
		msg: "The provided value for scope " + scope + " is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."}
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
