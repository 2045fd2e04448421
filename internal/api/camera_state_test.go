package api_test

import (
	"math"
	"net/http"
	"testing"
	"time"

	"argus"
	"argus/internal/access"
	"argus/internal/api"
)

// stateEnv is newEnv with a media health source and an alert source: the
// cameras of states are pulled in those ingest states, those of alerting
// have unacknowledged alerts. The gate reads shares.
func stateEnv(t *testing.T, states map[string]string, alerting ...string) *env {
	t.Helper()
	var e *env
	var g *access.Gate
	troubled := func() []api.TroubledCamera {
		var out []api.TroubledCamera
		for id, st := range states {
			if st == "online" || st == "connecting" {
				continue
			}
			c, err := e.db.Camera(t.Context(), id)
			if err != nil {
				t.Error(err)
				continue
			}
			out = append(out, api.TroubledCamera{Camera: c.Redacted(), State: st})
		}
		return out
	}
	e = newEnv(t, func(c *api.Config) {
		var err error
		g, err = access.NewGate(access.GateConfig{Orgs: c.Store, Shares: c.Store, Recorder: access.NewSlogRecorder(nil)})
		if err != nil {
			t.Fatal(err)
		}
		c.Gate = g
		c.Health = func(id string) (api.CameraHealth, bool) {
			st, ok := states[id]
			return api.CameraHealth{State: st}, ok
		}
		c.Troubled = troubled
		c.Alerting = func(id string) bool { return containsString(alerting, id) }
		c.AlertingCameras = func() []string { return alerting }
	})
	e.gate = g
	return e
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// stateCameras stores the cameras of the state tests: police's p-off and
// fire's f-off and f-shared stand in one cell of zoom 10, the others in
// cells of their own. Fire shares its hydrant cameras (f-shared,
// f-hydrant) with police.
func stateCameras(t *testing.T, e *env) {
	t.Helper()
	e.addCamera("p-on", "police", 40.80, -73.80)
	e.addCamera("p-off", "police", 40.70001, -73.90001, "school")
	e.addCamera("p-idle", "police", 40.60, -74.00)
	e.addCamera("p-alert", "police", 40.75, -73.95)
	e.addCamera("f-off", "fire", 40.70002, -73.90002)
	e.addCamera("f-shared", "fire", 40.70003, -73.90003, "hydrant")
	e.addCamera("f-alert", "fire", 40.65, -74.05)
	e.addCamera("f-hydrant", "fire", 40.85, -74.10, "hydrant")
	sh := argus.Share{ID: "share-hydrants", OwnerOrgID: "fire", GranteeOrgID: "police", Tags: []string{"hydrant"},
		Actions: []argus.Action{argus.ActionLive}, Purpose: "mutual aid", CreatedBy: "admin",
		ValidFrom: time.Now().Add(-time.Hour), ValidUntil: time.Now().Add(time.Hour)}
	if err := e.db.CreateShare(t.Context(), &sh); err != nil {
		t.Fatal(err)
	}
	e.gate.InvalidateShares()
}

func TestCameraListingCarriesState(t *testing.T) {
	e := stateEnv(t, map[string]string{
		"p-on": "online", "p-off": "offline", "p-alert": "stalled", "f-shared": "unauthorised", "f-off": "offline",
	}, "p-alert", "f-alert")
	stateCameras(t, e)
	for _, tc := range []struct {
		name, user, query string
		want              map[string]string // id → state, "+alerting" when alerting
	}{
		{"viewer sees own and shared cameras with their states", "viewer", "", map[string]string{
			"p-on": "online", "p-off": "offline", "p-idle": "idle", "p-alert": "stalled+alerting", "f-shared": "unauthorised",
			"f-hydrant": "idle",
		}},
		{"admin sees every camera's state", "admin", "", map[string]string{
			"p-on": "online", "p-off": "offline", "p-idle": "idle", "p-alert": "stalled+alerting",
			"f-off": "offline", "f-shared": "unauthorised", "f-alert": "idle+alerting", "f-hydrant": "idle",
		}},
		{"a bbox listing carries states too", "fireviewer", "bbox=-74.1,40.6,-73.85,40.71", map[string]string{
			"f-off": "offline", "f-shared": "unauthorised", "f-alert": "idle+alerting",
		}},
		{"a text search carries states too", "viewer", "q=p-o", map[string]string{"p-on": "online", "p-off": "offline"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.call("GET", "/api/v1/cameras?"+tc.query, tc.user, nil)
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			var page struct {
				Items []struct {
					ID       string `json:"id"`
					State    string `json:"state"`
					Alerting bool   `json:"alerting"`
				} `json:"items"`
			}
			r.decode(t, &page)
			got := map[string]string{}
			for _, c := range page.Items {
				got[c.ID] = c.State
				if c.Alerting {
					got[c.ID] += "+alerting"
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("listed %v, want %v", got, tc.want)
			}
			for id, st := range tc.want {
				if got[id] != st {
					t.Fatalf("listed %v, want %v", got, tc.want)
				}
			}
		})
	}
}

// gridCell is a cell of a grid answer.
type gridCell struct {
	Lat      float64 `json:"lat"`
	Lon      float64 `json:"lon"`
	Count    int     `json:"count"`
	CameraID string  `json:"camera_id"`
	Offline  int     `json:"offline"`
	Alerting int     `json:"alerting"`
}

// cellNear returns the cell whose mean is within 0.01° of (lat, lon).
func cellNear(cells []gridCell, lat, lon float64) (gridCell, bool) {
	for _, c := range cells {
		if math.Abs(c.Lat-lat) < 0.01 && math.Abs(c.Lon-lon) < 0.01 {
			return c, true
		}
	}
	return gridCell{}, false
}

func TestCameraGridCountsTroubleAndAlerts(t *testing.T) {
	// In p-off's cell police sees p-off (offline) and f-shared (online,
	// through the share) but not f-off (offline): 2 cameras, 1 offline.
	e := stateEnv(t, map[string]string{
		"p-on": "online", "p-off": "offline", "p-alert": "stalled", "f-shared": "online", "f-off": "offline",
		"f-hydrant": "unsupported_codec",
	}, "p-alert", "f-alert", "gone")
	stateCameras(t, e)
	type cellWant struct {
		lat, lon                 float64
		count, offline, alerting int
	}
	const box = "bbox=-74.2,40.5,-73.7,40.9&zoom=10"
	for _, tc := range []struct {
		name, user, query string
		want              []cellWant // every cell of the answer
	}{
		{"viewer: fire's own offline camera is neither counted nor in trouble", "viewer", box, []cellWant{
			{40.70002, -73.90002, 2, 1, 0}, // p-off, and f-shared through the share
			{40.80, -73.80, 1, 0, 0},
			{40.60, -74.00, 1, 0, 0},
			{40.75, -73.95, 1, 1, 1},
			{40.85, -74.10, 1, 1, 0}, // f-hydrant, through the share
		}},
		{"admin: every camera", "admin", box, []cellWant{
			{40.70002, -73.90002, 3, 2, 0},
			{40.80, -73.80, 1, 0, 0},
			{40.60, -74.00, 1, 0, 0},
			{40.75, -73.95, 1, 1, 1},
			{40.65, -74.05, 1, 0, 1},
			{40.85, -74.10, 1, 1, 0},
		}},
		{"fire viewer: its own cameras", "fireviewer", box, []cellWant{
			{40.700025, -73.900025, 2, 1, 0},
			{40.65, -74.05, 1, 0, 1},
			{40.85, -74.10, 1, 1, 0},
		}},
		{"a tag filter keeps its cameras' trouble only", "viewer", box + "&tag=school", []cellWant{
			{40.70001, -73.90001, 1, 1, 0},
		}},
		{"an org filter keeps its cameras' trouble only", "admin", box + "&org=fire", []cellWant{
			{40.700025, -73.900025, 2, 1, 0},
			{40.65, -74.05, 1, 0, 1},
			{40.85, -74.10, 1, 1, 0},
		}},
		{"a bbox leaving a camera out leaves its trouble out", "admin", "bbox=-73.900025,40.5,-73.7,40.9&zoom=10", []cellWant{
			{40.700015, -73.900015, 2, 2, 0}, // p-off and f-off; f-shared is west of the box
			{40.80, -73.80, 1, 0, 0},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.call("GET", "/api/v1/cameras/grid?"+tc.query, tc.user, nil)
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			var g struct {
				Cells []gridCell `json:"cells"`
			}
			r.decode(t, &g)
			if len(g.Cells) != len(tc.want) {
				t.Fatalf("%d cells %+v, want %d", len(g.Cells), g.Cells, len(tc.want))
			}
			for _, w := range tc.want {
				c, ok := cellNear(g.Cells, w.lat, w.lon)
				if !ok || c.Count != w.count || c.Offline != w.offline || c.Alerting != w.alerting {
					t.Fatalf("cell near %v,%v = %+v (found %v); want count %d, offline %d, alerting %d (cells %+v)",
						w.lat, w.lon, c, ok, w.count, w.offline, w.alerting, g.Cells)
				}
			}
		})
	}
}

func TestCameraGridWithoutStateSources(t *testing.T) {
	e := newEnv(t)
	e.addCamera("p-1", "police", 40.70, -73.90)
	r := e.call("GET", "/api/v1/cameras/grid?bbox=-74,40,-73,41&zoom=10", "viewer", nil)
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if want := `{"cells":[{"lat":40.7,"lon":-73.9,"count":1,"camera_id":"p-1"}]}`; string(r.body) != want+"\n" {
		t.Fatalf("grid = %s, want %s (no trouble or alert counts)", r.body, want)
	}
	var page struct {
		Items []struct {
			State string `json:"state"`
		} `json:"items"`
	}
	e.call("GET", "/api/v1/cameras", "viewer", nil).decode(t, &page)
	if len(page.Items) != 1 || page.Items[0].State != api.StateIdle {
		t.Fatalf("listing = %+v, want one idle camera", page.Items)
	}
}
