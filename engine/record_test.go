package engine

import (
	"testing"

	"github.com/vbharness/vbharness/engine/flow"
)

// RunOptions.Record hears each exchange with the service it went to, told by origin.
func TestRecordNamesTheService(t *testing.T) {
	t.Parallel()
	var got []string
	h := &host{
		target: &Target{Veeam: VeeamTarget{URL: "https://veeam.lab:4443"},
			Entra: EntraTarget{EntraSettings: flow.EntraSettings{Authority: "https://login.lab/"}}},
		record: func(service string, ex *flow.Exchange) { got = append(got, service+" "+ex.URL) },
	}
	for _, u := range []string{
		"https://VEEAM.lab:4443/v8/Jobs?limit=1",
		"https://login.lab/abc.onmicrosoft.com/oauth2/v2.0/token",
		"https://veeam.lab:4444/v8/Jobs",
		"http://veeam.lab:4443/v8/Jobs",
		"https://elsewhere.example/",
	} {
		h.recordExchange(&flow.Exchange{Method: "GET", URL: u})
	}
	want := []string{
		"veeam https://VEEAM.lab:4443/v8/Jobs?limit=1",
		"entra https://login.lab/abc.onmicrosoft.com/oauth2/v2.0/token",
		" https://veeam.lab:4444/v8/Jobs",
		" http://veeam.lab:4443/v8/Jobs",
		" https://elsewhere.example/",
	}
	if len(got) != len(want) {
		t.Fatalf("heard %q", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("exchange %d: heard %q, want %q", i, got[i], want[i])
		}
	}
	h.record = nil
	h.recordExchange(&flow.Exchange{URL: "https://veeam.lab:4443/"}) // no hook: nothing happens
}
