// Package contract checks HTTP exchanges against the published contract of the services
// vbharness stands in for: Veeam's v8 REST API as its OpenAPI document describes it (the
// document embedded in mocks/veeam/spec), and the Entra token and device-code endpoints
// as docs/entra-mock.md documents their bodies. A Checker turns one Exchange (a request
// and its answer, as a client saw them) into Violations, each naming the operation, the
// side, the JSON pointer of the offending value, and what was expected versus received.
// `vbharness run` (runner, engine) checks every exchange a scenario makes, and
// `vbharness proxy` every exchange it forwards.
//
// What is checked on the Veeam side (docs/contract.md has the whole list):
//   - the request, with the document (path parameters, query, body), by the same
//     validation the mock applies (spec.Operation.ValidateRequest); the operation is found
//     by the mock's own router (veeam.Match), so checker and mock agree on which
//     operation a request is;
//   - the response status: a success status (below 400) must be one the operation
//     declares; an error status may fall to the operation's `default` response;
//   - a JSON response body against the schema of that status: required properties,
//     types, enum values, nullable (a null where the schema is not nullable), and the
//     formats the mock checks (uuid as a GUID, date-time); every violation is reported,
//     not only the first (kin-openapi's MultiError);
//   - `_links` of a /v8/ answer that point at /v7/ (a lab quirk, veeam.md §5): a violation
//     of its own, with the pointer of the href.
//
// The stricter view of errors. The document's error schema RESTExceptionInfo requires
// nothing, so a body of {} would pass. The checker applies the view the mock's own
// conformance test applies (mocks/veeam/openapi_test.go): message is required and not
// empty, errorCode is required and one of the document's enum values (it may be null,
// as on a real server for errors without a code). POST /v8/token's errors may also be the
// OAuth shape {"error","error_description"} (veeam.md §1.4). A 401 with an empty body is
// what real servers send (veeam.md §3) and passes.
//
// A request violation whose answer was a 4xx is not reported: the server refused a bad
// request, which is it doing its job (the catalogue's negative tests send many such
// requests on purpose). A request violation that the server accepted (2xx, 3xx, 5xx) or
// that got no answer is reported.
//
// Secrets: Received is clipped to about 80 characters, and a value under a secret-named
// property (mocks/secret.FieldKind) or that looks like a token (a JWT, or a long opaque
// base64url string) is replaced by a redaction marker, never shown.
//
// What lives elsewhere: the document and its validation are mocks/veeam/spec; the
// routing is mocks/veeam (Match); what is a secret is mocks/secret; recording exchanges
// is mocks/record and the proxy is mocks/proxy. This package imports no engine or runner
// code and is usable from plain Go tests.
package contract
