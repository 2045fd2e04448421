package cli

import (
	"fmt"
	"io"
	"path/filepath"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"argus/internal/demo"
	"argus/internal/node"
	"argus/internal/sim"
)

// demoData is the demo's data directory unless --data or ARGUS_DATA names
// another, so the demo never mixes with a real node's ./argus-data.
const demoData = "./argus-demo"

func newDemoCmd(g *globals) *cobra.Command {
	var (
		listen, simListen, rtspListen string
		cameras                       int
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run a node with a simulated city of cameras, demo organisations and users",
		Long: `Run argus serve and the camera simulator in one process on the embedded
defaults, register a small city of simulated cameras owned by several
organisations, create one demo user per role, and print the URL and the
sign-ins. The data directory (default ./argus-demo) keeps everything between
runs; the sign-ins are saved in DATA/demo-credentials.txt.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.load()
			if err != nil {
				return err
			}
			if g.data == "" && lookupEnv(g.env.Environ, "ARGUS_DATA") == "" {
				cfg.Data = demoData
			}
			cfg.HTTP.Listen = listen
			cfg.RTSP.Listen = rtspListen
			logger, err := g.logger(cfg)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			s, err := sim.New(sim.Config{Cameras: cameras, Listen: simListen, Logger: logger.With("role", "sim")})
			if err != nil {
				return err
			}
			if err := s.Start(ctx); err != nil {
				return err
			}
			defer s.Close()

			adminPW, err := demo.AdminPassword(cfg.Data)
			if err != nil {
				return err
			}
			environ := append(append([]string(nil), g.env.Environ...), "ARGUS_ADMIN_PASSWORD="+adminPW)
			n, err := node.New(ctx, node.Options{Config: cfg, Environ: environ, Logger: logger, Version: g.version()})
			if err != nil {
				return err
			}
			accounts, err := demo.Seed(ctx, n.Store(), demo.Options{
				Cameras:   cameras,
				StreamURL: func(i int) string { return s.URL(i + 1) },
				Data:      cfg.Data,
			}, adminPW)
			if err != nil {
				_ = n.Close()
				return fmt.Errorf("seed the demo: %w", err)
			}
			printDemo(cmd.OutOrStdout(), n, s, cameras, cfg.Data, accounts)
			return n.Run(ctx)
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", "127.0.0.1:8080", "HTTP listen address host:port")
	f.StringVar(&simListen, "sim-listen", "127.0.0.1:8554", "simulator RTSP listen address host:port")
	f.StringVar(&rtspListen, "rtsp-listen", "127.0.0.1:9554", "RTSP re-serve host:port (empty: off)")
	f.IntVar(&cameras, "cameras", 24, "number of simulated cameras")
	return cmd
}

func printDemo(w io.Writer, n *node.Node, s *sim.Server, cameras int, data string, accounts []demo.Account) {
	url := n.URL()
	fmt.Fprintf(w, "\nargus demo is running (Ctrl-C stops it)\n\n")
	fmt.Fprintf(w, "  viewer:   %s/\n", url)
	fmt.Fprintf(w, "  API:      %s/api/v1/  (OpenAPI: %s/api/v1/openapi.json)\n", url, url)
	if a := n.RTSPAddr(); a != "" {
		fmt.Fprintf(w, "  RTSP:     rtsp://USER:PASSWORD@%s/cameras/{id}\n", a)
	}
	fmt.Fprintf(w, "  cameras:  %d simulated, %s … %s\n", cameras, s.URL(1), s.URL(cameras))
	fmt.Fprintf(w, "  data:     %s\n\n  sign in as:\n", data)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, a := range accounts {
		fmt.Fprintf(tw, "    %s\t%s\t%s, %s\n", a.Username, a.Password, a.Role, a.OrgID)
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "\n  (saved in %s)\n", filepath.Join(data, demo.CredentialsFile))
	if len(accounts) > 0 {
		a := accounts[0]
		fmt.Fprintf(w, "\n  try:  curl -s %s/api/v1/login -d '{\"username\":\"%s\",\"password\":\"%s\"}'\n\n", url, a.Username, a.Password)
	}
}
