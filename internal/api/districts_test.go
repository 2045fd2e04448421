package api_test

import (
	"math"
	"net/http"
	"slices"
	"testing"
	"time"

	"argus"
	"argus/internal/api"
)

// districtsBody is the answer of GET /api/v1/districts.
type districtsBody struct {
	Items []struct {
		Name    string           `json:"name"`
		Cameras int              `json:"cameras"`
		Outline []argus.GeoPoint `json:"outline"`
		Center  argus.GeoPoint   `json:"center"`
	} `json:"items"`
}

// outlineDeg is the size of the cells outlines are drawn on
// (argus.GridCellDeg(15)).
const outlineDeg = 360.0 / (1 << 18)

// Cells near 40.41, -74.25 (row, column of outlineDeg cells from -90,
// -180).
const cellRow0, cellCol0 = 94_963, 77_005

// inCell returns the centre of the cell at row, column r, c from
// cellRow0, cellCol0.
func inCell(r, c int) (lat, lon float64) {
	return float64(cellRow0+r)*outlineDeg - 90 + outlineDeg/2, float64(cellCol0+c)*outlineDeg - 180 + outlineDeg/2
}

// cellCorner returns the south-west corner of the cell at r, c.
func cellCorner(r, c int) argus.GeoPoint {
	return argus.GeoPoint{Lat: float64(cellRow0+r)*outlineDeg - 90, Lon: float64(cellCol0+c)*outlineDeg - 180}
}

func districtsEnv(t *testing.T) (*env, *clock) {
	t.Helper()
	clk := newClock()
	e := newEnv(t, func(c *api.Config) { c.Now = clk.Now })
	for _, c := range []struct {
		id, org, district string
		r, c              int
	}{
		// north: police cameras in the corner cells of a 5×5 square and
		// one in the middle; a fire camera east of it.
		{"n-sw", "police", "north", 0, 0},
		{"n-se", "police", "north", 0, 4},
		{"n-ne", "police", "north", 4, 4},
		{"n-nw", "police", "north", 4, 0},
		{"n-mid", "police", "north", 2, 2},
		{"n-fire", "fire", "north", 2, 5},
		// lone: one fire camera, far south.
		{"l-fire", "fire", "lone", -40, 0},
		// No district: on no outline and in no count.
		{"x-police", "police", "", 60, 60},
	} {
		lat, lon := inCell(c.r, c.c)
		cam := &argus.Camera{ID: c.id, Name: c.id, OrgID: c.org, District: c.district, Lat: lat, Lon: lon,
			StreamURL: "rtsp://10.0.0.1/" + c.id}
		cam.Normalize()
		if err := e.db.CreateCamera(t.Context(), cam); err != nil {
			t.Fatal(err)
		}
	}
	return e, clk
}

func getDistricts(t *testing.T, e *env, user string) districtsBody {
	t.Helper()
	r := e.call("GET", "/api/v1/districts", user, nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET /api/v1/districts as %s: %d %s", user, r.status, r.body)
	}
	var b districtsBody
	r.decode(t, &b)
	return b
}

// counts returns district name → count.
func (b districtsBody) counts() map[string]int {
	out := map[string]int{}
	for _, d := range b.Items {
		out[d.Name] = d.Cameras
	}
	return out
}

func TestDistrictOutlines(t *testing.T) {
	e, _ := districtsEnv(t)
	got := getDistricts(t, e, "viewer")
	if len(got.Items) != 2 || got.Items[0].Name != "lone" || got.Items[1].Name != "north" {
		t.Fatalf("districts = %+v; want lone and north, in that order", got.Items)
	}
	tests := []struct {
		name   string
		i      int
		want   []argus.GeoPoint
		center argus.GeoPoint
	}{
		{
			// The hull of the cells' corners, counter-clockwise from the
			// south-west: the middle camera is inside, and the fire
			// camera's cell (row 2, column 5) sticks out east, making the
			// south-east corner of the square a vertex and its north-east
			// corner not.
			name: "north: the hull of its cameras' cells, other organisations' included",
			i:    1,
			want: []argus.GeoPoint{cellCorner(0, 0), cellCorner(0, 5), cellCorner(2, 6), cellCorner(3, 6), cellCorner(5, 5), cellCorner(5, 0)},
		},
		{
			name:   "lone: one camera is its cell, centred on it",
			i:      0,
			want:   []argus.GeoPoint{cellCorner(-40, 0), cellCorner(-40, 1), cellCorner(-39, 1), cellCorner(-39, 0)},
			center: argus.GeoPoint{Lat: cellCorner(-40, 0).Lat + outlineDeg/2, Lon: cellCorner(-40, 0).Lon + outlineDeg/2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := got.Items[tt.i]
			if !slices.Equal(d.Outline, tt.want) {
				t.Errorf("outline = %v\nwant %v", d.Outline, tt.want)
			}
			if tt.center != (argus.GeoPoint{}) && (math.Abs(d.Center.Lat-tt.center.Lat) > 1e-9 || math.Abs(d.Center.Lon-tt.center.Lon) > 1e-9) {
				t.Errorf("center = %v; want %v", d.Center, tt.center)
			}
			box := argus.BBox{MinLat: 90, MinLon: 180, MaxLat: -90, MaxLon: -180}
			for _, p := range tt.want {
				box.MinLat, box.MaxLat = min(box.MinLat, p.Lat), max(box.MaxLat, p.Lat)
				box.MinLon, box.MaxLon = min(box.MinLon, p.Lon), max(box.MaxLon, p.Lon)
			}
			if !box.Contains(d.Center) {
				t.Errorf("center %v lies outside the outline's box %+v", d.Center, box)
			}
		})
	}
}

func TestDistrictCounts(t *testing.T) {
	e, clk := districtsEnv(t)
	r := e.call("POST", "/api/v1/tokens", "viewer", map[string]any{"name": "live only", "scopes": []string{"video.live"}})
	if r.status != http.StatusCreated {
		t.Fatalf("create a scoped token: %d %s", r.status, r.body)
	}
	var tok struct {
		Token string `json:"token"`
	}
	r.decode(t, &tok)
	e.token["liveonly"] = tok.Token
	tests := []struct {
		name  string
		user  string
		share bool // a share from fire to police covers n-fire
		want  map[string]int
	}{
		{"an administrator counts every camera", "admin", false, map[string]int{"north": 6, "lone": 1}},
		{"a police viewer counts only police cameras", "viewer", false, map[string]int{"north": 5, "lone": 0}},
		{"a fire viewer counts only fire cameras", "fireviewer", false, map[string]int{"north": 1, "lone": 1}},
		{"an auditor sees the directory of police", "auditor", false, map[string]int{"north": 5, "lone": 0}},
		{"a token that may not view the directory counts nothing", "liveonly", false, map[string]int{"north": 0, "lone": 0}},
		{"a share adds the cameras it covers", "viewer", true, map[string]int{"north": 6, "lone": 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.share {
				storeShare(t, e, clk, "share-n-fire", time.Hour, argus.Share{CameraIDs: []string{"n-fire"}})
			}
			got := getDistricts(t, e, tt.user)
			if c := got.counts(); len(c) != len(tt.want) || c["north"] != tt.want["north"] || c["lone"] != tt.want["lone"] {
				t.Errorf("counts = %v; want %v", c, tt.want)
			}
			for _, d := range got.Items {
				if len(d.Outline) == 0 {
					t.Errorf("%s has no outline for %s", d.Name, tt.user)
				}
			}
		})
	}
	t.Run("no one signed in is refused", func(t *testing.T) {
		if r := e.call("GET", "/api/v1/districts", "", nil); r.status != http.StatusUnauthorized {
			t.Errorf("status = %d; want 401", r.status)
		}
	})
}

func TestDistrictsCached(t *testing.T) {
	e, clk := districtsEnv(t)
	if got := getDistricts(t, e, "admin").counts(); got["north"] != 6 {
		t.Fatalf("north counts %d; want 6", got["north"])
	}
	cam := &argus.Camera{ID: "n-new", Name: "new", OrgID: "police", District: "north", Lat: 40.9, Lon: -73.9,
		StreamURL: "rtsp://10.0.0.1/new"}
	cam.Normalize()
	if err := e.db.CreateCamera(t.Context(), cam); err != nil {
		t.Fatal(err)
	}
	clk.Advance(59 * time.Second)
	if got := getDistricts(t, e, "admin").counts(); got["north"] != 6 {
		t.Errorf("north counts %d 59 s later; want the cached 6", got["north"])
	}
	clk.Advance(2 * time.Second)
	if got := getDistricts(t, e, "admin").counts(); got["north"] != 7 {
		t.Errorf("north counts %d 61 s later; want 7, read again", got["north"])
	}
}
