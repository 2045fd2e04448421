package node

import (
	"context"
	"log/slog"
	"os"
	"time"

	"argus"
	"argus/internal/config"
	"argus/internal/events"
	"argus/internal/evidence"
	"argus/internal/export"
	"argus/internal/playback"
	"argus/internal/segment"
)

// recorded is the playback and export side of a node: both read the
// recordings the media core writes.
type recorded struct {
	playback *playback.Service
	exports  *export.Manager
	key      *evidence.Key
	nodeID   string
}

// newRecorded builds playback and export over segments; exports are signed
// with the node's key, and timelines carry the camera's events from bus.
func newRecorded(cfg config.Config, key *evidence.Key, segments segment.Store, holds argus.HoldStore, bus *events.Bus, logger *slog.Logger) (*recorded, error) {
	nodeID, err := os.Hostname()
	if err != nil || nodeID == "" {
		nodeID = "argus"
	}
	// Every playback part must hold a fragment: parts at least twice the
	// recorder's fragment duration.
	part := max(playback.DefaultPartDuration, 2*cfg.Recording.FragmentDuration)
	pb, err := playback.New(playback.Config{
		Store: segments, PartDuration: part, Logger: logger.With("role", "playback"),
		Events: func(ctx context.Context, camera string, from, to time.Time) ([]events.Event, error) {
			return bus.Range(ctx, events.Filter{CameraID: camera, From: from, To: to})
		},
	})
	if err != nil {
		return nil, err
	}
	ex, err := export.New(export.Config{
		Store: segments, Holds: holds, Dir: cfg.ExportsDir(), Key: key, NodeID: nodeID,
		Logger: logger.With("role", "export"),
	})
	if err != nil {
		return nil, err
	}
	logger.Info("export signing key", "key_id", key.ID, "node_id", nodeID)
	return &recorded{playback: pb, exports: ex, key: key, nodeID: nodeID}, nil
}

// close stops running exports (they are marked failed at the next start).
func (r *recorded) close() {
	if r != nil {
		r.exports.Close()
	}
}
