package node_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"argus"
	"argus/internal/config"
	"argus/internal/events"
	"argus/internal/node"
	"argus/internal/sim"
)

// TestCameraOfflineIsAnEvent: a recorded simulated camera comes online and
// then drops off the network (its simulator stops); both changes are
// events of the camera, with its owner's organisation, that GET
// /api/v1/events shows.
func TestCameraOfflineIsAnEvent(t *testing.T) {
	const pw = "events-test-password"
	a := startAccessNode(t, pw, func(c *config.Config) { c.RTSP.Listen = "" }, func(n *node.Node, s *sim.Server) {
		if err := n.Store().CreateOrg(t.Context(), &argus.Org{ID: "fire", Name: "Fire", Kind: argus.OrgFire}); err != nil {
			t.Fatal(err)
		}
		cam := &argus.Camera{ID: "cam-1", Name: "Sim", OrgID: "fire", Lat: 40.7, Lon: -73.9, StreamURL: s.URL(1), RetentionDays: 1, Recording: true}
		if err := n.Store().CreateCamera(t.Context(), cam); err != nil {
			t.Fatal(err)
		}
	})
	admin := a.login("admin", pw)
	waitEvent := func(typ string) events.Event {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			code, _, b := a.call("GET", "/api/v1/events?camera=cam-1&type="+typ, admin, "", "")
			if code != http.StatusOK {
				t.Fatalf("events: %d %s", code, b)
			}
			var l struct{ Items []events.Event }
			if err := json.Unmarshal(b, &l); err != nil {
				t.Fatal(err)
			}
			if len(l.Items) > 0 {
				return l.Items[0]
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %s event of cam-1 within 30 s", typ)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	online := waitEvent(events.TypeCameraOnline)
	if online.OrgID != "fire" || online.Severity != events.SeverityInfo {
		t.Fatalf("online event %+v", online)
	}
	a.sim.Close() // the camera drops off the network
	off := waitEvent(events.TypeCameraOffline)
	if off.OrgID != "fire" || off.Severity != events.SeverityWarning || off.Data["to"] != "offline" || off.Message == "" {
		t.Fatalf("offline event %+v", off)
	}
	if on, o := mustSeq(t, online.ID), mustSeq(t, off.ID); o <= on {
		t.Fatalf("offline event %s is not after online event %s", off.ID, online.ID)
	}
	// The log line is kept beside the event.
	if len(a.logs.find("camera state", map[string]string{"camera": "cam-1", "to": "offline"})) == 0 {
		t.Fatal("the camera state change is no longer logged")
	}
}

func mustSeq(t *testing.T, id string) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil {
		t.Fatalf("event id %q: %v", id, err)
	}
	return n
}
