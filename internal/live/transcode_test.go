package live_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"argus"
	"argus/internal/hub"
	"argus/internal/live"
)

func TestBrowserStream(t *testing.T) {
	h264 := &hub.Media{Tracks: []*hub.Track{{Codec: hub.CodecH264}, {ID: 1, Codec: hub.CodecAAC}}}
	h265 := &hub.Media{Tracks: []*hub.Track{{Codec: hub.CodecAAC}, {ID: 1, Codec: hub.CodecH265}}}
	audio := &hub.Media{Tracks: []*hub.Track{{Codec: hub.CodecOpus}}}
	withSub := &argus.Camera{ID: "c", SubStreamURL: "rtsp://10.0.0.1/sub"}
	noSub := &argus.Camera{ID: "c"}
	for _, tc := range []struct {
		name   string
		cam    *argus.Camera
		media  *hub.Media
		stream string
		src    live.Source
	}{
		{"h264 is served as is", withSub, h264, "c", live.SourceMain},
		{"h265 with a sub-stream uses it", withSub, h265, "c~sub", live.SourceSub},
		{"h265 without a sub-stream is transcoded", noSub, h265, "c~h264", live.SourceTranscode},
		{"audio only is served as is", noSub, audio, "c", live.SourceMain},
		{"no media yet is served as is", noSub, nil, "c", live.SourceMain},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stream, src := live.BrowserStream(tc.cam, tc.media)
			if stream != tc.stream || src != tc.src {
				t.Fatalf("BrowserStream = %q, %q; want %q, %q", stream, src, tc.stream, tc.src)
			}
			if cam, _ := live.SplitStream(stream); cam != tc.cam.ID {
				t.Errorf("SplitStream(%q) camera = %q, want %q", stream, cam, tc.cam.ID)
			}
			if argus.ValidID(stream) != (tc.src == live.SourceMain) {
				t.Errorf("ValidID(%q) = %v: a derived stream id must never be a camera id", stream, argus.ValidID(stream))
			}
		})
	}
}

// requireFFmpeg skips the test without ffmpeg and ffprobe unless
// ARGUS_REQUIRE_TOOLS is set.
func requireFFmpeg(t *testing.T) {
	t.Helper()
	for _, bin := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(bin); err != nil {
			if os.Getenv("ARGUS_REQUIRE_TOOLS") != "" {
				t.Fatalf("%s required: %v", bin, err)
			}
			t.Skipf("%s not on PATH", bin)
		}
	}
}

// transcodeHub is a hub whose cameras are the H.265 clip and whose
// "~h264" streams are tc's transcodes.
func transcodeHub(t *testing.T, max int, reg prometheus.Registerer) (*hub.Hub, *live.Transcoder) {
	t.Helper()
	c := loadH265(t)
	var tc *live.Transcoder
	h, err := hub.New(hub.Config{Grace: 100 * time.Millisecond, Source: func(ctx context.Context, id string, sink hub.Sink) error {
		if cam, ok := strings.CutSuffix(id, live.TranscodeSuffix); ok {
			return tc.Run(ctx, cam, sink)
		}
		return c.source(ctx, sink)
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	if tc, err = live.NewTranscoder(live.TranscoderConfig{Hub: h, Max: max, Registerer: reg}); err != nil {
		t.Fatal(err)
	}
	return h, tc
}

func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestTranscoderServesH264WithInputTimestamps(t *testing.T) {
	requireFFmpeg(t)
	reg := prometheus.NewRegistry()
	h, tc := transcodeHub(t, 2, reg)
	clip := loadH265(t)
	inputPTS := map[int64]bool{}
	for _, f := range clip.frames {
		inputPTS[f.pts] = true
	}

	rd, err := h.Attach(t.Context(), "cam"+live.TranscodeSuffix, hub.ReaderOptions{Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var stream []byte
	var last int64 = -1
	for i := range 40 { // the clip's first loop: 50 frames, some still in ffmpeg
		u, err := rd.Read(ctx)
		if err != nil {
			t.Fatalf("unit %d: %v", i, err)
		}
		v := u.Media.Video()
		if v == nil || v.Codec != hub.CodecH264 || v.Width != 160 || v.Height != 96 {
			t.Fatalf("unit %d: media %+v, want H.264 160x96", i, v)
		}
		if i == 0 && !u.Key {
			t.Fatal("the first unit is not a keyframe")
		}
		if !inputPTS[u.PTS] || u.DTS != u.PTS || u.PTS <= last {
			t.Fatalf("unit %d: PTS %d DTS %d after %d: want an input PTS, rising, DTS = PTS", i, u.PTS, u.DTS, last)
		}
		last = u.PTS
		for _, n := range u.NALUs {
			stream = append(stream, 0, 0, 0, 1)
			stream = append(stream, n...)
		}
	}
	if n := gauge(t, reg, "argus_live_transcodes"); n != 1 || tc.Running() != 1 {
		t.Errorf("argus_live_transcodes = %v, Running = %d while transcoding; want 1", n, tc.Running())
	}

	// What came out is H.264 a decoder reads.
	file := filepath.Join(t.TempDir(), "out.h264")
	if err := os.WriteFile(file, stream, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-count_frames", "-show_streams", "-of", "json", file).Output()
	if err != nil {
		t.Fatalf("ffprobe: %v", err)
	}
	var p struct {
		Streams []struct {
			CodecName string `json:"codec_name"`
			Width     int    `json:"width"`
			Frames    string `json:"nb_read_frames"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Streams) != 1 || p.Streams[0].CodecName != "h264" || p.Streams[0].Width != 160 || p.Streams[0].Frames != "40" {
		t.Fatalf("ffprobe: %s; want one h264 stream, 160 wide, 40 frames", out)
	}

	rd.Close()
	waitFor(t, "the transcode to stop after its last reader", func() bool { return tc.Running() == 0 })
	if n := gauge(t, reg, "argus_live_transcodes"); n != 0 {
		t.Errorf("argus_live_transcodes = %v after teardown, want 0", n)
	}
	waitFor(t, "the main stream to be released", func() bool { _, ok := h.Stats("cam"); return !ok })
}

func TestTranscoderCap(t *testing.T) {
	requireFFmpeg(t)
	h, tc := transcodeHub(t, 1, nil)
	rd, err := h.Attach(t.Context(), "cam-1"+live.TranscodeSuffix, hub.ReaderOptions{Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if _, err := rd.Read(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tc.Admit("cam-1"); err != nil {
		t.Errorf("Admit of the camera transcoded already: %v", err)
	}
	err = tc.Admit("cam-2")
	if argus.ErrorCode(err) != argus.EUNAVAILABLE || !strings.Contains(argus.ErrorMessage(err), "transcode capacity reached") {
		t.Errorf("Admit beyond the cap = %v, want EUNAVAILABLE transcode capacity reached", err)
	}
	err = tc.Run(ctx, "cam-2", nil)
	if argus.ErrorCode(err) != argus.EUNAVAILABLE {
		t.Errorf("Run beyond the cap = %v, want EUNAVAILABLE", err)
	}
	if tc.Running() != 1 {
		t.Errorf("Running = %d, want 1", tc.Running())
	}
}
