package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"argus"
	"argus/internal/config"
	"argus/internal/events"
	"argus/internal/hub"
	"argus/internal/ingest"
	"argus/internal/live"
	"argus/internal/record"
	"argus/internal/retention"
	"argus/internal/segment/fsstore"
)

// media is the node's media core: ingest feeding the stream hub, and the
// recorders reading from it into the segment store. Besides the cameras'
// own streams the hub carries, for browsers of H.265 cameras, their
// sub-streams ("<camera>~sub", pulled by ingest) and H.264 transcodes
// ("<camera>~h264", made by the transcoder); see live.BrowserStream.
type media struct {
	ingest     *ingest.Ingest
	hub        *hub.Hub
	transcoder *live.Transcoder
	segments   *fsstore.Store
	recorder   *record.Manager
	sweeper    *retention.Sweeper
	// pulled holds the directory's copy of each camera ingest resolves,
	// for the map's counts of cameras in trouble.
	pulled *pulledCameras
}

// newMedia builds the media core; publish takes the events it raises (camera
// state changes, storage pressure) and must not block.
func newMedia(ctx context.Context, cfg config.Config, store argus.Store, publish func(events.Event) bool, logger *slog.Logger, reg prometheus.Registerer) (*media, error) {
	segments, err := fsstore.Open(cfg.RecordingsDir(), fsstore.Options{Logger: logger.With("role", "segments")})
	if err != nil {
		return nil, fmt.Errorf("open the recordings directory: %w", err)
	}
	// A recorder that died left partial segments: finish them before
	// recording on.
	repaired, err := segments.Repair(ctx)
	if err != nil {
		logger.Error("repairing partial segments failed; recording on", "err", err)
	}
	for _, r := range repaired {
		logger.Info("repaired a partial segment", "camera", r.Partial.Camera, "segment", r.Finished.Path(), "removed", r.Removed, "dropped_bytes", r.Dropped)
	}
	pulled := &pulledCameras{cams: map[string]*argus.Camera{}}
	states := &stateEvents{}
	ing, err := ingest.New(ingest.Config{
		Resolve:    resolver(rememberingStore{store, pulled}),
		Logger:     logger.With("role", "ingest"),
		Registerer: reg,
		Events: func(e ingest.Event) {
			logger.Info("camera state", "camera", e.CameraID, "from", e.From, "to", e.To, "err", e.Err)
			if ev, ok := states.event(e); ok {
				publish(ev)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	var tc *live.Transcoder // set before the hub's first Attach
	h, err := hub.New(hub.Config{
		Source: func(ctx context.Context, id string, sink hub.Sink) error {
			if cam, ok := strings.CutSuffix(id, live.TranscodeSuffix); ok {
				return tc.Run(ctx, cam, sink)
			}
			return ing.Run(ctx, id, sink)
		},
		CacheIdleGOP: cfg.Live.CacheIdleGOP,
		Logger:       logger.With("role", "hub"),
		Registerer:   reg,
	})
	if err != nil {
		return nil, fmt.Errorf("stream hub: %w", err)
	}
	// The cap is live.DefaultMaxTranscodes until the config has a
	// live.max_transcodes key.
	tc, err = live.NewTranscoder(live.TranscoderConfig{Hub: h, Max: cfg.Live.MaxTranscodes, FFmpeg: cfg.Live.FFmpeg, Logger: logger.With("role", "transcode"), Registerer: reg})
	if err != nil {
		_ = h.Close()
		return nil, fmt.Errorf("transcoder: %w", err)
	}
	rec, err := record.NewManager(record.ManagerConfig{
		Hub:      h,
		Segments: segments,
		Cameras:  store,
		Writer: record.Options{
			SegmentDuration:  cfg.Recording.SegmentDuration,
			FragmentDuration: cfg.Recording.FragmentDuration,
		},
		Logger:     logger.With("role", "record"),
		Registerer: reg,
	})
	if err != nil {
		_ = h.Close()
		return nil, fmt.Errorf("recorder: %w", err)
	}
	floor, err := retention.ParseFloor(cfg.Recording.MinFree)
	if err != nil {
		_ = h.Close()
		return nil, fmt.Errorf("recording.min_free: %w", err)
	}
	sw, err := retention.New(retention.Config{
		Segments:  segments,
		Directory: store,
		Holds:     store,
		Root:      cfg.RecordingsDir(),
		Floor:     floor,
		Interval:  cfg.Recording.SweepInterval,
		Logger:    logger.With("role", "retention"),
		Events: func(e retention.Event) {
			level := slog.LevelInfo
			if e.Type == "storage.pressure" {
				level = slog.LevelWarn
			}
			logger.Log(context.Background(), level, "storage event", "type", e.Type, "camera", e.Camera, "rule", e.Rule, "segments", e.Segments, "bytes", e.Bytes)
			if e.Type == retention.EventPressure {
				publish(storageEvent(e))
			}
		},
		Registerer: reg,
	})
	if err != nil {
		_ = h.Close()
		return nil, fmt.Errorf("retention: %w", err)
	}
	return &media{ingest: ing, hub: h, transcoder: tc, segments: segments, recorder: rec, sweeper: sw, pulled: pulled}, nil
}

// resolver reads a camera's stream from the directory before every
// connection attempt, so an edited URL or password applies at the next
// reconnect. A "<camera>~sub" stream is the camera's sub-stream, with the
// camera's credentials and transport.
func resolver(store argus.CameraStore) ingest.Resolver {
	return func(ctx context.Context, id string) (ingest.Target, error) {
		camID, suffix := live.SplitStream(id)
		if suffix != "" && suffix != live.SubSuffix {
			return ingest.Target{}, fmt.Errorf("stream %q is not pulled from a camera", id)
		}
		c, err := store.Camera(ctx, camID)
		if err != nil {
			return ingest.Target{}, err
		}
		url := c.StreamURL
		if suffix == live.SubSuffix {
			if url = c.SubStreamURL; url == "" {
				return ingest.Target{}, fmt.Errorf("camera %s has no sub-stream", camID)
			}
		}
		return ingest.Target{URL: url, Username: c.Username, Password: c.Password, Transport: c.Transport}, nil
	}
}

// run records and enforces retention until ctx ends; then every recorder
// finishes its segment. A node without the media core returns at once.
func (m *media) run(ctx context.Context) error {
	if m == nil {
		return nil
	}
	swDone := make(chan error, 1)
	go func() { swDone <- m.sweeper.Run(ctx) }()
	err := m.recorder.Run(ctx)
	if serr := <-swDone; serr != nil && !errors.Is(serr, context.Canceled) {
		err = errors.Join(err, fmt.Errorf("retention: %w", serr))
	}
	return err
}

// close stops every source; call it after run returned.
func (m *media) close() error {
	if m == nil {
		return nil
	}
	return errors.Join(m.hub.Close())
}
