package node_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"argus"
	"argus/internal/config"
	"argus/internal/node"
	"argus/internal/sim"
)

// TestLiveCameraIsPulledOnlyWhileWatched checks issue #4's "on demand": a
// camera that does not record is not pulled until someone watches it, and
// is released a grace period after the last viewer leaves.
func TestLiveCameraIsPulledOnlyWhileWatched(t *testing.T) {
	s, err := sim.New(sim.Config{Cameras: 1, Listen: "127.0.0.1:0", Clip: "90p-gop0.2"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })

	cfg := config.Default()
	cfg.Data = t.TempDir()
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.RTSP.Listen = ""
	cfg.Live.WebRTC.UDPPort = 0
	cfg.Live.HLS.IdleTimeout = time.Second
	ctx, cancel := context.WithCancel(t.Context())
	n, err := node.New(ctx, node.Options{Config: cfg, Environ: []string{"ARGUS_ADMIN_PASSWORD=on-demand-test-password"}})
	if err != nil {
		t.Fatal(err)
	}
	st := n.Store()
	if err := st.CreateOrg(ctx, &argus.Org{ID: "city", Name: "City", Kind: argus.OrgCity}); err != nil {
		t.Fatal(err)
	}
	cam := &argus.Camera{ID: "cam-1", Name: "Sim", OrgID: "city", Lat: 40.7, Lon: -73.9, StreamURL: s.URL(1), RetentionDays: 1}
	if err := st.CreateCamera(ctx, cam); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("node stopped with %v", err)
		}
	})

	call := func(path string, token string, body string) (int, []byte) {
		method := "GET"
		if body != "" {
			method = "POST"
		}
		req, _ := http.NewRequestWithContext(ctx, method, n.URL()+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	_, b := call("/api/v1/login", "", `{"username":"admin","password":"on-demand-test-password"}`)
	var login struct{ Token string }
	if err := json.Unmarshal(b, &login); err != nil || login.Token == "" {
		t.Fatalf("login: %s", b)
	}
	state := func() string {
		code, b := call("/api/v1/cameras/cam-1/health", login.Token, "")
		var h struct{ State string }
		if err := json.Unmarshal(b, &h); err != nil || code != 200 {
			t.Fatalf("health: %d %s", code, b)
		}
		return h.State
	}
	waitState := func(want string, within time.Duration) {
		t.Helper()
		deadline := time.Now().Add(within)
		for got := state(); got != want; got = state() {
			if time.Now().After(deadline) {
				t.Fatalf("camera state %q after %v, want %q", got, within, want)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	// Not recording and nobody watching: not pulled.
	time.Sleep(500 * time.Millisecond)
	if got := state(); got != "idle" {
		t.Fatalf("an unwatched camera that does not record is %q, want idle", got)
	}
	// A viewer opens it over LL-HLS: pulled.
	if code, b := call("/api/v1/cameras/cam-1/live/index.m3u8", login.Token, ""); code != 200 {
		t.Fatalf("playlist: %d %s", code, b)
	}
	waitState("online", 10*time.Second)
	// The viewer leaves: after its idle timeout and the hub's grace period
	// the camera is released.
	start := time.Now()
	waitState("idle", 30*time.Second)
	t.Logf("released %v after the last request", time.Since(start).Round(time.Second))
}
