package node_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"argus"
	"argus/internal/access"
	"argus/internal/config"
	"argus/internal/node"
	"argus/internal/sim"
)

// lockedBuffer collects a node's JSON log lines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// find returns the log records whose msg is msg and whose attributes
// include every key=value in attrs.
func (b *lockedBuffer) find(msg string, attrs map[string]string) []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for line := range strings.SplitSeq(b.buf.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil || m["msg"] != msg {
			continue
		}
		ok := true
		for k, v := range attrs {
			if s, _ := m[k].(string); s != v {
				ok = false
			}
		}
		if ok {
			out = append(out, m)
		}
	}
	return out
}

// TestRevokedShareEndsLiveSession checks issue #6's "a live session is cut
// within 2 seconds of the share that allowed it being revoked": a police
// viewer watches a fire camera over LL-HLS through a share; fire's
// revocation ends the session within 2 s, and the viewer is refused after.
func TestRevokedShareEndsLiveSession(t *testing.T) {
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
	n, err := node.New(ctx, node.Options{Config: cfg, Logger: logger, Environ: []string{"ARGUS_ADMIN_PASSWORD=share-test-password"},
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
	hash, err := n.Auth().HashPassword("a viewer's password")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateUser(ctx, &argus.User{ID: "pc-viewer", Username: "pc-viewer", OrgID: "police", Role: argus.RoleViewer, PasswordHash: hash}); err != nil {
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
	login := func(user, pw string) string {
		t.Helper()
		_, b := call("POST", "/api/v1/login", "", `{"username":"`+user+`","password":"`+pw+`"}`)
		var l struct{ Token string }
		if err := json.Unmarshal(b, &l); err != nil || l.Token == "" {
			t.Fatalf("login %s: %s", user, b)
		}
		return l.Token
	}
	admin, viewer := login("admin", "share-test-password"), login("pc-viewer", "a viewer's password")
	const playlist = "/api/v1/cameras/cam-1/live/index.m3u8"
	if code, b := call("GET", playlist, viewer, ""); code != http.StatusNotFound {
		t.Fatalf("before the share: %d %s, want 404", code, b)
	}
	code, b := call("POST", "/api/v1/shares", admin, `{"owner_org_id":"fire","grantee_org_id":"police","camera_ids":["cam-1"],
		"actions":["video.live"],"valid_until":"`+time.Now().Add(time.Hour).Format(time.RFC3339)+`","purpose":"mutual aid"}`)
	var sh argus.Share
	if err := json.Unmarshal(b, &sh); err != nil || code != http.StatusCreated {
		t.Fatalf("grant: %d %s", code, b)
	}
	if code, b := call("GET", playlist, viewer, ""); code != http.StatusOK {
		t.Fatalf("through the share: %d %s", code, b)
	}
	viewerSession := map[string]string{"user": "pc-viewer", "camera": "cam-1"}
	if len(logs.find("live session started", viewerSession)) != 1 {
		t.Fatal("the viewer's live session did not start")
	}

	if code, b := call("POST", "/api/v1/shares/"+sh.ID+"/revoke", admin, `{"reason":"incident over"}`); code != http.StatusOK {
		t.Fatalf("revoke: %d %s", code, b)
	}
	revoked := time.Now()
	for len(logs.find("live session ended", viewerSession)) == 0 {
		if time.Since(revoked) > 2*time.Second {
			t.Fatal("the live session was not ended within 2 s of the revocation")
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("live session ended %v after the revocation", time.Since(revoked).Round(time.Millisecond))
	if reason, _ := logs.find("live session ended", viewerSession)[0]["reason"].(string); !strings.Contains(reason, "revoked") {
		t.Errorf("session ended with reason %q, want a revocation", reason)
	}
	if code, _ := call("GET", playlist, viewer, ""); code == http.StatusOK {
		t.Error("the viewer is still served after the revocation")
	}
}
