package cli

import (
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"

	"argus"
	"argus/internal/node"
)

// serveGCPercent is the garbage collector's target (GOGC) of argus serve,
// unless GOGC is set in the environment.
const serveGCPercent = 50

func newServeCmd(g *globals) *cobra.Command {
	var (
		listen     string
		rtspListen string
		roles      []string
		pprofAddr  string
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
			if cmd.Flags().Changed("rtsp-listen") {
				cfg.RTSP.Listen = rtspListen
			}
			logger, err := g.logger(cfg)
			if err != nil {
				return err
			}
			record, err := parseRoles(roles)
			if err != nil {
				return err
			}
			if lookupEnv(g.env.Environ, "GOGC") == "" {
				// The node's live heap is mostly video frames that its
				// cameras' sources recycle, so it allocates little and
				// collects rarely: a lower target keeps its resident memory
				// near what it holds, for little CPU (docs/record.md).
				debug.SetGCPercent(serveGCPercent)
			}
			ctx := cmd.Context()
			if pprofAddr != "" {
				if err := servePprof(pprofAddr); err != nil {
					return err
				}
			}
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
			if a := n.RTSPAddr(); a != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "RTSP re-serve on rtsp://%s/cameras/{id}\n", a)
			}
			return n.Run(ctx)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "", "HTTP listen address host:port (default from the config: 127.0.0.1:8080)")
	cmd.Flags().StringVar(&rtspListen, "rtsp-listen", "", "RTSP re-serve host:port, rtsp://HOST:PORT/cameras/{id}; empty turns it off (default from the config: 127.0.0.1:9554)")
	cmd.Flags().StringVar(&pprofAddr, "pprof", "", "serve Go's pprof profiles at http://ADDR/debug/pprof/ (host:port; off by default, never on a public address)")
	cmd.Flags().StringSliceVar(&roles, "roles", []string{"api", "record"}, "roles this node runs: api (HTTP API and directory), record (ingest, stream hub, recording)")
	return cmd
}

// servePprof serves net/http/pprof's handlers on addr until the process
// exits: a debugging aid for benchmarks (bench/record.sh), off by default.
func servePprof(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return argus.FieldErrorf("pprof", "listen on %s: %v", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return nil
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
