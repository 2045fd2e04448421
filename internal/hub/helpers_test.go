package hub

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// sourceRun is one call of the fake SourceFunc.
type sourceRun struct {
	ctx  context.Context
	id   string
	sink Sink
	// fail makes the run return the error sent on it.
	fail chan error
}

// fakeSource is a SourceFunc the test drives: each call is announced on runs
// and lasts until its context is cancelled or the test sends on fail. With
// linger set, a cancelled run waits for release before it returns.
type fakeSource struct {
	runs    chan *sourceRun
	linger  bool
	release chan struct{}
}

func newFakeSource() *fakeSource {
	return &fakeSource{runs: make(chan *sourceRun, 16), release: make(chan struct{})}
}

func (f *fakeSource) source(ctx context.Context, id string, sink Sink) error {
	r := &sourceRun{ctx: ctx, id: id, sink: sink, fail: make(chan error)}
	f.runs <- r
	select {
	case <-ctx.Done():
		if f.linger {
			<-f.release
		}
		return ctx.Err()
	case err := <-r.fail:
		return err
	}
}

// next returns the next run of the source, failing the test if none starts
// within a bounded wait (real time outside a synctest bubble).
func (f *fakeSource) next(t testing.TB) *sourceRun {
	t.Helper()
	select {
	case r := <-f.runs:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("source not started")
		return nil
	}
}

// newHub returns a Hub on a fake source and a fresh registry, closed when the
// test ends.
func newHub(t testing.TB, cfg Config) (*Hub, *fakeSource, *prometheus.Registry) {
	t.Helper()
	src := newFakeSource()
	reg := prometheus.NewRegistry()
	cfg.Source = src.source
	cfg.Registerer = reg
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return h, src, reg
}

// checkGoroutines fails the test if, after the test's cleanups, more
// goroutines run than before it. Call it before newHub (cleanups run last
// first) and outside synctest bubbles, which check this themselves.
func checkGoroutines(t *testing.T) {
	t.Helper()
	base := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= base {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<16)
				t.Errorf("goroutines leaked: %d running, %d before the test\n%s", n, base, buf[:runtime.Stack(buf, true)])
				return
			}
			time.Sleep(time.Millisecond) // bounded poll
		}
	})
}

func attach(t testing.TB, h *Hub, camera string, opts ReaderOptions) *Reader {
	t.Helper()
	r, err := h.Attach(t.Context(), camera, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

// read returns the reader's next unit, failing the test on an error.
func read(t testing.TB, r *Reader) *Unit {
	t.Helper()
	u, err := r.Read(t.Context())
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return u
}

// readAll reads len(want) units and checks each is the very pointer written.
func readAll(t testing.TB, r *Reader, want []*Unit) {
	t.Helper()
	for i, w := range want {
		if got := read(t, r); got != w {
			t.Fatalf("unit %d: got %+v, want %+v", i, got, w)
		}
	}
}

// readErr reads until an error and returns it with the number of units read.
func readErr(t testing.TB, r *Reader) (int, error) {
	t.Helper()
	for n := 0; ; n++ {
		if _, err := r.Read(t.Context()); err != nil {
			return n, err
		}
	}
}

var testMedia = &Media{Tracks: []*Track{
	{ID: 0, Codec: CodecH264, ClockRate: 90000},
	{ID: 1, Codec: CodecAAC, ClockRate: 48000},
}}

// video and audio build units of testMedia.
func video(pts int64, key bool) *Unit {
	return &Unit{Media: testMedia, Track: 0, PTS: pts, DTS: pts, Key: key, NALUs: [][]byte{make([]byte, 100)}, Size: 100}
}

func audio(pts int64) *Unit {
	return &Unit{Media: testMedia, Track: 1, PTS: pts, DTS: pts, Payload: make([]byte, 10), Size: 10}
}

// gopUnits returns a 2 s GOP at 30 fps with audio interleaved: the units a
// source writes over and over.
func gopUnits() []*Unit {
	var us []*Unit
	for i := range 60 {
		us = append(us, video(int64(i)*3000, i == 0))
		if i%2 == 0 {
			us = append(us, audio(int64(i)*1600))
		}
	}
	return us
}

// metricValue returns the value of the named counter or gauge whose labels
// include label=value (any labels when label is empty).
func metricValue(t testing.TB, g prometheus.Gatherer, name, label, value string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			match := label == ""
			for _, lp := range m.GetLabel() {
				match = match || lp.GetName() == label && lp.GetValue() == value
			}
			if !match {
				continue
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

var errCamera = errors.New("camera unreachable")
