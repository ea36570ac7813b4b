package runnertest

import (
	"context"
	"errors"
	"testing"
	"time"
)

// ErrDefaultTimeout is the cause of a Watchdog context that fired: the run's default
// timeout (runner.Options.Timeout, --timeout) did not end a test that relies on it.
var ErrDefaultTimeout = errors.New("the default timeout did not end the test")

// Watchdog returns a context, derived from parent, that ends after d with
// ErrDefaultTimeout as its cause; it is cancelled when t ends. A test that relies on a
// run's default timeout to end a scenario that never ends on its own runs under it, with
// d well above that default, so a broken default fails it within d, saying what broke,
// instead of hanging until go test -timeout fires (40 minutes in CI). Call CheckWatchdog
// once the run has returned.
func Watchdog(t testing.TB, parent context.Context, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeoutCause(parent, d, ErrDefaultTimeout)
	t.Cleanup(cancel)
	return ctx
}

// CheckWatchdog fails t at once if the watchdog ended ctx: what (the run it guarded)
// was still going when the watchdog stopped it.
func CheckWatchdog(t testing.TB, ctx context.Context, what string) {
	t.Helper()
	if errors.Is(context.Cause(ctx), ErrDefaultTimeout) {
		t.Fatalf("%v: %s was still going when the watchdog stopped it", ErrDefaultTimeout, what)
	}
}
