package storetest

import (
	"slices"
	"testing"

	"argus"
)

func testBulk(t *testing.T, s argus.Store) {
	ctx := t.Context()
	must(t, s.CreateOrg(ctx, org("a", "")))
	must(t, s.CreateCamera(ctx, camera("cam-exist", "a", 5, 5)))

	b, err := s.BeginCameraBulk(ctx)
	must(t, err)
	defer b.Rollback()
	withCreds := camera("cam-5", "a", 5.002, 5.002)
	withCreds.StreamURL = "rtsp://root:bulk-pw@10.1.1.1/live"
	withCreds.RetentionBytes, withCreds.Transport = 3<<30, argus.TransportUDP
	tagged := camera("cam-4", "a", 5.001, 5.001)
	tagged.Name, tagged.Tags = "Harbour Gate", []string{"harbour"}
	bad := camera("cam-6", "a", 5, 5)
	bad.Lat = 100
	adds := []struct {
		name  string
		c     *argus.Camera
		code  string
		field string
	}{
		{"first", camera("cam-1", "a", 5, 5.001), "", ""},
		{"second", camera("cam-2", "a", 5.001, 5), "", ""},
		{"duplicate in batch", camera("cam-1", "a", 6, 6), argus.ECONFLICT, ""},
		{"duplicate of stored", camera("cam-exist", "a", 6, 6), argus.ECONFLICT, ""},
		{"unknown org", camera("cam-3", "nope", 6, 6), argus.EINVALID, "org_id"},
		{"invalid", bad, argus.EINVALID, "lat"},
		{"after failures", tagged, "", ""},
		{"credentials", withCreds, "", ""},
	}
	for _, a := range adds {
		err := b.Add(ctx, a.c)
		if a.code == "" {
			if err != nil {
				t.Fatalf("Add %s: %v", a.name, err)
			}
			continue
		}
		wantError(t, err, a.code, a.field)
	}
	// Nothing is visible before Commit.
	if _, err := s.Camera(ctx, "cam-1"); argus.ErrorCode(err) != argus.ENOTFOUND {
		t.Fatalf("camera visible before Commit: %v", err)
	}
	must(t, b.Commit())
	must(t, b.Rollback()) // a no-op after Commit

	all := walk(t, s, argus.CameraFilter{}, 0)
	if want := []string{"cam-1", "cam-2", "cam-4", "cam-5", "cam-exist"}; !slices.Equal(ids(all), want) {
		t.Fatalf("after Commit cameras = %v, want %v", ids(all), want)
	}
	got, err := s.Camera(ctx, "cam-1")
	must(t, err)
	if got.Lat != 5 || got.Lon != 5.001 || got.CreatedAt.IsZero() {
		t.Fatalf("cam-1 = %+v; the duplicate in the batch must not replace it", got)
	}
	got, err = s.Camera(ctx, "cam-5")
	must(t, err)
	if got.Username != "root" || got.Password != "bulk-pw" || got.StreamURL != "rtsp://10.1.1.1/live" || got.RetentionBytes != 3<<30 ||
		got.Transport != argus.TransportUDP {
		t.Fatalf("bulk credentials = %q/%q url %q retention_bytes %d transport %q", got.Username, got.Password, got.StreamURL, got.RetentionBytes, got.Transport)
	}
	// Every index saw the batch.
	area := &argus.BBox{MinLat: 4.9, MinLon: 4.9, MaxLat: 5.1, MaxLon: 5.1}
	for name, f := range map[string]argus.CameraFilter{
		"tag": {Tags: []string{"harbour"}}, "text": {Text: "harbour"}, "bbox": {BBox: &argus.BBox{MinLat: 5.0005, MinLon: 5.0005, MaxLat: 5.0015, MaxLon: 5.0015}},
	} {
		if got := ids(walk(t, s, f, 0)); !slices.Equal(got, []string{"cam-4"}) {
			t.Fatalf("%s filter after bulk = %v, want [cam-4]", name, got)
		}
	}
	cells, err := s.CameraGrid(ctx, argus.GridQuery{CameraFilter: argus.CameraFilter{BBox: area}, Zoom: 3})
	must(t, err)
	if len(cells) != 1 || cells[0].Count != 5 {
		t.Fatalf("grid after bulk = %+v, want one cell of 5", cells)
	}
	cells, err = s.CameraGrid(ctx, argus.GridQuery{CameraFilter: argus.CameraFilter{BBox: area}, Zoom: 16})
	must(t, err)
	if i := slices.IndexFunc(cells, func(c argus.GridCell) bool { return c.CameraID == "cam-4" }); i < 0 {
		t.Fatalf("zoom 16 grid after bulk = %+v, want a single-camera cell for cam-4", cells)
	}

	if err := b.Add(ctx, camera("cam-9", "a", 1, 1)); err == nil {
		t.Fatal("Add after Commit succeeded")
	}
	if _, err := s.Camera(ctx, "cam-9"); argus.ErrorCode(err) != argus.ENOTFOUND {
		t.Fatalf("Add after Commit stored a camera: %v", err)
	}
}

func testBulkRollback(t *testing.T, s argus.Store) {
	ctx := t.Context()
	must(t, s.CreateOrg(ctx, org("a", "")))
	must(t, s.CreateCamera(ctx, camera("cam-exist", "a", 5, 5)))
	before := snapshot(t, s)

	b, err := s.BeginCameraBulk(ctx)
	must(t, err)
	for _, id := range []string{"cam-1", "cam-2", "cam-3"} {
		c := camera(id, "a", 5, 5)
		c.Tags = []string{"gone"}
		must(t, b.Add(ctx, c))
	}
	must(t, b.Rollback())
	must(t, b.Rollback())
	if err := b.Commit(); err == nil {
		t.Fatal("Commit after Rollback succeeded")
	}
	unchanged(t, s, before)
	if n, err := s.CountCameras(ctx, argus.CameraFilter{Tags: []string{"gone"}}); err != nil || n != 0 {
		t.Fatalf("rolled-back tag still counted: %d, %v", n, err)
	}
	cells, err := s.CameraGrid(ctx, argus.GridQuery{CameraFilter: argus.CameraFilter{BBox: &argus.BBox{MinLat: 4, MinLon: 4, MaxLat: 6, MaxLon: 6}}, Zoom: 8})
	must(t, err)
	if len(cells) != 1 || cells[0].Count != 1 || cells[0].CameraID != "cam-exist" {
		t.Fatalf("grid after rollback = %+v", cells)
	}
	// The store takes writes again.
	must(t, s.CreateCamera(ctx, camera("cam-1", "a", 5, 5)))
}
