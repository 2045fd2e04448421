package access_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"argus"
	"argus/internal/access"
)

// nopRecorder records nothing, so the benchmark measures the gate alone.
type nopRecorder struct{}

func (nopRecorder) Record(context.Context, argus.Decision) error { return nil }

// BenchmarkGateShares measures one decision of a police viewer about one of
// 500,000 cameras owned by 50 other organisations, which have granted 1,000
// shares (by camera id, by tag, by box and by polygon) to police and its
// precincts, so the viewer's organisation and its two ancestors each have
// shares from the camera's owner to look through. It reports the median
// and 99th percentile of single decisions besides ns/op.
func BenchmarkGateShares(b *testing.B) {
	const (
		cameras = 500_000
		shares  = 1000
		owners  = 50
		tags    = 200
	)
	db := openStore(b)
	orgs := [][2]string{{"city", ""}, {"police", "city"}, {"precinct-1", "police"}, {"unit-7", "precinct-1"}}
	for i := range owners {
		orgs = append(orgs, [2]string{fmt.Sprintf("owner-%d", i), ""})
	}
	mustOrgs(b, db, orgs...)
	rng := rand.New(rand.NewPCG(1, 2))
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	// The city: 0.2° × 0.2° around (lon 10, lat 50).
	point := func() *argus.GeoPoint {
		return &argus.GeoPoint{Lon: 10 + rng.Float64()*0.2, Lat: 50 + rng.Float64()*0.2}
	}
	res := make([]argus.Resource, cameras)
	for i := range res {
		t1, t2 := fmt.Sprintf("tag-%d", rng.IntN(tags)), fmt.Sprintf("tag-%d", rng.IntN(tags))
		ts := []string{t1, t2}
		slices.Sort(ts)
		res[i] = argus.Resource{Kind: "camera", ID: fmt.Sprintf("cam-%06d", i), OrgID: fmt.Sprintf("owner-%d", rng.IntN(owners)),
			Tags: slices.Compact(ts), Point: point()}
	}
	grantees := []string{"police", "precinct-1", "unit-7"}
	for i := range shares {
		s := &argus.Share{ID: fmt.Sprintf("share-%d", i), OwnerOrgID: fmt.Sprintf("owner-%d", i%owners),
			GranteeOrgID: grantees[i%len(grantees)], Actions: []argus.Action{argus.ActionLive, argus.ActionPlayback},
			ValidFrom: now.Add(-time.Hour), ValidUntil: now.Add(time.Hour), Purpose: "benchmark", CreatedBy: "admin"}
		switch i % 4 {
		case 0:
			for range 100 {
				s.CameraIDs = append(s.CameraIDs, res[rng.IntN(cameras)].ID)
			}
		case 1:
			s.Tags = []string{fmt.Sprintf("tag-%d", rng.IntN(tags))}
		case 2:
			p := point()
			s.Area = &argus.Area{BBox: []float64{p.Lon, p.Lat, p.Lon + 0.005, p.Lat + 0.005}}
		case 3:
			p := point()
			// An octagon of about 400 m across.
			s.Area = &argus.Area{}
			for k := range 8 {
				a := float64(k) * math.Pi / 4
				s.Area.Polygon = append(s.Area.Polygon, []float64{p.Lon + 0.003*math.Cos(a), p.Lat + 0.002*math.Sin(a)})
			}
		}
		if err := db.CreateShare(b.Context(), s); err != nil {
			b.Fatal(err)
		}
	}
	g, err := access.NewGate(access.GateConfig{Orgs: db, Shares: db, Recorder: nopRecorder{}, Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	p := argus.Principal{UserID: "u1", Username: "u1", OrgID: "unit-7", Role: argus.RoleViewer}
	ctx := b.Context()
	allowed := 0
	for i := range res {
		if g.Can(ctx, p, argus.ActionLive, res[i]).Allowed {
			allowed++
		}
	}
	b.Logf("%d of %d cameras are shared with unit-7's lineage", allowed, cameras)

	samples := make([]time.Duration, 0, 1<<20)
	i := 0
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		g.Can(ctx, p, argus.ActionLive, res[i%cameras])
		if len(samples) < cap(samples) {
			samples = append(samples, time.Since(start))
		}
		i++
	}
	b.StopTimer()
	slices.Sort(samples)
	b.ReportMetric(float64(samples[len(samples)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(samples[len(samples)*99/100].Nanoseconds()), "p99-ns")
}
