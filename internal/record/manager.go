package record

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"argus"
	"argus/internal/hub"
	"argus/internal/segment"
)

// DefaultReconcileInterval is how often a Manager re-reads which cameras
// record.
const DefaultReconcileInterval = 15 * time.Second

// DefaultStopTimeout bounds how long a Manager's shutdown may take to finish
// every segment in flight.
const DefaultStopTimeout = 5 * time.Second

// DefaultStageBytes is how much of a camera's video a recorder gathers
// before it writes it ahead of the fragment's end (Writer.Stage): at
// 2 Mbit/s every other 250 ms batch, at 8 Mbit/s every batch. A camera then
// holds at most this and a batch in memory instead of a fragment, for two
// to four writes a second more than one per fragment.
const DefaultStageBytes = 96 << 10

// Attacher hands out hub readers; *hub.Hub is one.
type Attacher interface {
	Attach(ctx context.Context, cameraID string, opts hub.ReaderOptions) (*hub.Reader, error)
}

// ManagerConfig configures a Manager.
type ManagerConfig struct {
	// Hub is where the cameras' units come from. Required.
	Hub Attacher
	// Segments is where they are recorded. Required.
	Segments segment.Store
	// Cameras lists the cameras with recording on. Required.
	Cameras argus.CameraStore
	// Writer configures every camera's Writer (its Logger is ignored).
	Writer Options
	// Reconcile is how often the camera list is re-read; 0 means
	// DefaultReconcileInterval.
	Reconcile time.Duration
	// StopTimeout bounds shutdown; 0 means DefaultStopTimeout.
	StopTimeout time.Duration
	// StageBytes is how much video a recorder gathers before it stages it;
	// 0 means DefaultStageBytes, a negative value never (one write per
	// fragment, the fragment held in memory).
	StageBytes int
	// Keep, when set, limits the Manager to the cameras it accepts (a
	// cluster's placement); nil records every camera with recording on.
	Keep func(c *argus.Camera) bool
	// Logger receives recorder reports; nil discards them.
	Logger *slog.Logger
	// Registerer receives the recorder metrics; nil registers none.
	Registerer prometheus.Registerer
}

// Manager keeps one recorder running for every camera with recording on: a
// hub reader named "record" feeding a Writer. A camera whose recording is
// turned off, or that is deleted, is stopped at the next reconcile; a reader
// the hub drops (the disk was too slow) is replaced at once, and the gap is
// counted.
type Manager struct {
	cfg ManagerConfig
	log *slog.Logger

	mu   sync.Mutex
	recs map[string]*recorder
	wg   sync.WaitGroup

	active  prometheus.Gauge
	drops   prometheus.Counter
	errs    prometheus.Counter
	written prometheus.Counter
}

type recorder struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// NewManager checks cfg and returns a Manager; Run starts it.
func NewManager(cfg ManagerConfig) (*Manager, error) {
	if cfg.Hub == nil || cfg.Segments == nil || cfg.Cameras == nil {
		return nil, errors.New("record: manager needs a hub, a segment store and a camera store")
	}
	cfg.Reconcile = cmp.Or(cfg.Reconcile, DefaultReconcileInterval)
	cfg.StopTimeout = cmp.Or(cfg.StopTimeout, DefaultStopTimeout)
	cfg.StageBytes = cmp.Or(cfg.StageBytes, DefaultStageBytes)
	if cfg.Writer.Buffers == nil {
		cfg.Writer.Buffers = new(sync.Pool)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Manager{
		cfg:     cfg,
		log:     log,
		recs:    map[string]*recorder{},
		active:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "argus_record_cameras", Help: "Cameras being recorded."}),
		drops:   prometheus.NewCounter(prometheus.CounterOpts{Name: "argus_record_reader_drops_total", Help: "Times a recorder fell behind the hub and re-attached (a gap in the recording)."}),
		errs:    prometheus.NewCounter(prometheus.CounterOpts{Name: "argus_record_write_errors_total", Help: "Units the recorder could not write."}),
		written: prometheus.NewCounter(prometheus.CounterOpts{Name: "argus_record_units_total", Help: "Units handed to recorders."}),
	}
	if r := cfg.Registerer; r != nil {
		for _, c := range []prometheus.Collector{m.active, m.drops, m.errs, m.written} {
			if err := r.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// Run reconciles the recorders with the camera list until ctx ends, then
// stops every recorder, finishing each segment in flight within
// StopTimeout.
func (m *Manager) Run(ctx context.Context) error {
	defer m.stopAll()
	t := time.NewTicker(m.cfg.Reconcile)
	defer t.Stop()
	for {
		if err := m.reconcile(ctx); err != nil && ctx.Err() == nil {
			m.log.Warn("record: reading the camera list failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Recording returns how many cameras are being recorded.
func (m *Manager) Recording() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.recs)
}

// Reconcile re-reads the camera list now, starting and stopping recorders.
func (m *Manager) Reconcile(ctx context.Context) error { return m.reconcile(ctx) }

func (m *Manager) reconcile(ctx context.Context) error {
	on := true
	want := map[string]bool{}
	q := argus.CameraQuery{CameraFilter: argus.CameraFilter{Recording: &on}, Limit: argus.MaxPageSize}
	for {
		page, err := m.cfg.Cameras.FindCameras(ctx, q)
		if err != nil {
			return err
		}
		for _, c := range page.Items {
			if m.cfg.Keep == nil || m.cfg.Keep(c) {
				want[c.ID] = true
			}
		}
		if page.Next == "" {
			break
		}
		q.After = page.Next
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, r := range m.recs {
		if !want[id] {
			r.cancel()
			delete(m.recs, id)
		}
	}
	for id := range want {
		if _, ok := m.recs[id]; !ok && ctx.Err() == nil {
			m.start(ctx, id)
		}
	}
	m.active.Set(float64(len(m.recs)))
	return nil
}

// start runs camera's recorder; m.mu is held.
func (m *Manager) start(parent context.Context, camera string) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	r := &recorder{cancel: cancel, done: make(chan struct{})}
	m.recs[camera] = r
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer close(r.done)
		m.record(ctx, camera)
	}()
}

func (m *Manager) stopAll() {
	m.mu.Lock()
	for id, r := range m.recs {
		r.cancel()
		delete(m.recs, id)
	}
	m.active.Set(0)
	m.mu.Unlock()
	m.wg.Wait()
}

// pumpBatch and pumpPhase: a recorder that has caught up with its camera
// waits for the next multiple of pumpBatch on the clock, plus pumpPhase,
// before reading on: the units gather in its hub queue (far longer than
// this) and are written in one go. A fragment is a second long, so waking
// for every frame (and paying the scheduler each time) buys nothing.
// Ingest reads unwatched cameras at the multiples of the same 250 ms
// (ingest's batchEvery), so every recorder wakes once, in one burst with
// the others, just after its camera's batch has arrived.
const (
	pumpBatch = 250 * time.Millisecond
	pumpPhase = 30 * time.Millisecond
)

// untilPump returns how long to wait for the next pump instant after now.
func untilPump(now time.Time) time.Duration {
	d := pumpBatch - time.Duration((now.UnixNano()-int64(pumpPhase))%int64(pumpBatch))
	if d < pumpBatch/10 {
		d += pumpBatch // too close: this batch may still be arriving
	}
	return d
}

// record is one camera's recorder loop.
func (m *Manager) record(ctx context.Context, camera string) {
	log := m.log.With("camera", camera)
	opts := m.cfg.Writer
	opts.Logger = log
	w, err := NewWriter(m.cfg.Segments, camera, opts)
	if err != nil {
		log.Error("record: cannot record camera", "err", err)
		return
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), m.cfg.StopTimeout)
		defer cancel()
		if err := w.Close(sctx); err != nil {
			log.Error("record: closing the last segment failed", "err", err)
		}
	}()
	for ctx.Err() == nil {
		r, err := m.cfg.Hub.Attach(ctx, camera, hub.ReaderOptions{Name: "record", Passive: true})
		if err != nil {
			if ctx.Err() == nil {
				log.Error("record: attach to the hub failed", "err", err)
				sleepCtx(ctx, time.Second)
			}
			continue
		}
		err = m.pump(ctx, r, w, log)
		r.Close()
		switch {
		case errors.Is(err, hub.ErrDropped):
			m.drops.Inc()
			log.Warn("record: fell behind the camera; re-attaching (gap in the recording)")
		case errors.Is(err, hub.ErrClosed):
			return
		}
	}
}

// pump writes r's units to w until the reader ends.
func (m *Manager) pump(ctx context.Context, r *hub.Reader, w *Writer, log *slog.Logger) error {
	var lastErr string
	nap := time.NewTimer(time.Hour)
	nap.Stop()
	defer nap.Stop()
	sleep := func() {
		nap.Reset(untilPump(time.Now()))
		select {
		case <-ctx.Done():
		case <-nap.C:
		}
	}
	var woke time.Time // when the last nap ended
	for {
		u, err := r.Read(ctx)
		if err != nil {
			return err
		}
		// A unit that arrived after the last nap ended starts a new
		// batch: let the rest of it gather in the reader's queue rather
		// than wake for every frame (see pumpBatch).
		if !u.Wall.IsZero() && u.Wall.After(woke) {
			sleep()
			woke = time.Now()
		}
		m.written.Inc()
		if err := w.WriteUnit(ctx, u); err != nil {
			m.errs.Inc()
			if s := err.Error(); s != lastErr { // one line per kind of failure, not per frame
				log.Error("record: write failed", "err", err)
				lastErr = s
			}
		} else {
			lastErr = ""
		}
		if r.Queued() > 0 {
			continue
		}
		// The batch is in: once enough has gathered, its data goes to
		// disk now, so that a camera holds its units for a batch or two,
		// not for a fragment.
		if m.cfg.StageBytes > 0 && w.Unstaged() >= m.cfg.StageBytes {
			if err := w.Stage(ctx); err != nil {
				m.errs.Inc()
				log.Error("record: write failed", "err", err)
			}
		}
		// Then nap until the next batch is due, so that its units queue
		// up while the recorder sleeps instead of waking it as the first
		// one arrives: one wake-up per batch. A camera that sent nothing
		// meanwhile is waited for in Read.
		sleep()
		woke = time.Now()
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
