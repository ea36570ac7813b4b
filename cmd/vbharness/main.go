package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/vbharness/vbharness/cmd/vbharness/cli"
	"github.com/vbharness/vbharness/runner/report"
)

func main() {
	// The first SIGINT or SIGTERM cancels ctx: the command stops cleanly (run writes its
	// reports, mock lets requests in flight finish). A second one ends the process at
	// once with 130 (interrupted). Restoring the signal's old disposition instead would
	// lose the second one where it was ignored at start, as in a script's background job.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-sigs
		cancel()
		<-sigs
		fmt.Fprintln(os.Stderr, "vbharness: interrupted again; exiting now")
		report.RemoveSpills() // no reports, and no half-written spill files either
		os.Exit(130)
	}()
	env := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	os.Exit(cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, env))
}
