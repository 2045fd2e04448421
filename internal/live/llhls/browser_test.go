package llhls_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"argus"
	"argus/internal/hub"
	"argus/internal/ingest"
	"argus/internal/live"
	"argus/internal/live/llhls"
	"argus/internal/sim"
	"argus/internal/sim/clips"
)

// browserChain serves H.265 cameras over LL-HLS: hevc-sub (whose
// sub-stream is the simulator's H.264 camera) and hevc-1, hevc-2 (without
// one, so transcoded), all playing the H.265 test clip.
type browserChain struct {
	hub *hub.Hub
	tc  *live.Transcoder
	svc *llhls.Service
	srv *httptest.Server
}

func newBrowserChain(t *testing.T, maxTranscodes int) *browserChain {
	t.Helper()
	for _, bin := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(bin); err != nil {
			if os.Getenv("ARGUS_REQUIRE_TOOLS") != "" {
				t.Fatalf("%s required: %v", bin, err)
			}
			t.Skipf("%s not on PATH", bin)
		}
	}
	clip := loadH265Clip(t)
	s, err := sim.New(sim.Config{Cameras: 1, Listen: "127.0.0.1:0", Clip: "360p-gop2"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	in, err := ingest.New(ingest.Config{Resolve: func(_ context.Context, id string) (ingest.Target, error) {
		if id != "hevc-sub"+live.SubSuffix {
			return ingest.Target{}, errors.New("no such sub-stream")
		}
		return ingest.Target{URL: s.URL(1)}, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	c := &browserChain{}
	c.hub, err = hub.New(hub.Config{Grace: 100 * time.Millisecond, Source: func(ctx context.Context, id string, sink hub.Sink) error {
		switch cam, suffix := live.SplitStream(id); suffix {
		case live.SubSuffix:
			return in.Run(ctx, id, sink)
		case live.TranscodeSuffix:
			return c.tc.Run(ctx, cam, sink)
		}
		return clip.play(ctx, sink)
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.hub.Close() })
	if c.tc, err = live.NewTranscoder(live.TranscoderConfig{Hub: c.hub, Max: maxTranscodes}); err != nil {
		t.Fatal(err)
	}
	c.svc, err = llhls.New(llhls.Config{Hub: c.hub, Sessions: live.NewSessions(nil, nil), Transcoder: c.tc, IdleTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /cam/{id}/{file}", func(w http.ResponseWriter, r *http.Request) {
		cam := &argus.Camera{ID: r.PathValue("id"), OrgID: "police"}
		if cam.ID == "hevc-sub" {
			cam.SubStreamURL = "rtsp://camera.invalid/sub"
		}
		p := argus.Principal{UserID: "alice", OrgID: "police", Role: argus.RoleViewer}
		if err := c.svc.Serve(w, r, cam, p, r.PathValue("file")); err != nil {
			http.Error(w, argus.ErrorCode(err)+": "+argus.ErrorMessage(err), codeStatus(argus.ErrorCode(err)))
		}
	})
	c.srv = httptest.NewServer(mux)
	t.Cleanup(c.srv.Close)
	t.Cleanup(func() { c.svc.Close() })
	return c
}

// playlist fetches camera's index.m3u8 and returns the status, the
// X-Argus-Source header and the body.
func (c *browserChain) playlist(t *testing.T, camera string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.srv.URL+"/cam/"+camera+"/index.m3u8", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body strings.Builder
	if _, err := io.Copy(&body, resp.Body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get(live.SourceHeader), body.String()
}

func TestH265CameraServedToBrowsersAsH264(t *testing.T) {
	for _, tc := range []struct {
		name, camera  string
		source        live.Source
		width, height int
		transcodes    int
	}{
		{"sub-stream when the camera has one", "hevc-sub", live.SourceSub, 640, 360, 0},
		{"transcode when it has none", "hevc-1", live.SourceTranscode, 160, 96, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newBrowserChain(t, 2)
			code, src, body := c.playlist(t, tc.camera)
			if code != http.StatusOK || src != string(tc.source) {
				t.Fatalf("index.m3u8: %d, %s %q; want 200 and %q\n%s", code, live.SourceHeader, src, tc.source, body)
			}
			p := ffprobe(t, c.srv.URL+"/cam/"+tc.camera+"/index.m3u8", "X-User: alice")
			if len(p.Streams) == 0 || p.Streams[0].CodecName != "h264" || p.Streams[0].Width != tc.width || p.Streams[0].Height != tc.height {
				t.Fatalf("ffprobe: %+v, want h264 %dx%d", p.Streams, tc.width, tc.height)
			}
			if n := c.tc.Running(); n != tc.transcodes {
				t.Errorf("transcodes running = %d, want %d", n, tc.transcodes)
			}
			// The viewer goes; the muxer, the transcode and the streams
			// follow.
			waitFor(t, "the transcode and every stream to go", func() bool {
				_, main := c.hub.Stats(tc.camera)
				_, sub := c.hub.Stats(tc.camera + live.SubSuffix)
				_, tr := c.hub.Stats(tc.camera + live.TranscodeSuffix)
				return c.tc.Running() == 0 && !main && !sub && !tr
			})
		})
	}
}

func TestTranscodeCapRefusesTheNextCamera(t *testing.T) {
	c := newBrowserChain(t, 1)
	if code, src, body := c.playlist(t, "hevc-1"); code != http.StatusOK || src != string(live.SourceTranscode) {
		t.Fatalf("first camera: %d, %q\n%s", code, src, body)
	}
	code, _, body := c.playlist(t, "hevc-2")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "transcode capacity reached") {
		t.Fatalf("second camera beyond the cap: %d %q, want 503 transcode capacity reached", code, body)
	}
	if n := c.tc.Running(); n != 1 {
		t.Errorf("transcodes running = %d, want 1", n)
	}
	// A browser on the sub-stream needs no transcode.
	if code, src, body := c.playlist(t, "hevc-sub"); code != http.StatusOK || src != string(live.SourceSub) {
		t.Fatalf("camera with a sub-stream: %d, %q\n%s", code, src, body)
	}
}

// h265Clip is ../testdata/h265-160x96-bframes: 50 frames at 25 fps, a
// keyframe every 25, two B-frames, in decoding order.
type h265Clip struct {
	vps, sps, pps []byte
	aus           [][][]byte
	pts, dts      []int64
	key           []bool
}

func loadH265Clip(t *testing.T) *h265Clip {
	t.Helper()
	data, err := os.ReadFile("../testdata/h265-160x96-bframes.hevc")
	if err != nil {
		t.Fatal(err)
	}
	side, err := os.ReadFile("../testdata/h265-160x96-bframes.pts")
	if err != nil {
		t.Fatal(err)
	}
	c := &h265Clip{}
	for _, n := range clips.SplitAnnexB(data) {
		switch typ := (n[0] >> 1) & 0x3f; {
		case typ == 35 || len(c.aus) == 0: // access unit delimiter
			c.aus = append(c.aus, nil)
		case typ == 32:
			c.vps = n
		case typ == 33:
			c.sps = n
		case typ == 34:
			c.pps = n
		}
		c.aus[len(c.aus)-1] = append(c.aus[len(c.aus)-1], n)
	}
	lines := strings.Fields(string(side))
	if len(lines) != len(c.aus) {
		t.Fatalf("%d access units, %d timestamps", len(c.aus), len(lines))
	}
	for _, l := range lines {
		f := strings.Split(l, ",")
		pts, err1 := strconv.ParseInt(f[0], 10, 64)
		dts, err2 := strconv.ParseInt(f[1], 10, 64)
		if err := errors.Join(err1, err2); err != nil {
			t.Fatal(err)
		}
		c.pts, c.dts, c.key = append(c.pts, pts), append(c.dts, dts), append(c.key, strings.HasPrefix(f[2], "K"))
	}
	return c
}

// play is a hub source that plays the clip in a loop at 25 fps.
func (c *h265Clip) play(ctx context.Context, sink hub.Sink) error {
	m := &hub.Media{Tracks: []*hub.Track{{
		Codec: hub.CodecH265, ClockRate: 90000, VPS: c.vps, SPS: c.sps, PPS: c.pps, Width: 160, Height: 96,
	}}}
	sink.SetMedia(m)
	tick := time.NewTicker(40 * time.Millisecond)
	defer tick.Stop()
	first, loopLen := c.dts[0], int64(len(c.aus))*90000/25
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		i, loop := n%len(c.aus), int64(n/len(c.aus))*loopLen
		size := 0
		for _, nalu := range c.aus[i] {
			size += len(nalu)
		}
		sink.WriteUnit(&hub.Unit{Media: m, PTS: c.pts[i] - first + loop, DTS: c.dts[i] - first + loop, Wall: time.Now(),
			Key: c.key[i], NALUs: c.aus[i], Size: size})
	}
}
