package sqlite

import (
	"cmp"
	"maps"
	"path/filepath"
	"slices"
	"testing"

	"argus"
)

func TestDistricts(t *testing.T) {
	// Rows of zoom-16 cells are about 0.00069° of latitude; the cameras of
	// "north" and "lone" are each alone in their row, the two of "street"
	// share one.
	type cam struct {
		id, org, district string
		lat, lon          float64
	}
	cams := []cam{
		{"n1", "police", "north", 40.70, -74.00},
		{"n2", "police", "north", 40.71, -74.00},
		{"n3", "fire", "north", 40.72, -73.98},
		{"n4", "fire", "north", 40.705, -73.99},
		{"s1", "police", "street", 40.60, -74.00},
		{"s2", "fire", "street", 40.6003, -73.99},
		{"l1", "police", "lone", 40.50, -73.50},
		{"x1", "police", "", 40.90, -73.90},
	}
	tests := []struct {
		name   string
		change func(t *testing.T, db *DB)
		want   []argus.District
	}{
		{
			name: "one point per camera alone in its row, row corners otherwise, no district left out",
			want: []argus.District{
				{Name: "lone", ByOrg: map[string]int{"police": 1}, Points: []argus.GeoPoint{{Lat: 40.50, Lon: -73.50}}},
				{Name: "north", ByOrg: map[string]int{"police": 2, "fire": 2}, Points: []argus.GeoPoint{
					{Lat: 40.70, Lon: -74.00}, {Lat: 40.705, Lon: -73.99}, {Lat: 40.71, Lon: -74.00}, {Lat: 40.72, Lon: -73.98}}},
				{Name: "street", ByOrg: map[string]int{"police": 1, "fire": 1}, Points: []argus.GeoPoint{
					{Lat: 40.60, Lon: -74.00}, {Lat: 40.60, Lon: -73.99}, {Lat: 40.6003, Lon: -74.00}, {Lat: 40.6003, Lon: -73.99}}},
			},
		},
		{
			name: "a camera moved to another district and a deleted one are counted where they are now",
			change: func(t *testing.T, db *DB) {
				c, err := db.Camera(t.Context(), "n3")
				if err != nil {
					t.Fatal(err)
				}
				c.District = "lone"
				if err := db.UpdateCamera(t.Context(), c); err != nil {
					t.Fatal(err)
				}
				if err := db.DeleteCamera(t.Context(), "s2"); err != nil {
					t.Fatal(err)
				}
			},
			want: []argus.District{
				{Name: "lone", ByOrg: map[string]int{"police": 1, "fire": 1}, Points: []argus.GeoPoint{{Lat: 40.50, Lon: -73.50}, {Lat: 40.72, Lon: -73.98}}},
				{Name: "north", ByOrg: map[string]int{"police": 2, "fire": 1}, Points: []argus.GeoPoint{
					{Lat: 40.70, Lon: -74.00}, {Lat: 40.705, Lon: -73.99}, {Lat: 40.71, Lon: -74.00}}},
				{Name: "street", ByOrg: map[string]int{"police": 1}, Points: []argus.GeoPoint{{Lat: 40.60, Lon: -74.00}}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openTest(t, filepath.Join(t.TempDir(), "argus.db"))
			for _, o := range []string{"police", "fire"} {
				if err := db.CreateOrg(t.Context(), &argus.Org{ID: o, Name: o, Kind: argus.OrgOther}); err != nil {
					t.Fatal(err)
				}
			}
			for _, c := range cams {
				cam := &argus.Camera{ID: c.id, Name: c.id, OrgID: c.org, Lat: c.lat, Lon: c.lon, District: c.district,
					StreamURL: "rtsp://10.0.0.1/" + c.id}
				cam.Normalize()
				if err := db.CreateCamera(t.Context(), cam); err != nil {
					t.Fatal(err)
				}
			}
			if tt.change != nil {
				tt.change(t, db)
			}
			got, err := db.Districts(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				slices.SortFunc(got[i].Points, func(a, b argus.GeoPoint) int {
					return cmp.Or(cmp.Compare(a.Lat, b.Lat), cmp.Compare(a.Lon, b.Lon))
				})
			}
			if !slices.EqualFunc(got, tt.want, func(a, b argus.District) bool {
				return a.Name == b.Name && maps.Equal(a.ByOrg, b.ByOrg) && slices.Equal(a.Points, b.Points)
			}) {
				t.Errorf("Districts() =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

// TestDistrictsCity checks the summary of a generated city against its
// cameras: the count of every district and owner, and every camera within
// its district's points' bounding box.
func TestDistrictsCity(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "argus.db"))
	const n = 3000
	buildCity(t, db, n)
	got, err := db.Districts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]argus.District{}
	for _, d := range got {
		byName[d.Name] = d
	}
	if len(got) != len(districts) {
		t.Fatalf("Districts() gave %d districts; want %d", len(got), len(districts))
	}
	counted := map[[2]string]int{}
	page, err := db.FindCameras(t.Context(), argus.CameraQuery{Limit: argus.MaxPageSize})
	for err == nil && len(page.Items) > 0 {
		for _, c := range page.Items {
			counted[[2]string{c.District, c.OrgID}]++
			d := byName[c.District]
			box := argus.BBox{MinLat: 90, MinLon: 180, MaxLat: -90, MaxLon: -180}
			for _, p := range d.Points {
				box.MinLat, box.MaxLat = min(box.MinLat, p.Lat), max(box.MaxLat, p.Lat)
				box.MinLon, box.MaxLon = min(box.MinLon, p.Lon), max(box.MaxLon, p.Lon)
			}
			if !box.Contains(c.Point()) {
				t.Fatalf("camera %s at %v lies outside the points of %q (%+v)", c.ID, c.Point(), c.District, box)
			}
		}
		if page.Next == "" {
			break
		}
		page, err = db.FindCameras(t.Context(), argus.CameraQuery{After: page.Next, Limit: argus.MaxPageSize})
	}
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, d := range got {
		for org, k := range d.ByOrg {
			if want := counted[[2]string{d.Name, org}]; k != want {
				t.Errorf("%s: %d cameras of %s; want %d", d.Name, k, org, want)
			}
			total += k
		}
	}
	if total != n {
		t.Errorf("Districts() counted %d cameras; want %d", total, n)
	}
}

// BenchmarkDistricts summarises the 500k city's 20 districts.
func BenchmarkDistricts(b *testing.B) {
	db := benchDB(b)
	var l latencies
	for b.Loop() {
		l.time(b, func() (int, error) {
			d, err := db.Districts(b.Context())
			return len(d), err
		})
	}
	l.report(b)
}
