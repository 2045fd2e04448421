// Package export produces evidence-grade clips: for each camera of a
// request, the recorded fragments covering the range remuxed (never
// re-encoded) into one MP4, cut at the keyframe at or before the start and
// at the last frame before the end, with a manifest of every file's SHA-256
// signed by the node's Ed25519 key (package evidence). An export runs as a
// background job with progress, places an evidence hold on its source range
// first, so that retention cannot delete what it reads, and survives in the
// data directory: a finished export can be downloaded as a zip bundle after
// a restart (docs/export.md).
package export

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"argus"
	"argus/internal/evidence"
	"argus/internal/segment"
)

// Limits and defaults.
const (
	// MaxCameras is the most cameras one export may hold.
	MaxCameras = 16
	// MaxRange is the longest range one export may cover.
	MaxRange = 24 * time.Hour
	// DefaultMaxRunning is how many exports run at once; more wait.
	DefaultMaxRunning = 2
)

// Job states.
const (
	StateQueued  = "queued"
	StateRunning = "running"
	StateDone    = "done"
	StateFailed  = "failed"
)

// Request is what POST /api/v1/exports asks for.
type Request struct {
	CameraIDs []string  `json:"camera_ids"`
	From      time.Time `json:"from"`
	To        time.Time `json:"to"`
	Reason    string    `json:"reason"`
}

// Validate trims the reason and checks the request; errors are EINVALID
// naming the field.
func (r *Request) Validate() error {
	r.Reason = strings.TrimSpace(r.Reason)
	seen := make(map[string]bool)
	switch {
	case len(r.CameraIDs) == 0:
		return argus.FieldErrorf("camera_ids", "at least one camera is required")
	case len(r.CameraIDs) > MaxCameras:
		return argus.FieldErrorf("camera_ids", "an export holds at most %d cameras", MaxCameras)
	case r.From.IsZero():
		return argus.FieldErrorf("from", "from is required (RFC 3339)")
	case r.To.IsZero():
		return argus.FieldErrorf("to", "to is required (RFC 3339)")
	case !r.From.Before(r.To):
		return argus.FieldErrorf("to", "to must be after from")
	case r.To.Sub(r.From) > MaxRange:
		return argus.FieldErrorf("to", "an export covers at most %v; split it", MaxRange)
	case r.Reason == "":
		return argus.FieldErrorf("reason", "reason is required: say why this video is exported")
	case len(r.Reason) > argus.MaxHoldReasonLen:
		return argus.FieldErrorf("reason", "reason is longer than %d characters", argus.MaxHoldReasonLen)
	}
	for _, id := range r.CameraIDs {
		if !argus.ValidID(id) {
			return argus.FieldErrorf("camera_ids", "camera id %q is not valid", id)
		}
		if seen[id] {
			return argus.FieldErrorf("camera_ids", "camera %q is listed twice", id)
		}
		seen[id] = true
	}
	return nil
}

// Job is one export as GET /api/v1/exports/{id} shows it.
type Job struct {
	ID        string    `json:"id"`
	State     string    `json:"state"`
	Progress  float64   `json:"progress"`
	Error     string    `json:"error,omitempty"`
	CameraIDs []string  `json:"camera_ids"`
	From      time.Time `json:"from"`
	To        time.Time `json:"to"`
	Reason    string    `json:"reason"`
	UserID    string    `json:"user_id"`
	OrgID     string    `json:"org_id,omitempty"`
	// HoldIDs are the evidence holds the export placed, one per camera.
	HoldIDs    []string                `json:"hold_ids"`
	Files      []evidence.File         `json:"files,omitempty"`
	Cameras    []evidence.CameraExport `json:"cameras,omitempty"`
	CreatedAt  time.Time               `json:"created_at"`
	FinishedAt *time.Time              `json:"finished_at,omitempty"`
}

// Config configures a Manager.
type Config struct {
	// Store holds the recordings.
	Store segment.Store
	// Holds places the exports' evidence holds.
	Holds argus.HoldStore
	// Dir keeps the exports, one directory each.
	Dir string
	// Key signs the manifests; NodeID names this node in them.
	Key    *evidence.Key
	NodeID string
	// MaxRunning is how many exports run at once; 0 means
	// DefaultMaxRunning.
	MaxRunning int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives job reports; nil discards them.
	Logger *slog.Logger
}

// Manager runs export jobs. It is safe for concurrent use.
type Manager struct {
	cfg    Config
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	slots  chan struct{}

	mu   sync.Mutex
	jobs map[string]*Job
}

// New opens the exports in cfg.Dir (<id>.json, the state, next to <id>/,
// the files): finished ones are served again, and ones a stopped process
// left running are marked failed.
func New(cfg Config) (*Manager, error) {
	switch {
	case cfg.Store == nil, cfg.Holds == nil, cfg.Key == nil:
		return nil, errors.New("export: store, hold store and key are required")
	case cfg.Dir == "":
		return nil, errors.New("export: no directory")
	case cfg.MaxRunning < 0:
		return nil, errors.New("export: negative MaxRunning")
	}
	if cfg.MaxRunning == 0 {
		cfg.MaxRunning = DefaultMaxRunning
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	m := &Manager{cfg: cfg, log: log, slots: make(chan struct{}, cfg.MaxRunning), jobs: make(map[string]*Job)}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	entries, err := os.ReadDir(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(cfg.Dir, e.Name()))
		if err != nil {
			continue
		}
		var j Job
		if err := json.Unmarshal(b, &j); err != nil || j.ID != id {
			log.Warn("unreadable export state; left alone", "file", e.Name(), "err", err)
			continue
		}
		if j.State == StateQueued || j.State == StateRunning {
			m.finish(&j, errors.New("interrupted: the node stopped while the export ran; export again"))
		}
		m.jobs[j.ID] = &j
	}
	return m, nil
}

// Close stops running exports (they fail) and waits for them.
func (m *Manager) Close() {
	m.cancel()
	m.wg.Wait()
}

// Start validates req, places an evidence hold on each camera's range and
// starts the export in the background. cams are the request's cameras,
// resolved and authorised by the caller (video.export on each). The
// returned job is a copy.
func (m *Manager) Start(ctx context.Context, p argus.Principal, cams []*argus.Camera, req Request) (*Job, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	if len(cams) != len(req.CameraIDs) {
		return nil, errors.New("export: cameras do not match the request")
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("export id: %w", err)
	}
	j := &Job{
		ID: "exp-" + hex.EncodeToString(b[:]), State: StateQueued,
		CameraIDs: req.CameraIDs, From: req.From.UTC(), To: req.To.UTC(), Reason: req.Reason,
		UserID: p.UserID, OrgID: p.OrgID, CreatedAt: m.cfg.Now().UTC(), HoldIDs: []string{},
	}
	if err := os.Mkdir(filepath.Join(m.cfg.Dir, j.ID), 0o750); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	for i, c := range cams {
		h := &argus.Hold{
			ID: fmt.Sprintf("%s-%d", j.ID, i+1), CameraID: c.ID, From: j.From, To: j.To,
			Reason: "export " + j.ID + ": " + req.Reason, CreatedBy: p.UserID,
		}
		if err := m.cfg.Holds.CreateHold(ctx, h); err != nil {
			os.RemoveAll(filepath.Join(m.cfg.Dir, j.ID))
			return nil, fmt.Errorf("place the evidence hold on %s: %w", c.ID, err)
		}
		j.HoldIDs = append(j.HoldIDs, h.ID)
	}
	if err := m.save(j); err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.jobs[j.ID] = j
	out := *j
	m.mu.Unlock()
	m.wg.Add(1)
	go m.run(j, cams, p)
	return &out, nil
}

// Get returns a copy of export id; ENOTFOUND if there is none.
func (m *Manager) Get(id string) (*Job, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	j := m.jobs[id]
	if j == nil {
		return nil, argus.Errorf(argus.ENOTFOUND, "no export %q", id)
	}
	out := *j
	return &out, nil
}

// List returns copies of the exports, newest first.
func (m *Manager) List() []*Job {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*Job, 0, len(m.jobs))
	for _, j := range m.jobs {
		c := *j
		out = append(out, &c)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].CreatedAt.After(out[b].CreatedAt) })
	return out
}

// Dir returns the directory of export id.
func (m *Manager) Dir(id string) string { return filepath.Join(m.cfg.Dir, id) }

// WriteBundle writes export id as a zip (its MP4 files, manifest.json and
// manifest.sig). ECONFLICT while it is not done.
func (m *Manager) WriteBundle(w io.Writer, id string) error {
	j, err := m.Get(id)
	if err != nil {
		return err
	}
	if j.State != StateDone {
		return argus.Errorf(argus.ECONFLICT, "export %s is %s, not done", id, j.State)
	}
	return evidence.WriteBundle(w, m.Dir(id))
}

// run does one export.
func (m *Manager) run(j *Job, cams []*argus.Camera, p argus.Principal) {
	defer m.wg.Done()
	select {
	case m.slots <- struct{}{}:
		defer func() { <-m.slots }()
	case <-m.ctx.Done():
		m.finish(j, m.ctx.Err())
		return
	}
	m.update(j, func(j *Job) { j.State = StateRunning })
	log := m.log.With("export", j.ID)
	start := time.Now()
	err := m.export(j, cams, p)
	m.finish(j, err)
	if err != nil {
		log.Warn("export failed", "err", err)
		return
	}
	log.Info("export done", "cameras", len(cams), "files", len(j.Files), "took", time.Since(start).Round(time.Millisecond))
}

func (m *Manager) export(j *Job, cams []*argus.Camera, p argus.Principal) error {
	dir := m.Dir(j.ID)
	var srcs [][]*source
	var total, done int64
	for _, c := range cams {
		s, n, err := plan(m.ctx, m.cfg.Store, c.ID, j.From, j.To)
		if err != nil {
			return err
		}
		srcs = append(srcs, s)
		total += n
	}
	if total == 0 {
		return argus.Errorf(argus.ENOTFOUND, "nothing was recorded from %s to %s", j.From.Format(time.RFC3339), j.To.Format(time.RFC3339))
	}
	man := &evidence.Manifest{
		Version: evidence.ManifestVersion, ExportID: j.ID, NodeID: m.cfg.NodeID, CreatedAt: m.cfg.Now().UTC(),
		UserID: p.UserID, Username: p.Username, OrgID: p.OrgID, Reason: j.Reason,
		Requested: evidence.Range{From: j.From, To: j.To},
	}
	for i, c := range cams {
		cw := &cameraWriter{
			ctx: m.ctx, store: m.cfg.Store, dir: dir, camera: c.ID, from: j.From, to: j.To,
			progress: func(n int64) {
				done += n
				m.update(j, func(j *Job) { j.Progress = min(0.99, float64(done)/float64(total)) })
			},
		}
		if err := cw.write(srcs[i]); err != nil {
			return fmt.Errorf("camera %s: %w", c.ID, err)
		}
		ce := evidence.CameraExport{
			CameraID: c.ID, Name: c.Name, Requested: evidence.Range{From: j.From, To: j.To},
			Actual: evidence.Range{From: cw.actual[0], To: cw.actual[1]}, Files: cw.files,
		}
		ranges, err := segment.Ranges(m.ctx, m.cfg.Store, c.ID, j.From, j.To, m.cfg.Now())
		if err == nil {
			for _, g := range segment.Gaps(ranges, j.From, j.To) {
				ce.Gaps = append(ce.Gaps, evidence.Range{From: g.From, To: g.To})
			}
		}
		man.Cameras = append(man.Cameras, ce)
		for _, name := range cw.files {
			f, err := evidence.HashFile(filepath.Join(dir, name))
			if err != nil {
				return err
			}
			man.Files = append(man.Files, f)
		}
	}
	if err := evidence.WriteSigned(dir, man, m.cfg.Key); err != nil {
		return fmt.Errorf("sign the manifest: %w", err)
	}
	m.update(j, func(j *Job) { j.Files, j.Cameras = man.Files, man.Cameras })
	return nil
}

// update changes j under the lock.
func (m *Manager) update(j *Job, fn func(*Job)) {
	m.mu.Lock()
	fn(j)
	m.mu.Unlock()
}

// finish records the end of j and saves it.
func (m *Manager) finish(j *Job, err error) {
	now := m.cfg.Now().UTC()
	m.update(j, func(j *Job) {
		j.FinishedAt = &now
		if err != nil {
			j.State, j.Error = StateFailed, err.Error()
			return
		}
		j.State, j.Progress = StateDone, 1
	})
	if serr := m.save(j); serr != nil {
		m.log.Error("export state not saved", "export", j.ID, "err", serr)
	}
}

// save writes j's state next to its directory, as <id>.json (temp file
// and rename): the directory holds only what the bundle holds.
func (m *Manager) save(j *Job) error {
	m.mu.Lock()
	b, err := json.MarshalIndent(j, "", "  ")
	m.mu.Unlock()
	if err != nil {
		return err
	}
	path := filepath.Join(m.cfg.Dir, j.ID+".json")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o640); err != nil {
		return fmt.Errorf("save export %s: %w", j.ID, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("save export %s: %w", j.ID, err)
	}
	return nil
}
