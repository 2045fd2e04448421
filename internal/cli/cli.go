// Package cli holds argus's subcommands. It parses flags, loads the
// configuration and calls into the capability packages; it holds no business
// logic of its own.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"

	"github.com/spf13/cobra"

	"argus"
	"argus/internal/config"
	"argus/internal/logging"
)

// Env is the process edge the commands see: arguments, standard streams and
// environment. Tests build their own.
type Env struct {
	Args    []string
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
	Environ []string
	Version string
}

// Run executes one argus command line and returns the process exit code.
func Run(ctx context.Context, env Env) int {
	root := newRoot(&env)
	root.SetArgs(env.Args)
	root.SetIn(env.Stdin)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			return 0 // interrupted by a signal: a clean stop
		}
		fmt.Fprintf(env.Stderr, "argus: %s\n", message(err))
		return 1
	}
	return 0
}

// message shows application errors with their field and others as they are.
func message(err error) string {
	var ae *argus.Error
	if errors.As(err, &ae) {
		return ae.Error()
	}
	return err.Error()
}

// globals are the flags every command shares.
type globals struct {
	env       *Env
	cfgPath   string
	data      string
	logLevel  string
	logFormat string
}

func newRoot(env *Env) *cobra.Command {
	g := &globals{env: env}
	root := &cobra.Command{
		Use:           "argus",
		Short:         "argus is a city-scale video management system",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	pf := root.PersistentFlags()
	pf.StringVar(&g.cfgPath, "config", "", "configuration file (YAML); also ARGUS_CONFIG")
	pf.StringVar(&g.data, "data", "", "data directory (overrides the config's data)")
	pf.StringVar(&g.logLevel, "log-level", "", "debug, info, warn or error")
	pf.StringVar(&g.logFormat, "log-format", "", "auto, text or json")
	root.AddCommand(
		newVersionCmd(g),
		newServeCmd(g),
		newDemoCmd(g),
		newSimCmd(g),
		newOrgCmd(g),
		newCameraCmd(g),
		newUserCmd(g),
		newExportCmd(),
		newAuditCmd(g),
		newReportCmd(g),
	)
	return root
}

// load returns the configuration with flags applied over file and environment.
func (g *globals) load() (config.Config, error) {
	path := g.cfgPath
	if path == "" {
		path = lookupEnv(g.env.Environ, "ARGUS_CONFIG")
	}
	cfg, err := config.Load(path, g.env.Environ)
	if err != nil {
		return cfg, err
	}
	if g.data != "" {
		cfg.Data = g.data
	}
	if g.logLevel != "" {
		cfg.Log.Level = g.logLevel
	}
	if g.logFormat != "" {
		cfg.Log.Format = g.logFormat
	}
	return cfg, cfg.Validate()
}

// logger builds the process logger on stderr.
func (g *globals) logger(cfg config.Config) (*slog.Logger, error) {
	return logging.New(g.env.Stderr, cfg.Log.Level, cfg.Log.Format)
}

func lookupEnv(environ []string, name string) string {
	for i := len(environ) - 1; i >= 0; i-- {
		if len(environ[i]) > len(name) && environ[i][:len(name)+1] == name+"=" {
			return environ[i][len(name)+1:]
		}
	}
	return ""
}

// version returns the build's version: the -ldflags value, else the module
// version, else "dev".
func (g *globals) version() string {
	if g.env.Version != "" {
		return g.env.Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

func newVersionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the argus version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "argus %s\n", g.version())
			return err
		},
	}
}
