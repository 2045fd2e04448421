package retention_test

import (
	"bytes"
	"context"
	"io/fs"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"argus"
	"argus/internal/retention"
	"argus/internal/segment"
	"argus/internal/segment/fsstore"
)

// t0 is "now" for the tests that drive the clock themselves.
var t0 = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

// directory is an in-memory retention.Directory.
type directory struct {
	mu   sync.Mutex
	cams map[string]argus.Camera
	orgs map[string]argus.Org
}

func (d *directory) Camera(_ context.Context, id string) (*argus.Camera, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	c, ok := d.cams[id]
	if !ok {
		return nil, argus.Errorf(argus.ENOTFOUND, "camera %q not found", id)
	}
	return &c, nil
}

func (d *directory) Org(_ context.Context, id string) (*argus.Org, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	o, ok := d.orgs[id]
	if !ok {
		return nil, argus.Errorf(argus.ENOTFOUND, "organisation %q not found", id)
	}
	return &o, nil
}

// holds is an in-memory argus.HoldStore; err, when set, fails every call.
type holds struct {
	mu    sync.Mutex
	holds []*argus.Hold
	err   error
}

func (s *holds) CreateHold(_ context.Context, h *argus.Hold) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := h.Validate(); err != nil {
		return err
	}
	cp := *h
	s.holds = append(s.holds, &cp)
	return nil
}

func (s *holds) Hold(_ context.Context, id string) (*argus.Hold, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range s.holds {
		if h.ID == id {
			cp := *h
			return &cp, nil
		}
	}
	return nil, argus.Errorf(argus.ENOTFOUND, "hold %q not found", id)
}

func (s *holds) Holds(_ context.Context, f argus.HoldFilter) ([]*argus.Hold, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	out := []*argus.Hold{}
	for _, h := range slices.Backward(s.holds) {
		if (f.CameraID == "" || h.CameraID == f.CameraID) && (!f.ActiveOnly || h.Active()) {
			cp := *h
			out = append(out, &cp)
		}
	}
	return out, nil
}

func (s *holds) ReleaseHold(_ context.Context, id, by, reason string) (*argus.Hold, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range s.holds {
		if h.ID == id {
			h.ReleasedAt, h.ReleasedBy, h.ReleaseReason = time.Now(), by, reason
			cp := *h
			return &cp, nil
		}
	}
	return nil, argus.Errorf(argus.ENOTFOUND, "hold %q not found", id)
}

// fixture is a sweeper over a real fsstore in a temporary directory, with
// an in-memory directory and hold store, a settable clock and a disk of
// capacity bytes whose free space is what the segments leave.
type fixture struct {
	t        *testing.T
	root     string
	segs     *fsstore.Store
	dir      *directory
	holds    *holds
	now      time.Time
	capacity uint64
	events   []retention.Event
	reg      *prometheus.Registry
	sw       *retention.Sweeper
}

func newFixture(t *testing.T, change func(*retention.Config)) *fixture {
	t.Helper()
	f := &fixture{
		t: t, root: t.TempDir(), now: t0, capacity: 1 << 40, reg: prometheus.NewRegistry(),
		dir:   &directory{cams: map[string]argus.Camera{}, orgs: map[string]argus.Org{}},
		holds: &holds{},
	}
	var err error
	if f.segs, err = fsstore.Open(f.root, fsstore.Options{SyncInterval: -1}); err != nil {
		t.Fatal(err)
	}
	cfg := retention.Config{
		Segments: f.segs, Directory: f.dir, Holds: f.holds, FreeSpace: f.freeSpace,
		Now:    func() time.Time { return f.now },
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Events: func(e retention.Event) { f.events = append(f.events, e) }, Registerer: f.reg,
	}
	if change != nil {
		change(&cfg)
	}
	if f.sw, err = retention.New(cfg); err != nil {
		t.Fatal(err)
	}
	return f
}

// testWriter sends log lines to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// freeSpace is the fixture's disk: capacity less the segment files.
func (f *fixture) freeSpace(context.Context) (uint64, uint64, error) {
	var used uint64
	err := filepath.WalkDir(f.root, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		used += uint64(info.Size())
		return nil
	})
	return f.capacity - min(used, f.capacity), f.capacity, err
}

func (f *fixture) camera(id, org string, days int, quota int64) {
	f.dir.mu.Lock()
	defer f.dir.mu.Unlock()
	f.dir.cams[id] = argus.Camera{ID: id, OrgID: org, RetentionDays: days, RetentionBytes: quota}
}

func (f *fixture) org(id string, quota int64) {
	f.dir.mu.Lock()
	defer f.dir.mu.Unlock()
	f.dir.orgs[id] = argus.Org{ID: id, QuotaBytes: quota}
}

// hold places a hold on [from, to) of camera.
func (f *fixture) hold(id, camera string, from, to time.Time) {
	f.t.Helper()
	h := &argus.Hold{ID: id, CameraID: camera, From: from, To: to, Reason: "case " + id, CreatedBy: "investigator"}
	if err := f.holds.CreateHold(f.t.Context(), h); err != nil {
		f.t.Fatal(err)
	}
}

// segment writes a finished segment of size bytes.
func (f *fixture) segment(camera string, start time.Time, d time.Duration, size int) segment.Ref {
	f.t.Helper()
	ctx := f.t.Context()
	w, err := f.segs.Create(ctx, camera, start)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := w.Append(ctx, bytes.Repeat([]byte{0xa5}, size)); err != nil {
		f.t.Fatal(err)
	}
	r, err := w.Finish(ctx, d)
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

// partial writes a segment that is never finished.
func (f *fixture) partial(camera string, start time.Time, size int) segment.Ref {
	f.t.Helper()
	w, err := f.segs.Create(f.t.Context(), camera, start)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := w.Append(f.t.Context(), bytes.Repeat([]byte{0x5a}, size)); err != nil {
		f.t.Fatal(err)
	}
	return w.Ref()
}

// left returns the starts, relative to t0, of camera's segments still in
// the store (those of the 11 years before f.now).
func (f *fixture) left(camera string) []time.Duration {
	f.t.Helper()
	refs, err := f.segs.List(f.t.Context(), camera, f.now.Add(-11*365*day), f.now.Add(time.Hour))
	if err != nil {
		f.t.Fatal(err)
	}
	out := []time.Duration{}
	for _, r := range refs {
		out = append(out, r.Start.Sub(t0))
	}
	return out
}

func (f *fixture) sweep() retention.Report {
	f.t.Helper()
	rep, err := f.sw.Sweep(f.t.Context())
	if err != nil {
		f.t.Fatalf("Sweep: %v", err)
	}
	return rep
}

// takeEvents returns the events raised since the last call.
func (f *fixture) takeEvents() []retention.Event {
	e := f.events
	f.events = nil
	return e
}

// counter returns the value of a counter with the given label value.
func (f *fixture) counter(name, label string) float64 {
	f.t.Helper()
	mfs, err := f.reg.Gather()
	if err != nil {
		f.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetValue() == label {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// eventLog collects events raised by a sweeper running in another
// goroutine.
type eventLog struct {
	mu     sync.Mutex
	events []retention.Event
}

func (l *eventLog) add(e retention.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

// of returns the events of type typ so far.
func (l *eventLog) of(typ string) []retention.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []retention.Event
	for _, e := range l.events {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

// ago returns t0 - d.
func ago(d time.Duration) time.Time { return t0.Add(-d) }

// offsets returns ds as offsets from t0 (negative: before).
func offsets(ds ...time.Duration) []time.Duration {
	out := []time.Duration{}
	for _, d := range ds {
		out = append(out, -d)
	}
	return out
}
