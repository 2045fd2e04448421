package sim

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"argus/internal/seiclock"
	"argus/internal/sim/clips"
)

// firstVCL returns the first slice NAL unit of an access unit.
func firstVCL(au [][]byte) []byte {
	for _, n := range au {
		if t := n[0] & 0x1f; t == naluSlice || t == naluIDR {
			return n
		}
	}
	return nil
}

func TestPlayAcrossLoop(t *testing.T) {
	t.Parallel()
	clip, _ := clips.Lookup(clips.Default)
	// Camera 1 starts at clip frame 0 plus Seek: the loop comes 1 s in.
	s := startSim(t, Config{Cameras: 1, Seek: clip.Duration() - time.Second})
	p := play(t, s.URL(1))

	var sps h264.SPS
	if err := sps.Unmarshal(p.forma.SPS); err != nil {
		t.Fatalf("SPS from the SDP: %v", err)
	}
	if sps.Width() != clip.Width || sps.Height() != clip.Height {
		t.Fatalf("SDP SPS is %dx%d, want %dx%d", sps.Width(), sps.Height(), clip.Width, clip.Height)
	}
	if p.forma.PPS == nil {
		t.Fatal("no PPS in the SDP")
	}

	want := 3*clip.FPS + 1 // 3 s of frame intervals
	waitFor(t, 8*time.Second, "3 s of media", func() bool { return p.numAUs() >= want })
	_, aus, decodeErrs := p.snapshot()
	if decodeErrs != 0 {
		t.Errorf("%d depacketization errors", decodeErrs)
	}

	step := uint32(clockRate / clip.FPS)
	first, last := s.media.frames[0].vcl[0], s.media.frames[len(s.media.frames)-1].vcl[0]
	loops, idrs := 0, 0
	for i, a := range aus {
		if i == 0 {
			continue // the first AU may have been joined mid-frame
		}
		stamp, ok := seiclock.ParseAccessUnit(a.au)
		if !ok {
			t.Fatalf("AU %d: no SEI wall-clock stamp", i)
		}
		if d := a.at.Sub(stamp).Abs(); d > time.Second {
			t.Errorf("AU %d: stamp %v is %v from its arrival", i, stamp, d)
		}
		if a.idr {
			idrs++
			if len(a.au) < 3 || !bytes.Equal(a.au[0], p.forma.SPS) || !bytes.Equal(a.au[1], p.forma.PPS) {
				t.Errorf("AU %d: IDR without the SDP's SPS and PPS in band before it", i)
			}
		}
		if d := a.ts - aus[i-1].ts; d != step {
			t.Errorf("AU %d: RTP timestamp advanced by %d, want %d", i, d, step)
		}
		if bytes.Equal(firstVCL(a.au), first) && bytes.Equal(firstVCL(aus[i-1].au), last) {
			loops++
		}
	}
	if loops != 1 {
		t.Errorf("saw %d loop boundaries in %d AUs, want 1", loops, len(aus))
	}
	if idrs == 0 {
		t.Error("no IDR received")
	}
}

func TestKeyframesDoNotAlign(t *testing.T) {
	t.Parallel()
	clip, _ := clips.Lookup(clips.Default)
	s := startSim(t, Config{Cameras: 2})
	p1, p2 := play(t, s.URL(1)), play(t, s.URL(2))
	firstIDR := func(p *player) (time.Time, bool) {
		_, aus, _ := p.snapshot()
		for _, a := range aus {
			if a.idr {
				return seiclock.ParseAccessUnit(a.au)
			}
		}
		return time.Time{}, false
	}
	var t1, t2 time.Time
	waitFor(t, 3*clip.GOPDuration(), "an IDR from both cameras", func() bool {
		var ok1, ok2 bool
		t1, ok1 = firstIDR(p1)
		t2, ok2 = firstIDR(p2)
		return ok1 && ok2
	})
	gop := clip.GOPDuration()
	d := t1.Sub(t2).Abs() % gop
	if d = min(d, gop-d); d < 200*time.Millisecond {
		t.Fatalf("IDRs of cameras 1 and 2 are %v apart modulo the %v GOP", d, gop)
	}
}

func TestCameraSpread(t *testing.T) {
	t.Parallel()
	s, err := New(Config{Cameras: 100, Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	gop := int64(s.media.clip.GOP)
	slots := map[int64]int{}
	for _, c := range s.cams {
		slots[c.offset%gop]++
		if c.phase < 0 || c.phase >= time.Second/time.Duration(s.fps) {
			t.Errorf("camera %d: phase %v outside one frame", c.n, c.phase)
		}
	}
	for slot, n := range slots {
		if n > 4 {
			t.Errorf("%d of 100 cameras have their IDR at GOP position %d", n, slot)
		}
	}
}

func TestFFprobe(t *testing.T) {
	t.Parallel()
	ffprobe, err := exec.LookPath("ffprobe")
	if err != nil {
		if os.Getenv("ARGUS_REQUIRE_TOOLS") == "1" {
			t.Fatalf("ffprobe required: %v", err)
		}
		t.Skip("ffprobe not on PATH")
	}
	tests := []struct {
		clip string
		fps  int
		want string // r_frame_rate
	}{
		{clips.Default, 0, "25/1"},
		{"720p-gop2", 30, "30/1"},
	}
	for _, tt := range tests {
		t.Run(tt.clip, func(t *testing.T) {
			t.Parallel()
			clip, _ := clips.Lookup(tt.clip)
			// ffprobe waits for an IDR: put camera 1's next one 0.5 s
			// after Start (clip frame 0), not up to a GOP away.
			fps := cmp.Or(tt.fps, clip.FPS)
			seek := time.Duration(clip.Frames)*time.Second/time.Duration(fps) - 500*time.Millisecond
			s := startSim(t, Config{Cameras: 1, Clip: tt.clip, FPS: tt.fps, Seek: seek})
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, ffprobe, "-v", "error", "-rtsp_transport", "tcp",
				"-select_streams", "v:0", "-show_entries", "stream=codec_name,width,height,r_frame_rate",
				"-of", "json", s.URL(1))
			var stderr bytes.Buffer
			cmd.Stderr = &stderr // decoder warnings when joined before an IDR
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("ffprobe: %v\n%s", err, stderr.Bytes())
			}
			var got struct {
				Streams []struct {
					CodecName  string `json:"codec_name"`
					Width      int    `json:"width"`
					Height     int    `json:"height"`
					RFrameRate string `json:"r_frame_rate"`
				} `json:"streams"`
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("ffprobe output %q: %v", out, err)
			}
			if len(got.Streams) != 1 {
				t.Fatalf("ffprobe found %d streams: %s", len(got.Streams), out)
			}
			st := got.Streams[0]
			if st.CodecName != "h264" || st.Width != clip.Width || st.Height != clip.Height || st.RFrameRate != tt.want {
				t.Fatalf("ffprobe: %+v, want h264 %dx%d at %s", st, clip.Width, clip.Height, tt.want)
			}
		})
	}
}

func TestBitratePadding(t *testing.T) {
	t.Parallel()
	const target, fps = 2_000_000, 50 // 50 fps: a GOP of frames in 1 s
	clip, _ := clips.Lookup(clips.Default)
	s := startSim(t, Config{Cameras: 1, Bitrate: target, FPS: fps})
	p := play(t, s.URL(1))
	// One GOP of consecutive frames, after the first (possibly joined late).
	n := clip.GOP
	waitFor(t, time.Duration(n)*time.Second/fps+3*time.Second,
		"a GOP of frames", func() bool { return p.numAUs() >= n+1 })
	_, aus, _ := p.snapshot()
	total, fillers := 0, 0
	for _, a := range aus[1 : n+1] {
		for _, nalu := range a.au {
			total += len(nalu)
			if nalu[0]&0x1f == naluFiller {
				fillers++
			}
		}
	}
	got := float64(total) * 8 * fps / float64(n)
	if got < 0.9*target || got > 1.1*target {
		t.Fatalf("measured %.0f bit/s over %d frames, want %d ± 10%%", got, n, target)
	}
	if fillers != n {
		t.Errorf("%d filler NAL units in %d frames", fillers, n)
	}
	t.Logf("measured %.0f bit/s over %d frames", got, n)
}

func TestFailModes(t *testing.T) {
	t.Parallel()
	t.Run("drop", func(t *testing.T) {
		t.Parallel()
		const after, dur = 500 * time.Millisecond, 500 * time.Millisecond
		s := startSim(t, Config{Cameras: 2, Failures: []Failure{{Camera: 1, Mode: FailDrop, After: after, For: dur}}})
		p := play(t, s.URL(1))
		waitFor(t, after, "an AU before the drop", func() bool { return p.numAUs() > 0 })
		select {
		case <-p.done:
		case <-time.After(after + time.Second):
			t.Fatal("session not closed by the drop")
		}
		if time.Since(s.epoch) < after {
			t.Fatalf("session closed %v after start, before the drop", time.Since(s.epoch))
		}
		_, err := dial(t, s.URL(1))
		if el := time.Since(s.epoch); el < after+dur && statusCode(err) != base.StatusServiceUnavailable {
			t.Fatalf("play during the drop (%v after start): err = %v, want 503", el, err)
		}
		// Other cameras stay up.
		p2 := play(t, s.URL(2))
		waitFor(t, 2*time.Second, "an AU from camera 2", func() bool { return p2.numAUs() > 0 })
		// Camera 1 comes back.
		var back *player
		waitFor(t, after+dur+2*time.Second, "camera 1 to come back", func() bool {
			back, err = dial(t, s.URL(1))
			return err == nil
		})
		if el := time.Since(s.epoch); el < after+dur {
			t.Fatalf("camera 1 accepted a session %v after start, during the drop", el)
		}
		waitFor(t, 2*time.Second, "an AU after the drop", func() bool { return back.numAUs() > 0 })
	})
	t.Run("stall", func(t *testing.T) {
		t.Parallel()
		const after, dur = 300 * time.Millisecond, 500 * time.Millisecond
		s := startSim(t, Config{Cameras: 1, Failures: []Failure{{Camera: 1, Mode: FailStall, After: after, For: dur}}})
		p := play(t, s.URL(1))
		stallEnd := s.epoch.Add(after + dur)
		waitFor(t, after+dur+3*time.Second, "packets after the stall", func() bool {
			pkts, _, _ := p.snapshot()
			return len(pkts) > 0 && pkts[len(pkts)-1].at.After(stallEnd)
		})
		pkts, _, _ := p.snapshot()
		if !pkts[0].at.Before(s.epoch.Add(after)) {
			t.Fatalf("first packet %v after start, not before the stall", pkts[0].at.Sub(s.epoch))
		}
		maxGap, gapTS := time.Duration(0), uint32(0)
		for i := 1; i < len(pkts); i++ {
			if at := pkts[i].at.Sub(s.epoch); at > after+50*time.Millisecond && at < after+dur-50*time.Millisecond {
				t.Fatalf("packet %d arrived %v after start, during the stall", i, at)
			}
			if g := pkts[i].at.Sub(pkts[i-1].at); g > maxGap {
				maxGap, gapTS = g, pkts[i].ts-pkts[i-1].ts
			}
		}
		if maxGap < dur-100*time.Millisecond {
			t.Fatalf("longest gap between packets %v, want about %v", maxGap, dur)
		}
		// Media time ran on through the stall.
		if want := uint32(dur.Seconds() * clockRate); gapTS < want*8/10 {
			t.Errorf("RTP timestamp advanced %d over the stall, want about %d", gapTS, want)
		}
		select {
		case err := <-p.done:
			t.Fatalf("session closed by a stall: %v", err)
		default:
		}
	})
	t.Run("garbage", func(t *testing.T) {
		t.Parallel()
		s := startSim(t, Config{Cameras: 1, Failures: []Failure{{Camera: 1, Mode: FailGarbage}}})
		p := play(t, s.URL(1))
		waitFor(t, 3*time.Second, "20 AUs", func() bool { return p.numAUs() >= 20 })
		pkts, aus, _ := p.snapshot()
		var forbidden, reserved, unendedFUA int
		for i, pk := range pkts {
			if len(pk.payload) == 0 {
				continue
			}
			typ := pk.payload[0] & 0x1f
			switch {
			case pk.payload[0]&0x80 != 0:
				forbidden++
			case typ == 0 || typ == 30 || typ == 31:
				reserved++
			case typ == naluFUA && len(pk.payload) > 1 && pk.payload[1]&0x80 != 0 &&
				i+1 < len(pkts) && len(pkts[i+1].payload) > 0 && pkts[i+1].payload[0]&0x1f != naluFUA:
				unendedFUA++
			}
		}
		if forbidden == 0 || reserved == 0 || unendedFUA == 0 {
			t.Fatalf("malformed payloads: %d with the forbidden bit, %d reserved types, %d unended FU-A",
				forbidden, reserved, unendedFUA)
		}
		good := 0
		for _, a := range aus {
			if _, ok := seiclock.ParseAccessUnit(a.au); ok {
				good++
			}
		}
		if good < 15 {
			t.Fatalf("only %d of %d AUs carry a stamp", good, len(aus))
		}
	})
}

func TestPaths(t *testing.T) {
	t.Parallel()
	s := startSim(t, Config{Cameras: 3})
	for _, path := range []string{"/sim/0", "/sim/4", "/sim/01", "/sim/1x", "/sim/", "/other", "/sim/1/2"} {
		url := "rtsp://" + s.Addr() + path
		if _, err := dial(t, url); statusCode(err) != base.StatusNotFound {
			t.Errorf("%s: err = %v, want 404", path, err)
		}
	}
	if got, want := s.URL(3), "rtsp://"+s.Addr()+"/sim/3"; got != want {
		t.Errorf("URL(3) = %q, want %q", got, want)
	}
	if strings.HasSuffix(s.Addr(), ":0") {
		t.Errorf("Addr() = %q, want the real port", s.Addr())
	}
}

// TestCloseLeavesNoGoroutines is not parallel, so nothing else runs.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := numGoroutines()
	s := startSim(t, Config{Cameras: 3, Failures: []Failure{{Camera: 2, Mode: FailGarbage}}})
	p1, p2 := play(t, s.URL(1)), play(t, s.URL(2))
	waitFor(t, 3*time.Second, "AUs", func() bool { return p1.numAUs() > 0 && p2.numAUs() > 0 })
	p1.close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	select {
	case <-p2.done:
	case <-time.After(5 * time.Second):
		t.Fatal("client still connected after Close")
	}
	p2.close()
	waitGoroutines(t, before)
}

func TestStartCancel(t *testing.T) {
	before := numGoroutines()
	s, err := New(Config{Cameras: 2, Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx); err == nil {
		t.Fatal("second Start succeeded")
	}
	cancel()
	waitGoroutines(t, before)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	ok := Config{Cameras: 3, Listen: "127.0.0.1:0"}
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no cameras", func(c *Config) { c.Cameras = 0 }, "invalid sim config: Cameras: must be at least 1, got 0"},
		{"no listen", func(c *Config) { c.Listen = "" }, "invalid sim config: Listen: missing address"},
		{"unknown clip", func(c *Config) { c.Clip = "4k" },
			`invalid sim config: Clip: unknown clip "4k" (have 360p-gop2, 360p-gop4, 720p-gop2, 720p-gop4, 90p-gop0.2)`},
		{"negative fps", func(c *Config) { c.FPS = -1 }, "invalid sim config: FPS: must be 0 (the clip's rate) or 1..120, got -1"},
		{"huge fps", func(c *Config) { c.FPS = 1000 }, "invalid sim config: FPS: must be 0 (the clip's rate) or 1..120, got 1000"},
		{"negative bitrate", func(c *Config) { c.Bitrate = -1 }, "invalid sim config: Bitrate: must not be negative, got -1"},
		{"negative seek", func(c *Config) { c.Seek = -time.Second }, "invalid sim config: Seek: must not be negative, got -1s"},
		{"failure out of range", func(c *Config) { c.Failures = []Failure{{Camera: 4, Mode: FailDrop}} },
			"invalid sim config: Failures[0]: camera 4 out of range 1..3"},
		{"failure bad mode", func(c *Config) { c.Failures = []Failure{{Camera: 1, Mode: "melt"}} },
			`invalid sim config: Failures[0]: unknown mode "melt" (want drop, stall or garbage)`},
		{"failure every without for", func(c *Config) { c.Failures = []Failure{{Camera: 1, Mode: FailDrop, Every: time.Second}} },
			"invalid sim config: Failures[0]: every needs for"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.edit(&cfg)
			_, err := New(cfg)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("New: %v\nwant: %s", err, tt.want)
			}
		})
	}
	if _, err := New(ok); err != nil {
		t.Fatalf("New(valid): %v", err)
	}
}
