package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults for the zero values of Config.
const (
	DefaultGrace    = 10 * time.Second
	DefaultQueueLen = 512 // > one 4 s GOP at 30 fps plus its audio
	DefaultMaxGOP   = 600
	DefaultWarm     = 5 * time.Minute
)

// Restart backoff for a SourceFunc that returns on its own: it doubles from
// restartMin to restartMax (with equal jitter) and starts again at restartMin
// after a run that lasted restartMax or longer.
const (
	restartMin = time.Second
	restartMax = 30 * time.Second
)

// ErrDropped is returned by Reader.Read once a reader whose queue overflowed
// has drained the units it still held.
var ErrDropped = errors.New("hub: reader fell behind and was dropped")

// ErrClosed is returned by Reader.Read after Reader.Close or Hub.Close, and by
// Hub.Attach after Hub.Close.
var ErrClosed = errors.New("hub: closed")

// Sink is what a source writes into. *Stream implements it.
type Sink interface {
	// SetMedia publishes the source's tracks: on connect, and again on any
	// parameter change. It clears the GOP cache.
	SetMedia(m *Media)
	// WriteUnit hands one access unit to every reader. It never blocks on
	// readers; u is then shared and must not be modified.
	WriteUnit(u *Unit)
	// SetOffline reports that the source lost the camera. Readers keep
	// waiting; the GOP cache is cleared.
	SetOffline(err error)
}

// SourceFunc pulls one camera into sink until ctx is cancelled; it
// reconnects by itself. If it returns before ctx is cancelled the hub logs
// the error and calls it again after a backoff while the stream is open.
type SourceFunc func(ctx context.Context, cameraID string, sink Sink) error

// Config configures a Hub.
type Config struct {
	// Source opens a camera; required.
	Source SourceFunc
	// Grace is how long a source stays open after its last reader leaves;
	// 0 means DefaultGrace.
	Grace time.Duration
	// QueueLen bounds each reader's queue of live units; 0 means
	// DefaultQueueLen. A reader that starts on the cached GOP gets room for
	// the GOP on top of it.
	QueueLen int
	// MaxGOP is the most units the GOP cache keeps; 0 means DefaultMaxGOP.
	// Beyond it the cache is cleared until the next keyframe.
	MaxGOP int
	// CacheIdleGOP keeps the GOP cache of every stream, also of those
	// that only passive readers (the recorder) read: a first viewer then
	// starts at once on any camera, at the cost of about one GOP of
	// memory per camera (~250 kB at 2 Mbit/s and a keyframe every 2 s).
	// By default a stream caches its GOP while it is watched and for
	// Warm after that, and the first viewer of a stream nobody watched
	// starts at the camera's next keyframe.
	CacheIdleGOP bool
	// Warm is how long a stream keeps caching its GOP after its last
	// active reader left; 0 means DefaultWarm.
	Warm time.Duration
	// Logger receives the hub's logs; nil discards them.
	Logger *slog.Logger
	// Registerer receives the hub's metrics; nil registers none.
	Registerer prometheus.Registerer
}

// StreamStats is a snapshot of one camera's stream.
type StreamStats struct {
	// Readers is the number of attached readers, dropped ones included
	// until they are closed.
	Readers int
	// Units and Bytes count what the source wrote (Unit.Size summed).
	Units, Bytes uint64
	// Drops counts readers dropped for falling behind.
	Drops uint64
	// GOP is the number of units in the GOP cache.
	GOP int
	// Running reports whether the SourceFunc is executing (false while it
	// waits to be restarted or after the stream began closing).
	Running bool
	// Online reports whether the source has published media or units since
	// it started or last called SetOffline.
	Online bool
}

// Hub holds one Stream per camera that has readers (or is within its grace
// period). Build it with New; it is safe for concurrent use.
type Hub struct {
	cfg Config
	log *slog.Logger
	met *metrics

	// ctx is the parent of every source's context; cancel ends them all.
	ctx    context.Context
	cancel context.CancelFunc
	// wg counts the source goroutines.
	wg sync.WaitGroup

	// mu guards closed and streams. Lock order: Hub.mu, then Stream.mu.
	mu      sync.Mutex
	closed  bool
	streams map[string]*Stream
}

type metrics struct {
	streams prometheus.Gauge
	readers prometheus.Gauge
	units   prometheus.Counter
	drops   *prometheus.CounterVec
}

// New returns a Hub for cfg.
func New(cfg Config) (*Hub, error) {
	switch {
	case cfg.Source == nil:
		return nil, errors.New("hub: config needs a source")
	case cfg.Grace < 0, cfg.QueueLen < 0, cfg.MaxGOP < 0:
		return nil, fmt.Errorf("hub: negative grace, queue length or max GOP (%v, %d, %d)", cfg.Grace, cfg.QueueLen, cfg.MaxGOP)
	}
	if cfg.Grace == 0 {
		cfg.Grace = DefaultGrace
	}
	if cfg.QueueLen == 0 {
		cfg.QueueLen = DefaultQueueLen
	}
	if cfg.MaxGOP == 0 {
		cfg.MaxGOP = DefaultMaxGOP
	}
	if cfg.Warm <= 0 {
		cfg.Warm = DefaultWarm
	}
	h := &Hub{cfg: cfg, log: cfg.Logger, streams: make(map[string]*Stream)}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	h.met = &metrics{
		streams: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "argus_hub_streams",
			Help: "Camera streams open in the hub (with readers or in their grace period).",
		}),
		readers: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "argus_hub_readers",
			Help: "Readers attached to hub streams.",
		}),
		units: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "argus_hub_units_total",
			Help: "Access units written into the hub by sources.",
		}),
		drops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "argus_hub_reader_drops_total",
			Help: "Readers dropped for falling behind, by reader name.",
		}, []string{"reader"}),
	}
	if cfg.Registerer != nil {
		for _, c := range []prometheus.Collector{h.met.streams, h.met.readers, h.met.units, h.met.drops} {
			if err := cfg.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("hub: register metrics: %w", err)
			}
		}
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	return h, nil
}

// ReaderOptions configures a Reader.
type ReaderOptions struct {
	// Name says who reads ("record", "whep", …), for logs and the drops
	// metric; empty means "reader".
	Name string
	// SkipGOP starts the reader at the next live unit instead of the cached
	// GOP's keyframe.
	SkipGOP bool
	// Passive marks a reader that keeps up with the stream without
	// watching it (the recorder): the stream counts as watched only while
	// an active reader is attached. An unwatched stream keeps no GOP cache
	// (unless Config.CacheIdleGOP) and its source may deliver units in
	// batches, up to about 250 ms late, to save CPU (Stream.Watched).
	Passive bool
}

// Attach adds a reader to cameraID's stream, opening the stream and starting
// its source if this is the first reader. ctx bounds the attach only, not the
// reader's life: the caller must Close the Reader.
func (h *Hub) Attach(ctx context.Context, cameraID string, opts ReaderOptions) (*Reader, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if cameraID == "" {
		return nil, errors.New("hub: attach: empty camera id")
	}
	if opts.Name == "" {
		opts.Name = "reader"
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrClosed
	}
	s := h.streams[cameraID]
	if s == nil {
		s = &Stream{hub: h, id: cameraID, attached: make(map[*Reader]struct{})}
		var sctx context.Context
		sctx, s.cancel = context.WithCancel(h.ctx)
		h.streams[cameraID] = s
		h.met.streams.Inc()
		h.wg.Add(1)
		go s.run(sctx)
	}
	return s.attach(opts), nil
}

// Stats returns a snapshot of cameraID's stream, and false if the camera has
// no open stream.
func (h *Hub) Stats(cameraID string) (StreamStats, bool) {
	h.mu.Lock()
	s := h.streams[cameraID]
	h.mu.Unlock()
	if s == nil {
		return StreamStats{}, false
	}
	return s.stats(), true
}

// Close stops every source, ends every reader with ErrClosed and waits for
// the source goroutines to return. It is safe to call more than once.
func (h *Hub) Close() error {
	h.mu.Lock()
	if !h.closed {
		h.closed = true
		h.cancel()
		for _, s := range h.streams {
			s.shutdown()
		}
	}
	h.mu.Unlock()
	h.wg.Wait()
	return nil
}
