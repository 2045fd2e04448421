package camimport_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"argus"
	"argus/internal/camimport"
	"argus/internal/sim/city"
	"argus/internal/sqlite"
)

// createOrgs adds the generated city's organisations to db.
func createOrgs(tb testing.TB, db *sqlite.DB, opts city.Options) {
	tb.Helper()
	for _, o := range city.Orgs(opts) {
		if err := db.CreateOrg(context.Background(), &o); err != nil {
			tb.Fatalf("create org %s: %v", o.ID, err)
		}
	}
}

func TestImportGeneratedCity(t *testing.T) {
	opts := city.Options{Cameras: 2000, Seed: 42}
	var buf bytes.Buffer
	if err := city.Generate(&buf, opts); err != nil {
		t.Fatal(err)
	}
	db := openStore(t)
	createOrgs(t, db, opts)
	before := count(t, db)

	var calls [][2]int64
	progress := func(done, total int64) { calls = append(calls, [2]int64{done, total}) }
	start := time.Now()
	rep, err := camimport.Import(t.Context(), db, bytes.NewReader(buf.Bytes()),
		camimport.Options{Size: int64(buf.Len()), Progress: progress})
	elapsed := time.Since(start)
	if err != nil {
		t.Fatalf("Import: %v; first errors %+v", err, rep.Errors[:min(5, len(rep.Errors))])
	}
	if rep.Rows != 2000 || rep.Imported != 2000 || rep.Skipped != 0 || len(rep.Errors) != 0 {
		t.Fatalf("report %+v, want 2000 rows imported", rep)
	}
	if n := count(t, db) - before; n != 2000 {
		t.Fatalf("store gained %d cameras, want 2000", n)
	}

	t.Run("fields", func(t *testing.T) {
		r := csv.NewReader(bytes.NewReader(buf.Bytes()))
		header, err := r.Read()
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; ; i++ {
			rec, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if i%499 != 0 {
				continue
			}
			compareRow(t, db, header, rec)
		}
	})

	t.Run("progress", func(t *testing.T) {
		if len(calls) == 0 {
			t.Fatal("Progress was never called")
		}
		if last := calls[len(calls)-1]; last != [2]int64{int64(buf.Len()), int64(buf.Len())} {
			t.Errorf("last progress %v, want done = total = %d", last, buf.Len())
		}
		for i := 1; i < len(calls); i++ {
			if calls[i][0] < calls[i-1][0] {
				t.Errorf("progress went back from %d to %d", calls[i-1][0], calls[i][0])
			}
		}
		if most := int(elapsed/camimport.ProgressInterval) + 2; len(calls) > most {
			t.Errorf("%d progress calls in %v, want at most %d", len(calls), elapsed, most)
		}
	})
}

// compareRow checks that the stored camera matches its CSV row.
func compareRow(t *testing.T, db *sqlite.DB, header, rec []string) {
	t.Helper()
	v := make(map[string]string, len(header))
	for i, h := range header {
		v[h] = rec[i]
	}
	got, err := db.Camera(t.Context(), v["id"])
	if err != nil {
		t.Fatalf("camera %s: %v", v["id"], err)
	}
	lat, _ := strconv.ParseFloat(v["lat"], 64)
	lon, _ := strconv.ParseFloat(v["lon"], 64)
	tags := strings.Split(v["tags"], ";")
	slices.Sort(tags)
	retention, _ := strconv.Atoi(v["retention_days"])
	labels := map[string]string{}
	for kv := range strings.SplitSeq(v["labels"], ";") {
		k, val, _ := strings.Cut(kv, "=")
		labels[k] = val
	}
	want := argus.Camera{
		ID: v["id"], Name: v["name"], OrgID: v["org_id"], Lat: lat, Lon: lon, Address: v["address"],
		District: v["district"], Tags: tags, StreamURL: v["stream_url"], SubStreamURL: v["sub_stream_url"],
		ONVIFURL: v["onvif_url"], Username: v["username"], Password: v["password"],
		Recording: v["recording"] == "true", RetentionDays: retention, Labels: labels,
		CreatedAt: got.CreatedAt, UpdatedAt: got.UpdatedAt,
	}
	if fmt.Sprintf("%+v", *got) != fmt.Sprintf("%+v", want) {
		t.Errorf("camera %s\n got %+v\nwant %+v", want.ID, *got, want)
	}
}

// BenchmarkImportCity500k generates a 500,000-camera city into a file and
// imports it into a fresh SQLite store; only the import is timed.
func BenchmarkImportCity500k(b *testing.B) {
	opts := city.Options{Cameras: 500_000, Seed: 1}
	path := filepath.Join(b.TempDir(), "city.csv")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := city.Generate(f, opts); err != nil {
		b.Fatal(err)
	}
	size, _ := f.Seek(0, io.SeekCurrent)
	f.Close()
	b.SetBytes(size)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		db := openStore(b)
		createOrgs(b, db, opts)
		in, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		rep, err := camimport.Import(context.Background(), db, in, camimport.Options{Size: size})
		b.StopTimer()
		in.Close()
		if err != nil || rep.Imported != opts.Cameras {
			b.Fatalf("imported %d of %d: %v", rep.Imported, opts.Cameras, err)
		}
		db.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(opts.Cameras)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
