package hub

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestNewRejectsBadConfig(t *testing.T) {
	src := func(ctx context.Context, id string, sink Sink) error { <-ctx.Done(); return nil }
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no source", Config{}, "needs a source"},
		{"negative grace", Config{Source: src, Grace: -time.Second}, "negative"},
		{"negative queue", Config{Source: src, QueueLen: -1}, "negative"},
		{"negative max gop", Config{Source: src, MaxGOP: -1}, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New: %v, %v; want an error containing %q", h, err, tt.want)
			}
		})
	}
	t.Run("metrics registered twice", func(t *testing.T) {
		reg := prometheus.NewRegistry()
		if _, err := New(Config{Source: src, Registerer: reg}); err != nil {
			t.Fatal(err)
		}
		if _, err := New(Config{Source: src, Registerer: reg}); err == nil {
			t.Fatal("second hub on the same registry: no error")
		}
	})
}

// TestFanOut checks one source feeds every reader the very same *Unit
// values, in order, and that the source runs once however many readers.
func TestFanOut(t *testing.T) {
	for _, n := range []int{1, 10, 100} {
		t.Run(fmt.Sprintf("readers=%d", n), func(t *testing.T) {
			checkGoroutines(t)
			h, src, reg := newHub(t, Config{})
			readers := make([]*Reader, n)
			for i := range readers {
				readers[i] = attach(t, h, "cam-1", ReaderOptions{Name: "test"})
			}
			run := src.next(t)
			if run.id != "cam-1" {
				t.Fatalf("source opened %q, want cam-1", run.id)
			}
			run.sink.SetMedia(testMedia)
			units := []*Unit{video(0, true), audio(0), video(3000, false), audio(1024), video(6000, false)}

			var wg sync.WaitGroup
			for _, r := range readers {
				wg.Go(func() {
					for i, w := range units {
						u, err := r.Read(t.Context())
						if err != nil || u != w {
							t.Errorf("unit %d: %p, %v; want %p", i, u, err, w)
							return
						}
					}
					if m := r.Media(); m != testMedia {
						t.Errorf("Media() = %p, want %p", m, testMedia)
					}
				})
			}
			for _, u := range units {
				run.sink.WriteUnit(u)
			}
			wg.Wait()

			st, ok := h.Stats("cam-1")
			if !ok || st.Readers != n || st.Units != uint64(len(units)) || st.Bytes != 320 || st.Drops != 0 || !st.Running || !st.Online {
				t.Errorf("Stats = %+v, %v", st, ok)
			}
			if len(src.runs) != 0 {
				t.Errorf("%d more source runs, want one in all", len(src.runs))
			}
			if got := metricValue(t, reg, "argus_hub_readers", "", ""); got != float64(n) {
				t.Errorf("argus_hub_readers = %v, want %d", got, n)
			}
			if got := metricValue(t, reg, "argus_hub_streams", "", ""); got != 1 {
				t.Errorf("argus_hub_streams = %v, want 1", got)
			}
			if got := metricValue(t, reg, "argus_hub_units_total", "", ""); got != float64(len(units)) {
				t.Errorf("argus_hub_units_total = %v, want %d", got, len(units))
			}
		})
	}
}

// TestLateReader checks where a reader attached after units were written
// starts: at the cached keyframe with the audio interleaved after it, or
// at the next live unit when there is no usable cache or it asked for
// SkipGOP.
func TestLateReader(t *testing.T) {
	m2 := &Media{Tracks: testMedia.Tracks[:1]}
	a0, k1, a1, p1, a2, p2 := audio(0), video(0, true), audio(1024), video(3000, false), audio(2048), video(6000, false)
	k2, p3 := video(9000, true), video(12000, false)
	tests := []struct {
		name   string
		maxGOP int
		skip   bool
		before func(s Sink) // what the source does before the late reader attaches
		want   []*Unit      // what the late reader reads before next
	}{
		{"starts on cached keyframe", 0, false, func(s Sink) {
			for _, u := range []*Unit{a0, k1, a1, p1, a2, p2} {
				s.WriteUnit(u)
			}
		}, []*Unit{k1, a1, p1, a2, p2}},
		{"cache restarts at each keyframe", 0, false, func(s Sink) {
			for _, u := range []*Unit{k1, p1, p2, k2, a2, p3} {
				s.WriteUnit(u)
			}
		}, []*Unit{k2, a2, p3}},
		{"skip gop", 0, true, func(s Sink) {
			for _, u := range []*Unit{k1, a1, p1} {
				s.WriteUnit(u)
			}
		}, nil},
		{"no keyframe yet", 0, false, func(s Sink) {
			for _, u := range []*Unit{a0, p1, a1} {
				s.WriteUnit(u)
			}
		}, nil},
		{"cache over max gop is dropped", 3, false, func(s Sink) {
			for _, u := range []*Unit{k1, a1, p1, a2} {
				s.WriteUnit(u)
			}
		}, nil},
		{"cache over max gop restarts at next keyframe", 3, false, func(s Sink) {
			for _, u := range []*Unit{k1, a1, p1, a2, p2, k2, p3} {
				s.WriteUnit(u)
			}
		}, []*Unit{k2, p3}},
		{"set media clears cache", 0, false, func(s Sink) {
			s.WriteUnit(k1)
			s.WriteUnit(p1)
			s.SetMedia(m2)
		}, nil},
		{"set offline clears cache", 0, false, func(s Sink) {
			s.WriteUnit(k1)
			s.WriteUnit(p1)
			s.SetOffline(errCamera)
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, src, _ := newHub(t, Config{MaxGOP: tt.maxGOP})
			first := attach(t, h, "cam-1", ReaderOptions{})
			sink := src.next(t).sink
			sink.SetMedia(testMedia)
			tt.before(sink)
			st, _ := h.Stats("cam-1")
			late := attach(t, h, "cam-1", ReaderOptions{Name: "late", SkipGOP: tt.skip})
			next := video(99000, false)
			sink.WriteUnit(next)
			readAll(t, late, append(tt.want, next))
			if st.GOP != len(tt.want) && !tt.skip {
				t.Errorf("Stats.GOP = %d, want %d", st.GOP, len(tt.want))
			}
			if n := int(st.Units) + 1; len(first.ch) != n {
				t.Errorf("first reader holds %d units, want every one of %d", len(first.ch), n)
			}
		})
	}
}

// TestSetMedia checks readers see each Media the source publishes.
func TestSetMedia(t *testing.T) {
	h, src, _ := newHub(t, Config{})
	r := attach(t, h, "cam-1", ReaderOptions{})
	if m := r.Media(); m != nil {
		t.Fatalf("Media() before the source published = %v, want nil", m)
	}
	sink := src.next(t).sink
	sink.SetMedia(testMedia)
	if m := r.Media(); m != testMedia {
		t.Fatalf("Media() = %p, want %p", m, testMedia)
	}
	m2 := &Media{Tracks: []*Track{{ID: 0, Codec: CodecH265, ClockRate: 90000}}}
	sink.SetMedia(m2)
	if m := r.Media(); m != m2 {
		t.Fatalf("Media() after a change = %p, want %p", m, m2)
	}
	late := attach(t, h, "cam-1", ReaderOptions{})
	if m := late.Media(); m != m2 {
		t.Fatalf("late reader's Media() = %p, want %p", m, m2)
	}
}

// TestSlowReaderDropped checks a reader that stops reading is dropped when
// its queue fills, drains what it holds and then gets ErrDropped, while the
// source never blocks and a fast reader keeps every unit. It runs in a
// bubble so a WriteUnit that blocked would fail the test as a deadlock.
func TestSlowReaderDropped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const queueLen, total = 4, 50
		h, src, reg := newHub(t, Config{QueueLen: queueLen})
		fast := attach(t, h, "cam-1", ReaderOptions{Name: "fast"})
		slow := attach(t, h, "cam-1", ReaderOptions{Name: "slow"})
		sink := src.next(t).sink
		var written []*Unit
		for i := range total {
			u := video(int64(i)*3000, i%10 == 0)
			written = append(written, u)
			sink.WriteUnit(u)
			readAll(t, fast, written[i:i+1])
		}
		n, err := readErr(t, slow)
		if !errors.Is(err, ErrDropped) || n != queueLen {
			t.Fatalf("slow reader: %d units then %v; want %d then ErrDropped", n, err, queueLen)
		}
		if _, err := slow.Read(t.Context()); !errors.Is(err, ErrDropped) {
			t.Fatalf("read after drop: %v, want ErrDropped", err)
		}
		st, _ := h.Stats("cam-1")
		if st.Drops != 1 || st.Readers != 2 || st.Units != total {
			t.Errorf("Stats = %+v, want 1 drop, 2 readers, %d units", st, total)
		}
		if got := metricValue(t, reg, "argus_hub_reader_drops_total", "reader", "slow"); got != 1 {
			t.Errorf("drops{reader=slow} = %v, want 1", got)
		}
		if got := metricValue(t, reg, "argus_hub_reader_drops_total", "reader", "fast"); got != 0 {
			t.Errorf("drops{reader=fast} = %v, want 0", got)
		}
		slow.Close()
		if _, err := slow.Read(t.Context()); !errors.Is(err, ErrClosed) {
			t.Errorf("read after close: %v, want ErrClosed", err)
		}
		if st, _ := h.Stats("cam-1"); st.Readers != 1 {
			t.Errorf("Stats.Readers after closing the dropped reader = %d, want 1", st.Readers)
		}
	})
}

// TestGrace checks the source outlives its last reader by Grace and no
// longer: its context is then cancelled and the stream removed.
func TestGrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const grace = 5 * time.Second
		h, src, reg := newHub(t, Config{Grace: grace})
		r := attach(t, h, "cam-1", ReaderOptions{})
		run := src.next(t)
		r.Close()
		time.Sleep(grace - time.Millisecond)
		synctest.Wait()
		if err := run.ctx.Err(); err != nil {
			t.Fatalf("source cancelled within the grace period: %v", err)
		}
		if st, ok := h.Stats("cam-1"); !ok || !st.Running || st.Readers != 0 {
			t.Fatalf("Stats within grace = %+v, %v; want running, no reader", st, ok)
		}
		time.Sleep(2 * time.Millisecond)
		synctest.Wait()
		if run.ctx.Err() == nil {
			t.Fatal("source not cancelled after the grace period")
		}
		if st, ok := h.Stats("cam-1"); ok {
			t.Fatalf("stream still open after grace: %+v", st)
		}
		if got := metricValue(t, reg, "argus_hub_streams", "", ""); got != 0 {
			t.Errorf("argus_hub_streams = %v, want 0", got)
		}
		if len(src.runs) != 0 {
			t.Error("source restarted after grace")
		}
	})
}

// TestReattachWithinGrace checks a reader attaching within the grace period
// keeps the running source, and the grace restarts when it leaves.
func TestReattachWithinGrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const grace = 5 * time.Second
		h, src, _ := newHub(t, Config{Grace: grace})
		r := attach(t, h, "cam-1", ReaderOptions{})
		run := src.next(t)
		run.sink.WriteUnit(video(0, true))
		r.Close()
		time.Sleep(grace - time.Second)
		r2 := attach(t, h, "cam-1", ReaderOptions{})
		time.Sleep(3 * grace)
		synctest.Wait()
		if err := run.ctx.Err(); err != nil {
			t.Fatalf("source cancelled with a reader attached: %v", err)
		}
		if len(src.runs) != 0 {
			t.Fatal("a second source was started")
		}
		if u := read(t, r2); !u.Key {
			t.Fatalf("re-attached reader starts on %+v, want the cached keyframe", u)
		}
		r2.Close()
		time.Sleep(grace + time.Millisecond)
		synctest.Wait()
		if run.ctx.Err() == nil {
			t.Fatal("source not cancelled after the second grace period")
		}
	})
}

// TestReattachWhileSourceStops checks a reader attaching after the grace
// period cancelled the source, but before the source returned, gets a new
// source run once the old one has returned, never two at a time.
func TestReattachWhileSourceStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const grace = time.Second
		h, src, _ := newHub(t, Config{Grace: grace})
		src.linger = true
		r := attach(t, h, "cam-1", ReaderOptions{})
		old := src.next(t)
		r.Close()
		time.Sleep(2 * grace)
		synctest.Wait()
		if old.ctx.Err() == nil {
			t.Fatal("source not cancelled after grace")
		}
		r2 := attach(t, h, "cam-1", ReaderOptions{})
		synctest.Wait()
		if len(src.runs) != 0 {
			t.Fatal("new source started while the old one still runs")
		}
		src.release <- struct{}{}
		run := src.next(t)
		if run.ctx.Err() != nil {
			t.Fatal("new source run has a cancelled context")
		}
		u := video(0, true)
		run.sink.WriteUnit(u)
		readAll(t, r2, []*Unit{u})
		close(src.release)
	})
}

// TestSourceRestart checks a source that returns on its own is restarted
// after a jittered, growing backoff, and that the stream reports it offline
// meanwhile.
func TestSourceRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, src, _ := newHub(t, Config{})
		r := attach(t, h, "cam-1", ReaderOptions{})
		backoff := restartMin
		for range 3 {
			run := src.next(t)
			run.sink.SetMedia(testMedia)
			run.sink.WriteUnit(video(0, true))
			run.fail <- errCamera
			synctest.Wait()
			if st, _ := h.Stats("cam-1"); st.Running || st.Online || st.GOP != 0 {
				t.Fatalf("Stats after the source failed = %+v, want not running, offline, empty cache", st)
			}
			time.Sleep(backoff/2 - time.Millisecond)
			synctest.Wait()
			if len(src.runs) != 0 {
				t.Fatalf("source restarted before %v", backoff/2)
			}
			time.Sleep(backoff/2 + time.Millisecond)
			synctest.Wait()
			if len(src.runs) != 1 {
				t.Fatalf("source not restarted within %v", backoff)
			}
			backoff *= 2
		}
		if _, err := r.Read(t.Context()); err != nil {
			t.Fatalf("reader after restarts: %v", err)
		}
	})
}

// TestClose checks Hub.Close ends every reader with ErrClosed, blocked or
// not, cancels every source, refuses new readers and can be repeated.
func TestClose(t *testing.T) {
	checkGoroutines(t)
	h, src, reg := newHub(t, Config{})
	blocked := attach(t, h, "cam-1", ReaderOptions{})
	queued := attach(t, h, "cam-2", ReaderOptions{})
	runs := map[string]*sourceRun{}
	for range 2 {
		run := src.next(t)
		runs[run.id] = run
	}
	runs["cam-2"].sink.WriteUnit(video(0, true))
	errc := make(chan error)
	go func() {
		_, err := blocked.Read(context.Background())
		errc <- err
	}()
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Errorf("blocked Read: %v, want ErrClosed", err)
	}
	if _, err := queued.Read(t.Context()); !errors.Is(err, ErrClosed) {
		t.Errorf("Read with a unit queued: %v, want ErrClosed", err)
	}
	for id, run := range runs {
		if run.ctx.Err() == nil {
			t.Errorf("source %s not cancelled", id)
		}
	}
	if _, err := h.Attach(t.Context(), "cam-1", ReaderOptions{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Attach after Close: %v, want ErrClosed", err)
	}
	if err := h.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	blocked.Close()
	if _, ok := h.Stats("cam-1"); ok {
		t.Error("stream still listed after Close")
	}
	for _, name := range []string{"argus_hub_streams", "argus_hub_readers"} {
		if got := metricValue(t, reg, name, "", ""); got != 0 {
			t.Errorf("%s = %v after Close, want 0", name, got)
		}
	}
}

// TestReaderClose checks a reader's Close ends its own Read with ErrClosed,
// leaves the other readers fed, and can be repeated.
func TestReaderClose(t *testing.T) {
	checkGoroutines(t)
	h, src, _ := newHub(t, Config{})
	r1 := attach(t, h, "cam-1", ReaderOptions{})
	r2 := attach(t, h, "cam-1", ReaderOptions{})
	sink := src.next(t).sink
	errc := make(chan error)
	go func() {
		_, err := r1.Read(context.Background())
		errc <- err
	}()
	r1.Close()
	r1.Close()
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Errorf("blocked Read after Close: %v, want ErrClosed", err)
	}
	u := video(0, true)
	sink.WriteUnit(u)
	readAll(t, r2, []*Unit{u})
	if st, _ := h.Stats("cam-1"); st.Readers != 1 {
		t.Errorf("Stats.Readers = %d, want 1", st.Readers)
	}
}

// TestReadHonoursContext checks Read returns the context's error when it is
// cancelled with nothing queued.
func TestReadHonoursContext(t *testing.T) {
	h, _, _ := newHub(t, Config{})
	r := attach(t, h, "cam-1", ReaderOptions{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := r.Read(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Read: %v, want context.Canceled", err)
	}
	if _, err := h.Attach(ctx, "cam-1", ReaderOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Attach: %v, want context.Canceled", err)
	}
}

// TestWriteUnitAllocs checks the steady path, a unit written and read by
// every reader, allocates nothing once the GOP cache has grown.
func TestWriteUnitAllocs(t *testing.T) {
	h, src, _ := newHub(t, Config{})
	readers := make([]*Reader, 10)
	for i := range readers {
		readers[i] = attach(t, h, "cam-1", ReaderOptions{})
	}
	sink := src.next(t).sink
	units := gopUnits()
	i := 0
	step := func() {
		sink.WriteUnit(units[i])
		i = (i + 1) % len(units)
		for _, r := range readers {
			if _, err := r.Read(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
	}
	for range 2 * len(units) {
		step()
	}
	if n := testing.AllocsPerRun(1000, step); n != 0 {
		t.Errorf("%v allocations per unit, want 0", n)
	}
}

// TestPassiveReaders: a stream only passive readers read is not watched and
// keeps no GOP cache, so a first viewer starts at the next keyframe; once
// an active reader is attached it caches, and keeps caching for Warm after
// the last one left; CacheIdleGOP caches for passive readers too.
func TestPassiveReaders(t *testing.T) {
	k1, p1, k2, p2, k3, p3 := video(0, true), video(3000, false), video(6000, true), video(9000, false), video(12000, true), video(15000, false)
	t.Run("unwatched stream caches nothing", func(t *testing.T) {
		h, src, _ := newHub(t, Config{})
		rec := attach(t, h, "cam-1", ReaderOptions{Name: "record", Passive: true})
		sink := src.next(t).sink
		sink.SetMedia(testMedia)
		stream := sink.(*Stream)
		if stream.Watched() {
			t.Error("watched with only a passive reader")
		}
		sink.WriteUnit(k1)
		sink.WriteUnit(p1)
		if st, _ := h.Stats("cam-1"); st.GOP != 0 {
			t.Errorf("GOP cache holds %d units for a passive reader", st.GOP)
		}
		viewer := attach(t, h, "cam-1", ReaderOptions{Name: "whep"})
		if !stream.Watched() {
			t.Error("not watched with an active reader")
		}
		sink.WriteUnit(k2)
		sink.WriteUnit(p2)
		readAll(t, viewer, []*Unit{k2, p2})
		readAll(t, rec, []*Unit{k1, p1, k2, p2})
		if st, _ := h.Stats("cam-1"); st.GOP != 2 {
			t.Errorf("GOP cache holds %d units while watched, want 2", st.GOP)
		}
	})
	t.Run("warm after the last viewer left", func(t *testing.T) {
		h, src, _ := newHub(t, Config{Warm: time.Hour})
		attach(t, h, "cam-1", ReaderOptions{Passive: true})
		sink := src.next(t).sink
		sink.SetMedia(testMedia)
		viewer := attach(t, h, "cam-1", ReaderOptions{})
		viewer.Close()
		if sink.(*Stream).Watched() {
			t.Error("watched after the viewer left")
		}
		sink.WriteUnit(k1)
		sink.WriteUnit(p1)
		late := attach(t, h, "cam-1", ReaderOptions{})
		sink.WriteUnit(p2)
		readAll(t, late, []*Unit{k1, p1, p2})
	})
	t.Run("cold once warm is over", func(t *testing.T) {
		h, src, _ := newHub(t, Config{Warm: time.Nanosecond})
		attach(t, h, "cam-1", ReaderOptions{Passive: true})
		sink := src.next(t).sink
		sink.SetMedia(testMedia)
		viewer := attach(t, h, "cam-1", ReaderOptions{})
		sink.WriteUnit(k1)
		viewer.Close() // warm for 1 ns: over by the next unit
		sink.WriteUnit(p1)
		if st, _ := h.Stats("cam-1"); st.GOP != 0 {
			t.Errorf("GOP cache holds %d units after warm", st.GOP)
		}
		late := attach(t, h, "cam-1", ReaderOptions{})
		sink.WriteUnit(k3)
		sink.WriteUnit(p3)
		readAll(t, late, []*Unit{k3, p3})
	})
	t.Run("CacheIdleGOP", func(t *testing.T) {
		h, src, _ := newHub(t, Config{CacheIdleGOP: true})
		attach(t, h, "cam-1", ReaderOptions{Passive: true})
		sink := src.next(t).sink
		sink.SetMedia(testMedia)
		sink.WriteUnit(k1)
		sink.WriteUnit(p1)
		late := attach(t, h, "cam-1", ReaderOptions{})
		sink.WriteUnit(p2)
		readAll(t, late, []*Unit{k1, p1, p2})
	})
}

// TestRecycleOnlyForTheSoleReader checks when the hub lets a unit's source
// take its buffers back: only for a unit that goes to exactly one reader
// and into no GOP cache; Release then calls Recycle once.
func TestRecycleOnlyForTheSoleReader(t *testing.T) {
	recyclable := func(u *Unit) (*Unit, *int) {
		n := new(int)
		u.Recycle = func() { *n++ }
		return u, n
	}
	t.Run("one passive reader", func(t *testing.T) {
		h, src, _ := newHub(t, Config{})
		rec := attach(t, h, "cam-1", ReaderOptions{Passive: true})
		sink := src.next(t).sink
		sink.SetMedia(testMedia)
		u, n := recyclable(video(3000, false))
		sink.WriteUnit(u)
		got, err := rec.Read(t.Context())
		if err != nil || got != u {
			t.Fatalf("Read = %v, %v", got, err)
		}
		got.Release()
		got.Release()
		if *n != 1 {
			t.Errorf("Recycle called %d times, want once", *n)
		}
	})
	t.Run("two readers", func(t *testing.T) {
		h, src, _ := newHub(t, Config{})
		attach(t, h, "cam-1", ReaderOptions{Passive: true})
		attach(t, h, "cam-1", ReaderOptions{Passive: true})
		sink := src.next(t).sink
		sink.SetMedia(testMedia)
		u, n := recyclable(video(3000, false))
		sink.WriteUnit(u)
		u.Release()
		if *n != 0 || u.Recycle != nil {
			t.Errorf("a unit shared by two readers was recycled (%d) or kept Recycle", *n)
		}
	})
	t.Run("one reader, GOP cached", func(t *testing.T) {
		h, src, _ := newHub(t, Config{})
		viewer := attach(t, h, "cam-1", ReaderOptions{}) // active: the stream caches its GOP
		sink := src.next(t).sink
		sink.SetMedia(testMedia)
		k, nk := recyclable(video(0, true))
		p, np := recyclable(video(3000, false))
		sink.WriteUnit(k)
		sink.WriteUnit(p)
		readAll(t, viewer, []*Unit{k, p})
		k.Release()
		p.Release()
		if *nk+*np != 0 {
			t.Errorf("cached units were recycled: %d, %d", *nk, *np)
		}
	})
}
