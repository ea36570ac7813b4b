// Package configfile owns how vbharness reads its configuration files: the targets file
// (runner/config), the mock Entra's directory and lifetimes (mocks/entra) and the mock
// Veeam's fixtures (mocks/veeam). They all go through Decode, one strict decoder for YAML
// and JSON built on go.yaml.in/yaml/v4, so every file is held to the same rules:
//
//   - a key that names no field is refused, with the nearest known key ("did you mean
//     client_id?") or the list of known keys, and keys are matched exactly (case
//     included);
//   - a key given twice in one mapping is refused;
//   - a value of the wrong shape (a list where one value belongs, "maybe" for a
//     boolean) is refused, naming its path (targets.lab.veeam.url);
//   - every error is an *Error carrying the file, the line, the column and a fix.
//
// JSON files are read with encoding/json's own tokenizer (so JSON escapes, numbers and
// syntax errors mean what they mean in JSON) into the same node tree a YAML file gives,
// and checked by the same rules. CheckJSON applies the key rules alone to a JSON body
// decoded with encoding/json, for the control API (mocks/control).
//
// What lives elsewhere: what a file means (defaults, cross-field rules such as "a tenant
// needs a GUID") belongs to the package that owns the file; it uses Doc.Pos to name the
// line of what it refuses.
package configfile
