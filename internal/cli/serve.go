package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"argus/internal/node"
)

func newServeCmd(g *globals) *cobra.Command {
	var listen string
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
			ctx := cmd.Context()
			n, err := node.New(ctx, node.Options{
				Config:  cfg,
				Environ: g.env.Environ,
				Logger:  logger,
				Version: g.version(),
				Notice:  cmd.OutOrStdout(),
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "argus %s serving %s (data %s)\n", g.version(), n.URL(), cfg.Data)
			return n.Run(ctx)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "", "HTTP listen address host:port (default from the config: 127.0.0.1:8080)")
	return cmd
}
