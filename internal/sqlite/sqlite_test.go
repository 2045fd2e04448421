package sqlite

import (
	"bytes"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"argus"
	"argus/internal/secret"
	"argus/internal/storetest"
)

func testSealer(t testing.TB) *secret.Sealer {
	t.Helper()
	s, err := secret.New(bytes.Repeat([]byte{7}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func openTest(t *testing.T, path string) *DB {
	t.Helper()
	db, err := Open(t.Context(), path, Options{Sealer: testSealer(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return db
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) argus.Store {
		return openTest(t, filepath.Join(t.TempDir(), "argus.db"))
	})
}

// TestStoreIndexWalks repeats the directory cases with a tiny gather limit.
// A listing either gathers a small candidate set or walks an index in id
// order (see defaultGatherLimit); the suite's few hundred cameras only take
// the second route when the limit is lowered.
func TestStoreIndexWalks(t *testing.T) {
	storetest.RunDirectory(t, func(t *testing.T) argus.Store {
		db := openTest(t, filepath.Join(t.TempDir(), "argus.db"))
		db.gatherLimit = 8
		return db
	})
}

func TestOpenNeedsSealer(t *testing.T) {
	_, err := Open(t.Context(), filepath.Join(t.TempDir(), "argus.db"), Options{})
	if err == nil || !strings.Contains(err.Error(), "Sealer") {
		t.Fatalf("Open without a Sealer = %v, want an error naming the Sealer", err)
	}
}

func TestCredentialsNotInFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "argus.db")
	db := openTest(t, path)
	ctx := t.Context()
	if err := db.CreateOrg(ctx, &argus.Org{ID: "a", Name: "A", Kind: argus.OrgCity}); err != nil {
		t.Fatal(err)
	}
	const user, password = "operator-7b1e", "Plaintext-Password-9f2c"
	cams := []*argus.Camera{
		{ID: "cam-1", Name: "One", OrgID: "a", Lat: 1, Lon: 1, StreamURL: "rtsp://" + user + ":" + password + "@10.0.0.1/s"},
		{ID: "cam-2", Name: "Two", OrgID: "a", Lat: 1, Lon: 1, StreamURL: "rtsp://10.0.0.2/s", Username: user, Password: password},
	}
	for _, c := range cams {
		if err := db.CreateCamera(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	b, err := db.BeginCameraBulk(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Add(ctx, &argus.Camera{ID: "cam-3", Name: "Three", OrgID: "a", Lat: 1, Lon: 1,
		StreamURL: "rtsp://10.0.0.3/s", Username: user, Password: password}); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"cam-1", "cam-2", "cam-3"} {
		c, err := db.Camera(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if c.Username != user || c.Password != password {
			t.Fatalf("%s credentials = %q/%q", id, c.Username, c.Password)
		}
	}
	// The WAL holds the pages as written; check it and the main file.
	files, err := filepath.Glob(path + "*")
	if err != nil || len(files) < 2 {
		t.Fatalf("database files = %v, %v; want the file and its WAL", files, err)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{password, user} {
			if bytes.Contains(raw, []byte(secret)) {
				t.Errorf("%s contains %q in plaintext", filepath.Base(f), secret)
			}
		}
	}
}

func TestCredentialsBoundToCamera(t *testing.T) {
	path := filepath.Join(t.TempDir(), "argus.db")
	db := openTest(t, path)
	ctx := t.Context()
	if err := db.CreateOrg(ctx, &argus.Org{ID: "a", Name: "A", Kind: argus.OrgCity}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"cam-1", "cam-2"} {
		c := &argus.Camera{ID: id, Name: id, OrgID: "a", StreamURL: "rtsp://10.0.0.1/s", Username: "u-" + id, Password: "p-" + id}
		if err := db.CreateCamera(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	// Copying one camera's sealed credentials onto another must not work.
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`UPDATE cameras SET credentials = (SELECT credentials FROM cameras WHERE id = 'cam-1') WHERE id = 'cam-2'`); err != nil {
		t.Fatal(err)
	}
	if c, err := db.Camera(ctx, "cam-2"); err == nil {
		t.Fatalf("swapped credentials opened: %q/%q", c.Username, c.Password)
	}
}

func TestMigrations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "argus.db")
	db, err := Open(t.Context(), path, Options{Sealer: testSealer(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateOrg(t.Context(), &argus.Org{ID: "a", Name: "A", Kind: argus.OrgCity}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	t.Run("reopen keeps data and version", func(t *testing.T) {
		db := openTest(t, path)
		if _, err := db.Org(t.Context(), "a"); err != nil {
			t.Fatal(err)
		}
		var v int
		if err := db.r.QueryRow("PRAGMA user_version").Scan(&v); err != nil || v != SchemaVersion() {
			t.Fatalf("user_version = %d, %v; want %d", v, err, SchemaVersion())
		}
	})

	t.Run("newer schema refused", func(t *testing.T) {
		raw, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.Exec("PRAGMA user_version = 999"); err != nil {
			t.Fatal(err)
		}
		raw.Close()
		_, err = Open(t.Context(), path, Options{Sealer: testSealer(t)})
		if err == nil || !strings.Contains(err.Error(), "newer") {
			t.Fatalf("Open of a newer schema = %v, want a refusal", err)
		}
	})
}

// TestMigrateFromV1 opens a database made by the first schema, with data in
// it, and checks that the upgrade keeps the rows and gives them no quota and
// the default transport.
func TestMigrateFromV1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "argus.db")
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	v1, err := migrations.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		string(v1),
		`PRAGMA user_version = 1`,
		`INSERT INTO orgs (id, name, kind, created_at) VALUES ('a', 'A', 'city', 0)`,
		`INSERT INTO cameras (id, org_id, name, lat, lon, cell, address, district, tags, stream_url, sub_stream_url,
			onvif_url, recording, retention_days, created_at, updated_at)
			VALUES ('cam-1', 'a', 'One', 1, 1, 0, '', '', '[]', 'rtsp://10.0.0.1/s', '', '', 1, 30, 0, 0)`,
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("build a version 1 database: %v", err)
		}
	}
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}

	db := openTest(t, path)
	ctx := t.Context()
	o, err := db.Org(ctx, "a")
	if err != nil || o.QuotaBytes != 0 {
		t.Fatalf("org after migration = %+v, %v; want it kept with no quota", o, err)
	}
	c, err := db.Camera(ctx, "cam-1")
	if err != nil || c.RetentionDays != 30 || c.RetentionBytes != 0 || c.Transport != "" {
		t.Fatalf("camera after migration = %+v, %v; want it kept with no byte quota and the default transport", c, err)
	}
	c.Transport = argus.TransportAuto
	if err := db.UpdateCamera(ctx, c); err != nil {
		t.Fatalf("UpdateCamera after migration: %v", err)
	}
	if c, err := db.Camera(ctx, "cam-1"); err != nil || c.Transport != argus.TransportAuto {
		t.Fatalf("camera transport after migration and update = %+v, %v; want auto", c, err)
	}
	h := &argus.Hold{ID: "hold-1", CameraID: "cam-1", From: time.Unix(100, 0), To: time.Unix(200, 0), Reason: "case", CreatedBy: "u"}
	if err := db.CreateHold(ctx, h); err != nil || h.OrgID != "a" {
		t.Fatalf("CreateHold after migration: %v (org %q)", err, h.OrgID)
	}
}
