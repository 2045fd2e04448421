package storetest

import (
	"fmt"
	"slices"
	"testing"

	"argus"
)

func camera(id, orgID string, lat, lon float64) *argus.Camera {
	return &argus.Camera{
		ID: id, Name: "Camera " + id, OrgID: orgID, Lat: lat, Lon: lon,
		StreamURL: "rtsp://10.0.0.1/" + id, Tags: []string{}, Recording: true, RetentionDays: 30,
	}
}

func testCameras(t *testing.T, s argus.Store) {
	ctx := t.Context()
	must(t, s.CreateOrg(ctx, org("a", "")))
	must(t, s.CreateOrg(ctx, org("b", "")))
	full := &argus.Camera{
		ID: "cam-full", Name: "  Main St & 1st Ave ", OrgID: "a", Lat: 40.7128, Lon: -74.006,
		Address: "1 Main St", District: "downtown", Tags: []string{"PTZ", "traffic", "ptz"},
		StreamURL:    "rtsp://admin:s3cret-pw@10.0.0.2:554/main",
		SubStreamURL: "rtsp://10.0.0.2:554/sub", ONVIFURL: "http://10.0.0.2/onvif/device_service", Transport: " UDP ",
		Recording: true, RetentionDays: 14, RetentionBytes: 500 << 30, Labels: map[string]string{"vendor": "acme", "pole": "17"},
	}
	must(t, s.CreateCamera(ctx, full))
	if full.CreatedAt.IsZero() || !full.UpdatedAt.Equal(full.CreatedAt) {
		t.Fatalf("CreateCamera set CreatedAt %v, UpdatedAt %v", full.CreatedAt, full.UpdatedAt)
	}
	// Normalized on the way in: name trimmed, tags sorted and de-duplicated,
	// transport lower-cased, credentials lifted out of the URL.
	want := *full
	want.Name, want.Tags, want.StreamURL = "Main St & 1st Ave", []string{"ptz", "traffic"}, "rtsp://10.0.0.2:554/main"
	want.Transport = argus.TransportUDP
	want.Username, want.Password = "admin", "s3cret-pw"
	got, err := s.Camera(ctx, "cam-full")
	must(t, err)
	if d := sameCamera(got, &want); d != "" {
		t.Fatalf("Camera differs: %s", d)
	}

	bare := camera("cam-bare", "b", -33.9, 151.2)
	bare.Tags = nil
	must(t, s.CreateCamera(ctx, bare))
	got, err = s.Camera(ctx, "cam-bare")
	must(t, err)
	if d := sameCamera(got, bare); d != "" {
		t.Fatalf("Camera differs: %s", d)
	}
	if got.Tags == nil {
		t.Fatal("Camera returned nil Tags, want an empty list")
	}

	// Listings carry no credentials.
	page, err := s.FindCameras(ctx, argus.CameraQuery{})
	must(t, err)
	if got := ids(page.Items); !slices.Equal(got, []string{"cam-bare", "cam-full"}) || page.Next != "" {
		t.Fatalf("FindCameras = %v next %q", got, page.Next)
	}
	noCreds := want
	noCreds.Username, noCreds.Password = "", ""
	if d := sameCamera(page.Items[1], &noCreds); d != "" {
		t.Fatalf("listed camera differs: %s", d)
	}

	up := *got
	up.Name, up.OrgID, up.Lat, up.Lon = "Moved", "a", -33.8, 151.3
	up.Tags, up.Labels = []string{"new"}, map[string]string{"k": "v"}
	up.Username, up.Password, up.Recording, up.RetentionDays, up.RetentionBytes = "viewer", "pw2", false, 0, 1<<40
	up.Transport = argus.TransportAuto
	must(t, s.UpdateCamera(ctx, &up))
	if !up.CreatedAt.Equal(bare.CreatedAt) || up.UpdatedAt.Before(bare.UpdatedAt) {
		t.Fatalf("UpdateCamera set CreatedAt %v UpdatedAt %v; created %v", up.CreatedAt, up.UpdatedAt, bare.CreatedAt)
	}
	got, err = s.Camera(ctx, "cam-bare")
	must(t, err)
	if d := sameCamera(got, &up); d != "" {
		t.Fatalf("after update Camera differs: %s", d)
	}
	n, err := s.CountCameras(ctx, argus.CameraFilter{OrgIDs: []string{"a"}})
	must(t, err)
	if n != 2 {
		t.Fatalf("CountCameras(org a) = %d after moving a camera there, want 2", n)
	}

	must(t, s.DeleteCamera(ctx, "cam-full"))
	_, err = s.Camera(ctx, "cam-full")
	wantError(t, err, argus.ENOTFOUND, "")
	if all := walk(t, s, argus.CameraFilter{}, 0); !slices.Equal(ids(all), []string{"cam-bare"}) {
		t.Fatalf("after delete cameras = %v", ids(all))
	}
	// The id is free again.
	must(t, s.CreateCamera(ctx, camera("cam-full", "b", 1, 1)))
}

func testCameraErrors(t *testing.T, s argus.Store) {
	ctx := t.Context()
	must(t, s.CreateOrg(ctx, org("a", "")))
	existing := camera("cam-1", "a", 10, 20)
	existing.Username, existing.Password = "u", "p"
	must(t, s.CreateCamera(ctx, existing))
	with := func(f func(c *argus.Camera)) *argus.Camera {
		c := camera("cam-2", "a", 10, 20)
		f(c)
		return c
	}
	update := func(f func(c *argus.Camera)) *argus.Camera {
		c := camera("cam-1", "a", 10, 20)
		f(c)
		return c
	}
	tests := []struct {
		name  string
		op    func() error
		code  string
		field string
	}{
		{"create duplicate id", func() error { return s.CreateCamera(ctx, camera("cam-1", "a", 1, 1)) }, argus.ECONFLICT, ""},
		{"create unknown org", func() error { return s.CreateCamera(ctx, camera("cam-2", "nope", 1, 1)) }, argus.EINVALID, "org_id"},
		{"create bad id", func() error { return s.CreateCamera(ctx, camera("Cam 2", "a", 1, 1)) }, argus.EINVALID, "id"},
		{"create bad lat", func() error { return s.CreateCamera(ctx, camera("cam-2", "a", 91, 1)) }, argus.EINVALID, "lat"},
		{"create bad lon", func() error { return s.CreateCamera(ctx, camera("cam-2", "a", 1, -181)) }, argus.EINVALID, "lon"},
		{"create no name", func() error { return s.CreateCamera(ctx, with(func(c *argus.Camera) { c.Name = " " })) }, argus.EINVALID, "name"},
		{"create bad tag", func() error {
			return s.CreateCamera(ctx, with(func(c *argus.Camera) { c.Tags = []string{"no spaces"} }))
		}, argus.EINVALID, "tags"},
		{"create bad stream url", func() error {
			return s.CreateCamera(ctx, with(func(c *argus.Camera) { c.StreamURL = "http://x/y" }))
		}, argus.EINVALID, "stream_url"},
		{"create bad retention", func() error {
			return s.CreateCamera(ctx, with(func(c *argus.Camera) { c.RetentionDays = -1 }))
		}, argus.EINVALID, "retention_days"},
		{"create negative byte quota", func() error {
			return s.CreateCamera(ctx, with(func(c *argus.Camera) { c.RetentionBytes = -1 }))
		}, argus.EINVALID, "retention_bytes"},
		{"update byte quota too large", func() error {
			return s.UpdateCamera(ctx, update(func(c *argus.Camera) { c.RetentionBytes = argus.MaxQuotaBytes + 1 }))
		}, argus.EINVALID, "retention_bytes"},
		{"create bad transport", func() error {
			return s.CreateCamera(ctx, with(func(c *argus.Camera) { c.Transport = "quic" }))
		}, argus.EINVALID, "transport"},
		{"update bad transport", func() error {
			return s.UpdateCamera(ctx, update(func(c *argus.Camera) { c.Transport = "udp+tcp" }))
		}, argus.EINVALID, "transport"},
		{"get missing", func() error { _, err := s.Camera(ctx, "nope"); return err }, argus.ENOTFOUND, ""},
		{"update missing", func() error { return s.UpdateCamera(ctx, camera("nope", "a", 1, 1)) }, argus.ENOTFOUND, ""},
		{"update unknown org", func() error { return s.UpdateCamera(ctx, update(func(c *argus.Camera) { c.OrgID = "nope" })) }, argus.EINVALID, "org_id"},
		{"update bad lat", func() error { return s.UpdateCamera(ctx, update(func(c *argus.Camera) { c.Lat = -90.5 })) }, argus.EINVALID, "lat"},
		{"update bad tag", func() error {
			return s.UpdateCamera(ctx, update(func(c *argus.Camera) { c.Tags = []string{"UPPER!"} }))
		}, argus.EINVALID, "tags"},
		{"delete missing", func() error { return s.DeleteCamera(ctx, "nope") }, argus.ENOTFOUND, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, s)
			wantError(t, tc.op(), tc.code, tc.field)
			unchanged(t, s, before)
		})
	}
}

// testCameraUpdateReindexes checks that every query sees a camera where an
// update or delete put it, and no longer where it was.
func testCameraUpdateReindexes(t *testing.T, s argus.Store) {
	ctx := t.Context()
	must(t, s.CreateOrg(ctx, org("a", "")))
	must(t, s.CreateOrg(ctx, org("b", "")))
	c := camera("cam-x", "a", 10.001, 20.001)
	c.Name, c.Address, c.District, c.Tags = "Alpha Gate", "1 Old Road", "north", []string{"old"}
	must(t, s.CreateCamera(ctx, c))
	must(t, s.CreateCamera(ctx, camera("cam-y", "a", 10.002, 20.002)))

	oldArea := &argus.BBox{MinLat: 10, MinLon: 20, MaxLat: 10.0015, MaxLon: 20.0015}
	newArea := &argus.BBox{MinLat: 50, MinLon: 8, MaxLat: 50.01, MaxLon: 8.01}
	near := func(lat, lon float64) *argus.Circle {
		return &argus.Circle{Center: argus.GeoPoint{Lat: lat, Lon: lon}, RadiusM: 50}
	}
	yes, no := true, false
	check := func(t *testing.T, wantOld bool) {
		t.Helper()
		for i, f := range []argus.CameraFilter{
			{BBox: oldArea}, {Near: near(10.001, 20.001)}, {Text: "alpha"}, {Text: "old road"}, {Tags: []string{"old"}},
			{OrgIDs: []string{"a"}, BBox: oldArea}, {District: "north"}, {Recording: &yes, BBox: oldArea},
		} {
			checkFound(t, s, fmt.Sprintf("old filter %d", i), f, "cam-x", wantOld)
		}
		for i, f := range []argus.CameraFilter{
			{BBox: newArea}, {Near: near(50.005, 8.005)}, {Text: "omega"}, {Text: "new lane"}, {Tags: []string{"new"}},
			{OrgIDs: []string{"b"}}, {District: "south"}, {Recording: &no},
		} {
			checkFound(t, s, fmt.Sprintf("new filter %d", i), f, "cam-x", !wantOld)
		}
		cells, err := s.CameraGrid(ctx, argus.GridQuery{CameraFilter: argus.CameraFilter{BBox: newArea}, Zoom: 12})
		must(t, err)
		if got := len(cells) == 1 && cells[0].CameraID == "cam-x"; got == wantOld {
			t.Fatalf("grid of the new area = %+v", cells)
		}
		cells, err = s.CameraGrid(ctx, argus.GridQuery{CameraFilter: argus.CameraFilter{BBox: oldArea}, Zoom: 10})
		must(t, err)
		if got := len(cells) == 1 && cells[0].CameraID == "cam-x"; got != wantOld {
			t.Fatalf("grid of the old area = %+v", cells)
		}
	}
	check(t, true)

	moved := *c
	moved.Lat, moved.Lon, moved.Name, moved.Address, moved.District = 50.005, 8.005, "Omega Gate", "2 New Lane", "south"
	moved.OrgID, moved.Tags, moved.Recording = "b", []string{"new"}, false
	must(t, s.UpdateCamera(ctx, &moved))
	check(t, false)

	must(t, s.DeleteCamera(ctx, "cam-x"))
	for i, f := range []argus.CameraFilter{{BBox: newArea}, {Text: "omega"}, {Tags: []string{"new"}}, {OrgIDs: []string{"b"}}} {
		checkFound(t, s, fmt.Sprintf("deleted filter %d", i), f, "cam-x", false)
	}
	cells, err := s.CameraGrid(ctx, argus.GridQuery{CameraFilter: argus.CameraFilter{BBox: newArea}, Zoom: 12})
	must(t, err)
	if len(cells) != 0 {
		t.Fatalf("grid after delete = %+v", cells)
	}
}

func checkFound(t *testing.T, s argus.Store, name string, f argus.CameraFilter, id string, want bool) {
	t.Helper()
	found := slices.Contains(ids(walk(t, s, f, 0)), id)
	n, err := s.CountCameras(t.Context(), f)
	must(t, err)
	if found != want || (want && n == 0) {
		t.Fatalf("%s %+v: found %s = %v (count %d), want %v", name, f, id, found, n, want)
	}
}
