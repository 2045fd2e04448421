package cli

import (
	"context"
	"log/slog"

	"argus"
	"argus/internal/config"
	"argus/internal/node"
)

// openStore opens the metadata store of the configured data directory, for
// the administrative commands. They work on the store directly, so they also
// work while no node runs; SQLite's WAL lets them run beside a serving node.
func (g *globals) openStore(ctx context.Context) (argus.Store, config.Config, *slog.Logger, error) {
	cfg, err := g.load()
	if err != nil {
		return nil, cfg, nil, err
	}
	logger, err := g.logger(cfg)
	if err != nil {
		return nil, cfg, nil, err
	}
	store, err := node.OpenStore(ctx, cfg, g.env.Environ, logger)
	if err != nil {
		return nil, cfg, nil, err
	}
	return store, cfg, logger, nil
}

// withStore runs fn with the configured store open, and closes it after.
func (g *globals) withStore(ctx context.Context, fn func(ctx context.Context, store argus.Store) error) error {
	store, _, _, err := g.openStore(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	return fn(ctx, store)
}
