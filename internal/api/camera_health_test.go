package api_test

import (
	"net/http"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"argus"
	"argus/internal/api"
)

// fakeHealth stands in for the node's ingest and stream hub at the
// api.Config.Health function boundary: it answers for the cameras in pulled
// and remembers which cameras it was asked about.
type fakeHealth struct {
	pulled map[string]api.CameraHealth

	mu    sync.Mutex
	asked []string
}

func (f *fakeHealth) health(id string) (api.CameraHealth, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, id)
	h, ok := f.pulled[id]
	return h, ok
}

// takeAsked returns the cameras asked about since the last call.
func (f *fakeHealth) takeAsked() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.asked
	f.asked = nil
	return a
}

func TestCameraHealth(t *testing.T) {
	since := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	fake := &fakeHealth{pulled: map[string]api.CameraHealth{
		// CameraID and Recording are left for the API to fill in.
		"cam-live": {State: "online", Since: since, FPS: 25, Bitrate: 2e6, LastKeyframe: since.Add(5 * time.Minute), Reconnects: 2, Readers: 3},
		"cam-view": {State: "offline", Since: since, Reconnects: 7, LastError: "dial tcp 10.0.0.1:554: connection refused", Readers: 1},
		"cam-fire": {State: "stalled", Since: since, Readers: 1},
	}}
	e := newEnv(t, func(c *api.Config) { c.Health = fake.health })
	bare := newEnv(t) // a node without the media core: no Health
	for _, env := range []*env{e, bare} {
		for id, c := range map[string]struct {
			org       string
			recording bool
		}{"cam-live": {"police", true}, "cam-view": {"precinct-1", false}, "cam-idle": {"police", true}, "cam-fire": {"fire", true}} {
			cam := env.addCamera(id, c.org, 40.7, -74.0)
			cam.Recording = c.recording
			if err := env.db.UpdateCamera(t.Context(), cam); err != nil {
				t.Fatal(err)
			}
		}
	}
	idle := func(id string) map[string]any {
		return map[string]any{"camera_id": id, "state": "idle", "fps": 0.0, "bitrate": 0.0, "reconnects": 0.0,
			"last_error": "", "readers": 0.0, "recording": false}
	}

	for _, tc := range []struct {
		name, user, camera string
		bare               bool // ask the node without Health
		status             int
		want               map[string]any // the whole body when status is 200
		msg                string         // the error message otherwise
	}{
		{name: "online and recording", user: "viewer", camera: "cam-live", status: 200, want: map[string]any{
			"camera_id": "cam-live", "state": "online", "since": "2026-03-01T10:00:00Z", "fps": 25.0, "bitrate": 2e6,
			"last_keyframe": "2026-03-01T10:05:00Z", "reconnects": 2.0, "last_error": "", "readers": 3.0, "recording": true}},
		{name: "offline, recording off", user: "auditor", camera: "cam-view", status: 200, want: map[string]any{
			"camera_id": "cam-view", "state": "offline", "since": "2026-03-01T10:00:00Z", "fps": 0.0, "bitrate": 0.0,
			"reconnects": 7.0, "last_error": "dial tcp 10.0.0.1:554: connection refused", "readers": 1.0, "recording": false}},
		{name: "not pulled is idle", user: "viewer", camera: "cam-idle", status: 200, want: idle("cam-idle")},
		{name: "no media core is idle", user: "viewer", camera: "cam-live", bare: true, status: 200, want: idle("cam-live")},
		{name: "own organisation only", user: "fireviewer", camera: "cam-fire", status: 200, want: map[string]any{
			"camera_id": "cam-fire", "state": "stalled", "since": "2026-03-01T10:00:00Z", "fps": 0.0, "bitrate": 0.0,
			"reconnects": 0.0, "last_error": "", "readers": 1.0, "recording": true}},
		{name: "invisible camera", user: "viewer", camera: "cam-fire", status: 404, msg: `camera "cam-fire" not found`},
		{name: "invisible to another organisation", user: "fireviewer", camera: "cam-live", status: 404, msg: `camera "cam-live" not found`},
		{name: "missing camera", user: "admin", camera: "cam-404", status: 404, msg: `camera "cam-404" not found`},
		{name: "no credentials", user: "", camera: "cam-live", status: 401, msg: "authentication required: send Authorization: Bearer <token>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := e
			if tc.bare {
				env = bare
			}
			r := env.call("GET", "/api/v1/cameras/"+tc.camera+"/health", tc.user, nil)
			asked := fake.takeAsked()
			if r.status != tc.status {
				t.Fatalf("status %d %s, want %d", r.status, r.body, tc.status)
			}
			if tc.status != http.StatusOK {
				if _, msg, _, _ := r.apiError(t); msg != tc.msg {
					t.Fatalf("message %q, want %q", msg, tc.msg)
				}
				if len(asked) != 0 {
					t.Fatalf("Health was asked about %v for a refused request", asked)
				}
				return
			}
			var got map[string]any
			r.decode(t, &got)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("body %s\nwant %v", r.body, tc.want)
			}
			if wantAsked := []string{tc.camera}; !tc.bare && !slices.Equal(asked, wantAsked) {
				t.Fatalf("Health asked about %v, want %v", asked, wantAsked)
			}
		})
	}

	// The health of a camera is not a way around the gate: every role that
	// sees a camera in the directory sees its health, and only those.
	for _, u := range testUsers() {
		t.Run("role/"+u.name, func(t *testing.T) {
			dir := e.call("GET", "/api/v1/cameras/cam-view", u.name, nil)
			r := e.call("GET", "/api/v1/cameras/cam-view/health", u.name, nil)
			fake.takeAsked()
			if r.status != dir.status {
				t.Fatalf("health %d, camera %d: want the same answer", r.status, dir.status)
			}
			if code, _, _, _ := r.apiError(t); r.status != http.StatusOK && code != argus.ENOTFOUND {
				t.Fatalf("health refused with %d %s, want 404 like the camera", r.status, r.body)
			}
		})
	}
}
