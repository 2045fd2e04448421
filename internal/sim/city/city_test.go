package city_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"argus"
	"argus/internal/camimport"
	"argus/internal/secret"
	"argus/internal/sim/city"
	"argus/internal/sqlite"
)

func generate(t testing.TB, opts city.Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := city.Generate(&buf, opts); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGenerateDeterministic(t *testing.T) {
	opts := city.Options{Cameras: 3000, Seed: 7}
	a, b := generate(t, opts), generate(t, opts)
	if !bytes.Equal(a, b) {
		t.Error("two runs with the same options differ")
	}
	if c := generate(t, city.Options{Cameras: 3000, Seed: 8}); bytes.Equal(a, c) {
		t.Error("seeds 7 and 8 give the same city")
	}
	if !slices.Equal(city.Orgs(opts), city.Orgs(opts)) {
		t.Error("Orgs differs between two calls")
	}
}

func TestGenerate(t *testing.T) {
	tests := []struct {
		name string
		opts city.Options
	}{
		{"default city", city.Options{Cameras: 5000, Seed: 1}},
		{"small area elsewhere", city.Options{Cameras: 800, Seed: 2, Center: argus.GeoPoint{Lat: -33.87, Lon: 151.21}, AreaKm2: 4}},
		{"few owners", city.Options{Cameras: 300, Seed: 3, PrivateOrgs: 2}},
		{"no cameras", city.Options{Seed: 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := generate(t, tt.opts)
			orgs := map[string]bool{}
			for _, o := range city.Orgs(tt.opts) {
				if err := o.Validate(); err != nil {
					t.Errorf("org %s: %v", o.ID, err)
				}
				if o.ParentID != "" && !orgs[o.ParentID] {
					t.Errorf("org %s comes before its parent %s", o.ID, o.ParentID)
				}
				orgs[o.ID] = true
			}
			box := city.Bounds(tt.opts)
			r := csv.NewReader(bytes.NewReader(data))
			header, err := r.Read()
			if err != nil || !slices.Equal(header, city.Header()) || !slices.Equal(header, camimport.Columns()) {
				t.Fatalf("header %q (%v), want %q", header, err, camimport.Columns())
			}
			ids := map[string]bool{}
			kinds := map[argus.OrgKind]int{}
			kindOf := map[string]argus.OrgKind{}
			for _, o := range city.Orgs(tt.opts) {
				kindOf[o.ID] = o.Kind
			}
			n := 0
			for ; ; n++ {
				rec, err := r.Read()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("row %d: %v", n+1, err)
				}
				id, org := rec[0], rec[2]
				lat, _ := strconv.ParseFloat(rec[3], 64)
				lon, _ := strconv.ParseFloat(rec[4], 64)
				switch {
				case ids[id]:
					t.Errorf("row %d: id %s repeats", n+1, id)
				case id != city.CameraID(n):
					t.Errorf("row %d: id %s, want %s", n+1, id, city.CameraID(n))
				case !orgs[org]:
					t.Errorf("row %d: org %s is not in Orgs", n+1, org)
				case !box.Contains(argus.GeoPoint{Lat: lat, Lon: lon}):
					t.Errorf("row %d: %v,%v is outside %+v", n+1, lat, lon, box)
				}
				ids[id] = true
				kinds[kindOf[org]]++
			}
			if n != tt.opts.Cameras {
				t.Errorf("%d rows, want %d", n, tt.opts.Cameras)
			}
			if tt.opts.Cameras >= 5000 {
				for _, k := range []argus.OrgKind{argus.OrgPolice, argus.OrgFire, argus.OrgTraffic, argus.OrgCity, argus.OrgPrivate} {
					if kinds[k] == 0 {
						t.Errorf("no camera is owned by a %s organisation", k)
					}
				}
			}
		})
	}
}

// TestGenerateImports checks every generated row against the importer's
// parser, Camera.Validate and a real store that knows only Orgs().
func TestGenerateImports(t *testing.T) {
	opts := city.Options{
		Cameras: 2500, Seed: 9,
		StreamURL: func(i int) string { return fmt.Sprintf("rtsp://127.0.0.1:8554/sim/%d", i) },
	}
	ctx := t.Context()
	sealer, err := secret.New(bytes.Repeat([]byte{1}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "argus.db"), sqlite.Options{Sealer: sealer})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, o := range city.Orgs(opts) {
		if err := db.CreateOrg(ctx, &o); err != nil {
			t.Fatalf("org %s: %v", o.ID, err)
		}
	}
	rep, err := camimport.Import(ctx, db, bytes.NewReader(generate(t, opts)), camimport.Options{})
	if err != nil {
		t.Fatalf("import: %v; errors %v", err, rep.Errors[:min(5, len(rep.Errors))])
	}
	if rep.Imported != opts.Cameras {
		t.Fatalf("imported %d, want %d", rep.Imported, opts.Cameras)
	}
	c, err := db.Camera(ctx, city.CameraID(17))
	if err != nil {
		t.Fatal(err)
	}
	if want := "rtsp://127.0.0.1:8554/sim/17"; c.StreamURL != want || c.SubStreamURL != "" || c.ONVIFURL != "" {
		t.Errorf("camera 17 urls %q %q %q, want %q and no others", c.StreamURL, c.SubStreamURL, c.ONVIFURL, want)
	}
	n, err := db.CountCameras(context.Background(), argus.CameraFilter{Tags: []string{"intersection"}})
	if err != nil || n == 0 {
		t.Errorf("%d intersection cameras (%v), want some", n, err)
	}
}

func TestGenerateOptionErrors(t *testing.T) {
	tests := []struct {
		name string
		opts city.Options
	}{
		{"negative cameras", city.Options{Cameras: -1}},
		{"negative area", city.Options{Cameras: 1, AreaKm2: -5}},
		{"bad center", city.Options{Cameras: 1, Center: argus.GeoPoint{Lat: 95}}},
		{"too close to the pole", city.Options{Cameras: 1, Center: argus.GeoPoint{Lat: 84.9, Lon: 0}, AreaKm2: 10000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := city.Generate(&buf, tt.opts); err == nil {
				t.Error("Generate accepted the options")
			}
			if buf.Len() != 0 {
				t.Errorf("Generate wrote %d bytes before failing", buf.Len())
			}
		})
	}
}

func BenchmarkGenerate500k(b *testing.B) {
	for b.Loop() {
		if err := city.Generate(io.Discard, city.Options{Cameras: 500_000, Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
}
