package sqlite

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"argus"
)

// benchCameras is the size of the benchmark city.
const benchCameras = 500_000

// benchGenVersion changes whenever cityGen does, invalidating cached files.
const benchGenVersion = 1

// buildCity bulk-inserts n generated cameras (and their organisations) into
// db and returns how long the bulk insert took.
func buildCity(tb testing.TB, db *DB, n int) time.Duration {
	tb.Helper()
	ctx := context.Background()
	g := newCityGen(n)
	for _, o := range g.orgRows() {
		if err := db.CreateOrg(ctx, o); err != nil {
			tb.Fatal(err)
		}
	}
	start := time.Now()
	bulk, err := db.BeginCameraBulk(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	defer bulk.Rollback()
	for c := g.next(); c != nil; c = g.next() {
		if err := bulk.Add(ctx, c); err != nil {
			tb.Fatal(err)
		}
	}
	if err := bulk.Commit(); err != nil {
		tb.Fatal(err)
	}
	return time.Since(start)
}

// benchDB opens the 500k-camera city, building it on first use and keeping
// the file in os.TempDir, keyed by the schema and generator version, so reruns
// start at once.
func benchDB(b *testing.B) *DB {
	b.Helper()
	path := filepath.Join(os.TempDir(), fmt.Sprintf("argus-bench-city-s%d-%s-g%d-%d.db",
		SchemaVersion(), schemaDigest(b), benchGenVersion, benchCameras))
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		tmp := path + ".build"
		for _, f := range []string{tmp, tmp + "-wal", tmp + "-shm"} {
			os.Remove(f)
		}
		db, err := Open(context.Background(), tmp, Options{Sealer: testSealer(b)})
		if err != nil {
			b.Fatal(err)
		}
		took := buildCity(b, db, benchCameras)
		b.Logf("built %d cameras in %v: %s", benchCameras, took.Round(time.Millisecond), path)
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			b.Fatal(err)
		}
	}
	db, err := Open(context.Background(), path, Options{Sealer: testSealer(b)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// schemaDigest is a short hash of the embedded migrations, so a cached
// database is rebuilt whenever the schema text changes.
func schemaDigest(b *testing.B) string {
	h := sha256.New()
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		b.Fatal(err)
	}
	for _, f := range files {
		body, err := migrations.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		h.Write(body)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// samplePoints returns n camera positions picked at random, so queries land
// where cameras are, dense areas more often.
func samplePoints(b *testing.B, db *DB, n int) []argus.GeoPoint {
	b.Helper()
	r := rand.New(rand.NewPCG(7, 7))
	var max int64
	if err := db.r.QueryRow(`SELECT max(rid) FROM cameras`).Scan(&max); err != nil {
		b.Fatal(err)
	}
	pts := make([]argus.GeoPoint, 0, n)
	for len(pts) < n {
		var p argus.GeoPoint
		err := db.r.QueryRow(`SELECT lat, lon FROM cameras WHERE rid = ?`, 1+r.Int64N(max)).Scan(&p.Lat, &p.Lon)
		if err == nil {
			pts = append(pts, p)
		}
	}
	return pts
}

// window returns a box of about side×side metres around p.
func window(p argus.GeoPoint, side float64) *argus.BBox {
	dLat := side / 2 / 111_195
	dLon := dLat / 0.758 // cos(40.7°)
	return &argus.BBox{MinLat: p.Lat - dLat, MinLon: p.Lon - dLon, MaxLat: p.Lat + dLat, MaxLon: p.Lon + dLon}
}

// latencies records per-query times and reports percentiles and sizes.
type latencies struct {
	d     []time.Duration
	items int
}

func (l *latencies) time(b *testing.B, f func() (int, error)) {
	start := time.Now()
	n, err := f()
	l.d = append(l.d, time.Since(start))
	if err != nil {
		b.Fatal(err)
	}
	l.items += n
}

func (l *latencies) report(b *testing.B) {
	if len(l.d) == 0 {
		return
	}
	slices.Sort(l.d)
	pct := func(p float64) float64 {
		return float64(l.d[min(len(l.d)-1, int(p*float64(len(l.d))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(l.items)/float64(len(l.d)), "items/op")
	b.ReportMetric(rssMiB("VmRSS"), "rss-MiB")
}

// rssMiB reads a memory figure (VmRSS, VmHWM) of this process.
func rssMiB(field string) float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return float64(kb) / 1024
		}
	}
	return 0
}

// benchFind measures FindCameras (first page of 100) over queries cycling
// through qs, after one warm-up pass.
func benchFind(b *testing.B, db *DB, qs []argus.CameraQuery) {
	ctx := b.Context()
	run := func(q argus.CameraQuery) (int, error) {
		page, err := db.FindCameras(ctx, q)
		return len(page.Items), err
	}
	for _, q := range qs {
		if _, err := run(q); err != nil {
			b.Fatal(err)
		}
	}
	var l latencies
	i := 0
	for b.Loop() {
		l.time(b, func() (int, error) { return run(qs[i%len(qs)]) })
		i++
	}
	l.report(b)
}

func BenchmarkFindBBox(b *testing.B) {
	db := benchDB(b)
	var qs []argus.CameraQuery
	for _, p := range samplePoints(b, db, 500) {
		qs = append(qs, argus.CameraQuery{CameraFilter: argus.CameraFilter{BBox: window(p, 1000)}})
	}
	benchFind(b, db, qs)
}

func BenchmarkFindRadius(b *testing.B) {
	db := benchDB(b)
	var qs []argus.CameraQuery
	for _, p := range samplePoints(b, db, 500) {
		qs = append(qs, argus.CameraQuery{CameraFilter: argus.CameraFilter{Near: &argus.Circle{Center: p, RadiusM: 500}}})
	}
	benchFind(b, db, qs)
}

func BenchmarkFindText(b *testing.B) {
	db := benchDB(b)
	r := rand.New(rand.NewPCG(3, 3))
	g := newCityGen(0)
	var qs []argus.CameraQuery
	for i := range 500 {
		var text string
		switch i % 3 {
		case 0: // a numbered street, either side: "23rd St"
			text = ordinal(1+r.IntN(356)) + " St"
		case 1: // one side of it: "W 23rd St"
			text = streetName(r.IntN(356), cityLon+float64(r.IntN(2)*2-1))
		default: // an avenue: "Flatbush Ave"
			text = g.avenues[r.IntN(len(g.avenues))]
		}
		qs = append(qs, argus.CameraQuery{CameraFilter: argus.CameraFilter{Text: text}})
	}
	benchFind(b, db, qs)
}

func BenchmarkFindTag(b *testing.B) {
	db := benchDB(b)
	var qs []argus.CameraQuery
	for _, t := range cityTags {
		qs = append(qs, argus.CameraQuery{CameraFilter: argus.CameraFilter{Tags: []string{t.tag}}})
	}
	benchFind(b, db, qs)
}

func BenchmarkFindOrg(b *testing.B) {
	db := benchDB(b)
	var qs []argus.CameraQuery
	for _, o := range newCityGen(0).orgs {
		qs = append(qs, argus.CameraQuery{CameraFilter: argus.CameraFilter{OrgIDs: []string{o}}})
	}
	benchFind(b, db, qs)
}

// BenchmarkFindCombined mixes filters: area with a tag, text in an
// organisation, a district with a tag and the recording flag.
func BenchmarkFindCombined(b *testing.B) {
	db := benchDB(b)
	yes := true
	var qs []argus.CameraQuery
	for i, p := range samplePoints(b, db, 300) {
		var f argus.CameraFilter
		switch i % 3 {
		case 0:
			f = argus.CameraFilter{BBox: window(p, 2000), Tags: []string{"traffic"}}
		case 1:
			f = argus.CameraFilter{Text: ordinal(1+i%356) + " St", OrgIDs: []string{"dot-traffic"}}
		default:
			f = argus.CameraFilter{District: districts[i%20], Tags: []string{"ptz"}, Recording: &yes}
		}
		qs = append(qs, argus.CameraQuery{CameraFilter: f})
	}
	benchFind(b, db, qs)
}

// benchShares are the shares a precinct receives in the benchmark city:
// the traffic department's school cameras, 200 of its cameras by id and
// those in a triangle over a quarter of the city, and the transit
// authority's cameras in a box.
func benchShares(b *testing.B, db *DB) []argus.ShareScope {
	b.Helper()
	rows, err := db.r.Query(`SELECT id FROM cameras INDEXED BY cameras_org WHERE org_id = 'dot-traffic' AND id > 'cam-3' LIMIT 200`)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	return []argus.ShareScope{
		{ShareID: "share-school", OwnerOrgID: "dot-traffic", Tags: []string{"school"}},
		{ShareID: "share-ids", OwnerOrgID: "dot-traffic", CameraIDs: ids},
		{ShareID: "share-area", OwnerOrgID: "dot-traffic", Area: &argus.Area{Polygon: [][]float64{
			{cityLon - 0.1, cityLat - 0.05}, {cityLon + 0.05, cityLat - 0.05}, {cityLon - 0.1, cityLat + 0.08}}}},
		{ShareID: "share-box", OwnerOrgID: "mta", Area: &argus.Area{BBox: []float64{cityLon, cityLat, cityLon + 0.04, cityLat + 0.03}}},
	}
}

// BenchmarkFindShared lists for a precinct that receives benchShares: the
// first page of everything it sees, of an area, of a tag and of a text.
func BenchmarkFindShared(b *testing.B) {
	db := benchDB(b)
	shared := benchShares(b, db)
	var qs []argus.CameraQuery
	for i, p := range samplePoints(b, db, 300) {
		f := argus.CameraFilter{OrgIDs: []string{fmt.Sprintf("nypd-pct-%02d", 1+i%20)}, Shared: shared}
		switch i % 4 {
		case 1:
			f.BBox = window(p, 2000)
		case 2:
			f.Tags = []string{"ptz"}
		case 3:
			f.Text = ordinal(1+i%356) + " St"
		}
		qs = append(qs, argus.CameraQuery{CameraFilter: f})
	}
	benchFind(b, db, qs)
}

// BenchmarkGridShared aggregates for a precinct that receives benchShares:
// the whole city at zoom 11 and 2 km views at zoom 15.
func BenchmarkGridShared(b *testing.B) {
	db := benchDB(b)
	shared := benchShares(b, db)
	city := &argus.BBox{MinLat: cityLat - cityHalfLat - 0.01, MinLon: cityLon - cityHalfLon - 0.01,
		MaxLat: cityLat + cityHalfLat + 0.01, MaxLon: cityLon + cityHalfLon + 0.01}
	var qs []argus.GridQuery
	for i, p := range samplePoints(b, db, 100) {
		f := argus.CameraFilter{OrgIDs: []string{fmt.Sprintf("nypd-pct-%02d", 1+i%20)}, Shared: shared, BBox: window(p, 2000)}
		q := argus.GridQuery{CameraFilter: f, Zoom: 15}
		if i%4 == 0 {
			q.BBox, q.Zoom = city, 11
		}
		qs = append(qs, q)
	}
	benchGrid(b, db, qs)
}

func benchGrid(b *testing.B, db *DB, qs []argus.GridQuery) {
	ctx := b.Context()
	run := func(q argus.GridQuery) (int, error) {
		cells, err := db.CameraGrid(ctx, q)
		return len(cells), err
	}
	for _, q := range qs {
		if _, err := run(q); err != nil {
			b.Fatal(err)
		}
	}
	var l latencies
	i := 0
	for b.Loop() {
		l.time(b, func() (int, error) { return run(qs[i%len(qs)]) })
		i++
	}
	l.report(b)
}

// BenchmarkGridCity aggregates the whole city at zoom 11 (about 250 cells).
func BenchmarkGridCity(b *testing.B) {
	db := benchDB(b)
	city := &argus.BBox{MinLat: cityLat - cityHalfLat - 0.01, MinLon: cityLon - cityHalfLon - 0.01,
		MaxLat: cityLat + cityHalfLat + 0.01, MaxLon: cityLon + cityHalfLon + 0.01}
	benchGrid(b, db, []argus.GridQuery{{CameraFilter: argus.CameraFilter{BBox: city}, Zoom: 11}})
}

// BenchmarkGridStreet aggregates a 2 km × 2 km view at zoom 15.
func BenchmarkGridStreet(b *testing.B) {
	db := benchDB(b)
	var qs []argus.GridQuery
	for _, p := range samplePoints(b, db, 300) {
		qs = append(qs, argus.GridQuery{CameraFilter: argus.CameraFilter{BBox: window(p, 2000)}, Zoom: 15})
	}
	benchGrid(b, db, qs)
}

// BenchmarkBulkInsert imports the whole city into an empty database, with
// credentials sealed and every index kept. Run it alone (-bench BulkInsert
// -benchtime 1x) for a meaningful peak RSS.
func BenchmarkBulkInsert(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		dir := b.TempDir()
		db, err := Open(b.Context(), filepath.Join(dir, "bulk.db"), Options{Sealer: testSealer(b)})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		took := buildCity(b, db, benchCameras)
		b.StopTimer()
		b.ReportMetric(took.Seconds(), "bulk-s")
		b.ReportMetric(float64(benchCameras)/took.Seconds(), "cameras/s")
		if fi, err := os.Stat(filepath.Join(dir, "bulk.db")); err == nil {
			b.ReportMetric(float64(fi.Size())/(1<<20), "db-MiB")
		}
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		if fi, err := os.Stat(filepath.Join(dir, "bulk.db")); err == nil {
			b.ReportMetric(float64(fi.Size())/(1<<20), "file-MiB")
		}
		b.StartTimer()
	}
	b.ReportMetric(rssMiB("VmHWM"), "peak-rss-MiB")
}
