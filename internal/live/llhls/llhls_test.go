package llhls_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"argus"
	"argus/internal/hub"
	"argus/internal/live"
	"argus/internal/live/llhls"
)

// TestServePlaysAndTearsDown follows one viewer from the first request to
// the idle teardown: the playlist is served, ffprobe reads H.264 640x360
// from it, the session is recorded, and once the viewer stops requesting
// the session ends, the muxer goes and its hub reader is closed.
func TestServePlaysAndTearsDown(t *testing.T) {
	t.Parallel()
	// ffmpeg is no LL-HLS client: it reloads the playlist once per target
	// duration (2 s, the clip's GOP), so the idle timeout must be longer.
	const idle = 3 * time.Second
	c := newChain(t, 1, llhls.Config{IdleTimeout: idle})

	status, body := c.get("u1", "/cam/cam-1/index.m3u8")
	if status != http.StatusOK || !strings.HasPrefix(body, "#EXTM3U") || !strings.Contains(body, "video1_stream.m3u8") {
		t.Fatalf("index.m3u8: %d %q, want a multivariant playlist naming video1_stream.m3u8", status, body)
	}
	if !strings.Contains(body, "RESOLUTION=640x360") || !strings.Contains(body, "avc1.") {
		t.Errorf("index.m3u8 = %q, want an H.264 640x360 variant", body)
	}
	status, media := c.get("u1", "/cam/cam-1/video1_stream.m3u8")
	if status != http.StatusOK || !strings.Contains(media, "#EXT-X-PART:") || !strings.Contains(media, "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES") {
		t.Fatalf("media playlist: %d %q, want LL-HLS parts and blocking reload", status, media)
	}

	p := ffprobe(t, c.srv.URL+"/cam/cam-1/index.m3u8", "X-User: u1")
	if len(p.Streams) != 1 || p.Streams[0].CodecName != "h264" || p.Streams[0].Width != 640 || p.Streams[0].Height != 360 {
		t.Fatalf("ffprobe streams = %+v, want one h264 640x360", p.Streams)
	}
	if n := c.readers("cam-1"); n != 1 {
		t.Errorf("hub readers = %d while watched, want 1", n)
	}
	started, _ := c.rec.snapshot()
	if len(started) != 1 {
		t.Fatalf("sessions started = %+v, want one for the viewer however many requests it made", started)
	}
	if s := started[0]; s.Protocol != live.ProtoHLS || s.CameraID != "cam-1" || s.UserID != "u1" || s.OrgID != "police" || s.Client == "" {
		t.Errorf("session = %+v", s)
	}

	waitFor(t, "the idle viewer's session to end", func() bool { _, ended := c.rec.snapshot(); return len(ended) == 1 })
	_, ended := c.rec.snapshot()
	if e := ended[0]; e.ID != started[0].ID || e.Reason != "idle" || e.End.Sub(e.Start) < idle {
		t.Errorf("ended session = %+v, want the viewer's, idle, after at least the idle timeout", e)
	}
	waitFor(t, "the hub reader to close", func() bool { return c.readers("cam-1") == 0 })
	if n := len(c.sessions.List()); n != 0 {
		t.Errorf("%d sessions still open", n)
	}

	// A new request starts a new muxer and a new session.
	if status, _ := c.get("u1", "/cam/cam-1/index.m3u8"); status != http.StatusOK {
		t.Fatalf("index.m3u8 after teardown: %d", status)
	}
	if started, _ := c.rec.snapshot(); len(started) != 2 {
		t.Errorf("sessions started = %d, want 2 after the teardown", len(started))
	}
}

// TestServeSharesOneMuxer checks that viewers of one camera share one hub
// reader, each with their own session, and that the muxer stays while one
// of them still watches.
func TestServeSharesOneMuxer(t *testing.T) {
	t.Parallel()
	c := newChain(t, 1, llhls.Config{IdleTimeout: time.Second})
	for _, u := range []string{"u1", "u2", "u1"} {
		if status, body := c.get(u, "/cam/cam-1/index.m3u8"); status != http.StatusOK {
			t.Fatalf("%s: %d %q", u, status, body)
		}
	}
	if n := c.readers("cam-1"); n != 1 {
		t.Errorf("hub readers = %d for three requests of two viewers, want 1", n)
	}
	if n := len(c.sessions.List()); n != 2 {
		t.Errorf("open sessions = %d, want one per viewer (2)", n)
	}
	// u2 keeps watching; u1 goes idle.
	deadline := time.Now().Add(2500 * time.Millisecond)
	for time.Now().Before(deadline) {
		if status, _ := c.get("u2", "/cam/cam-1/video1_stream.m3u8"); status != http.StatusOK {
			t.Fatalf("u2 media playlist: %d", status)
		}
		time.Sleep(200 * time.Millisecond)
	}
	open := c.sessions.List()
	if len(open) != 1 || open[0].UserID != "u2" {
		t.Fatalf("open sessions = %+v, want only u2's", open)
	}
	if n := c.readers("cam-1"); n != 1 {
		t.Errorf("hub readers = %d while u2 watches, want 1", n)
	}
}

// TestServeRefuses covers the requests Serve answers with an error.
func TestServeRefuses(t *testing.T) {
	t.Parallel()
	c := newChain(t, 2, llhls.Config{MaxMuxers: 1})
	if status, _ := c.get("u1", "/cam/cam-1/index.m3u8"); status != http.StatusOK {
		t.Fatalf("index.m3u8: %d", status)
	}
	for _, tc := range []struct {
		name, path string
		status     int
		code       string
	}{
		{"unknown file of the muxer", "/cam/cam-1/nothing_here.mp4", 404, argus.ENOTFOUND},
		{"unknown playlist", "/cam/cam-1/video9_stream.m3u8", 404, argus.ENOTFOUND},
		{"name that is no muxer file", "/cam/cam-1/index.html", 404, argus.ENOTFOUND},
		{"hidden file", "/cam/cam-1/.m3u8", 404, argus.ENOTFOUND},
		{"second camera above MaxMuxers", "/cam/cam-2/index.m3u8", 503, argus.EUNAVAILABLE},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := c.get("u1", tc.path)
			if status != tc.status || !strings.HasPrefix(body, tc.code+":") {
				t.Fatalf("GET %s = %d %q, want %d %s", tc.path, status, body, tc.status, tc.code)
			}
		})
	}
	if n := c.readers("cam-2"); n != 0 {
		t.Errorf("the refused camera has %d hub readers", n)
	}
}

// TestServeRevoked closes a viewer's session from outside: the session ends
// as revoked, the viewer's further requests are refused while it keeps
// requesting, and another viewer is not affected.
func TestServeRevoked(t *testing.T) {
	t.Parallel()
	c := newChain(t, 1, llhls.Config{IdleTimeout: time.Second})
	for _, u := range []string{"u1", "u2"} {
		if status, _ := c.get(u, "/cam/cam-1/index.m3u8"); status != http.StatusOK {
			t.Fatalf("%s index.m3u8: %d", u, status)
		}
	}
	revoked := errors.New("share revoked")
	if n := c.sessions.Close(func(s live.Session) bool { return s.UserID == "u1" }, revoked); n != 1 {
		t.Fatalf("closed %d sessions, want 1", n)
	}
	waitFor(t, "the revoked session to end", func() bool { _, ended := c.rec.snapshot(); return len(ended) == 1 })
	_, ended := c.rec.snapshot()
	if e := ended[0]; e.UserID != "u1" || e.Reason != "revoked: share revoked" {
		t.Errorf("ended = %+v, want u1's, revoked", e)
	}
	for range 3 {
		if status, body := c.get("u1", "/cam/cam-1/video1_stream.m3u8"); status != http.StatusForbidden {
			t.Fatalf("revoked viewer's request: %d %q, want 403", status, body)
		}
	}
	if status, _ := c.get("u2", "/cam/cam-1/video1_stream.m3u8"); status != http.StatusOK {
		t.Errorf("the other viewer's request: %d, want 200", status)
	}
	if started, _ := c.rec.snapshot(); len(started) != 2 {
		t.Errorf("sessions started = %d, want 2 (the refused requests open none)", len(started))
	}
}

// TestClose ends every session as shutdown, closes the hub readers and
// refuses further requests; and no goroutine outlives the chain.
func TestClose(t *testing.T) {
	base := runtime.NumGoroutine()
	c := newChain(t, 1, llhls.Config{})
	if status, _ := c.get("u1", "/cam/cam-1/index.m3u8"); status != http.StatusOK {
		t.Fatalf("index.m3u8: %d", status)
	}
	if err := c.svc.Close(); err != nil {
		t.Fatal(err)
	}
	_, ended := c.rec.snapshot()
	if len(ended) != 1 || ended[0].Reason != "shutdown" {
		t.Errorf("ended = %+v, want one session ended by shutdown", ended)
	}
	waitFor(t, "the hub reader to close", func() bool { return c.readers("cam-1") == 0 })
	if status, body := c.get("u1", "/cam/cam-1/index.m3u8"); status != http.StatusServiceUnavailable {
		t.Errorf("after Close: %d %q, want 503", status, body)
	}
	c.close()
	waitFor(t, "the goroutines to exit", func() bool { return runtime.NumGoroutine() <= base })
}

// TestCacheControlPrivate checks that nothing a viewer receives may be
// stored by a shared cache.
func TestCacheControlPrivate(t *testing.T) {
	t.Parallel()
	c := newChain(t, 1, llhls.Config{})
	_, body := c.get("u1", "/cam/cam-1/video1_stream.m3u8")
	init := regexp.MustCompile(`URI="([a-z0-9_]+_init\.mp4)"`).FindStringSubmatch(body)
	if init == nil {
		t.Fatalf("no init file in %q", body)
	}
	req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/cam/cam-1/"+init[1], nil)
	req.Header.Set("X-User", "u1")
	rec := httptest.NewRecorder()
	c.srv.Config.Handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Cache-Control"), "private") {
		t.Fatalf("init file: %d, Cache-Control %q, want 200 and private", rec.Code, rec.Header().Get("Cache-Control"))
	}
	if b := rec.Body.Bytes(); len(b) < 8 || string(b[4:8]) != "ftyp" {
		t.Errorf("init file does not start with an ftyp box: % x", b[:min(len(b), 16)])
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	h, err := hub.New(hub.Config{Source: func(ctx context.Context, _ string, _ hub.Sink) error { <-ctx.Done(); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	sessions := live.NewSessions(nil, nil)
	for _, tc := range []struct {
		name string
		cfg  llhls.Config
	}{
		{"no hub", llhls.Config{Sessions: sessions}},
		{"no sessions", llhls.Config{Hub: h}},
		{"negative idle timeout", llhls.Config{Hub: h, Sessions: sessions, IdleTimeout: -time.Second}},
		{"too few segments", llhls.Config{Hub: h, Sessions: sessions, SegmentCount: 3}},
		{"part longer than segment", llhls.Config{Hub: h, Sessions: sessions, PartDuration: 2 * time.Second}},
		{"negative cap", llhls.Config{Hub: h, Sessions: sessions, MaxMuxers: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := llhls.New(tc.cfg); err == nil {
				t.Fatal("New accepted the config")
			}
		})
	}
	svc, err := llhls.New(llhls.Config{Hub: h, Sessions: sessions})
	if err != nil {
		t.Fatalf("New with defaults: %v", err)
	}
	svc.Close()
}
