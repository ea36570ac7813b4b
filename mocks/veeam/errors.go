package veeam

import (
	"fmt"
	"net/http"
)

// Veeam's RESTExceptionInfo errorCode values the mock uses (SPEC8 enum, veeam.md §3 [C]).
const (
	codeAccessDenied      = "ResourceAccessDenied"
	codeNotFound          = "ResourceNotFound"
	codeValidation        = "ParameterValidationFailure"
	codeOperationConflict = "OperationConflict"
)

// OAuth error codes of the token endpoint (RFC 6749 §5.2, as OWIN writes them).
const (
	oauthInvalidRequest   = "invalid_request"
	oauthInvalidGrant     = "invalid_grant"
	oauthUnsupportedGrant = "unsupported_grant_type"
)

// apiError is one protocol error. Every error the mock answers with is a value of this
// type and is written by writeError, so the wire shape lives in one place.
type apiError struct {
	// Status is the HTTP status of an API error, and of a token error in the OAuth style.
	Status int
	// Code is RESTExceptionInfo.errorCode; empty is written as null.
	Code string
	// Message is RESTExceptionInfo.message, or error_description in the OAuth style.
	Message string
	// OAuth marks a token endpoint error and holds its OAuth error code.
	OAuth string
}

func (e *apiError) Error() string { return e.Message }

// errUnauthorized is the answer to a missing, malformed, foreign, expired or revoked
// bearer token: 401, WWW-Authenticate: Bearer, empty body (veeam.md §3 [R] Cenvora:
// "VB365 answers a rejected token with an empty body"; the header is [I]).
var errUnauthorized = &apiError{Status: http.StatusUnauthorized}

func notFound(kind, id string) *apiError {
	return &apiError{Status: http.StatusNotFound, Code: codeNotFound,
		Message: fmt.Sprintf("%s with id %q was not found.", kind, id)}
}

func badParam(format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: codeValidation, Message: fmt.Sprintf(format, args...)}
}

func accessDenied(format string, args ...any) *apiError {
	return &apiError{Status: http.StatusForbidden, Code: codeAccessDenied, Message: fmt.Sprintf(format, args...)}
}

func conflict(format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: codeOperationConflict, Message: fmt.Sprintf(format, args...)}
}

func invalidGrant(format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, OAuth: oauthInvalidGrant, Message: fmt.Sprintf(format, args...)}
}

func invalidRequest(format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, OAuth: oauthInvalidRequest, Code: codeValidation, Message: fmt.Sprintf(format, args...)}
}

func unsupportedGrant(format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, OAuth: oauthUnsupportedGrant, Code: codeValidation, Message: fmt.Sprintf(format, args...)}
}

// exceptionInfo is Veeam's RESTExceptionInfo (SPEC8): every field present, errorCode
// and stackTrace null when empty.
type exceptionInfo struct {
	Message    string  `json:"message"`
	ErrorCode  *string `json:"errorCode"`
	StackTrace *string `json:"stackTrace"`
}

// oauthError is the OAuth-style token error body (ErrorStyleOAuth).
type oauthError struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// writeError writes e in the service's shape. style is Settings.ErrorStyle; it only
// matters for token endpoint errors:
//   - API errors: RESTExceptionInfo with e.Status; a 401 has an empty body and
//     WWW-Authenticate: Bearer instead.
//   - token errors, ErrorStyleOAuth: e.Status (400) with {"error","error_description"}.
//   - token errors, ErrorStyleVeeam: RESTExceptionInfo, 401 for refused credentials
//     (invalid_grant), 400 for malformed requests.
func writeError(w http.ResponseWriter, style string, e *apiError) {
	h := w.Header()
	if e.OAuth == "" && e.Status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", "Bearer")
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	status := e.Status
	var body any
	switch {
	case e.OAuth != "" && style != ErrorStyleVeeam:
		body = oauthError{Error: e.OAuth, ErrorDescription: e.Message}
		h.Set("Cache-Control", "no-cache")
		h.Set("Pragma", "no-cache")
	default:
		info := exceptionInfo{Message: e.Message}
		if e.Code != "" {
			code := e.Code
			info.ErrorCode = &code
		}
		if e.OAuth == oauthInvalidGrant {
			status = http.StatusUnauthorized
		}
		body = info
	}
	b, err := marshal(body)
	if err != nil { // cannot happen: both bodies are plain strings
		status, b = http.StatusInternalServerError, []byte(`{"message":"encode error","errorCode":null,"stackTrace":null}`)
	}
	h.Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
