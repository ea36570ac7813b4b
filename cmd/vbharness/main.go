package main

import (
	"context"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/vbharness/vbharness/cmd/vbharness/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal, restore the default handling, so a second Ctrl-C ends
	// the process at once even if a command is slow to stop.
	go func() {
		<-ctx.Done()
		stop()
	}()
	env := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	os.Exit(cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, env))
}
