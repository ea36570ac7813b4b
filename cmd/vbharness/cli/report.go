package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/vbharness/vbharness/runner"
	"github.com/vbharness/vbharness/runner/report"
)

func (a *app) reportCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Work with report files (merge the JSON reports of a sharded run)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SetOut(a.stderr)
			_ = cmd.Help()
			return exit(exitUsage)
		},
	}
	cmd.AddCommand(a.reportMergeCommand())
	return cmd
}

func (a *app) reportMergeCommand() *cobra.Command {
	var reports []string
	cmd := &cobra.Command{
		Use:   "merge SHARD.json… [--report FORMAT=FILE…]",
		Short: "Join the JSON reports of the shards of one run into the reports of the whole run",
		Long: `merge reads the JSON reports of every shard of one run (vbharness run --shard i/n
--report json=FILE) and writes the reports the whole run would have written: every test
once, in the whole run's order, with its totals and exit status. It prints the summary
line and exits with the whole run's exit code (0, 1, 3 or 130), so a CI job that merges
fails when a shard failed. Without --report it writes no file: it only checks the shards
and prints the summary.

Exit codes: the merged run's, or 2 when the files are not the shards of one run (a shard
missing or given twice, shards of different runs) or cannot be read or written.`,
		Example: `  vbharness report merge shard-*.json --report junit=results.xml --report json=run.json`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var specs []report.Spec
			for _, r := range reports {
				s, err := report.ParseSpec(r)
				if err != nil {
					return usage("%v", err)
				}
				specs = append(specs, s)
			}
			var outs []*runner.Outcome
			for _, p := range args {
				o, err := a.readReport(p, "report merge")
				if err != nil {
					return err
				}
				outs = append(outs, o)
			}
			merged, err := runner.Merge(outs)
			if err != nil {
				return usage("report merge: %v", err)
			}
			files, err := a.createReports(specs, false, nil)
			if err != nil {
				return err
			}
			code := merged.ExitCode()
			for _, o := range files {
				for i := range merged.Results {
					o.TestFinished(&merged.Results[i])
				}
				if err := o.Close(merged); err != nil {
					fmt.Fprintf(a.stderr, "vbharness: cannot write the %s report %s: %v\n", o.Spec.Format, o.Spec.Path, err)
					code = max(code, exitUsage)
				}
			}
			fmt.Fprintf(a.stdout, "merged %d shards of target %s: %d tests in %s\n", len(outs), merged.Target.Name,
				len(merged.Results), merged.Elapsed.Round(1e6))
			fmt.Fprintln(a.stdout, merged.Counts().Summary())
			return exit(code)
		},
	}
	cmd.Flags().StringArrayVar(&reports, "report", nil, "write a report of the whole run: junit=FILE, json=FILE, tap=FILE or html=FILE (repeatable)")
	return cmd
}

// readReport reads a JSON report named on the command line; every problem is a usage
// error naming the file and what flag or command wanted it.
func (a *app) readReport(p, why string) (*runner.Outcome, error) {
	if !filepath.IsAbs(p) {
		p = filepath.Join(a.dir, p)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, usage("%s: %v", why, err)
	}
	defer f.Close()
	o, err := report.ReadJSON(f)
	if err != nil {
		return nil, usage("%s: %s: %v", why, p, err)
	}
	return o, nil
}
