package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"argus"
)

func newOrgCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "org", Short: "List and create organisations"}
	var asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List organisations",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.withStore(cmd.Context(), func(ctx context.Context, store argus.Store) error {
				orgs, err := store.Orgs(ctx)
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(cmd.OutOrStdout(), orgs)
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tKIND\tPARENT\tNAME")
				for _, o := range orgs {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", o.ID, o.Kind, dash(o.ParentID), o.Name)
				}
				return tw.Flush()
			})
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")

	var o argus.Org
	var kind string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create an organisation",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.withStore(cmd.Context(), func(ctx context.Context, store argus.Store) error {
				o.Kind = argus.OrgKind(kind)
				if o.ID == "" {
					o.ID = argus.NewID("org")
				}
				if err := o.Validate(); err != nil {
					return err
				}
				if err := store.CreateOrg(ctx, &o); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "created organisation %s\n", o.ID)
				return nil
			})
		},
	}
	f := create.Flags()
	f.StringVar(&o.ID, "id", "", "id (generated when empty)")
	f.StringVar(&o.Name, "name", "", "display name")
	f.StringVar(&kind, "kind", string(argus.OrgOther), "police, fire, traffic, city, private or other")
	f.StringVar(&o.ParentID, "parent", "", "parent organisation id (a precinct's department)")
	cmd.AddCommand(list, create)
	return cmd
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
