package node_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"argus"
	"argus/internal/access"
	"argus/internal/config"
	"argus/internal/node"
	"argus/internal/sim"
)

// TestEmergencyGrantEndsLiveSession checks that a live session an
// emergency grant allowed ends when the grant does: a police operator
// watches a fire camera over LL-HLS through a grant a few seconds long, and
// the session is closed within 2 s of its end.
func TestEmergencyGrantEndsLiveSession(t *testing.T) {
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
	logs := &lockedBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(t.Context())
	n, err := node.New(ctx, node.Options{Config: cfg, Logger: logger, Environ: []string{"ARGUS_ADMIN_PASSWORD=emergency-test-password"},
		Argon2: access.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	st := n.Store()
	for _, o := range []*argus.Org{{ID: "fire", Name: "Fire", Kind: argus.OrgFire}, {ID: "police", Name: "Police", Kind: argus.OrgPolice}} {
		if err := st.CreateOrg(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	cam := &argus.Camera{ID: "cam-1", Name: "Sim", OrgID: "fire", Lat: 40.7, Lon: -73.9, StreamURL: s.URL(1), RetentionDays: 1}
	if err := st.CreateCamera(ctx, cam); err != nil {
		t.Fatal(err)
	}
	hash, err := n.Auth().HashPassword("an operator's password")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateUser(ctx, &argus.User{ID: "pc-op", Username: "pc-op", OrgID: "police", Role: argus.RoleOperator, PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
	// The API opens grants of at least a minute; this one, written
	// before the node runs (so that the gate's first load sees it), lasts
	// seconds.
	now := time.Now()
	g := &argus.EmergencyGrant{ID: "em-1", UserID: "pc-op", OrgID: "police", CameraID: "cam-1", OwnerOrgID: "fire",
		Actions: argus.EmergencyActions, Reason: "building fire", From: now, Until: now.Add(6 * time.Second)}
	if err := st.CreateEmergencyGrant(ctx, g); err != nil {
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

	call := func(method, path, token, body string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, method, n.URL()+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	_, b := call("POST", "/api/v1/login", "", `{"username":"pc-op","password":"an operator's password"}`)
	var l struct{ Token string }
	if err := json.Unmarshal(b, &l); err != nil || l.Token == "" {
		t.Fatalf("login: %s", b)
	}
	const playlist = "/api/v1/cameras/cam-1/live/index.m3u8"
	if code, b := call("GET", playlist, l.Token, ""); code != http.StatusOK {
		t.Fatalf("through the emergency grant: %d %s", code, b)
	}
	session := map[string]string{"user": "pc-op", "camera": "cam-1"}
	if len(logs.find("live session started", session)) != 1 {
		t.Fatal("the live session did not start")
	}
	if time.Now().After(g.Until) {
		t.Skip("the session started after the grant ended; the machine is too slow for this test")
	}
	for len(logs.find("live session ended", session)) == 0 {
		if time.Since(g.Until) > 2*time.Second {
			t.Fatal("the live session was not ended within 2 s of the grant's end")
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("live session ended %v after the grant", time.Since(g.Until).Round(time.Millisecond))
	if reason, _ := logs.find("live session ended", session)[0]["reason"].(string); !strings.Contains(reason, "emergency grant has ended") {
		t.Errorf("session ended with reason %q, want the grant's end", reason)
	}
	if code, _ := call("GET", playlist, l.Token, ""); code == http.StatusOK {
		t.Error("the operator is still served after the grant ended")
	}
}
