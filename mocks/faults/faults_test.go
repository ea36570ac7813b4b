package faults

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestRuleValidation(t *testing.T) {
	t.Parallel()
	s := NewSet()
	cases := map[string]Rule{
		"missing path":          {Status: 503},
		"no action or status":   {Path: "*"},
		"status out of range":   {Path: "*", Status: 999},
		"bad delay":             {Path: "*", Action: ActionDelay, Delay: "soon"},
		"body that is not JSON": {Path: "*", Status: 500, Body: []byte("{")},
		"unknown action":        {Path: "*", Action: "explode"},
	}
	for name, r := range cases {
		if _, err := s.Add(r); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
}

func TestMatchTimesAfterAndFields(t *testing.T) {
	t.Parallel()
	s := NewSet()
	r, err := s.Add(Rule{Method: "POST", Path: "/*/oauth2/v2.0/token", Match: map[string]string{"grant_type": "device_code"}, Status: 503, After: 1, Times: 2})
	if err != nil {
		t.Fatal(err)
	}
	f := map[string]string{"grant_type": "device_code"}
	var fired []bool
	for i := 0; i < 5; i++ {
		_, _, ok := s.Match("POST", "/abc.onmicrosoft.com/oauth2/v2.0/TOKEN", f)
		fired = append(fired, ok)
	}
	want := []bool{false, true, true, false, false}
	for i := range want {
		if fired[i] != want[i] {
			t.Fatalf("fired %v, want %v", fired, want)
		}
	}
	if _, _, ok := s.Match("POST", "/x/oauth2/v2.0/token", map[string]string{"grant_type": "refresh_token"}); ok {
		t.Fatal("rule matched another grant type")
	}
	got := s.List()[0]
	if got.ID != r.ID || got.Matched != 3 || got.Fired != 2 {
		t.Fatalf("counters %+v", got)
	}
	if !s.Remove(r.ID) || s.Remove(r.ID) {
		t.Fatal("remove")
	}
}

func TestGlob(t *testing.T) {
	t.Parallel()
	cases := []struct {
		pat, path string
		want      bool
	}{
		{"*", "/anything/at/all", true},
		{"/v8/token", "/v8/token", true},
		{"/v8/token", "/v8/token/logout", false},
		{"/v8/*", "/v8/jobs/1/start", true},
		{"*/devicecode", "/common/oauth2/v2.0/devicecode", true},
		{"/a*b*c", "/axxbyyc", true},
		{"/a*b*c", "/axxcyyb", false},
	}
	for _, c := range cases {
		if got := globMatch(strings.Split(strings.ToLower(c.pat), "*"), c.path); got != c.want {
			t.Errorf("%q ~ %q = %v, want %v", c.pat, c.path, got, c.want)
		}
	}
}

// Issue 15 item 9: a rule matching a secret field confirmed an exact guess of a secret
// the clients send through its matched counter (refresh_token=<guess>: matched 1 means
// the guess was right). Rules on secret fields are refused, naming the field.
func TestRulesCannotMatchSecretFields(t *testing.T) {
	t.Parallel()
	s := NewSet()
	for _, field := range []string{"refresh_token", "password", "Assertion", "device_code", "client_secret", "code"} {
		_, err := s.Add(Rule{Path: "/v8/token", Status: 503, Match: map[string]string{"grant_type": "refresh_token", field: "guess"}})
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), strconv.Quote(field)) {
			t.Errorf("a rule matching %s: err %v, want ErrInvalid naming the field", field, err)
		}
	}
	if len(s.List()) != 0 {
		t.Fatalf("%d rules installed", len(s.List()))
	}
	if _, err := s.Add(Rule{Path: "/v8/token", Status: 503, Match: map[string]string{"grant_type": "refresh_token", "username": "Administrator"}}); err != nil {
		t.Errorf("a rule on non-secret fields: %v", err)
	}
}
