package ingest

import (
	"bytes"
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"argus/internal/hub"
	"argus/internal/sim"
)

// metricValue returns the value of a gauge or counter.
func metricValue(tb testing.TB, m prometheus.Metric) float64 {
	tb.Helper()
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		tb.Fatal(err)
	}
	if d.Gauge != nil {
		return d.Gauge.GetValue()
	}
	return d.Counter.GetValue()
}

// simFailures parses fail specs for the simulator.
func simFailures(tb testing.TB, specs ...string) []sim.Failure {
	tb.Helper()
	var out []sim.Failure
	for _, s := range specs {
		f, err := sim.ParseFailure(s)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, f)
	}
	return out
}

// checkH264Units checks the units of a sim camera: the first is a
// keyframe, Key is set exactly on units with an IDR, every keyframe starts
// with the Media's SPS and PPS, no NAL unit is empty or has the forbidden
// bit, and PTS rises by 90000/fps per frame with DTS = PTS.
func checkH264Units(t *testing.T, units []*hub.Unit, fps int) {
	t.Helper()
	if len(units) == 0 {
		t.Fatal("no units")
	}
	if !units[0].Key {
		t.Errorf("first unit is not a keyframe")
	}
	step := int64(90000 / fps)
	for i, u := range units {
		tr := u.Media.Tracks[u.Track]
		if tr.Codec != hub.CodecH264 {
			t.Fatalf("unit %d: codec %s", i, tr.Codec)
		}
		if u.Key != hasKeyNALU(hub.CodecH264, u.NALUs) {
			t.Errorf("unit %d: Key=%v but IDR present=%v", i, u.Key, !u.Key)
		}
		size := 0
		for _, n := range u.NALUs {
			if len(n) == 0 || n[0]&0x80 != 0 {
				t.Fatalf("unit %d: malformed NAL unit % x", i, n[:min(len(n), 4)])
			}
			size += len(n)
		}
		if size != u.Size {
			t.Errorf("unit %d: Size %d, NAL units hold %d bytes", i, u.Size, size)
		}
		if u.Key && (len(u.NALUs) < 3 || !bytes.Equal(u.NALUs[0], tr.SPS) || !bytes.Equal(u.NALUs[1], tr.PPS)) {
			t.Errorf("unit %d: keyframe does not start with the track's SPS and PPS", i)
		}
		if u.DTS != u.PTS {
			t.Errorf("unit %d: DTS %d != PTS %d", i, u.DTS, u.PTS)
		}
		if i > 0 && u.Media == units[i-1].Media && u.PTS-units[i-1].PTS != step {
			t.Errorf("unit %d: PTS step %d, want %d", i, u.PTS-units[i-1].PTS, step)
		}
	}
}

func TestSimH264(t *testing.T) {
	t.Parallel()
	const fps = 50
	s := startSim(t, sim.Config{Cameras: 1, FPS: fps})
	reg := prometheus.NewRegistry()
	h := newHarness(t, staticResolver(Target{URL: s.URL(1)}), func(c *Config) { c.Registerer = reg })
	sink := &recSink{}
	h.run(t, "cam1", sink)
	waitFor(t, 10*time.Second, "100 units", func() bool { return sink.count("") >= 100 })

	medias, units, off := sink.snapshot()
	if len(off) != 0 {
		t.Errorf("SetOffline called: %v", off)
	}
	v := medias[0].Video()
	if v == nil || v.Codec != hub.CodecH264 || v.Width != 640 || v.Height != 360 || v.SPS == nil || v.PPS == nil || v.ClockRate != 90000 {
		t.Fatalf("media video track = %+v, want H.264 640x360 with SPS and PPS", v)
	}
	if len(medias[0].Tracks) != 1 {
		t.Errorf("%d tracks, want 1", len(medias[0].Tracks))
	}
	checkH264Units(t, units, fps)
	var keys int
	for _, u := range units {
		if u.Key {
			keys++
		}
	}
	if keys < 2 {
		t.Errorf("%d keyframes in %d units, want several", keys, len(units))
	}

	hl, ok := h.in.Health("cam1")
	if !ok || hl.State != StateOnline {
		t.Fatalf("Health = %+v, %v; want online", hl, ok)
	}
	if hl.FPS < fps*0.7 || hl.FPS > fps*1.3 {
		t.Errorf("Health.FPS = %.1f, want about %d", hl.FPS, fps)
	}
	if hl.Bitrate < 100_000 {
		t.Errorf("Health.Bitrate = %.0f, want the clip's ~250 kbit/s", hl.Bitrate)
	}
	if hl.LastKeyframe.IsZero() || hl.Since.IsZero() || hl.Reconnects != 0 {
		t.Errorf("Health = %+v, want a last keyframe, a since and no reconnects", hl)
	}
	if got := metricValue(t, h.in.met.cameras[StateOnline]); got != 1 {
		t.Errorf("argus_ingest_cameras{state=online} = %v, want 1", got)
	}
	if got := metricValue(t, h.in.met.frames); got < 50 {
		t.Errorf("argus_ingest_frames_total = %v, want the units of the first windows", got)
	}
	if got := metricValue(t, h.in.met.bytes); got <= 0 {
		t.Errorf("argus_ingest_bytes_total = %v, want > 0", got)
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	series := 0
	for _, f := range fams {
		if !strings.HasPrefix(f.GetName(), "argus_ingest_") {
			t.Errorf("unexpected metric %s", f.GetName())
		}
		series += len(f.GetMetric())
	}
	if series != 6+3 {
		t.Errorf("registry holds %d series, want 9 (6 states, 3 totals): no per-camera series", series)
	}
	if got := h.events.all(); len(got) != 2 || got[0].To != StateConnecting || got[1].To != StateOnline || got[1].CameraID != "cam1" {
		t.Errorf("events = %+v, want connecting, online", got)
	}
}

func TestSimTransportAuto(t *testing.T) {
	t.Parallel()
	// The simulator serves TCP only: "auto" tries UDP, is refused, and
	// goes on over TCP.
	s := startSim(t, sim.Config{Cameras: 1, FPS: 50})
	h := newHarness(t, staticResolver(Target{URL: s.URL(1), Transport: TransportAuto}), nil)
	sink := &recSink{}
	h.run(t, "cam1", sink)
	waitFor(t, 10*time.Second, "units over the TCP fallback", func() bool { return sink.count("") >= 20 })
	if !strings.Contains(h.logs.String(), `"transport":"TCP"`) {
		t.Errorf("log does not show the session on TCP:\n%s", h.logs.String())
	}
}

func TestSimFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		fail string
		// wantState must be entered (from online) before the camera is
		// online again and units resume.
		wantState State
		// offlineOnce: the sink hears of the outage once, however many
		// attempts fail within it (a stalled camera that accepts PLAY
		// starts a new outage with every session).
		offlineOnce bool
	}{
		{"drop", "1:drop:after=1500ms,for=700ms", StateOffline, true},
		{"stall", "1:stall:after=1500ms,for=1s", StateStalled, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// GOP 0.5 s, so that a keyframe arrives within keyframeWaits
			// stall timeouts of connecting.
			s := startSim(t, sim.Config{Cameras: 1, FPS: 100, Failures: simFailures(t, tt.fail)})
			h := newHarness(t, staticResolver(Target{URL: s.URL(1)}), func(c *Config) { c.StallTimeout = 300 * time.Millisecond })
			sink := &recSink{}
			h.run(t, "cam1", sink)
			waitFor(t, 10*time.Second, "the failure", func() bool { return h.events.count(StateOnline, tt.wantState) > 0 })
			lost := time.Now()
			waitFor(t, 10*time.Second, "online again", func() bool {
				return h.state("cam1") == StateOnline && h.events.count(StateConnecting, StateOnline) >= 2
			})
			waitFor(t, 10*time.Second, "units after the failure", func() bool {
				_, us, _ := sink.snapshot()
				return len(us) > 0 && us[len(us)-1].Wall.After(lost.Add(200*time.Millisecond))
			})
			_, units, off := sink.snapshot()
			if len(off) == 0 || (tt.offlineOnce && len(off) != 1) {
				t.Errorf("SetOffline called %d times: %v", len(off), off)
			}
			if attempts := h.events.count(StateConnecting, ""); tt.offlineOnce && attempts < 3 {
				t.Errorf("%d connection attempts, want several within the outage", attempts)
			}
			hl, _ := h.in.Health("cam1")
			if hl.Reconnects < 1 || hl.LastError == "" {
				t.Errorf("Health = %+v, want reconnects and a last error", hl)
			}
			// Units resume on a keyframe with a later timeline.
			for i := 1; i < len(units); i++ {
				if units[i].Wall.After(lost) && !units[i-1].Wall.After(lost) {
					if !units[i].Key {
						t.Errorf("first unit after the failure is not a keyframe")
					}
				}
				if units[i].DTS < units[i-1].DTS {
					t.Errorf("unit %d: DTS went back from %d to %d", i, units[i-1].DTS, units[i].DTS)
				}
			}
		})
	}
}

func TestSimGarbage(t *testing.T) {
	t.Parallel()
	const fps = 50
	s := startSim(t, sim.Config{Cameras: 1, FPS: fps, Failures: simFailures(t, "1:garbage:for=2s")})
	h := newHarness(t, staticResolver(Target{URL: s.URL(1)}), nil)
	sink := &recSink{}
	h.run(t, "cam1", sink)
	waitFor(t, 10*time.Second, "units during and after the garbage", func() bool {
		_, us, _ := sink.snapshot()
		return len(us) > 0 && time.Since(us[0].Wall) > 3*time.Second
	})
	_, units, off := sink.snapshot()
	if len(off) != 0 {
		t.Errorf("garbage took the camera offline: %v", off)
	}
	if got := h.events.all(); len(got) != 2 {
		t.Errorf("events = %+v, want only connecting and online", got)
	}
	// The sim's garbage shares the frames' timestamps, so the units keep
	// their cadence; the malformed NAL units never reach the hub.
	checkH264Units(t, units, fps)
	if !strings.Contains(h.logs.String(), "decode_errors") {
		t.Errorf("no decode errors logged during the garbage")
	}
}

func TestSimFlapping(t *testing.T) {
	// Not parallel: it counts the process's goroutines.
	const cycles = 200
	s := startSim(t, sim.Config{Cameras: 1, FPS: 100, Failures: simFailures(t, "1:drop:after=50ms,for=15ms,every=50ms")})
	before := runtime.NumGoroutine()
	h := newHarness(t, staticResolver(Target{URL: s.URL(1)}), func(c *Config) {
		c.Backoff = Backoff{Min: time.Millisecond, Max: 5 * time.Millisecond}
	})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- h.in.Run(ctx, "cam1", &recSink{}) }()
	waitFor(t, 60*time.Second, "200 disconnect/reconnect cycles", func() bool {
		return h.events.count(StateOnline, "") >= cycles
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run returned %v", err)
	}
	if _, ok := h.in.Health("cam1"); ok {
		t.Errorf("Health still reports the camera after Run returned")
	}
	for _, st := range allStates() {
		if got := metricValue(t, h.in.met.cameras[st]); got != 0 {
			t.Errorf("argus_ingest_cameras{state=%s} = %v after Run returned, want 0", st, got)
		}
	}
	checkGoroutines(t, before)
}
