package engine

import (
	"regexp"
	"slices"
	"strings"

	"github.com/dop251/goja"

	"github.com/vbharness/vbharness/engine/flow"
	"github.com/vbharness/vbharness/internal/textdist"
)

// A misspelt vbharness name gets goja's bare "Object has no member 'devicecode'". These
// patterns find the name in such a message; suggest adds the nearest vbharness name.
var typoMessages = []*regexp.Regexp{
	regexp.MustCompile(`^TypeError: Object has no member '([\w$]+)'$`),
	regexp.MustCompile(`^TypeError: ([\w$]+) is not a function$`),
	regexp.MustCompile(`^ReferenceError: ([\w$]+) is not defined$`),
}

// suggest appends "(did you mean X?)" to a TypeError or ReferenceError message that names
// something close to a name of the vbharness module: its exports, their members at any
// depth, a session's and a response's members, the matchers. It leaves every other
// message alone: a guess among names the script did not mean would mislead.
func (h *host) suggest(msg string) string {
	var typo string
	variable := false // a ReferenceError names a variable: only the exports can be meant
	for i, re := range typoMessages {
		if m := re.FindStringSubmatch(msg); m != nil {
			typo, variable = m[1], i == len(typoMessages)-1
			break
		}
	}
	if typo == "" || h.exports == nil {
		return msg
	}
	known := h.vocabulary()
	if variable {
		known = map[string][]string{}
		for _, n := range exportNames() {
			known[n] = []string{n}
		}
	}
	if best := nearest(typo, known); len(best) > 0 {
		return msg + " (did you mean " + strings.Join(best, " or ") + "?)"
	}
	return msg
}

// vocabulary maps each name scripts reach through the vbharness module to where it is
// ("entra.raw.devicecode", "session.get", "expect(…).toEqual"). It is built only when a
// message needs it.
func (h *host) vocabulary() map[string][]string {
	where := map[string][]string{}
	add := func(name, path string) { where[name] = append(where[name], path) }
	var walk func(o *goja.Object, prefix string, depth int)
	walk = func(o *goja.Object, prefix string, depth int) {
		for _, k := range o.Keys() {
			add(k, prefix+k)
			if depth < 3 {
				if child, ok := o.Get(k).(*goja.Object); ok && child.ClassName() == "Object" {
					walk(child, prefix+k+".", depth+1)
				}
			}
		}
	}
	walk(h.exports, "", 0)
	for _, k := range (&session{host: h, s: &flow.Session{}}).object().Keys() {
		add(k, "session."+k)
	}
	for _, k := range append(matcherNames, "not") {
		add(k, "expect(…)."+k)
	}
	add("json", "response.json")
	return where
}

// nearest returns what to suggest for typo: known names that differ only in case; else
// those within an edit distance that grows with the name's length (1 up to 5 characters,
// 2 beyond); else, when typo is a name that exists elsewhere (entra.token for
// veeam.token), where it exists. Nothing when nothing is close.
func nearest(typo string, known map[string][]string) []string {
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range known {
			if k != typo && !yield(k) {
				return
			}
		}
	})
	var folded []string
	for _, k := range names {
		if strings.EqualFold(k, typo) {
			folded = append(folded, k)
		}
	}
	if len(folded) > 0 {
		return folded
	}
	limit := 1
	switch n := len(typo); {
	case n < 3:
		limit = 0
	case n > 5:
		limit = 2
	}
	var best []string
	bestD := limit
	for _, k := range names {
		switch d := textdist.Levenshtein(strings.ToLower(typo), strings.ToLower(k)); {
		case d > limit:
		case d < bestD || best == nil:
			best, bestD = []string{k}, d
		case d == bestD:
			best = append(best, k)
		}
	}
	if len(best) == 0 {
		best = known[typo] // the name exists, on another object
	}
	return best
}
