package veeam

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Quirks a recorded lab can show, each reproducible with a setting (Settings
// NullProperties, NumbersAsStrings, V7NextLinks): the public record reports them of real
// servers, and a client that must survive a lab must survive them offline too.
// They apply to the JSON answers the mock writes itself (not to the token endpoint's,
// and not to stubs, which answer as written), after the answer is built, so every
// operation shows them alike.
//
//   - Nulls in non-nullable fields: "the server sends null for many properties the
//     schema marks non-nullable" (veeam.md §2, §5 [R Cenvora/ha-veeam-365
//     sdk_patches.py]). Which properties is not recorded, so the setting names them.
//   - Numeric fields sent as strings, "depending on endpoint/build" (veeam.md §2 [R a Go
//     Prometheus exporter]). The setting names them, or "*" for every number.
//   - "/v7/ next-links on /v8/ sessions" (veeam.md §4.1 [R rjain557/annual-client-review]).
//     The mock answers /v7/ paths 404 ("Older API versions"), so a client that follows
//     such a link as given fails, as it may against that server.

// quirkNameRE is a property name a quirk setting may list.
var quirkNameRE = regexp.MustCompile(`^[A-Za-z_$@.][A-Za-z0-9_$@.-]*$`)

// quirkList splits a comma-separated list of property names; "" is none.
func quirkList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// checkQuirkList refuses a list with a name no JSON property of the API has the shape
// of; star allows "*".
func checkQuirkList(key, s string, star bool) error {
	for _, p := range quirkList(s) {
		if p == "*" && star {
			continue
		}
		if !quirkNameRE.MatchString(p) {
			if star {
				return fmt.Errorf("%s must be property names separated by commas, or \"*\" for every number, got %q", key, p)
			}
			return fmt.Errorf("%s must be property names separated by commas, got %q", key, p)
		}
	}
	return nil
}

// quirks is what the settings ask of an answer, worked out once per answer.
type quirks struct {
	nulls   []string
	numbers []string
	allNum  bool
	v7      bool
}

// hasQuirks reports whether any quirk setting is on: the one check every answer pays.
func (s Settings) hasQuirks() bool {
	return s.NullProperties != "" || s.NumbersAsStrings != "" || s.V7NextLinks
}

func (s Settings) quirks() quirks {
	q := quirks{nulls: quirkList(s.NullProperties), v7: s.V7NextLinks}
	for _, n := range quirkList(s.NumbersAsStrings) {
		if n == "*" {
			q.allNum = true
		} else {
			q.numbers = append(q.numbers, n)
		}
	}
	return q
}

// apply returns b, a JSON answer, with the quirks; b unchanged when it is not JSON.
func (q quirks) apply(b []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return b
	}
	v = q.walk(v, "")
	out, err := marshal(v)
	if err != nil {
		return b
	}
	return out
}

// walk applies the quirks to v, the value of property key ("" for none).
func (q quirks) walk(v any, key string) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			switch {
			case slices.Contains(q.nulls, k):
				x[k] = nil
			case k == "_links" && q.v7:
				x[k] = v7Next(e)
			default:
				x[k] = q.walk(e, k)
			}
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = q.walk(e, key)
		}
		return x
	case json.Number:
		if key != "" && (q.allNum || slices.Contains(q.numbers, key)) {
			return string(x)
		}
	}
	return v
}

// v7Next turns the next link of a _links object from /v8/… to /v7/….
func v7Next(links any) any {
	l, ok := links.(map[string]any)
	if !ok {
		return links
	}
	next, ok := l["next"].(map[string]any)
	if !ok {
		return links
	}
	if href, ok := next["href"].(string); ok {
		if i := strings.Index(strings.ToLower(href), "/v8/"); i >= 0 {
			next["href"] = href[:i] + "/v7/" + href[i+4:]
		}
	}
	return links
}

// withQuirks returns body as the quirks leave it: a JSON body re-encoded with them, any
// other unchanged.
func withQuirks(q quirks, body any) any {
	switch b := body.(type) {
	case nil, binary:
		return body
	case rawJSON:
		return rawJSON(q.apply(b))
	case pooledJSON:
		defer release(b.buf)
		return rawJSON(q.apply(bytes.Clone(b.buf.Bytes())))
	default:
		raw, err := marshal(b)
		if err != nil {
			return body // the writer reports it
		}
		return rawJSON(q.apply(raw))
	}
}
