package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"argus/internal/audit"
)

func newReportCmd(g *globals) *cobra.Command {
	var from, to string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Transparency report from the audit log: who watched, played back and exported how much",
		Long: `Summarise a node's audit log (<data>/audit.db, opened read-only) over
--from..--to (RFC 3339; --to is exclusive; both default to the whole log):
per organisation of the acting user, live views, playbacks, exports and
export downloads, PTZ sessions, emergency accesses (opened, then used),
shares granted and revoked, and denied attempts by action. The report is
computed from the audit log alone. See docs/audit.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir := g.data
			if dir == "" {
				cfg, err := g.load()
				if err != nil {
					return err
				}
				dir = cfg.Data
			}
			var f, t time.Time
			var err error
			if from != "" {
				if f, err = time.Parse(time.RFC3339Nano, from); err != nil {
					return fmt.Errorf("--from: %w", err)
				}
			}
			if to != "" {
				if t, err = time.Parse(time.RFC3339Nano, to); err != nil {
					return fmt.Errorf("--to: %w", err)
				}
			}
			if !f.IsZero() && !t.IsZero() && !f.Before(t) {
				return fmt.Errorf("--to must be after --from")
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			rep, err := audit.ReportFile(ctx, filepath.Join(dir, audit.FileName), f, t)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			return printTransparency(cmd, rep)
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "start, RFC 3339 (default: the first record)")
	cmd.Flags().StringVar(&to, "to", "", "end, RFC 3339, exclusive (default: the last record)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

// printTransparency writes rep as a table, one row per organisation.
func printTransparency(cmd *cobra.Command, rep *audit.TransparencyReport) error {
	w := cmd.OutOrStdout()
	span := func(t time.Time, open string) string {
		if t.IsZero() {
			return open
		}
		return t.UTC().Format(time.RFC3339)
	}
	fmt.Fprintf(w, "Audit log %s .. %s: %d %s\n\n", span(rep.From, "start"), span(rep.To, "end"), rep.Records,
		plural(int(rep.Records), "record", "records"))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "ORG\tLIVE\tPLAYBACK\tEXPORT\tDOWNLOAD\tPTZ\tEMERGENCY\tEMERG.USE\tSHARED\tREVOKED\tDENIED\tDENIED BY ACTION\t")
	for _, a := range rep.Orgs {
		org := a.OrgID
		if org == "" {
			org = "-"
		}
		var denied []string
		for act, n := range a.DeniedByAction {
			denied = append(denied, fmt.Sprintf("%s=%d", act, n))
		}
		slices.Sort(denied)
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t\n", org, a.LiveViews, a.Playbacks, a.Exports,
			a.ExportDownloads, a.PTZSessions, a.EmergencyAccesses, a.EmergencyUses, a.SharesGranted, a.SharesRevoked,
			a.Denied, strings.Join(denied, " "))
	}
	return tw.Flush()
}
