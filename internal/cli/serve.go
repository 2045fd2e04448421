package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"argus"
	"argus/internal/node"
)

func newServeCmd(g *globals) *cobra.Command {
	var (
		listen string
		roles  []string
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run an argus node: the HTTP API and every role, on the embedded defaults",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.load()
			if err != nil {
				return err
			}
			if listen != "" {
				cfg.HTTP.Listen = listen
			}
			logger, err := g.logger(cfg)
			if err != nil {
				return err
			}
			record, err := parseRoles(roles)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			n, err := node.New(ctx, node.Options{
				NoRecord: !record,
				Config:   cfg,
				Environ:  g.env.Environ,
				Logger:   logger,
				Version:  g.version(),
				Notice:   cmd.OutOrStdout(),
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "argus %s serving %s (data %s)\n", g.version(), n.URL(), cfg.Data)
			return n.Run(ctx)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "", "HTTP listen address host:port (default from the config: 127.0.0.1:8080)")
	cmd.Flags().StringSliceVar(&roles, "roles", []string{"api", "record"}, "roles this node runs: api (HTTP API and directory), record (ingest, stream hub, recording)")
	return cmd
}

// parseRoles checks --roles and reports whether the record role is on. The
// api role is always on for now: every node serves health and metrics.
func parseRoles(roles []string) (record bool, err error) {
	api := false
	for _, r := range roles {
		switch r {
		case "api":
			api = true
		case "record":
			record = true
		default:
			return false, argus.FieldErrorf("roles", "unknown role %q: the roles are api and record", r)
		}
	}
	if !api {
		return false, argus.FieldErrorf("roles", "the api role is required (it serves health and metrics)")
	}
	return record, nil
}
