package ingest

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5/pkg/format"

	"argus/internal/hub"
)

// checkVideoUnits checks the video units from a test camera playing c:
// keyframes on IDR/IRAP only and self-contained, DTS monotonic and not
// after PTS, and the PTS of each GOP, sorted, a gapless run of frames.
func checkVideoUnits(t *testing.T, c *clip, units []*hub.Unit) {
	t.Helper()
	if len(units) < 60 {
		t.Fatalf("%d video units, want at least 60", len(units))
	}
	if !units[0].Key {
		t.Errorf("first video unit is not a keyframe")
	}
	var gop []int64
	checkGOP := func() {
		slices.Sort(gop)
		for i := 1; i < len(gop); i++ {
			if gop[i]-gop[i-1] != 3600 {
				t.Errorf("GOP PTS %v: not a run of 3600-tick frames", gop)
				return
			}
		}
	}
	for i, u := range units {
		tr := u.Media.Tracks[u.Track]
		if tr.Codec != c.codec {
			t.Fatalf("unit %d: codec %s, want %s", i, tr.Codec, c.codec)
		}
		if u.Key != hasKeyNALU(c.codec, u.NALUs) {
			t.Errorf("unit %d: Key=%v, keyframe NAL unit present=%v", i, u.Key, !u.Key)
		}
		if u.Key {
			want := [][]byte{tr.SPS, tr.PPS}
			if c.codec == hub.CodecH265 {
				want = [][]byte{tr.VPS, tr.SPS, tr.PPS}
			}
			got := u.NALUs[1:] // after the access unit delimiter
			if len(got) < len(want)+1 || !slices.EqualFunc(got[:len(want)], want, bytes.Equal) {
				t.Errorf("unit %d: keyframe does not carry the track's parameter sets after its AUD", i)
			}
			if i > 0 {
				checkGOP()
			}
			gop = gop[:0]
		}
		gop = append(gop, u.PTS)
		if u.DTS > u.PTS {
			t.Errorf("unit %d: DTS %d after PTS %d", i, u.DTS, u.PTS)
		}
		if i > 0 && u.DTS <= units[i-1].DTS {
			t.Errorf("unit %d: DTS %d not after %d", i, u.DTS, units[i-1].DTS)
		}
	}
}

// checkAudioUnits checks that the audio units are a contiguous run of the
// frames the camera sent, untouched, with PTS rising one frame at a time.
func checkAudioUnits(t *testing.T, codec hub.Codec, units []*hub.Unit, sent [][]byte) {
	t.Helper()
	if len(units) < 20 {
		t.Fatalf("%d audio units, want at least 20", len(units))
	}
	first := slices.IndexFunc(sent, func(b []byte) bool { return bytes.Equal(b, units[0].Payload) })
	if first < 0 {
		t.Fatalf("first audio unit % x was never sent", units[0].Payload[:8])
	}
	step := audioFrameTicks(codec)
	for i, u := range units {
		if first+i >= len(sent) || !bytes.Equal(u.Payload, sent[first+i]) {
			t.Fatalf("audio unit %d is not sent frame %d", i, first+i)
		}
		if u.Size != len(u.Payload) || u.Key || u.NALUs != nil || u.DTS != u.PTS {
			t.Errorf("audio unit %d: Size %d, Key %v, NALUs %v, DTS %d, PTS %d", i, u.Size, u.Key, u.NALUs, u.DTS, u.PTS)
		}
		if i > 0 && u.PTS-units[i-1].PTS != step {
			t.Errorf("audio unit %d: PTS step %d, want %d", i, u.PTS-units[i-1].PTS, step)
		}
	}
}

func TestCodecs(t *testing.T) {
	t.Parallel()
	h264b := loadClip(t, "h264-160x96-bframes.h264")
	h264 := loadClip(t, "h264-192x112.h264")
	h265 := loadClip(t, "h265-160x96-bframes.hevc")
	tests := []struct {
		name          string
		clip          *clip
		width, height int
		audio         hub.Codec
		sampleRate    int
		channels      int
	}{
		{"h264 b-frames and aac", h264b, 160, 96, hub.CodecAAC, 48000, 2},
		{"h264 baseline and pcma", h264, 192, 112, hub.CodecPCMA, 8000, 1},
		{"h265 b-frames and pcmu", h265, 160, 96, hub.CodecPCMU, 8000, 1},
		{"h265 b-frames and opus", h265, 160, 96, hub.CodecOpus, 48000, 2},
		{"opus only", nil, 0, 0, hub.CodecOpus, 48000, 2},
		{"aac only", nil, 0, 0, hub.CodecAAC, 48000, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := camConfig{audio: tt.audio}
			if tt.clip != nil {
				cfg.clips = []*clip{tt.clip}
			}
			cam := startTestCam(t, cfg)
			h := newHarness(t, staticResolver(Target{URL: cam.url}), nil)
			sink := &recSink{}
			h.run(t, "cam", sink)
			waitFor(t, 10*time.Second, "units", func() bool {
				return (tt.clip == nil || sink.count(tt.clip.codec) >= 100) && sink.count(tt.audio) >= 40
			})
			medias, units, off := sink.snapshot()
			if len(off) != 0 {
				t.Errorf("SetOffline called: %v", off)
			}
			if len(medias) != 1 {
				t.Errorf("%d Media published, want 1", len(medias))
			}
			m := medias[0]
			var audio []*hub.Unit
			for _, u := range units {
				if u.Track >= len(m.Tracks) || m.Tracks[u.Track].ID != u.Track {
					t.Fatalf("unit with track %d of %d", u.Track, len(m.Tracks))
				}
				if !m.Tracks[u.Track].Codec.IsVideo() {
					audio = append(audio, u)
				}
			}
			if tt.clip != nil {
				v := m.Video()
				if v == nil || v.Codec != tt.clip.codec || v.Width != tt.width || v.Height != tt.height ||
					!bytes.Equal(v.SPS, tt.clip.sps) || !bytes.Equal(v.PPS, tt.clip.pps) || !bytes.Equal(v.VPS, tt.clip.vps) {
					t.Fatalf("video track %+v, want %s %dx%d with the clip's parameter sets", v, tt.clip.codec, tt.width, tt.height)
				}
				video := videoUnits(units)
				checkVideoUnits(t, tt.clip, video)
				if audio[0].Wall.Before(video[0].Wall) {
					t.Errorf("audio started before the first video keyframe")
				}
			}
			a := m.Tracks[len(m.Tracks)-1]
			if a.Codec != tt.audio || a.SampleRate != tt.sampleRate || a.Channels != tt.channels || a.ClockRate != tt.sampleRate {
				t.Errorf("audio track %+v, want %s %d Hz %d channels", a, tt.audio, tt.sampleRate, tt.channels)
			}
			if (tt.audio == hub.CodecAAC) != (len(a.AudioConfig) > 0) {
				t.Errorf("AudioConfig % x for %s", a.AudioConfig, tt.audio)
			}
			checkAudioUnits(t, tt.audio, audio, cam.audioSent())
		})
	}
}

func TestParameterSets(t *testing.T) {
	t.Parallel()
	h264 := loadClip(t, "h264-192x112.h264")
	h265 := loadClip(t, "h265-160x96-bframes.hevc")
	tests := []struct {
		name string
		cfg  camConfig
		c    *clip
	}{
		// Keyframes without in-band parameter sets get the SDP's.
		{"h264 from the SDP", camConfig{clips: []*clip{h264.stripParams()}}, h264},
		{"h265 from the SDP", camConfig{clips: []*clip{h265.stripParams()}}, h265},
		// An SDP without them: the first keyframe's are published.
		{"h264 in band only", camConfig{clips: []*clip{h264}, noSDPParams: true}, h264},
		{"h265 in band only", camConfig{clips: []*clip{h265}, noSDPParams: true}, h265},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cam := startTestCam(t, tt.cfg)
			h := newHarness(t, staticResolver(Target{URL: cam.url}), nil)
			sink := &recSink{}
			h.run(t, "cam", sink)
			waitFor(t, 10*time.Second, "units", func() bool { return sink.count("") >= 80 })
			medias, units, _ := sink.snapshot()
			v := medias[0].Video()
			if !bytes.Equal(v.SPS, tt.c.sps) || !bytes.Equal(v.PPS, tt.c.pps) || !bytes.Equal(v.VPS, tt.c.vps) || v.Width == 0 {
				t.Fatalf("video track %+v lacks the clip's parameter sets", v)
			}
			checkVideoUnits(t, tt.c, units)
		})
	}
}

func TestResolutionChange(t *testing.T) {
	t.Parallel()
	a := loadClip(t, "h264-160x96-bframes.h264")
	b := loadClip(t, "h264-192x112.h264")
	cam := startTestCam(t, camConfig{clips: []*clip{a, b}})
	h := newHarness(t, staticResolver(Target{URL: cam.url}), nil)
	sink := &recSink{}
	h.run(t, "cam", sink)
	waitFor(t, 15*time.Second, "two changes of resolution", func() bool {
		ms, _, _ := sink.snapshot()
		return len(ms) >= 3
	})
	medias, units, _ := sink.snapshot()
	for i := 1; i < len(medias); i++ {
		p, c := medias[i-1].Video(), medias[i].Video()
		if p.Width == c.Width || bytes.Equal(p.SPS, c.SPS) {
			t.Errorf("Media %d (%dx%d) repeats Media %d (%dx%d)", i, c.Width, c.Height, i-1, p.Width, p.Height)
		}
		if c.Width != 160 && c.Width != 192 {
			t.Errorf("Media %d: width %d", i, c.Width)
		}
	}
	for i, u := range units {
		if i > 0 && u.Media != units[i-1].Media && !u.Key {
			t.Errorf("unit %d: first unit of a new Media is not a keyframe", i)
		}
		if tr := u.Media.Video(); u.Key && !bytes.Equal(u.NALUs[1], tr.SPS) {
			t.Errorf("unit %d: keyframe's SPS is not its Media's", i)
		}
	}
}

func TestUnsupportedCodec(t *testing.T) {
	t.Parallel()
	cam := startTestCam(t, camConfig{only: &format.MJPEG{}})
	h := newHarness(t, staticResolver(Target{URL: cam.url}), nil)
	sink := &recSink{}
	h.run(t, "cam", sink)
	waitFor(t, 10*time.Second, "unsupported_codec", func() bool { return h.state("cam") == StateUnsupportedCodec })
	_, _, off := sink.snapshot()
	if len(off) == 0 || !strings.Contains(off[0].Error(), "no supported codec") {
		t.Errorf("SetOffline got %v, want the unsupported codec error", off)
	}
	hl, _ := h.in.Health("cam")
	if !strings.Contains(hl.LastError, "JPEG") {
		t.Errorf("LastError %q does not name the codec on offer", hl.LastError)
	}
	if h.events.count(StateConnecting, StateUnsupportedCodec) == 0 {
		t.Errorf("no connecting→unsupported_codec event")
	}
}

func TestNoKeyframe(t *testing.T) {
	t.Parallel()
	c := loadClip(t, "h264-192x112.h264")
	var noKeys clip
	noKeys = *c
	noKeys.frames = nil
	for _, f := range c.frames {
		if !hasKeyNALU(hub.CodecH264, f.au) {
			noKeys.frames = append(noKeys.frames, f)
		}
	}
	cam := startTestCam(t, camConfig{clips: []*clip{&noKeys}})
	h := newHarness(t, staticResolver(Target{URL: cam.url}), func(c *Config) { c.StallTimeout = 200 * time.Millisecond })
	sink := &recSink{}
	h.run(t, "cam", sink)
	waitFor(t, 10*time.Second, "stalled", func() bool { return h.events.count(StateOnline, StateStalled) > 0 })
	waitFor(t, 10*time.Second, "a reconnect", func() bool { return h.events.count(StateStalled, StateConnecting) > 0 })
	hl, _ := h.in.Health("cam")
	if !strings.Contains(hl.LastError, "no keyframe") {
		t.Errorf("LastError %q, want it to say no keyframe came", hl.LastError)
	}
	if _, units, _ := sink.snapshot(); len(units) != 0 {
		t.Errorf("%d units written without a keyframe", len(units))
	}
}

func TestTransportUDP(t *testing.T) {
	t.Parallel()
	c := loadClip(t, "h264-192x112.h264")
	cam := startTestCam(t, camConfig{clips: []*clip{c}, audio: hub.CodecPCMU, udp: true})
	h := newHarness(t, staticResolver(Target{URL: cam.url, Transport: TransportUDP}), nil)
	sink := &recSink{}
	h.run(t, "cam", sink)
	waitFor(t, 10*time.Second, "units over UDP", func() bool { return sink.count(hub.CodecH264) >= 60 && sink.count(hub.CodecPCMU) >= 20 })
	if !strings.Contains(h.logs.String(), `"transport":"UDP"`) {
		t.Errorf("log does not show the session on UDP")
	}
	_, units, _ := sink.snapshot()
	checkVideoUnits(t, c, videoUnits(units))
}
