// Package spec owns Veeam's published OpenAPI document of the Veeam Backup for Microsoft
// 365 REST API v8 (vb365_rest_v8.openapi.json, from Cenvora/veeam-365, Apache-2.0; see
// README.md) and everything the mock reads from it:
//
//   - the document itself, embedded byte for byte (JSON), which the mock serves at
//     /swagger/docs/v8;
//   - the operation index (Load): all 487 operations with their operationId, method,
//     path template, parameters, request body, documented success status, media type and
//     schema, and x-anonymous;
//   - request and response validation with kin-openapi's openapi3filter
//     (Operation.ValidateRequest, Operation.ValidateResponse), with errors that name the
//     parameter or the JSON pointer of the body property and say what was expected;
//   - a deterministic value generator (Document.Generate) that builds a value for any
//     schema of the document from a seed and a clock reading.
//
// The document is parsed once per process, by a loader of its own that builds
// kin-openapi's types directly from encoding/json structs: kin-openapi's loader takes
// about a second and 170 MB of allocations for this 1.8 MB document (it parses it as YAML
// first), which every `vbharness run` would pay; this one takes a few tens of
// milliseconds. A test checks it against kin-openapi's loader, schema by schema.
//
// What lives elsewhere: the routes, access rules, the world of resources and the
// handlers are mocks/veeam, which imports this package; this package imports nothing of
// the mocks.
package spec
