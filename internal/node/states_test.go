package node_test

import (
	"encoding/json"
	"net"
	"net/http"
	"testing"
	"time"

	"argus"
	"argus/internal/node"
	"argus/internal/sim"
)

// TestMapShowsCameraStates checks what the map reads: a recording camera
// that plays is listed online, one whose address refuses connections
// offline (and counted in its grid cell), one nobody records or watches
// idle.
func TestMapShowsCameraStates(t *testing.T) {
	// A port nothing listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "rtsp://" + ln.Addr().String() + "/stream"
	ln.Close()
	const pw = "map-states-admin-password"
	a := startAccessNode(t, pw, nil, func(n *node.Node, s *sim.Server) {
		st := n.Store()
		if err := st.CreateOrg(t.Context(), &argus.Org{ID: "city", Name: "City", Kind: argus.OrgCity}); err != nil {
			t.Fatal(err)
		}
		for _, c := range []*argus.Camera{
			{ID: "cam-on", Lat: 40.80, Lon: -73.80, StreamURL: s.URL(1), Recording: true},
			{ID: "cam-off", Lat: 40.70, Lon: -73.90, StreamURL: dead, Recording: true},
			{ID: "cam-idle", Lat: 40.60, Lon: -74.00, StreamURL: s.URL(1)},
		} {
			c.Name, c.OrgID, c.RetentionDays = c.ID, "city", 1
			if err := st.CreateCamera(t.Context(), c); err != nil {
				t.Fatal(err)
			}
		}
	})
	token := a.login("admin", pw)
	want := map[string]string{"cam-on": "online", "cam-off": "offline", "cam-idle": "idle"}
	var got map[string]string
	for deadline := time.Now().Add(20 * time.Second); ; {
		code, _, body := a.call("GET", "/api/v1/cameras", token, "", "")
		var page struct {
			Items []struct{ ID, State string } `json:"items"`
		}
		if err := json.Unmarshal(body, &page); err != nil || code != http.StatusOK {
			t.Fatalf("list: %d %s", code, body)
		}
		got = map[string]string{}
		for _, c := range page.Items {
			got[c.ID] = c.State
		}
		if len(got) == len(want) && got["cam-on"] == want["cam-on"] && got["cam-off"] == want["cam-off"] && got["cam-idle"] == want["cam-idle"] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("states %v, want %v", got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}

	code, _, body := a.call("GET", "/api/v1/cameras/grid?bbox=-74.5,40.5,-73.5,41&zoom=10", token, "", "")
	var grid struct {
		Cells []struct {
			CameraID string `json:"camera_id"`
			Count    int    `json:"count"`
			Offline  int    `json:"offline"`
		} `json:"cells"`
	}
	if err := json.Unmarshal(body, &grid); err != nil || code != http.StatusOK {
		t.Fatalf("grid: %d %s", code, body)
	}
	offline := map[string]int{}
	for _, c := range grid.Cells {
		offline[c.CameraID] = c.Offline
	}
	if len(grid.Cells) != 3 || offline["cam-off"] != 1 || offline["cam-on"] != 0 || offline["cam-idle"] != 0 {
		t.Fatalf("grid %s: want three cells, cam-off's with offline 1", body)
	}
}
