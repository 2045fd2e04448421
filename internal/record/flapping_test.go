package record_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"argus"
	"argus/internal/hub"
	"argus/internal/ingest"
	"argus/internal/record"
	"argus/internal/sim"
)

// TestCameraFlapping cuts a simulated camera's connection 1,000 times while
// the media path records it: sim → ingest → hub → Manager → fsstore. Every
// reconnect must resume the camera on a keyframe (the test waits for it
// before the next cut); the hub must hear of each outage once; every unit
// of every session must reach the recorder and every frame the recorder
// took must be in the finished segments, each of which decodes in ffprobe
// without an error; the goroutine count and the heap must not grow between
// cycle 100 and cycle 1,000, and the goroutines must be back at their
// baseline once everything is closed.
//
// The test paces the cycles, not a sim drop schedule: it cuts as soon as
// the new session has delivered a keyframe, so a slow moment of the host
// delays a cycle instead of failing it. A cycle lasts one GOP: the
// reconnect takes a few milliseconds, joins mid-GOP and resumes at the
// next keyframe. The camera streams the 90p-gop0.2 clip at 120 fps (the
// simulator's most), a keyframe every 42 ms: 1,000 cycles take about 42 s.
func TestCameraFlapping(t *testing.T) {
	// Not parallel: it counts the process's goroutines and measures the heap.
	const (
		cycles    = 1000
		checkAt   = 100
		camera    = "cam-1"
		heapSlack = 8 << 20
		// goroutineSlack allows for a session's teardown still in flight.
		goroutineSlack = 2
	)
	start := time.Now()
	before := runtime.NumGoroutine()

	s, err := sim.New(sim.Config{Cameras: 1, Listen: "127.0.0.1:0", Clip: "90p-gop0.2", FPS: 120})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	link := startLink(t, s.Addr())
	u, err := url.Parse(s.URL(1))
	if err != nil {
		t.Fatal(err)
	}
	u.Host = link.ln.Addr().String()
	var online, offline counter
	in, err := ingest.New(ingest.Config{
		Resolve: func(context.Context, string) (ingest.Target, error) { return ingest.Target{URL: u.String()}, nil },
		// Every session outlives Stable, so each outage's backoff starts
		// again from Min.
		Backoff: ingest.Backoff{Min: time.Millisecond, Max: 20 * time.Millisecond, Stable: time.Millisecond},
		Events: func(e ingest.Event) {
			switch e.To {
			case ingest.StateOnline:
				online.add()
			case ingest.StateOffline:
				offline.add()
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	fed := &tally{fresh: true}
	h, err := hub.New(hub.Config{Source: func(ctx context.Context, id string, sink hub.Sink) error {
		return in.Run(ctx, id, tallySink{Sink: sink, t: fed})
	}})
	if err != nil {
		t.Fatal(err)
	}
	store := newStore(t, t.TempDir())
	reg := prometheus.NewRegistry()
	m, err := record.NewManager(record.ManagerConfig{
		Hub:        h,
		Segments:   store,
		Cameras:    oneCamera{cam: &argus.Camera{ID: camera, Recording: true}},
		Writer:     record.Options{SegmentDuration: 2 * time.Second},
		Registerer: reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stopRecording := context.WithCancel(t.Context())
	recDone := make(chan error, 1)
	go func() { recDone <- m.Run(ctx) }()

	var once sync.Once
	shutdown := func() {
		once.Do(func() {
			// The order of internal/node: recorders finish their segments,
			// then the sources stop, then the camera goes away.
			stopRecording()
			if err := <-recDone; err != nil {
				t.Errorf("Manager.Run returned %v", err)
			}
			h.Close()
			link.close()
			s.Close()
		})
	}
	t.Cleanup(shutdown)

	// resumed waits until session n has delivered a unit to the hub.
	resumed := func(n int) {
		t.Helper()
		waitUntil(t, 10*time.Second, func() bool { return fed.get().sessions >= n }, func() string {
			hl, _ := in.Health(camera)
			return fmt.Sprintf("session %d to deliver a unit (%+v, health %+v)", n, fed.get(), hl)
		})
	}
	took := func() float64 { return metric(t, reg, "argus_record_units_total") }

	resumed(1)
	var g0, heap0 int
	for cycle := 1; cycle <= cycles; cycle++ {
		link.cut()
		resumed(cycle + 1)
		switch cycle {
		case checkAt:
			g0, heap0 = runtime.NumGoroutine(), heapInuse()
		case cycles:
			heap := heapInuse()
			t.Logf("heap in use %.1f MiB at cycle %d, %.1f MiB at cycle %d", float64(heap0)/(1<<20), checkAt, float64(heap)/(1<<20), cycles)
			if heap > heap0+heapSlack {
				t.Errorf("heap in use grew from %d to %d bytes between cycles %d and %d", heap0, heap, checkAt, cycles)
			}
			waitUntil(t, 5*time.Second, func() bool { return runtime.NumGoroutine() <= g0+goroutineSlack }, func() string {
				return fmt.Sprintf("the goroutines to fall back to cycle %d's %d (+%d); now %d:\n%s",
					checkAt, g0, goroutineSlack, runtime.NumGoroutine(), stacks())
			})
		}
	}
	hl, ok := in.Health(camera)
	if !ok || hl.State != ingest.StateOnline || hl.Reconnects < 2*cycles {
		// Each outage is a cut and one refused attempt.
		t.Errorf("Health = %+v, %v; want online after at least %d reconnects", hl, ok, 2*cycles)
	}
	if got := online.get(); got != cycles+1 {
		t.Errorf("camera went online %d times, want %d", got, cycles+1)
	}
	if got := offline.get(); got != 2*cycles {
		t.Errorf("camera went offline %d times, want %d (a cut and a refused attempt per cycle)", got, 2*cycles)
	}

	// Take the camera off the network for good. Once ingest has reported
	// that outage every unit it wrote is in the hub, and the recorder must
	// take exactly as many: a unit lost after any reconnect would be
	// missing from the count for good.
	link.down()
	waitUntil(t, 10*time.Second, func() bool { return fed.get().outages > cycles }, func() string {
		return fmt.Sprintf("ingest to report the last outage (%+v)", fed.get())
	})
	fc := fed.get()
	if fc.outages != cycles+1 || fc.sessions != cycles+1 || fc.keyless != 0 {
		t.Errorf("ingest fed the hub %+v; want %d outages (one per cut, not per failed attempt) and %d sessions, each starting on a keyframe",
			fc, cycles+1, cycles+1)
	}
	waitUntil(t, 10*time.Second, func() bool { return took() == float64(fc.units) }, func() string {
		return fmt.Sprintf("the recorder to take the %d units ingest wrote (took %.0f)", fc.units, took())
	})
	shutdown()
	total := took()
	for _, name := range []string{"argus_record_reader_drops_total", "argus_record_write_errors_total"} {
		if got := metric(t, reg, name); got != 0 {
			t.Errorf("%s = %v, want 0", name, got)
		}
	}
	waitUntil(t, 10*time.Second, func() bool { return runtime.NumGoroutine() <= before }, func() string {
		return fmt.Sprintf("the goroutines to fall back to the baseline %d after closing; now %d:\n%s",
			before, runtime.NumGoroutine(), stacks())
	})
	t.Logf("%d cycles in %v; goroutines: %d before, %d at cycle %d, %d after closing; the recorder took %.0f units",
		cycles, time.Since(start).Round(time.Millisecond), before, g0, checkAt, runtime.NumGoroutine(), total)

	refs := listAll(t, store, camera)
	if len(refs) < 2 {
		t.Fatalf("%d segments, want several", len(refs))
	}
	ffprobePath(t) // skips here without ffprobe, after the checks above
	frames := 0
	for i, r := range refs {
		if r.Partial {
			t.Errorf("segment %d is partial: %+v", i, r)
			continue
		}
		p := ffprobe(t, segPath(store, r))
		if len(p.Streams) != 1 || p.Streams[0].CodecName != "h264" || p.Streams[0].Width != 160 || p.Streams[0].Height != 90 {
			t.Fatalf("segment %d: streams %+v, want one h264 160x90", i, p.Streams)
		}
		frames += atoi(t, p.Streams[0].NbReadFrames)
	}
	if float64(frames) != total {
		t.Errorf("%d segments hold %d frames, the recorder took %.0f units", len(refs), frames, total)
	}
}

// counter counts events from other goroutines.
type counter struct {
	mu sync.Mutex
	n  int
}

func (c *counter) add() {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
}

func (c *counter) get() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// fedCounts is what ingest handed the hub.
type fedCounts struct {
	units    int64 // units written
	outages  int   // SetOffline calls
	sessions int   // runs of units between outages: sessions that delivered
	keyless  int   // sessions whose first unit was not a keyframe
}

// tally counts what passes through a tallySink.
type tally struct {
	mu    sync.Mutex
	c     fedCounts
	fresh bool // no unit since the last SetOffline (or ever)
}

func (t *tally) get() fedCounts {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.c
}

// tallySink counts into t what it passes on to the hub, before the hub has
// it, so a reader can never be ahead of the count.
type tallySink struct {
	hub.Sink
	t *tally
}

func (s tallySink) WriteUnit(u *hub.Unit) {
	s.t.mu.Lock()
	s.t.c.units++
	if s.t.fresh {
		s.t.fresh = false
		s.t.c.sessions++
		if !u.Key {
			s.t.c.keyless++
		}
	}
	s.t.mu.Unlock()
	s.Sink.WriteUnit(u)
}

func (s tallySink) SetOffline(err error) {
	s.t.mu.Lock()
	s.t.c.outages++
	s.t.fresh = true
	s.t.mu.Unlock()
	s.Sink.SetOffline(err)
}

// oneCamera is a camera directory holding one camera; the Manager only
// lists cameras, any other method would panic.
type oneCamera struct {
	argus.CameraStore
	cam *argus.Camera
}

func (d oneCamera) FindCameras(context.Context, argus.CameraQuery) (argus.CameraPage, error) {
	return argus.CameraPage{Items: []*argus.Camera{d.cam}}, nil
}

// link is a TCP proxy in front of the simulator: the camera's network
// cable. cut drops the connection in use and refuses the next one, as a
// camera that goes off the network and is still gone at the first retry;
// down drops it and refuses every later one.
type link struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup

	// mu guards conns (both ends of every proxied connection), refuse and
	// isDown; accept holds it while it dials, so a cut never misses a
	// connection being set up.
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	refuse int
	isDown bool
}

func startLink(t *testing.T, target string) *link {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &link{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	l.wg.Go(l.accept)
	t.Cleanup(l.close)
	return l
}

func (l *link) accept() {
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return
		}
		l.mu.Lock()
		if l.isDown || l.refuse > 0 {
			l.refuse = max(l.refuse-1, 0)
			l.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", l.target)
		if err != nil {
			l.mu.Unlock()
			c.Close()
			continue
		}
		l.conns[c], l.conns[up] = struct{}{}, struct{}{}
		l.mu.Unlock()
		l.wg.Go(func() { l.pipe(up, c) })
		l.wg.Go(func() { l.pipe(c, up) })
	}
}

// pipe copies src to dst until either fails, then closes both.
func (l *link) pipe(dst, src net.Conn) {
	_, _ = io.Copy(dst, src) // until a cut, or either side closes
	l.mu.Lock()
	delete(l.conns, src)
	delete(l.conns, dst)
	l.mu.Unlock()
	src.Close()
	dst.Close()
}

// cut closes every proxied connection and refuses the next one.
func (l *link) cut() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for c := range l.conns {
		c.Close()
	}
	l.refuse = 1
}

// down closes every proxied connection and refuses all later ones.
func (l *link) down() {
	l.mu.Lock()
	l.isDown = true
	l.mu.Unlock()
	l.cut()
}

// close takes the link down for good and waits for its goroutines.
func (l *link) close() {
	l.down()
	l.ln.Close()
	l.wg.Wait()
}

// metric returns the sum of the values of the counter family name in reg,
// 0 if it has no series.
func metric(t testing.TB, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var v float64
	for _, f := range fams {
		if f.GetName() == name {
			for _, m := range f.GetMetric() {
				v += m.GetCounter().GetValue()
			}
		}
	}
	return v
}

// heapInuse returns the bytes of heap in use after a full collection.
func heapInuse() int {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int(ms.HeapInuse)
}

func stacks() []byte {
	buf := make([]byte, 1<<20)
	return buf[:runtime.Stack(buf, true)]
}

// waitUntil polls cond every millisecond until it holds, failing the test
// with what() after timeout.
func waitUntil(t testing.TB, timeout time.Duration, cond func() bool, what func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what())
		}
		time.Sleep(time.Millisecond)
	}
}
