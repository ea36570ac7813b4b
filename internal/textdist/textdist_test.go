package textdist

import "testing"

func TestLevenshtein(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"", "abc", 3},
		{"abc", "", 3},
		{"token", "token", 0},
		{"tokne", "token", 2},        // a transposition is two edits
		{"pollToken", "polToken", 1}, // a deletion
		{"advance", "advanse", 1},    // a replacement
		{"kitten", "sitting", 3},     // the textbook pair
		{"accesstokenlifetime", "acesstokenlifetim", 2},
		{"ünï", "uni", 2}, // runes, not bytes
		{"☃", "x", 1},
	} {
		if got := Levenshtein(c.a, c.b); got != c.want {
			t.Errorf("Levenshtein(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := Levenshtein(c.b, c.a); got != c.want {
			t.Errorf("Levenshtein(%q, %q) = %d, want %d (symmetric)", c.b, c.a, got, c.want)
		}
	}
}
