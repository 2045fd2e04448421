package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"argus"
)

func TestCameraAccessByRole(t *testing.T) {
	e := newEnv(t)
	cams := map[string]string{ // camera id → owner
		"cam-own": "police", "cam-child": "precinct-1", "cam-parent": "city", "cam-foreign": "fire",
	}
	for id, org := range cams {
		e.addCamera(id, org, 40.7, -74.0)
	}
	police := []string{"cam-child", "cam-own"}
	visible := map[string][]string{
		"admin":        {"cam-child", "cam-foreign", "cam-own", "cam-parent"},
		"viewer":       police,
		"operator":     police,
		"investigator": police,
		"orgadmin":     police,
		"auditor":      police,
		"fireviewer":   {"cam-foreign"},
	}
	managers := map[string]bool{"admin": true, "orgadmin": true}

	for _, u := range testUsers() {
		t.Run(u.name+"/list", func(t *testing.T) {
			r := e.call("GET", "/api/v1/cameras", u.name, nil)
			if got := ids(t, r); r.status != http.StatusOK || !slices.Equal(got, visible[u.name]) {
				t.Fatalf("list: %d %v, want %v", r.status, got, visible[u.name])
			}
		})
		for id := range cams {
			see := slices.Contains(visible[u.name], id)
			t.Run(u.name+"/get/"+id, func(t *testing.T) {
				r := e.call("GET", "/api/v1/cameras/"+id, u.name, nil)
				switch {
				case see && r.status != http.StatusOK:
					t.Fatalf("visible camera: %d %s", r.status, r.body)
				case !see:
					code, msg, _, _ := r.apiError(t)
					if r.status != http.StatusNotFound || code != argus.ENOTFOUND || msg != fmt.Sprintf("camera %q not found", id) {
						t.Fatalf("invisible camera: %d %s, want 404 like a missing one", r.status, r.body)
					}
				}
			})
			t.Run(u.name+"/patch/"+id, func(t *testing.T) {
				name := "renamed by " + u.name
				r := e.call("PATCH", "/api/v1/cameras/"+id, u.name, map[string]any{"name": name})
				code, _, _, _ := r.apiError(t)
				want := http.StatusOK
				switch {
				case !see:
					want = http.StatusNotFound
				case !managers[u.name]:
					want = http.StatusForbidden
				}
				wantCode := map[int]string{http.StatusForbidden: argus.EFORBIDDEN, http.StatusNotFound: argus.ENOTFOUND}[want]
				if r.status != want || (want != http.StatusOK && code != wantCode) {
					t.Fatalf("patch: %d %s, want %d", r.status, r.body, want)
				}
				c, err := e.db.Camera(t.Context(), id)
				if err != nil {
					t.Fatal(err)
				}
				if (c.Name == name) != (want == http.StatusOK) {
					t.Fatalf("stored name %q after a %d", c.Name, r.status)
				}
			})
		}
	}
}

func TestCameraCRUD(t *testing.T) {
	e := newEnv(t)
	r := e.call("POST", "/api/v1/cameras", "orgadmin", map[string]any{
		"name": "  Main St & 5th  ", "org_id": "precinct-1", "lat": 40.71, "lon": -74.01,
		"tags":       []string{"Traffic", "intersection", "traffic"},
		"stream_url": "rtsp://admin:hunter2@10.1.2.3:554/stream1", "recording": true, "retention_days": 30,
		"transport": " UDP ",
	})
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var got argus.Camera
	r.decode(t, &got)
	if !strings.HasPrefix(got.ID, "cam-") || got.Name != "Main St & 5th" || !slices.Equal(got.Tags, []string{"intersection", "traffic"}) ||
		got.StreamURL != "rtsp://10.1.2.3:554/stream1" || got.Username != "admin" || got.Password != "" || got.CreatedAt.IsZero() ||
		got.Transport != argus.TransportUDP {
		t.Fatalf("created camera %s: want a generated id, normalized fields, credentials lifted and no password", r.body)
	}
	if strings.Contains(string(r.body), "hunter2") {
		t.Fatalf("the response shows the password: %s", r.body)
	}
	stored, err := e.db.Camera(t.Context(), got.ID)
	if err != nil || stored.Password != "hunter2" {
		t.Fatalf("stored camera %+v, %v: want the password kept", stored, err)
	}

	path := "/api/v1/cameras/" + got.ID
	r = e.call("GET", path, "viewer", nil)
	if r.status != http.StatusOK || strings.Contains(string(r.body), "hunter2") || strings.Contains(string(r.body), `"password"`) {
		t.Fatalf("get: %d %s", r.status, r.body)
	}

	// PUT of what GET returned (no password) keeps the password.
	var put map[string]any
	r.decode(t, &put)
	put["name"] = "Main St"
	if r := e.call("PUT", path, "orgadmin", put); r.status != http.StatusOK {
		t.Fatalf("put: %d %s", r.status, r.body)
	}
	if c, _ := e.db.Camera(t.Context(), got.ID); c.Name != "Main St" || c.Password != "hunter2" || c.Username != "admin" || c.Transport != argus.TransportUDP {
		t.Fatalf("after put: %+v; want the new name and the old credentials and transport", c)
	}
	// PUT with another username and no password drops the password.
	put["username"] = "viewer"
	if r := e.call("PUT", path, "orgadmin", put); r.status != http.StatusOK {
		t.Fatalf("put: %d %s", r.status, r.body)
	}
	if c, _ := e.db.Camera(t.Context(), got.ID); c.Username != "viewer" || c.Password != "" {
		t.Fatalf("after put with a new username: %+v", c)
	}

	// PATCH sets the transport, and "" is the default (TCP) again.
	for _, tr := range []string{argus.TransportAuto, ""} {
		r := e.call("PATCH", path, "orgadmin", map[string]any{"transport": tr})
		var patched argus.Camera
		r.decode(t, &patched)
		if c, _ := e.db.Camera(t.Context(), got.ID); r.status != http.StatusOK || patched.Transport != tr || c.Transport != tr {
			t.Fatalf("patch transport %q: %d %s, stored %q", tr, r.status, r.body, c.Transport)
		}
	}

	// PATCH changes only what it names; labels merge.
	if r := e.call("PATCH", path, "orgadmin", map[string]any{"labels": map[string]string{"model": "x1"}}); r.status != http.StatusOK {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	r = e.call("PATCH", path, "orgadmin", map[string]any{"recording": false, "labels": map[string]string{"site": "north"}})
	r.decode(t, &got)
	if r.status != http.StatusOK || got.Recording || got.Name != "Main St" || got.Labels["model"] != "x1" || got.Labels["site"] != "north" {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}

	// Moving a camera to an organisation the caller does not manage fails
	// and changes nothing.
	before := e.snapshot()
	r = e.call("PATCH", path, "orgadmin", map[string]any{"org_id": "fire"})
	if code, _, _, _ := r.apiError(t); r.status != http.StatusForbidden || code != argus.EFORBIDDEN {
		t.Fatalf("move to fire: %d %s", r.status, r.body)
	}
	if after := e.snapshot(); after != before {
		t.Fatal("a refused move changed the store")
	}
	if r := e.call("PATCH", path, "admin", map[string]any{"org_id": "fire"}); r.status != http.StatusOK {
		t.Fatalf("admin move: %d %s", r.status, r.body)
	}
	if r := e.call("GET", path, "orgadmin", nil); r.status != http.StatusNotFound {
		t.Fatalf("moved camera still visible to police: %d", r.status)
	}

	if r := e.call("DELETE", path, "admin", nil); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if _, err := e.db.Camera(t.Context(), got.ID); argus.ErrorCode(err) != argus.ENOTFOUND {
		t.Fatalf("deleted camera still stored: %v", err)
	}
	if r := e.call("DELETE", path, "admin", nil); r.status != http.StatusNotFound {
		t.Fatalf("second delete: %d", r.status)
	}
}

func TestCameraPagination(t *testing.T) {
	e := newEnv(t)
	bulk, err := e.db.BeginCameraBulk(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer bulk.Rollback()
	var all, police []string
	for i := range 350 {
		org := []string{"police", "precinct-1", "fire"}[i%3]
		c := &argus.Camera{
			ID: fmt.Sprintf("cam-%04d", i), Name: "Camera", OrgID: org, Lat: 40 + float64(i)/1000, Lon: -74,
			Tags: []string{}, StreamURL: "rtsp://10.0.0.1/x",
		}
		if err := bulk.Add(t.Context(), c); err != nil {
			t.Fatal(err)
		}
		all = append(all, c.ID)
		if org != "fire" {
			police = append(police, c.ID)
		}
	}
	if err := bulk.Commit(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		user  string
		limit int
		want  []string
		pages int
	}{
		{"admin", 100, all, 4},
		{"viewer", 100, police, 3},
		{"fireviewer", 50, nil, 3},
		{"admin", 1000, all, 1},
	} {
		if tc.want == nil {
			tc.want = slices.DeleteFunc(slices.Clone(all), func(id string) bool { return slices.Contains(police, id) })
		}
		t.Run(fmt.Sprintf("%s/limit=%d", tc.user, tc.limit), func(t *testing.T) {
			var got []string
			pages := 0
			for cursor := ""; ; pages++ {
				q := url.Values{"limit": {fmt.Sprint(tc.limit)}}
				if cursor != "" {
					q.Set("cursor", cursor)
				}
				r := e.call("GET", "/api/v1/cameras?"+q.Encode(), tc.user, nil)
				var page struct {
					Items []argus.Camera `json:"items"`
					Next  string         `json:"next"`
				}
				r.decode(t, &page)
				if r.status != http.StatusOK || len(page.Items) > tc.limit {
					t.Fatalf("page %d: %d, %d items", pages, r.status, len(page.Items))
				}
				for _, c := range page.Items {
					got = append(got, c.ID)
				}
				if page.Next == "" {
					pages++
					break
				}
				cursor = page.Next
			}
			if !slices.Equal(got, tc.want) || pages != tc.pages {
				t.Fatalf("%d pages of %d cameras; want %d pages of %d, in id order", pages, len(got), tc.pages, len(tc.want))
			}
		})
	}
}

func TestCameraFilters(t *testing.T) {
	e := newEnv(t)
	e.addCamera("times-square", "police", 40.758, -73.9855, "traffic", "crowd")
	e.addCamera("union-square", "precinct-1", 40.7359, -73.9911, "crowd")
	e.addCamera("coney-island", "police", 40.5749, -73.9859, "beach")
	e.addCamera("fire-hq", "fire", 40.7580, -73.9850, "crowd")
	rec := e.addCamera("recording-cam", "police", 40.0, -75.0)
	rec.Recording = true
	if err := e.db.UpdateCamera(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, user, query string
		want              []string
	}{
		{"bbox", "viewer", "bbox=-74.0,40.7,-73.9,40.8", []string{"times-square", "union-square"}},
		{"bbox as admin includes other orgs", "admin", "bbox=-74.0,40.7,-73.9,40.8", []string{"fire-hq", "times-square", "union-square"}},
		{"near", "viewer", "near=40.758,-73.9855,500", []string{"times-square"}},
		{"text", "viewer", "q=square", []string{"times-square", "union-square"}},
		{"tags are ANDed", "viewer", "tag=crowd&tag=traffic", []string{"times-square"}},
		{"org inside the scope", "viewer", "org=precinct-1", []string{"union-square"}},
		{"org outside the scope", "viewer", "org=fire", []string{}},
		{"org mixed", "viewer", "org=fire&org=police", []string{"coney-island", "recording-cam", "times-square"}},
		{"recording", "viewer", "recording=true", []string{"recording-cam"}},
		{"not recording", "fireviewer", "recording=false", []string{"fire-hq"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.call("GET", "/api/v1/cameras?"+tc.query, tc.user, nil)
			if got := ids(t, r); r.status != http.StatusOK || !slices.Equal(got, tc.want) {
				t.Fatalf("%d %v, want %v", r.status, got, tc.want)
			}
		})
	}
}

func TestCameraGrid(t *testing.T) {
	e := newEnv(t)
	for i := range 5 {
		e.addCamera(fmt.Sprintf("police-%d", i), "police", 40.70+float64(i)*0.001, -74.0)
	}
	e.addCamera("lonely", "precinct-1", 40.79, -73.91)
	for i := range 3 {
		e.addCamera(fmt.Sprintf("fire-%d", i), "fire", 40.70, -74.0+float64(i)*0.001)
	}
	e.addCamera("outside", "police", 41.5, -73.0)

	type cell struct {
		Lat      float64 `json:"lat"`
		Lon      float64 `json:"lon"`
		Count    int     `json:"count"`
		CameraID string  `json:"camera_id"`
	}
	for _, tc := range []struct {
		user    string
		total   int
		singles []string
	}{
		{"viewer", 6, []string{"lonely"}},
		{"admin", 9, []string{"lonely"}},
		{"fireviewer", 3, nil},
		{"auditor", 6, []string{"lonely"}},
	} {
		t.Run(tc.user, func(t *testing.T) {
			r := e.call("GET", "/api/v1/cameras/grid?bbox=-74.1,40.6,-73.9,40.8&zoom=12", tc.user, nil)
			var body struct {
				Cells []cell `json:"cells"`
			}
			r.decode(t, &body)
			if r.status != http.StatusOK {
				t.Fatalf("%d %s", r.status, r.body)
			}
			total, singles := 0, []string{}
			for _, c := range body.Cells {
				total += c.Count
				if c.Count == 1 && c.CameraID != "" {
					singles = append(singles, c.CameraID)
				}
			}
			if total != tc.total || !slices.Equal(singles, append([]string{}, tc.singles...)) {
				t.Fatalf("cells %+v: total %d singles %v; want %d and %v", body.Cells, total, singles, tc.total, tc.singles)
			}
		})
	}
}
