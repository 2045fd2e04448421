package node_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"argus"
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
	a := startAccessNode(t, "share-test-password", func(c *config.Config) { c.RTSP.Listen = "" }, func(n *node.Node, s *sim.Server) {
		addFireCamera(t, n, s)
		addAccessUser(t, n, "pc-viewer", argus.RoleViewer, "police", "a viewer's password")
	})
	admin, viewer := a.login("admin", "share-test-password"), a.login("pc-viewer", "a viewer's password")
	const playlist = "/api/v1/cameras/cam-1/live/index.m3u8"
	if code, _, b := a.call("GET", playlist, viewer, "", ""); code != http.StatusNotFound {
		t.Fatalf("before the share: %d %s, want 404", code, b)
	}
	code, _, b := a.call("POST", "/api/v1/shares", admin, "", `{"owner_org_id":"fire","grantee_org_id":"police","camera_ids":["cam-1"],
		"actions":["video.live"],"valid_until":"`+time.Now().Add(time.Hour).Format(time.RFC3339)+`","purpose":"mutual aid"}`)
	var sh argus.Share
	if err := json.Unmarshal(b, &sh); err != nil || code != http.StatusCreated {
		t.Fatalf("grant: %d %s", code, b)
	}
	if code, _, b := a.call("GET", playlist, viewer, "", ""); code != http.StatusOK {
		t.Fatalf("through the share: %d %s", code, b)
	}
	viewerSession := map[string]string{"user": "pc-viewer", "camera": "cam-1"}
	if len(a.logs.find("live session started", viewerSession)) != 1 {
		t.Fatal("the viewer's live session did not start")
	}

	if code, _, b := a.call("POST", "/api/v1/shares/"+sh.ID+"/revoke", admin, "", `{"reason":"incident over"}`); code != http.StatusOK {
		t.Fatalf("revoke: %d %s", code, b)
	}
	revoked := time.Now()
	for len(a.logs.find("live session ended", viewerSession)) == 0 {
		if time.Since(revoked) > 2*time.Second {
			t.Fatal("the live session was not ended within 2 s of the revocation")
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("live session ended %v after the revocation", time.Since(revoked).Round(time.Millisecond))
	if reason, _ := a.logs.find("live session ended", viewerSession)[0]["reason"].(string); !strings.Contains(reason, "revoked") {
		t.Errorf("session ended with reason %q, want a revocation", reason)
	}
	if code, _, _ := a.call("GET", playlist, viewer, "", ""); code == http.StatusOK {
		t.Error("the viewer is still served after the revocation")
	}
}

// addFireCamera stores the organisations fire and police and fire's
// camera cam-1, pulled from the simulator's first camera.
func addFireCamera(t *testing.T, n *node.Node, s *sim.Server) {
	t.Helper()
	st := n.Store()
	for _, o := range []*argus.Org{{ID: "fire", Name: "Fire", Kind: argus.OrgFire}, {ID: "police", Name: "Police", Kind: argus.OrgPolice}} {
		if err := st.CreateOrg(t.Context(), o); err != nil {
			t.Fatal(err)
		}
	}
	cam := &argus.Camera{ID: "cam-1", Name: "Sim", OrgID: "fire", Lat: 40.7, Lon: -73.9, StreamURL: s.URL(1), RetentionDays: 1}
	if err := st.CreateCamera(t.Context(), cam); err != nil {
		t.Fatal(err)
	}
}
