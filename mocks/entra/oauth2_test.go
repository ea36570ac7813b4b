package entra

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// oauth2Config is a golang.org/x/oauth2 client for Azure CLI against the mock, with
// the default auth style (AuthStyleAutoDetect: Basic first, then the body).
func oauth2Config(ts *testServer) *oauth2.Config {
	return &oauth2.Config{
		ClientID: AzureCLIClientID,
		Scopes:   strings.Fields(seedScope),
		Endpoint: oauth2.Endpoint{DeviceAuthURL: ts.URL + dcPath, TokenURL: ts.URL + tokenPath},
	}
}

func statuses(ts *testServer, field, value string) []int {
	var out []int
	for _, e := range ts.requests(tokenPath) {
		if e.Fields[field] == value {
			out = append(out, e.Status)
		}
	}
	return out
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// x/oauth2's DeviceAuth and DeviceAccessToken work with the default auth style: its
// Basic-auth first tries are refused (AADSTS700025) without side effects and its
// retries in the body succeed; then TokenSource refreshes the expired token the same
// way, and the old refresh token stays valid.
func TestOAuth2DeviceFlowWithDefaultAuthStyleThenRefresh(t *testing.T) {
	t.Parallel()
	// x/oauth2 waits one full interval on the wall clock before each poll.
	ts := newTestServer(t, WithLifetimes(Lifetimes{Interval: time.Second}))
	ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), oauth2.HTTPClient, ts.Client), 30*time.Second)
	defer cancel()
	if r := ts.control(t, http.MethodPost, "/_mock/devicecodes/auto-approve", map[string]any{"after_polls": 1}); r.Status != http.StatusOK {
		t.Fatalf("auto-approve: %d %s", r.Status, r.Raw)
	}

	conf := oauth2Config(ts)
	da, err := conf.DeviceAuth(ctx)
	if err != nil {
		t.Fatalf("DeviceAuth: %v", err)
	}
	if da.Interval != 1 || da.VerificationURI != ts.URL+"/devicelogin" || len(da.UserCode) != UserCodeLength {
		t.Errorf("device auth = interval %d, uri %q, user code %q", da.Interval, da.VerificationURI, da.UserCode)
	}
	tok, err := conf.DeviceAccessToken(ctx, da)
	if err != nil {
		t.Fatalf("DeviceAccessToken: %v", err)
	}
	if tok.AccessToken == "" || tok.RefreshToken == "" || tok.TokenType != "Bearer" || tok.ExpiresIn != 3599 {
		t.Fatalf("token = type %q, expires_in %d, refresh %t", tok.TokenType, tok.ExpiresIn, tok.RefreshToken != "")
	}
	if tok.Extra("foci") != "1" || strings.Contains(tok.Extra("scope").(string), "offline_access") {
		t.Errorf("foci = %v, scope = %v", tok.Extra("foci"), tok.Extra("scope"))
	}
	// Each tick: a Basic try (401, no side effect) and a body retry; the first retry
	// is pending, the second succeeds (after_polls 1).
	if got, want := statuses(ts, "grant_type", grantDeviceCodeURN), []int{401, 400, 401, 200}; !equalInts(got, want) {
		t.Errorf("device code polls = %v, want %v", got, want)
	}
	if codes := ts.DeviceCodes(); len(codes) != 1 || codes[0].PollCount != 2 || codes[0].State != StateRedeemed {
		t.Errorf("device codes = %+v, want one redeemed code polled twice (Basic tries not counted)", codes)
	}

	// A fresh config probes the auth style again: its first refresh try sends the
	// client id only in a Basic header.
	old := tok.RefreshToken
	tok.Expiry = time.Now().Add(-time.Minute)
	ts.Clock.Advance(time.Hour)
	fresh, err := oauth2Config(ts).TokenSource(ctx, tok).Token()
	if err != nil {
		t.Fatalf("refresh through TokenSource: %v", err)
	}
	if fresh.AccessToken == tok.AccessToken || fresh.RefreshToken == old || fresh.RefreshToken == "" {
		t.Error("refresh did not return a new access token and a new refresh token")
	}
	if got, want := statuses(ts, "grant_type", "refresh_token"), []int{401, 200}; !equalInts(got, want) {
		t.Errorf("refresh requests = %v, want %v (Basic refused, body accepted)", got, want)
	}
	// Entra does not revoke a refresh token when it issues the next one.
	r := ts.post(t, tokenPath, url.Values{"grant_type": {"refresh_token"}, "client_id": {AzureCLIClientID}, "refresh_token": {old}})
	if r.Status != http.StatusOK {
		t.Errorf("the old refresh token no longer works: %d %s", r.Status, r.Raw)
	}
}

// With the accept assumption x/oauth2's Basic tries are answered, but only the body
// retries count as polls, so the retry is never "too fast".
func TestOAuth2WithBasicAuthAccepted(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t,
		WithLifetimes(Lifetimes{Interval: time.Second}),
		WithAssumptions(Assumptions{PublicClientBasicAuth: BasicAuthAccept}))
	ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), oauth2.HTTPClient, ts.Client), 30*time.Second)
	defer cancel()
	if err := ts.SetAutoApprove(&AutoApprove{AfterPolls: 1}); err != nil {
		t.Fatal(err)
	}
	conf := oauth2Config(ts)
	da, err := conf.DeviceAuth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := conf.DeviceAccessToken(ctx, da)
	if err != nil {
		t.Fatalf("DeviceAccessToken: %v", err)
	}
	if got, want := statuses(ts, "grant_type", grantDeviceCodeURN), []int{400, 400, 400, 200}; !equalInts(got, want) {
		t.Errorf("device code polls = %v, want %v", got, want)
	}
	if codes := ts.DeviceCodes(); codes[0].PollCount != 2 {
		t.Errorf("poll count = %d, want 2 (Basic tries not counted)", codes[0].PollCount)
	}
	tok.Expiry = time.Now().Add(-time.Minute)
	if _, err := oauth2Config(ts).TokenSource(ctx, tok).Token(); err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if got := statuses(ts, "grant_type", "refresh_token"); !equalInts(got, []int{200}) {
		t.Errorf("refresh requests = %v, want the Basic try accepted", got)
	}
}
