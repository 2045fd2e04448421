// Command argus is the argus video management system: one binary whose
// subcommands run a node (serve), the demo, the camera simulator and the
// administrative tools.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"argus/internal/cli"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = ""

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, cli.Env{
		Args:    os.Args[1:],
		Stdin:   os.Stdin,
		Stdout:  os.Stdout,
		Stderr:  os.Stderr,
		Environ: os.Environ(),
		Version: version,
	})
	stop()
	os.Exit(code)
}
