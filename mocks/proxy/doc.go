// Package proxy owns vbharness's validation proxy (`vbharness proxy`): an HTTP handler
// that an integration is pointed at instead of a Veeam Backup for Microsoft 365 server
// (and, optionally, instead of Microsoft Entra ID). It forwards every request to the
// upstream, the token endpoints included, and sends the upstream's status, headers and
// body back as they came; on the side it checks each exchange against the contract
// (a Checker: mocks/contract's), journals it with every secret redacted (mocks/journal,
// mocks/secret), hands each exchange to a Recorder (mocks/record's, which records
// Veeam's and learns the secrets of all) when asked,
// keeps the violations, and serves them and the journal as JSON under /_proxy/.
//
// Bounds: what the proxy keeps does not grow with the hours it runs. The journal keeps
// its newest entries (mocks/journal), the violations their newest MaxViolations, the
// summary counts each of the v8 document's operations and the first MaxUnknownPaths
// other paths one by one and folds the rest into OtherPaths; what was dropped or folded
// is counted in Stats and said in every report. The scrubber of secrets seen is not
// bounded (forgetting one would let it through when it comes back).
//
// What lives elsewhere: the contract itself (what the v8 document and the Entra shapes
// allow) is mocks/contract's; the stub format of a recording is mocks/record's; the
// listener, its certificate (mocks/tlsca, the local CA of `vbharness mock`), the
// upstream's trust and the report files are wired by cmd/vbharness/cli/proxy.go.
//
// Routing: a request whose path is Veeam's (/v8/…, /v7/…, /v6/…, /swagger…, /health,
// case-insensitively, and the mock's own /_mock/…) goes to the Veeam upstream; any other
// path goes to the Entra upstream when one is set (WithEntraUpstream), else to the Veeam
// upstream too. So a client may point both its Entra authority and its Veeam URL at the
// proxy. Paths under /_proxy/ are the proxy's own and are never forwarded; paths under
// /_mock/ (a mock upstream's control API, which answers loopback callers and so would
// answer anyone through the proxy) are forwarded only to the callers /_proxy/ answers.
//
// Bodies: a request body is read whole before it is forwarded, up to MaxRequestBody
// (1 MiB, the mocks' own limit; a larger one gets 413 in the proxy's JSON error shape).
// A response body streams to the client as it arrives and a copy of up to
// MaxCheckedBody (16 MiB) is kept for the check; a longer answer is forwarded whole and
// counted as unchecked. A gzip answer is checked and recorded decoded (the client
// gets the upstream's bytes); another Content-Encoding leaves it unchecked. Checks, journaling and recording run after the answer has been
// handed to the client, off the request's goroutine, so they add no latency to it.
package proxy
