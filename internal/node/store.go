package node

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"argus"
	"argus/internal/config"
	"argus/internal/secret"
	"argus/internal/sqlite"
)

// OpenStore opens the metadata store the configuration names, creating the
// data directory and the credential key on first use. The key comes from
// ARGUS_CREDENTIALS_KEY in environ when set, else from the key file.
func OpenStore(ctx context.Context, cfg config.Config, environ []string, logger *slog.Logger) (argus.Store, error) {
	if err := os.MkdirAll(cfg.Data, 0o750); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	key, err := credentialKey(cfg, environ)
	if err != nil {
		return nil, err
	}
	sealer, err := secret.New(key)
	if err != nil {
		return nil, fmt.Errorf("credential key: %w", err)
	}
	db, err := sqlite.Open(ctx, cfg.DatabasePath(), sqlite.Options{Sealer: sealer, Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("open metadata store: %w", err)
	}
	return db, nil
}

func credentialKey(cfg config.Config, environ []string) ([]byte, error) {
	if v := lookupEnv(environ, "ARGUS_CREDENTIALS_KEY"); v != "" {
		key, err := secret.ParseKey(v)
		if err != nil {
			return nil, fmt.Errorf("ARGUS_CREDENTIALS_KEY: %w", err)
		}
		return key, nil
	}
	key, err := secret.LoadOrCreateKey(cfg.Path(cfg.Credentials.KeyFile))
	if err != nil {
		return nil, fmt.Errorf("credential key: %w", err)
	}
	return key, nil
}
