package llhls_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"argus"
	"argus/internal/hub"
	"argus/internal/ingest"
	"argus/internal/live"
	"argus/internal/live/llhls"
	"argus/internal/sim"
)

// capture records units of a simulated camera playing clip through the
// real chain: from the cached GOP's keyframe up to (not including) the
// third keyframe, i.e. two whole GOPs.
func capture(t *testing.T, clip string) []*hub.Unit {
	t.Helper()
	s, err := sim.New(sim.Config{Cameras: 1, Listen: "127.0.0.1:0", Clip: clip})
	if err != nil {
		t.Error(err)
		return nil
	}
	if err := s.Start(t.Context()); err != nil {
		t.Error(err)
		return nil
	}
	defer s.Close()
	in, err := ingest.New(ingest.Config{Resolve: func(context.Context, string) (ingest.Target, error) {
		return ingest.Target{URL: s.URL(1)}, nil
	}})
	if err != nil {
		t.Error(err)
		return nil
	}
	h, err := hub.New(hub.Config{Source: func(ctx context.Context, id string, sink hub.Sink) error { return in.Run(ctx, id, sink) }})
	if err != nil {
		t.Error(err)
		return nil
	}
	defer h.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	rd, err := h.Attach(ctx, "cam", hub.ReaderOptions{Name: "capture"})
	if err != nil {
		t.Error(err)
		return nil
	}
	defer rd.Close()
	var units []*hub.Unit
	keys := 0
	for {
		u, err := rd.Read(ctx)
		if err != nil {
			t.Errorf("capture %s: %v", clip, err)
			return nil
		}
		if u.Key {
			if keys++; keys == 3 {
				return units
			}
		}
		if keys > 0 {
			units = append(units, u)
		}
	}
}

// replay is a hub source that writes one recording once the first reader
// has attached, then, when told to, a second one with other tracks, and
// then waits.
type replay struct {
	first, second []*hub.Unit
	// attached is closed by the test once the muxer's reader is attached:
	// a reader that attached after the burst would start on the cached
	// (last) GOP, whose single keyframe completes no segment.
	attached chan struct{}
	next     chan struct{}
}

// startWhenAttached closes src.attached once cameraID's stream has a reader.
func startWhenAttached(t *testing.T, h *hub.Hub, cameraID string, src *replay) {
	t.Helper()
	go func() {
		defer close(src.attached)
		for t.Context().Err() == nil {
			if st, ok := h.Stats(cameraID); ok && st.Readers > 0 {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
}

func (p *replay) run(ctx context.Context, _ string, sink hub.Sink) error {
	for i, units := range [][]*hub.Unit{p.first, p.second} {
		if len(units) == 0 {
			break
		}
		wait := p.attached
		if i == 1 {
			wait = p.next
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return nil
		}
		sink.SetMedia(units[0].Media)
		for _, u := range units {
			sink.WriteUnit(u)
		}
	}
	<-ctx.Done()
	return nil
}

// TestServeRestartsOnNewTracks changes the camera's resolution under a
// running muxer: it is replaced, and the playlist then announces the new
// resolution to the same viewer, whose session goes on.
func TestServeRestartsOnNewTracks(t *testing.T) {
	t.Parallel()
	var small, large []*hub.Unit
	var wg sync.WaitGroup
	wg.Go(func() { small = capture(t, "360p-gop2") })
	wg.Go(func() { large = capture(t, "720p-gop2") })
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	src := &replay{first: small, second: large, attached: make(chan struct{}), next: make(chan struct{})}
	h, err := hub.New(hub.Config{Source: src.run})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	startWhenAttached(t, h, "cam-1", src)
	sessions := live.NewSessions(nil, nil)
	svc, err := llhls.New(llhls.Config{Hub: h, Sessions: sessions, IdleTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	get := func(file string) (int, string) {
		t.Helper()
		req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/"+file, nil)
		rec := httptest.NewRecorder()
		cam := &argus.Camera{ID: "cam-1", OrgID: "police"}
		if err := svc.Serve(rec, req, cam, argus.Principal{UserID: "u1", OrgID: "police"}, file); err != nil {
			t.Fatalf("Serve %s: %v", file, err)
		}
		return rec.Code, rec.Body.String()
	}

	if status, body := get("index.m3u8"); status != http.StatusOK || !strings.Contains(body, "RESOLUTION=640x360") {
		t.Fatalf("before the change: %d %q, want 640x360", status, body)
	}
	close(src.next)
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, body := get("index.m3u8")
		if status == http.StatusOK && strings.Contains(body, "RESOLUTION=1280x720") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the change: %d %q, want 1280x720", status, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(sessions.List()); n != 1 {
		t.Errorf("open sessions = %d, want the viewer's one across the restart", n)
	}
	if st, _ := h.Stats("cam-1"); st.Readers != 1 {
		t.Errorf("hub readers = %d, want 1", st.Readers)
	}
}

// TestServeSurvivesDrop lets the muxer's hub reader fall behind: the
// muxer attaches again, goes on from the cached GOP, and the playlist is
// served.
func TestServeSurvivesDrop(t *testing.T) {
	t.Parallel()
	units := capture(t, "360p-gop2")
	if t.Failed() {
		t.FailNow()
	}
	src := &replay{first: units, attached: make(chan struct{})}
	// A one-unit queue: the burst the replay writes overflows it.
	h, err := hub.New(hub.Config{Source: src.run, QueueLen: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	startWhenAttached(t, h, "cam-1", src)
	var logs bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	svc, err := llhls.New(llhls.Config{Hub: h, Sessions: live.NewSessions(nil, nil), IdleTimeout: 20 * time.Second, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/index.m3u8", nil)
	rec := httptest.NewRecorder()
	if err := svc.Serve(rec, req, &argus.Camera{ID: "cam-1"}, argus.Principal{UserID: "u1"}, "index.m3u8"); err != nil {
		t.Fatal(err)
	}
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "video1_stream.m3u8") {
		t.Fatalf("index.m3u8: %d %q", rec.Code, rec.Body.String())
	}
	st, _ := h.Stats("cam-1")
	if st.Drops == 0 {
		t.Fatal("the reader was never dropped: the test tests nothing")
	}
	if st.Readers != 1 {
		t.Errorf("hub readers = %d, want the muxer's one, attached again", st.Readers)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), "attaching again") || strings.Contains(logs.String(), "refused a unit") {
		t.Errorf("logs = %s\nwant an attach again and no unit refused by the muxer", logs.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
