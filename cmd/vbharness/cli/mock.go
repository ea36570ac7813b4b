package cli

import "github.com/spf13/cobra"

// mockCommand returns the `mock` command, or nil until the mock stack is wired.
func (a *app) mockCommand() *cobra.Command { return nil }
