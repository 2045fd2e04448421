package storetest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"argus"
)

// streets name the generated cameras; the odd ones test quoting, case and
// non-ASCII text.
var streets = []string{"Main St", "Broadway", "Elm Ave", "W 23rd St", "E 23rd St", "5th Ave", "Ocean Pkwy",
	"Rue de Rivoli", `Joe's "Deli" Row`, "Königstraße"}

// city returns n cameras spread over ~10 km around three centres, with
// shared positions, tags, districts, organisations and credentials, in a
// random order unrelated to their ids.
func city(r *rand.Rand, n int, orgs []string) []*argus.Camera {
	centres := []argus.GeoPoint{{Lat: 48.85, Lon: 2.35}, {Lat: 48.87, Lon: 2.30}, {Lat: 48.83, Lon: 2.40}}
	tags := []struct {
		tag string
		p   float64
	}{{"traffic", 0.6}, {"ptz", 0.2}, {"school", 0.05}, {"park", 0.1}, {"transit", 0.15}, {"indoor", 0.08}}
	cams := make([]*argus.Camera, 0, n)
	for i := range n {
		id := fmt.Sprintf("cam-%04d", i)
		switch i % 7 {
		case 3:
			id = fmt.Sprintf("ptz.%d", i)
		case 5:
			id = fmt.Sprintf("a%d", i)
		}
		c := camera(id, orgs[r.IntN(len(orgs))], 0, 0)
		if i > 0 && i%25 == 0 {
			// Several cameras on one pole.
			c.Lat, c.Lon = cams[i-1].Lat, cams[i-1].Lon
		} else {
			ctr := centres[r.IntN(len(centres))]
			c.Lat = ctr.Lat + r.NormFloat64()*0.01
			c.Lon = ctr.Lon + r.NormFloat64()*0.015
		}
		s1, s2 := streets[r.IntN(len(streets))], streets[r.IntN(len(streets))]
		c.Name = s1 + " & " + s2
		c.Address = fmt.Sprintf("%d %s", 1+r.IntN(300), s1)
		switch {
		case c.Lat > 48.86:
			c.District = "north"
		case c.Lat < 48.84:
			c.District = "south"
		case r.IntN(4) > 0:
			c.District = "centre"
		}
		for _, t := range tags {
			if r.Float64() < t.p {
				c.Tags = append(c.Tags, t.tag)
			}
		}
		c.Recording = r.Float64() < 0.8
		if r.IntN(3) == 0 {
			c.Username, c.Password = "admin", fmt.Sprintf("pw-%d", r.Int())
		}
		if r.IntN(4) == 0 {
			c.Labels = map[string]string{"pole": fmt.Sprint(r.IntN(100))}
		}
		cams = append(cams, c)
	}
	r.Shuffle(len(cams), func(i, j int) { cams[i], cams[j] = cams[j], cams[i] })
	return cams
}

// matches is the reference semantics of CameraFilter.
func matches(c *argus.Camera, f argus.CameraFilter) bool {
	p := c.Point()
	shared := slices.ContainsFunc(f.Shared, func(sc argus.ShareScope) bool { return sc.Covers(c) })
	switch {
	case (len(f.OrgIDs) > 0 || len(f.Shared) > 0) && !slices.Contains(f.OrgIDs, c.OrgID) && !shared,
		f.District != "" && c.District != f.District,
		f.Recording != nil && c.Recording != *f.Recording,
		f.BBox != nil && !f.BBox.Contains(p),
		f.Near != nil && f.Near.Center.DistanceM(p) > f.Near.RadiusM:
		return false
	}
	for _, t := range f.Tags {
		if !slices.Contains(c.Tags, t) {
			return false
		}
	}
	if f.Text != "" {
		q := strings.ToLower(strings.TrimSpace(f.Text))
		return strings.Contains(strings.ToLower(c.ID), q) || strings.Contains(strings.ToLower(c.Name), q) ||
			strings.Contains(strings.ToLower(c.Address), q)
	}
	return true
}

func filterCameras(cams []*argus.Camera, f argus.CameraFilter) []*argus.Camera {
	var out []*argus.Camera
	for _, c := range cams {
		if matches(c, f) {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b *argus.Camera) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// refCell is a grid cell computed by brute force.
type refCell struct {
	n          int
	lat, lon   float64
	onlyCamera string
}

func refGrid(cams []*argus.Camera, f argus.CameraFilter, zoom int) map[[2]int64]*refCell {
	d := argus.GridCellDeg(zoom)
	out := map[[2]int64]*refCell{}
	for _, c := range filterCameras(cams, f) {
		k := [2]int64{int64(math.Floor((c.Lat + 90) / d)), int64(math.Floor((c.Lon + 180) / d))}
		rc := out[k]
		if rc == nil {
			rc = &refCell{}
			out[k] = rc
		}
		rc.n++
		rc.lat += c.Lat
		rc.lon += c.Lon
		rc.onlyCamera = c.ID
	}
	return out
}

// filterCases are the filters the directory is checked with: each field on
// its own and in combinations, around positions taken from cams.
func filterCases(cams []*argus.Camera) []struct {
	name string
	f    argus.CameraFilter
} {
	yes, no := true, false
	c0 := cams[0]
	box := func(lat, lon, dLat, dLon float64) *argus.BBox {
		return &argus.BBox{MinLat: lat - dLat, MinLon: lon - dLon, MaxLat: lat + dLat, MaxLon: lon + dLon}
	}
	circle := func(lat, lon, m float64) *argus.Circle {
		return &argus.Circle{Center: argus.GeoPoint{Lat: lat, Lon: lon}, RadiusM: m}
	}
	// ownedBy returns the ids of every k-th camera of org, sorted.
	ownedBy := func(org string, k int) []string {
		var out []string
		for i, c := range cams {
			if c.OrgID == org && i%k == 0 {
				out = append(out, c.ID)
			}
		}
		slices.Sort(out)
		return out
	}
	scope := func(id, owner string, ids, tags []string, area *argus.Area) argus.ShareScope {
		return argus.ShareScope{ShareID: id, OwnerOrgID: owner, CameraIDs: ids, Tags: tags, Area: area}
	}
	// A concave polygon (a chevron) over the centre, and a box.
	chevron := &argus.Area{Polygon: [][]float64{{2.32, 48.83}, {2.35, 48.85}, {2.38, 48.83}, {2.38, 48.87}, {2.35, 48.88}, {2.32, 48.87}}}
	eastBox := &argus.Area{BBox: []float64{2.36, 48.84, 2.42, 48.86}}
	both := &argus.Area{BBox: []float64{2.30, 48.845, 2.40, 48.9}, Polygon: chevron.Polygon}
	// Ids listed under an owner that does not own them select nothing.
	mixed := slices.Concat(ownedBy("traffic", 5), ownedBy("city", 9))
	slices.Sort(mixed)
	return []struct {
		name string
		f    argus.CameraFilter
	}{
		{"everything", argus.CameraFilter{}},
		{"bbox small", argus.CameraFilter{BBox: box(48.85, 2.35, 0.004, 0.006)}},
		{"bbox large", argus.CameraFilter{BBox: box(48.85, 2.35, 0.2, 0.3)}},
		{"bbox elsewhere", argus.CameraFilter{BBox: box(10, 10, 1, 1)}},
		{"bbox edges inclusive", argus.CameraFilter{BBox: &argus.BBox{MinLat: c0.Lat, MinLon: c0.Lon, MaxLat: c0.Lat + 0.01, MaxLon: c0.Lon + 0.01}}},
		{"bbox one point", argus.CameraFilter{BBox: &argus.BBox{MinLat: c0.Lat, MinLon: c0.Lon, MaxLat: c0.Lat, MaxLon: c0.Lon}}},
		{"bbox thin strip", argus.CameraFilter{BBox: &argus.BBox{MinLat: 48.8, MinLon: 2.349, MaxLat: 48.9, MaxLon: 2.351}}},
		{"near 300 m", argus.CameraFilter{Near: circle(48.85, 2.35, 300)}},
		{"near 2 km", argus.CameraFilter{Near: circle(48.86, 2.33, 2000)}},
		{"near 1 m of a camera", argus.CameraFilter{Near: circle(c0.Lat, c0.Lon, 1)}},
		{"near and bbox", argus.CameraFilter{Near: circle(48.85, 2.35, 1500), BBox: box(48.855, 2.35, 0.005, 0.02)}},
		{"text street", argus.CameraFilter{Text: "23rd st"}},
		{"text upper case", argus.CameraFilter{Text: "BROADWAY"}},
		{"text id", argus.CameraFilter{Text: "ptz.1"}},
		{"text quotes", argus.CameraFilter{Text: `"deli"`}},
		{"text non-ascii", argus.CameraFilter{Text: "straße"}},
		{"text spaces trimmed", argus.CameraFilter{Text: "  elm ave "}},
		{"text common", argus.CameraFilter{Text: "ave"}},
		{"text nowhere", argus.CameraFilter{Text: "zzz"}},
		{"tag", argus.CameraFilter{Tags: []string{"traffic"}}},
		{"tag rare", argus.CameraFilter{Tags: []string{"school"}}},
		{"tags all of", argus.CameraFilter{Tags: []string{"ptz", "traffic"}}},
		{"tag nobody has", argus.CameraFilter{Tags: []string{"none"}}},
		{"org", argus.CameraFilter{OrgIDs: []string{"pd"}}},
		{"orgs", argus.CameraFilter{OrgIDs: []string{"pd", "private"}}},
		{"district", argus.CameraFilter{District: "north"}},
		{"recording", argus.CameraFilter{Recording: &yes}},
		{"not recording", argus.CameraFilter{Recording: &no}},
		{"bbox tag", argus.CameraFilter{BBox: box(48.85, 2.35, 0.01, 0.015), Tags: []string{"traffic"}}},
		{"text org", argus.CameraFilter{Text: "main", OrgIDs: []string{"traffic"}}},
		{"near recording tag", argus.CameraFilter{Near: circle(48.87, 2.30, 1200), Recording: &no, Tags: []string{"traffic"}}},
		{"district text", argus.CameraFilter{District: "south", Text: "ave"}},
		{"tag org district", argus.CameraFilter{Tags: []string{"transit"}, OrgIDs: []string{"pd", "traffic"}, District: "centre"}},
		{"everything at once", argus.CameraFilter{BBox: box(48.85, 2.35, 0.05, 0.08), Near: circle(48.85, 2.35, 4000),
			Text: "ave", Tags: []string{"traffic"}, OrgIDs: []string{"pd", "traffic", "city"}, District: "centre", Recording: &yes}},
		{"shared ids", argus.CameraFilter{OrgIDs: []string{"pd"}, Shared: []argus.ShareScope{scope("s1", "traffic", mixed, nil, nil)}}},
		{"shared tag", argus.CameraFilter{OrgIDs: []string{"pd"}, Shared: []argus.ShareScope{scope("s1", "traffic", nil, []string{"school"}, nil)}}},
		{"shared only", argus.CameraFilter{Shared: []argus.ShareScope{
			scope("s1", "city", nil, []string{"indoor", "park"}, nil), scope("s2", "private", ownedBy("private", 4), nil, nil)}}},
		{"shared box", argus.CameraFilter{OrgIDs: []string{"private"}, Shared: []argus.ShareScope{scope("s1", "city", nil, nil, eastBox)}}},
		{"shared polygon", argus.CameraFilter{OrgIDs: []string{"pd"}, Shared: []argus.ShareScope{scope("s1", "traffic", nil, nil, chevron)}}},
		{"shared polygon and box, and a tag", argus.CameraFilter{OrgIDs: []string{"pd"}, Shared: []argus.ShareScope{
			scope("s1", "city", nil, nil, both), scope("s2", "city", nil, []string{"transit"}, nil)}}},
		{"shared overlapping", argus.CameraFilter{OrgIDs: []string{"city"}, Shared: []argus.ShareScope{
			scope("s1", "traffic", ownedBy("traffic", 2), []string{"traffic"}, eastBox),
			scope("s2", "traffic", ownedBy("traffic", 3), []string{"ptz", "traffic"}, chevron)}}},
		{"shared everything", argus.CameraFilter{OrgIDs: []string{"pd"}, Shared: []argus.ShareScope{
			scope("s1", "traffic", ownedBy("traffic", 2), []string{"school"}, chevron), scope("s2", "city", nil, nil, eastBox),
			scope("s3", "private", ownedBy("private", 3), []string{"park"}, nil)}}},
		{"shared nothing owned", argus.CameraFilter{Shared: []argus.ShareScope{scope("s1", "private", ownedBy("pd", 1), nil, nil)}}},
		{"shared polygon bbox tag recording", argus.CameraFilter{BBox: box(48.85, 2.35, 0.02, 0.03), Tags: []string{"traffic"}, Recording: &yes,
			OrgIDs: []string{"private"}, Shared: []argus.ShareScope{scope("s1", "traffic", nil, nil, chevron), scope("s2", "pd", mixed, nil, nil)}}},
		{"shared text near", argus.CameraFilter{Text: "ave", Near: circle(48.85, 2.35, 3000),
			Shared: []argus.ShareScope{scope("s1", "traffic", nil, []string{"ptz"}, both), scope("s2", "city", nil, nil, chevron)}}},
		{"shared district org", argus.CameraFilter{District: "centre", OrgIDs: []string{"private", "pd"},
			Shared: []argus.ShareScope{scope("s1", "city", ownedBy("city", 2), nil, nil)}}},
	}
}

// testDirectory compares every listing, count and grid with brute force,
// before and after a round of updates and deletes.
func testDirectory(t *testing.T, s argus.Store) {
	ctx := t.Context()
	orgs := []string{"pd", "traffic", "city", "private"}
	for _, o := range orgs {
		must(t, s.CreateOrg(ctx, org(o, "")))
	}
	r := rand.New(rand.NewPCG(1, 2))
	cams := city(r, 240, orgs)
	// Half one by one, half in bulk: both paths must index alike.
	for _, c := range cams[:120] {
		must(t, s.CreateCamera(ctx, c))
	}
	b, err := s.BeginCameraBulk(ctx)
	must(t, err)
	defer b.Rollback()
	for _, c := range cams[120:] {
		must(t, b.Add(ctx, c))
	}
	must(t, b.Commit())
	t.Run("before changes", func(t *testing.T) { checkDirectory(t, s, cams) })

	// Move, rename, retag and delete some, so every index is maintained.
	for i, c := range cams[:60] {
		switch i % 4 {
		case 0:
			c.Lat, c.Lon = c.Lat+0.003, c.Lon-0.004
		case 1:
			c.Name, c.Address = "Renamed "+c.Name, "9 Broadway"
		case 2:
			c.Tags, c.District, c.Recording = []string{"school", "transit"}, "north", !c.Recording
		case 3:
			must(t, s.DeleteCamera(ctx, c.ID))
			continue
		}
		must(t, s.UpdateCamera(ctx, c))
	}
	cams = slices.DeleteFunc(cams, func(c *argus.Camera) bool {
		_, err := s.Camera(ctx, c.ID)
		return argus.ErrorCode(err) == argus.ENOTFOUND
	})
	if len(cams) != 225 {
		t.Fatalf("%d cameras left, want 225", len(cams))
	}
	t.Run("after changes", func(t *testing.T) { checkDirectory(t, s, cams) })
}

// checkDirectory compares listings, counts and grids of every filter case
// with brute force. Its subtests only read, and run in parallel.
func checkDirectory(t *testing.T, s argus.Store, cams []*argus.Camera) {
	t.Run("pagination", func(t *testing.T) {
		t.Parallel()
		want := filterCameras(cams, argus.CameraFilter{})
		for _, limit := range []int{7, 0, argus.MaxPageSize + 1} {
			got := walk(t, s, argus.CameraFilter{}, limit)
			if !slices.Equal(ids(got), ids(want)) {
				t.Fatalf("limit %d: walked %d cameras, want each of %d once in id order", limit, len(got), len(want))
			}
		}
		// Items are the whole camera, without credentials.
		for i, c := range walk(t, s, argus.CameraFilter{}, 50) {
			w := *want[i]
			w.Username, w.Password = "", ""
			if d := sameCamera(c, &w); d != "" {
				t.Fatalf("listed %s differs: %s", c.ID, d)
			}
		}
	})
	for _, tc := range filterCases(cams) {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // reads only
			want := filterCameras(cams, tc.f)
			got := walk(t, s, tc.f, 13)
			if !slices.Equal(ids(got), ids(want)) {
				t.Fatalf("found %v\nwant  %v", ids(got), ids(want))
			}
			n, err := s.CountCameras(t.Context(), tc.f)
			must(t, err)
			if n != len(want) {
				t.Fatalf("CountCameras = %d, want %d", n, len(want))
			}
			// Grids of an area alone may be answered from precomputed
			// counts, so check those at several zooms; any other filter at one.
			g, zooms := tc.f, []int{13}
			if g.BBox == nil {
				g.BBox = &argus.BBox{MinLat: 48, MinLon: 2, MaxLat: 49.5, MaxLon: 3}
			}
			if g.Near == nil && g.Text == "" && len(g.Tags) == 0 && len(g.OrgIDs) == 0 && len(g.Shared) == 0 &&
				g.District == "" && g.Recording == nil {
				zooms = []int{4, 11, 16, 18}
			}
			for _, zoom := range zooms {
				checkGrid(t, s, cams, g, zoom, len(want))
			}
		})
	}
}

// checkGrid compares a grid with brute force; n is how many cameras match f.
func checkGrid(t *testing.T, s argus.Store, cams []*argus.Camera, f argus.CameraFilter, zoom, n int) {
	t.Helper()
	cells, err := s.CameraGrid(t.Context(), argus.GridQuery{CameraFilter: f, Zoom: zoom})
	must(t, err)
	want := refGrid(cams, f, zoom)
	d := argus.GridCellDeg(zoom)
	sum := 0
	seen := map[[2]int64]bool{}
	for _, c := range cells {
		sum += c.Count
		k := [2]int64{int64(math.Floor((c.Lat + 90) / d)), int64(math.Floor((c.Lon + 180) / d))}
		w := want[k]
		switch {
		case w == nil || seen[k]:
			t.Fatalf("zoom %d: unexpected cell %+v", zoom, c)
		case c.Count != w.n:
			t.Fatalf("zoom %d: cell %+v counts %d, want %d", zoom, c, c.Count, w.n)
		case math.Abs(c.Lat-w.lat/float64(w.n)) > 1e-7 || math.Abs(c.Lon-w.lon/float64(w.n)) > 1e-7:
			t.Fatalf("zoom %d: cell %+v centre, want %v,%v", zoom, c, w.lat/float64(w.n), w.lon/float64(w.n))
		case w.n == 1 && c.CameraID != w.onlyCamera:
			t.Fatalf("zoom %d: cell %+v names camera %q, want %q", zoom, c, c.CameraID, w.onlyCamera)
		case w.n > 1 && c.CameraID != "":
			t.Fatalf("zoom %d: cell %+v of %d cameras names camera %q", zoom, c, w.n, c.CameraID)
		}
		seen[k] = true
	}
	if len(cells) != len(want) || sum != n {
		t.Fatalf("zoom %d: %d cells holding %d cameras, want %d cells holding %d", zoom, len(cells), sum, len(want), n)
	}
}

func testDirectoryErrors(t *testing.T, s argus.Store) {
	ctx := t.Context()
	must(t, s.CreateOrg(ctx, org("a", "")))
	must(t, s.CreateCamera(ctx, camera("cam-1", "a", 1, 1)))
	area := &argus.BBox{MinLat: 0, MinLon: 0, MaxLat: 2, MaxLon: 2}
	tests := []struct {
		name  string
		f     argus.CameraFilter
		field string
	}{
		{"text too short", argus.CameraFilter{Text: " ab "}, "q"},
		{"bbox upside down", argus.CameraFilter{BBox: &argus.BBox{MinLat: 2, MinLon: 0, MaxLat: 1, MaxLon: 1}}, "bbox"},
		{"bbox off the globe", argus.CameraFilter{BBox: &argus.BBox{MinLat: 0, MinLon: 0, MaxLat: 1, MaxLon: 181}}, "lon"},
		{"radius zero", argus.CameraFilter{Near: &argus.Circle{Center: argus.GeoPoint{Lat: 1, Lon: 1}}}, "radius_m"},
		{"radius too large", argus.CameraFilter{Near: &argus.Circle{Center: argus.GeoPoint{Lat: 1, Lon: 1}, RadiusM: 1e7}}, "radius_m"},
		{"bad tag", argus.CameraFilter{Tags: []string{"Bad Tag"}}, "tag"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.FindCameras(ctx, argus.CameraQuery{CameraFilter: tc.f})
			wantError(t, err, argus.EINVALID, tc.field)
			_, err = s.CountCameras(ctx, tc.f)
			wantError(t, err, argus.EINVALID, tc.field)
			g := tc.f
			if g.BBox == nil {
				g.BBox = area
			}
			_, err = s.CameraGrid(ctx, argus.GridQuery{CameraFilter: g, Zoom: 10})
			wantError(t, err, argus.EINVALID, tc.field)
		})
	}
	t.Run("bad cursor", func(t *testing.T) {
		_, err := s.FindCameras(ctx, argus.CameraQuery{After: "!!not a cursor!!"})
		wantError(t, err, argus.EINVALID, "after")
	})
	t.Run("grid without bbox", func(t *testing.T) {
		_, err := s.CameraGrid(ctx, argus.GridQuery{Zoom: 10})
		wantError(t, err, argus.EINVALID, "bbox")
	})
	t.Run("grid zoom out of range", func(t *testing.T) {
		for _, z := range []int{-1, 23} {
			_, err := s.CameraGrid(ctx, argus.GridQuery{CameraFilter: argus.CameraFilter{BBox: area}, Zoom: z})
			wantError(t, err, argus.EINVALID, "zoom")
		}
	})
}
